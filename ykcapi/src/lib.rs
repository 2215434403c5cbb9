//! The C API of the yk runtime: `libykcapi` and `yk.h` (in this crate's root).
//!
//! The functions here are thin wrappers over `ykrt`. A `YkMT *` is the pointer of
//! an `Arc<ykrt::MT>` (made by `Arc::into_raw`), and a `YkLocation` is a
//! `ykrt::Location` (one word), so C and Rust interpreters share the same objects.
//! The hooks that yk-ld-linked code calls (`__ykrt_control_point`,
//! `__yk_swt_rec_*`, `__yk_register_aot`, `__yk_promote_u64`) and
//! `yk_mt_control_point` itself are defined in `ykrt::abi` and re-exported here;
//! Rust interpreters call [`yk_mt_control_point`] (or `MT::control_point`, a thin
//! inline wrapper around it), which is the call yk-ld rewrites.

use std::{
    ffi::{c_char, CStr},
    mem::ManuallyDrop,
    sync::Arc,
};

pub use ykrt::{
    abi::{
        __yk_promote_u64, __yk_register_aot, __yk_swt_rec_block, __yk_swt_rec_idempotent,
        __yk_swt_rec_promote, __ykrt_control_point, yk_is_interpreting, yk_mt_control_point,
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
/// location afterwards.
#[no_mangle]
pub extern "C" fn yk_location_drop(loc: Location) {
    drop(loc);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mt_lifecycle() {
        let mut err = std::ptr::null_mut();
        let mt = unsafe { yk_mt_new(&mut err) };
        assert!(!mt.is_null() && err.is_null());
        unsafe {
            yk_mt_hot_threshold_set(mt, 7);
            yk_mt_sidetrace_threshold_set(mt, 9);
            assert_eq!((*mt).hot_threshold(), 7);
            assert_eq!((*mt).sidetrace_threshold(), 9);
        }
        let loc = yk_location_new();
        assert!(!yk_location_is_null(ManuallyDrop::new(Location::new())));
        assert!(yk_location_is_null(ManuallyDrop::new(yk_location_null())));
        unsafe {
            yk_location_set_debug_str(&loc, c"l1".as_ptr());
            yk_mt_control_point(mt, &loc);
            __ykrt_control_point(mt, &loc, std::ptr::null_mut(), 0);
        }
        assert_eq!(loc.debug_str().as_deref(), Some("l1"));
        yk_location_drop(loc);
        assert_eq!(__yk_promote_u64(5), 5);
        assert!(yk_is_interpreting());
        unsafe { yk_mt_shutdown(mt) };
    }

    #[test]
    fn malloced_message() {
        let p = malloc_str("YK_HOT_THRESHOLD: bad");
        let s = unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned();
        unsafe { libc::free(p.cast()) };
        assert_eq!(s, "YK_HOT_THRESHOLD: bad");
    }
}
