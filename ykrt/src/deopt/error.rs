//! Why the blackhole could not go on ([`BlackholeError`]), and the report
//! made before the process stops. (What it can't run at all is refused
//! when a trace is compiled: `guard::prog::Unsupported`.)
//!
//! The blackhole runs only what the trace compiler checked it can run
//! (`Prog::unsupported_from`), from a state the trace's guard rebuilt, so
//! each [`BlackholeError`] is a bug of the JIT, never of the program: going
//! on would run the interpreter from a wrong state. `__yk_guard_failed`
//! reports it through the `MT`'s log as a `yk-error:` line, which is
//! written at the default `YKD_LOG` level (and on stderr if the log is
//! off), naming the trace, the guard, the trace's location and where in the
//! AOT code the blackhole stopped ([`report`]), then aborts.

use super::blackhole::Frame;
use crate::guard::prog::Unsupported;
use crate::location::LocationPtr;
use std::fmt;

/// Why the blackhole stopped.
#[derive(Clone, Debug, PartialEq)]
pub enum BlackholeError {
    /// It was given no frames to run.
    NoFrames,
    /// A block ended without a terminator.
    RanOffBlock,
    /// A phi of function `func` has no entry for the block the frame came
    /// from.
    PhiWithoutEntry {
        /// The function's name.
        func: String,
    },
    /// A call through a null function pointer.
    NullCall,
    /// A frame other than the outermost reached a control point.
    InlinedControlPoint,
    /// An instruction the decoder could not decode (`why` says which).
    Unsupported {
        /// What it was.
        why: Unsupported,
    },
    /// `unreachable` in function `func`.
    Unreachable {
        /// The function's name.
        func: String,
    },
}

impl fmt::Display for BlackholeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlackholeError::NoFrames => write!(f, "no frames"),
            BlackholeError::RanOffBlock => write!(f, "ran off the end of a block"),
            BlackholeError::PhiWithoutEntry { func } => {
                write!(f, "phi without an entry for its predecessor in {func}")
            }
            BlackholeError::NullCall => write!(f, "a call through a null function pointer"),
            BlackholeError::InlinedControlPoint => {
                write!(f, "a control point in an inlined frame")
            }
            BlackholeError::Unsupported { why } => write!(f, "the blackhole reached {why}"),
            BlackholeError::Unreachable { func } => write!(f, "unreachable code in {func}"),
        }
    }
}

impl std::error::Error for BlackholeError {}

/// The report of `e`, met by the blackhole run from guard `guard` of trace
/// `trace_no` (whose loop is at `loc`), with `frames` as the run left them
/// (outermost first).
pub fn report(
    e: &BlackholeError,
    trace_no: u64,
    guard: u64,
    loc: LocationPtr,
    frames: &[Frame],
) -> String {
    let loc = match loc.debug_str() {
        Some(s) => format!("{s} ({:#x})", loc.addr()),
        None => format!("{:#x}", loc.addr()),
    };
    let at = match frames.last() {
        // The frame's index is the next instruction to run: the failing one
        // is the one before, unless it failed on entering a block.
        Some(fr) => format!(
            "in {} (frame {} of {}), block {}, near instruction {}",
            fr.prog.name,
            frames.len() - 1,
            frames.len(),
            fr.block,
            fr.idx.saturating_sub(1)
        ),
        None => "with no frames".into(),
    };
    format!(
        "internal error in the blackhole: {e}; trace {trace_no}, guard {guard}, location {loc}, \
         {at}; stopping the process"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::prog::Prog;
    use crate::location::Location;
    use std::sync::Arc;

    #[test]
    fn the_report_names_the_trace_guard_location_and_position() {
        let prog = Arc::new(Prog {
            name: "interp_loop".into(),
            func_idx: 3,
            nregs: 1,
            blocks: Vec::new(),
            ret_field: None,
            reaches_unsupported: Vec::new(),
        });
        let mut fr = Frame::new(prog, 7, 3, u32::MAX);
        fr.idx = 5;
        let loc = Location::new();
        let ptr = LocationPtr::from(&loc);
        let e = BlackholeError::Unreachable {
            func: "interp_loop".into(),
        };
        let r = report(&e, 12, 4, ptr, std::slice::from_ref(&fr));
        assert_eq!(
            r,
            format!(
                "internal error in the blackhole: unreachable code in interp_loop; trace 12, \
                 guard 4, location {:#x}, in interp_loop (frame 0 of 1), block 7, near \
                 instruction 4; stopping the process",
                ptr.addr()
            )
        );
        loc.set_debug_str("prog.lua:12");
        let r = report(&BlackholeError::NullCall, 1, 0, ptr, &[]);
        assert!(
            r.contains(&format!(
                "location prog.lua:12 ({:#x}), with no frames",
                ptr.addr()
            )),
            "{r}"
        );
        assert!(r.contains("a call through a null function pointer"), "{r}");
    }
}
