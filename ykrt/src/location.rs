//! `Location`: the per-loop-header state of the JIT, packed into one machine word.
//!
//! # Encoding
//!
//! The word is read on every control point, so it is a single `AtomicUsize`
//! (`YkLocation` in `yk.h` is a struct holding one `uintptr_t`). The low two bits
//! are a tag:
//!
//! | word                      | state                                                   |
//! |---------------------------|---------------------------------------------------------|
//! | `0`                       | null: never counted, never traced (`yk_location_null`)   |
//! | `ptr`, `ptr & 0b11 == 0`  | compiled: `ptr` is a `Box<Installed>` (the trace and its generation) |
//! | `count << 8 \| f << 2 \| 0b01` | counting, `f` failures so far                      |
//! | `owner << 8 \| f << 2 \| 0b10` | tracing by thread `owner`; `owner == 0` is "compiling" |
//! | `0b11`                    | don't trace (too many failures, or no JIT possible)      |
//!
//! Zero meaning "null" makes a zero-initialised `YkLocation` (a `static` array in C)
//! a location that is never traced: the safe default. Bits 2..8 hold the number of
//! failed attempts (recording or compiling), which sets the back-off; bits 8..64
//! hold the count or the recording thread's id (ids come from a process-wide
//! counter, so 56 bits never run out).
//!
//! A compiled location's box is not freed when it leaves the location (the
//! `Location` is dropped, which may happen inside the trace's own dynamic
//! extent, or re-optimisation, `MT::re_record`, moves it back to counting): it
//! is retired (`crate::reclaim`) and freed once no thread can be running it, so
//! a thread that loaded the pointer can use it without a reference count.
//!
//! # Dropping a location that a recording or compilation uses
//!
//! A recording and then its compilation (possibly on the compile thread)
//! write to their start location when they end. They reach it only through
//! a [`Claim`], registered in a process-wide table while the location is in
//! the tracing state; dropping the location (in place: `yk_location_drop_at`
//! in C) removes its claim, under the table's lock, so the recording or
//! compilation ends without touching it and its result is dropped. The
//! interpreter can therefore free a function's locations as soon as the
//! function is unreachable, whatever the JIT is doing with them.

use std::{
    collections::{BTreeMap, HashMap},
    ffi::c_void,
    ptr::NonNull,
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex,
    },
};

#[cfg(not(target_pointer_width = "64"))]
compile_error!("ykrt packs a location's state into a 64-bit word");

/// A compiled trace, owned by its location.
pub trait CompiledTrace: Send + Sync + 'static {
    /// Run the trace from its start location; the result is what the control
    /// point returns (0, or non-zero for "the interpreter function must return").
    ///
    /// # Safety
    /// `vars` is the `YkCtrlPointVars` of the control point the trace was recorded
    /// at, as passed to `__ykrt_control_point`.
    unsafe fn execute(&self, vars: *mut c_void) -> u64;

    /// How a root trace that ends at this trace's location may enter this
    /// trace directly, without returning to the runtime (see
    /// [`DirectEntry`]); `None` (the default): only through
    /// [`CompiledTrace::execute`].
    fn direct_entry(&self) -> Option<DirectEntry> {
        None
    }
}

/// A trace's entry for direct jumps: a root trace that leaves at another
/// location's control point (at the end of a linear trace, or after a guard
/// exit whose side trace or blackhole run ended there) leaves, when that
/// location has a trace with a direct entry of the current flush
/// generation, by a tail call of
/// `*code` with the interpreter state in `vars`, the trace's own `info` and
/// the jumping trace's buffer (so the entered trace needs no more than
/// `guard::SMALL_BUF` slots), instead of returning the jump to
/// `MT::control_point_raw`. The compiler reads it from the location's
/// installed box (`location::Installed::direct`) in the jumping trace's
/// code. Null fields: no direct entry.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub struct DirectEntry {
    /// Where the trace function's address is (it changes when the trace
    /// is recompiled at a higher tier: read at each jump).
    pub code: *const std::sync::atomic::AtomicUsize,
    /// The trace's `guard::TraceInfo` (untyped here: the guards are above
    /// the locations).
    pub info: *const c_void,
}

impl DirectEntry {
    /// No direct entry.
    pub const NONE: DirectEntry = DirectEntry {
        code: std::ptr::null(),
        info: std::ptr::null(),
    };
}

// SAFETY: plain addresses into a trace its location owns, read only by
// trace code while that trace is installed (see `Installed`).
unsafe impl Send for DirectEntry {}
unsafe impl Sync for DirectEntry {}

const TAG_MASK: usize = 0b11;
const TAG_COUNTING: usize = 0b01;
const TAG_TRACING: usize = 0b10;
/// The two words the control point's inline fast path (yk-ld) skips.
const WORD_NULL: usize = yk_abi::location::WORD_NULL as usize;
const WORD_DONT_TRACE: usize = yk_abi::location::WORD_DONT_TRACE as usize;
const FAIL_SHIFT: u32 = 2;
const FAIL_MASK: usize = 0b11_1111;
const PAYLOAD_SHIFT: u32 = 8;
/// The largest count or thread id that fits in a location word.
pub(crate) const MAX_PAYLOAD: u64 = (1 << (64 - PAYLOAD_SHIFT)) - 1;

/// After this many failed attempts (aborted recordings or failed compilations) a
/// location is never traced again: a loop that keeps failing costs a recording
/// each time and wins nothing.
pub const MAX_FAILURES: u8 = 5;

/// How much one failed attempt counts towards [`MAX_FAILURES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// One failure: the location is retried at a doubled threshold.
    Once,
    /// The recording or its trace was too long ([`crate::abort::AbortKind::TooLong`]):
    /// counts [`TOO_LONG_FAILURES`], so that a location is recorded at most
    /// twice when its path is too long both times (it seldom gets shorter:
    /// the same loop body, with the same calls inlined), instead of
    /// [`MAX_FAILURES`] times, each a recording thrown away.
    TooLong,
    /// It would fail again: never traced again.
    Permanent,
    /// The recording was deferred to an inner loop whose trace is being
    /// compiled: one failure, but never the last (the count stays below
    /// [`MAX_FAILURES`]), as the wait ends once the inner trace is
    /// installed, and the outer loop's next recording then ends at it. (An
    /// outer loop that met its compiling inner loop five times was never
    /// traced: `spectral_norm`'s and `fannkuch_redux`'s outer loops.)
    Waiting,
}

/// What a too-long recording counts towards [`MAX_FAILURES`] (see
/// [`Failure::TooLong`]): two of them reach it.
pub(crate) const TOO_LONG_FAILURES: u8 = MAX_FAILURES.div_ceil(2);

impl Failure {
    fn weight(self) -> u8 {
        match self {
            Failure::Once | Failure::Waiting => 1,
            Failure::TooLong => TOO_LONG_FAILURES,
            Failure::Permanent => MAX_FAILURES,
        }
    }

    /// The failure an abort of kind `kind` is, if another attempt may succeed.
    pub(crate) fn of(kind: crate::abort::AbortKind) -> Failure {
        match kind {
            crate::abort::AbortKind::TooLong => Failure::TooLong,
            _ => Failure::Once,
        }
    }
}

/// A decoded location word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    Null,
    Counting {
        count: u64,
        failures: u8,
    },
    /// `owner` is the recording thread's id; `0` means the recording is finished and
    /// is being compiled.
    Tracing {
        owner: u64,
        failures: u8,
    },
    Compiled(NonNull<Installed>),
    DontTrace,
}

/// What a compiled location owns: its trace, and the `MT`'s flush generation
/// ([`MT::flush`]) when the trace was recorded. A trace of an older generation
/// is never entered: the control point drops it and counts the location again.
pub(crate) struct Installed {
    pub(crate) trace: Arc<dyn CompiledTrace>,
    pub(crate) generation: u64,
    /// `trace`'s direct entry (`DirectEntry::NONE` if it has none), where
    /// the code of a trace jumping to this location reads it (see
    /// `DirectEntry`): the box lives while a thread may be
    /// in compiled code that read this location's word.
    pub(crate) direct: DirectEntry,
    /// Called once the trace is freed (the `MT` that compiled it counts it
    /// in `traces_freed`, if the `MT` still exists).
    pub(crate) on_free: Option<OnFree>,
    /// The location's failures before the trace was installed (its
    /// recordings that aborted or failed to compile, and its earlier
    /// traces that lost to the interpreter: see `MT::retire_losing`).
    pub(crate) failures: u8,
}

impl State {
    /// The failures of a counting or tracing location.
    fn failures(self) -> Option<u8> {
        match self {
            State::Tracing { failures, .. } | State::Counting { failures, .. } => Some(failures),
            _ => None,
        }
    }

    /// The state of a location after failure `f` on top of `failures`:
    /// counting again from zero (its threshold doubled for each failure),
    /// or never traced once the failures reach [`MAX_FAILURES`].
    pub(crate) fn after_failure(failures: u8, f: Failure) -> State {
        let mut failures = failures.saturating_add(f.weight());
        if f == Failure::Waiting {
            failures = failures.min(MAX_FAILURES - 1);
        }
        if failures >= MAX_FAILURES {
            State::DontTrace
        } else {
            State::Counting { count: 0, failures }
        }
    }

    pub(crate) fn decode(word: usize) -> State {
        let failures = ((word >> FAIL_SHIFT) & FAIL_MASK) as u8;
        let payload = (word >> PAYLOAD_SHIFT) as u64;
        match word & TAG_MASK {
            _ if word == WORD_NULL => State::Null,
            _ if word == WORD_DONT_TRACE => State::DontTrace,
            0 => State::Compiled(NonNull::new(word as *mut Installed).unwrap()),
            TAG_COUNTING => State::Counting {
                count: payload,
                failures,
            },
            TAG_TRACING => State::Tracing {
                owner: payload,
                failures,
            },
            _ => unreachable!("bad location word {word:#x}"),
        }
    }

    pub(crate) fn encode(self) -> usize {
        let pack = |payload: u64, failures: u8, tag: usize| {
            debug_assert!(payload <= MAX_PAYLOAD && usize::from(failures) <= FAIL_MASK);
            ((payload as usize) << PAYLOAD_SHIFT) | (usize::from(failures) << FAIL_SHIFT) | tag
        };
        match self {
            State::Null => WORD_NULL,
            State::Counting { count, failures } => pack(count, failures, TAG_COUNTING),
            State::Tracing { owner, failures } => pack(owner, failures, TAG_TRACING),
            State::Compiled(p) => p.as_ptr() as usize,
            State::DontTrace => WORD_DONT_TRACE,
        }
    }
}

/// A loop header of the interpreted program (typically one per backward-jump
/// bytecode). Pass it to every control point reached at that bytecode.
///
/// Layout-compatible with `YkLocation` in `yk.h`. A location must not be moved or
/// copied once a control point has seen it (a compiled location owns its trace,
/// and a recording thread refers to its start location by address), and must not
/// be dropped while a thread may still reach it.
#[repr(transparent)]
#[derive(Debug)]
pub struct Location(AtomicUsize);

impl Location {
    /// A fresh location, counting from zero.
    pub fn new() -> Self {
        Location(AtomicUsize::new(
            State::Counting {
                count: 0,
                failures: 0,
            }
            .encode(),
        ))
    }

    /// A location that is never counted or traced: for bytecodes that are not loop
    /// headers. Control points given it return at once.
    pub fn null() -> Self {
        Location(AtomicUsize::new(0))
    }

    /// Is this the null location?
    pub fn is_null(&self) -> bool {
        self.0.load(Ordering::Relaxed) == WORD_NULL
    }

    /// Has a compiled trace been installed here?
    pub fn is_compiled(&self) -> bool {
        matches!(self.state(), State::Compiled(_))
    }

    /// Will this location never be traced (again)?
    pub fn is_dont_trace(&self) -> bool {
        matches!(self.state(), State::DontTrace)
    }

    /// Attach `s` to this location's address: JIT log lines about it end in ` @ s`.
    /// Replaces an earlier string; the string is forgotten when the location drops.
    pub fn set_debug_str(&self, s: impl Into<String>) {
        let mut m = DEBUG_STRS.lock().unwrap_or_else(|e| e.into_inner());
        m.insert(self.addr(), s.into());
        HAVE_DEBUG_STRS.store(true, Ordering::Release);
    }

    /// The debug string attached with [`Location::set_debug_str`], if any.
    pub fn debug_str(&self) -> Option<String> {
        debug_str_at(self.addr())
    }

    pub(crate) fn addr(&self) -> usize {
        self as *const Self as usize
    }

    pub(crate) fn load(&self) -> usize {
        // Acquire: a compiled trace published with Release must be seen whole.
        self.0.load(Ordering::Acquire)
    }

    pub(crate) fn state(&self) -> State {
        State::decode(self.load())
    }

    /// Replace `old` by `new` if the word still holds `old`; false if another thread
    /// got there first.
    pub(crate) fn transition(&self, old: usize, new: State) -> bool {
        self.0
            .compare_exchange(old, new.encode(), Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Bump a counting location's count. Losing an increment to a racing thread is
    /// harmless (hotness is approximate), so this does not retry.
    pub(crate) fn try_count(&self, old: usize, count: u64, failures: u8) {
        let new = State::Counting {
            count: (count + 1).min(MAX_PAYLOAD),
            failures,
        };
        let _ = self
            .0
            .compare_exchange(old, new.encode(), Ordering::Relaxed, Ordering::Relaxed);
    }

    /// After a failed attempt starting from word `old` (tracing or compiling): count
    /// again with a longer threshold, or never trace again once the failures
    /// reach [`MAX_FAILURES`] (see [`Failure`]). Returns the new state if the
    /// transition happened.
    pub(crate) fn back_off(&self, old: usize, f: Failure) -> Option<State> {
        let new = State::after_failure(State::decode(old).failures()?, f);
        self.transition(old, new).then_some(new)
    }

    /// The failures the location had before its trace, whose word `word`
    /// is (a compiled one), was installed; `None` for another state.
    ///
    /// # Safety
    /// The trace's box must not be freed meanwhile: the calling thread is
    /// running compiled code (then `reclaim` keeps it, even if `word` is no
    /// longer the location's), or nothing else can retire the trace.
    pub(crate) unsafe fn compiled_failures(word: usize) -> Option<u8> {
        let State::Compiled(t) = State::decode(word) else {
            return None;
        };
        // SAFETY: the caller's contract keeps the box (boxes are freed only
        // through `reclaim`, once no thread that could have seen this word
        // is in compiled code).
        Some(unsafe { t.as_ref() }.failures)
    }

    /// Install `trace`, recorded in flush generation `generation`, on a location
    /// that is being compiled (`old` is its word); `on_free` is called once the
    /// trace is freed (see [`retire_box`]). False (and the trace is dropped,
    /// `on_free` with it, uncalled) if the location is no longer in that state.
    pub(crate) fn install(
        &self,
        old: usize,
        trace: Arc<dyn CompiledTrace>,
        generation: u64,
        on_free: OnFree,
    ) -> bool {
        let failures = State::decode(old).failures().unwrap_or(0);
        let direct = trace.direct_entry().unwrap_or(DirectEntry::NONE);
        let boxed = NonNull::from(Box::leak(Box::new(Installed {
            trace,
            generation,
            direct,
            on_free: Some(on_free),
            failures,
        })));
        if self.transition(old, State::Compiled(boxed)) {
            true
        } else {
            // SAFETY: the CAS failed, so nobody else saw this box.
            drop(unsafe { Box::from_raw(boxed.as_ptr()) });
            false
        }
    }
}

/// What a trace's installer is told once the trace is freed (see
/// [`Location::install`]).
pub(crate) type OnFree = Box<dyn FnOnce() + Send>;

/// Frees a compiled location's trace box (taken out of its location) once
/// no thread can be running it, then calls its `on_free`.
pub(crate) fn retire_box(t: NonNull<Installed>) {
    // The box travels as an address: `NonNull` isn't `Send`.
    let addr = t.as_ptr() as usize;
    crate::reclaim::retire(Box::new(move || {
        // SAFETY: the location owned this box and no longer points to it;
        // `reclaim` runs this once no thread can be using it.
        let mut installed = unsafe { Box::from_raw(addr as *mut Installed) };
        let on_free = installed.on_free.take();
        drop(installed);
        if let Some(f) = on_free {
            f();
        }
    }));
}

impl Default for Location {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Location {
    fn drop(&mut self) {
        // A compiled trace is not freed at once with its location: the location
        // may be dropped by interpreter code that runs inside the trace's dynamic
        // extent (a guard's blackhole finishing the interpreter function, e.g. a
        // C `main` whose loop was traced, which then drops its locations), or
        // while another thread runs it. It is retired: freed once no thread can
        // be in it.
        //
        // (A load, not `get_mut`: the compile thread may be installing a trace
        // here right now, see `Claim`.)
        //
        // This thread's recording of it, if any, is given up first (the
        // recording backs the location off through its claim, and logs its
        // name).
        if let Some(hook) = DROP_HOOK.get() {
            hook(self.addr());
        }
        let word = self.0.load(Ordering::Acquire);
        match State::decode(word) {
            State::Compiled(t) => retire_box(t),
            State::Tracing { .. } => self.release_claims(),
            _ => {}
        }
        if HAVE_DEBUG_STRS.load(Ordering::Acquire) {
            let mut m = DEBUG_STRS.lock().unwrap_or_else(|e| e.into_inner());
            m.remove(&self.addr());
        }
    }
}

/// What dropping a location must also tell the recorder (`crate::trace`,
/// which is above the locations): a function of the location's address that
/// gives up this thread's recording of it, if any, and forgets what the
/// recorder keeps about it. Set once, when the first recording starts
/// ([`set_drop_hook`]); before that no recording can know a location.
static DROP_HOOK: std::sync::OnceLock<fn(usize)> = std::sync::OnceLock::new();

/// Sets the hook every location's drop calls (see [`DROP_HOOK`]).
pub(crate) fn set_drop_hook(hook: fn(usize)) {
    let _ = DROP_HOOK.set(hook);
}

static NEXT_THREAD_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static THREAD_ID: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// This thread's non-zero id, as a recording stores it in the location
/// word ([`State::Tracing`]'s `owner`; assigned on first use).
pub(crate) fn thread_id() -> u64 {
    THREAD_ID.with(|id| {
        if id.get() == 0 {
            id.set(NEXT_THREAD_ID.fetch_add(1, Ordering::Relaxed));
        }
        id.get()
    })
}

/// This thread's id, or 0 if it never needed one (and so never recorded).
pub(crate) fn thread_id_if_assigned() -> u64 {
    THREAD_ID.with(|id| id.get())
}

impl Location {
    /// Dropping a location in the tracing state: any recording's or
    /// compilation's claim is removed, so that it never touches the
    /// location again. (This thread's own recording of it is given up by
    /// the drop hook, see [`DROP_HOOK`].)
    #[cold]
    fn release_claims(&self) {
        let mut claims = CLAIMS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = claims.as_mut() {
            m.remove(&self.addr());
        }
        // From here on no recording or compilation touches the location.
        drop(claims);
        // A compilation may have installed its trace before the lock was
        // taken: it is this location's to free.
        if let State::Compiled(t) = self.state() {
            retire_box(t);
        }
    }
}

/// The locations that a recording or a compilation started from them may
/// still write to: address to the claim's ticket (see [`Claim`]).
static CLAIMS: Mutex<Option<HashMap<usize, u64>>> = Mutex::new(None);
static NEXT_TICKET: AtomicU64 = AtomicU64::new(1);

/// The right of a recording (and then of its compilation) to use its start
/// location: the location is used only through [`Claim::with`], which does
/// nothing once the location has been dropped. At most one claim per
/// location is live (a location in the tracing state has one recording).
#[derive(Debug)]
pub(crate) struct Claim {
    loc: LocationPtr,
    ticket: u64,
}

impl Claim {
    /// Claims `loc`, which this thread has just moved to the tracing state
    /// (replacing the claim of an earlier recording of it, whose location
    /// accesses then do nothing).
    pub(crate) fn new(loc: &Location) -> Claim {
        let ticket = NEXT_TICKET.fetch_add(1, Ordering::Relaxed);
        let mut claims = CLAIMS.lock().unwrap_or_else(|e| e.into_inner());
        claims
            .get_or_insert_with(HashMap::new)
            .insert(loc.addr(), ticket);
        Claim {
            loc: loc.into(),
            ticket,
        }
    }

    /// Runs `f` on the location unless it has been dropped since it was
    /// claimed (then `None`). The location is not dropped while `f` runs;
    /// `f` must not claim or drop a location.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&Location) -> R) -> Option<R> {
        let claims = CLAIMS.lock().unwrap_or_else(|e| e.into_inner());
        if claims.as_ref()?.get(&self.loc.addr()) != Some(&self.ticket) {
            return None;
        }
        // SAFETY: the claim is registered, so the location has not been
        // dropped, and its drop waits for the lock held here.
        Some(f(unsafe { self.loc.get() }))
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut claims = CLAIMS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = claims.as_mut() {
            if m.get(&self.loc.addr()) == Some(&self.ticket) {
                m.remove(&self.loc.addr());
            }
        }
    }
}

/// A location's address, sendable to the compile thread. The runtime's contract is
/// that a location outlives every recording and compilation that started from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocationPtr(NonNull<Location>);

// SAFETY: a `Location` is an atomic word, usable from any thread; the pointer's
// validity is the caller's contract documented above.
unsafe impl Send for LocationPtr {}
unsafe impl Sync for LocationPtr {}

impl LocationPtr {
    /// The location's address.
    pub fn addr(self) -> usize {
        self.0.as_ptr() as usize
    }

    /// The location itself.
    ///
    /// # Safety
    /// The location must still be alive (see the type's documentation).
    pub unsafe fn get<'a>(self) -> &'a Location {
        // SAFETY: the caller's contract: the location is alive.
        unsafe { self.0.as_ref() }
    }

    /// The debug string attached to this location, if any.
    pub fn debug_str(self) -> Option<String> {
        debug_str_at(self.addr())
    }
}

impl From<&Location> for LocationPtr {
    fn from(l: &Location) -> Self {
        LocationPtr(NonNull::from(l))
    }
}

/// Debug strings live beside the locations, keyed by address, because a location
/// has no room for one. Only log lines and drops look here, and drops only when a
/// string was ever set.
static DEBUG_STRS: Mutex<BTreeMap<usize, String>> = Mutex::new(BTreeMap::new());
static HAVE_DEBUG_STRS: AtomicBool = AtomicBool::new(false);

fn debug_str_at(addr: usize) -> Option<String> {
    if !HAVE_DEBUG_STRS.load(Ordering::Acquire) {
        return None;
    }
    let m = DEBUG_STRS.lock().unwrap_or_else(|e| e.into_inner());
    m.get(&addr).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_roundtrip() {
        for s in [
            State::Null,
            State::DontTrace,
            State::Counting {
                count: 0,
                failures: 0,
            },
            State::Counting {
                count: MAX_PAYLOAD,
                failures: 63,
            },
            State::Tracing {
                owner: 7,
                failures: 3,
            },
            State::Tracing {
                owner: 0,
                failures: 1,
            },
        ] {
            assert_eq!(State::decode(s.encode()), s);
        }
        assert_eq!(Location::null().load(), 0);
        assert!(Location::null().is_null());
        assert!(!Location::new().is_null());
        assert_eq!(Location::new().load(), 0b01);
    }

    #[test]
    fn back_off_then_dont_trace() {
        let l = Location::new();
        for f in 1..MAX_FAILURES {
            let w = l.load();
            let State::Counting { failures, .. } = l.state() else {
                panic!()
            };
            let tracing = State::Tracing { owner: 9, failures };
            assert!(l.transition(w, tracing));
            assert_eq!(
                l.back_off(tracing.encode(), Failure::Once),
                Some(State::Counting {
                    count: 0,
                    failures: f
                })
            );
        }
        let w = l.load();
        assert_eq!(l.back_off(w, Failure::Once), Some(State::DontTrace));
        assert!(l.is_dont_trace());
        // A second back-off from a stale word must not change anything.
        assert_eq!(l.back_off(w, Failure::Once), None);
    }

    #[test]
    fn permanent_back_off() {
        let l = Location::new();
        assert_eq!(
            l.back_off(l.load(), Failure::Permanent),
            Some(State::DontTrace)
        );
    }

    #[test]
    fn waiting_never_stops_a_location() {
        let l = Location::new();
        for _ in 0..2 * MAX_FAILURES {
            assert!(matches!(
                l.back_off(l.load(), Failure::Waiting),
                Some(State::Counting { .. })
            ));
        }
        assert_eq!(
            l.state(),
            State::Counting {
                count: 0,
                failures: MAX_FAILURES - 1
            }
        );
        // Another kind of failure then stops it.
        assert_eq!(l.back_off(l.load(), Failure::Once), Some(State::DontTrace));
    }

    #[test]
    fn too_long_twice_is_never_traced_again() {
        let l = Location::new();
        let first = l.back_off(l.load(), Failure::TooLong);
        assert_eq!(
            first,
            Some(State::Counting {
                count: 0,
                failures: TOO_LONG_FAILURES
            })
        );
        assert_eq!(
            l.back_off(l.load(), Failure::TooLong),
            Some(State::DontTrace)
        );
    }

    #[test]
    fn debug_strings_follow_the_location() {
        let l = Box::new(Location::new());
        assert_eq!(l.debug_str(), None);
        l.set_debug_str("loop@1");
        assert_eq!(l.debug_str().as_deref(), Some("loop@1"));
        assert_eq!(
            LocationPtr::from(&*l).debug_str().as_deref(),
            Some("loop@1")
        );
        let addr = l.addr();
        drop(l);
        assert_eq!(debug_str_at(addr), None);
    }
}
