//! The build cache: hits skip every tool, source edits miss, concurrent builders of one key
//! compile it once. Each test uses its own temporary cache directory.

mod common;

use std::path::Path;

use accelgen_sim::{Model, ModelSpec};

/// Build directories in `cache` (finished or in progress), i.e. how many compiles happened.
fn build_directories(cache: &Path) -> usize {
    std::fs::read_dir(cache)
        .unwrap()
        .filter(|entry| entry.as_ref().unwrap().path().is_dir())
        .count()
}

#[test]
fn second_build_of_the_same_spec_is_a_cache_hit_without_compiling() {
    let cache = tempfile::tempdir().unwrap();
    let spec = common::counter_spec().cache_dir(cache.path());

    let first = Model::build(&spec).unwrap();
    assert!(!first.build_info().cache_hit);
    let log = first.build_info().run_directory.join("make.log");
    let log_written = std::fs::metadata(&log).unwrap().modified().unwrap();

    let second = Model::build(&spec).unwrap();
    assert!(second.build_info().cache_hit);
    assert_eq!(second.build_info().library, first.build_info().library);
    assert_eq!(build_directories(cache.path()), 1);
    assert_eq!(
        std::fs::metadata(&log).unwrap().modified().unwrap(),
        log_written,
        "a hit must not run make"
    );
    assert!(
        second.build_info().seconds < 1.0,
        "a hit only hashes and loads; took {} s",
        second.build_info().seconds
    );
}

#[test]
fn editing_a_source_invalidates_the_cache_and_the_new_code_runs() {
    let cache = tempfile::tempdir().unwrap();
    let sources = tempfile::tempdir().unwrap();
    let source = sources.path().join("counter.v");
    let original = std::fs::read_to_string(common::fixture("counter.v")).unwrap();
    std::fs::write(&source, &original).unwrap();
    let spec = ModelSpec {
        sources: vec![source.clone()],
        ..common::counter_spec().cache_dir(cache.path())
    };

    let mut before = Model::build(&spec).unwrap();
    assert!(!before.build_info().cache_hit);

    let counts_by_two = original.replace("count_q + 8'd1", "count_q + 8'd2");
    assert_ne!(counts_by_two, original, "fixture edit must apply");
    std::fs::write(&source, counts_by_two).unwrap();
    let mut after = Model::build(&spec).unwrap();
    assert!(!after.build_info().cache_hit);
    assert_ne!(after.build_info().library, before.build_info().library);

    for (model, expected) in [(&mut before, 5), (&mut after, 10)] {
        let clock = model.port("clk").unwrap();
        model.poke_by_name("enable", 1).unwrap();
        model.step_n(clock, 5);
        assert_eq!(model.peek_by_name("count").unwrap(), expected);
    }
}

#[test]
fn changing_flags_or_ports_changes_the_key() {
    let base = common::counter_spec();
    let key = accelgen_sim::cache_key(&base).unwrap();
    assert_eq!(
        key,
        accelgen_sim::cache_key(&base).unwrap(),
        "key is deterministic"
    );
    assert_ne!(
        key,
        accelgen_sim::cache_key(&base.clone().flag("-Wall")).unwrap()
    );
    let mut renamed = base.clone();
    renamed.ports[1].name = "rst".into();
    assert_ne!(key, accelgen_sim::cache_key(&renamed).unwrap());
}

#[test]
fn concurrent_builds_of_one_key_compile_once() {
    let cache = tempfile::tempdir().unwrap();
    let spec = common::edge_widths_spec().cache_dir(cache.path());
    let hits: Vec<bool> = std::thread::scope(|scope| {
        let builders: Vec<_> = (0..3)
            .map(|_| scope.spawn(|| Model::build(&spec).unwrap().build_info().cache_hit))
            .collect();
        builders.into_iter().map(|b| b.join().unwrap()).collect()
    });
    assert_eq!(hits.iter().filter(|hit| !**hit).count(), 1, "{hits:?}");
    assert_eq!(build_directories(cache.path()), 1);
}
