//! What flows from the recorder to the trace compiler (`crate::jit`) and
//! back: a recording ([`RecordedTrace`], with where it starts:
//! [`TraceStart`]), a compiled trace ([`Compiled`]) or why there is none
//! ([`CompileError`]).
//!
//! A finished recording is handed to the `MT`'s trace compiler
//! (`mt::TraceCompiler`, installed with `MT::set_trace_compiler`): on the
//! recording thread when `YKD_SERIALISE_COMPILATION=1`, on the `MT`'s
//! compile thread otherwise. The runtime installs the result in the start
//! location, logs `trace-compiled` or `trace-aborted: <reason>`, and keeps
//! the stats; the compiler only compiles.
//!
//! This module knows nothing above the locations and the guards
//! (`crate::location`, `crate::guard`): the recorder holds a [`TraceStart`]
//! while it records, and the `MT` is above both.

pub use crate::location::{CompiledTrace, DirectEntry};
use crate::{
    abort::{Abort, AbortKind},
    location::LocationPtr,
};
use std::{fmt, sync::Arc, time::Duration};

/// Where a trace starts: the one thing that makes a trace a root trace or a
/// side trace, from the end of its recording to its installation. Both
/// kinds are compiled by `mt::TraceCompiler::compile` and go through the same
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
    pub(crate) parent: *const crate::guard::TraceInfo,
    pub(crate) guard: u32,
    pub(crate) _pin: crate::reclaim::Pin,
}

// SAFETY: the pin keeps `parent` alive wherever the start goes (the compile
// thread), and a `TraceInfo` is `Sync`.
unsafe impl Send for GuardStart {}

impl GuardStart {
    /// The trace the guard belongs to.
    pub fn parent(&self) -> &crate::guard::TraceInfo {
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
    /// ([`crate::guard::TraceInfo::trace_no`]) and the guard.
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
    /// The recording grew past the length limit and was stopped there, in
    /// the middle of the interpreter's path: its trace ends at the last
    /// control point it passed (see `docs/trace-compiler.md`, "Truncated
    /// recordings"), a root trace as a linear one.
    pub truncated: bool,
    /// The embedded-module index of the function containing the control point.
    pub cp_func_idx: u64,
    /// How long recording took.
    pub recording_time: Duration,
    /// The `MT`'s flush generation when the recording finished (see
    /// `MT::flush`): the compiled trace is dropped unused if a flush has
    /// happened since.
    pub generation: u64,
}

/// A compiled trace, of the kind its [`TraceStart`] asked for.
pub enum Compiled {
    /// A root trace, owned by its location.
    Root(Arc<dyn CompiledTrace>),
    /// A side trace, owned by its guard.
    Side(crate::guard::SideTrace),
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
