//! Guard state: what a compiled trace's guards need at run time, shared by
//! the trace compiler (which builds it), the guard exits and the blackhole
//! (`crate::deopt`, which read it) and the `MT` (which installs side traces
//! into it).
//!
//! Invariants:
//! 1. A [`TraceInfo`] lives as long as its trace's code: a root trace's is
//!    owned by the trace (freed through `crate::reclaim` once no thread can
//!    run it), a side trace's by its parent's [`GuardInfo::side`].
//! 2. `side_slots` and `counters` are at the contract's offsets
//!    (`yk_abi::trace_info`): the generated code reads them.
//! 3. A guard's side trace is set once, and published in its slot after it
//!    is complete ([`TraceInfo::adopt_side`] first).
//! 4. This module knows no `MT`: the guards reach the runtime through
//!    [`GuardRuntime`], which the `MT` implements (`crate::deopt`).

pub mod prog;

use crate::location::LocationPtr;
use prog::{Prog, Ty};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// The outcome codes a trace and its guard exits return (the contract
/// crate's).
pub use yk_abi::outcome;

/// What a trace's guards call in the runtime that compiled it: the `MT`,
/// which implements it in `crate::deopt` (this module stays below the
/// `MT`).
pub trait GuardRuntime: Send + Sync {
    /// Guard `guard` of `info` failed and has no side trace to run: run the
    /// blackhole from its live values (the first `nin` slots of `buf`),
    /// maybe recording a side trace, and return an [`outcome`].
    ///
    /// # Safety
    /// As `deopt::__yk_guard_failed`: `info` is the failing trace's own,
    /// `buf` holds the guard's live values, `vars` is the control point's.
    unsafe fn guard_failed(
        &self,
        info: &TraceInfo,
        guard: u64,
        buf: *const u64,
        vars: *mut u8,
    ) -> u64;

    /// Re-optimisation: the side trace of one of `info`'s guards ran most
    /// of its loop's recent iterations; record the loop again.
    ///
    /// # Safety
    /// `info` is a running root trace's own (its location is alive).
    unsafe fn reoptimise(&self, info: &TraceInfo);

    /// A trace is entering the trace at `loc` by a direct jump (for the log).
    fn entering(&self, loc: LocationPtr);
}

/// One frame to rebuild at a guard.
#[derive(Clone)]
pub struct FrameInfo {
    /// The frame's function.
    pub prog: Arc<Prog>,
    /// Where it resumes: block and instruction index.
    pub block: u32,
    /// See `block`.
    pub idx: u32,
    /// `(register, type, where the value is)` of each live value.
    pub live: Vec<(u32, Ty, LiveSrc)>,
    /// The register receiving the inner frame's return value.
    pub call_dst: u32,
}

/// A trace function: `(vars, info, live-value buffer) -> outcome`.
pub type TraceFn = yk_abi::TraceFn<TraceInfo>;

/// Slots of live-value buffer kept on the stack (larger needs use the heap).
pub const SMALL_BUF: usize = 256;

/// A compiled side trace: it starts from its guard's live values (in the
/// buffer) and ends at a control point. `repr(C)`: a guard's failure path
/// loads `f` and `info` from it (see [`TraceInfo::side_slots`]).
#[repr(C)]
pub struct SideTrace {
    /// Its code.
    pub f: TraceFn,
    /// Its guards (a side trace's guards can have side traces too).
    pub info: Box<TraceInfo>,
}

/// A side trace this many levels below its root trace records no side traces
/// of its own: its failing guards go to the blackhole. Without a bound, a
/// guard that fails with a new value every time (a loop that calls a freshly
/// loaded Lua function on each iteration: a new prototype each time) grows a
/// chain of side traces, one more compilation per iteration.
pub const MAX_SIDE_DEPTH: u32 = 8;

/// Side-trace state of a guard ([`GuardInfo::side_state`]): none yet,
/// being recorded or compiled, failed (no side trace ever), or recorded
/// too long (none, unless the guard goes on failing: see
/// [`TRUNCATE_AFTER`]).
pub(crate) const SIDE_IDLE: u8 = 0;
/// See [`SIDE_IDLE`].
pub(crate) const SIDE_RECORDING: u8 = 1;
/// See [`SIDE_IDLE`].
pub(crate) const SIDE_FAILED: u8 = 2;
/// See [`SIDE_IDLE`].
pub(crate) const SIDE_TOO_LONG: u8 = 3;

/// A guard whose side trace was recorded too long (`SIDE_TOO_LONG`) and
/// that fails this many times is recorded once more, truncated at the
/// length limit (`YKD_TRUNCATE`; `RecordedTrace::truncated`): its side trace
/// then ends at the last control point it passed. By then its exits have
/// cost some milliseconds in the blackhole, about what compiling a long
/// side trace costs. (Truncating every too-long recording made the
/// object-oriented programs slower: the side traces of loop exits that
/// unrolled a following loop up to the limit multiplied, and compiling
/// them cost up to ten times the compile time; see docs/trace-compiler.md,
/// "Truncated recordings".)
pub const TRUNCATE_AFTER: u32 = 4096;

/// Where a guard's live value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiveSrc {
    /// In this slot of the trace's buffer.
    Slot(u32),
    /// A constant of the trace (its bits).
    Const(u64),
    /// A pointer this many bytes (wrapping) from the one in this slot: a
    /// constant offset from a base pointer (an interpreter's `base + 16`)
    /// is recomputed from the base rather than stored at the exit.
    SlotPlus(u32, i64),
    /// In a field of the control point's `vars`, plus `add` (wrapping; 0
    /// but for a pointer recomputed from a base, as for `SlotPlus`): a
    /// parameter of the trace that no part of it changes before the guard
    /// (an interpreter's frame pointers: loop-invariant, and `vars` is
    /// written only at a trace's end), so the exit reads it where the
    /// trace found it rather than from a slot copied at every entry.
    Field {
        /// The field's index in `YkCtrlPointVars`.
        field: u32,
        /// Its byte offset.
        off: u32,
        /// Its size in bytes (1 to 8), read zero-extended.
        size: u8,
        /// What is added to it.
        add: i64,
    },
}

impl LiveSrc {
    /// The value, given the buffer's first slots `live` and the trace's
    /// `vars`.
    ///
    /// # Panics
    /// If a slot is not in `live` (the guard's `nin` covers them all).
    ///
    /// # Safety
    /// `vars` is the control point's `vars` the trace ran with (for a
    /// `Field`).
    pub unsafe fn value(self, live: &[u64], vars: *const u8) -> u64 {
        match self {
            LiveSrc::Slot(s) => live[s as usize],
            LiveSrc::Const(k) => k,
            LiveSrc::SlotPlus(s, off) => live[s as usize].wrapping_add(off as u64),
            LiveSrc::Field { off, size, add, .. } => {
                let mut b = [0u8; 8];
                // SAFETY: the field lies within `vars` (the caller's
                // contract; the layout took its offset and size from the
                // struct's type).
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        vars.add(off as usize),
                        b.as_mut_ptr(),
                        usize::from(size.min(8)),
                    )
                };
                u64::from_le_bytes(b).wrapping_add(add as u64)
            }
        }
    }

    /// The buffer slot it reads, if any.
    pub fn slot(self) -> Option<u32> {
        match self {
            LiveSrc::Slot(s) | LiveSrc::SlotPlus(s, _) => Some(s),
            LiveSrc::Const(_) | LiveSrc::Field { .. } => None,
        }
    }
}

/// A trace tree's health counters (see [`EXIT_WINDOW`]), kept by its root
/// trace and shared by its side traces.
#[derive(Default)]
pub(crate) struct TreeCounters {
    /// The tree's exits through the blackhole (those counted).
    pub(crate) exits: AtomicU64,
    /// The root loop's iteration count when the current window began.
    pub(crate) window_start: AtomicU64,
    /// The tree's side traces.
    pub(crate) sides: AtomicU64,
}

/// One guard: its frames, outermost (the control point's function) first.
pub struct GuardInfo {
    /// The frames (shared by the guards of one snapshot).
    pub frames: Arc<[FrameInfo]>,
    /// Buffer slots its live values occupy (`0..nin`).
    pub nin: usize,
    /// How often it failed.
    pub fails: AtomicU32,
    /// Its side trace, once compiled.
    pub side: OnceLock<SideTrace>,
    /// `SIDE_IDLE`, `SIDE_RECORDING`, `SIDE_FAILED` or `SIDE_TOO_LONG`.
    pub(crate) side_state: AtomicU8,
    /// When its side trace's recording started ([`now_ms`]).
    pub(crate) side_since: AtomicU64,
    /// Its side trace was recorded again, truncated, after its first
    /// recording was too long (see [`TRUNCATE_AFTER`]): it is not retried
    /// again.
    pub(crate) side_retried: std::sync::atomic::AtomicBool,
}

impl GuardInfo {
    /// Is this guard's side trace being recorded or compiled, started less
    /// than [`PENDING_GRACE_MS`] before `now` ([`now_ms`])?
    pub(crate) fn side_pending(&self, now: u64) -> bool {
        self.side_state.load(Ordering::Relaxed) == SIDE_RECORDING
            && self.side.get().is_none()
            && now.saturating_sub(self.side_since.load(Ordering::Relaxed)) < PENDING_GRACE_MS
    }

    /// A guard with these frames that never failed.
    pub fn new(frames: impl Into<Arc<[FrameInfo]>>) -> GuardInfo {
        let frames = frames.into();
        let nin = frames
            .iter()
            .flat_map(|f| &f.live)
            .filter_map(|l| l.2.slot().map(|s| s as usize + 1))
            .max()
            .unwrap_or(0);
        GuardInfo {
            frames,
            nin,
            fails: AtomicU32::new(0),
            side: OnceLock::new(),
            side_state: AtomicU8::new(SIDE_IDLE),
            side_since: AtomicU64::new(0),
            side_retried: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

/// What a compiled trace's guards need at run time. `repr(C)`: the trace
/// reads `side_slots` (first field) itself.
#[repr(C)]
pub struct TraceInfo {
    /// One slot per guard: its side trace once compiled (else null). A
    /// failing guard calls a side trace in its slot directly.
    pub side_slots: *const AtomicPtr<SideTrace>,
    /// Counters a root trace keeps for re-optimisation (second field, read
    /// and written by the trace): `[0]` its loop's iterations, then per
    /// guard `g` at `[1 + 2g]` the runs of its side trace in the current
    /// window and at `[2 + 2g]` the iteration count the window began at.
    pub counters: *const AtomicU64,
    /// The iteration count of the root trace's loop: `counters[0]` of the
    /// root trace, for a side trace its root's.
    pub(crate) iters: *const AtomicU64,
    /// The tree's health counters: `tree_own` of the root trace, which its
    /// side traces share.
    tree: *const TreeCounters,
    /// Owns what `tree` points to in a root trace.
    tree_own: Box<TreeCounters>,
    /// Owns what `side_slots` points to.
    slots: Vec<AtomicPtr<SideTrace>>,
    /// Owns what `counters` points to.
    cnt: Vec<AtomicU64>,
    /// Set once the trace has asked for its location to be re-recorded.
    pub(crate) re_recorded: AtomicBool,
    /// The trace's number (the compiler's key for its guards' sources).
    pub trace_no: u64,
    /// The guards, by the index the trace passes.
    pub guards: Vec<GuardInfo>,
    /// The location of the root trace's loop.
    pub start_loc: LocationPtr,
    /// The function containing the control point.
    pub cp_func_idx: u64,
    /// Where the interpreter function's return value goes in `vars`.
    pub ret_field: Option<(u64, Ty)>,
    /// Slots in the live-value buffer the trace takes.
    pub nslots: usize,
    /// 0 for a root trace, its parent's plus 1 for a side trace (see
    /// [`MAX_SIDE_DEPTH`]).
    pub side_depth: u32,
    /// The runtime the guards call (the `MT` that compiled the trace,
    /// which outlives every running trace).
    runtime: *const dyn GuardRuntime,
    /// A root trace's compiler hook for code replaced while the trace runs
    /// (tiered compilation): the trace's code calls it through
    /// `__yk_tier_check` every `TIER_CHECK_ITERS` iterations of its loop
    /// with its own address; it answers whether that code is no longer the
    /// trace's, so that a trace entered once and looping ever since still
    /// moves to its recompiled code (it leaves at its loop's head, and the
    /// interpreter enters the new code at its next control point). Unset:
    /// never replaced.
    pub tier_hook: std::sync::OnceLock<Box<dyn Fn(usize) -> bool + Send + Sync>>,
    /// What owns the trace's machine code, if the compiler frees it: dropped
    /// with the info, i.e. with the root trace (side traces' infos are owned
    /// by their parents' guards), once no thread can be running it.
    pub code: Option<Box<dyn Send + Sync>>,
}

// The generated code reads `side_slots` and `counters` at the contract's offsets.
const _: () = {
    use std::mem::offset_of;
    assert!(offset_of!(TraceInfo, side_slots) == yk_abi::trace_info::SIDE_SLOTS_OFFSET);
    assert!(offset_of!(TraceInfo, counters) == yk_abi::trace_info::COUNTERS_OFFSET);
};

// SAFETY: the runtime is `Sync`; the slots
// are atomics.
unsafe impl Send for TraceInfo {}
unsafe impl Sync for TraceInfo {}

impl TraceInfo {
    /// The info of a trace with these guards.
    pub fn new(
        trace_no: u64,
        guards: Vec<GuardInfo>,
        start_loc: LocationPtr,
        cp_func_idx: u64,
        ret_field: Option<(u64, Ty)>,
        nslots: usize,
        runtime: &(dyn GuardRuntime + 'static),
    ) -> TraceInfo {
        let slots: Vec<AtomicPtr<SideTrace>> = (0..guards.len())
            .map(|_| AtomicPtr::new(std::ptr::null_mut()))
            .collect();
        let cnt: Vec<AtomicU64> = (0..1 + 2 * guards.len())
            .map(|_| AtomicU64::new(0))
            .collect();
        let tree_own = Box::<TreeCounters>::default();
        TraceInfo {
            side_slots: slots.as_ptr(),
            counters: cnt.as_ptr(),
            iters: cnt.as_ptr(),
            tree: &*tree_own,
            tree_own,
            slots,
            cnt,
            re_recorded: AtomicBool::new(false),
            trace_no,
            guards,
            start_loc,
            cp_func_idx,
            ret_field,
            nslots,
            side_depth: 0,
            runtime: runtime as *const dyn GuardRuntime,
            tier_hook: std::sync::OnceLock::new(),
            code: None,
        }
    }

    /// The counters of this trace's tree.
    pub(crate) fn tree(&self) -> &TreeCounters {
        // SAFETY: `tree` points to the root trace's counters, and the root
        // trace outlives its side traces.
        unsafe { &*self.tree }
    }

    /// Is a side trace of one of this trace's guards pending (see
    /// [`GuardInfo::side_pending`])? The recompilation of a root trace
    /// waits for it, so as to compile it in (see `jit::stitch`).
    pub(crate) fn side_in_progress(&self) -> bool {
        let now = now_ms();
        self.guards.iter().any(|g| g.side_pending(now))
    }

    /// Counts one blackhole exit of this trace's tree, at a guard whose
    /// side trace is `pending` (being recorded or compiled, for less than
    /// [`PENDING_GRACE_MS`]) or not: at the
    /// end of each [`EXIT_WINDOW`] of them, whether the tree ran fewer than
    /// [`GIVE_UP_RATIO`] of its loop's iterations per exit in that window.
    /// Pending exits are not counted while the tree has fewer than
    /// [`EXCUSED_SIDES`] side traces.
    pub(crate) fn losing(&self, pending: bool) -> bool {
        let tree = self.tree();
        if pending && tree.sides.load(Ordering::Relaxed) < EXCUSED_SIDES {
            return false;
        }
        let e = tree.exits.fetch_add(1, Ordering::Relaxed) + 1;
        if !e.is_multiple_of(EXIT_WINDOW) {
            return false;
        }
        // SAFETY: as `exits`.
        let now = unsafe { &*self.iters }.load(Ordering::Relaxed);
        let then = tree.window_start.swap(now, Ordering::Relaxed);
        now.saturating_sub(then) < EXIT_WINDOW * GIVE_UP_RATIO
    }

    /// Runs a trace function with this info and a fresh buffer holding the
    /// first `inputs.len()` slots from `inputs`.
    ///
    /// # Safety
    /// `f` is the trace compiled with this info; `vars` its control point's.
    pub unsafe fn run(&self, f: TraceFn, vars: *mut u8, inputs: &[u64]) -> u64 {
        // The buffer lives on this thread's stack: traces may run on several
        // threads at once. It has at least `SMALL_BUF` slots, so that side
        // traces that fit can be called with their parent's buffer.
        let n = self.nslots.max(inputs.len());
        // SAFETY: the buffer has the slots the trace's guards use; the trace
        // writes each slot before reading it.
        unsafe {
            if n <= SMALL_BUF {
                let mut buf = std::mem::MaybeUninit::<[u64; SMALL_BUF]>::uninit();
                let p = buf.as_mut_ptr().cast::<u64>();
                std::ptr::copy_nonoverlapping(inputs.as_ptr(), p, inputs.len());
                f(vars, self, p)
            } else {
                let mut buf = vec![0u64; n];
                buf[..inputs.len()].copy_from_slice(inputs);
                f(vars, self, buf.as_mut_ptr())
            }
        }
    }
}

/// Side traces get this many times the compile budget of root traces. It
/// was 2, on the grounds that a guard that keeps failing costs a blackhole
/// run each time; but twice the default 50% was no limit: on
/// `oo_metatables` 140 side traces took 8.6 s of compiling for a 0.5 s
/// program, each iteration 14x slower than lua. At 1 a refused guard that
/// fails often leads to its trace being suspended (`SUSPEND_AFTER`) and the
/// program runs near the interpreter's speed.
pub const SIDE_BUDGET_SCALE: u32 = 1;

/// A guard that has failed this many times, once at least every
/// [`GIVE_UP_RATIO`] of the loop's iterations, while the compile budget
/// refused its side trace makes its root trace be suspended (see
/// `MT::suspend`). (Without the ratio, every inner loop's exit did once the
/// budget was spent: `spectral_norm` compiled the same trace 13 times.)
pub const SUSPEND_AFTER: u32 = 64;

/// A root trace whose guard has failed [`SUSPEND_AFTER`] times with no side
/// trace possible (its recording or compilation failed), once at least every
/// this many of the loop's iterations, is given up for good (see
/// `MT::give_up`): a blackhole run costs microseconds, about what the
/// interpreter takes for 30-100 iterations of a small loop, so a trace that
/// leaves through the blackhole more often than this loses to the
/// interpreter (on `fannkuch_redux` a copy loop of 8 iterations did, 350,000
/// times).
pub const GIVE_UP_RATIO: u64 = 32;

/// A trace tree (a root trace and its side traces) is judged once per this
/// many of its exits through the blackhole: if in that window it ran fewer
/// than [`GIVE_UP_RATIO`] iterations of its loop per exit, it loses to the
/// interpreter (each exit costs a blackhole run, about a microsecond, and
/// the rest of that iteration interpreted; its side traces, which
/// compiling costs tens of milliseconds each, don't catch up: a loop over
/// polymorphic calls, as in `deltablue`, grows side traces without end).
/// Its root trace is retired and the location backs off
/// (`MT::retire_losing`): recorded again later, and after
/// `location::MAX_FAILURES` never. Exits at a guard whose side trace is
/// being recorded or compiled don't count for [`PENDING_GRACE_MS`], while
/// the tree has fewer than [`EXCUSED_SIDES`] side traces: a window is short
/// next to a compilation.
pub const EXIT_WINDOW: u64 = 256;

/// How long exits at a guard waiting for its side trace are excused (see
/// [`EXIT_WINDOW`]): several compilations' time (a side trace compiles in
/// 5-70 ms), but not the queue's backlog on a program that keeps growing
/// side traces.
pub const PENDING_GRACE_MS: u64 = 250;

/// Milliseconds since the first call (a clock for [`GuardInfo::side_since`]).
pub(crate) fn now_ms() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    let base = *BASE.get_or_init(Instant::now);
    u64::try_from(base.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// A tree with this many side traces is judged on all its exits, those
/// waiting for a side trace too, and if it loses it is never recorded
/// again: it is megamorphic (a loop over objects of many classes, as in
/// `oo_metatables`, grew 50 side traces of up to 1,100 blocks each and
/// still left through the blackhole every sixth iteration, 5x slower than
/// lua).
pub const EXCUSED_SIDES: u64 = 16;

/// Re-optimisation counts a root trace's side-trace runs in windows of this
/// many runs.
pub const REOPT_WINDOW: u64 = 1024;

/// Re-optimisation re-records a root trace when one side trace took more
/// than this share (numerator, denominator) of the loop's iterations in a
/// window: the root trace then follows the minority path, and each of the
/// other iterations pays the side trace's transfer. (Nine tenths let a loop
/// recorded on its one-in-seven path keep it: Lua's `s + i % 7` recorded at
/// an `i` divisible by 7 ran its side trace six iterations in seven, and
/// the loop was slower than the interpreter.) A branch that merely splits
/// the iterations (half and half) never triggers it, and each re-recording
/// counts as a failure of the location, so it happens a bounded number of
/// times.
pub const REOPT_SHARE: (u64, u64) = (3, 4);

impl TraceInfo {
    /// After guard `g`'s side trace returned `r`: count the run, and when a
    /// window of [`REOPT_WINDOW`] runs took most of the loop's iterations
    /// (more than [`REOPT_SHARE`]: a branch that merely splits the
    /// iterations must not make the location be recorded again and again), ask for
    /// the location to be re-recorded and leave the loop (the trace
    /// returns `RESUME` where it would have re-entered).
    pub(crate) fn count_side_run(&self, g: usize, r: u64) -> u64 {
        // SAFETY: `counters` has `1 + 2 * guards` entries.
        let c = |k: usize| unsafe { &*self.counters.add(k) };
        let (runs_c, start_c) = (c(1 + 2 * g), c(2 + 2 * g));
        let runs = runs_c.load(Ordering::Relaxed).wrapping_add(1);
        let iters = c(0).load(Ordering::Relaxed);
        let start = start_c.load(Ordering::Relaxed);
        let full = runs >= REOPT_WINDOW;
        let (num, den) = REOPT_SHARE;
        let most = runs.wrapping_mul(den) > iters.wrapping_sub(start).wrapping_mul(num);
        runs_c.store(if full { 0 } else { runs }, Ordering::Relaxed);
        start_c.store(if full { iters } else { start }, Ordering::Relaxed);
        if !(full && most) {
            return r;
        }
        // SAFETY: called by this running root trace's guard exit (see
        // `__yk_guard_exit`, `__yk_side_ran`), so the runtime and the
        // location are alive.
        unsafe { self.runtime().reoptimise(self) };
        if r == outcome::REENTER {
            outcome::RESUME
        } else {
            r
        }
    }
}

impl TraceInfo {
    /// The runtime the guards call.
    ///
    /// # Safety
    /// The runtime is alive: true while the trace can run (an `MT` outlives
    /// its traces), not necessarily for an info built by hand.
    pub unsafe fn runtime(&self) -> &dyn GuardRuntime {
        // SAFETY: the caller's contract.
        unsafe { &*self.runtime }
    }

    /// Makes `side`, the info of a side trace of one of this trace's guards,
    /// part of this trace's tree: one level deeper, counting its root's
    /// iterations and sharing its tree's counters. Called before the side
    /// trace is published.
    pub(crate) fn adopt_side(&self, side: &mut TraceInfo) {
        side.side_depth = self.side_depth + 1;
        side.iters = self.iters;
        side.tree = self.tree;
        self.tree().sides.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_values_come_from_slots_constants_and_offsets() {
        let live = [0x1000, 7, u64::MAX];
        // A vars struct: an i32 at 4, a pointer at 8.
        let mut vars = [0u8; 16];
        vars[4..8].copy_from_slice(&(-3i32).to_le_bytes());
        vars[8..16].copy_from_slice(&0x2000u64.to_le_bytes());
        let vp = vars.as_ptr();
        let field = |off, size, add| LiveSrc::Field {
            field: 0,
            off,
            size,
            add,
        };
        // SAFETY: every field read lies within `vars`.
        unsafe {
            assert_eq!(LiveSrc::Slot(1).value(&live, vp), 7);
            assert_eq!(LiveSrc::Const(42).value(&live, vp), 42);
            assert_eq!(LiveSrc::SlotPlus(0, 24).value(&live, vp), 0x1018);
            assert_eq!(LiveSrc::SlotPlus(0, -8).value(&live, vp), 0xff8);
            assert_eq!(LiveSrc::SlotPlus(2, 1).value(&live, vp), 0, "wrapping");
            // Fields: read at their size, zero-extended, plus the offset.
            assert_eq!(field(4, 4, 0).value(&live, vp), 0xffff_fffd);
            assert_eq!(field(8, 8, 0).value(&live, vp), 0x2000);
            assert_eq!(field(8, 8, 16).value(&live, vp), 0x2010);
        }
        assert_eq!(field(8, 8, 0).slot(), None, "a field needs no buffer slot");
        // A guard needs the buffer up to the last slot any value reads.
        let frame = |live: Vec<(u32, Ty, LiveSrc)>| FrameInfo {
            prog: Arc::new(prog::Prog {
                name: "f".into(),
                func_idx: 0,
                nregs: 0,
                blocks: Vec::new(),
                ret_field: None,
                reaches_unsupported: Vec::new(),
            }),
            block: 0,
            idx: 0,
            live,
            call_dst: 0,
        };
        let g = GuardInfo::new(vec![frame(vec![
            (0, Ty::I(64), LiveSrc::SlotPlus(3, 16)),
            (1, Ty::I(64), LiveSrc::Slot(1)),
            (2, Ty::I(64), LiveSrc::Const(9)),
        ])]);
        assert_eq!(g.nin, 4);
    }
}
