//! A binary not linked by yk-ld registers no AOT info: the MT works, but hot
//! locations are never traced. (Its own process: registration is per process.)

use std::ffi::c_void;
use ykrt::{config::Config, Location, MT};

#[test]
fn never_traces_without_aot_info() {
    let mt = MT::with_config(Config {
        hot_threshold: 2,
        ..Config::default()
    })
    .unwrap();
    let loc = Location::new();
    let mut vars = 0u64;
    for _ in 0..10 {
        // SAFETY: a live MT and location; `vars` is a word standing in for the control point's variables (nothing is compiled here, so no trace reads it).
        let r = unsafe { mt.control_point_raw(&loc, (&raw mut vars).cast::<c_void>(), 0) };
        assert_eq!(r, 0);
        assert!(!ykrt::trace::swt::is_recording());
    }
    assert!(loc.is_dont_trace());
    assert!(ykrt::aot::info().is_none());
    assert!(ykrt::is_interpreting());
    assert_eq!(ykrt::promote(42u8), 42);
    let p = &vars as *const u64;
    assert_eq!(ykrt::promote(p), p);
}
