//! `YKD_LOG_IR=aot`: the embedded module's text is printed once, when the first
//! trace loads it.

use std::{cell::Cell, ffi::c_void};
use ykrt::{
    aot::{YkAotInfo, YK_AOT_INFO_VERSION},
    config::{Config, IrLogSelection, LogDest},
    Location, MT,
};

thread_local! {
    static FLAG: Cell<u8> = const { Cell::new(0) };
}

unsafe extern "C" fn flag() -> *mut u8 {
    FLAG.with(|f| f.as_ptr())
}

#[test]
fn aot_ir_printed_once() {
    let ir = "define void @interp() {\n  ret void\n}\n";
    let m = yk_llvm::Module::parse_ir(ir).unwrap();
    let bc: &'static [u8] =
        Box::leak(ykrt::aot::ir_section::wrap(&m.to_bitcode()).into_boxed_slice());
    let funcs: &'static [*mut c_void] = Box::leak(vec![std::ptr::null_mut(); 1].into());
    let info = Box::leak(Box::new(YkAotInfo {
        version: YK_AOT_INFO_VERSION,
        ir: bc.as_ptr(),
        ir_len: bc.len() as u64,
        globals: std::ptr::null(),
        nglobals: 0,
        funcs: funcs.as_ptr(),
        nfuncs: 1,
        swt_flag: flag,
    }));
    // SAFETY: `info` is leaked: it, and what it points to, lives for the whole process.
    unsafe { ykrt::abi::__yk_register_aot(info) };
    let log = std::env::temp_dir().join(format!("ykrt-aot-log-{}.log", std::process::id()));
    let mt = MT::with_config(Config {
        hot_threshold: 0,
        log_ir: IrLogSelection {
            aot: true,
            ..Default::default()
        },
        log_ir_dest: LogDest::File(log.clone()),
        ..Config::default()
    })
    .unwrap();
    // Only the runtime is under test here.
    mt.clear_trace_compiler();
    let locs = [Location::new(), Location::new()];
    for l in [&locs[0], &locs[0], &locs[1], &locs[1]] {
        // SAFETY: a live MT and location; null vars (no trace is entered).
        unsafe { mt.control_point_raw(l, std::ptr::null_mut(), 0) };
    }
    assert_eq!(FLAG.with(|f| f.get()), 0);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.starts_with("--- Begin aot ---\n"), "{text}");
    assert!(text.contains("define void @interp()"), "{text}");
    assert!(text.ends_with("--- End aot ---\n"), "{text}");
    assert_eq!(text.matches("--- Begin aot ---").count(), 1);
    assert_eq!(ykrt::aotir::index().unwrap().funcs[0].name, "interp");
    let _ = std::fs::remove_file(log);
}
