//! Embedded IR that can't be parsed: the first trace attempt logs
//! `trace-aborted: <reason>` once, and nothing is ever traced; the program goes on.

use std::{cell::Cell, ffi::c_void};
use ykrt::{
    aot::{YkAotInfo, YK_AOT_INFO_VERSION},
    config::{Config, LogDest},
    Location, MT,
};

thread_local! {
    static FLAG: Cell<u8> = const { Cell::new(0) };
}

unsafe extern "C" fn flag() -> *mut u8 {
    FLAG.with(|f| f.as_ptr())
}

static GARBAGE: [u8; 8] = *b"notbcode";

#[test]
fn unparsable_ir_disables_tracing() {
    // A well-formed section (header and checksum right) around something that
    // is not bitcode.
    let section: &'static [u8] =
        Box::leak(ykrt::aot::ir_section::wrap(&GARBAGE).into_boxed_slice());
    let info = Box::leak(Box::new(YkAotInfo {
        version: YK_AOT_INFO_VERSION,
        ir: section.as_ptr(),
        ir_len: section.len() as u64,
        globals: std::ptr::null(),
        nglobals: 0,
        funcs: std::ptr::null(),
        nfuncs: 0,
        swt_flag: flag,
    }));
    // SAFETY: `info` is leaked: it, and what it points to, lives for the whole process.
    unsafe { ykrt::abi::__yk_register_aot(info) };
    let log = std::env::temp_dir().join(format!("ykrt-bad-ir-{}.log", std::process::id()));
    let mt = MT::with_config(Config {
        hot_threshold: 0,
        log_level: 3,
        log_dest: LogDest::File(log.clone()),
        ..Config::default()
    })
    .unwrap();
    let (a, b) = (Location::new(), Location::new());
    let mut vars = 0u64;
    for l in [&a, &b, &a, &b] {
        // SAFETY: a live MT and location; `vars` is a word standing in for the control point's variables (nothing is compiled here, so no trace reads it).
        unsafe { ykrt::abi::__ykrt_control_point(&*mt, l, (&raw mut vars).cast::<c_void>(), 0) };
        assert_eq!(FLAG.with(|f| f.get()), 0);
    }
    assert!(a.is_dont_trace() && b.is_dont_trace());
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(
        lines[0].starts_with("yk-jit-event: trace-aborted: cannot parse the embedded IR"),
        "{text}"
    );
    let _ = std::fs::remove_file(log);
}
