//! Tracers: record which blocks of the embedded IR a thread executes.
//!
//! The software tracer ([swt]) records every recording unless
//! `YKD_TRACER=hwt` asks for Intel PT and PT can be used here ([hw]); then PT
//! records the blocks of root traces. Where PT can't be used the runtime says
//! why, once, and uses swt.

pub(crate) mod hw;
pub mod swt;

/// The Intel PT hardware tracer (its own crate, `ykrt/hwt`).
pub use hwt;
