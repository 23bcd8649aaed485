//! The build cache: one directory per distinct build, named by a SHA-256 of everything that
//! affects the library, so a hit loads the existing `.so` without running any tool but
//! `verilator --version` (once per process).
//!
//! Layout of `<cache>/`:
//!   `<top>-<key16>/`                 a finished build: `obj/libaccelgen_model.so`, logs, shim
//!   `<top>-<key16>.lock`             taken while building that key (advisory file lock)
//!   `<top>-<key16>.building-<pid>-<n>/`  a build in progress, or a failed one kept for its logs
//!
//! A build happens in a private directory and is renamed into place only when complete, and
//! builders of the same key serialize on the lock file, so concurrent processes and threads
//! never see half a build and never compile the same key twice.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use crate::compile::{self, LIBRARY_FILE_NAME, MAKE_VARIABLES, OBJECT_DIR_NAME, VERILATOR_FLAGS};
use crate::error::SimError;
use crate::shim::SHIM_VERSION;
use crate::spec::ModelSpec;
use crate::toolchain;

/// Where a library ended up and whether this call compiled it.
pub struct CacheEntry {
    pub directory: PathBuf,
    pub library: PathBuf,
    pub cache_hit: bool,
}

/// The cache directory for `spec`: the spec's own, else `$ACCELGEN_SIM_CACHE`, else
/// `<cargo target dir>/accelgen-sim`, else `<system temp dir>/accelgen-sim`.
pub fn cache_root(spec: &ModelSpec) -> PathBuf {
    if let Some(directory) = &spec.cache_dir {
        return directory.clone();
    }
    if let Some(directory) = std::env::var_os("ACCELGEN_SIM_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(directory);
    }
    target_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("accelgen-sim")
}

/// `$CARGO_TARGET_DIR`, else the nearest ancestor of the running executable that is a cargo
/// target directory (cargo marks it with `CACHEDIR.TAG`) or is called `target`.
fn target_dir() -> Option<PathBuf> {
    if let Some(directory) = std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(directory));
    }
    let executable = std::env::current_exe().ok()?;
    let ancestors = || executable.ancestors().skip(1);
    ancestors()
        .find(|directory| directory.join("CACHEDIR.TAG").is_file())
        .or_else(|| ancestors().find(|directory| directory.file_name() == Some("target".as_ref())))
        .map(Path::to_path_buf)
}

/// SHA-256 (hex) over the source contents and paths, top, ports, flags, the shim version, the
/// fixed build flags, and the Verilator and compiler versions.
pub fn cache_key(spec: &ModelSpec) -> Result<String, SimError> {
    let mut hasher = Sha256::new();
    let mut field = |label: &str, bytes: &[u8]| {
        // Length-prefixed so that no two different field sequences hash the same bytes.
        hasher.update(label.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    field("shim-version", &SHIM_VERSION.to_le_bytes());
    field("verilator-flags", VERILATOR_FLAGS.join("\n").as_bytes());
    field("make-variables", MAKE_VARIABLES.join("\n").as_bytes());
    let verilator = spec.resolved_verilator();
    field(
        "verilator-version",
        toolchain::verilator_version(&verilator)?.as_bytes(),
    );
    field(
        "compiler-version",
        toolchain::compiler_version()?.as_bytes(),
    );
    field("top", spec.top.as_bytes());
    for port in &spec.ports {
        let text = format!("{} {} {}", port.name, port.width, port.direction.keyword());
        field("port", text.as_bytes());
    }
    for flag in &spec.extra_flags {
        field("flag", flag.as_bytes());
    }
    for source in &spec.sources {
        // The path matters too: Verilator embeds it in $display/$fatal locations.
        field("source-path", source.to_string_lossy().as_bytes());
        let contents = std::fs::read(source)
            .map_err(|e| SimError::io(format!("reading Verilog source {}", source.display()), e))?;
        field("source-contents", &contents);
    }
    let digest = hasher.finalize();
    Ok(digest.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// Returns the cached library for `spec`, building it first if no finished build exists.
pub fn find_or_build(spec: &ModelSpec) -> Result<CacheEntry, SimError> {
    let key = cache_key(spec)?;
    let root = cache_root(spec);
    let entry_name = format!("{}-{}", spec.top, &key[..16]);
    let directory = root.join(&entry_name);
    let library = directory.join(OBJECT_DIR_NAME).join(LIBRARY_FILE_NAME);
    if library.is_file() {
        return Ok(CacheEntry {
            directory,
            library,
            cache_hit: true,
        });
    }

    std::fs::create_dir_all(&root)
        .map_err(|e| SimError::io(format!("creating cache directory {}", root.display()), e))?;
    let lock_path = root.join(format!("{entry_name}.lock"));
    let lock = File::create(&lock_path)
        .map_err(|e| SimError::io(format!("creating lock file {}", lock_path.display()), e))?;
    lock.lock()
        .map_err(|e| SimError::io(format!("locking {}", lock_path.display()), e))?;
    // Another builder may have finished while we waited for the lock.
    if library.is_file() {
        return Ok(CacheEntry {
            directory,
            library,
            cache_hit: true,
        });
    }

    static BUILD_COUNTER: AtomicU64 = AtomicU64::new(0);
    let build_dir = root.join(format!(
        "{entry_name}.building-{}-{}",
        std::process::id(),
        BUILD_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&build_dir).map_err(|e| {
        SimError::io(
            format!("creating build directory {}", build_dir.display()),
            e,
        )
    })?;
    write_description(spec, &key, &build_dir)?;
    let relative_library = compile::build_library(spec, &build_dir)?;
    // A directory without a library is debris (e.g. deleted by hand); replace it.
    if directory.exists() {
        std::fs::remove_dir_all(&directory)
            .map_err(|e| SimError::io(format!("removing stale {}", directory.display()), e))?;
    }
    std::fs::rename(&build_dir, &directory).map_err(|e| {
        SimError::io(
            format!(
                "renaming finished build {} to {}",
                build_dir.display(),
                directory.display()
            ),
            e,
        )
    })?;
    drop(lock);
    Ok(CacheEntry {
        library: directory.join(relative_library),
        directory,
        cache_hit: false,
    })
}

/// A human-readable record of what a cache entry was built from, for whoever browses the cache.
fn write_description(spec: &ModelSpec, key: &str, build_dir: &Path) -> Result<(), SimError> {
    let mut text = format!("top: {}\nkey: {key}\nsources:\n", spec.top);
    for source in &spec.sources {
        text.push_str(&format!("  {}\n", source.display()));
    }
    text.push_str("ports:\n");
    for port in &spec.ports {
        text.push_str(&format!(
            "  {} {} [{}]\n",
            port.direction.keyword(),
            port.name,
            port.width
        ));
    }
    text.push_str(&format!("extra flags: {:?}\n", spec.extra_flags));
    let path = build_dir.join("spec.txt");
    std::fs::write(&path, text).map_err(|e| SimError::io(format!("writing {}", path.display()), e))
}
