//! The interface between the recorder and the trace compiler (`crate::jit`), and
//! the `MT`'s compile queue.
//!
//! A finished recording becomes a [`RecordedTrace`] and is handed to the
//! [`TraceCompiler`] installed with `MT::set_trace_compiler`: on the recording
//! thread when `YKD_SERIALISE_COMPILATION=1`, on the `MT`'s compile thread
//! otherwise. The runtime installs the result in the start location, logs
//! `trace-compiled` or `trace-aborted: <reason>`, and keeps the stats; the
//! compiler only compiles.

use crate::{
    abort::{Abort, AbortKind},
    location::LocationPtr,
    mt::MT,
};
use std::{
    ffi::c_void,
    fmt,
    sync::{Arc, Condvar, Mutex},
    time::Duration,
};

/// Where a trace starts: the one thing that makes a trace a root trace or a
/// side trace, from the end of its recording to its installation. Both
/// kinds are compiled by [`TraceCompiler::compile`] and go through the same
/// queue and the same bookkeeping (`MT::compile_now`); only where the
/// result is installed differs.
#[derive(Debug)]
pub enum TraceStart {
    /// At the control point of its location ([`RecordedTrace::start_loc`]):
    /// a root trace, a loop or (with [`RecordedTrace::end_loc`]) linear. It
    /// is installed in the location.
    Loop(LoopStart),
    /// At a guard of a compiled trace: a side trace, from the guard's live
    /// values up to the next control point. It is installed in the guard.
    Guard(GuardStart),
}

/// The start of a root trace: its claim on its location, through which
/// the result is installed (nothing is, if the location was dropped
/// meanwhile).
#[derive(Debug)]
pub struct LoopStart {
    pub(crate) claim: crate::location::Claim,
}

/// The start of a side trace: guard `guard` of the trace `parent`, which
/// is kept alive (`_pin`) until the side trace is installed or given up.
pub struct GuardStart {
    pub(crate) parent: *const crate::deopt::TraceInfo,
    pub(crate) guard: u32,
    pub(crate) _pin: crate::reclaim::Pin,
}

// SAFETY: the pin keeps `parent` alive wherever the start goes (the compile
// thread), and a `TraceInfo` is `Sync`.
unsafe impl Send for GuardStart {}

impl GuardStart {
    /// The trace the guard belongs to.
    pub fn parent(&self) -> &crate::deopt::TraceInfo {
        // SAFETY: pinned (see the type).
        unsafe { &*self.parent }
    }

    /// The guard's index in its trace.
    pub fn guard(&self) -> u32 {
        self.guard
    }
}

impl fmt::Debug for GuardStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardStart")
            .field("parent", &self.parent().trace_no)
            .field("guard", &self.guard)
            .finish()
    }
}

impl TraceStart {
    /// For a side trace: the number of the trace whose guard it starts at
    /// ([`crate::deopt::TraceInfo::trace_no`]) and the guard.
    pub fn guard(&self) -> Option<(u64, u32)> {
        match self {
            TraceStart::Loop(_) => None,
            TraceStart::Guard(g) => Some((g.parent().trace_no, g.guard)),
        }
    }
}

/// A finished recording.
#[derive(Debug)]
pub struct RecordedTrace {
    /// `(function index, block index)` of each recorded block, in the embedded module.
    pub blocks: Vec<(u32, u32)>,
    /// The values `yk_promote` returned, in order.
    pub promotes: Vec<u64>,
    /// The results of `yk_idempotent` calls, in order.
    pub idempotents: Vec<u64>,
    /// Where the trace starts: a loop (its location's control point) or a
    /// guard.
    pub start: TraceStart,
    /// The location of the trace: where a root trace starts, the root's for
    /// a side trace (the location the log's lines name).
    pub start_loc: LocationPtr,
    /// Where the recording ended: `None` at `start_loc` (the trace is a
    /// loop), else at the control point of this other location, which had
    /// a trace (the trace runs into it: an outer loop's trace ending at
    /// its inner loop's).
    pub end_loc: Option<LocationPtr>,
    /// The embedded-module index of the function containing the control point.
    pub cp_func_idx: u64,
    /// How long recording took.
    pub recording_time: Duration,
    /// The `MT`'s flush generation when the recording finished (see
    /// `MT::flush`): the compiled trace is dropped unused if a flush has
    /// happened since.
    pub generation: u64,
}

/// A compiled trace, owned by its location.
pub trait CompiledTrace: Send + Sync + 'static {
    /// Run the trace from its start location; the result is what the control
    /// point returns (0, or non-zero for "the interpreter function must return").
    ///
    /// # Safety
    /// `vars` is the `YkCtrlPointVars` of the control point the trace was recorded
    /// at, as passed to `__ykrt_control_point`.
    unsafe fn execute(&self, vars: *mut c_void) -> u64;

    /// How a root trace that ends at this trace's location may enter this
    /// trace directly, without returning to the runtime (see
    /// [`DirectEntry`]); `None` (the default): only through
    /// [`CompiledTrace::execute`].
    fn direct_entry(&self) -> Option<DirectEntry> {
        None
    }
}

/// A trace's entry for direct jumps: a root trace that leaves at another
/// location's control point (at the end of a linear trace, or after a guard
/// exit whose side trace or blackhole run ended there) leaves, when that
/// location has a trace with a direct entry of the current flush
/// generation, by a tail call of
/// `*code` with the interpreter state in `vars`, the trace's own `info` and
/// the jumping trace's buffer (so the entered trace needs no more than
/// `deopt::SMALL_BUF` slots), instead of returning the jump to
/// `MT::control_point_raw`. The compiler reads it from the location's
/// installed box (`location::Installed::direct`) in the jumping trace's
/// code. Null fields: no direct entry.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub struct DirectEntry {
    /// Where the trace function's address is (it changes when the trace
    /// is recompiled at a higher tier: read at each jump).
    pub code: *const std::sync::atomic::AtomicUsize,
    /// The trace's `deopt::TraceInfo`.
    pub info: *const crate::deopt::TraceInfo,
}

impl DirectEntry {
    /// No direct entry.
    pub const NONE: DirectEntry = DirectEntry {
        code: std::ptr::null(),
        info: std::ptr::null(),
    };
}

// SAFETY: plain addresses into a trace its location owns, read only by
// trace code while that trace is installed (see `Installed`).
unsafe impl Send for DirectEntry {}
unsafe impl Sync for DirectEntry {}

/// A compiled trace, of the kind its [`TraceStart`] asked for.
pub enum Compiled {
    /// A root trace, owned by its location.
    Root(Arc<dyn CompiledTrace>),
    /// A side trace, owned by its guard.
    Side(crate::deopt::SideTrace),
}

/// Why a trace could not be compiled: one of four kinds, each carrying the
/// [`Abort`] (its [`AbortKind`], which the stats count, and the message the
/// log's `trace-aborted:` line shows). [`From<Abort>`](CompileError::from)
/// picks the kind from the abort's; what the runtime does next depends on
/// it ([`CompileError::retry`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompileError {
    /// This recording failed for a reason another recording of the same
    /// location may not meet: LLVM failed to optimise, generate or link its
    /// code ([`AbortKind::Backend`]), or the recording does not fit the
    /// embedded IR ([`AbortKind::Recording`]), or no trace compiler is
    /// installed yet (`MT::set_trace_compiler`). The location backs off and
    /// tries again later.
    Temporary(Abort),
    /// The trace is over a length limit ([`AbortKind::TooLong`]: the walk,
    /// the trace IR, the LLVM instructions). The location backs off: a
    /// later recording may take a shorter path.
    Limit(Abort),
    /// Something the compiler can't handle: on the recorded path
    /// ([`AbortKind::Unsupported`]: the location backs off, another path may
    /// do), or anywhere ([`AbortKind::NoCompiler`]: no usable trace compiler
    /// or embedded IR; the location is never traced again).
    Unsupported(Abort),
    /// A bug in the JIT ([`AbortKind::Internal`]: the trace failed LLVM's
    /// verifier, the builder met an inconsistency, the compiler panicked).
    /// It would recur: the location is never traced again.
    Internal(Abort),
}

impl CompileError {
    /// Why.
    pub fn abort(&self) -> &Abort {
        match self {
            CompileError::Temporary(a)
            | CompileError::Limit(a)
            | CompileError::Unsupported(a)
            | CompileError::Internal(a) => a,
        }
    }

    /// May a later recording of the same location compile? If not, the
    /// location is marked don't-trace.
    pub fn retry(&self) -> bool {
        match self {
            CompileError::Temporary(_) | CompileError::Limit(_) => true,
            CompileError::Unsupported(a) => a.kind != AbortKind::NoCompiler,
            CompileError::Internal(_) => false,
        }
    }

    /// The kind's name: `temporary`, `limit`, `unsupported` or `internal`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            CompileError::Temporary(_) => "temporary",
            CompileError::Limit(_) => "limit",
            CompileError::Unsupported(_) => "unsupported",
            CompileError::Internal(_) => "internal",
        }
    }
}

impl From<Abort> for CompileError {
    /// The compile error of `a`'s kind: too long is a limit, unsupported
    /// paths and a missing compiler are unsupported, internal errors
    /// internal, and the rest (LLVM's failures, recordings that don't fit)
    /// temporary.
    fn from(a: Abort) -> CompileError {
        match a.kind {
            AbortKind::TooLong => CompileError::Limit(a),
            AbortKind::Unsupported | AbortKind::NoCompiler => CompileError::Unsupported(a),
            AbortKind::Internal => CompileError::Internal(a),
            AbortKind::Recording
            | AbortKind::ThreadExit
            | AbortKind::Hardware
            | AbortKind::Backend
            | AbortKind::Disabled
            | AbortKind::FrameLeft => CompileError::Temporary(a),
        }
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.abort().fmt(f)
    }
}

impl std::error::Error for CompileError {}

/// Compiles recordings into traces. Implemented by the trace compiler and
/// installed with `MT::set_trace_compiler`.
pub trait TraceCompiler: Send + Sync + 'static {
    /// Compile `trace`: a root trace ([`Compiled::Root`]) if it starts at a
    /// loop, a side trace ([`Compiled::Side`]) if it starts at a guard
    /// ([`TraceStart`]); a compiler without side traces refuses those with
    /// [`unsupported_side_trace`]. May be called from any thread,
    /// concurrently for different traces. `mt` gives access to the log
    /// (`mt.log()`), e.g. for `YKD_LOG_IR`.
    fn compile(&self, mt: &MT, trace: &RecordedTrace) -> Result<Compiled, CompileError>;

    /// Stop for good: wait for any compilation this compiler runs on a
    /// thread of its own (recompilations) to finish, and start no more.
    /// Called by `MT::shutdown` and when the process exits, before the
    /// process's exit handlers tear down what a compilation in progress
    /// would be using (LLVM's static data).
    fn quiesce(&self) {}
}

/// What a compiler without side traces answers for a trace that starts at
/// a guard.
pub fn unsupported_side_trace() -> CompileError {
    CompileError::from(Abort::unsupported(
        "side traces are not supported by this compiler",
    ))
}

/// Runs `compile`, turning a panic in it (an IR construct the trace builder
/// did not expect, say) into an internal error naming it: the trace is
/// aborted with that reason (its location is never traced again) and the
/// program goes on, instead of the panic
/// ending the compile thread or unwinding into the interpreter's C frames.
/// (With `panic = "abort"`, as in a Rust interpreter's release build, a
/// panic still aborts.)
pub(crate) fn guarded<T>(
    compile: impl FnOnce() -> Result<T, CompileError>,
) -> Result<T, CompileError> {
    // The compiler's own state is behind a mutex whose poisoning it ignores
    // (a half-built trace module is dropped while unwinding): asserting
    // unwind safety is what lets the next trace be compiled.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(compile)).unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into());
        Err(CompileError::from(Abort::new(
            AbortKind::Internal,
            format!("the trace compiler failed: {msg}"),
        )))
    })
}

/// What the compile thread compiles: a trace, root or side.
struct Job {
    mt: Arc<MT>,
    compiler: Arc<dyn TraceCompiler>,
    trace: RecordedTrace,
}

impl Job {
    fn run(self) {
        self.mt.compile_now(&*self.compiler, self.trace);
    }

    fn is_side(&self) -> bool {
        matches!(self.trace.start, TraceStart::Guard(_))
    }
}

/// A background compile thread, started on first use, fed through a queue
/// in which side traces go before root traces: a guard waiting for its side
/// trace fails into the blackhole at each pass, a loop waiting for its root
/// trace only runs in the interpreter. Jobs hold an `Arc<MT>`, the thread
/// does not: when the `MT` (and with it this queue) is dropped, the thread
/// ends.
#[derive(Default)]
pub(crate) struct CompileQueue {
    shared: Arc<Shared>,
}

/// What the queue shares with its thread.
#[derive(Default)]
struct Shared {
    state: Mutex<QueueState>,
    /// Signalled when a job is queued or the queue is dropped.
    work: Condvar,
    /// Signalled when `pending` drops to 0.
    idle: Condvar,
}

#[derive(Default)]
struct QueueState {
    jobs: std::collections::VecDeque<Job>,
    /// Jobs queued or running.
    pending: usize,
    /// Whether the compile thread was started.
    started: bool,
    /// Whether the queue was dropped: the thread ends once it is empty.
    closed: bool,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The compile thread: runs jobs until the queue is dropped.
    fn run(&self) {
        loop {
            let job = {
                let mut st = self.lock();
                loop {
                    if let Some(j) = st.jobs.pop_front() {
                        break j;
                    }
                    if st.closed {
                        return;
                    }
                    st = self.work.wait(st).unwrap_or_else(|e| e.into_inner());
                }
            };
            job.run();
            self.job_done();
        }
    }

    fn job_done(&self) {
        let mut st = self.lock();
        st.pending -= 1;
        if st.pending == 0 {
            self.idle.notify_all();
        }
    }
}

impl Drop for CompileQueue {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.work.notify_all();
    }
}

impl fmt::Debug for CompileQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompileQueue").finish_non_exhaustive()
    }
}

impl CompileQueue {
    /// Queue `trace` for compilation by `compiler` on the compile thread: a
    /// side trace before the root traces waiting there.
    pub(crate) fn push(&self, mt: Arc<MT>, compiler: Arc<dyn TraceCompiler>, trace: RecordedTrace) {
        let job = Job {
            mt,
            compiler,
            trace,
        };
        let mut st = self.shared.lock();
        if !st.started {
            let shared = self.shared.clone();
            let spawned = std::thread::Builder::new()
                .name("yk-compile".into())
                .spawn(move || shared.run());
            if let Err(e) = spawned {
                drop(st);
                job.mt
                    .log()
                    .error(&format!("cannot start the compile thread: {e}"));
                job.run();
                return;
            }
            st.started = true;
        }
        st.pending += 1;
        if job.is_side() {
            // After the side traces already waiting, before the roots.
            let at = st
                .jobs
                .iter()
                .position(|j| !j.is_side())
                .unwrap_or(st.jobs.len());
            st.jobs.insert(at, job);
        } else {
            st.jobs.push_back(job);
        }
        self.shared.work.notify_one();
    }

    /// Drop the compilations still queued (not run: the process is
    /// exiting) and block until the one running, if any, has finished.
    pub(crate) fn abandon(&self) {
        let dropped: Vec<Job> = {
            let mut st = self.shared.lock();
            let jobs: Vec<Job> = st.jobs.drain(..).collect();
            st.pending -= jobs.len();
            if st.pending == 0 {
                self.shared.idle.notify_all();
            }
            jobs
        };
        // Jobs hold `Arc<MT>`s: dropped without the queue's lock.
        drop(dropped);
        self.wait_idle();
    }

    /// Block until every queued compilation has finished.
    pub(crate) fn wait_idle(&self) {
        let mut st = self.shared.lock();
        while st.pending > 0 {
            st = self.shared.idle.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compile_errors_take_their_kind_from_the_abort() {
        for k in AbortKind::ALL {
            let e = CompileError::from(Abort::new(k, "why"));
            let want = match k {
                AbortKind::TooLong => "limit",
                AbortKind::Unsupported | AbortKind::NoCompiler => "unsupported",
                AbortKind::Internal => "internal",
                _ => "temporary",
            };
            assert_eq!(e.kind_name(), want, "{k:?}");
            assert_eq!(e.abort().kind, k, "the abort is kept");
            assert_eq!(e.to_string(), "why");
            assert_eq!(
                e.retry(),
                !matches!(k, AbortKind::Internal | AbortKind::NoCompiler),
                "{k:?}"
            );
        }
        // No compiler installed yet: the location tries again.
        let later = CompileError::Temporary(Abort::new(AbortKind::NoCompiler, "not yet"));
        assert!(later.retry());
    }
}
