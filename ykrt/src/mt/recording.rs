//! The recording side of [`MT`]: starting and stopping a recording at a
//! location, handing the result to the compiler (on the compile thread or
//! here), installing what it compiled, and what happens to a location when a
//! recording or its compilation fails. The control point (`mt.rs`) calls in
//! here; these functions own the transitions `Counting -> Tracing(owner)`,
//! `Tracing(owner) -> Tracing(0)` (compiling) and `Tracing(0) -> Compiled` or
//! back to `Counting`/`DontTrace`.

use super::*;

impl MT {
    #[cold]
    #[inline(never)]
    pub(super) fn start_tracing(
        &self,
        loc: &Location,
        word: usize,
        failures: u8,
        cp_func_idx: u64,
        vars: *mut c_void,
    ) {
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
        if self.over_budget(1) {
            // Count again from zero: the loop is retried later, when the
            // program has run long enough for the budget to allow it.
            loc.transition(word, State::Counting { count: 0, failures });
            return;
        }
        // The module itself is parsed (once) by the trace compiler, off this
        // thread; here only what is cheap to check, unless the module's text
        // is wanted (`YKD_LOG_IR=aot`, for debugging) when the first
        // recording starts.
        let loaded = if self.log.ir_selection().aot {
            aotir::load(info, &self.log)
                .map(|_| ())
                .map_err(Clone::clone)
        } else {
            aotir::precheck(info)
        };
        if let Err(e) = loaded {
            static REPORTED: Once = Once::new();
            REPORTED.call_once(|| {
                self.log
                    .event(JitEvent::TraceAborted(&e.to_string()), Some(loc.into()))
            });
            loc.transition(word, State::DontTrace);
            return;
        }
        let owner = crate::location::thread_id();
        if !loc.transition(word, State::Tracing { owner, failures }) {
            return;
        }
        // After the transition: a thread that lost the race must not
        // replace the winner's claim.
        let claim = crate::location::Claim::new(loc);
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
        self.record(
            TraceStart::Loop(LoopStart { claim }),
            loc.into(),
            cp_func_idx,
            info.swt_flag(),
            pt,
            vars as usize,
            self.config.truncate == crate::config::Truncate::Always,
        );
    }

    /// Starts this thread's recording of a trace that starts at `start`
    /// (at location `loc`'s control point, or at a guard of a trace of
    /// `loc`), hooks sending blocks to the software recorder, or PT to
    /// `pt`, with the interpreter activation's `vars`; `truncate`: past the
    /// length limit the recording is truncated, not aborted.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn record(
        &self,
        start: TraceStart,
        loc: LocationPtr,
        cp_func_idx: u64,
        flag: *mut u8,
        pt: Option<crate::trace::hw::Pt>,
        vars: usize,
        truncate: bool,
    ) {
        swt::start(swt::Active {
            host: self.arc(),
            start,
            loc,
            owner: crate::location::thread_id(),
            cp_func_idx,
            started: Instant::now(),
            flag,
            max_len: self.config.trace_max_len,
            truncate,
            pt,
            vars,
        });
    }

    /// Ends this thread's recording, started at `start`, at the control
    /// point of `start` (`end` is `None`: the trace is a loop) or of another
    /// location `end`, which has a trace.
    #[cold]
    #[inline(never)]
    pub(super) fn stop_tracing(&self, start: LocationPtr, end: Option<&Location>) {
        let Some(fin) = swt::stop() else {
            return;
        };
        if let TraceStart::Guard(_) = fin.active.start {
            // This thread's recording is a side trace's, which cannot end
            // here as a root trace: given up, as any failed side recording.
            let reason =
                Abort::recording("a side trace's recording reached a root recording's end");
            return swt::RecordingHost::ended(self, fin.active, swt::Ended::Aborted(&reason));
        }
        self.finish_root(fin, start, end, false);
    }

    /// A root recording `fin`, started at `start`, ended at the control
    /// point of `start` or of `end`, or (`truncated`) at the length limit:
    /// counted, logged and handed to the compiler.
    fn finish_root(
        &self,
        mut fin: swt::Finished,
        start: LocationPtr,
        end: Option<&Location>,
        truncated: bool,
    ) {
        debug_assert_eq!(fin.active.loc, start);
        if let Some(pt) = fin.active.pt.take() {
            match pt.finish() {
                Ok(blocks) if blocks.len() <= fin.active.max_len => fin.blocks = blocks,
                Ok(_) => return self.hwt_failed(fin, &swt::abort_too_long()),
                Err(why) => {
                    let why = Abort::new(AbortKind::Hardware, format!("hwt: {why}"));
                    return self.hwt_failed(fin, &why);
                }
            }
        }
        let recording_time = fin.active.started.elapsed();
        self.stats.time(Timer::Tracing, recording_time);
        self.stats.count(Counter::TracesRecordedOk);
        self.log.event(
            if truncated {
                JitEvent::StopTracingTruncated
            } else {
                JitEvent::StopTracing
            },
            Some(start),
        );
        if truncated {
            self.stats.count(Counter::TracesTruncated);
        }
        let TraceStart::Loop(LoopStart { claim }) = fin.active.start else {
            return; // (A side recording: given up above.)
        };
        let compiling = claim.with(|loc| {
            let word = loc.load();
            let State::Tracing { failures, .. } = State::decode(word) else {
                return false;
            };
            loc.transition(word, State::Tracing { owner: 0, failures })
        });
        if compiling != Some(true) {
            return;
        }
        if end.is_some() {
            self.stats.count(Counter::TracesLinked);
        }
        let trace = RecordedTrace {
            blocks: fin.blocks,
            promotes: fin.promotes,
            idempotents: fin.idempotents,
            start: TraceStart::Loop(LoopStart { claim }),
            start_loc: start,
            end_loc: end.map(LocationPtr::from),
            truncated,
            cp_func_idx: fin.active.cp_func_idx,
            recording_time,
            generation: self.generation(),
        };
        if self.log.ir_selection().trace_blocks {
            self.log_trace_blocks(&trace);
        }
        match self.compiler() {
            None => {
                let claim = match &trace.start {
                    TraceStart::Loop(s) => Some(&s.claim),
                    TraceStart::Guard(_) => None,
                };
                self.compile_failed(
                    trace.start_loc,
                    claim,
                    CompileError::Temporary(Abort::new(
                        AbortKind::NoCompiler,
                        "trace compiler not available",
                    )),
                )
            }
            Some(c) => self.hand_over(c, trace),
        }
    }

    /// Hands `trace` (root or side) to `compiler`: on this thread with
    /// `YKD_SERIALISE_COMPILATION=1`, else on the compile thread.
    pub(super) fn hand_over(&self, compiler: Arc<dyn TraceCompiler>, trace: RecordedTrace) {
        if self.config.serialise_compilation {
            self.compile_now(&*compiler, trace);
        } else {
            self.queue.push(self.arc(), compiler, trace);
        }
    }

    /// Compile `trace` on this thread and install or reject the result.
    pub(crate) fn compile_now(&self, compiler: &dyn TraceCompiler, trace: RecordedTrace) {
        // A root trace whose location was dropped while it waited in the
        // queue is not compiled: nobody could run it.
        if let TraceStart::Loop(s) = &trace.start {
            if s.claim.with(|_| ()).is_none() {
                return;
            }
        }
        let clock = CompileClock::start();
        let r = crate::compile::guarded(|| compiler.compile(self, &trace));
        let (wall, cpu) = clock.elapsed();
        self.stats.compile_time(wall, cpu);
        let start_loc = trace.start_loc;
        let generation = trace.generation;
        match trace.start {
            TraceStart::Loop(s) => match r {
                Ok(Compiled::Root(ct)) => {
                    // Installed only if the location is still there, being
                    // compiled (a flush or a lost race drops the trace).
                    let installed = s.claim.with(|loc| {
                        let word = loc.load();
                        matches!(State::decode(word), State::Tracing { owner: 0, .. })
                            && loc.install(word, ct, generation, self.on_trace_freed())
                    });
                    if installed == Some(true) {
                        self.stats.count(Counter::TracesCompiledOk);
                        self.log.event(JitEvent::TraceCompiled, Some(start_loc));
                    }
                }
                Ok(Compiled::Side(_)) => self.compile_failed(
                    start_loc,
                    Some(&s.claim),
                    CompileError::from(Abort::internal(
                        "the compiler made a side trace of a root recording",
                    )),
                ),
                Err(e) => self.compile_failed(start_loc, Some(&s.claim), e),
            },
            TraceStart::Guard(g) => self.install_side(g, r),
        }
    }

    /// Root trace `start_loc` (with its claim, if it has one) could not be
    /// compiled: log and count why, and back the location off.
    pub(super) fn compile_failed(
        &self,
        start_loc: LocationPtr,
        claim: Option<&crate::location::Claim>,
        e: CompileError,
    ) {
        self.stats.count(Counter::TracesCompiledErr);
        self.stats.count_abort(e.abort().kind);
        self.log
            .event(JitEvent::TraceAborted(&e.abort().detail), Some(start_loc));
        if let Some(c) = claim {
            c.with(|loc| {
                let word = loc.load();
                if matches!(State::decode(word), State::Tracing { owner: 0, .. }) {
                    loc.back_off(
                        word,
                        if e.retry() {
                            Failure::of(e.abort().kind)
                        } else {
                            Failure::Permanent
                        },
                    );
                }
            });
        }
    }

    /// A hardware recording could not be turned into blocks: it is aborted
    /// as a software recording would be.
    pub(super) fn hwt_failed(&self, fin: swt::Finished, why: &Abort) {
        self.recording_aborted(&fin.active, why);
    }

    /// A recording by thread `owner` starting at `loc` was given up.
    pub(crate) fn recording_aborted(&self, a: &swt::Active, reason: &Abort) {
        self.stats.count(Counter::TracesRecordedErr);
        self.stats.count_abort(reason.kind);
        self.log
            .event(JitEvent::TraceAborted(&reason.detail), Some(a.loc));
        back_off_owned(a, Failure::of(reason.kind));
    }

    /// `YKD_LOG_IR=trace-blocks`: print the recording and whether it follows the
    /// AOT IR's control flow.
    pub(super) fn log_trace_blocks(&self, trace: &RecordedTrace) {
        let Some(Ok(idx)) = aot::info().map(|i| aotir::load(i, &self.log)) else {
            return;
        };
        let mut s = String::new();
        for &(f, b) in &trace.blocks {
            let name = idx.func(f).map_or("<unknown>", |f| f.name.as_str());
            s.push_str(&format!("yk-trace-block: {name} {b}\n"));
        }
        if trace.truncated {
            // It ends in the middle of the path, not at a control point.
            s.push_str("yk-trace-truncated\n");
        }
        match aotir::check_trace(idx, &trace.blocks) {
            Ok(()) => s.push_str("yk-trace-check: ok\n"),
            Err(e) => s.push_str(&format!("yk-trace-check: error: {e}\n")),
        }
        self.log.ir_section("trace-blocks", &s);
    }
}

impl swt::RecordingHost for MT {
    fn ended(&self, a: swt::Active, how: swt::Ended<'_>) {
        if let Some(side) = a.side() {
            // SAFETY: the recording's start (kept to the end of this call)
            // pins the trace.
            let info = unsafe { &*side.info };
            return self.side_recording_ended(info, side.guard, how);
        }
        match how {
            swt::Ended::Aborted(reason) => self.recording_aborted(&a, reason),
            swt::Ended::Deferred(reason, f) => self.recording_deferred(&a, reason, f),
            swt::Ended::Cut(reason) => self.recording_deferred(&a, reason, Failure::Once),
        }
    }

    fn cut_entry(&self, cut: &entries::Hint) -> Option<String> {
        MT::cut_entry(self, cut)
    }

    fn truncated(&self, fin: swt::Finished) {
        match fin.active.side() {
            Some(_) => self.finish_side(fin, true),
            None => {
                let start = fin.active.loc;
                self.finish_root(fin, start, None, true)
            }
        }
    }
}
