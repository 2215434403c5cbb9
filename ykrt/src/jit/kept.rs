//! A tier-0 trace's LLVM module, kept for its recompilation at the hot tier
//! (and a side trace's, for stitching into its root's recompilation).
//!
//! Owns [`Kept`]. A trace LLVM compiled at tier 0 keeps its module as
//! bitcode (see `jit::Pending` for why bitcode); a trace the native tier 0
//! compiled keeps its lowering undone ([`super::tirb::Deferred`]) and is
//! lowered, checked, verified and optimised the first time its module is
//! needed: most tier-0 traces are never recompiled, and the lowering, the
//! verifier, the pipeline and the bitcode writer were about half of a
//! natively compiled trace's compile time. Invariants: used only with the
//! compiler's lock held (it holds LLVM handles of the trace's generation,
//! which outlives it); lowered at most once (a side trace's module is shared
//! by its own recompilation and its root's stitching); a failed lowering is
//! remembered and not tried again.

use super::tirb::Deferred;
use std::sync::{Arc, Mutex};

/// A trace module as bitcode, with the AOT symbols it refers to.
pub(super) struct KeptBc {
    /// The module, verified and optimised with `PIPELINE`.
    pub(super) bitcode: Arc<[u8]>,
    /// `(symbol in the module, AOT function index)`.
    pub(super) funcs: Vec<(String, usize)>,
    /// `(symbol in the module, AOT global index)`.
    pub(super) globals: Vec<(String, usize)>,
    /// LLVM instructions (before optimisation).
    pub(super) ninstrs: usize,
}

enum State {
    Bitcode(Arc<KeptBc>),
    Deferred(Box<Deferred>),
    Failed(String),
}

/// A kept module, lowered when first asked for (see the module comment).
pub(super) struct Kept(Mutex<State>);

impl Kept {
    /// A module kept as bitcode.
    pub(super) fn bitcode(bc: KeptBc) -> Kept {
        Kept(Mutex::new(State::Bitcode(Arc::new(bc))))
    }

    /// A trace whose lowering waits until its module is needed.
    pub(super) fn deferred(d: Deferred) -> Kept {
        Kept(Mutex::new(State::Deferred(Box::new(d))))
    }

    /// The module as bitcode, lowering it first if it was deferred.
    pub(super) fn get(&self) -> Result<Arc<KeptBc>, String> {
        let mut st = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let d = match std::mem::replace(&mut *st, State::Failed(String::new())) {
            State::Bitcode(bc) => {
                *st = State::Bitcode(bc.clone());
                return Ok(bc);
            }
            State::Failed(e) => {
                *st = State::Failed(e.clone());
                return Err(e);
            }
            State::Deferred(d) => d,
        };
        let r = d
            .lower()
            .map_err(|e| format!("lowering: {e}"))
            .and_then(|(m, lowered)| {
                let ninstrs = m.instruction_count();
                super::optimise(&m).map_err(|e| e.to_string())?;
                if super::dbg::strip_lines() {
                    // Recompiled without line tables too, unless someone
                    // watches (see `dbg::strip_lines`).
                    super::dbg::strip(&m);
                }
                Ok(Arc::new(KeptBc {
                    bitcode: m.to_bitcode().into(),
                    funcs: lowered.funcs,
                    globals: lowered.globals,
                    ninstrs,
                }))
            });
        *st = match &r {
            Ok(bc) => State::Bitcode(bc.clone()),
            Err(e) => State::Failed(e.clone()),
        };
        r
    }
}
