//! The trace compiler as the [`MT`] sees it: the interface a compiler
//! implements ([`TraceCompiler`], taking the `MT` for its log, stats and
//! configuration) and the `MT`'s compile queue and thread
//! ([`CompileQueue`]).

use super::MT;
use crate::compile::{CompileError, Compiled, RecordedTrace, TraceStart};
use std::{
    fmt,
    sync::{Arc, Condvar, Mutex},
};

/// Compiles recordings into traces. Implemented by the trace compiler and
/// installed with `MT::set_trace_compiler`.
pub trait TraceCompiler: Send + Sync + 'static {
    /// Compile `trace`: a root trace ([`Compiled::Root`]) if it starts at a
    /// loop, a side trace ([`Compiled::Side`]) if it starts at a guard
    /// ([`TraceStart`]); a compiler without side traces refuses those with
    /// [`crate::compile::unsupported_side_trace`]. May be called from any thread,
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

/// Makes the calling thread's malloc arena large once, in big steps.
///
/// A compile thread allocates and frees megabytes per trace (LLVM's IR, the
/// trace IR, code generation). glibc gives each thread an arena that grows
/// one `mprotect` call per page as the thread first needs memory (1,300
/// calls while `sieve`'s traces compile), and each call makes the kernel
/// shoot down the TLBs of the process's other cores. Allocating 16 MiB in
/// blocks just under the mmap threshold, then freeing them, grows it in
/// about 140 calls; memory given back later stays within what was
/// protected once (touched pages are still faulted in on use).
pub(crate) fn pregrow_arena() {
    const STEP: usize = 120 << 10;
    const TOTAL: usize = 16 << 20;
    let blocks: Vec<Vec<u8>> = (0..TOTAL / STEP)
        .map(|_| Vec::with_capacity(STEP))
        .collect();
    drop(std::hint::black_box(blocks));
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
                .spawn(move || {
                    pregrow_arena();
                    shared.run()
                });
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
