//! With the JIT off, the control point makes a counting location "don't
//! trace", the state yk-ld's inline fast path skips (docs/abi.md); with the
//! JIT on, a location below the hot threshold keeps counting and so keeps
//! reaching the runtime.

use std::ffi::c_void;
use ykrt::{abi::__ykrt_control_point, config::Config, Location, MT};

fn cp(mt: &MT, loc: &Location) -> u64 {
    let mut vars = 0u64;
    // SAFETY: a live MT and location; `vars` is a word standing in for the control point's variables (nothing is compiled here, so no trace reads it).
    unsafe { __ykrt_control_point(mt, loc, (&raw mut vars).cast::<c_void>(), 0) }
}

#[test]
fn jit_off_locations_become_dont_trace() {
    let mt = MT::with_config(Config {
        jit_enabled: false,
        ..Config::default()
    })
    .unwrap();
    let loc = Location::new();
    assert!(!loc.is_dont_trace());
    assert_eq!(cp(&mt, &loc), 0);
    assert!(loc.is_dont_trace());
    // And stays so; a null location stays null.
    assert_eq!(cp(&mt, &loc), 0);
    assert!(loc.is_dont_trace());
    let null = Location::null();
    assert_eq!(cp(&mt, &null), 0);
    assert!(null.is_null());
}

#[test]
fn jit_on_locations_keep_counting() {
    let mt = MT::with_config(Config {
        hot_threshold: 1000,
        ..Config::default()
    })
    .unwrap();
    let loc = Location::new();
    for _ in 0..10 {
        assert_eq!(cp(&mt, &loc), 0);
    }
    assert!(!loc.is_dont_trace() && !loc.is_null() && !loc.is_compiled());
}
