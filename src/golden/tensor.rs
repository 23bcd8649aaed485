//! Integer tensors of the golden model: their dtypes, `.npy` reading and writing, and the
//! element-by-element comparison that reports the first mismatches.
//!
//! Every value is held as i32 whatever the dtype (int8, uint8 and int32 all fit), in standard
//! (C, row-major) layout so the layer kernels can index one flat slice.

use std::fmt;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};
use ndarray_npy::npy::header::{Header, ReadHeaderError};
use ndarray_npy::{ReadNpyError, ReadNpyExt, WriteNpyError, WriteNpyExt};

/// Element type of a tensor, as stored in `.npy` files and named in layer bundles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dtype {
    Int8,
    Uint8,
    Int32,
}

impl Dtype {
    /// The bundle spelling: `int8`, `uint8`, `int32`.
    pub fn name(self) -> &'static str {
        match self {
            Dtype::Int8 => "int8",
            Dtype::Uint8 => "uint8",
            Dtype::Int32 => "int32",
        }
    }

    /// Parses the bundle spelling; `None` for anything else.
    pub fn from_name(name: &str) -> Option<Dtype> {
        match name {
            "int8" => Some(Dtype::Int8),
            "uint8" => Some(Dtype::Uint8),
            "int32" => Some(Dtype::Int32),
            _ => None,
        }
    }

    /// Smallest representable value.
    pub fn min(self) -> i32 {
        match self {
            Dtype::Int8 => i32::from(i8::MIN),
            Dtype::Uint8 => 0,
            Dtype::Int32 => i32::MIN,
        }
    }

    /// Largest representable value.
    pub fn max(self) -> i32 {
        match self {
            Dtype::Int8 => i32::from(i8::MAX),
            Dtype::Uint8 => i32::from(u8::MAX),
            Dtype::Int32 => i32::MAX,
        }
    }

    /// Whether `value` is representable in this dtype.
    pub fn contains(self, value: i32) -> bool {
        (self.min()..=self.max()).contains(&value)
    }

    /// The numpy type descriptor (`|i1`, `|u1`, `<i4`), little-endian as the bundles are.
    pub fn npy_descriptor(self) -> &'static str {
        match self {
            Dtype::Int8 => "|i1",
            Dtype::Uint8 => "|u1",
            Dtype::Int32 => "<i4",
        }
    }

    /// The dtype of a numpy type descriptor; byte-order marks `|` and `=` are accepted for one-byte
    /// types, only `<` for int32.
    fn from_npy_descriptor(descriptor: &str) -> Option<Dtype> {
        match descriptor {
            "|i1" | "i1" | "=i1" | "<i1" => Some(Dtype::Int8),
            "|u1" | "u1" | "=u1" | "<u1" => Some(Dtype::Uint8),
            "<i4" => Some(Dtype::Int32),
            _ => None,
        }
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// A value that does not fit the tensor's dtype.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TensorError {
    #[error("tensor value {value} at index {index:?} does not fit dtype {dtype} ({min}..={max})", min = .dtype.min(), max = .dtype.max())]
    ValueOutOfRange {
        index: Vec<usize>,
        value: i32,
        dtype: Dtype,
    },
    #[error("tensor of shape {shape:?} needs {expected} values, got {found}")]
    LengthMismatch {
        shape: Vec<usize>,
        expected: usize,
        found: usize,
    },
}

/// An integer tensor: a dtype and values that all fit it, in standard layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tensor {
    dtype: Dtype,
    values: ArrayD<i32>,
}

impl Tensor {
    /// Wraps `values`, checking every one fits `dtype`.
    pub fn new(dtype: Dtype, values: ArrayD<i32>) -> Result<Tensor, TensorError> {
        let values = if values.is_standard_layout() {
            values
        } else {
            values.as_standard_layout().into_owned()
        };
        if let Some((flat_index, &value)) = values
            .iter()
            .enumerate()
            .find(|&(_, &value)| !dtype.contains(value))
        {
            return Err(TensorError::ValueOutOfRange {
                index: unflatten_index(flat_index, values.shape()),
                value,
                dtype,
            });
        }
        Ok(Tensor { dtype, values })
    }

    /// Builds a tensor from a shape and its values in C order.
    pub fn from_vec(
        dtype: Dtype,
        shape: &[usize],
        values: Vec<i32>,
    ) -> Result<Tensor, TensorError> {
        let expected: usize = shape.iter().product();
        if values.len() != expected {
            return Err(TensorError::LengthMismatch {
                shape: shape.to_vec(),
                expected,
                found: values.len(),
            });
        }
        let array = ArrayD::from_shape_vec(IxDyn(shape), values)
            .expect("length was checked against the shape");
        Tensor::new(dtype, array)
    }

    pub fn dtype(&self) -> Dtype {
        self.dtype
    }

    pub fn shape(&self) -> &[usize] {
        self.values.shape()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn values(&self) -> &ArrayD<i32> {
        &self.values
    }

    /// All values in C order (the layout is always standard).
    pub fn as_slice(&self) -> &[i32] {
        self.values
            .as_slice()
            .expect("Tensor keeps its values in standard layout")
    }
}

/// Converts a flat C-order index into a multi-dimensional one.
pub fn unflatten_index(mut flat_index: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for (axis, &extent) in shape.iter().enumerate().rev() {
        if extent > 0 {
            index[axis] = flat_index % extent;
            flat_index /= extent;
        }
    }
    index
}

/// Failure to read or write a `.npy` file; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    #[error("{}: cannot open: {source}", .path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a valid .npy header: {source}", .path.display())]
    Header {
        path: PathBuf,
        source: ReadHeaderError,
    },
    #[error("{}: dtype descriptor {descriptor} is not supported; expected one of |i1 (int8), |u1 (uint8), <i4 (int32)", .path.display())]
    UnsupportedDtype { path: PathBuf, descriptor: String },
    #[error("{}: cannot read the data: {source}", .path.display())]
    Data { path: PathBuf, source: ReadNpyError },
    #[error("{}: cannot write: {source}", .path.display())]
    Write {
        path: PathBuf,
        source: WriteNpyError,
    },
    #[error("{}: cannot create: {source}", .path.display())]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Reads an int8, uint8 or int32 `.npy` file; the dtype comes from the file's header.
pub fn read_npy(path: &Path) -> Result<Tensor, NpyError> {
    let open = || {
        File::open(path)
            .map(BufReader::new)
            .map_err(|source| NpyError::Open {
                path: path.to_path_buf(),
                source,
            })
    };
    let header = Header::from_reader(&mut open()?).map_err(|source| NpyError::Header {
        path: path.to_path_buf(),
        source,
    })?;
    // The descriptor is a Python literal; a plain dtype prints as a quoted string such as '|i1'.
    let descriptor = header.type_descriptor.to_string();
    let descriptor = descriptor
        .trim_matches(|c| c == '\'' || c == '"')
        .to_string();
    let dtype =
        Dtype::from_npy_descriptor(&descriptor).ok_or_else(|| NpyError::UnsupportedDtype {
            path: path.to_path_buf(),
            descriptor: descriptor.clone(),
        })?;
    let data_error = |source| NpyError::Data {
        path: path.to_path_buf(),
        source,
    };
    let values: ArrayD<i32> = match dtype {
        Dtype::Int8 => ArrayD::<i8>::read_npy(open()?)
            .map_err(data_error)?
            .mapv(i32::from),
        Dtype::Uint8 => ArrayD::<u8>::read_npy(open()?)
            .map_err(data_error)?
            .mapv(i32::from),
        Dtype::Int32 => ArrayD::<i32>::read_npy(open()?).map_err(data_error)?,
    };
    Ok(Tensor::new(dtype, values).expect("values read as the dtype's own Rust type always fit it"))
}

/// Writes `tensor` as a `.npy` file of its own dtype (C order, little-endian).
pub fn write_npy(path: &Path, tensor: &Tensor) -> Result<(), NpyError> {
    let file = File::create(path).map_err(|source| NpyError::Create {
        path: path.to_path_buf(),
        source,
    })?;
    let writer = BufWriter::new(file);
    // Every value fits the dtype (checked when the Tensor was built), so the narrowing casts are exact.
    let result = match tensor.dtype {
        Dtype::Int8 => tensor.values.mapv(|value| value as i8).write_npy(writer),
        Dtype::Uint8 => tensor.values.mapv(|value| value as u8).write_npy(writer),
        Dtype::Int32 => tensor.values.write_npy(writer),
    };
    result.map_err(|source| NpyError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// How many mismatches a [`Comparison`] lists individually.
pub const MISMATCHES_LISTED: usize = 10;

/// One differing element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// Multi-dimensional index (NHWC for convolution outputs).
    pub index: Vec<usize>,
    pub expected: i32,
    pub actual: i32,
}

/// Result of comparing two tensors of the same shape element by element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// Number of elements compared.
    pub compared: usize,
    /// Number of elements that differ.
    pub mismatches: usize,
    /// The first [`MISMATCHES_LISTED`] mismatches in C order.
    pub first: Vec<Mismatch>,
}

impl Comparison {
    pub fn is_exact(&self) -> bool {
        self.mismatches == 0
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{} of {} elements differ",
            self.mismatches, self.compared
        )?;
        for mismatch in &self.first {
            write!(
                formatter,
                "\n  at {:?}: expected {}, actual {}",
                mismatch.index, mismatch.expected, mismatch.actual
            )?;
        }
        if self.mismatches > self.first.len() {
            write!(
                formatter,
                "\n  … and {} more",
                self.mismatches - self.first.len()
            )?;
        }
        Ok(())
    }
}

/// Tensors that cannot be compared element by element.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompareError {
    #[error("shapes differ: expected {expected:?}, actual {actual:?}")]
    Shape {
        expected: Vec<usize>,
        actual: Vec<usize>,
    },
    #[error("dtypes differ: expected {expected}, actual {actual}")]
    Dtype { expected: Dtype, actual: Dtype },
}

/// Compares `actual` with `expected` element by element.
pub fn compare(expected: &Tensor, actual: &Tensor) -> Result<Comparison, CompareError> {
    if expected.shape() != actual.shape() {
        return Err(CompareError::Shape {
            expected: expected.shape().to_vec(),
            actual: actual.shape().to_vec(),
        });
    }
    if expected.dtype != actual.dtype {
        return Err(CompareError::Dtype {
            expected: expected.dtype,
            actual: actual.dtype,
        });
    }
    let mut mismatches = 0;
    let mut first = Vec::new();
    for (flat_index, (&expected_value, &actual_value)) in expected
        .as_slice()
        .iter()
        .zip(actual.as_slice())
        .enumerate()
    {
        if expected_value != actual_value {
            mismatches += 1;
            if first.len() < MISMATCHES_LISTED {
                first.push(Mismatch {
                    index: unflatten_index(flat_index, expected.shape()),
                    expected: expected_value,
                    actual: actual_value,
                });
            }
        }
    }
    Ok(Comparison {
        compared: expected.len(),
        mismatches,
        first,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unflatten_index_inverts_c_order() {
        assert_eq!(unflatten_index(0, &[2, 3, 4]), vec![0, 0, 0]);
        assert_eq!(unflatten_index(23, &[2, 3, 4]), vec![1, 2, 3]);
        assert_eq!(unflatten_index(13, &[2, 3, 4]), vec![1, 0, 1]);
    }

    #[test]
    fn tensor_refuses_values_outside_its_dtype_and_names_the_index() {
        let error = Tensor::from_vec(Dtype::Int8, &[2, 2], vec![0, 1, 128, 2]).unwrap_err();
        assert_eq!(
            error,
            TensorError::ValueOutOfRange {
                index: vec![1, 0],
                value: 128,
                dtype: Dtype::Int8
            }
        );
        assert!(Tensor::from_vec(Dtype::Uint8, &[1], vec![-1]).is_err());
        assert_eq!(
            Tensor::from_vec(Dtype::Int32, &[2, 2], vec![1]).unwrap_err(),
            TensorError::LengthMismatch {
                shape: vec![2, 2],
                expected: 4,
                found: 1
            }
        );
    }

    #[test]
    fn compare_counts_every_mismatch_and_lists_the_first_ten_with_indices() {
        let expected = Tensor::from_vec(Dtype::Int32, &[3, 5], (0..15).collect()).unwrap();
        let mut differing: Vec<i32> = (0..15).collect();
        for value in differing.iter_mut().skip(2) {
            *value += 100;
        }
        let actual = Tensor::from_vec(Dtype::Int32, &[3, 5], differing).unwrap();
        let comparison = compare(&expected, &actual).unwrap();
        assert_eq!(comparison.compared, 15);
        assert_eq!(comparison.mismatches, 13);
        assert_eq!(comparison.first.len(), MISMATCHES_LISTED);
        assert_eq!(
            comparison.first[0],
            Mismatch {
                index: vec![0, 2],
                expected: 2,
                actual: 102
            }
        );
        let text = comparison.to_string();
        assert!(text.starts_with("13 of 15 elements differ"), "{text}");
        assert!(text.contains("at [0, 2]: expected 2, actual 102"), "{text}");
        assert!(text.contains("and 3 more"), "{text}");
        assert!(compare(&expected, &expected).unwrap().is_exact());
    }

    #[test]
    fn compare_refuses_different_shapes_and_dtypes() {
        let a = Tensor::from_vec(Dtype::Int8, &[2, 2], vec![0; 4]).unwrap();
        let b = Tensor::from_vec(Dtype::Int8, &[4], vec![0; 4]).unwrap();
        let c = Tensor::from_vec(Dtype::Uint8, &[2, 2], vec![0; 4]).unwrap();
        assert!(matches!(compare(&a, &b), Err(CompareError::Shape { .. })));
        assert!(matches!(compare(&a, &c), Err(CompareError::Dtype { .. })));
    }

    #[test]
    fn read_npy_refuses_float_files_naming_the_path_and_descriptor() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("float.npy");
        ndarray::Array1::<f32>::zeros(3)
            .write_npy(File::create(&path).unwrap())
            .unwrap();
        let error = read_npy(&path).unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(error, NpyError::UnsupportedDtype { .. }),
            "{error:?}"
        );
        assert!(
            message.contains("float.npy") && message.contains("<f4"),
            "{message}"
        );
    }

    #[test]
    fn read_npy_of_a_missing_file_names_the_path() {
        let error = read_npy(Path::new("/nonexistent/input.npy")).unwrap_err();
        assert!(matches!(error, NpyError::Open { .. }), "{error:?}");
        assert!(error.to_string().contains("/nonexistent/input.npy"));
    }
}
