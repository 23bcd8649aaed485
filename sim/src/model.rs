//! A live Verilated model: load the library, resolve ports once, then poke, peek, eval, step
//! and trace from Rust.
//!
//! Poke policy: a value with bits set above the port's width is a bug in the caller, so
//! `poke`/`poke_wide` panic with the port, value and width (one compare on the hot path);
//! `try_poke`/`poke_by_name` return the same condition as an error instead.

use std::ffi::{c_char, c_int, c_void, CString};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use libloading::Library;

use crate::cache;
use crate::error::SimError;
use crate::shim::SHIM_VERSION;
use crate::spec::{Direction, ModelSpec};

/// A resolved port of one model, cheap to copy into hot loops. Only meaningful for the model
/// (or instances of the same spec) that produced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortId(u32);

impl PortId {
    /// Position of the port in the spec's port list.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// How the library behind a model was obtained.
#[derive(Debug, Clone)]
pub struct BuildInfo {
    /// True when a finished build was found and nothing was compiled.
    pub cache_hit: bool,
    /// The loaded shared library.
    pub library: PathBuf,
    /// The cache entry directory: logs, generated shim, and the default trace directory.
    pub run_directory: PathBuf,
    /// Wall time of `Model::build`: hashing, any compile, and loading.
    pub seconds: f64,
}

/// Status codes of the shim's eval and step; mirrors the constants in the generated C++.
const STATUS_FINISHED: c_int = 1;
const STATUS_FATAL: c_int = 2;

/// The shim's C ABI, resolved once per library.
#[derive(Clone, Copy)]
struct ShimApi {
    create: unsafe extern "C" fn() -> *mut c_void,
    destroy: unsafe extern "C" fn(*mut c_void),
    poke_u64: unsafe extern "C" fn(*mut c_void, u32, u64),
    peek_u64: unsafe extern "C" fn(*mut c_void, u32) -> u64,
    poke_words: unsafe extern "C" fn(*mut c_void, u32, *const u32),
    peek_words: unsafe extern "C" fn(*mut c_void, u32, *mut u32),
    eval: unsafe extern "C" fn(*mut c_void) -> c_int,
    step: unsafe extern "C" fn(*mut c_void, u32) -> c_int,
    time: unsafe extern "C" fn(*mut c_void) -> u64,
    fatal_message: unsafe extern "C" fn(*mut c_void, *mut c_char, usize) -> usize,
    trace_open: unsafe extern "C" fn(*mut c_void, *const c_char) -> c_int,
    trace_close: unsafe extern "C" fn(*mut c_void),
}

/// A port as the model sees it: precomputed mask and word count for the hot paths.
#[derive(Debug)]
struct PortInfo {
    name: String,
    width: u32,
    direction: Direction,
    words: usize,
    /// Mask of the valid bits of the low 64 (all ones for ports of 64 bits or more).
    mask: u64,
    /// Mask of the valid bits of the top u32 word.
    top_word_mask: u32,
}

/// What instances of one library share.
struct Loaded {
    // Keeps the code of `api` mapped; dropped after every instance is destroyed.
    _library: Library,
    api: ShimApi,
    ports: Vec<PortInfo>,
    top: String,
}

/// One simulation instance with its own state, time and trace. Several can exist at once,
/// of the same or of different tops.
pub struct Model {
    handle: *mut c_void,
    loaded: Arc<Loaded>,
    info: BuildInfo,
    cycles: u64,
    trace_path: Option<PathBuf>,
    finished: bool,
}

// The Verilated model is single-threaded but not tied to a thread: the shim re-binds
// Verilator's thread-local context on each eval, so moving a Model to another thread is sound.
// It is not Sync: all access goes through &mut or through reads that must not race a write.
unsafe impl Send for Model {}

static INSTANCE_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Model {
    /// Builds (or finds in the cache) the library for `spec` and creates one instance.
    ///
    /// If `ACCELGEN_TRACE=1`, the instance writes a VCD into `$ACCELGEN_TRACE_DIR` or the
    /// cache entry's `traces/` directory, and the path is printed to stderr.
    pub fn build(spec: &ModelSpec) -> Result<Model, SimError> {
        let started = Instant::now();
        spec.validate()?;
        let entry = cache::find_or_build(spec)?;
        let loaded = Arc::new(load(spec, &entry.library)?);
        let info = BuildInfo {
            cache_hit: entry.cache_hit,
            library: entry.library,
            run_directory: entry.directory,
            seconds: started.elapsed().as_secs_f64(),
        };
        Model::instantiate(loaded, info)
    }

    /// A fresh instance of the same library, with its own state and time (no hashing, no
    /// loading).
    pub fn new_instance(&self) -> Result<Model, SimError> {
        let info = BuildInfo {
            cache_hit: true,
            seconds: 0.0,
            ..self.info.clone()
        };
        Model::instantiate(Arc::clone(&self.loaded), info)
    }

    fn instantiate(loaded: Arc<Loaded>, info: BuildInfo) -> Result<Model, SimError> {
        // SAFETY: `create` is the shim's constructor; the returned handle is destroyed in Drop.
        let handle = unsafe { (loaded.api.create)() };
        let mut model = Model {
            handle,
            loaded,
            info,
            cycles: 0,
            trace_path: None,
            finished: false,
        };
        if trace_requested_by_environment() {
            let directory = std::env::var_os("ACCELGEN_TRACE_DIR")
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| model.info.run_directory.join("traces"));
            let path = directory.join(format!(
                "{}-{}-{}.vcd",
                model.loaded.top,
                std::process::id(),
                INSTANCE_COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            model.trace_to(&path)?;
            eprintln!(
                "accelgen-sim: writing VCD trace of `{}` to {}",
                model.loaded.top,
                path.display()
            );
        }
        Ok(model)
    }

    pub fn build_info(&self) -> &BuildInfo {
        &self.info
    }

    /// The top module's name.
    pub fn top(&self) -> &str {
        &self.loaded.top
    }

    /// Resolves a port by name; do this once, outside hot loops.
    pub fn port(&self, name: &str) -> Result<PortId, SimError> {
        self.loaded
            .ports
            .iter()
            .position(|port| port.name == name)
            .map(|index| PortId(index as u32))
            .ok_or_else(|| SimError::UnknownPort {
                top: self.loaded.top.clone(),
                name: name.to_string(),
                known: self.port_list(),
            })
    }

    /// Width in bits of a resolved port.
    pub fn width(&self, port: PortId) -> u32 {
        self.info_of(port).width
    }

    /// Sets an input. Ports wider than 64 bits get `value` zero-extended.
    ///
    /// # Panics
    /// If `port` is an output or `value` has bits set above the port's width.
    pub fn poke(&mut self, port: PortId, value: u64) {
        if let Err(error) = self.check_poke(port, value) {
            panic!("{error}");
        }
        // SAFETY: live handle; the index is a valid input of this library (checked above).
        unsafe { (self.loaded.api.poke_u64)(self.handle, port.0, value) }
    }

    /// Like `poke`, but reports an output port or a too-wide value as an error.
    pub fn try_poke(&mut self, port: PortId, value: u64) -> Result<(), SimError> {
        self.check_poke(port, value)?;
        // SAFETY: as in `poke`.
        unsafe { (self.loaded.api.poke_u64)(self.handle, port.0, value) }
        Ok(())
    }

    /// Reads a port of at most 64 bits (inputs read back what was poked).
    ///
    /// # Panics
    /// If the port is wider than 64 bits; use `peek_wide`.
    pub fn peek(&self, port: PortId) -> u64 {
        let info = self.info_of(port);
        if info.width > 64 {
            panic!(
                "{}",
                SimError::PeekTooWide {
                    top: self.loaded.top.clone(),
                    port: info.name.clone(),
                    width: info.width,
                }
            );
        }
        // SAFETY: live handle, valid index.
        unsafe { (self.loaded.api.peek_u64)(self.handle, port.0) }
    }

    /// Sets an input of any width from little-endian u32 words (`ceil(width / 32)` of them).
    ///
    /// # Panics
    /// If `port` is an output, the word count is wrong, or bits above the width are set.
    pub fn poke_wide(&mut self, port: PortId, words: &[u32]) {
        if let Err(error) = self.try_poke_wide(port, words) {
            panic!("{error}");
        }
    }

    /// Like `poke_wide`, but reports problems as errors.
    pub fn try_poke_wide(&mut self, port: PortId, words: &[u32]) -> Result<(), SimError> {
        let info = self.info_of(port);
        self.check_input(port)?;
        if words.len() != info.words {
            return Err(SimError::WordCountMismatch {
                top: self.loaded.top.clone(),
                port: info.name.clone(),
                width: info.width,
                expected: info.words,
                got: words.len(),
            });
        }
        let top_word = words[info.words - 1];
        if top_word & !info.top_word_mask != 0 {
            return Err(SimError::ValueTooWide {
                top: self.loaded.top.clone(),
                port: info.name.clone(),
                width: info.width,
                value: u64::from(top_word),
            });
        }
        // SAFETY: live handle, valid input index, `words` has exactly the shim's word count.
        unsafe { (self.loaded.api.poke_words)(self.handle, port.0, words.as_ptr()) }
        Ok(())
    }

    /// Reads a port of any width as little-endian u32 words.
    pub fn peek_wide(&self, port: PortId) -> Vec<u32> {
        let mut words = vec![0; self.info_of(port).words];
        self.peek_wide_into(port, &mut words);
        words
    }

    /// Allocation-free `peek_wide` for hot loops.
    ///
    /// # Panics
    /// If `words.len()` is not `ceil(width / 32)`.
    pub fn peek_wide_into(&self, port: PortId, words: &mut [u32]) {
        let info = self.info_of(port);
        assert_eq!(
            words.len(),
            info.words,
            "peek_wide_into: port `{}` of top `{}` is {} bits wide and needs {} word(s)",
            info.name,
            self.loaded.top,
            info.width,
            info.words
        );
        // SAFETY: live handle, valid index, buffer of exactly the shim's word count.
        unsafe { (self.loaded.api.peek_words)(self.handle, port.0, words.as_mut_ptr()) }
    }

    /// `poke` by port name, with every problem reported as an error.
    pub fn poke_by_name(&mut self, name: &str, value: u64) -> Result<(), SimError> {
        let port = self.port(name)?;
        self.try_poke(port, value)
    }

    /// `peek` by port name; errors on unknown ports and ports wider than 64 bits.
    pub fn peek_by_name(&self, name: &str) -> Result<u64, SimError> {
        let port = self.port(name)?;
        let info = self.info_of(port);
        if info.width > 64 {
            return Err(SimError::PeekTooWide {
                top: self.loaded.top.clone(),
                port: info.name.clone(),
                width: info.width,
            });
        }
        Ok(self.peek(port))
    }

    /// Settles combinational logic after pokes. Does not advance time or write the trace.
    ///
    /// # Panics
    /// If the Verilog hits `$fatal`, `$stop` or a Verilator runtime error.
    pub fn eval(&mut self) {
        // SAFETY: live handle.
        let status = unsafe { (self.loaded.api.eval)(self.handle) };
        self.handle_status(status);
    }

    /// One rising edge of `clock`: clock low, eval, clock high, eval. Each half advances time
    /// by one unit and is written to the trace if one is open.
    ///
    /// # Panics
    /// If `clock` is not a 1-bit input, or as `eval`.
    pub fn step(&mut self, clock: PortId) {
        let info = self.info_of(clock);
        assert!(
            info.width == 1 && info.direction == Direction::Input,
            "step: port `{}` of top `{}` is a {}-bit {}; a clock must be a 1-bit input",
            info.name,
            self.loaded.top,
            info.width,
            info.direction.keyword()
        );
        // SAFETY: live handle, valid 1-bit input index.
        let status = unsafe { (self.loaded.api.step)(self.handle, clock.0) };
        self.cycles += 1;
        self.handle_status(status);
    }

    /// `step` repeated `count` times.
    pub fn step_n(&mut self, clock: PortId, count: u64) {
        for _ in 0..count {
            self.step(clock);
        }
    }

    /// Number of `step`s so far.
    pub fn cycles(&self) -> u64 {
        self.cycles
    }

    /// Simulation time in units (two per step).
    pub fn time(&self) -> u64 {
        // SAFETY: live handle.
        unsafe { (self.loaded.api.time)(self.handle) }
    }

    /// True once the Verilog executed `$finish`.
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// Starts writing a VCD of every signal to `path` (parent directories are created). One
    /// trace per instance; it is flushed and closed by `close_trace` or when the model drops.
    pub fn trace_to(&mut self, path: &Path) -> Result<(), SimError> {
        if let Some(existing) = &self.trace_path {
            return Err(SimError::TraceAlreadyOpen {
                top: self.loaded.top.clone(),
                path: existing.clone(),
            });
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                SimError::io(format!("creating trace directory {}", parent.display()), e)
            })?;
        }
        let trace_open_error = || SimError::TraceOpen {
            top: self.loaded.top.clone(),
            path: path.to_path_buf(),
        };
        let c_path =
            CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| trace_open_error())?;
        // SAFETY: live handle, NUL-terminated path that outlives the call.
        let status = unsafe { (self.loaded.api.trace_open)(self.handle, c_path.as_ptr()) };
        match status {
            0 => {
                self.trace_path = Some(path.to_path_buf());
                Ok(())
            }
            _ => Err(trace_open_error()),
        }
    }

    /// Flushes and closes the trace, if any; later steps are not traced.
    pub fn close_trace(&mut self) {
        // SAFETY: live handle; closing without an open trace is a no-op in the shim.
        unsafe { (self.loaded.api.trace_close)(self.handle) }
    }

    /// Where this instance's VCD goes, if tracing.
    pub fn trace_path(&self) -> Option<&Path> {
        self.trace_path.as_deref()
    }

    fn info_of(&self, port: PortId) -> &PortInfo {
        &self.loaded.ports[port.index()]
    }

    fn check_input(&self, port: PortId) -> Result<(), SimError> {
        let info = self.info_of(port);
        if info.direction == Direction::Output {
            return Err(SimError::PokeOutput {
                top: self.loaded.top.clone(),
                port: info.name.clone(),
            });
        }
        Ok(())
    }

    fn check_poke(&self, port: PortId, value: u64) -> Result<(), SimError> {
        let info = self.info_of(port);
        if info.direction == Direction::Output || value & !info.mask != 0 {
            self.check_input(port)?;
            return Err(SimError::ValueTooWide {
                top: self.loaded.top.clone(),
                port: info.name.clone(),
                width: info.width,
                value,
            });
        }
        Ok(())
    }

    fn handle_status(&mut self, status: c_int) {
        if status == STATUS_FINISHED {
            self.finished = true;
        } else if status == STATUS_FATAL {
            self.finished = true;
            let mut buffer = vec![0u8; 4096];
            // SAFETY: live handle; the shim writes at most `buffer.len()` bytes.
            let length = unsafe {
                (self.loaded.api.fatal_message)(
                    self.handle,
                    buffer.as_mut_ptr().cast(),
                    buffer.len(),
                )
            };
            buffer.truncate(length.min(4096));
            panic!(
                "Verilog model `{}` stopped at cycle {}: {}",
                self.loaded.top,
                self.cycles,
                String::from_utf8_lossy(&buffer)
            );
        }
    }

    fn port_list(&self) -> String {
        self.loaded
            .ports
            .iter()
            .map(|port| {
                format!(
                    "{} {} [{}]",
                    port.direction.keyword(),
                    port.name,
                    port.width
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: the handle came from `create` of this library, which `loaded` keeps mapped,
        // and is destroyed exactly once.
        unsafe { (self.loaded.api.destroy)(self.handle) }
    }
}

impl std::fmt::Debug for Model {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Model")
            .field("top", &self.loaded.top)
            .field("library", &self.info.library)
            .field("cycles", &self.cycles)
            .finish()
    }
}

fn trace_requested_by_environment() -> bool {
    std::env::var("ACCELGEN_TRACE").is_ok_and(|value| !value.is_empty() && value != "0")
}

/// Loads `library` and resolves the shim's functions, checking that it matches `spec`.
fn load(spec: &ModelSpec, library_path: &Path) -> Result<Loaded, SimError> {
    let load_error = |message: String| SimError::Load {
        library: library_path.to_path_buf(),
        message,
    };
    // SAFETY: the library is one the bridge built; its initializers are Verilator's and the
    // shim's static constructors, which have no preconditions.
    let library = unsafe { Library::new(library_path) }.map_err(|e| load_error(e.to_string()))?;
    macro_rules! symbol {
        ($name:literal) => {
            // SAFETY: the shim defines each symbol with exactly the signature of the field it
            // is assigned to (see shim.rs); the pointer stays valid while `library` is loaded.
            *unsafe { library.get($name) }
                .map_err(|e| load_error(format!("missing shim function: {e}")))?
        };
    }
    let shim_version: unsafe extern "C" fn() -> u32 = symbol!(b"accelgen_sim_shim_version");
    let port_count: unsafe extern "C" fn() -> u32 = symbol!(b"accelgen_sim_port_count");
    // SAFETY: argument-free getters.
    let (found_version, found_ports) = unsafe { (shim_version(), port_count()) };
    if found_version != SHIM_VERSION || found_ports as usize != spec.ports.len() {
        return Err(load_error(format!(
            "library has shim version {found_version} with {found_ports} ports; expected \
             version {SHIM_VERSION} with {} ports (delete the cache entry to rebuild)",
            spec.ports.len()
        )));
    }
    let api = ShimApi {
        create: symbol!(b"accelgen_sim_create"),
        destroy: symbol!(b"accelgen_sim_destroy"),
        poke_u64: symbol!(b"accelgen_sim_poke_u64"),
        peek_u64: symbol!(b"accelgen_sim_peek_u64"),
        poke_words: symbol!(b"accelgen_sim_poke_words"),
        peek_words: symbol!(b"accelgen_sim_peek_words"),
        eval: symbol!(b"accelgen_sim_eval"),
        step: symbol!(b"accelgen_sim_step"),
        time: symbol!(b"accelgen_sim_time"),
        fatal_message: symbol!(b"accelgen_sim_fatal_message"),
        trace_open: symbol!(b"accelgen_sim_trace_open"),
        trace_close: symbol!(b"accelgen_sim_trace_close"),
    };
    let ports = spec
        .ports
        .iter()
        .map(|port| PortInfo {
            name: port.name.clone(),
            width: port.width,
            direction: port.direction,
            words: port.word_count(),
            mask: if port.width >= 64 {
                u64::MAX
            } else {
                (1u64 << port.width) - 1
            },
            top_word_mask: match port.width % 32 {
                0 => u32::MAX,
                bits => (1u32 << bits) - 1,
            },
        })
        .collect();
    Ok(Loaded {
        _library: library,
        api,
        ports,
        top: spec.top.clone(),
    })
}
