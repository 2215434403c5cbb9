//! Tiered compilation: a trace is compiled at tier 0 (LLVM's `-O0`
//! code generation) first and recompiled at the configured level once hot.
//!
//! What it owns: when a trace is hot enough ([`TIER_UP_ITERS`] loop
//! iterations of a root trace, runs of a side trace), the recompilation
//! request (held back while compiling is over its budget), the `yk-tier-up`
//! thread that recompiles, and the switch to the new code: a root trace's
//! `f` (read at each entry), a side trace's [`SideSlot`] (read by its entry
//! function), and for a root trace that keeps looping, `__yk_tier_check`,
//! through which its code learns it was replaced and leaves at its loop's
//! head. Invariants: a trace is recompiled at most once; the old code stays
//! until the trace is freed (a thread may still be running it); nothing is
//! recompiled once the compiler is quiesced.

use super::*;

/// Loop iterations (a root trace) or runs (a side trace) after which a
/// trace compiled at tier 0 (natively, `jit::native`, or by LLVM's `-O0`
/// code generation) is recompiled at the configured level
/// (`YKD_CODEGEN_OPT`, default 1) and its code replaced. `YKD_TIER_UP=N`
/// overrides it (read once); 0 compiles every trace at the configured level
/// at once. A recompilation waits (asks again this many iterations later)
/// while compiling is over its budget (`YK_COMPILE_BUDGET`), as a new
/// recording does. 300,000: a recompilation costs about 20 us per LLVM
/// instruction (more with side traces stitched in) and saves under a
/// nanosecond per instruction per iteration against the native tier 0,
/// whose code is about as fast as LLVM's since it keeps results in
/// registers (LLVM's gain is mostly stitching side traces in); on the Lua
/// benchmarks 300,000 and 1,000,000 made the first
/// iteration cheaper than 100,000 with the same steady state (was 2,000,
/// then 20,000, then 100,000; see docs/trace-compiler.md for the
/// measurements).
pub const TIER_UP_ITERS: u64 = 300_000;

pub(super) fn tier_up_iters() -> u64 {
    static N: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *N.get_or_init(|| {
        std::env::var("YKD_TIER_UP")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(TIER_UP_ITERS)
    })
}

/// A trace to recompile and its MT, both held weakly while queued: a trace
/// freed, or an MT dropped, meanwhile is skipped.
pub(super) type TierUpJob = (TierUpTarget, Weak<MT>);

/// What a tier-up job recompiles: a root trace, or a side trace through its
/// slot (whose `f` its entry function calls).
pub(super) enum TierUpTarget {
    Root(Weak<Trace>),
    Side(Weak<SideSlot>),
}

pub(super) struct TierUp {
    pub(super) shared: Arc<Shared>,
    /// The MT that compiled the trace (it outlives its traces).
    pub(super) mt: *const MT,
    pub(super) this: Weak<Trace>,
    /// Recompilation asked for (once).
    pub(super) requested: AtomicBool,
    /// The iteration count at which to ask: [`tier_up_iters`], then
    /// [`tier_up_iters`] later each time compiling was over its budget.
    pub(super) next_check: std::sync::atomic::AtomicU64,
}

// SAFETY: `mt` is only read (for its thread-safe parts: budget, tier-up
// queue) while the trace runs, and the MT outlives its traces; the rest is
// `Send + Sync`.
unsafe impl Send for TierUp {}
unsafe impl Sync for TierUp {}

impl Trace {
    /// A tier-0 root trace whose loop has run [`tier_up_iters`] iterations
    /// asks (once) for its recompilation, unless compiling is over its
    /// budget (then it asks again as many iterations later). Called when
    /// the trace returns and, for a trace that keeps looping, from the
    /// trace's own code through `__yk_tier_check`.
    pub(super) fn tier_up_if_due(&self) {
        let Some(t) = &self.tier else { return };
        if t.requested.load(Ordering::Relaxed) {
            return;
        }
        // SAFETY: `counters[0]` is the loop's iteration count.
        let iters = unsafe { &*self.info.counters }.load(Ordering::Relaxed);
        if iters < t.next_check.load(Ordering::Relaxed) {
            return;
        }
        // SAFETY: the MT outlives its traces, and the trace is running or
        // has just run without ending the interpreter function.
        let mt = unsafe { &*t.mt };
        if super::stitch::enabled() && self.info.side_in_progress() {
            // A side trace is on its way: recompile once it can be
            // stitched in (a few iterations later).
            t.next_check
                .store(iters.saturating_add(TIER_CHECK_ITERS), Ordering::Relaxed);
            return;
        }
        if mt.budget_spent(1) {
            // Compiling is over its budget: ask again later.
            mt.stats()
                .count(crate::stats::Counter::RecompilationsDeferred);
            t.next_check
                .store(iters.saturating_add(tier_up_iters()), Ordering::Relaxed);
        } else if !t.requested.swap(true, Ordering::Relaxed) {
            t.shared
                .request_tier_up(mt, TierUpTarget::Root(t.this.clone()));
        }
    }
}

/// Every this many iterations a root trace's loop calls `__yk_tier_check`
/// (see `TraceInfo::tier_hook`): rarely enough to cost nothing measurable,
/// often enough that a trace switches to its recompiled code soon after
/// that is ready.
pub const TIER_CHECK_ITERS: u64 = 1024;

/// What a root trace's code calls every [`TIER_CHECK_ITERS`] iterations
/// with its own address `own`: lets a tier-0 trace that keeps looping ask
/// for its recompilation, and returns 1 if `own` is no longer the trace's
/// code (the trace then leaves at its loop's head, its state written back
/// to the control point's variables), else 0.
///
/// # Safety
/// `info` is the calling trace's own info (alive while it runs).
pub(super) unsafe extern "C" fn __yk_tier_check(info: *const TraceInfo, own: usize) -> u64 {
    // SAFETY: as this function's contract.
    let info = unsafe { &*info };
    match info.tier_hook.get() {
        Some(h) => u64::from(h(own)),
        None => 0,
    }
}

/// The address of [`__yk_tier_check`] (for the native tier 0's plan).
pub(crate) fn tier_check_fn() -> u64 {
    __yk_tier_check as *const () as u64
}

/// The symbol of [`__yk_tier_check`] in trace modules.
pub(crate) const TIER_CHECK: &str = "__yk_tier_check";

impl Shared {
    /// Has a tier-0 trace (`target`) recompiled at the configured level:
    /// at once on this thread with `YKD_SERIALISE_COMPILATION=1` (so that
    /// runs are repeatable), else on the compiler's tier-up thread (started
    /// on the first request), so that the program's thread never waits for
    /// a recompilation (tens of milliseconds for a long trace).
    pub(super) fn request_tier_up(self: &Arc<Self>, mt: &MT, target: TierUpTarget) {
        if self.stopped.load(Ordering::Acquire) {
            return;
        }
        if mt.config().serialise_compilation {
            self.run_tier_up(&target, mt);
            return;
        }
        let mut tx = self.tier_up_tx.lock().unwrap_or_else(|e| e.into_inner());
        if tx.is_none() {
            let (s, r) = mpsc::channel::<TierUpJob>();
            // The thread holds the compiler weakly: it ends when the
            // compiler (and with it the sender) is dropped.
            let shared = Arc::downgrade(self);
            let spawned = std::thread::Builder::new()
                .name("yk-tier-up".into())
                .spawn(move || {
                    crate::mt::pregrow_arena();
                    while let Ok((target, m)) = r.recv() {
                        let (Some(sh), Some(mt)) = (shared.upgrade(), m.upgrade()) else {
                            continue;
                        };
                        sh.run_tier_up(&target, &mt);
                        drop(sh);
                        drop(mt);
                    }
                });
            if spawned.is_err() {
                // No thread: the trace keeps its tier-0 code.
                return;
            }
            *tx = Some(s);
        }
        if let Some(s) = tx.as_ref() {
            let _ = s.send((target, Arc::downgrade(&mt.arc())));
        }
    }

    /// Recompiles `target` if it is still alive. The trace (whose info
    /// refers to the MT) is dropped before the caller drops the MT.
    pub(super) fn run_tier_up(&self, target: &TierUpTarget, mt: &MT) {
        match target {
            TierUpTarget::Root(w) => {
                if let Some(t) = w.upgrade() {
                    self.tier_up(&t, mt);
                }
            }
            TierUpTarget::Side(w) => {
                if let Some(slot) = w.upgrade() {
                    self.recompile(slot.trace_no, slot.guards, mt, &slot.f, None);
                }
            }
        }
    }

    /// Recompiles tier-0 trace `t` at the configured level and switches it
    /// to the new code. (A thread already running the old code finishes
    /// its run in it: both stay until the trace is freed.)
    pub(super) fn tier_up(&self, t: &Trace, mt: &MT) {
        self.recompile(
            t.info.trace_no,
            t.info.guards.len(),
            mt,
            &t.f,
            Some(&t.info),
        );
    }

    /// Recompiles tier-0 trace `no` (with `guards` guards) at the
    /// configured level and stores the new code's address into `f`. For a
    /// root trace (`root` its info), the side traces its guards have by
    /// then are compiled into it (see [`super::stitch`]).
    pub(super) fn recompile(
        &self,
        no: u64,
        guards: usize,
        mt: &MT,
        f: &AtomicUsize,
        root: Option<&TraceInfo>,
    ) {
        let clock = crate::mt::CompileClock::start();
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if self.stopped.load(Ordering::Acquire) {
            return;
        }
        let Some(Ok(st)) = guard.as_mut() else { return };
        self.free_dead(st);
        let Some(p) = st.pending.remove(&no) else {
            return;
        };
        let Some(gen) = st
            .trace_gen
            .get(&no)
            .and_then(|g| st.gens.iter().find(|x| x.id == *g))
        else {
            return;
        };
        let mut phases = Phases::new();
        let Ok(info) = crate::aot::info().ok_or(()) else {
            return;
        };
        // The module tier 0 kept, as bitcode (lowered now if the native
        // tier 0 compiled the trace: see `kept`).
        let bc = match p.kept.get() {
            Ok(bc) => bc,
            Err(e) => {
                mt.log().error(&format!("{}: not recompiled: {e}", p.name));
                return;
            }
        };
        let mut ms = phases.done("its module");
        let Ok(orc) = st.orc.get() else { return };
        if define_refs(orc, info, &bc.funcs, &bc.globals).is_err() {
            return;
        }
        let parse = || Module::parse_bytes_in(gen.ctx.ctx, &bc.bitcode, &p.name);
        // The root's side traces, into its code (read once, whether
        // stitched or not).
        let mut module = None;
        let mut stitched = 0;
        if let Some(root) = root {
            // (A side trace whose module can't be had is left out.)
            let mut refs = Vec::new();
            let sides: Vec<super::stitch::Stitch> = root
                .guards
                .iter()
                .enumerate()
                .filter_map(|(g, gi)| {
                    let side = gi.side.get()?;
                    let src = st.stitch_srcs.remove(&(no, g as u32))?;
                    let sbc = src.kept.get().ok()?;
                    refs.push((sbc.funcs.clone(), sbc.globals.clone()));
                    Some(super::stitch::Stitch {
                        guard: g as u32,
                        info: &*side.info,
                        name: src.name,
                        bitcode: sbc.bitcode.clone(),
                    })
                })
                .collect();
            // (`stitch_srcs` has none when stitching is off.)
            if !sides.is_empty() {
                ms += phases.done("sides' modules");
                use super::stitch::StitchError;
                // If stitching fails, the module is read again and
                // compiled as it is.
                let ok = parse()
                    .map_err(|e| StitchError::llvm("read", e))
                    .and_then(|m| super::stitch::stitch(&m, &p.name, sides).map(|n| (m, n)))
                    .and_then(|(m, n)| {
                        ms += phases.done("link");
                        m.run_passes(&super::stitch::pipeline())
                            .map_err(|e| StitchError::llvm("optimise", e))?;
                        ms += phases.done("passes");
                        m.verify().map_err(|e| StitchError::llvm("verify", e))?;
                        Ok((m, n))
                    })
                    .and_then(|(m, n)| {
                        for (fs, gs) in &refs {
                            let orc = st.orc.get().map_err(|e| {
                                StitchError::Refs(CompileError::from(Abort::backend(e.to_string())))
                            })?;
                            define_refs(orc, info, fs, gs).map_err(StitchError::Refs)?;
                        }
                        Ok((m, n))
                    });
                match ok {
                    Ok((m, n)) => {
                        stitched = n;
                        if mt.log().ir_selection().jit_stitched {
                            mt.log().ir_section("jit-stitched", &m.to_text());
                        }
                        module = Some(m);
                    }
                    Err(e) => phases.note(&format!("(not stitched: {e})")),
                }
                ms += phases.done("stitch");
            }
        }
        let module = match module.map_or_else(parse, Ok) {
            Ok(m) => m,
            Err(e) => {
                // (LLVM wrote these bytes itself: a bug.) The trace keeps
                // its tier-0 code.
                mt.log().error(&format!(
                    "{}: its kept module could not be read again, not recompiled: {e}",
                    p.name
                ));
                return;
            }
        };
        if stitched > 0 {
            phases.note(&format!("({stitched} side traces stitched)"));
            mt.stats()
                .count_n(crate::stats::Counter::SideTracesStitched, stitched as u64);
        }
        let Ok(orc) = st.orc.get() else { return };
        let Ok((addr, rt)) = orc.add_and_lookup(module.into_raw(), &gen.ctx, &p.name) else {
            return;
        };
        st.hot_code.insert(no, rt);
        f.store(addr, Ordering::Release);
        mt.stats().count(crate::stats::Counter::TracesRecompiled);
        let codegen_ms = ms + phases.done("codegen at the hot level");
        phases.report(&p.name);
        // Counted against the compile budget like any compilation.
        let (wall, cpu) = clock.elapsed();
        mt.stats().time(Timer::Compiling, wall);
        mt.stats().time(Timer::CompilingCpu, cpu);
        mt.stats().trace_built(TraceRecord {
            kind: "tier-up",
            backend: "llvm",
            blocks: p.blocks,
            tir_appended: 0,
            tir_forward: 0,
            tir_backward: 0,
            guards,
            snapshots: 0,
            llvm_instrs: bc.ninstrs,
            build_ms: 0.0,
            optimise_ms: 0.0,
            codegen_ms,
        });
    }
}

/// A side trace compiled at tier 0 is entered through a small function of
/// its module (see [`add_side_entry`]) that calls the code in `f` and counts
/// the runs in `runs`; at [`tier_up_iters`] runs it calls
/// [`__yk_side_tier_up`] with this slot, which queues the side trace's
/// recompilation (like a root trace's, see `Shared::request_tier_up`); the
/// recompilation then switches `f`. `repr(C)`: the entry function reads `f`
/// at offset 0 and `runs` at offset 8. Owned (an `Arc`) by the side trace's
/// code; a queued recompilation holds it weakly.
#[repr(C)]
pub(super) struct SideSlot {
    pub(super) f: AtomicUsize,
    pub(super) runs: std::sync::atomic::AtomicU64,
    pub(super) shared: Weak<Shared>,
    pub(super) trace_no: u64,
    pub(super) guards: usize,
    pub(super) mt: *const MT,
}

// SAFETY: `mt` is only read by [`__yk_side_tier_up`], on a thread running
// the side trace, while the MT is alive (see there).
unsafe impl Send for SideSlot {}
unsafe impl Sync for SideSlot {}

/// What a tier-0 side trace's entry function calls after its
/// `tier_up_iters()`-th run (one that did not end the interpreter
/// function): asks for its recompilation at the configured level.
///
/// # Safety
/// `slot` is the side trace's own slot (an `Arc`'s pointer, see
/// [`SideSlot`]); the side trace (and so its slot, owned by its code) and
/// the MT are alive: the thread is running the side trace's parent, and
/// the run did not end the interpreter function.
pub(super) unsafe extern "C" fn __yk_side_tier_up(slot: *const SideSlot) {
    // SAFETY: `slot` comes from `Arc::as_ptr` of the slot its code owns,
    // alive as this function's contract says: one more strong count, then
    // an `Arc` that owns it.
    let slot = unsafe {
        Arc::increment_strong_count(slot);
        Arc::from_raw(slot)
    };
    let Some(sh) = slot.shared.upgrade() else {
        return;
    };
    // SAFETY: as this function's contract.
    let mt = unsafe { &*slot.mt };
    if mt.budget_spent(1) {
        // Compiling is over its budget: the entry function calls again
        // after as many runs more.
        mt.stats()
            .count(crate::stats::Counter::RecompilationsDeferred);
        slot.runs.store(0, Ordering::Relaxed);
        return;
    }
    sh.request_tier_up(mt, TierUpTarget::Side(Arc::downgrade(&slot)));
}

/// The symbol of [`__yk_side_tier_up`] in trace modules.
pub(super) const SIDE_TIER_UP: &str = "__yk_side_tier_up";

/// Adds to `m` the entry function `name` of a tier-0 side trace whose slot
/// is at `slot` (see [`SideSlot`]): `i64 (ptr vars, ptr info, ptr buf)`,
/// the trace function's signature.
pub(super) fn add_side_entry(m: &Module, name: &str, slot: *const SideSlot, outcome_return: u64) {
    use llvm_sys::core::*;
    use llvm_sys::LLVMIntPredicate::*;
    // SAFETY: building a small function in a module of ours.
    unsafe {
        let i64t = m.int_ty(64);
        let ptr = m.ptr_ty();
        let mut ps = [ptr, ptr, ptr];
        let fty = LLVMFunctionType(i64t, ps.as_mut_ptr(), 3, 0);
        let cname = std::ffi::CString::new(name).unwrap();
        let f = LLVMAddFunction(m.m, cname.as_ptr(), fty);
        let mut hps = [ptr];
        let hty = LLVMFunctionType(m.void_ty(), hps.as_mut_ptr(), 1, 0);
        let hook = m.get_or_declare(SIDE_TIER_UP, hty);
        let entry = LLVMAppendBasicBlockInContext(m.ctx, f, c"entry".as_ptr());
        let up = LLVMAppendBasicBlockInContext(m.ctx, f, c"up".as_ptr());
        let done = LLVMAppendBasicBlockInContext(m.ctx, f, c"done".as_ptr());
        let b = m.builder();
        LLVMPositionBuilderAtEnd(b.0, entry);
        let sp = LLVMConstIntToPtr(m.const_int(64, slot as u64), ptr);
        let code = LLVMBuildLoad2(b.0, ptr, sp, c"".as_ptr());
        let mut args = [LLVMGetParam(f, 0), LLVMGetParam(f, 1), LLVMGetParam(f, 2)];
        let r = LLVMBuildCall2(b.0, fty, code, args.as_mut_ptr(), 3, c"".as_ptr());
        let mut off = [m.const_int(64, 8)];
        let rp = LLVMBuildGEP2(b.0, m.int_ty(8), sp, off.as_mut_ptr(), 1, c"".as_ptr());
        let n = LLVMBuildLoad2(b.0, i64t, rp, c"".as_ptr());
        let n = LLVMBuildAdd(b.0, n, m.const_int(64, 1), c"".as_ptr());
        LLVMBuildStore(b.0, n, rp);
        let hit = LLVMBuildICmp(
            b.0,
            LLVMIntEQ,
            n,
            m.const_int(64, tier_up_iters()),
            c"".as_ptr(),
        );
        let ok = LLVMBuildICmp(
            b.0,
            LLVMIntNE,
            r,
            m.const_int(64, outcome_return),
            c"".as_ptr(),
        );
        let go = LLVMBuildAnd(b.0, hit, ok, c"".as_ptr());
        LLVMBuildCondBr(b.0, go, up, done);
        LLVMPositionBuilderAtEnd(b.0, up);
        let mut hargs = [sp];
        LLVMBuildCall2(b.0, hty, hook, hargs.as_mut_ptr(), 1, c"".as_ptr());
        LLVMBuildBr(b.0, done);
        LLVMPositionBuilderAtEnd(b.0, done);
        LLVMBuildRet(b.0, r);
    }
}
