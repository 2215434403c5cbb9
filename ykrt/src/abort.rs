//! Why a recording or a trace was given up: one closed list of reasons.
//!
//! Every way a recording, a trace build or a compilation can fail ends in an
//! [`Abort`]: a [`AbortKind`] (what the runtime acts on and counts, in the
//! stats' `aborts` object) and a message for people (the log's
//! `trace-aborted: <message>` line). The kinds are few and stable, so that
//! tools reading the stats and back-off policies can tell "the loop is too
//! long" from "the interpreter did something the JIT can't trace" from a
//! bug in the JIT.

use std::fmt;

/// What kind of reason a recording or a trace was given up for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AbortKind {
    /// The recording, or the trace built from it, is over a length limit
    /// (`YKD_TRACE_MAX_LEN`, the builder's walk, the trace's instructions).
    TooLong,
    /// The recorded path uses something the trace builder or the blackhole
    /// can't handle (inline asm, `setjmp`, `indirectbr`, vector code, ...).
    Unsupported,
    /// The recording doesn't fit the embedded IR or the interpreter's
    /// annotations: it leaves the control-flow graph, ends mid-path, has
    /// more or fewer promoted or idempotent values than the path uses, a
    /// native call re-enters traced code, or the interpreter function
    /// returns while recording.
    Recording,
    /// The recording thread exited before the recording ended.
    ThreadExit,
    /// Intel PT could not record or decode the path.
    Hardware,
    /// No trace compiler is installed, or the binary's embedded IR can't be
    /// used: nothing of this location can ever be compiled.
    NoCompiler,
    /// LLVM failed to optimise, generate or link the trace's code.
    Backend,
    /// A bug in the JIT: the trace failed LLVM's verifier, or the builder
    /// met an inconsistency it should never see.
    Internal,
    /// The JIT was turned off (`yk_mt_set_enabled`) during the recording.
    Disabled,
    /// The recording's activation of the interpreter function was left
    /// before the recording closed: a `longjmp` out of it (a Lua error, a
    /// coroutine's yield) or a return, seen at a control point of an older
    /// activation. The path between is no loop, and no trace can follow it.
    FrameLeft,
}

impl AbortKind {
    /// Every kind, in the order the stats list them.
    pub const ALL: [AbortKind; 10] = [
        AbortKind::TooLong,
        AbortKind::Unsupported,
        AbortKind::Recording,
        AbortKind::ThreadExit,
        AbortKind::Hardware,
        AbortKind::NoCompiler,
        AbortKind::Backend,
        AbortKind::Internal,
        AbortKind::Disabled,
        AbortKind::FrameLeft,
    ];

    /// The kind's counter in [`crate::stats::Stats::entries`] (what
    /// interpreters show, e.g. yklua's `jit.stats()`): `aborts_<name>`.
    pub fn stat_name(self) -> &'static str {
        match self {
            AbortKind::TooLong => "aborts_too_long",
            AbortKind::Unsupported => "aborts_unsupported",
            AbortKind::Recording => "aborts_recording",
            AbortKind::ThreadExit => "aborts_thread_exit",
            AbortKind::Hardware => "aborts_hardware",
            AbortKind::NoCompiler => "aborts_no_compiler",
            AbortKind::Backend => "aborts_backend",
            AbortKind::Internal => "aborts_internal",
            AbortKind::Disabled => "aborts_disabled",
            AbortKind::FrameLeft => "aborts_frame_left",
        }
    }

    /// The kind's name in the stats JSON.
    pub fn name(self) -> &'static str {
        match self {
            AbortKind::TooLong => "too_long",
            AbortKind::Unsupported => "unsupported",
            AbortKind::Recording => "recording",
            AbortKind::ThreadExit => "thread_exit",
            AbortKind::Hardware => "hardware",
            AbortKind::NoCompiler => "no_compiler",
            AbortKind::Backend => "backend",
            AbortKind::Internal => "internal",
            AbortKind::Disabled => "disabled",
            AbortKind::FrameLeft => "frame_left",
        }
    }
}

/// A recording or trace given up: its kind and a message naming the cause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Abort {
    /// What kind of reason.
    pub kind: AbortKind,
    /// The message of the log's `trace-aborted:` line.
    pub detail: String,
}

impl Abort {
    /// An abort of kind `kind`.
    pub fn new(kind: AbortKind, detail: impl Into<String>) -> Abort {
        Abort {
            kind,
            detail: detail.into(),
        }
    }

    /// [`AbortKind::TooLong`].
    pub fn too_long(detail: impl Into<String>) -> Abort {
        Abort::new(AbortKind::TooLong, detail)
    }

    /// [`AbortKind::Unsupported`] (`detail` may be a typed reason, e.g. the
    /// blackhole's `guard::prog::Unsupported`).
    pub fn unsupported(detail: impl fmt::Display) -> Abort {
        Abort::new(AbortKind::Unsupported, detail.to_string())
    }

    /// [`AbortKind::Recording`].
    pub fn recording(detail: impl Into<String>) -> Abort {
        Abort::new(AbortKind::Recording, detail)
    }

    /// [`AbortKind::Backend`] (`detail` may be a typed error, e.g. ORC's).
    pub fn backend(detail: impl fmt::Display) -> Abort {
        Abort::new(AbortKind::Backend, detail.to_string())
    }

    /// [`AbortKind::Internal`]: the message says it is an internal error.
    pub fn internal(detail: impl fmt::Display) -> Abort {
        Abort::new(AbortKind::Internal, format!("internal error: {detail}"))
    }
}

impl fmt::Display for Abort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for Abort {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_and_cover_every_kind() {
        let mut names: Vec<_> = AbortKind::ALL.iter().map(|k| k.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), AbortKind::ALL.len());
        for (i, k) in AbortKind::ALL.iter().enumerate() {
            assert_eq!(*k as usize, i, "the stats index kinds by discriminant");
            assert_eq!(k.stat_name(), format!("aborts_{}", k.name()));
        }
        assert_eq!(
            Abort::internal("x").to_string(),
            "internal error: x",
            "internal errors say so"
        );
    }
}
