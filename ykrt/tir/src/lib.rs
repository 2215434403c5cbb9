//! `yk-tir`: the trace IR of the project, without LLVM.
//!
//! A trace builder appends instructions through the forward optimiser
//! ([`opt::forward::TraceBuilder`]), interns a [`snapshot::Snapshot`] for
//! each guard, finishes the trace, runs the backward pass
//! ([`opt::backward::run`]) and lowers what is left. [`text`] gives the
//! readable form used by tests and logs, [`eval`] an evaluator used to check
//! that optimisation never changes what a trace computes. See README.md.

#![warn(missing_docs)]

pub mod eval;
pub mod ir;
pub mod opt;
pub mod sem;
pub mod snapshot;
#[cfg(feature = "testgen")]
pub mod testgen;
pub mod text;

pub use ir::{
    BinOp, CastOp, Const, Effects, End, FPred, IPred, Inst, LoadFlags, Operand, Sym, Trace, Ty,
    TypeError, ValId, ValMap,
};
pub use snapshot::{Frame, SnapId, Snapshot, Snapshots};
