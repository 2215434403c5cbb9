//! Test support: a registered fake AOT module, a fake swt flag, and log capture.

use crate::{
    aot::{self, YkAotInfo},
    compile::{CompileError, Compiled, CompiledTrace, RecordedTrace},
    config::{Config, LogDest},
    mt::TraceCompiler,
    mt::MT,
};
use std::{
    cell::Cell,
    ffi::c_void,
    path::PathBuf,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc, Once,
    },
};

/// The registered module: function 0 `interp` is a loop (`0 -> 1 -> 2 -> 1`, 3
/// returns), function 1 `helper` is called from block 1.
const IR: &str = r#"
@g = global i32 0

define void @interp(i1 %c) {
  br label %head
head:
  call void @helper()
  br i1 %c, label %body, label %exit
body:
  br label %head
exit:
  ret void
}

define void @helper() {
  ret void
}
"#;

thread_local! {
    static FLAG: Cell<u8> = const { Cell::new(0) };
}

unsafe extern "C" fn flag_addr() -> *mut u8 {
    FLAG.with(|f| f.as_ptr())
}

/// Is this thread's fake swt flag on?
pub(crate) fn flag_on() -> bool {
    FLAG.with(|f| f.get()) != 0
}

/// What the instrumentation of a block does.
pub(crate) fn block(f: u32, b: u32) {
    if flag_on() {
        crate::abi::__yk_swt_rec_block(f, b);
    }
}

/// Register the test module (once per process).
pub(crate) fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let m = yk_llvm::Module::parse_ir(IR).unwrap();
        let bc: &'static [u8] =
            Box::leak(aot::ir_section::wrap(&m.to_bitcode()).into_boxed_slice());
        let funcs: &'static [*mut c_void] = Box::leak(vec![std::ptr::null_mut(); 2].into());
        let globals: &'static [*mut c_void] = Box::leak(vec![std::ptr::null_mut(); 1].into());
        let info = Box::leak(Box::new(YkAotInfo {
            version: aot::YK_AOT_INFO_VERSION,
            ir: bc.as_ptr(),
            ir_len: bc.len() as u64,
            globals: globals.as_ptr(),
            nglobals: 1,
            funcs: funcs.as_ptr(),
            nfuncs: 2,
            swt_flag: flag_addr,
        }));
        assert!(aot::register(info));
    });
}

/// The index of the module `ir` (LLVM assembly) as the runtime reads it:
/// through bitcode, by the LLVM side's reader, which must agree with the
/// index of the parsed module and give the module's text when asked.
pub(crate) fn index_of(ir: &str) -> crate::aotir::AotIndex {
    use crate::jit::aot_index;
    let m = yk_llvm::Module::parse_ir(ir).unwrap();
    let bc = m.to_bitcode();
    let (idx, text) = aot_index::read(bc.as_slice(), true).unwrap();
    assert!(text.unwrap().contains("define "));
    assert_eq!(idx, aot_index::index_module(&m));
    idx
}

/// A unique log file for one test.
pub(crate) fn log_path(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "ykrt-test-{}-{name}-{}.log",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// An MT logging JIT events to a fresh file, compiling synchronously.
pub(crate) fn mt(name: &str, threshold: u32) -> (Arc<MT>, PathBuf) {
    register();
    let p = log_path(name);
    let c = Config {
        hot_threshold: threshold,
        serialise_compilation: true,
        log_level: 3,
        log_dest: LogDest::File(p.clone()),
        ..Config::default()
    };
    (new_mt(c), p)
}

/// An MT with no trace compiler (the tests here test the runtime alone).
pub(crate) fn new_mt(c: Config) -> Arc<MT> {
    let mt = MT::with_config(c).unwrap();
    mt.clear_trace_compiler();
    mt
}

/// The lines logged so far.
pub(crate) fn lines(p: &PathBuf) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A compiled trace that counts its executions.
#[derive(Default)]
pub(crate) struct FakeTrace(pub(crate) AtomicU64);

impl CompiledTrace for FakeTrace {
    unsafe fn execute(&self, _vars: *mut c_void) -> u64 {
        self.0.fetch_add(1, Ordering::Relaxed);
        0
    }
}

/// A compiler that accepts every trace (or rejects them all with `Err(e)`).
pub(crate) struct FakeCompiler {
    pub(crate) result: Result<Arc<FakeTrace>, CompileError>,
    pub(crate) seen: std::sync::Mutex<Vec<Vec<(u32, u32)>>>,
}

impl FakeCompiler {
    pub(crate) fn new(result: Result<Arc<FakeTrace>, CompileError>) -> Arc<Self> {
        Arc::new(FakeCompiler {
            result,
            seen: Default::default(),
        })
    }
}

impl TraceCompiler for FakeCompiler {
    fn compile(&self, _mt: &MT, trace: &RecordedTrace) -> Result<Compiled, CompileError> {
        if trace.start.guard().is_some() {
            return Err(crate::compile::unsupported_side_trace());
        }
        self.seen.lock().unwrap().push(trace.blocks.clone());
        match &self.result {
            Ok(t) => Ok(Compiled::Root(Arc::clone(t) as Arc<dyn CompiledTrace>)),
            Err(e) => Err(e.clone()),
        }
    }
}
