//! `MT`: the meta-tracer state shared by all interpreter threads (configuration,
//! thresholds, the trace compiler and its queue, the log and the stats), and the
//! control point's state machine.

use crate::{
    aot, aotir,
    compile::{CompileError, CompileQueue, CompiledTrace, RecordedTrace, TraceCompiler},
    config::{Config, ConfigError, TracerKind},
    location::{Location, LocationPtr, State},
    log::{JitEvent, Log},
    stats::{Counter, Stats, Timer},
    trace::swt,
};
use std::{
    ffi::c_void,
    fmt,
    sync::{
        atomic::{AtomicU32, Ordering},
        Arc, Mutex, Once, RwLock, Weak,
    },
    time::Instant,
};

/// Why an `MT` could not be created.
#[derive(Debug)]
pub enum MtError {
    /// A malformed environment variable.
    Config(ConfigError),
    /// A log or stats file could not be created.
    Io(std::io::Error),
}

impl fmt::Display for MtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MtError::Config(e) => e.fmt(f),
            MtError::Io(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for MtError {}

/// The meta-tracer. Create one per interpreter (`MT::new`) and share it between
/// the interpreter's threads; each thread records its own traces.
pub struct MT {
    weak_self: Weak<MT>,
    config: Config,
    hot_threshold: AtomicU32,
    sidetrace_threshold: AtomicU32,
    log: Log,
    stats: Stats,
    compiler: RwLock<Option<Arc<dyn TraceCompiler>>>,
    queue: CompileQueue,
    /// Root traces are recorded with Intel PT (`YKD_TRACER=hwt`, and PT is
    /// usable here).
    use_hwt: bool,
}

impl fmt::Debug for MT {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MT")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl MT {
    /// A meta-tracer configured from the environment (`YK_*`, `YKD_*`). A malformed
    /// variable is an error naming it.
    pub fn new() -> Result<Arc<MT>, MtError> {
        MT::with_config(Config::from_env().map_err(MtError::Config)?)
    }

    /// A meta-tracer with an explicit configuration (the environment is not read).
    pub fn with_config(mut config: Config) -> Result<Arc<MT>, MtError> {
        let log = Log::new(&config).map_err(MtError::Io)?;
        if config.jit_enabled {
            // A damaged or foreign `yk_ir` section: the program runs without
            // a JIT, and says why once (one line, however many MTs).
            if let Some(Err(e)) = aot::info().map(aot::bitcode) {
                static REPORTED: Once = Once::new();
                REPORTED.call_once(|| log.error(&format!("{e}: the JIT is off")));
                config.jit_enabled = false;
            }
        }
        let stats = Stats::new(config.log_stats.as_ref()).map_err(MtError::Io)?;
        let use_hwt = config.tracer == TracerKind::Hwt
            && match crate::trace::hw::usable() {
                Ok(()) => true,
                Err(why) => {
                    static HWT_WARNING: Once = Once::new();
                    HWT_WARNING
                        .call_once(|| log.warning(&format!("YKD_TRACER=hwt: {why}; using swt")));
                    false
                }
            };
        let mt = Arc::new_cyclic(|weak_self| MT {
            weak_self: weak_self.clone(),
            hot_threshold: AtomicU32::new(config.hot_threshold),
            sidetrace_threshold: AtomicU32::new(config.sidetrace_threshold),
            config,
            use_hwt,
            log,
            stats,
            compiler: RwLock::new(Some(Arc::new(crate::jit::LlvmCompiler::new()))),
            queue: CompileQueue::default(),
        });
        if mt.stats.enabled() {
            write_stats_at_exit(&mt);
        }
        Ok(mt)
    }

    /// The configuration this `MT` was made with (thresholds may have changed
    /// since: see [`MT::hot_threshold`]).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Executions of a location before it is traced: it starts recording on the
    /// execution after `hot_threshold` executions (so 0 traces at once).
    pub fn hot_threshold(&self) -> u32 {
        self.hot_threshold.load(Ordering::Relaxed)
    }

    /// Set [`MT::hot_threshold`].
    pub fn set_hot_threshold(&self, t: u32) {
        self.hot_threshold.store(t, Ordering::Relaxed);
    }

    /// Failures of a guard before a side trace is recorded from it.
    pub fn sidetrace_threshold(&self) -> u32 {
        self.sidetrace_threshold.load(Ordering::Relaxed)
    }

    /// Set [`MT::sidetrace_threshold`].
    pub fn set_sidetrace_threshold(&self, t: u32) {
        self.sidetrace_threshold.store(t, Ordering::Relaxed);
    }

    /// The logger (for JIT events, errors, IR dumps).
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// The statistics.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Install the trace compiler. Until one is installed every recording ends in
    /// `trace-aborted: trace compiler not available`.
    pub fn set_trace_compiler(&self, c: Arc<dyn TraceCompiler>) {
        *self.compiler.write().unwrap_or_else(|e| e.into_inner()) = Some(c);
    }

    /// Remove the trace compiler (recordings then end in `trace-aborted: trace
    /// compiler not available`). For tests of the runtime without a compiler.
    pub fn clear_trace_compiler(&self) {
        *self.compiler.write().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The control point, for Rust interpreters: call it at the top of the
    /// dispatch loop, as C interpreters call `yk_mt_control_point`.
    ///
    /// This is a thin inline wrapper around the C ABI function
    /// [`yk_mt_control_point`](crate::abi::yk_mt_control_point) (also exported by
    /// `ykcapi`), which does nothing by itself: it is the call that yk-ld rewrites
    /// into `__ykrt_control_point(mt, loc, &vars, func)` when the interpreter is
    /// built with `-C linker-plugin-lto` and linked by yk-ld. Without yk-ld there is
    /// no JIT. The `MT` and `Location` are the same objects as `YkMT` and
    /// `YkLocation` in C.
    #[inline(always)]
    pub fn control_point(&self, loc: &Location) {
        // SAFETY: both pointers come from references.
        unsafe { crate::abi::yk_mt_control_point(self, loc) }
    }

    /// What a rewritten control point runs (`__ykrt_control_point`): count, start
    /// or stop recording, or run the location's compiled trace. Returns what the
    /// control point returns (0 unless a trace asks the interpreter function to
    /// return).
    ///
    /// # Safety
    /// `vars` is null (then compiled traces are not run) or the control point's
    /// `YkCtrlPointVars`; `loc` must stay alive and in place while any recording or
    /// compilation started from it is going on.
    pub unsafe fn control_point_raw(
        &self,
        loc: &Location,
        vars: *mut c_void,
        cp_func_idx: u64,
    ) -> u64 {
        if !self.config.jit_enabled {
            return 0;
        }
        // SAFETY: as this function's contract.
        let mut r = unsafe { self.control_point_once(loc, vars, cp_func_idx) };
        // A trace that left its loop at another location's control point
        // returns that location (see `deopt::outcome`): the interpreter's
        // state in `vars` is the one at that control point, so process it as
        // if the interpreter had called it, which runs its trace if it has
        // one. A loop here rather than a call from the trace keeps the stack
        // flat when two loops' traces hand over to each other.
        while crate::deopt::outcome::is_jump(r) {
            self.stats.count(Counter::TraceJumps);
            // SAFETY: the trace returned the location its interpreter state
            // reached, which the interpreter keeps alive while it uses it.
            let next = unsafe { &*(r as usize as *const Location) };
            // SAFETY: `vars` is the same control point's.
            r = unsafe { self.control_point_once(next, vars, cp_func_idx) };
        }
        r
    }

    /// One pass through the control point at `loc` (see
    /// [`MT::control_point_raw`]); may return a jump to another location.
    unsafe fn control_point_once(
        &self,
        loc: &Location,
        vars: *mut c_void,
        cp_func_idx: u64,
    ) -> u64 {
        let word = loc.load();
        if let Some(side) = swt::side_recording() {
            // A side trace is recorded until the root trace's location or a
            // location with a compiled trace.
            // SAFETY: the recording pins its trace (`swt::Active::_pin`).
            let root = unsafe { &*side.info }.start_loc.addr();
            if root == loc as *const Location as usize
                || matches!(State::decode(word), State::Compiled(_))
            {
                if let Some(fin) = swt::stop() {
                    crate::deopt::finish_side(self, side, fin);
                }
            }
        }
        match State::decode(word) {
            State::Counting { count, failures } => {
                if count < self.threshold_for(failures) {
                    loc.try_count(word, count, failures);
                } else {
                    self.start_tracing(loc, word, failures, cp_func_idx);
                }
                0
            }
            State::Tracing { owner, .. } => {
                // Another thread's recording, or a location this thread passes on
                // the way while recording elsewhere: nothing to do.
                if owner != 0 && owner == swt::thread_id_if_assigned() {
                    self.stop_tracing(loc, word);
                }
                0
            }
            State::Compiled(t) => {
                if vars.is_null() || swt::is_recording() {
                    return 0;
                }
                // The box may be retired by another thread at any moment: tell
                // `reclaim` this thread is entering compiled code, then check
                // the location still holds this trace.
                let anchor = 0u8;
                let sp = std::hint::black_box(std::ptr::addr_of!(anchor)) as usize;
                crate::reclaim::enter(sp);
                if loc.load() != word {
                    crate::reclaim::leave(sp);
                    return 0;
                }
                // SAFETY: the box is not freed before `leave`.
                let r = unsafe { self.execute(loc, t.as_ref(), vars) };
                crate::reclaim::leave(sp);
                r
            }
            State::Null | State::DontTrace => 0,
        }
    }

    /// Re-optimisation: a compiled location goes back to counting, at its
    /// hot threshold, to be recorded again. Its trace is retired: freed once
    /// no thread can be running it. Returns whether it did.
    pub(crate) fn re_record(&self, loc: &Location) -> bool {
        let word = loc.load();
        let State::Compiled(t) = State::decode(word) else {
            return false;
        };
        let count = self.threshold_for(0);
        if !loc.transition(word, State::Counting { count, failures: 0 }) {
            return false;
        }
        crate::location::retire_box(t, Some(self.weak_self.clone()));
        true
    }

    /// The installed trace compiler, if any.
    pub(crate) fn compiler(&self) -> Option<Arc<dyn TraceCompiler>> {
        self.compiler
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Finish: wait for queued compilations and write the stats (once).
    /// Must not be called from the compile thread (i.e. from a `TraceCompiler`).
    pub fn shutdown(&self) {
        self.queue.wait_idle();
        self.stats.write_once();
    }

    /// The count a location with `failures` earlier failures must reach: the hot
    /// threshold, doubled for each failure (a location that failed is retried,
    /// but ever more rarely).
    fn threshold_for(&self, failures: u8) -> u64 {
        let t = u64::from(self.hot_threshold());
        if failures == 0 {
            t
        } else {
            t.max(1) << failures.min(crate::location::MAX_FAILURES)
        }
    }

    pub(crate) fn arc(&self) -> Arc<MT> {
        self.weak_self
            .upgrade()
            .expect("MT used while being dropped")
    }

    pub(crate) fn queue(&self) -> &CompileQueue {
        &self.queue
    }

    #[cold]
    #[inline(never)]
    fn start_tracing(&self, loc: &Location, word: usize, failures: u8, cp_func_idx: u64) {
        if swt::is_recording() {
            // One recording per thread: this location stays hot and starts
            // recording the next time a free thread gets here.
            return;
        }
        let Some(info) = aot::info() else {
            // Not linked by yk-ld: nothing can be traced, so stop counting.
            loc.transition(word, State::DontTrace);
            return;
        };
        // The module itself is parsed (once) by the trace compiler, off this
        // thread; here only what is cheap to check, unless the module's text
        // is wanted (`YKD_LOG_IR=aot`, for debugging) when the first
        // recording starts.
        let loaded = if self.log.ir_selection().aot {
            aotir::load(info, &self.log).map(|_| ())
        } else {
            aotir::precheck(info)
        };
        if let Err(e) = loaded {
            static REPORTED: Once = Once::new();
            REPORTED.call_once(|| self.log.event(JitEvent::TraceAborted(e), Some(loc.into())));
            loc.transition(word, State::DontTrace);
            return;
        }
        let owner = swt::thread_id();
        if !loc.transition(word, State::Tracing { owner, failures }) {
            return;
        }
        self.log.event(JitEvent::StartTracing, Some(loc.into()));
        let pt = if self.use_hwt {
            match crate::trace::hw::Pt::start() {
                Ok(pt) => Some(pt),
                Err(why) => {
                    // This recording goes without PT (e.g. no perf event
                    // left for this thread): say so, record with swt.
                    self.log
                        .warning(&format!("YKD_TRACER=hwt: {why}; recording with swt"));
                    None
                }
            }
        } else {
            None
        };
        swt::start(swt::Active {
            mt: self.arc(),
            loc: loc.into(),
            owner,
            cp_func_idx,
            started: Instant::now(),
            flag: info.swt_flag(),
            max_len: self.config.trace_max_len,
            side: None,
            _pin: None,
            pt,
        });
    }

    #[cold]
    #[inline(never)]
    fn stop_tracing(&self, loc: &Location, word: usize) {
        let Some(mut fin) = swt::stop() else {
            return;
        };
        if let Some(pt) = fin.active.pt.take() {
            match pt.finish() {
                Ok(blocks) if blocks.len() <= fin.active.max_len => fin.blocks = blocks,
                Ok(_) => return self.hwt_failed(fin, swt::ABORT_TOO_LONG),
                Err(why) => return self.hwt_failed(fin, &format!("hwt: {why}")),
            }
        }
        let recording_time = fin.active.started.elapsed();
        self.stats.time(Timer::Tracing, recording_time);
        self.stats.count(Counter::TracesRecordedOk);
        self.log.event(JitEvent::StopTracing, Some(loc.into()));
        let State::Tracing { failures, .. } = State::decode(word) else {
            unreachable!()
        };
        if !loc.transition(word, State::Tracing { owner: 0, failures }) {
            return;
        }
        let trace = RecordedTrace {
            blocks: fin.blocks,
            promotes: fin.promotes,
            idempotents: fin.idempotents,
            start_loc: loc.into(),
            cp_func_idx: fin.active.cp_func_idx,
            recording_time,
        };
        if self.log.ir_selection().trace_blocks {
            self.log_trace_blocks(&trace);
        }
        let compiler = self
            .compiler
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match compiler {
            None => self.compile_failed(
                &trace,
                CompileError::Temporary("trace compiler not available".into()),
            ),
            Some(c) if self.config.serialise_compilation => self.compile_now(&*c, trace),
            Some(c) => self.queue.push(self.arc(), c, trace),
        }
    }

    /// Compile `trace` on this thread and install or reject the result.
    pub(crate) fn compile_now(&self, compiler: &dyn TraceCompiler, trace: RecordedTrace) {
        let t0 = Instant::now();
        let r = crate::compile::guarded(|| compiler.compile(self, &trace));
        self.stats.compile_time(t0.elapsed());
        match r {
            Ok(ct) => {
                // SAFETY: locations outlive compilations started from them.
                let loc = unsafe { trace.start_loc.get() };
                let word = loc.load();
                if matches!(State::decode(word), State::Tracing { owner: 0, .. })
                    && loc.install(word, ct)
                {
                    self.stats.count(Counter::TracesCompiledOk);
                    self.log
                        .event(JitEvent::TraceCompiled, Some(trace.start_loc));
                }
            }
            Err(e) => self.compile_failed(&trace, e),
        }
    }

    fn compile_failed(&self, trace: &RecordedTrace, e: CompileError) {
        self.stats.count(Counter::TracesCompiledErr);
        self.log.event(
            JitEvent::TraceAborted(&e.to_string()),
            Some(trace.start_loc),
        );
        // SAFETY: locations outlive compilations started from them.
        let loc = unsafe { trace.start_loc.get() };
        let word = loc.load();
        if matches!(State::decode(word), State::Tracing { owner: 0, .. }) {
            loc.back_off(word, matches!(e, CompileError::Permanent(_)));
        }
    }

    /// A hardware recording could not be turned into blocks: it is aborted
    /// as a software recording would be.
    fn hwt_failed(&self, fin: swt::Finished, why: &str) {
        self.recording_aborted(fin.active.loc, fin.active.owner, why);
    }

    /// A recording by thread `owner` starting at `loc` was given up.
    pub(crate) fn recording_aborted(&self, loc: LocationPtr, owner: u64, reason: &str) {
        self.stats.count(Counter::TracesRecordedErr);
        self.log.event(JitEvent::TraceAborted(reason), Some(loc));
        // SAFETY: locations outlive recordings started from them.
        let l = unsafe { loc.get() };
        let word = l.load();
        if swt::owned_by(word, owner) {
            l.back_off(word, false);
        }
    }

    unsafe fn execute(&self, loc: &Location, t: &Arc<dyn CompiledTrace>, vars: *mut c_void) -> u64 {
        self.stats.count(Counter::TraceExecutions);
        self.log.event(JitEvent::EnterJitCode, Some(loc.into()));
        if self.stats.enabled() {
            let t0 = Instant::now();
            // SAFETY: the caller passes the control point's vars.
            let r = unsafe { t.execute(vars) };
            // A trace that made the interpreter function return (1) ran it to
            // its end in the blackhole, which may have shut this MT down.
            if r != crate::deopt::outcome::RETURN {
                self.stats.time(Timer::JitExecuting, t0.elapsed());
            }
            r
        } else {
            // SAFETY: as above.
            unsafe { t.execute(vars) }
        }
    }

    /// `YKD_LOG_IR=trace-blocks`: print the recording and whether it follows the
    /// AOT IR's control flow.
    fn log_trace_blocks(&self, trace: &RecordedTrace) {
        let Some(Ok(idx)) = aot::info().map(|i| aotir::load(i, &self.log)) else {
            return;
        };
        let mut s = String::new();
        for &(f, b) in &trace.blocks {
            let name = idx.func(f).map_or("<unknown>", |f| f.name.as_str());
            s.push_str(&format!("yk-trace-block: {name} {b}\n"));
        }
        match aotir::check_trace(idx, &trace.blocks) {
            Ok(()) => s.push_str("yk-trace-check: ok\n"),
            Err(e) => s.push_str(&format!("yk-trace-check: error: {e}\n")),
        }
        self.log.ir_section("trace-blocks", &s);
    }
}

impl Drop for MT {
    fn drop(&mut self) {
        self.stats.write_once();
    }
}

/// `MT`s whose stats must be written at process exit if they were not shut down
/// (C programs often just return from `main`).
static STATS_AT_EXIT: Mutex<Vec<Weak<MT>>> = Mutex::new(Vec::new());

fn write_stats_at_exit(mt: &Arc<MT>) {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // SAFETY: registering a plain function.
        unsafe { libc::atexit(at_exit) };
    });
    let mut v = STATS_AT_EXIT.lock().unwrap_or_else(|e| e.into_inner());
    v.retain(|w| w.strong_count() > 0);
    v.push(Arc::downgrade(mt));
}

extern "C" fn at_exit() {
    // `try_lock`: another thread may hold the lock while `exit` runs.
    if let Ok(v) = STATS_AT_EXIT.try_lock() {
        for mt in v.iter().filter_map(Weak::upgrade) {
            mt.stats.write_once();
        }
    }
}

#[cfg(test)]
#[path = "mt_tests.rs"]
mod tests;
