//! The side-trace side of [`MT`]: a guard's side trace from the start of its
//! recording (by the blackhole, `crate::deopt`) to its installation on the
//! guard. From the end of its recording a side trace is a trace like any
//! other: a [`RecordedTrace`] that starts at a guard
//! ([`TraceStart::Guard`]), compiled through the same queue and
//! [`MT::compile_now`] as root traces; only where the result goes differs
//! ([`MT::install_side`]).
//!
//! A guard's side-trace state (`guard::GuardInfo::side_state`) goes from
//! idle to recording when the blackhole starts its recording, then to
//! failed if the recording or the compilation fails (the guard is never
//! recorded again), or back to idle if the recording was cut
//! (`crate::trace::entries`).

use super::*;
use crate::compile::GuardStart;
use crate::guard::{TraceInfo, SIDE_FAILED, SIDE_IDLE, SIDE_TOO_LONG, SMALL_BUF};

impl MT {
    /// Starts this thread's software recording of a side trace of guard
    /// `guard` of `info` (the blackhole then records the blocks it runs).
    /// `truncate`: the recording is truncated at the length limit rather
    /// than aborted (`YKD_TRUNCATE`).
    pub(crate) fn start_side_tracing(
        &self,
        info: &TraceInfo,
        guard: u32,
        vars: usize,
        truncate: bool,
    ) {
        let Some(aot) = aot::info() else {
            return;
        };
        let start = TraceStart::Guard(GuardStart {
            parent: info,
            guard,
            _pin: crate::reclaim::Pin::new(),
        });
        // The blackhole records the side trace's first blocks itself: swt.
        self.record(
            start,
            info.start_loc,
            info.cp_func_idx,
            aot.swt_flag(),
            None,
            vars,
            truncate,
        );
    }

    /// Ends this thread's side-trace recording, at a control point it may
    /// end at (its root's location, a compiled one, a cut), and hands it to
    /// the compiler.
    pub(crate) fn stop_side_tracing(&self) {
        let Some(fin) = swt::stop() else {
            return;
        };
        self.finish_side(fin, false);
    }

    /// A side-trace recording `fin` ended at a control point it may end
    /// at, or (`truncated`) at the length limit: handed to the compiler.
    pub(super) fn finish_side(&self, fin: swt::Finished, truncated: bool) {
        let recording_time = fin.active.started.elapsed();
        if truncated {
            self.stats.count(Counter::TracesTruncated);
        }
        let TraceStart::Guard(start) = fin.active.start else {
            // The side recording was given up during the blackhole run, and
            // a root recording started meanwhile (in interpreter code the
            // blackhole called): it cannot end here, and is given up as a
            // failed root recording (its location backs off).
            let reason = Abort::recording("a root recording reached the end of a side trace");
            return swt::RecordingHost::ended(self, fin.active, swt::Ended::Aborted(&reason));
        };
        // SAFETY: the start pins the trace.
        let info = unsafe { &*start.parent };
        let guard = start.guard as usize;
        let trace = RecordedTrace {
            blocks: fin.blocks,
            promotes: fin.promotes,
            idempotents: fin.idempotents,
            start: TraceStart::Guard(start),
            start_loc: info.start_loc,
            end_loc: None,
            truncated,
            cp_func_idx: info.cp_func_idx,
            recording_time,
            generation: self.generation(),
        };
        self.stats.time(Timer::Tracing, recording_time);
        let Some(c) = self.compiler() else {
            info.guards[guard]
                .side_state
                .store(SIDE_FAILED, Ordering::Release);
            return;
        };
        self.hand_over(c, trace);
    }

    /// A side-trace recording of guard `guard` of `info` was given up (see
    /// [`swt::Ended`]): log why. An abort or a deferral fails the guard for
    /// good; a cut sends it back to waiting for `YK_SIDETRACE_THRESHOLD`
    /// failures, to be recorded again then, ending at the cut (bounded:
    /// every cut makes a new location, from the recordings' null entries).
    pub(super) fn side_recording_ended(&self, info: &TraceInfo, guard: u32, how: swt::Ended<'_>) {
        let g = &info.guards[guard as usize];
        match how {
            swt::Ended::Cut(reason) => {
                self.stats.count(Counter::TracesDeferred);
                self.log
                    .event(JitEvent::TraceDeferred(reason), Some(info.start_loc));
                g.fails.store(0, Ordering::Relaxed);
                g.side_state.store(SIDE_IDLE, Ordering::Release);
            }
            swt::Ended::Aborted(reason) => self.side_failed(info, guard, reason),
            swt::Ended::Deferred(reason, _) => {
                self.side_failed(info, guard, &Abort::recording(reason))
            }
        }
    }

    /// Guard `guard`'s side trace could not be recorded or compiled
    /// (`reason`): count and log it; the guard won't try again.
    fn side_failed(&self, info: &TraceInfo, guard: u32, reason: &Abort) {
        self.stats.count_abort(reason.kind);
        self.log
            .event(JitEvent::TraceAborted(&reason.detail), Some(info.start_loc));
        let g = &info.guards[guard as usize];
        // A first recording that was too long may be retried truncated
        // (`guard::TRUNCATE_AFTER`).
        let state = if reason.kind == crate::abort::AbortKind::TooLong
            && !g.side_retried.load(Ordering::Relaxed)
        {
            SIDE_TOO_LONG
        } else {
            SIDE_FAILED
        };
        g.side_state.store(state, Ordering::Release);
    }

    /// Installs the side trace compiled (`r`) from the recording that
    /// started at `start` on its guard, or marks the guard as having none.
    pub(super) fn install_side(&self, start: GuardStart, r: Result<Compiled, CompileError>) {
        let info = start.parent();
        let guard = start.guard;
        let g = &info.guards[guard as usize];
        let r = match r {
            Ok(Compiled::Side(side)) => Ok(side),
            Ok(Compiled::Root(_)) => Err(CompileError::from(Abort::internal(
                "the compiler made a root trace of a side recording",
            ))),
            Err(e) => Err(e),
        };
        match r {
            Ok(mut side) => {
                info.adopt_side(&mut side.info);
                let direct = side.info.nslots <= SMALL_BUF;
                if g.side.set(side).is_ok() && direct {
                    // From now on the guard calls it without coming here.
                    let p = g.side.get().unwrap() as *const _ as *mut _;
                    // SAFETY: one slot per guard.
                    unsafe { &*info.side_slots.add(guard as usize) }.store(p, Ordering::Release);
                }
                self.stats.count(Counter::SideTracesCompiled);
                self.log
                    .event(JitEvent::SideTraceCompiled, Some(info.start_loc));
            }
            Err(e) => self.side_failed(info, guard, e.abort()),
        }
    }
}
