//! Deoptimisation: what a failing guard does.
//!
//! A guard that fails stores the AOT values live at that point (for every
//! frame the trace had inlined: only those the AOT IR's liveness says are
//! live) into a buffer and calls [`__yk_guard_failed`] from the trace's own
//! frame, so inlined frames' stack memory (the trace's allocas) stays valid.
//! The runtime rebuilds the frames and runs the [`blackhole`] until the
//! outermost frame reaches the control point, whose code has written the
//! interpreter's state into `YkCtrlPointVars`. The trace then re-enters its
//! loop (the location is its own) or returns to the interpreter.

pub mod blackhole;
pub mod decode;
pub mod ffi;
pub mod prog;

use crate::log::JitEvent;
use crate::mt::MT;
use crate::stats::{Counter, Timer};
use prog::{Prog, Ty};
use std::sync::Arc;
use std::time::Instant;

/// What [`__yk_guard_failed`] returns to the trace.
pub mod outcome {
    /// Return 0 to the control point: the interpreter resumes.
    pub const RESUME: u64 = 0;
    /// Return 1: the interpreter function returns (value in `vars`).
    pub const RETURN: u64 = 1;
    /// Jump back to the trace's loop head.
    pub const REENTER: u64 = 2;
}

/// One frame to rebuild at a guard.
pub struct FrameInfo {
    /// The frame's function.
    pub prog: Arc<Prog>,
    /// Where it resumes: block and instruction index.
    pub block: u32,
    /// See `block`.
    pub idx: u32,
    /// `(register, type, buffer slot)` of each live value.
    pub live: Vec<(u32, Ty, u32)>,
    /// The register receiving the inner frame's return value.
    pub call_dst: u32,
}

/// One guard: its frames, outermost (the control point's function) first.
pub struct GuardInfo {
    /// The frames.
    pub frames: Vec<FrameInfo>,
}

/// What a compiled trace's guards need at run time.
pub struct TraceInfo {
    /// The guards, by the index the trace passes.
    pub guards: Vec<GuardInfo>,
    /// The location the trace starts (and loops) at.
    pub start_loc: u64,
    /// Where the interpreter function's return value goes in `vars`.
    pub ret_field: Option<(u64, Ty)>,
    /// Slots in the live-value buffer the trace takes.
    pub nslots: usize,
    /// The MT (it outlives every running trace).
    pub mt: *const MT,
}

// SAFETY: the MT pointer is only used for its thread-safe log and stats.
unsafe impl Send for TraceInfo {}
unsafe impl Sync for TraceInfo {}

fn mask(ty: Ty, x: u64) -> u64 {
    match ty {
        Ty::I(w) if w < 64 => x & ((1u64 << w) - 1),
        Ty::F32 => x & 0xffff_ffff,
        _ => x,
    }
}

/// Called by a trace's failing guard `guard` with the live values in `buf`;
/// runs the blackhole and returns an [`outcome`].
///
/// # Safety
/// Only compiled traces call this, with their own `TraceInfo`.
#[no_mangle]
pub unsafe extern "C" fn __yk_guard_failed(
    info: *const TraceInfo,
    guard: u64,
    buf: *const u64,
    vars: *mut u8,
) -> u64 {
    let t0 = Instant::now();
    // SAFETY: the trace passes its own info, which lives as long as its code.
    let info = unsafe { &*info };
    // SAFETY: the MT outlives its traces.
    let mt = unsafe { &*info.mt };
    mt.stats().count(Counter::GuardFailures);
    mt.log().event(JitEvent::Deoptimise, None);
    let g = &info.guards[guard as usize];
    let mut frames: Vec<blackhole::Frame> = g
        .frames
        .iter()
        .map(|fi| {
            let mut f = blackhole::Frame::new(fi.prog.clone(), fi.block, fi.idx, fi.call_dst);
            for &(reg, ty, slot) in &fi.live {
                // SAFETY: the trace stored `nslots` values.
                f.regs[reg as usize] = mask(ty, unsafe { *buf.add(slot as usize) });
            }
            f
        })
        .collect();
    // SAFETY: the frames are the AOT state at the guard.
    let r = match unsafe { blackhole::run(&mut frames) } {
        Ok(blackhole::Outcome::ControlPoint(loc)) => {
            if loc == info.start_loc {
                outcome::REENTER
            } else {
                outcome::RESUME
            }
        }
        Ok(blackhole::Outcome::Returned(v)) => {
            if let (Some((off, ty)), Some(&x)) = (info.ret_field, v.first()) {
                let b = x.to_le_bytes();
                // SAFETY: the field is in the caller's vars.
                unsafe {
                    std::ptr::copy_nonoverlapping(b.as_ptr(), vars.add(off as usize), ty.bytes())
                };
            }
            outcome::RETURN
        }
        Err(e) => {
            // Continuing would run the interpreter from a wrong state.
            eprintln!("yk: internal error in the blackhole: {e}");
            std::process::abort();
        }
    };
    mt.stats().time(Timer::Deopting, t0.elapsed());
    r
}
