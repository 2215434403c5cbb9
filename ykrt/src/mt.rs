//! `MT`: the meta-tracer state shared by all interpreter threads (configuration,
//! thresholds, the trace compiler and its queue, the log and the stats), and the
//! control point's state machine.

use crate::{
    abort::{Abort, AbortKind},
    aot, aotir,
    compile::{CompileError, Compiled, LoopStart, RecordedTrace, TraceStart},
    config::{Config, ConfigError, TracerKind},
    location::{CompiledTrace, Failure, Location, LocationPtr, State},
    log::{JitEvent, Log},
    stats::{Counter, Stats, Timer},
    trace::{entries, swt},
};
use compiler::CompileQueue;
pub use compiler::TraceCompiler;
use std::{
    ffi::c_void,
    fmt,
    sync::{
        atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering},
        Arc, Mutex, Once, RwLock, Weak,
    },
    time::Instant,
};
use yk_abi::outcome;

/// A chain of jumps between traces renews its `reclaim` entry this often
/// (see [`MT::control_point_raw`]).
const JUMP_REPUBLISH: u32 = 256;

/// The reason logged for a recording given up because the JIT was turned off.
pub const ABORT_JIT_OFF: &str = "JIT turned off";
/// Why a recording was given up when its interpreter activation was left
/// ([`AbortKind::FrameLeft`]).
pub const ABORT_FRAME_LEFT: &str =
    "the recording's interpreter frame was left (a longjmp: an error or a coroutine yield; or a return)";

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
    /// The JIT is on ([`MT::set_enabled`]); it can be on only if the
    /// configuration allows it.
    enabled: AtomicBool,
    /// Bumped by [`MT::flush`]: traces of older generations are dropped.
    generation: AtomicU64,
    compiler: RwLock<Option<Arc<dyn TraceCompiler>>>,
    queue: CompileQueue,
    /// Root traces are recorded with Intel PT (`YKD_TRACER=hwt`, and PT is
    /// usable here).
    use_hwt: bool,
    /// The interpreter's callback making a function's entry a location
    /// (see [`MT::set_entry_maker`]).
    entry_maker: Mutex<Option<EntryMaker>>,
}

/// An interpreter's callback that makes the entry of the function with the
/// given handle (as passed to `yk_entry_hint`) a real location, if it can
/// (see [`crate::trace::entries`]).
pub type EntryMaker = Arc<dyn Fn(usize) + Send + Sync>;

impl fmt::Debug for MT {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MT")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl MT {
    /// A meta-tracer with an explicit configuration (the environment is not read)
    /// and `compiler` as its trace compiler (none: every recording ends in
    /// `trace-aborted`, until [`MT::set_trace_compiler`]). `MT::new` and
    /// `MT::with_config` (in [`crate::jit`]) give it the LLVM trace compiler.
    pub fn with_compiler(
        mut config: Config,
        compiler: Option<Arc<dyn TraceCompiler>>,
    ) -> Result<Arc<MT>, MtError> {
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
            enabled: AtomicBool::new(true),
            generation: AtomicU64::new(0),
            compiler: RwLock::new(compiler),
            queue: CompileQueue::default(),
            entry_maker: Mutex::new(None),
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

    /// Is the JIT on? Always false with `YK_JITC=none`.
    pub fn is_enabled(&self) -> bool {
        self.config.jit_enabled && self.enabled.load(Ordering::Relaxed)
    }

    /// Turn the JIT on or off at run time (`YK_JITC=none` cannot be turned
    /// on). While off, control points count nothing, record nothing and enter
    /// no compiled trace (a trace already running runs until it exits), and a
    /// thread's recording in progress is given up at its next control point.
    /// Compiled traces are kept, for when the JIT is turned on again.
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }

    /// Drop every compiled trace: none is entered again. Each one leaves its
    /// location when a control point next reaches it (the location counts
    /// again from zero, so a hot loop is traced afresh) and is freed once no
    /// thread can be running it; traces being recorded or compiled now are
    /// dropped the same way once installed.
    pub fn flush(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The flush generation: how many times [`MT::flush`] was called.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Where the flush generation is, for compiled code that checks it
    /// before a direct jump (`compile::DirectEntry`).
    pub(crate) fn generation_ptr(&self) -> *const AtomicU64 {
        &self.generation
    }

    /// Where the enabled flag ([`MT::set_enabled`]) is, for compiled code
    /// that checks it before a direct jump.
    pub(crate) fn enabled_ptr(&self) -> *const AtomicBool {
        &self.enabled
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

    /// Install (or, with `None`, remove) the interpreter's callback that makes
    /// a function's entry a location when a recording that grew too long is
    /// cut there (see [`crate::trace::entries`]). Without one, such recordings
    /// abort as too long. The callback runs on the recording thread, in the
    /// middle of the interpreter's code (a block hook): it must only make
    /// the location (`yk_location_new`) and may name it.
    pub fn set_entry_maker(&self, f: Option<EntryMaker>) {
        *self.entry_maker.lock().unwrap_or_else(|e| e.into_inner()) = f;
    }

    /// Asks the interpreter to make the entry of `cut`'s function a
    /// location, and registers it as a cut if it did. Returns the reason to
    /// log for the recording given up, if it did.
    pub(crate) fn cut_entry(&self, cut: &entries::Hint) -> Option<String> {
        if !self.config.cut_calls {
            return None;
        }
        let maker = self
            .entry_maker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()?;
        maker(cut.handle);
        // SAFETY: the hint's location is alive (invariant 3 of `entries`).
        let loc = unsafe { &*(cut.loc as *const Location) };
        if loc.load() == 0 {
            return None;
        }
        entries::add(cut.loc);
        self.stats.count(Counter::CallsCut);
        let name = loc.debug_str().unwrap_or_else(|| format!("{:#x}", cut.loc));
        Some(format!(
            "trace too long: a call of {name} gets its own trace"
        ))
    }

    /// Remove the trace compiler (recordings then end in `trace-aborted: trace
    /// compiler not available`). For tests of the runtime without a compiler.
    pub fn clear_trace_compiler(&self) {
        *self.compiler.write().unwrap_or_else(|e| e.into_inner()) = None;
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
        if !self.enabled.load(Ordering::Relaxed) {
            if swt::is_recording() {
                swt::abort_current(&Abort::new(AbortKind::Disabled, ABORT_JIT_OFF));
            }
            return 0;
        }
        // SAFETY: as this function's contract.
        let mut r = unsafe { self.control_point_once(loc, vars, cp_func_idx, false) };
        if !outcome::is_jump(r) {
            return r;
        }
        // A trace that left its loop at another location's control point
        // returns that location (see `guard::outcome`): the interpreter's
        // state in `vars` is the one at that control point, so process it as
        // if the interpreter had called it, which runs its trace if it has
        // one. A loop here rather than a call from the trace keeps the stack
        // flat when two loops' traces hand over to each other.
        //
        // The whole chain is one entry into compiled code for `reclaim`
        // (`chained`: the traces run in it don't enter again), so that a
        // jump costs no fence, which costs more than a short trace; the
        // entry is renewed every `JUMP_REPUBLISH` jumps, so that a chain
        // that goes on for long doesn't keep retired traces from being
        // freed.
        let anchor = 0u8;
        let sp = std::hint::black_box(std::ptr::addr_of!(anchor)) as usize;
        crate::reclaim::enter(sp);
        let mut jumps = 0u32;
        while outcome::is_jump(r) {
            self.stats.count(Counter::TraceJumps);
            jumps = jumps.wrapping_add(1);
            if jumps.is_multiple_of(JUMP_REPUBLISH) {
                crate::reclaim::leave(sp);
                crate::reclaim::enter(sp);
            }
            // SAFETY: the trace returned the location its interpreter state
            // reached, which the interpreter keeps alive while it uses it.
            let next = unsafe { &*(r as usize as *const Location) };
            // SAFETY: `vars` is the same control point's.
            r = unsafe { self.control_point_once(next, vars, cp_func_idx, true) };
        }
        crate::reclaim::leave(sp);
        r
    }

    /// One pass through the control point at `loc` (see
    /// [`MT::control_point_raw`]); may return a jump to another location.
    /// `chained`: the caller holds a `reclaim` entry for this thread (a
    /// chain of jumps), so a trace run here needs none of its own: the
    /// location is read after that entry was published, which is all the
    /// protocol asks (see `crate::reclaim`).
    unsafe fn control_point_once(
        &self,
        loc: &Location,
        vars: *mut c_void,
        cp_func_idx: u64,
        chained: bool,
    ) -> u64 {
        // This thread's recording, if any, decides first. (Checked only
        // while some thread records: each check is a thread-local access,
        // which in a shared library is a call, and this runs once per trace
        // run and per jump between traces.)
        let mut word = loc.load();
        if swt::any_recording() {
            match self.recording_pass(loc, vars) {
                Some(w) => word = w,
                None => return 0,
            }
        }
        match State::decode(word) {
            State::Counting { count, failures } => {
                if count < self.threshold_for(failures) {
                    loc.try_count(word, count, failures);
                } else {
                    self.start_tracing(loc, word, failures, cp_func_idx, vars);
                }
                0
            }
            State::Tracing { owner, .. } => {
                // Another thread's recording, or a location this thread passes on
                // the way while recording elsewhere: nothing to do.
                if owner != 0 && owner == crate::location::thread_id_if_assigned() {
                    self.stop_tracing(loc.into(), None);
                }
                0
            }
            State::Compiled(t) => {
                if vars.is_null() || (swt::any_recording() && swt::is_recording()) {
                    return 0;
                }
                // The box may be retired by another thread at any moment: tell
                // `reclaim` this thread is entering compiled code, then check
                // the location still holds this trace.
                let anchor = 0u8;
                let sp = std::hint::black_box(std::ptr::addr_of!(anchor)) as usize;
                let enter = |sp| {
                    if !chained {
                        crate::reclaim::enter(sp)
                    }
                };
                let leave = |sp| {
                    if !chained {
                        crate::reclaim::leave(sp)
                    }
                };
                enter(sp);
                if loc.load() != word {
                    leave(sp);
                    return 0;
                }
                // SAFETY: the box is not freed before `leave` (ours, or the
                // chain's).
                let installed = unsafe { t.as_ref() };
                if installed.generation != self.generation() {
                    leave(sp);
                    self.drop_flushed(loc, word);
                    return 0;
                }
                // SAFETY: as above.
                let r = unsafe { self.execute(loc, &installed.trace, vars) };
                leave(sp);
                r
            }
            State::Null | State::DontTrace => 0,
        }
    }

    /// The part of [`MT::control_point_once`] for a thread that may be
    /// recording: the recording's activation check, the end of a side
    /// trace's recording, inner loops first. Returns the location's word to
    /// go on with, or `None` if this control point does nothing (a nested
    /// activation's).
    fn recording_pass(&self, loc: &Location, vars: *mut c_void) -> Option<usize> {
        if let Some(rec) = swt::recording_vars() {
            let here = vars as usize;
            if here != 0 && here != rec {
                if here > rec {
                    // An older activation (the stack grows down): the
                    // recording's was left by a longjmp (a Lua error or
                    // yield) or a return, and its path can't close.
                    swt::abort_current(&Abort::new(AbortKind::FrameLeft, ABORT_FRAME_LEFT));
                } else {
                    // A nested activation (a metamethod or a coroutine run
                    // by an outlined call of the recorded path): its control
                    // points are not the recording's, which neither ends
                    // nor defers here; nothing is counted or run.
                    return None;
                }
            }
        }
        let word = loc.load();
        if let Some(side) = swt::side_recording() {
            // A side trace is recorded until the root trace's location, a
            // location with a compiled trace, or a cut (`crate::trace::entries`).
            // SAFETY: the recording pins its trace (its start,
            // `GuardStart::_pin`).
            let root = unsafe { &*side.info }.start_loc.addr();
            let here = loc as *const Location as usize;
            if root == here
                || matches!(State::decode(word), State::Compiled(_))
                || entries::is_cut(here)
            {
                self.stop_side_tracing();
            }
        }
        Some(match swt::root_recording() {
            Some(start)
                if self.config.inner_loops_first
                    && start.addr() != loc as *const Location as usize
                    && word != 0 =>
            {
                self.passing_location(start, loc, word);
                loc.load()
            }
            _ => word,
        })
    }

    /// Inner loops first: this thread's root recording, started at `start`,
    /// passes the control point of another location `loc` (word `word`).
    ///
    /// - `loc` is a cut (a function entry cut out of a too-long recording,
    ///   see [`crate::trace::entries`]): the recording ends here, whatever `loc`'s
    ///   state, and its trace will end by jumping to `loc`.
    /// - `loc` has a trace: the recording ends here, and its trace will end
    ///   by jumping to `loc`'s (an outer loop's trace runs into its inner
    ///   loop's instead of unrolling it).
    /// - `loc` is hot, being compiled, or its loop came round within this
    ///   recording (it is an inner loop that iterates): the recording is
    ///   deferred (`start` backs off, see [`MT::recording_deferred`]) and
    ///   `loc` is made hot, so that it is traced first (at once, as this
    ///   control point goes on) and `start` is recorded again later.
    /// - Otherwise (a loop run once, or one that can't be traced) the
    ///   recording goes on through it.
    fn passing_location(&self, start: LocationPtr, loc: &Location, word: usize) {
        if entries::is_cut(loc as *const Location as usize) {
            // A function entry cut out of a too-long recording: the
            // recording ends here, as at a compiled location, whatever the
            // cut's state (see `crate::trace::entries`).
            return self.stop_tracing(start, Some(loc));
        }
        match State::decode(word) {
            State::Compiled(_) => self.stop_tracing(start, Some(loc)),
            State::Tracing { owner: 0, .. } => {
                swt::defer_current("an inner loop is being compiled", Failure::Waiting)
            }
            State::Counting { count, failures } => {
                let hot = self.threshold_for(failures);
                if count >= hot {
                    swt::defer_current("an inner loop is hot", Failure::Once);
                } else if swt::note_passed(loc as *const Location as usize) {
                    loc.transition(
                        word,
                        State::Counting {
                            count: hot,
                            failures,
                        },
                    );
                    swt::defer_current("an inner loop iterates", Failure::Once);
                }
            }
            _ => {}
        }
    }

    /// A root recording by thread `owner` starting at `loc` was given up so
    /// that an inner loop is traced first: `loc` backs off as after failure
    /// `f` (its threshold doubles), so that loops that keep deferring to
    /// each other are recorded a bounded number of times (after
    /// `MAX_FAILURES` never again); one waiting for its inner loop's
    /// compilation ([`Failure::Waiting`]) is retried until that is done.
    pub(crate) fn recording_deferred(&self, a: &swt::Active, reason: &str, f: Failure) {
        self.stats.count(Counter::TracesDeferred);
        self.log.event(JitEvent::TraceDeferred(reason), Some(a.loc));
        back_off_owned(a, f);
    }

    /// Re-optimisation: a compiled location goes back to counting, at its
    /// hot threshold, to be recorded again. Its trace is retired: freed once
    /// no thread can be running it. Returns whether it did.
    ///
    /// Each re-recording counts as a failure of the location (see
    /// `location::Installed::failures`), so that a loop whose paths take
    /// turns being the hotter one (an escape-time loop whose points escape
    /// early, then late) is not recorded again without end: a location that
    /// already failed `MAX_FAILURES - 1` times keeps its trace instead.
    pub(crate) fn re_record(&self, loc: &Location) -> bool {
        let word = loc.load();
        // SAFETY: re-optimisation is asked for by a running trace.
        let Some(failures) = (unsafe { Location::compiled_failures(word) }) else {
            return false;
        };
        let failures = failures.saturating_add(1);
        if failures >= crate::location::MAX_FAILURES {
            return false;
        }
        // Counting at its (doubled) threshold: recorded at the next pass.
        let to = State::Counting {
            count: self.threshold_for(failures),
            failures,
        };
        self.uninstall(loc, word, to)
    }

    /// Takes the trace out of location `loc` if its word is still `word`
    /// (a compiled one): the location goes to state `to` (counting again,
    /// or never traced), and the trace is retired, freed once no thread can
    /// be running it. Returns whether it did.
    fn uninstall(&self, loc: &Location, word: usize, to: State) -> bool {
        let State::Compiled(t) = State::decode(word) else {
            return false;
        };
        if !loc.transition(word, to) {
            return false;
        }
        crate::location::retire_box(t);
        true
    }

    /// A trace older than the last [`MT::flush`] leaves its location (word
    /// `word`), which counts again from zero; the trace is retired.
    #[cold]
    fn drop_flushed(&self, loc: &Location, word: usize) {
        self.uninstall(loc, word, counting(0));
    }

    /// A compiled location whose trace keeps failing a guard while the
    /// compile budget refuses the guard's side trace goes back to counting
    /// (to be recorded anew when the budget allows), backing off as after a
    /// failure: a location is so suspended a bounded number of times (it
    /// once went back to counting from zero with no failure counted, and
    /// `spectral_norm`'s inner loop was compiled six times). Its trace is
    /// retired, freed once no thread can be running it. Returns whether it
    /// did.
    pub(crate) fn suspend(&self, loc: &Location) -> bool {
        self.retire(
            loc,
            Failure::Once,
            Counter::TracesSuspended,
            JitEvent::TraceSuspended,
        )
    }

    /// A compiled location whose trace mostly ends in the blackhole (a
    /// guard that fails every few iterations and can't have a side trace:
    /// see `guard::GIVE_UP_RATIO`) is never traced again; its trace is
    /// retired. Returns whether it was.
    pub(crate) fn give_up(&self, loc: &Location) -> bool {
        self.retire(
            loc,
            Failure::Permanent,
            Counter::TracesGivenUp,
            JitEvent::TraceGivenUp,
        )
    }

    /// A compiled location whose trace tree keeps leaving through the
    /// blackhole (see `guard::EXIT_WINDOW`) loses to the interpreter: its
    /// trace is retired and the location backs off as after a failed
    /// recording (counting again at a doubled threshold, or never traced
    /// again after `MAX_FAILURES`), so that it is recorded a bounded number
    /// of times. Returns whether it was retired.
    /// With `permanent`, it is never traced again.
    pub(crate) fn retire_losing(&self, loc: &Location, permanent: bool) -> bool {
        let f = if permanent {
            Failure::Permanent
        } else {
            Failure::Once
        };
        self.retire(loc, f, Counter::TracesLosing, JitEvent::TraceLosing)
    }

    /// What [`MT::suspend`], [`MT::give_up`] and [`MT::retire_losing`]
    /// share: takes the trace out of compiled location `loc`, which backs
    /// off as after failure `f` on top of its earlier failures, and counts
    /// (`counter`) and logs (`event`) why. Returns whether it did (false if
    /// `loc` no longer holds a trace).
    fn retire(&self, loc: &Location, f: Failure, counter: Counter, event: JitEvent) -> bool {
        let word = loc.load();
        // SAFETY: a trace is retired by a failing guard of a running trace
        // (which keeps its box), or where nothing else can retire it.
        let Some(failures) = (unsafe { Location::compiled_failures(word) }) else {
            return false;
        };
        if !self.uninstall(loc, word, State::after_failure(failures, f)) {
            return false;
        }
        self.stats.count(counter);
        self.log.event(event, Some(loc.into()));
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
        if let Some(c) = self.compiler() {
            c.quiesce();
        }
        self.stats.write_once();
    }

    /// Is compiling over its budget (`YK_COMPILE_BUDGET`, times `scale`):
    /// has the CPU time of compiling (less a grace allowance) passed that
    /// share of the process's CPU time? Then no new recording starts (the caller counts the refusal). Cold:
    /// called when a location is hot or a guard would start a side trace.
    pub(crate) fn over_budget(&self, scale: u32) -> bool {
        let over = self.budget_spent(scale);
        if over {
            self.stats.count(Counter::RecordingsThrottled);
        }
        over
    }

    /// [`MT::over_budget`] without counting a refused recording: for a
    /// trace compiler asking whether it may recompile a hot trace now (a
    /// recompilation waits while compiling is over its budget, as a new
    /// recording does).
    pub fn budget_spent(&self, scale: u32) -> bool {
        let pct = u128::from(self.config.compile_budget) * u128::from(scale);
        if pct == 0 {
            return false;
        }
        let compiling = self.stats.get_time(Timer::CompilingCpu).as_nanos();
        let grace = u128::from(self.config.compile_grace_ms) * 1_000_000;
        if compiling <= grace {
            return false;
        }
        compiling - grace > process_cpu_time().as_nanos() * pct / 100
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

    /// What [`Location::install`] calls once a trace of this `MT` is freed:
    /// it is counted (`traces_freed`) if the `MT` still exists.
    pub(crate) fn on_trace_freed(&self) -> crate::location::OnFree {
        let mt = self.weak_self.clone();
        Box::new(move || {
            if let Some(mt) = mt.upgrade() {
                mt.stats().count(Counter::TracesFreed);
            }
        })
    }

    pub(crate) fn arc(&self) -> Arc<MT> {
        self.weak_self
            .upgrade()
            .expect("MT used while being dropped")
    }

    #[cfg(test)]
    pub(crate) fn queue(&self) -> &CompileQueue {
        &self.queue
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
            if r != outcome::RETURN {
                self.stats.time(Timer::JitExecuting, t0.elapsed());
            }
            r
        } else {
            // SAFETY: as above.
            unsafe { t.execute(vars) }
        }
    }
}

impl Drop for MT {
    fn drop(&mut self) {
        self.stats.write_once();
    }
}

/// The root recording `a` was given up: its location, if it is still
/// there and still recorded by `a`'s thread, backs off.
fn back_off_owned(a: &swt::Active, f: Failure) {
    if let TraceStart::Loop(LoopStart { claim: c }) = &a.start {
        c.with(|l| {
            let word = l.load();
            if swt::owned_by(word, a.owner) {
                l.back_off(word, f);
            }
        });
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

/// The CPU time this process has used (all threads).
fn process_cpu_time() -> std::time::Duration {
    cpu_clock(libc::CLOCK_PROCESS_CPUTIME_ID)
}

/// Times one compilation: wall-clock time, and the compiling thread's CPU
/// time (what the compile budget counts).
pub(crate) struct CompileClock {
    wall: Instant,
    cpu: std::time::Duration,
}

impl CompileClock {
    pub(crate) fn start() -> CompileClock {
        CompileClock {
            wall: Instant::now(),
            cpu: thread_cpu_time(),
        }
    }

    /// The wall-clock and CPU time since [`CompileClock::start`].
    pub(crate) fn elapsed(&self) -> (std::time::Duration, std::time::Duration) {
        (
            self.wall.elapsed(),
            thread_cpu_time().saturating_sub(self.cpu),
        )
    }
}

/// The CPU time this thread has used.
fn thread_cpu_time() -> std::time::Duration {
    cpu_clock(libc::CLOCK_THREAD_CPUTIME_ID)
}

fn cpu_clock(id: libc::clockid_t) -> std::time::Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a timespec to write.
    if unsafe { libc::clock_gettime(id, &mut ts) } != 0 {
        return std::time::Duration::ZERO;
    }
    std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

extern "C" fn at_exit() {
    // `try_lock`: another thread may hold the lock while `exit` runs.
    if let Ok(v) = STATS_AT_EXIT.try_lock() {
        for mt in v.iter().filter_map(Weak::upgrade) {
            // No compilation may run on after this: the handlers that run
            // next include LLVM's static destructors.
            mt.queue.abandon();
            if let Some(c) = mt.compiler() {
                c.quiesce();
            }
            mt.stats.write_once();
        }
    }
}

mod compiler;
pub(crate) use compiler::pregrow_arena;
mod recording;
mod side;

#[cfg(test)]
#[path = "mt_tests.rs"]
mod tests;

/// The state of a location that counts again from `count`, with no failures.
fn counting(count: u64) -> State {
    State::Counting { count, failures: 0 }
}
