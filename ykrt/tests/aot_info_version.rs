//! A binary whose `YkAotInfo` is of another version (linked by another yk-ld): the
//! runtime reads nothing it points to, says so in one line, and runs with the JIT off.

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

#[test]
fn other_aot_info_version_turns_the_jit_off() {
    // Pointers that must not be read (another layout): dangling, non-null.
    let info = Box::leak(Box::new(YkAotInfo {
        version: YK_AOT_INFO_VERSION + 1,
        ir: std::ptr::dangling(),
        ir_len: 1 << 40,
        globals: std::ptr::dangling(),
        nglobals: 1 << 40,
        funcs: std::ptr::dangling(),
        nfuncs: 1 << 40,
        swt_flag: flag,
    }));
    // SAFETY: `info` is leaked: it, and what it points to, lives for the whole process.
    unsafe { ykrt::abi::__yk_register_aot(info) };
    let log = std::env::temp_dir().join(format!("ykrt-info-version-{}.log", std::process::id()));
    let config = Config {
        hot_threshold: 0,
        log_level: 3,
        log_dest: LogDest::File(log.clone()),
        ..Config::default()
    };
    let mts = [
        MT::with_config(config.clone()).unwrap(),
        MT::with_config(config).unwrap(),
    ];
    let loc = Location::new();
    let mut vars = 0u64;
    for mt in &mts {
        assert!(!mt.config().jit_enabled);
        for _ in 0..3 {
            // SAFETY: a live MT and location; `vars` is a word standing in for the control point's variables (nothing is compiled here, so no trace reads it).
            unsafe {
                ykrt::abi::__ykrt_control_point(&**mt, &loc, (&raw mut vars).cast::<c_void>(), 0)
            };
            assert_eq!(FLAG.with(|f| f.get()), 0);
        }
    }
    assert!(loc.is_dont_trace());
    let text = std::fs::read_to_string(&log).unwrap();
    // One line for both MTs.
    assert_eq!(
        text,
        format!(
            "yk-error: the embedded IR (section yk_ir) was registered with YkAotInfo version {}, \
             but this runtime reads version {YK_AOT_INFO_VERSION} (rebuild the program with this \
             yk-ld): the JIT is off\n",
            YK_AOT_INFO_VERSION + 1
        )
    );
    let _ = std::fs::remove_file(log);
}
