//! Function entries cut out of recordings that grew too long.
//!
//! While a thread records, an interpreter tells the runtime each time it
//! enters a function whose entry has no location (`yk_entry_hint`: the
//! address of that null location, an opaque handle for the function, and
//! the depth of the call, any measure that grows with nesting). When the
//! recording passes the length limit (`YKD_TRACE_MAX_LEN`), the runtime
//! picks the call that took the largest share of it ([`choose`]) and asks
//! the interpreter, through the callback it registered
//! (`yk_mt_set_entry_fn`, [`crate::MT::set_entry_maker`]), to make that
//! function's entry a real location. That location is a **cut**:
//!
//! - a recording that reaches it ends there, whatever its state: a root
//!   recording becomes a linear trace that jumps to it, a side trace's
//!   recording ends there as at a compiled location;
//! - it counts and is traced as any location, so the function gets its
//!   own trace, which runs until the next cut, compiled location or back
//!   to its own entry.
//!
//! So a loop whose body calls a big method becomes a short trace up to the
//! call and a trace of the method, where it used to be a recording thrown
//! away as too long, and the loop interpreted (PyPy does the same: on a
//! too-long trace it stops inlining the function that contributed most).
//! The recording that was cut is given up as a deferral (it is retried,
//! and then stops at the cut), not as a too-long failure.
//!
//! Invariants:
//! 1. The runtime never writes an interpreter's location itself: the
//!    interpreter makes the entry location (as with `yk_location_new`) in
//!    its callback, and a cut is only registered if the location is then
//!    not null.
//! 2. A cut's address leaves the set when its location is dropped
//!    ([`forget`], from `Location`'s `Drop`, through the recorder's drop hook), so memory reused for another
//!    location is never taken for a cut.
//! 3. A hint's handle is only used while the recording that took it goes
//!    on, and is forgotten when the hinted location is dropped: an
//!    interpreter that frees a function while a recording runs must drop
//!    its entry location, null or not, before the handle dangles.
//! 4. Only software recordings cut (hardware ones see no blocks until they
//!    end).

use std::{
    collections::HashSet,
    sync::{
        atomic::{AtomicBool, Ordering},
        Mutex,
    },
};

/// One `yk_entry_hint` of a recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Hint {
    /// The address of the function's (null) entry location.
    pub(crate) loc: usize,
    /// The interpreter's handle for the function (passed back to its
    /// callback).
    pub(crate) handle: usize,
    /// The call's depth: larger is deeper.
    pub(crate) depth: usize,
    /// How many blocks the recording had when the function was entered.
    pub(crate) at: usize,
}

/// A recording keeps at most this many hints (a loop calling small
/// functions thousands of times doesn't grow the list without end; the
/// calls that matter for a cut come early in a recording that is too long).
pub(crate) const MAX_HINTS: usize = 4096;

/// A call is only cut out if it took at least this share (1/n) of the
/// recording: cutting a small function would not bring a too-long loop
/// under the limit, and would cost a transfer between traces per call.
pub(crate) const MIN_SHARE: usize = 8;

/// The call of `hints` that took most of a recording of `len` blocks: the
/// blocks from its entry to the next entry at the same or a smaller depth
/// (a call made after it returned), or to the end. `None` if no call took
/// at least `len / MIN_SHARE` blocks. Of equal spans the first (outermost)
/// wins. Hints for the same location count once each, separately (a
/// function called twice is judged by its larger call).
pub(crate) fn choose(hints: &[Hint], len: usize) -> Option<Hint> {
    let min = (len / MIN_SHARE).max(1);
    let mut best: Option<(usize, Hint)> = None;
    for (i, h) in hints.iter().enumerate() {
        let end = hints[i + 1..]
            .iter()
            .find(|n| n.depth <= h.depth)
            .map_or(len, |n| n.at);
        let span = end.saturating_sub(h.at);
        if span >= min && best.is_none_or(|(s, _)| span > s) {
            best = Some((span, *h));
        }
    }
    best.map(|(_, h)| h)
}

/// Set while [`CUTS`] may be non-empty: a process that never cut pays one
/// relaxed load per check.
static ANY_CUTS: AtomicBool = AtomicBool::new(false);

/// The addresses of the cut locations.
static CUTS: Mutex<Option<HashSet<usize>>> = Mutex::new(None);

fn cuts() -> std::sync::MutexGuard<'static, Option<HashSet<usize>>> {
    CUTS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Registers the location at `loc` as a cut.
pub(crate) fn add(loc: usize) {
    cuts().get_or_insert_with(HashSet::new).insert(loc);
    ANY_CUTS.store(true, Ordering::Release);
}

/// Is the location at `loc` a cut?
pub(crate) fn is_cut(loc: usize) -> bool {
    ANY_CUTS.load(Ordering::Acquire) && cuts().as_ref().is_some_and(|s| s.contains(&loc))
}

/// The location at `loc` is being dropped: it is no cut any more, and this
/// thread's recording forgets hints for it (their handles may dangle next).
pub(crate) fn forget(loc: usize) {
    if ANY_CUTS.load(Ordering::Acquire) {
        if let Some(s) = cuts().as_mut() {
            s.remove(&loc);
        }
    }
    super::swt::forget_hints(loc);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(loc: usize, depth: usize, at: usize) -> Hint {
        Hint {
            loc,
            handle: loc,
            depth,
            at,
        }
    }

    #[test]
    fn the_call_that_took_most_of_the_recording_is_chosen() {
        // A loop calling a small function (blocks 10-30), then a big one
        // (40-560) that calls a helper (100-200) on the way.
        let hints = [h(1, 10, 10), h(2, 10, 40), h(3, 20, 100)];
        assert_eq!(choose(&hints, 650), Some(h(2, 10, 40)));
    }

    #[test]
    fn a_span_ends_at_the_next_call_at_the_same_or_a_smaller_depth() {
        // f (depth 20) is called at 10 and its caller's next call (depth
        // 10) is at 100: f's span is 90, though the recording goes on.
        let hints = [h(1, 20, 10), h(2, 10, 100), h(3, 10, 200)];
        // 2 spans 100 blocks, 3 spans 450: 3 wins.
        assert_eq!(choose(&hints, 650), Some(h(3, 10, 200)));
        // With the end at 250, 2 (100 blocks) beats f (90) and 3 (50).
        assert_eq!(choose(&hints, 250), Some(h(2, 10, 100)));
    }

    #[test]
    fn small_calls_are_never_cut() {
        // 100 calls of 6 blocks each: none takes an eighth of 650.
        let hints: Vec<Hint> = (0..100).map(|i| h(7, 10, 6 * i)).collect();
        assert_eq!(choose(&hints, 650), None);
        assert_eq!(choose(&[], 650), None);
    }

    #[test]
    fn of_equal_spans_the_outermost_wins() {
        // g (depth 10) at 0 calls k (depth 20) at 0: both span 650.
        let hints = [h(1, 10, 0), h(2, 20, 0)];
        assert_eq!(choose(&hints, 650), Some(h(1, 10, 0)));
    }

    #[test]
    fn cuts_are_forgotten_with_their_location() {
        let loc = Box::new(0u64);
        let a = &*loc as *const u64 as usize;
        assert!(!is_cut(a));
        add(a);
        assert!(is_cut(a));
        forget(a);
        assert!(!is_cut(a));
    }
}
