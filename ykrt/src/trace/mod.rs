//! Tracers: record which blocks of the embedded IR a thread executes.
//!
//! The software tracer ([swt]) records every recording unless
//! `YKD_TRACER=hwt` asks for Intel PT and PT can be used here ([hw]); then PT
//! records the blocks of root traces. Where PT can't be used the runtime says
//! why, once, and uses swt. [entries]: function entries cut out of
//! recordings that grew too long.
//!
//! The recorder knows no `MT`: a recording's host (the `MT` that started
//! it, [`swt::RecordingHost`]) hears how the recorder ended it, and the
//! locations (below) reach it through their drop hook
//! (`location::set_drop_hook`).

pub(crate) mod entries;
pub(crate) mod hw;
pub mod swt;

/// The Intel PT hardware tracer (its own crate, `ykrt/hwt`).
pub use hwt;
