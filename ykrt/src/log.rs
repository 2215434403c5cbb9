//! Logging: JIT event lines (`YKD_LOG`), IR dumps (`YKD_LOG_IR`), and the sinks
//! they write to.
//!
//! Each line is formatted first and written with one `write` call, so lines from
//! several threads do not interleave.

use crate::{
    config::{Config, IrLogSelection, LogDest},
    location::LocationPtr,
};
use std::{
    collections::HashMap,
    fmt,
    fs::File,
    io::{self, Write},
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex, RwLock,
    },
};

/// `YKD_LOG` level of errors and warnings (the default).
pub const LEVEL_ERROR: u8 = 1;
/// `YKD_LOG` level of JIT events (`yk-jit-event: ...`).
pub const LEVEL_JIT_EVENT: u8 = 3;
/// `YKD_LOG` level of per-execution detail (reserved for the trace executor).
pub const LEVEL_EXECUTION: u8 = 4;

/// A JIT event, logged at [`LEVEL_JIT_EVENT`] as `yk-jit-event: <event>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JitEvent<'a> {
    /// A location became hot and this thread started recording.
    StartTracing,
    /// The recording thread came back to the start location.
    StopTracing,
    /// A root recording grew past the length limit and was stopped there:
    /// its trace ends at the last control point it passed.
    StopTracingTruncated,
    /// A root trace was compiled and installed.
    TraceCompiled,
    /// A recording or compilation was given up, for the given reason.
    TraceAborted(&'a str),
    /// A root recording was given up, for the given reason, so that an
    /// inner loop is traced first; its location will be recorded again.
    TraceDeferred(&'a str),
    /// A root trace was given up: a guard kept failing while the compile
    /// budget refused its side trace.
    TraceSuspended,
    /// A trace given up for good (`MT::give_up`).
    TraceGivenUp,
    /// A trace retired because its tree lost to the interpreter
    /// (`MT::retire_losing`).
    TraceLosing,
    /// A compiled trace is about to run.
    EnterJitCode,
    /// A guard failed and execution left a trace.
    Deoptimise,
    /// A side trace was compiled and attached to its guard.
    SideTraceCompiled,
    /// A root trace's side path became its hot path: the location is
    /// recorded again (re-optimisation).
    TraceReRecorded,
}

impl JitEvent<'_> {
    /// Is this the outcome of a recording (a trace compiled, a side trace
    /// compiled, a trace aborted or re-recorded), what a [`TraceObserver`]
    /// sees? The other events happen too often to pass on.
    pub fn is_outcome(&self) -> bool {
        matches!(
            self,
            JitEvent::TraceCompiled
                | JitEvent::SideTraceCompiled
                | JitEvent::TraceAborted(_)
                | JitEvent::TraceDeferred(_)
                | JitEvent::TraceReRecorded
        )
    }
}

/// Called with every outcome event (see [`JitEvent::is_outcome`]) and the
/// debug string of its location, if it has one, whatever the `YKD_LOG` level:
/// e.g. an interpreter's readable trace log (`yklua -jv`). May be called on
/// any thread, the compile thread included.
pub type TraceObserver = Arc<dyn Fn(JitEvent<'_>, Option<&str>) + Send + Sync>;

impl fmt::Display for JitEvent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JitEvent::StartTracing => f.write_str("start-tracing"),
            JitEvent::StopTracing => f.write_str("stop-tracing"),
            JitEvent::StopTracingTruncated => {
                f.write_str("stop-tracing: truncated at the length limit")
            }
            JitEvent::TraceCompiled => f.write_str("trace-compiled"),
            JitEvent::TraceAborted(r) => write!(f, "trace-aborted: {r}"),
            JitEvent::TraceDeferred(r) => write!(f, "trace-deferred: {r}"),
            JitEvent::TraceSuspended => f.write_str("trace-suspended"),
            JitEvent::TraceGivenUp => f.write_str("trace-given-up"),
            JitEvent::TraceLosing => f.write_str("trace-losing"),
            JitEvent::EnterJitCode => f.write_str("enter-jit-code"),
            JitEvent::Deoptimise => f.write_str("deoptimise"),
            JitEvent::SideTraceCompiled => f.write_str("side-trace-compiled"),
            JitEvent::TraceReRecorded => f.write_str("trace-re-recorded"),
        }
    }
}

/// Where log text goes: stderr, or a file shared by every user of the same path in
/// this process (so `YKD_LOG` and `YKD_LOG_IR` can name the same file, and two
/// `MT`s do not truncate each other's output).
#[derive(Clone, Debug)]
pub struct Sink(Option<Arc<Mutex<File>>>);

static OPEN_FILES: Mutex<Option<HashMap<PathBuf, Arc<Mutex<File>>>>> = Mutex::new(None);

impl Sink {
    /// Open `dest`; a file is created (truncated) the first time this process
    /// opens it.
    pub fn open(dest: &LogDest) -> io::Result<Sink> {
        match dest {
            LogDest::Stderr => Ok(Sink(None)),
            LogDest::File(p) => {
                let mut files = OPEN_FILES.lock().unwrap_or_else(|e| e.into_inner());
                let files = files.get_or_insert_with(HashMap::new);
                if let Some(f) = files.get(p) {
                    return Ok(Sink(Some(Arc::clone(f))));
                }
                let f = Arc::new(Mutex::new(File::create(p)?));
                files.insert(p.clone(), Arc::clone(&f));
                Ok(Sink(Some(f)))
            }
        }
    }

    /// Write `s` in one go. Errors are ignored: logging must never take the
    /// interpreter down.
    pub fn write_str(&self, s: &str) {
        match &self.0 {
            None => {
                let _ = io::stderr().lock().write_all(s.as_bytes());
            }
            Some(f) => {
                let mut f = f.lock().unwrap_or_else(|e| e.into_inner());
                let _ = f.write_all(s.as_bytes());
            }
        }
    }
}

/// An `MT`'s logger.
pub struct Log {
    level: u8,
    sink: Sink,
    ir: IrLogSelection,
    ir_sink: Sink,
    /// `observer.is_some()`, readable without the lock.
    observed: AtomicBool,
    observer: RwLock<Option<TraceObserver>>,
}

impl fmt::Debug for Log {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Log")
            .field("level", &self.level)
            .field("sink", &self.sink)
            .field("ir", &self.ir)
            .field("ir_sink", &self.ir_sink)
            .field("observed", &self.observed)
            .finish_non_exhaustive()
    }
}

impl Log {
    /// The logger `config` asks for.
    pub fn new(config: &Config) -> io::Result<Log> {
        let open = |dest: &LogDest, var: &str| {
            Sink::open(dest).map_err(|e| {
                let LogDest::File(p) = dest else {
                    unreachable!()
                };
                io::Error::new(
                    e.kind(),
                    format!("{var}: cannot create {}: {e}", p.display()),
                )
            })
        };
        let sink = if config.log_level > 0 {
            open(&config.log_dest, "YKD_LOG")?
        } else {
            Sink(None)
        };
        let ir_sink = if config.log_ir != IrLogSelection::default() {
            open(&config.log_ir_dest, "YKD_LOG_IR")?
        } else {
            Sink(None)
        };
        Ok(Log {
            level: config.log_level,
            sink,
            ir: config.log_ir,
            ir_sink,
            observed: AtomicBool::new(false),
            observer: RwLock::new(None),
        })
    }

    /// The `YKD_LOG` level.
    pub fn level(&self) -> u8 {
        self.level
    }

    /// Would a line at `level` be written? Check this before building an expensive
    /// message.
    pub fn enabled(&self, level: u8) -> bool {
        self.level >= level
    }

    /// Log `event` about the location `loc` (whose debug string, if any, follows
    /// after ` @ `).
    /// Outcome events also go to the [`TraceObserver`], if one is set.
    #[inline]
    pub fn event(&self, event: JitEvent<'_>, loc: Option<LocationPtr>) {
        // Inline up to here: events are logged once per trace run.
        let observe = event.is_outcome() && self.observed.load(Ordering::Acquire);
        let write = self.enabled(LEVEL_JIT_EVENT);
        if observe || write {
            self.event_out(event, loc, observe, write);
        }
    }

    /// The rest of [`Log::event`]: to the observer and the sink.
    #[cold]
    fn event_out(&self, event: JitEvent<'_>, loc: Option<LocationPtr>, observe: bool, write: bool) {
        let debug = loc.and_then(|l| l.debug_str());
        if observe {
            let observer = self
                .observer
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            if let Some(f) = observer {
                f(event, debug.as_deref());
            }
        }
        if write {
            self.sink.write_str(&event_line(event, debug));
        }
    }

    /// Set (or with `None` remove) the [`TraceObserver`].
    pub fn set_observer(&self, f: Option<TraceObserver>) {
        let mut o = self.observer.write().unwrap_or_else(|e| e.into_inner());
        self.observed.store(f.is_some(), Ordering::Release);
        *o = f;
    }

    /// Log an error (`yk-error: msg`).
    pub fn error(&self, msg: &str) {
        if self.enabled(LEVEL_ERROR) {
            self.sink.write_str(&format!("yk-error: {msg}\n"));
        }
    }

    /// Log an error that stops the process (`yk-error: msg`): like
    /// [`Log::error`], but on stderr if the log is off (`YKD_LOG=0`), so
    /// that the reason is never lost.
    pub fn fatal(&self, msg: &str) {
        if self.enabled(LEVEL_ERROR) {
            self.error(msg);
        } else {
            eprintln!("yk-error: {msg}");
        }
    }

    /// Log a warning (`yk-warning: msg`).
    pub fn warning(&self, msg: &str) {
        if self.enabled(LEVEL_ERROR) {
            self.sink.write_str(&format!("yk-warning: {msg}\n"));
        }
    }

    /// Write a raw line (a `\n` is added) to the `YKD_LOG` sink at `level`.
    pub fn line(&self, level: u8, msg: &str) {
        if self.enabled(level) {
            self.sink.write_str(&format!("{msg}\n"));
        }
    }

    /// What `YKD_LOG_IR` selected.
    pub fn ir_selection(&self) -> IrLogSelection {
        self.ir
    }

    /// Write an IR dump to the `YKD_LOG_IR` sink, between `--- Begin <what> ---` and
    /// `--- End <what> ---` lines. The caller checks [`Log::ir_selection`].
    pub fn ir_section(&self, what: &str, body: &str) {
        let nl = if body.ends_with('\n') { "" } else { "\n" };
        self.ir_sink.write_str(&format!(
            "--- Begin {what} ---\n{body}{nl}--- End {what} ---\n"
        ));
    }
}

fn event_line(event: JitEvent<'_>, debug: Option<String>) -> String {
    match debug {
        Some(d) => format!("yk-jit-event: {event} @ {d}\n"),
        None => format!("yk-jit-event: {event}\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_lines() {
        assert_eq!(
            event_line(JitEvent::StartTracing, None),
            "yk-jit-event: start-tracing\n"
        );
        assert_eq!(
            event_line(JitEvent::TraceAborted("trace too long"), Some("l1".into())),
            "yk-jit-event: trace-aborted: trace too long @ l1\n"
        );
        for (e, s) in [
            (JitEvent::StopTracing, "stop-tracing"),
            (JitEvent::TraceCompiled, "trace-compiled"),
            (JitEvent::EnterJitCode, "enter-jit-code"),
            (JitEvent::Deoptimise, "deoptimise"),
            (JitEvent::SideTraceCompiled, "side-trace-compiled"),
            (JitEvent::TraceReRecorded, "trace-re-recorded"),
        ] {
            assert_eq!(e.to_string(), s);
        }
    }

    #[test]
    fn shared_file_sinks() {
        let p = std::env::temp_dir().join(format!("ykrt-log-test-{}.log", std::process::id()));
        let c = Config {
            log_level: 3,
            log_dest: LogDest::File(p.clone()),
            log_ir: IrLogSelection {
                aot: true,
                ..Default::default()
            },
            log_ir_dest: LogDest::File(p.clone()),
            ..Config::default()
        };
        let log = Log::new(&c).unwrap();
        log.event(JitEvent::StartTracing, None);
        log.ir_section("aot", "IR");
        // A second logger on the same file appends rather than truncating.
        Log::new(&c).unwrap().event(JitEvent::StopTracing, None);
        let s = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            s,
            "yk-jit-event: start-tracing\n--- Begin aot ---\nIR\n--- End aot ---\n\
             yk-jit-event: stop-tracing\n"
        );
        let _ = std::fs::remove_file(p);
    }

    #[test]
    fn fatal_errors_are_written_at_the_default_level() {
        let p = std::env::temp_dir().join(format!("ykrt-log-fatal-{}.log", std::process::id()));
        let c = Config {
            log_dest: LogDest::File(p.clone()),
            ..Config::default()
        };
        assert_eq!(c.log_level, LEVEL_ERROR, "errors are logged by default");
        let log = Log::new(&c).unwrap();
        log.event(JitEvent::StartTracing, None);
        log.fatal("internal error in the blackhole: x");
        let s = std::fs::read_to_string(&p).unwrap();
        assert_eq!(s, "yk-error: internal error in the blackhole: x\n");
        let _ = std::fs::remove_file(p);
    }

    #[test]
    fn observer_sees_outcomes_at_any_level() {
        let log = Log::new(&Config {
            log_level: 0,
            ..Config::default()
        })
        .unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::clone(&seen);
        log.set_observer(Some(Arc::new(move |e, d| {
            s.lock().unwrap().push(format!("{e} {}", d.unwrap_or("-")))
        })));
        log.event(JitEvent::StartTracing, None);
        log.event(JitEvent::EnterJitCode, None);
        log.event(JitEvent::TraceCompiled, None);
        log.event(JitEvent::TraceAborted("too long"), None);
        log.set_observer(None);
        log.event(JitEvent::TraceCompiled, None);
        assert_eq!(
            *seen.lock().unwrap(),
            ["trace-compiled -", "trace-aborted: too long -"]
        );
    }

    #[test]
    fn quiet_levels() {
        let c = Config {
            log_level: 2,
            ..Config::default()
        };
        let log = Log::new(&c).unwrap();
        assert!(log.enabled(LEVEL_ERROR));
        assert!(!log.enabled(LEVEL_JIT_EVENT));
    }
}
