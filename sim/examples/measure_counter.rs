//! Measures the bridge on the counter fixture: cold build, cached load, ccache-warm rebuild
//! (cache wiped, ccache warm) and simple steps per second.
//!
//!     cargo run --release -p accelgen-sim --example measure_counter

use std::path::PathBuf;
use std::time::Instant;

use accelgen_sim::{Model, ModelSpec};

fn counter_spec(cache: &std::path::Path) -> ModelSpec {
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/counter.v");
    ModelSpec::new("counter")
        .source(fixture)
        .input("clk", 1)
        .input("reset", 1)
        .input("enable", 1)
        .output("count", 8)
        .cache_dir(cache)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // First build in this process, from the shared default cache (a hit once the tests have
    // run): includes spawning `verilator --version` for the cache key and loading the library.
    let default_cache = accelgen_sim::cache_root(&ModelSpec::new("counter"));
    let fresh = Model::build(&counter_spec(&default_cache))?;
    println!(
        "first load in process: {:7.3} s  (cache hit: {}, {})",
        fresh.build_info().seconds,
        fresh.build_info().cache_hit,
        default_cache.display()
    );
    drop(fresh);

    let cache = tempfile::tempdir()?;
    let spec = counter_spec(cache.path());

    // Cold: CCACHE_RECACHE makes ccache compile everything (and refresh its entries), so this
    // is the full verilator + C++ compile + link time.
    std::env::set_var("CCACHE_RECACHE", "1");
    let cold = Model::build(&spec)?;
    std::env::remove_var("CCACHE_RECACHE");
    assert!(!cold.build_info().cache_hit);
    println!("cold build:          {:7.3} s", cold.build_info().seconds);

    let cached = Model::build(&spec)?;
    assert!(cached.build_info().cache_hit);
    println!(
        "cached load:         {:9.6} s  (tool versions already memoized in this process)",
        cached.build_info().seconds
    );

    let started = Instant::now();
    let instance = cached.new_instance()?;
    println!(
        "new_instance:        {:7.6} s",
        started.elapsed().as_secs_f64()
    );
    drop((cold, cached, instance));

    std::fs::remove_dir_all(cache.path())?;
    let warm = Model::build(&spec)?;
    assert!(!warm.build_info().cache_hit);
    println!("ccache-warm rebuild: {:7.3} s", warm.build_info().seconds);

    let mut model = warm;
    let clock = model.port("clk")?;
    let enable = model.port("enable")?;
    let count = model.port("count")?;
    model.poke(enable, 1);
    let steps = 5_000_000u64;
    let started = Instant::now();
    let mut checksum = 0u64;
    for _ in 0..steps {
        model.step(clock);
        checksum = checksum.wrapping_add(model.peek(count));
    }
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(model.peek(count), steps % 256);
    println!(
        "steps:               {:7.2} M steps/s (step + peek each cycle; checksum {checksum})",
        steps as f64 / seconds / 1e6
    );
    Ok(())
}
