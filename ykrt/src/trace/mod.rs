//! Tracers: record which blocks of the embedded IR a thread executes.
//!
//! Only the software tracer exists so far; `YKD_TRACER=hwt` (Intel PT) is
//! accepted, warned about once, and served by swt.

pub mod swt;

/// The Intel PT hardware tracer (its own crate, `ykrt/hwt`).
pub use hwt;
