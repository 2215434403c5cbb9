//! The C ABI that yk-ld-linked code calls (docs/abi.md), plus
//! `yk_mt_control_point`, the call yk-ld rewrites.
//!
//! These live in `ykrt` rather than `ykcapi` so that a Rust interpreter using only
//! this crate gets them too; `ykcapi` re-exports them and `libykcapi` exports them.

use crate::{
    aot::{self, YkAotInfo},
    location::{Location, State},
    mt::MT,
    trace::swt,
};
use std::ffi::c_void;

/// Register the binary's embedded IR and address tables (called once, before
/// `main`, by a constructor yk-ld adds).
///
/// # Safety
/// `info` is null or a `YkAotInfo` that, with everything it points to, lives for
/// the whole process.
#[no_mangle]
pub unsafe extern "C" fn __yk_register_aot(info: *const YkAotInfo) {
    // SAFETY: the caller's contract.
    if let Some(info) = unsafe { info.as_ref() } {
        aot::register(info);
    }
}

/// The rewritten control point (see docs/abi.md). A null pointer or a null
/// location returns 0 at once.
///
/// # Safety
/// `mt` is a live `YkMT`, `loc` null or a live location, `vars` the control
/// point's `YkCtrlPointVars`.
#[no_mangle]
pub unsafe extern "C" fn __ykrt_control_point(
    mt: *const MT,
    loc: *const Location,
    vars: *mut c_void,
    cp_func_idx: u64,
) -> u64 {
    // SAFETY: the caller's contract.
    let Some(loc) = (unsafe { loc.as_ref() }) else {
        return 0;
    };
    if loc.is_null() {
        return 0;
    }
    // SAFETY: the caller's contract.
    match unsafe { mt.as_ref() } {
        Some(mt) if !mt.config().jit_enabled => {
            never_trace(loc);
            0
        }
        Some(mt) => unsafe { mt.control_point_raw(loc, vars, cp_func_idx) },
        None => 0,
    }
}

/// With the JIT off (`YK_JITC=none`) a counting location can never become
/// hot: make it "don't trace", the state the inline fast path yk-ld puts in
/// front of every control point (docs/abi.md) skips without calling here.
#[cold]
fn never_trace(loc: &Location) {
    let word = loc.load();
    if let State::Counting { .. } = State::decode(word) {
        // Losing the race to another thread is harmless: it can only have
        // made the same transition (nothing else happens with the JIT off).
        loc.transition(word, State::DontTrace);
    }
}

/// The control point as the interpreter writes it. It does nothing: yk-ld
/// replaces every call to it by a call to `__ykrt_control_point`, and without
/// yk-ld the program runs without a JIT. Never inlined, and opaque to the
/// optimiser (`black_box`), so the call survives until yk-ld sees it even when
/// this crate is itself compiled to bitcode.
///
/// # Safety
/// None: the arguments are not used. (It is `unsafe` as its pointers come from C.)
#[no_mangle]
#[inline(never)]
pub unsafe extern "C" fn yk_mt_control_point(mt: *const MT, loc: *const Location) {
    std::hint::black_box((mt, loc));
}

/// `yk_promote`'s implementation: the identity. yk-ld replaces the calls in the
/// running binary; the embedded IR keeps them for the trace builder.
#[no_mangle]
#[inline(never)]
pub extern "C" fn __yk_promote_u64(v: u64) -> u64 {
    std::hint::black_box(v)
}

/// Record block `block_idx` of function `func_idx` (software tracer).
#[no_mangle]
pub extern "C" fn __yk_swt_rec_block(func_idx: u32, block_idx: u32) {
    swt::rec_block(func_idx, block_idx);
}

/// Record a promoted value (software tracer).
#[no_mangle]
pub extern "C" fn __yk_swt_rec_promote(value: u64) {
    swt::rec_promote(value);
}

/// Record an idempotent call's result (software tracer).
#[no_mangle]
pub extern "C" fn __yk_swt_rec_idempotent(value: u64) {
    swt::rec_idempotent(value);
}

/// True when called from the interpreter; compiled traces replace calls to it
/// by `false`. While this thread records a trace it is also `false`, so that
/// the recorded path is the one the trace will take (the trace builder would
/// otherwise find the recording going the other way at a constant branch).
/// yk-ld makes it `true` in the fast clones, which run only while not
/// recording.
#[no_mangle]
#[inline(never)]
pub extern "C" fn yk_is_interpreting() -> bool {
    !crate::trace::swt::is_recording()
}
