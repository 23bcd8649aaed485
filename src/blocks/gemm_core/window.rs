//! Window mode: the weight-stationary core reads a convolution's im2col rows straight out of an
//! input tile in the ifmap buffer, so the host sends each input pixel once instead of once per
//! kernel tap. [`ConvLayer`] is a convolution as the core sees it, [`Window`] one run's tile and
//! walk, [`Window::address`] the buffer word the activation feeder reads (the RTL's address
//! generator in `weight_stationary` follows it step for step, and the testbench checks the two
//! agree on every layer).
//!
//! The tile: ifmap word `(y·W + x)·CB + b` holds channels `b·R .. b·R+R−1` of input row `y`
//! (counted from the first row the run loads) and column `x`, one lane per array row; lanes
//! past the last channel hold anything (their weights are zero). A run's K-folds walk the taps
//! with the channel blocks innermost, fold `(kh·KW + kw)·CB + b`, so B is the OHWI weight matrix
//! with each tap's channels padded to a whole number of blocks. A depthwise layer (channel
//! multiplier 1, R = C) folds only the taps: N-fold `n` reads block `first_block + n` and its
//! weight tiles are diagonal.
//!
//! A tap outside the input (padding) reads no word: the feeder sends the input zero point in
//! every lane, which is what TFLite pads with.

use std::ops::Range;

use crate::config::{AcceleratorSpec, Dataflow, Im2col};

/// The core of `spec` has window mode: a weight-stationary array with `buffers.im2col: hardware`.
pub fn has_window_mode(spec: &AcceleratorSpec) -> bool {
    spec.pe_array.dataflow == Dataflow::WeightStationary
        && spec
            .buffers
            .as_ref()
            .is_some_and(|buffers| buffers.im2col == Im2col::Hardware)
}

/// Bits of a tile position (row or column, two's complement) and of the tile's and the
/// output's extents in the descriptor (`window_walker`).
pub const POSITION_BITS: u32 = 16;
/// Bits of a stride, a dilation and the kernel width in the descriptor.
pub const STEP_BITS: u32 = 8;

/// A convolution (batch 1) as the window-mode core runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvLayer {
    /// Input height, width and channels.
    pub input: [usize; 3],
    /// Output height and width.
    pub output: [usize; 2],
    /// Output channels: the GEMM's N.
    pub channels: usize,
    /// Kernel height and width.
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub dilation: [usize; 2],
    /// Padding above and to the left (below and to the right follow from the output size).
    pub pad: [usize; 2],
    /// Depthwise with channel multiplier 1: output channel c reads input channel c only.
    pub depthwise: bool,
}

impl ConvLayer {
    /// Channel blocks of the input: ceil(C / R).
    pub fn channel_blocks(&self, rows: usize) -> usize {
        self.input[2].div_ceil(rows)
    }

    /// Reduction steps of every run: the taps times the channel blocks (the taps alone when
    /// depthwise).
    pub fn k_folds(&self, rows: usize) -> usize {
        let taps = self.kernel[0] * self.kernel[1];
        if self.depthwise {
            taps
        } else {
            taps * self.channel_blocks(rows)
        }
    }

    /// The GEMM's K: `k_folds · R` (each tap's channels padded to whole blocks).
    pub fn depth(&self, rows: usize) -> usize {
        self.k_folds(rows) * rows
    }

    /// The descriptor's fields hold the layer: every position the walk passes (from minus the
    /// padding to the far edge of the last tap) is a signed [`POSITION_BITS`]-bit value, and
    /// strides, dilations and the kernel width fit [`STEP_BITS`]. A layer beyond them runs as
    /// its im2col GEMMs.
    pub fn fits_descriptor(&self, rows: usize) -> bool {
        let position_limit = 1usize << (POSITION_BITS - 1);
        let step_limit = 1usize << STEP_BITS;
        let reach = |axis: usize| self.dilation[axis] * (self.kernel[axis] - 1);
        let far_edge = |axis: usize| {
            let extent = if axis == 0 {
                self.input[0]
            } else {
                self.input[1]
            };
            extent + self.pad[axis] + reach(axis) + self.stride[axis]
        };
        far_edge(0) < position_limit
            && far_edge(1) < position_limit
            && self.output[1] < position_limit
            && self.channel_blocks(rows) < 1 << super::FOLD_BITS
            && [self.stride, self.dilation]
                .iter()
                .flatten()
                .chain([&self.kernel[1]])
                .all(|&step| step < step_limit)
    }

    /// Output pixels: the GEMM's M.
    pub fn pixels(&self) -> usize {
        self.output[0] * self.output[1]
    }

    /// The input rows output rows `out_rows` read, clipped to the input.
    pub fn input_rows(&self, out_rows: &Range<usize>) -> Range<usize> {
        let [stride, dilation, pad] = [self.stride[0], self.dilation[0], self.pad[0]];
        let reach = dilation * (self.kernel[0] - 1);
        let first = (out_rows.start * stride).saturating_sub(pad);
        let last = ((out_rows.end - 1) * stride + reach + 1)
            .saturating_sub(pad)
            .min(self.input[0]);
        first..last.max(first)
    }

    /// The run over output rows `out_rows` and the N-folds from `first_block` on (depthwise:
    /// the input channel block of the first N-fold; 0 otherwise), with `rows` array rows.
    pub fn window(&self, rows: usize, out_rows: Range<usize>, first_block: usize) -> Window {
        let input_rows = self.input_rows(&out_rows);
        let blocks = self.channel_blocks(rows);
        Window {
            in_rows: input_rows.len(),
            in_width: self.input[1],
            blocks,
            fold_blocks: if self.depthwise { 1 } else { blocks },
            out_rows: out_rows.len(),
            out_width: self.output[1],
            kernel_width: self.kernel[1],
            stride: self.stride,
            dilation: self.dilation,
            top: (out_rows.start * self.stride[0]) as isize
                - self.pad[0] as isize
                - input_rows.start as isize,
            left: -(self.pad[1] as isize),
            first_block: if self.depthwise { first_block } else { 0 },
            depthwise: self.depthwise,
            input_rows,
        }
    }
}

/// One window-mode run: the input tile in the ifmap buffer and how the feeder walks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// The layer's input rows in the tile.
    pub input_rows: Range<usize>,
    /// Rows, columns and channel blocks of the tile.
    pub in_rows: usize,
    pub in_width: usize,
    pub blocks: usize,
    /// Channel blocks per tap in the fold order: `blocks`, or 1 when depthwise.
    pub fold_blocks: usize,
    /// Output rows and columns of the run: M = out_rows · out_width.
    pub out_rows: usize,
    pub out_width: usize,
    pub kernel_width: usize,
    pub stride: [usize; 2],
    pub dilation: [usize; 2],
    /// Tile row of output row 0's top tap (negative: rows of padding above the tile).
    pub top: isize,
    /// Column of output column 0's left tap: minus the left padding.
    pub left: isize,
    /// Depthwise: the channel block N-fold 0 reads (N-fold n reads `first_block + n`).
    pub first_block: usize,
    pub depthwise: bool,
}

impl Window {
    /// Words of the tile: what the DMA loads.
    pub fn words(&self) -> usize {
        self.in_rows * self.in_width * self.blocks
    }

    /// Output pixels of the run: the descriptor's M.
    pub fn pixels(&self) -> usize {
        self.out_rows * self.out_width
    }

    /// The tile word the feeder reads for K-fold `k`, N-fold `n` and output pixel `m` of the
    /// run; `None` when the tap lands in the padding.
    pub fn address(&self, k: usize, n: usize, m: usize) -> Option<usize> {
        let tap = k / self.fold_blocks;
        let block = if self.depthwise {
            self.first_block + n
        } else {
            k % self.fold_blocks
        };
        let (kh, kw) = (tap / self.kernel_width, tap % self.kernel_width);
        let (oy, ox) = (m / self.out_width, m % self.out_width);
        let y = self.top + (oy * self.stride[0] + kh * self.dilation[0]) as isize;
        let x = self.left + (ox * self.stride[1] + kw * self.dilation[1]) as isize;
        let inside =
            (0..self.in_rows as isize).contains(&y) && (0..self.in_width as isize).contains(&x);
        inside.then(|| (y as usize * self.in_width + x as usize) * self.blocks + block)
    }

    /// The descriptor's window fields for a core whose ifmap addresses are `address_bits` wide
    /// (`blocks::regmap` lists them). The address steps are taken modulo the address width:
    /// the walk goes through negative positions in the padding, and only the addresses of
    /// words inside the tile are ever read.
    pub fn fields(&self, address_bits: u32) -> Vec<(&'static str, u32)> {
        let modulo = |value: isize| -> u32 {
            let mask = (1i64 << address_bits) - 1;
            (value as i64 & mask) as u32
        };
        let pitch = (self.in_width * self.blocks) as isize;
        let blocks = self.blocks as isize;
        let signed = |value: isize| value as i32 as u32;
        vec![
            ("window", 1),
            ("window_depthwise", u32::from(self.depthwise)),
            ("window_words", self.words() as u32),
            ("window_in_rows", self.in_rows as u32),
            ("window_in_width", self.in_width as u32),
            ("window_out_width", self.out_width as u32),
            ("window_kernel_width", self.kernel_width as u32),
            ("window_fold_blocks", self.fold_blocks as u32),
            ("window_first_block", self.first_block as u32),
            ("window_stride_y", self.stride[0] as u32),
            ("window_stride_x", self.stride[1] as u32),
            ("window_dilation_y", self.dilation[0] as u32),
            ("window_dilation_x", self.dilation[1] as u32),
            ("window_top", signed(self.top)),
            ("window_left", signed(self.left)),
            ("window_top_addr", modulo(self.top * pitch)),
            ("window_left_addr", modulo(self.left * blocks)),
            ("window_row_step", modulo(self.stride[0] as isize * pitch)),
            ("window_col_step", modulo(self.stride[1] as isize * blocks)),
            (
                "window_tap_row_step",
                modulo(self.dilation[0] as isize * pitch),
            ),
            (
                "window_tap_col_step",
                modulo(self.dilation[1] as isize * blocks),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(stride: usize, pad: usize) -> ConvLayer {
        // 5×6×3 input, 3×3 kernel.
        let out = |input: usize| (input + 2 * pad - 3) / stride + 1;
        ConvLayer {
            input: [5, 6, 3],
            output: [out(5), out(6)],
            channels: 4,
            kernel: [3, 3],
            stride: [stride, stride],
            dilation: [1, 1],
            pad: [pad, pad],
            depthwise: false,
        }
    }

    #[test]
    fn a_window_reads_the_pixel_each_tap_of_each_output_lands_on() {
        let layer = conv(1, 1);
        // Output rows 2..4 of a 5-row output: input rows 1..5, the tile's row 0 is input row 1.
        let window = layer.window(2, 2..4, 0);
        assert_eq!(window.input_rows, 1..5);
        assert_eq!((window.in_rows, window.blocks, window.top), (4, 2, 0));
        // Output (2, 0), tap (0, 0): input (1, −1) is padding; tap (0, 1) is input (1, 0).
        assert_eq!(window.address(0, 0, 0), None);
        assert_eq!(window.address(2, 0, 0), Some(0));
        // Block 1 of tap (1, 1) for output (3, 5): input (3, 5), tile row 2.
        let k = (3 + 1) * 2 + 1;
        assert_eq!(window.address(k, 0, 6 + 5), Some((2 * 6 + 5) * 2 + 1));
        // Output row 4 (the last), tap row 2 reads input row 5: below the input.
        let last = layer.window(2, 4..5, 0);
        assert_eq!(last.input_rows, 3..5);
        assert_eq!(last.address(6 * 2, 0, 0), None);
    }

    #[test]
    fn the_first_window_of_a_padded_layer_starts_above_its_tile() {
        let layer = conv(2, 1);
        let window = layer.window(4, 0..1, 0);
        assert_eq!((window.input_rows.clone(), window.top), (0..2, -1));
        assert_eq!(window.words(), 2 * 6);
    }

    #[test]
    fn a_depthwise_window_reads_its_n_folds_channel_block() {
        let layer = ConvLayer {
            depthwise: true,
            channels: 3,
            ..conv(1, 0)
        };
        let window = layer.window(2, 0..3, 1);
        assert_eq!(layer.k_folds(2), 9);
        // Fold 4 is tap (1, 1); N-fold 0 reads block 1.
        assert_eq!(window.address(4, 0, 0), Some((6 + 1) * 2 + 1));
    }
}
