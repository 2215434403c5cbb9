//! The LLVM trace compiler: the trace builder ([`tirb`], through the trace
//! IR, with what it shares in [`builder`]), optimisation and ORC ([`orc`]),
//! behind the runtime's [`TraceCompiler`] interface.

// LLVM's opaque handles are passed around as values, as in the C API.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

pub mod aot_index;
pub mod builder;
pub mod dbg;
pub mod decode;
mod kept;
pub mod lazy;
pub mod native;
pub mod orc;
mod perfmap;
mod stitch;
mod tier;
pub mod tirb;
pub(crate) use tier::tier_check_fn;
use tier::*;
pub use tier::{TIER_CHECK_ITERS, TIER_UP_ITERS};

use crate::abort::{Abort, AbortKind};
use crate::compile::{CompileError, Compiled, CompiledTrace, RecordedTrace};
use crate::guard::{SideTrace, TraceFn, TraceInfo};
use crate::mt::TraceCompiler;
use crate::mt::MT;
use crate::stats::{Counter, Timer, TraceRecord};
use std::collections::HashMap;
use std::ffi::c_void;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, Weak};
use yk_llvm::Module;

/// LLVM's pipeline for traces. The trace IR already folded, forwarded
/// stores to loads, CSE'd and removed dead code and stores: what is left for
/// LLVM is tidying the control flow. (Measured on the Lua benchmarks'
/// traces: the former full pipeline, `sroa, early-cse, instcombine,
/// simplifycfg, gvn, licm, dse, instcombine, simplifycfg`, made the same
/// steady-state speed in 5-50x the optimisation time.) `YKD_OPT_PIPELINE`
/// overrides it (for measuring, e.g. against `default<O2>`).
pub const PIPELINE: &str = "function(simplifycfg)";

/// Traces bigger than this (instructions before optimisation) are aborted:
/// LLVM's compile time grows faster than linearly with a trace's size (and
/// its number of guards), and a trace this long seldom pays for itself.
pub const MAX_TRACE_INSTRS: usize = 40_000;

/// Root traces built in one LLVM context before the next root trace gets a
/// fresh one ([`Gen`]): LLVM never frees what a context uniques (constants,
/// types, debug metadata), a few kilobytes per trace, so a program that
/// keeps making new traces would grow without bound in one context.
/// `YKD_TRACES_PER_CONTEXT=N` overrides it (for tests; read once).
pub const TRACES_PER_CONTEXT: usize = 500;

fn traces_per_context() -> usize {
    static N: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *N.get_or_init(|| {
        std::env::var("YKD_TRACES_PER_CONTEXT")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&n| n > 0)
            .unwrap_or(TRACES_PER_CONTEXT)
    })
}

/// A trace compiled at tier 0, waiting to be recompiled: its module (see
/// `kept`: as optimised bitcode, parsed again in its generation's context
/// if it is recompiled, or, for a natively compiled trace, not lowered
/// yet). Bitcode rather than a copy of the module: writing it costs a
/// quarter of copying the module (about 1 ms against 4.6 ms for a trace
/// of 1,750 LLVM instructions with its line tables, measured on
/// `richards`), and few traces are recompiled.
struct Pending {
    /// Its module (shared with the side trace's `StitchSrc`, the same one).
    kept: Arc<kept::Kept>,
    name: String,
    blocks: usize,
}

/// LLVM state, used by one thread at a time (under the compiler's mutex).
struct State {
    /// The JIT at the configured code generation level: traces when there is
    /// no tier 0, or once they are hot.
    orc: orc::LazyOrc,
    /// The JIT at tier 0 (`-O0`), if tiering is on.
    cold: Option<orc::LazyOrc>,
    /// Traces compiled at tier 0 and not yet recompiled, by number.
    pending: HashMap<u64, Pending>,
    /// Side traces' modules (as bitcode) for stitching into their parents
    /// at the parents' recompilation, by (parent trace number, guard).
    stitch_srcs: HashMap<(u64, u32), stitch::StitchSrc>,
    /// The recompiled code of traces (in `orc`), by trace number.
    hot_code: HashMap<u64, orc::CodeHandle>,
    /// The contexts with traces that are still alive, oldest first; the
    /// last one is where new root traces are built.
    gens: Vec<Gen>,
    ntraces: usize,
    /// Each trace's guards in AOT terms, by (trace number, guard), for
    /// their side traces. They refer to their generation's AOT module.
    guard_srcs: HashMap<(u64, u32), builder::GuardSrc>,
    /// The generation (`Gen::id`) each live trace was built in: a side
    /// trace is built in its parent's.
    trace_gen: HashMap<u64, u64>,
    next_gen: u64,
}

/// One generation: an LLVM context, the embedded module parsed (lazily) in
/// it, and the builder's analyses of that module's functions. A generation
/// is freed once it is not the newest and the traces built in it are all
/// freed. (Fields drop in order: the module before its context.)
struct Gen {
    id: u64,
    analyses: builder::Analyses,
    aot: Module,
    ctx: orc::Context,
    /// Root traces built in it.
    roots: usize,
    /// Traces (root and side) built in it and not yet freed.
    live: usize,
}

// SAFETY: the LLVM objects are only touched while holding the mutex.
unsafe impl Send for State {}

/// Why the compiler could not be set up, or a generation opened: the
/// reason every trace then aborts with (`no_compiler`).
#[derive(Clone, Debug, PartialEq, Eq)]
enum SetupError {
    /// The binary registered no embedded IR.
    NoIr,
    /// The `yk_ir` section or its `YkAotInfo` is unusable.
    BadIr(crate::aot::BadIr),
    /// LLVM could not open the embedded module.
    Parse(lazy::LazyError),
    /// A function body of the embedded module could not be read.
    Malformed(lazy::LazyError),
    /// The embedded module could not be indexed.
    Index(crate::aotir::LoadError),
    /// ORC could not be set up.
    Orc(orc::OrcError),
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::NoIr => f.write_str("the binary has no embedded IR (not linked by yk-ld)"),
            SetupError::BadIr(e) => write!(f, "{e}"),
            SetupError::Parse(e) => write!(f, "{e}"),
            SetupError::Malformed(e) => write!(f, "the embedded IR is malformed: {e}"),
            SetupError::Index(e) => write!(f, "{e}"),
            SetupError::Orc(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for SetupError {}

impl From<orc::OrcError> for SetupError {
    fn from(e: orc::OrcError) -> Self {
        SetupError::Orc(e)
    }
}

/// Opens a generation `id`: a fresh context with the embedded module.
fn open_gen(mt: &MT, id: u64, phases: &mut Phases) -> Result<Gen, SetupError> {
    let info = crate::aot::info().ok_or(SetupError::NoIr)?;
    let ctx = orc::Context::new();
    let bitcode = crate::aot::bitcode(info).map_err(SetupError::BadIr)?;
    let aot = lazy::parse_lazily(ctx.ctx, bitcode).map_err(SetupError::Parse)?;
    let sel = mt.log().ir_selection();
    if sel.aot || sel.trace_blocks || mt.config().tracer == crate::config::TracerKind::Hwt {
        // These walk every function's body (the IR logs, the PT block map).
        lazy::materialize_all(aot.m).map_err(SetupError::Malformed)?;
    }
    phases.done("parse");
    if id == 0 {
        // The module is ours, and we hold the compiler's lock.
        crate::aotir::install_with(info, mt.log(), |want_text| {
            (
                aot_index::index_module(&aot),
                want_text.then(|| aot.to_text()),
            )
        })
        .map_err(|e| SetupError::Index(e.clone()))?;
        phases.done("index");
    }
    let analyses = builder::Analyses::new(&aot);
    Ok(Gen {
        id,
        analyses,
        aot,
        ctx,
        roots: 0,
        live: 0,
    })
}

/// The trace compiler installed into every `MT` that has embedded IR.
#[derive(Default)]
pub struct LlvmCompiler {
    shared: Arc<Shared>,
}

/// What the compiler shares with its traces' code handles.
#[derive(Default)]
struct Shared {
    state: Mutex<Option<Result<State, SetupError>>>,
    /// Freed traces' code, waiting for the state's lock: (handle, trace
    /// number, whether the handle is tier 0's).
    /// (A native tier-0 trace has no handle: its code went with it.)
    dead: Mutex<Vec<(Option<orc::CodeHandle>, u64, bool)>>,
    /// Sends hot tier-0 traces to the thread that recompiles them (started
    /// on the first one).
    tier_up_tx: Mutex<Option<mpsc::Sender<TierUpJob>>>,
    /// Set by `quiesce`: no compilation, recompilation or freeing of code
    /// starts any more (each checks it with the state's lock held).
    stopped: std::sync::atomic::AtomicBool,
}

impl Shared {
    /// Frees the code of dead traces (with the state's lock held), and the
    /// generations left without traces.
    fn free_dead(&self, st: &mut State) {
        if self.stopped.load(Ordering::Acquire) {
            // Quiesced (the process may be exiting): touch LLVM no more.
            return;
        }
        let dead = std::mem::take(&mut *self.dead.lock().unwrap_or_else(|e| e.into_inner()));
        if dead.is_empty() {
            return;
        }
        for (rt, no, cold) in dead {
            match (rt, cold, st.cold.as_mut()) {
                (None, _, _) => {}
                (Some(rt), true, Some(c)) => c.remove(rt),
                (Some(rt), _, _) => st.orc.remove(rt),
            }
            if let Some(rt) = st.hot_code.remove(&no) {
                st.orc.remove(rt);
            }
            // Before its generation (the context of its modules and the
            // guards' sources) can go.
            st.pending.remove(&no);
            st.guard_srcs.retain(|k, _| k.0 != no);
            st.stitch_srcs.retain(|k, _| k.0 != no);
            if let Some(g) = st.trace_gen.remove(&no) {
                if let Some(g) = st.gens.iter_mut().find(|x| x.id == g) {
                    g.live -= 1;
                }
            }
        }
        let n = st.gens.len();
        let before = st.gens.len();
        let mut i = 0;
        st.gens.retain(|g| {
            i += 1;
            i == n || g.live > 0
        });
        if st.gens.len() < before {
            // A context holds megabytes (the parsed module, the functions
            // traces used): give what it freed back to the system.
            // SAFETY: a plain libc call.
            unsafe { libc::malloc_trim(0) };
        }
    }
}

/// Owns one trace module's machine code (kept in its `TraceInfo`): dropping
/// it frees the code, at once if the compiler is idle, else before the
/// compiler's next trace.
struct Code {
    shared: Arc<Shared>,
    rt: Option<orc::CodeHandle>,
    /// A native tier-0 trace's code (and a side trace's entry stub), freed
    /// with this.
    _native: Vec<x64::Code>,
    trace_no: u64,
    /// `rt` is tier 0's.
    cold: bool,
    /// A tier-0 side trace's slot: its entry function refers to it, so it
    /// lives as long as the code (only held here, never read).
    _slot: Option<Arc<SideSlot>>,
}

impl Drop for Code {
    fn drop(&mut self) {
        let rt = self.rt.take();
        self.shared
            .dead
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((rt, self.trace_no, self.cold));
        // Don't wait for a compilation in progress.
        if let Ok(mut g) = self.shared.state.try_lock() {
            if let Some(Ok(st)) = g.as_mut() {
                self.shared.free_dead(st);
            }
        }
    }
}

struct Trace {
    /// The trace function's address: tier 0's code, replaced by the
    /// recompiled code once that is ready.
    f: AtomicUsize,
    info: Box<TraceInfo>,
    /// For a root trace compiled at tier 0: how it asks to be recompiled.
    tier: Option<TierUp>,
}

impl CompiledTrace for Trace {
    fn direct_entry(&self) -> Option<crate::compile::DirectEntry> {
        // A jumping trace passes its own buffer, which has at least
        // `SMALL_BUF` slots (`TraceInfo::run`).
        (self.info.nslots <= crate::guard::SMALL_BUF).then_some(crate::compile::DirectEntry {
            code: &self.f,
            info: &*self.info as *const TraceInfo as *const c_void,
        })
    }

    unsafe fn execute(&self, vars: *mut c_void) -> u64 {
        // SAFETY: `f` always holds a trace function compiled with `info`
        // (tier 0's or its recompilation, published with `Release` once
        // its code is in place).
        let f = unsafe { std::mem::transmute::<usize, TraceFn>(self.f.load(Ordering::Acquire)) };
        // SAFETY: the caller passes the vars of the trace's control point.
        let r = unsafe { self.info.run(f, vars.cast(), &[]) };
        if r == crate::guard::outcome::RETURN {
            // The interpreter function returned: it ran to its end in the
            // blackhole, which may have shut the MT down and freed this
            // trace's info. Touch nothing.
            return r;
        }
        self.tier_up_if_due();
        r
    }
}

/// Verifies a trace module and runs [`PIPELINE`] (or `YKD_OPT_PIPELINE`)
/// on it.
fn optimise(m: &Module) -> Result<(), CompileError> {
    m.verify()
        .map_err(|e| CompileError::from(Abort::internal(e)))?;
    let pipeline = std::env::var("YKD_OPT_PIPELINE")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| PIPELINE.into());
    m.run_passes(&pipeline)
        .map_err(|e| CompileError::from(Abort::backend(e.to_string())))
}

/// Binds a trace's references to AOT functions and globals (`(symbol,
/// index)`) to the binary's addresses in `orc`.
fn define_refs(
    orc: &mut orc::Orc,
    info: &crate::aot::YkAotInfo,
    funcs: &[(String, usize)],
    globals: &[(String, usize)],
) -> Result<(), CompileError> {
    let refs = [
        ("function", funcs, info.funcs()),
        ("global", globals, info.globals()),
    ];
    for (kind, used, table) in refs {
        for (sym, idx) in used {
            let addr = table.get(*idx).copied().unwrap_or(std::ptr::null_mut());
            if addr.is_null() {
                return Err(CompileError::from(Abort::internal(format!(
                    "{kind} {idx} has no address"
                ))));
            }
            orc.define_absolute(sym, addr as usize)
                .map_err(|e| CompileError::from(Abort::backend(e)))?;
        }
    }
    Ok(())
}

impl LlvmCompiler {
    /// A compiler that sets LLVM up on its first trace.
    pub fn new() -> LlvmCompiler {
        LlvmCompiler::default()
    }
}

/// The runtime's core ([`MT`]) does not know which compiler it runs: these
/// constructors, the ones interpreters use, give it this one.
impl MT {
    /// A meta-tracer configured from the environment (`YK_*`, `YKD_*`), with the
    /// LLVM trace compiler. A malformed variable is an error naming it.
    pub fn new() -> Result<Arc<MT>, crate::MtError> {
        MT::with_config(crate::Config::from_env().map_err(crate::MtError::Config)?)
    }

    /// A meta-tracer with an explicit configuration (the environment is not
    /// read), with the LLVM trace compiler (and the LLVM reader of the
    /// embedded IR's index, `aotir::set_reader`).
    pub fn with_config(config: crate::Config) -> Result<Arc<MT>, crate::MtError> {
        crate::aotir::set_reader(aot_index::read);
        MT::with_compiler(config, Some(Arc::new(LlvmCompiler::new())))
    }
}

fn init(mt: &MT) -> Result<State, SetupError> {
    let mut phases = Phases::new();
    dbg::configure_llvm();
    // The runtime's functions traces call, defined in each LLJIT when it
    // is made (see `orc::LazyOrc`).
    let defs = vec![
        (
            builder::GUARD_EXIT,
            crate::deopt::__yk_guard_exit as *const () as usize,
        ),
        (
            builder::SIDE_GUARD_EXIT,
            crate::deopt::__yk_side_guard_exit as *const () as usize,
        ),
        (SIDE_TIER_UP, __yk_side_tier_up as *const () as usize),
        (TIER_CHECK, __yk_tier_check as *const () as usize),
        (
            stitch::SIDE_RAN,
            crate::deopt::__yk_side_ran as *const () as usize,
        ),
    ];
    if !yk_llvm::init_native_target() {
        return Err(SetupError::Orc(orc::OrcError::NoNativeTarget));
    }
    let orc = orc::LazyOrc::new(mt.config().codegen_opt, defs.clone());
    let cold =
        (tier_up_iters() > 0 && mt.config().codegen_opt > 0).then(|| orc::LazyOrc::new(0, defs));
    phases.done("llvm");
    let first = open_gen(mt, 0, &mut phases)?;
    phases.report("setup");
    Ok(State {
        orc,
        cold,
        pending: HashMap::new(),
        hot_code: HashMap::new(),
        gens: vec![first],
        ntraces: 0,
        guard_srcs: HashMap::new(),
        trace_gen: HashMap::new(),
        stitch_srcs: HashMap::new(),
        next_gen: 1,
    })
}

/// Per-phase compile times (kept in the stats' `traces` records), printed to stderr when `YKD_DEBUG_COMPILE_TIMES`
/// is set (to see what dominates a trace's compile time). They are the
/// compiling thread's CPU time, not wall-clock time: a compilation runs on
/// one thread, and on a loaded machine (or beside the program's own thread
/// on a small one) wall-clock time counts the time the thread waited for a
/// core as well.
struct Phases {
    on: bool,
    last: f64,
    out: String,
}

/// This thread's CPU time so far, in milliseconds.
fn thread_cpu_ms() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a plain libc call writing into `ts`.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6
}

impl Phases {
    fn new() -> Phases {
        Phases {
            on: std::env::var_os("YKD_DEBUG_COMPILE_TIMES").is_some(),
            last: thread_cpu_ms(),
            out: String::new(),
        }
    }

    /// Ends phase `what`; returns how long it took, in milliseconds (for
    /// the stats' `traces` records, whether or not it is printed).
    fn done(&mut self, what: &str) -> f64 {
        let now = thread_cpu_ms();
        let ms = now - self.last;
        self.last = now;
        if self.on {
            self.out.push_str(&format!(" {what} {ms:.2}ms"));
        }
        ms
    }

    fn note(&mut self, what: &str) {
        if self.on {
            self.out.push(' ');
            self.out.push_str(what);
        }
    }

    fn report(&self, trace: &str) {
        if self.on {
            eprintln!("yk-compile-times: {trace}:{}", self.out);
        }
    }
}

impl LlvmCompiler {
    /// Builds, optimises and compiles a root trace (`side` is `None`) or
    /// the side trace of guard `side`.
    fn compile_trace(
        &self,
        mt: &MT,
        trace: &RecordedTrace,
        side: Option<(u64, u32)>,
    ) -> Result<(TraceFn, Box<TraceInfo>, bool), CompileError> {
        let mut guard = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        if self.shared.stopped.load(Ordering::Acquire) {
            return Err(CompileError::from(Abort::new(
                AbortKind::Disabled,
                "the trace compiler was shut down",
            )));
        }
        let mut phases = Phases::new();
        let st = match guard.get_or_insert_with(|| init(mt)) {
            Ok(st) => st,
            Err(e) => {
                return Err(CompileError::from(Abort::new(
                    AbortKind::NoCompiler,
                    e.to_string(),
                )))
            }
        };
        self.shared.free_dead(st);
        let info = crate::aot::info().ok_or_else(|| {
            CompileError::from(Abort::new(AbortKind::NoCompiler, "no embedded IR"))
        })?;
        // A side trace is built in its parent's generation (its guard's
        // source refers to that AOT module); a root trace in the newest,
        // which is replaced by a fresh one every `TRACES_PER_CONTEXT` roots.
        let gen_id = match side {
            Some((parent, _)) => *st
                .trace_gen
                .get(&parent)
                .ok_or_else(|| CompileError::from(Abort::internal("unknown parent trace")))?,
            None => {
                let newest = st.gens.last().expect("there is always a generation");
                if newest.roots >= traces_per_context() {
                    let g = open_gen(mt, st.next_gen, &mut phases)
                        .map_err(|e| CompileError::from(Abort::backend(e)))?;
                    st.next_gen += 1;
                    st.gens.push(g);
                    phases.note("(a fresh LLVM context)");
                    // The old one goes once its last trace does.
                    self.shared.free_dead(st);
                }
                st.gens.last().expect("there is always a generation").id
            }
        };
        let State {
            orc,
            cold,
            pending,
            gens,
            guard_srcs,
            stitch_srcs,
            ..
        } = st;
        // A trace starts at tier 0 if there is one.
        let tier0 = cold.is_some();
        let orc = match cold.as_mut() {
            Some(c) => c,
            None => orc,
        };
        let gen = gens
            .iter_mut()
            .find(|g| g.id == gen_id)
            .ok_or_else(|| CompileError::from(Abort::internal("unknown generation")))?;
        if side.is_none() {
            gen.roots += 1;
        }
        st.ntraces += 1;
        let trace_no = st.ntraces as u64;
        let name = format!("__yk_trace_{trace_no}");
        let t = Module::new_in(gen.ctx.ctx, &name);
        // SAFETY: `t` was just made in the generation's context and `gen.aot`
        // is that generation's live module (yk-llvm rules 1 and 2), both used
        // under the compiler's mutex (`st`, rule 4); the data layout and triple
        // strings are owned by `gen.aot`, and `LLVMSetDataLayout` and
        // `LLVMSetTarget` copy them before anything changes them (rule 5).
        unsafe {
            llvm_sys::core::LLVMSetDataLayout(t.m, llvm_sys::core::LLVMGetDataLayoutStr(gen.aot.m));
            llvm_sys::core::LLVMSetTarget(t.m, llvm_sys::core::LLVMGetTarget(gen.aot.m));
        }
        let src = match side {
            Some(k) => Some(
                guard_srcs
                    .get(&k)
                    .ok_or_else(|| CompileError::from(Abort::internal("unknown parent guard")))?,
            ),
            None => None,
        };
        let input = builder::TraceInput {
            blocks: &trace.blocks,
            promotes: &trace.promotes,
            idempotents: &trace.idempotents,
            cp_func_idx: trace.cp_func_idx as usize,
            start_loc: trace.start_loc.addr(),
            // A truncated root recording ends at a control point on its
            // path, as a linear trace.
            linear: trace.end_loc.is_some() || (trace.truncated && side.is_none()),
            truncated: trace.truncated,
            name: &name,
            side: src,
            // Root traces jump directly; side traces return their jumps.
            native: tier0 && native::enabled(),
            direct: side.is_none().then(|| builder::DirectJump {
                generation: mt.generation_ptr() as usize,
                enabled: mt.enabled_ptr() as usize,
                recording: crate::trace::swt::recording_threads_ptr() as usize,
                counter: mt.stats().counter_ptr(Counter::TraceJumpsDirect) as usize,
                log_entries: mt.log().enabled(crate::log::LEVEL_JIT_EVENT),
            }),
        };
        let idx = crate::aotir::index()
            .ok_or_else(|| CompileError::from(Abort::internal("the embedded IR is not indexed")))?;
        phases.done("setup");
        let sel = mt.log().ir_selection();
        let log_tir = |what: &str, text: &str| mt.log().ir_section(what, text);
        let log_tir: Option<tirb::TirLog> = if sel.trace_ir { Some(&log_tir) } else { None };
        let (mut built, tir_counts) =
            tirb::build(&gen.aot, idx, &mut gen.analyses, t, &input, log_tir)
                .map_err(CompileError::from)?;
        phases.note(&format!(
            "(trace IR: {} appended, {} after forward, {} after backward, {} guards, {} \
             snapshots)",
            tir_counts.appended,
            tir_counts.forward,
            tir_counts.backward,
            tir_counts.guards,
            tir_counts.snapshots
        ));
        let build_ms = phases.done("build");
        let new_srcs = std::mem::take(&mut built.guard_srcs);
        let built_guards = built.guards.len();
        // A tier-0 side trace is entered through its slot (see `SideSlot`).
        let slot = (tier0 && side.is_some()).then(|| {
            Arc::new(SideSlot {
                f: AtomicUsize::new(0),
                runs: std::sync::atomic::AtomicU64::new(0),
                shared: Arc::downgrade(&self.shared),
                trace_no,
                guards: built_guards,
                mt: mt as *const MT,
            })
        });
        // The LLVM module, if LLVM compiles the trace: checked and
        // optimised.
        let walked = built.walked;
        let prepare = |m: &Module, phases: &mut Phases| -> Result<usize, CompileError> {
            let ninstrs = m.instruction_count();
            phases.note(&format!(
                "({ninstrs} instructions from {walked} walked, {built_guards} guards)"
            ));
            if ninstrs > MAX_TRACE_INSTRS {
                return Err(CompileError::from(Abort::too_long(format!(
                    "trace too long: {ninstrs} instructions (the limit is {MAX_TRACE_INSTRS})"
                ))));
            }
            if sel.jit_pre_opt {
                mt.log().ir_section("jit-pre-opt", &m.to_text());
            }
            if let Some(p) = std::env::var_os("YKD_DEBUG_TRACE_BC") {
                let _ = m.write_file(std::path::Path::new(&p));
            }
            optimise(m)?;
            if sel.jit_post_opt {
                mt.log().ir_section("jit-post-opt", &m.to_text());
            }
            Ok(ninstrs)
        };
        // A deferred lowering done now (for the IR logs, or LLVM compiles
        // the trace after all): the module, checked and optimised.
        let lower_now =
            |built: &mut builder::BuiltTrace, phases: &mut Phases| -> Result<usize, CompileError> {
                let d = built.deferred.take().expect("a deferred lowering");
                let (m, lowered) = d.lower().map_err(CompileError::from)?;
                let n = prepare(&m, phases)?;
                built.module = Some(m);
                built.funcs = lowered.funcs;
                built.globals = lowered.globals;
                Ok(n)
            };
        let mut ninstrs = 0;
        if let Some(m) = &built.module {
            ninstrs = prepare(m, &mut phases)?;
        }
        let optimise_ms = phases.done("optimise");
        // The native tier 0, if it can compile the trace: its code (and a
        // side trace's entry stub) and its address. Else LLVM lowers the
        // trace now.
        let mut native_code = Vec::new();
        let mut native_addr = None;
        if let (Some((plan, syms)), Some(d)) = (built.native.take(), &built.deferred) {
            let made = x64::compile(&d.trace, &plan, &syms).and_then(|code| {
                let a = code.entry();
                if perfmap::enabled() {
                    perfmap::record(a, code.len(), &perf_name(&name, side, trace.start_loc));
                }
                native_code.push(code);
                match &slot {
                    None => Ok(a),
                    Some(s) => {
                        s.f.store(a, Ordering::Release);
                        let stub = x64::side_entry(
                            Arc::as_ptr(s) as u64,
                            tier_up_iters(),
                            crate::guard::outcome::RETURN,
                            __yk_side_tier_up as *const () as u64,
                        )?;
                        let ea = stub.entry();
                        if perfmap::enabled() {
                            let n = format!("{name}_entry");
                            perfmap::record(ea, stub.len(), &perf_name(&n, side, trace.start_loc));
                        }
                        native_code.push(stub);
                        Ok(ea)
                    }
                }
            });
            match made {
                Ok(a) => {
                    native_addr = Some(a);
                    if sel.jit_pre_opt || sel.jit_post_opt {
                        // The LLVM IR asked for: lowered now rather than
                        // if the trace is recompiled.
                        ninstrs = lower_now(&mut built, &mut phases)?;
                    }
                }
                Err(e) => {
                    native_code.clear();
                    mt.stats().count(Counter::NativeFallbacks);
                    mt.log().line(
                        crate::log::LEVEL_EXECUTION,
                        &format!("yk-native-fallback: {name}: {e}"),
                    );
                    ninstrs = lower_now(&mut built, &mut phases)?;
                }
            }
        }
        // What tier 0 compiles is kept for the recompilation (and a side
        // trace's for stitching: the same one), natively compiled traces'
        // not yet lowered (see `kept`).
        // A tier-0 module LLVM compiles has no line tables unless someone
        // watches (`dbg::strip_lines`), nor has the bitcode kept of it for
        // the recompilation (as a deferred one's, see `kept`).
        if let (true, Some(m)) = (tier0, &built.module) {
            if dbg::strip_lines() {
                dbg::strip(m);
            }
        }
        let kept: Option<Arc<kept::Kept>> = match (&built.module, built.deferred.take()) {
            _ if !tier0 => None,
            (_, Some(d)) => Some(Arc::new(kept::Kept::deferred(d))),
            (Some(m), None) => Some(Arc::new(kept::Kept::bitcode(kept::KeptBc {
                bitcode: m.to_bitcode().into(),
                funcs: built.funcs.clone(),
                globals: built.globals.clone(),
                ninstrs,
            }))),
            (None, None) => None,
        };
        let keep = kept.clone().map(|kept| Pending {
            kept,
            name: name.clone(),
            blocks: trace.blocks.len(),
        });
        // A side trace's module is kept for its parent's recompilation,
        // if the parent is a root trace not yet recompiled.
        let of_root = matches!(&trace.start, crate::compile::TraceStart::Guard(gs)
            if gs.parent().side_depth == 0);
        let stitch_src = match (side, &kept) {
            (Some((parent, g)), Some(k))
                if of_root && stitch::enabled() && pending.contains_key(&parent) =>
            {
                Some((
                    (parent, g),
                    stitch::StitchSrc {
                        kept: k.clone(),
                        name: name.clone(),
                    },
                ))
            }
            _ => None,
        };
        let entry_name = format!("{name}_entry");
        let (addr, rt) = match (native_addr, built.module) {
            (Some(a), _) => (a, None),
            (None, None) => {
                return Err(CompileError::from(Abort::internal(
                    "a trace with neither native code nor a module",
                )))
            }
            (None, Some(module)) => {
                let orc = orc
                    .get()
                    .map_err(|e| CompileError::from(Abort::backend(e.to_string())))?;
                if let Some(s) = &slot {
                    add_side_entry(
                        &module,
                        &entry_name,
                        Arc::as_ptr(s),
                        crate::guard::outcome::RETURN,
                    );
                }
                // Bind the trace's references to the AOT binary's addresses.
                define_refs(orc, info, &built.funcs, &built.globals)?;
                let (addr, rt) = orc
                    .add_and_lookup(module.into_raw(), &gen.ctx, &name)
                    .map_err(|e| CompileError::from(Abort::backend(e)))?;
                let addr = match &slot {
                    Some(s) => {
                        s.f.store(addr, Ordering::Release);
                        match orc.lookup(&entry_name) {
                            Ok(a) => a,
                            Err(e) => {
                                orc.remove(rt);
                                return Err(CompileError::from(Abort::backend(e)));
                            }
                        }
                    }
                    None => addr,
                };
                (addr, Some(rt))
            }
        };
        for (g, src) in new_srcs.into_iter().enumerate() {
            guard_srcs.insert((trace_no, g as u32), src);
        }
        if let Some(k) = keep {
            pending.insert(trace_no, k);
        }
        if let Some((k, src)) = stitch_src {
            stitch_srcs.insert(k, src);
        }
        gen.live += 1;
        st.trace_gen.insert(trace_no, gen_id);
        let codegen_ms = phases.done("codegen");
        phases.report(&name);
        let c = tir_counts;
        mt.stats().trace_built(TraceRecord {
            kind: if side.is_some() { "side" } else { "root" },
            backend: if native_addr.is_some() { "x64" } else { "llvm" },
            blocks: trace.blocks.len(),
            tir_appended: c.appended,
            tir_forward: c.forward,
            tir_backward: c.backward,
            guards: built_guards,
            snapshots: c.snapshots,
            llvm_instrs: ninstrs,
            build_ms,
            optimise_ms,
            codegen_ms,
        });
        // SAFETY: the trace function has this signature (builder.rs).
        let f = unsafe { std::mem::transmute::<usize, TraceFn>(addr) };
        let mut info = Box::new(TraceInfo::new(
            trace_no,
            built.guards,
            trace.start_loc,
            trace.cp_func_idx,
            built.ret_field,
            built.nslots,
            mt,
        ));
        info.code = Some(Box::new(Code {
            shared: self.shared.clone(),
            rt,
            _native: native_code,
            trace_no,
            cold: tier0,
            _slot: slot,
        }));
        Ok((f, info, tier0))
    }
}

impl TraceCompiler for LlvmCompiler {
    fn quiesce(&self) {
        self.shared.stopped.store(true, Ordering::Release);
        // Wait for a compilation or recompilation in progress: each holds
        // the state's lock throughout, and checks `stopped` once it has it.
        drop(self.shared.state.lock().unwrap_or_else(|e| e.into_inner()));
    }

    fn compile(&self, mt: &MT, trace: &RecordedTrace) -> Result<Compiled, CompileError> {
        let side = trace.start.guard();
        let (f, info, tier0) = self.compile_trace(mt, trace, side)?;
        if side.is_some() {
            return Ok(Compiled::Side(SideTrace { f, info }));
        }
        Ok(Compiled::Root(Arc::new_cyclic(|this: &Weak<Trace>| {
            if tier0 {
                let w = this.clone();
                // The trace's code asks from inside its loop (see
                // `__yk_tier_check`); the trace is alive while it runs.
                let _ = info.tier_hook.set(Box::new(move |own| {
                    w.upgrade().is_some_and(|t| {
                        t.tier_up_if_due();
                        t.f.load(Ordering::Acquire) != own
                    })
                }));
            }
            Trace {
                f: AtomicUsize::new(f as usize),
                info,
                tier: tier0.then(|| TierUp {
                    shared: self.shared.clone(),
                    mt,
                    this: this.clone(),
                    requested: AtomicBool::new(false),
                    next_check: std::sync::atomic::AtomicU64::new(tier_up_iters()),
                }),
            }
        })))
    }
}

/// A trace's name in perf's map (see [`perfmap`]): its function's name, for
/// a side trace its parent and guard, and its start location's debug
/// string if the interpreter gave one.
fn perf_name(name: &str, side: Option<(u64, u32)>, loc: crate::location::LocationPtr) -> String {
    let mut s = name.to_owned();
    if let Some((parent, g)) = side {
        s.push_str(&format!(" (side of __yk_trace_{parent}, guard {g})"));
    }
    if let Some(d) = loc.debug_str() {
        s.push_str(" @ ");
        s.push_str(&d);
    }
    s
}
