//! The C API of the yk runtime: `libykcapi` and `yk.h` (in this crate's root).
//!
//! The functions here are thin wrappers over `ykrt`. A `YkMT *` is the pointer of
//! an `Arc<ykrt::MT>` (made by `Arc::into_raw`), and a `YkLocation` is a
//! `ykrt::Location` (one word), so C and Rust interpreters share the same objects.
//! The hooks that yk-ld-linked code calls (`__ykrt_control_point`,
//! `__yk_swt_rec_*`, `__yk_register_aot`, `__yk_promote_u64`, `__yk_disjoint`) and
//! `yk_mt_control_point` itself are defined in `ykrt::abi` and re-exported here;
//! Rust interpreters call [`yk_mt_control_point`] (or `MT::control_point`, a thin
//! inline wrapper around it), which is the call yk-ld rewrites.

#![warn(missing_docs)]
use std::{
    ffi::{c_char, c_void, CStr, CString},
    mem::ManuallyDrop,
    sync::{Arc, OnceLock},
};

use ykrt::{log::JitEvent, stats::StatValue};

pub use ykrt::{
    abi::{
        __yk_disjoint, __yk_promote_u64, __yk_register_aot, __yk_swt_rec_block,
        __yk_swt_rec_idempotent, __yk_swt_rec_promote, __ykrt_control_point, yk_entry_hint,
        yk_is_fast_code, yk_is_interpreting, yk_mt_control_point,
    },
    Location, MT,
};

/// Create a meta-tracer configured from the environment. On failure returns NULL
/// and stores a `malloc`'d message (for the caller to `free`) in `*err_msg`; if
/// `err_msg` is NULL the message is printed and the process aborts.
///
/// # Safety
/// `err_msg` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn yk_mt_new(err_msg: *mut *mut c_char) -> *const MT {
    match MT::new() {
        Ok(mt) => Arc::into_raw(mt),
        Err(e) => {
            let msg = format!("yk_mt_new: {e}");
            if err_msg.is_null() {
                eprintln!("{msg}");
                std::process::abort();
            }
            // SAFETY: the caller's contract.
            unsafe { *err_msg = malloc_str(&msg) };
            std::ptr::null()
        }
    }
}

/// A `malloc`'d, NUL-terminated copy of `s` (NULL if out of memory).
fn malloc_str(s: &str) -> *mut c_char {
    let b = s.as_bytes();
    // SAFETY: writing `len + 1` bytes into a fresh allocation of that size.
    unsafe {
        let p = libc::malloc(b.len() + 1).cast::<u8>();
        if !p.is_null() {
            std::ptr::copy_nonoverlapping(b.as_ptr(), p, b.len());
            *p.add(b.len()) = 0;
        }
        p.cast()
    }
}

/// Wait for pending compilations, write the stats (`YKD_LOG_STATS`) and release
/// the caller's reference to `mt`, which must not be used afterwards.
///
/// # Safety
/// `mt` is NULL or came from `yk_mt_new` and was not shut down before.
#[no_mangle]
pub unsafe extern "C" fn yk_mt_shutdown(mt: *const MT) {
    if mt.is_null() {
        return;
    }
    // SAFETY: the caller's contract: this is the reference `yk_mt_new` gave out.
    let mt = unsafe { Arc::from_raw(mt) };
    mt.shutdown();
}

/// Set the hot threshold.
///
/// # Safety
/// `mt` came from `yk_mt_new`.
#[no_mangle]
pub unsafe extern "C" fn yk_mt_hot_threshold_set(mt: *const MT, threshold: u32) {
    // SAFETY: the caller's contract.
    unsafe { &*mt }.set_hot_threshold(threshold);
}

/// Set the side-trace threshold.
///
/// # Safety
/// `mt` came from `yk_mt_new`.
#[no_mangle]
pub unsafe extern "C" fn yk_mt_sidetrace_threshold_set(mt: *const MT, threshold: u32) {
    // SAFETY: the caller's contract.
    unsafe { &*mt }.set_sidetrace_threshold(threshold);
}

/// A new location, counting from zero.
#[no_mangle]
pub extern "C" fn yk_location_new() -> Location {
    Location::new()
}

/// The null location (never counted or traced; all-zero bits).
#[no_mangle]
pub extern "C" fn yk_location_null() -> Location {
    Location::null()
}

/// Is `loc` the null location? (`loc` is a copy: it must not be dropped here.)
#[no_mangle]
pub extern "C" fn yk_location_is_null(loc: ManuallyDrop<Location>) -> bool {
    loc.is_null()
}

/// Free whatever `loc` owns (e.g. its compiled trace). No thread may use the
/// location afterwards, and no recording or compilation from it may be going
/// on (`loc` is a copy; see [`yk_location_drop_at`]).
#[no_mangle]
pub extern "C" fn yk_location_drop(loc: Location) {
    drop(loc);
}

/// Drop the location at `loc` in place: its trace is retired (freed once no
/// thread can be running it), its debug string forgotten, and a recording
/// or compilation started from it that is still going on gives it up. The
/// caller may then free the memory. NULL is ignored.
///
/// # Safety
/// `loc` is NULL or a live location that no thread reaches afterwards and
/// that is not dropped again.
#[no_mangle]
pub unsafe extern "C" fn yk_location_drop_at(loc: *mut Location) {
    if !loc.is_null() {
        // SAFETY: the caller's contract: a live location, dropped once.
        unsafe { std::ptr::drop_in_place(loc) };
    }
}

/// Attach a debug string (copied) to the location at `loc`: JIT log lines about
/// it end in ` @ <s>`. NULL pointers are ignored.
///
/// # Safety
/// `loc` is NULL or a live location; `s` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn yk_location_set_debug_str(loc: *const Location, s: *const c_char) {
    if loc.is_null() || s.is_null() {
        return;
    }
    // SAFETY: the caller's contract.
    let (loc, s) = unsafe { (&*loc, CStr::from_ptr(s)) };
    loc.set_debug_str(s.to_string_lossy());
}

/// The runtime's version, a static NUL-terminated string (e.g. "0.1.0").
#[no_mangle]
pub extern "C" fn yk_version() -> *const c_char {
    static VERSION: &CStr = {
        let v = concat!(env!("CARGO_PKG_VERSION"), "\0");
        match CStr::from_bytes_with_nul(v.as_bytes()) {
            Ok(c) => c,
            Err(_) => panic!("the crate version has a NUL byte"),
        }
    };
    VERSION.as_ptr()
}

/// Turn the JIT on or off at run time (see `MT::set_enabled`).
///
/// # Safety
/// `mt` came from `yk_mt_new`.
#[no_mangle]
pub unsafe extern "C" fn yk_mt_set_enabled(mt: *const MT, on: bool) {
    // SAFETY: the caller's contract.
    unsafe { &*mt }.set_enabled(on);
}

/// Is the JIT on? (False with `YK_JITC=none`.)
///
/// # Safety
/// `mt` came from `yk_mt_new`.
#[no_mangle]
pub unsafe extern "C" fn yk_mt_enabled(mt: *const MT) -> bool {
    // SAFETY: the caller's contract.
    unsafe { &*mt }.is_enabled()
}

/// Drop every compiled trace (see `MT::flush`).
///
/// # Safety
/// `mt` came from `yk_mt_new`.
#[no_mangle]
pub unsafe extern "C" fn yk_mt_flush(mt: *const MT) {
    // SAFETY: the caller's contract.
    unsafe { &*mt }.flush();
}

/// What a `YkStat` holds.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum YkStatKind {
    /// A counter, in `count`.
    Counter = 0,
    /// A duration in seconds, in `seconds`.
    Seconds = 1,
}

/// One statistic, as `yk_mt_stats` fills it in.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct YkStat {
    /// The statistic's name, as in the `YKD_LOG_STATS` JSON (static).
    pub name: *const c_char,
    /// Which of `count` and `seconds` holds its value.
    pub kind: YkStatKind,
    /// A counter's value (0 for a duration).
    pub count: u64,
    /// A duration's value, in seconds (0 for a counter).
    pub seconds: f64,
}

/// The statistics' names as C strings, made once (they never change).
fn stat_names(entries: &[(&'static str, StatValue)]) -> &'static [CString] {
    static NAMES: OnceLock<Vec<CString>> = OnceLock::new();
    NAMES.get_or_init(|| {
        entries
            .iter()
            .map(|(n, _)| CString::new(*n).expect("a statistic's name has a NUL byte"))
            .collect()
    })
}

/// Fill in up to `cap` statistics of `mt` into `out` (NULL when `cap` is 0);
/// returns how many there are in all, so a first call with `cap` 0 gives the
/// size of the array to pass.
///
/// # Safety
/// `mt` came from `yk_mt_new`; `out` has room for `cap` `YkStat`s.
#[no_mangle]
pub unsafe extern "C" fn yk_mt_stats(mt: *const MT, out: *mut YkStat, cap: usize) -> usize {
    // SAFETY: the caller's contract.
    let entries = unsafe { &*mt }.stats().entries();
    let names = stat_names(&entries);
    for (i, ((_, v), name)) in entries.iter().zip(names).take(cap).enumerate() {
        let (kind, count, seconds) = match *v {
            StatValue::Count(n) => (YkStatKind::Counter, n, 0.0),
            StatValue::Seconds(s) => (YkStatKind::Seconds, 0, s),
        };
        // SAFETY: `i < cap`, within the caller's array.
        unsafe {
            out.add(i).write(YkStat {
                name: name.as_ptr(),
                kind,
                count,
                seconds,
            })
        };
    }
    entries.len()
}

/// A trace event, as passed to a `YkTraceEventFn`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum YkTraceEvent {
    /// A root trace was compiled and installed.
    Compiled = 0,
    /// A side trace was compiled and attached to its guard.
    SideTraceCompiled = 1,
    /// A recording or compilation was given up (the reason is passed).
    Aborted = 2,
    /// A root trace is recorded again, its side path being hotter.
    ReRecorded = 3,
    /// A root recording was given up so that an inner loop is traced
    /// first (the reason is passed).
    Deferred = 4,
}

/// The trace-event callback: `data` as given to `yk_mt_set_trace_event_fn`,
/// the event, the location's debug string (or NULL) and, for `Aborted`, the
/// reason (NULL otherwise). The strings live only during the call.
pub type YkTraceEventFn = unsafe extern "C" fn(
    data: *mut c_void,
    event: YkTraceEvent,
    loc_debug_str: *const c_char,
    reason: *const c_char,
);

/// A C string of `s` (any NUL byte cut it short).
fn c_string(s: &str) -> CString {
    let bytes = s.as_bytes();
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    CString::new(&bytes[..end]).expect("no NUL byte is left")
}

/// The callback of `yk_mt_set_entry_fn`: make the entry of the function
/// `handle` (as passed to `yk_entry_hint`) a location.
pub type YkEntryFn = unsafe extern "C" fn(handle: *mut c_void);

/// Install `f` (NULL: remove it) as the callback that makes a function's
/// entry a location when a recording that grew too long is cut at that
/// function's call (see `yk.h`, `yk_entry_hint`).
///
/// # Safety
/// `mt` came from `yk_mt_new`; `f` stays callable as long as `mt`, and does
/// what `yk.h` allows (make the location, name it).
#[no_mangle]
pub unsafe extern "C" fn yk_mt_set_entry_fn(mt: *const MT, f: Option<YkEntryFn>) {
    // SAFETY: the caller's contract.
    let mt = unsafe { &*mt };
    mt.set_entry_maker(f.map(|f| -> ykrt::mt::EntryMaker {
        // SAFETY: the caller's contract for `f`; `handle` came from the
        // interpreter's own `yk_entry_hint`.
        Arc::new(move |handle: usize| unsafe { f(handle as *mut c_void) })
    }));
}

/// Call `f(data, ...)` for every trace compiled, side trace compiled, trace
/// aborted or re-recorded, whatever `YKD_LOG` says (NULL `f`: stop). `f` may
/// be called on any thread, the runtime's compile thread included.
///
/// # Safety
/// `mt` came from `yk_mt_new`; `f` and `data` stay usable as long as `mt`.
#[no_mangle]
pub unsafe extern "C" fn yk_mt_set_trace_event_fn(
    mt: *const MT,
    f: Option<YkTraceEventFn>,
    data: *mut c_void,
) {
    // SAFETY: the caller's contract.
    let mt = unsafe { &*mt };
    let Some(f) = f else {
        mt.log().set_observer(None);
        return;
    };
    // A raw pointer isn't `Send`: it travels as an address.
    let data = data as usize;
    mt.log().set_observer(Some(Arc::new(
        move |event: JitEvent<'_>, loc: Option<&str>| {
            let (kind, reason) = match event {
                JitEvent::TraceCompiled => (YkTraceEvent::Compiled, None),
                JitEvent::SideTraceCompiled => (YkTraceEvent::SideTraceCompiled, None),
                JitEvent::TraceAborted(r) => (YkTraceEvent::Aborted, Some(c_string(r))),
                JitEvent::TraceReRecorded => (YkTraceEvent::ReRecorded, None),
                JitEvent::TraceDeferred(r) => (YkTraceEvent::Deferred, Some(c_string(r))),
                _ => return,
            };
            let loc = loc.map(c_string);
            let ptr = |s: &Option<CString>| s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
            // SAFETY: the caller's contract for `f` and `data`; the strings
            // outlive the call.
            unsafe { f(data as *mut c_void, kind, ptr(&loc), ptr(&reason)) };
        },
    )));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mt_lifecycle() {
        let mut err = std::ptr::null_mut();
        // SAFETY: test code: `err` is a writable `*mut c_char` (`yk_mt_new`'s
        // contract).
        let mt = unsafe { yk_mt_new(&mut err) };
        assert!(!mt.is_null() && err.is_null());
        // SAFETY: test code: `mt` came from `yk_mt_new` (checked non-null) and
        // is not shut down until the end of the test.
        unsafe {
            yk_mt_hot_threshold_set(mt, 7);
            yk_mt_sidetrace_threshold_set(mt, 9);
            assert_eq!((*mt).hot_threshold(), 7);
            assert_eq!((*mt).sidetrace_threshold(), 9);
        }
        let loc = yk_location_new();
        assert!(!yk_location_is_null(ManuallyDrop::new(Location::new())));
        assert!(yk_location_is_null(ManuallyDrop::new(yk_location_null())));
        // SAFETY: test code: `loc` is a live location, `c"l1"` a NUL-terminated
        // string, and `mt` a live `yk_mt_new` meta-tracer; a null `vars` is
        // what a call before any trace passes.
        unsafe {
            yk_location_set_debug_str(&loc, c"l1".as_ptr());
            yk_mt_control_point(mt, &loc);
            __ykrt_control_point(mt, &loc, std::ptr::null_mut(), 0);
        }
        assert_eq!(loc.debug_str().as_deref(), Some("l1"));
        yk_location_drop(loc);
        assert_eq!(__yk_promote_u64(5), 5);
        let mut x = 0u8;
        let p = (&raw mut x).cast::<c_void>();
        assert_eq!(__yk_disjoint(p, 1), p);
        assert!(yk_is_interpreting());
        assert!(!yk_is_fast_code());
        // SAFETY: test code: `mt` came from `yk_mt_new` and is shut down once,
        // here.
        unsafe { yk_mt_shutdown(mt) };
    }

    /// `yk_location_drop_at` drops the location where it is: its debug
    /// string (kept beside it by address) goes with it; NULL is ignored.
    #[test]
    fn drop_at_forgets_the_debug_string() {
        let mut loc = Box::new(std::mem::MaybeUninit::new(yk_location_new()));
        let p = loc.as_mut_ptr();
        // SAFETY: test code: `p` points to the boxed location, live until it is
        // dropped in place; after that the memory is written with a new
        // location before it is used again, and dropped once more at the end.
        unsafe {
            yk_location_set_debug_str(p, c"dropped".as_ptr());
            assert_eq!((*p).debug_str().as_deref(), Some("dropped"));
            yk_location_drop_at(p);
            yk_location_drop_at(std::ptr::null_mut());
            // The same memory, a new location: no string.
            p.write(yk_location_new());
            assert_eq!((*p).debug_str(), None);
            yk_location_drop_at(p);
        }
    }

    #[test]
    fn enable_flush_stats() {
        // SAFETY: test code: a null `err_msg` is allowed (the process aborts on
        // failure).
        let mt = unsafe { yk_mt_new(std::ptr::null_mut()) };
        // SAFETY: test code: `mt` came from `yk_mt_new` and is shut down once,
        // at the end; `v` has room for the `n` stats passed, and their names
        // are the runtime's static NUL-terminated strings.
        unsafe {
            assert!(yk_mt_enabled(mt));
            yk_mt_set_enabled(mt, false);
            assert!(!yk_mt_enabled(mt));
            yk_mt_set_enabled(mt, true);
            assert!(yk_mt_enabled(mt));
            yk_mt_flush(mt);
            assert_eq!((*mt).generation(), 1);
            let n = yk_mt_stats(mt, std::ptr::null_mut(), 0);
            assert!(n > 0);
            let mut v = vec![
                YkStat {
                    name: std::ptr::null(),
                    kind: YkStatKind::Seconds,
                    count: 9,
                    seconds: 9.0,
                };
                n
            ];
            assert_eq!(yk_mt_stats(mt, v.as_mut_ptr(), n), n);
            let names: Vec<&str> = v
                .iter()
                .map(|s| CStr::from_ptr(s.name).to_str().unwrap())
                .collect();
            assert!(names.contains(&"traces_compiled_ok"));
            let ok = v
                .iter()
                .find(|s| CStr::from_ptr(s.name).to_bytes() == b"traces_compiled_ok")
                .unwrap();
            assert_eq!((ok.kind, ok.count), (YkStatKind::Counter, 0));
            yk_mt_shutdown(mt);
        }
        // SAFETY: test code: `yk_version` returns a static NUL-terminated
        // string.
        let v = unsafe { CStr::from_ptr(yk_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn malloced_message() {
        let p = malloc_str("YK_HOT_THRESHOLD: bad");
        // SAFETY: test code: `p` is the NUL-terminated copy `malloc_str` just
        // made (non-null: the allocation is tiny).
        let s = unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned();
        // SAFETY: test code: `p` came from `libc::malloc` (in `malloc_str`) and
        // is freed once, after its last use.
        unsafe { libc::free(p.cast()) };
        assert_eq!(s, "YK_HOT_THRESHOLD: bad");
    }
}
