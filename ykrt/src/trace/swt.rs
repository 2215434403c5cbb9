//! The software tracer: yk-ld instruments every block with
//! `if (*flag) __yk_swt_rec_block(f, b)`, and the runtime sets this thread's flag
//! while it records.
//!
//! All recording state is thread-local: threads trace independently, and the
//! record calls (made once per executed block while recording) touch no shared
//! memory. The thread-locals are const-initialised, so an access is a plain TLS
//! load with no lazy-initialisation check.

use super::entries::{self, Hint};
use crate::{
    abort::{Abort, AbortKind},
    compile::TraceStart,
    location::{Failure, LocationPtr, State},
};
use std::{
    cell::{Cell, RefCell},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Instant,
};

/// Why a recording was abandoned because it grew past `YKD_TRACE_MAX_LEN`.
pub fn abort_too_long() -> Abort {
    Abort::too_long("trace too long")
}

/// An ongoing recording.
pub(crate) struct Active {
    /// Who started it, and hears how it ended if the recorder ends it.
    pub(crate) host: Arc<dyn RecordingHost>,
    /// Where the trace starts: a root recording's claim on `loc` (see
    /// [`crate::location::Claim`]: through it the recording ends, or hands
    /// it to its compilation), or the guard a side trace starts at (its
    /// trace pinned until the side trace is compiled or given up).
    pub(crate) start: TraceStart,
    /// The location of the trace (a side trace's: its root's).
    pub(crate) loc: LocationPtr,
    /// This thread's id, as stored in the location word.
    pub(crate) owner: u64,
    pub(crate) cp_func_idx: u64,
    pub(crate) started: Instant,
    /// This thread's swt flag (from `YkAotInfo::swt_flag`).
    pub(crate) flag: *mut u8,
    pub(crate) max_len: usize,
    /// Past `max_len`, stop and hand the recording over as truncated
    /// (`YKD_TRUNCATE`) rather than abort it.
    pub(crate) truncate: bool,
    /// A hardware recording (`YKD_TRACER=hwt`): Intel PT records the blocks,
    /// the hooks only the values.
    pub(crate) pt: Option<super::hw::Pt>,
    /// The address of the `YkCtrlPointVars` of the interpreter activation
    /// the recording runs in (0: unknown). A control point with other
    /// `vars` belongs to another activation: see [`MT::control_point_raw`].
    pub(crate) vars: usize,
}

impl Active {
    /// The guard a side-trace recording starts at (`None`: a root
    /// recording).
    pub(crate) fn side(&self) -> Option<SideRec> {
        match &self.start {
            TraceStart::Loop(_) => None,
            TraceStart::Guard(g) => Some(SideRec {
                info: g.parent,
                guard: g.guard,
            }),
        }
    }
}

/// The guard a side trace is being recorded from.
#[derive(Clone, Copy)]
pub(crate) struct SideRec {
    /// The guard's trace (pinned by the recording's start).
    pub(crate) info: *const crate::guard::TraceInfo,
    /// The guard's index.
    pub(crate) guard: u32,
}

/// How the recorder ended a recording itself (rather than its host, with
/// [`stop`]).
pub(crate) enum Ended<'a> {
    /// Given up, for this reason.
    Aborted(&'a Abort),
    /// Given up so that an inner loop is traced first (not an abort): a
    /// root recording's location backs off as after this failure.
    Deferred(&'a str, Failure),
    /// Too long, and the call that took most of it was cut out (see
    /// [`crate::trace::entries`]): given up as a deferral, with this reason.
    Cut(&'a str),
}

/// The host of a recording: the `MT` that started it (above the recorder),
/// told how the recorder ended it.
pub(crate) trait RecordingHost: Send + Sync {
    /// The recorder ended recording `a` (see [`Ended`]).
    fn ended(&self, a: Active, how: Ended<'_>);

    /// The call `cut` took most of a recording that grew too long: make
    /// its function's entry a location if the interpreter can, and return
    /// the reason to log for the recording given up if it did.
    fn cut_entry(&self, cut: &Hint) -> Option<String>;

    /// Recording `fin` grew past the length limit and the recorder stopped
    /// it there (no call was cut out): compile it up to the last control
    /// point it passed (`RecordedTrace::truncated`).
    fn truncated(&self, fin: Finished);
}

/// What a finished recording hands back.
pub(crate) struct Finished {
    pub(crate) active: Active,
    pub(crate) blocks: Vec<(u32, u32)>,
    pub(crate) promotes: Vec<u64>,
    pub(crate) idempotents: Vec<u64>,
}

struct Recorder {
    active: Option<Active>,
    blocks: Vec<(u32, u32)>,
    promotes: Vec<u64>,
    idempotents: Vec<u64>,
    /// Other locations whose control points a root recording passed (to
    /// see an inner loop iterate: see `MT::passing_location`).
    passed: Vec<usize>,
    /// The function entries the recording made (`yk_entry_hint`), for a
    /// cut if it grows too long (see [`crate::trace::entries`]).
    hints: Vec<Hint>,
}

impl Drop for Recorder {
    /// A thread that exits while recording must not leave its location stuck in
    /// the tracing state.
    fn drop(&mut self) {
        if let Some(a) = self.end() {
            abort(
                a,
                &Abort::new(AbortKind::ThreadExit, "recording thread exited"),
            );
        }
    }
}

impl Recorder {
    /// Ends the recording, if one is going on: the one place a recording
    /// stops, so that the flag goes off, the count of recording threads
    /// ([`any_recording`]) goes down and the hints go, whichever way it ends.
    /// The blocks and values stay for the caller.
    fn end(&mut self) -> Option<Active> {
        let a = self.active.take()?;
        RECORDING_THREADS.fetch_sub(1, Ordering::Relaxed);
        set_flag(a.flag, 0);
        self.hints.clear();
        Some(a)
    }
}

/// How many threads are recording. A thread's own start and stop are
/// ordered before its later reads, so zero means "this thread is not
/// recording" without a thread-local access (see [`any_recording`]).
static RECORDING_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Could this thread be recording? False means it certainly isn't; true
/// means some thread is (check [`is_recording`] and the others).
#[inline]
pub(crate) fn any_recording() -> bool {
    RECORDING_THREADS.load(Ordering::Relaxed) != 0
}

/// Where the count [`any_recording`] reads is, for compiled code that
/// checks it before a direct jump (`compile::DirectEntry`): a trace must
/// not enter another while this thread records (a guard's blackhole run
/// may have started a side trace's recording, which goes on in the
/// interpreter).
pub(crate) fn recording_threads_ptr() -> *const AtomicUsize {
    &RECORDING_THREADS
}

thread_local! {
    /// The guard of this thread's side-trace recording, if one is going on
    /// (a cell, so that control points can check it cheaply).
    static SIDE: Cell<Option<SideRec>> = const { Cell::new(None) };
    static RECORDER: RefCell<Recorder> = const {
        RefCell::new(Recorder {
            active: None,
            blocks: Vec::new(),
            promotes: Vec::new(),
            idempotents: Vec::new(),
            passed: Vec::new(),
            hints: Vec::new(),
        })
    };
}

/// Is this thread recording?
pub fn is_recording() -> bool {
    RECORDER
        .try_with(|r| r.try_borrow().map(|r| r.active.is_some()).unwrap_or(true))
        .unwrap_or(false)
}

fn set_flag(flag: *mut u8, value: u8) {
    if !flag.is_null() {
        // SAFETY: `YkAotInfo::swt_flag` returned this thread's flag.
        unsafe { flag.write_volatile(value) };
    }
}

/// The flag is on but nothing records: an outlined function restored the
/// flag of a recording that ended while it ran. Turn it off rather than come
/// here at every hook.
fn clear_stray_flag() {
    if let Some(info) = crate::aot::info() {
        set_flag(info.swt_flag(), 0);
    }
}

/// The flag value for `a`: which hooks call the runtime (docs/abi.md).
fn flag_value(a: &Active) -> u8 {
    if a.pt.is_some() {
        super::hw::FLAG_HWT
    } else {
        super::hw::FLAG_SWT
    }
}

/// Start recording on this thread: clear the buffers and set the flag.
pub(crate) fn start(active: Active) {
    crate::location::set_drop_hook(location_dropped);
    RECORDER.with(|r| {
        let mut r = r.borrow_mut();
        debug_assert!(r.active.is_none());
        r.blocks.clear();
        r.promotes.clear();
        r.idempotents.clear();
        r.passed.clear();
        r.hints.clear();
        set_flag(active.flag, flag_value(&active));
        SIDE.with(|c| c.set(active.side()));
        r.active = Some(active);
        RECORDING_THREADS.fetch_add(1, Ordering::Relaxed);
    });
}

/// Stop recording on this thread (the flag goes off first) and return what was
/// recorded.
pub(crate) fn stop() -> Option<Finished> {
    RECORDER.with(|r| {
        let mut r = r.borrow_mut();
        let active = r.end()?;
        SIDE.with(|c| c.set(None));
        Some(Finished {
            active,
            blocks: std::mem::take(&mut r.blocks),
            promotes: std::mem::take(&mut r.promotes),
            idempotents: std::mem::take(&mut r.idempotents),
        })
    })
}

/// Ends this thread's recording, if any, dropping what it recorded.
fn take_active() -> Option<Active> {
    RECORDER.with(|r| {
        let mut r = r.borrow_mut();
        let a = r.end()?;
        SIDE.with(|c| c.set(None));
        r.blocks.clear();
        r.promotes.clear();
        r.idempotents.clear();
        Some(a)
    })
}

/// Give up this thread's recording, if any, with `reason`.
pub(crate) fn abort_current(reason: &Abort) {
    if let Some(a) = take_active() {
        abort(a, reason);
    }
}

fn abort(a: Active, reason: &Abort) {
    a.host.clone().ended(a, Ended::Aborted(reason));
}

/// The location hook (see `location::set_drop_hook`): the location at `loc`
/// is being dropped. This thread's root recording of it is given up, and
/// the recorder forgets it ([`entries::forget`]).
fn location_dropped(loc: usize) {
    if any_recording() && root_recording().map(LocationPtr::addr) == Some(loc) {
        abort_current(&Abort::recording("its location was dropped"));
    }
    entries::forget(loc);
}

/// The `vars` address of the interpreter activation this thread's
/// recording (root or side) runs in, if one is going on and it is known.
pub(crate) fn recording_vars() -> Option<usize> {
    RECORDER
        .try_with(|r| {
            let r = r.try_borrow().ok()?;
            let a = r.active.as_ref()?;
            (a.vars != 0).then_some(a.vars)
        })
        .ok()
        .flatten()
}

/// The start location of this thread's root-trace recording, if one is
/// going on.
pub(crate) fn root_recording() -> Option<LocationPtr> {
    RECORDER
        .try_with(|r| {
            let r = r.try_borrow().ok()?;
            let a = r.active.as_ref()?;
            matches!(a.start, TraceStart::Loop(_)).then_some(a.loc)
        })
        .ok()
        .flatten()
}

/// Notes that this thread's recording passed the control point of location
/// `loc` (not its start location); returns whether it had passed it before.
pub(crate) fn note_passed(loc: usize) -> bool {
    RECORDER
        .try_with(|r| {
            let Ok(mut r) = r.try_borrow_mut() else {
                return false;
            };
            if r.passed.contains(&loc) {
                return true;
            }
            r.passed.push(loc);
            false
        })
        .unwrap_or(false)
}

/// Gives up this thread's root recording, if any, so that an inner loop is
/// traced first: not an abort (it is logged and counted as a deferral, see
/// [`Ended::Deferred`]), though its location backs off.
pub(crate) fn defer_current(reason: &str, f: Failure) {
    if let Some(a) = take_active() {
        a.host.clone().ended(a, Ended::Deferred(reason, f));
    }
}

/// The guard of this thread's side-trace recording, if any.
pub(crate) fn side_recording() -> Option<SideRec> {
    SIDE.try_with(|c| c.get()).ok().flatten()
}

/// Append block `(func, block)` to this thread's recording (`__yk_swt_rec_block`).
/// Once it exceeds the length limit, the recording ends (the flag goes
/// off): a call that took most of it is cut out (see
/// [`crate::trace::entries`]), or else it is handed over truncated (its
/// trace ends at the last control point it passed) or, with truncation
/// off, aborted as too long.
#[inline]
pub fn rec_block(func: u32, block: u32) {
    let too_long = RECORDER
        .try_with(|r| {
            let Ok(mut r) = r.try_borrow_mut() else {
                return None;
            };
            let Some(max_len) = r.active.as_ref().map(|a| a.max_len) else {
                clear_stray_flag();
                return None;
            };
            if r.blocks.len() >= max_len {
                return Some(entries::choose(&r.hints, r.blocks.len()));
            }
            r.blocks.push((func, block));
            None
        })
        .ok()
        .flatten();
    match too_long {
        Some(Some(cut)) => cut_current(cut),
        Some(None) => truncate_current(),
        None => {}
    }
}

/// This thread's recording is too long and no call was cut out of it: hand
/// it over truncated if it may be (`Active::truncate`), else abort it.
fn truncate_current() {
    if let Some(fin) = stop() {
        truncate(fin);
    }
}

/// Hands `fin`, stopped at the length limit, over truncated if it may be,
/// else aborts it as too long.
fn truncate(fin: Finished) {
    if fin.active.truncate {
        let host = fin.active.host.clone();
        host.truncated(fin);
    } else {
        abort(fin.active, &abort_too_long());
    }
}

/// `yk_entry_hint`: the interpreter enters a function whose entry location
/// is `loc` (see [`crate::trace::entries`]). Noted if this thread makes a
/// software recording and the location is null.
pub fn note_hint(loc: usize, handle: usize, depth: usize) {
    let _ = RECORDER.try_with(|r| {
        let Ok(mut r) = r.try_borrow_mut() else {
            return;
        };
        if r.active.as_ref().is_none_or(|a| a.pt.is_some()) || r.hints.len() >= entries::MAX_HINTS {
            return;
        }
        // SAFETY: the interpreter passes the address of a live location.
        if unsafe { &*(loc as *const crate::location::Location) }.load() != 0 {
            return;
        }
        let at = r.blocks.len();
        r.hints.push(Hint {
            loc,
            handle,
            depth,
            at,
        });
    });
}

/// The location at `loc` is dropped: this thread's recording forgets its
/// hints for it.
pub(crate) fn forget_hints(loc: usize) {
    // (Every location's drop comes here: no thread-local access unless
    // some thread records.)
    if !any_recording() {
        return;
    }
    let _ = RECORDER.try_with(|r| {
        if let Ok(mut r) = r.try_borrow_mut() {
            r.hints.retain(|h| h.loc != loc);
        }
    });
}

/// This thread's recording is too long, and the call `cut` took most of
/// it: if the interpreter makes the function's entry a location, that
/// location becomes a cut, and the recording is given up, counting as
/// deferred rather than failed (see [`crate::trace::entries`]); else it is
/// truncated (see [`truncate_current`]).
fn cut_current(cut: Hint) {
    // (Stopped first: making the entry runs interpreter code.)
    let Some(fin) = stop() else {
        return;
    };
    let host = fin.active.host.clone();
    match host.cut_entry(&cut) {
        Some(reason) => host.ended(fin.active, Ended::Cut(&reason)),
        None => truncate(fin),
    }
}

/// Append a promoted value to this thread's recording (`__yk_swt_rec_promote`).
#[inline]
pub fn rec_promote(v: u64) {
    push_value(v, |r| &mut r.promotes);
}

/// Append an idempotent call's result to this thread's recording
/// (`__yk_swt_rec_idempotent`).
#[inline]
pub fn rec_idempotent(v: u64) {
    push_value(v, |r| &mut r.idempotents);
}

fn push_value(v: u64, buf: fn(&mut Recorder) -> &mut Vec<u64>) {
    let _ = RECORDER.try_with(|r| {
        if let Ok(mut r) = r.try_borrow_mut() {
            if r.active.is_some() {
                buf(&mut r).push(v);
            } else {
                clear_stray_flag();
            }
        }
    });
}

/// Is `word` the tracing state owned by thread `owner`?
pub(crate) fn owned_by(word: usize, owner: u64) -> bool {
    matches!(State::decode(word), State::Tracing { owner: o, .. } if o == owner && o != 0)
}
