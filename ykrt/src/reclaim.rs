//! Freeing compiled traces once no thread can be running them.
//!
//! A trace that re-optimisation replaces, or whose location is dropped, may
//! still be running: on other threads, and on the very thread that replaced
//! it (a trace asks for re-optimisation from inside itself). Such traces are
//! *retired* here and freed later, once every thread that could be in them
//! has left compiled code.
//!
//! The scheme is quiescent-state based. A global epoch counter is bumped by
//! every retirement. A thread about to run compiled code publishes the epoch
//! it read ([`enter`]) and then checks that its location still holds the
//! trace it is about to run; when it has left all compiled code
//! ([`leave`]) it publishes 0. A trace retired at epoch `e` is freed when no
//! thread has a published epoch in `1..=e`: a thread that read a later epoch
//! read its location after the trace was taken out of it (both sides put a
//! sequentially consistent fence between their store and their load).
//!
//! A `longjmp` out of a trace (a Lua error) skips [`leave`]. So the runtime
//! keeps nothing on the stack: each thread records the stack addresses of
//! the control points it entered traces from, and an address below the
//! current one belongs to a frame a `longjmp` has left, which is forgotten.
//! A skipped `leave` only delays freeing until the thread next gets back to
//! a control point above it.
//!
//! A side-trace recording refers to its parent trace until it is compiled,
//! on and off compiled code: it holds a [`Pin`], and nothing is freed while
//! any pin exists.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The retirement epoch; starts at 1 so that 0 can mean "not in a trace".
static EPOCH: AtomicU64 = AtomicU64::new(1);
/// The published epoch of every thread that ever entered a trace.
static THREADS: Mutex<Vec<Arc<AtomicU64>>> = Mutex::new(Vec::new());
/// What waits to be freed, with the epoch it was retired at.
static RETIRED: Mutex<Vec<(u64, Retired)>> = Mutex::new(Vec::new());
/// `RETIRED.len()`, readable without the lock.
static NRETIRED: AtomicUsize = AtomicUsize::new(0);
/// Live [`Pin`]s.
static PINS: AtomicUsize = AtomicUsize::new(0);

/// What freeing a retired trace does (drop it, count it).
pub(crate) type Retired = Box<dyn FnOnce() + Send>;

struct ThreadState {
    /// The published epoch (shared with [`THREADS`]).
    epoch: Arc<AtomicU64>,
    registered: Cell<bool>,
    /// Stack addresses of the control points this thread runs traces from,
    /// outermost first.
    entries: RefCell<Vec<usize>>,
}

impl Drop for ThreadState {
    fn drop(&mut self) {
        if self.registered.get() {
            let mut ts = THREADS.lock().unwrap_or_else(|e| e.into_inner());
            ts.retain(|t| !Arc::ptr_eq(t, &self.epoch));
        }
    }
}

thread_local! {
    static ME: ThreadState = ThreadState {
        epoch: Arc::new(AtomicU64::new(0)),
        registered: Cell::new(false),
        entries: RefCell::new(Vec::new()),
    };
}

/// This thread is about to run a trace from the control point whose frame
/// holds stack address `sp`. The caller must then check that the location
/// still holds the trace (else call [`leave`] and not run it).
pub(crate) fn enter(sp: usize) {
    let _ = ME.try_with(|me| {
        let mut es = me.entries.borrow_mut();
        // Entries below `sp` are of frames a longjmp has left.
        while es.last().is_some_and(|&e| e < sp) {
            es.pop();
        }
        if es.is_empty() {
            if !me.registered.replace(true) {
                let mut ts = THREADS.lock().unwrap_or_else(|e| e.into_inner());
                ts.push(me.epoch.clone());
            }
            me.epoch
                .store(EPOCH.load(Ordering::SeqCst), Ordering::SeqCst);
            // Publish before the caller re-reads its location.
            fence(Ordering::SeqCst);
        }
        es.push(sp);
    });
}

/// The trace run from the control point at stack address `sp` has returned.
pub(crate) fn leave(sp: usize) {
    let left = ME
        .try_with(|me| {
            let mut es = me.entries.borrow_mut();
            while es.last().is_some_and(|&e| e <= sp) {
                es.pop();
            }
            let left = es.is_empty();
            if left {
                me.epoch.store(0, Ordering::SeqCst);
            }
            left
        })
        .unwrap_or(false);
    if left && NRETIRED.load(Ordering::Relaxed) > 0 {
        try_reclaim();
    }
}

/// Frees `what` once no thread can be in the trace it frees. The caller
/// has already taken the trace out of its location.
pub(crate) fn retire(what: Retired) {
    // Order the caller's update of the location before the epoch bump.
    fence(Ordering::SeqCst);
    let e = EPOCH.fetch_add(1, Ordering::SeqCst);
    let mut r = RETIRED.lock().unwrap_or_else(|e| e.into_inner());
    r.push((e, what));
    NRETIRED.store(r.len(), Ordering::Relaxed);
    drop(r);
    try_reclaim();
}

/// Frees what no thread can be in any more.
pub(crate) fn try_reclaim() {
    if PINS.load(Ordering::SeqCst) > 0 {
        return;
    }
    let Ok(mut r) = RETIRED.try_lock() else {
        return;
    };
    fence(Ordering::SeqCst);
    let oldest = THREADS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|t| t.load(Ordering::SeqCst))
        .filter(|&e| e != 0)
        .min()
        .unwrap_or(u64::MAX);
    let (free, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut *r)
        .into_iter()
        .partition(|&(e, _)| e < oldest);
    *r = keep;
    NRETIRED.store(r.len(), Ordering::Relaxed);
    drop(r);
    // Outside the lock: freeing may take the compiler's locks.
    for (_, f) in free {
        f();
    }
}

/// Keeps every retired trace alive while it exists (a side-trace recording
/// holds one for its parent trace).
#[derive(Debug)]
pub(crate) struct Pin(());

impl Pin {
    /// A new pin.
    pub(crate) fn new() -> Pin {
        PINS.fetch_add(1, Ordering::SeqCst);
        Pin(())
    }
}

impl Drop for Pin {
    fn drop(&mut self) {
        PINS.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    /// Whether `f` is freed, allowing for other tests' threads that may be
    /// passing through compiled code (fake traces) at the same moment.
    fn freed_soon(f: &AtomicBool) -> bool {
        for _ in 0..500 {
            if f.load(Ordering::SeqCst) {
                return true;
            }
            try_reclaim();
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        false
    }

    // One test: the state is process-wide.
    #[test]
    fn retired_is_freed_when_threads_leave() {
        let freed = Arc::new(AtomicBool::new(false));
        let anchor = 0u8;
        let sp = std::ptr::addr_of!(anchor) as usize;
        // This thread is in a trace: nothing is freed.
        enter(sp);
        let f = freed.clone();
        retire(Box::new(move || f.store(true, Ordering::SeqCst)));
        assert!(!freed.load(Ordering::SeqCst));
        // A nested entry (deeper on the stack) leaving doesn't free it.
        enter(sp - 64);
        leave(sp - 64);
        assert!(!freed.load(Ordering::SeqCst));
        // Another thread entering now can't be in it, and doesn't block it.
        let (tx, rx) = std::sync::mpsc::channel();
        let (tx2, rx2) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn(move || {
            let a = 0u8;
            let sp = std::ptr::addr_of!(a) as usize;
            enter(sp);
            tx.send(()).unwrap();
            rx2.recv().unwrap();
            leave(sp);
        });
        rx.recv().unwrap();
        // A pin holds it even after this thread leaves.
        let pin = Pin::new();
        leave(sp);
        assert!(!freed.load(Ordering::SeqCst));
        drop(pin);
        assert!(freed_soon(&freed));
        // Retired while the other thread is in compiled code: waits for it.
        let freed2 = Arc::new(AtomicBool::new(false));
        let f = freed2.clone();
        retire(Box::new(move || f.store(true, Ordering::SeqCst)));
        assert!(!freed2.load(Ordering::SeqCst));
        tx2.send(()).unwrap();
        other.join().unwrap();
        assert!(freed_soon(&freed2));
        // A longjmp past a trace: the next entry from higher up the stack
        // forgets the stale entry, and leaving frees.
        enter(sp - 128);
        let freed3 = Arc::new(AtomicBool::new(false));
        let f = freed3.clone();
        retire(Box::new(move || f.store(true, Ordering::SeqCst)));
        enter(sp);
        leave(sp);
        assert!(freed_soon(&freed3));
    }
}
