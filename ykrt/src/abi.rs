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
use yk_abi::outcome;

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
        return outcome::RESUME;
    };
    if loc.is_null() {
        return outcome::RESUME;
    }
    // SAFETY: the caller's contract.
    match unsafe { mt.as_ref() } {
        Some(mt) if !mt.config().jit_enabled => {
            never_trace(loc);
            outcome::RESUME
        }
        // SAFETY: the caller's contract: `vars` is the control point's,
        // and the location stays alive while it is recorded or compiled.
        Some(mt) => unsafe { mt.control_point_raw(loc, vars, cp_func_idx) },
        None => outcome::RESUME,
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

// The control point for Rust interpreters is a method of `MT`, defined here
// beside the C function it wraps (the `MT` itself knows nothing of the ABI).
impl MT {
    /// The control point, for Rust interpreters: call it at the top of the
    /// dispatch loop, as C interpreters call `yk_mt_control_point`.
    ///
    /// This is a thin inline wrapper around the C ABI function
    /// [`yk_mt_control_point`] (also exported by `ykcapi`), which does
    /// nothing by itself: it is the call that yk-ld rewrites into
    /// `__ykrt_control_point(mt, loc, &vars, func)` when the interpreter is
    /// built with `-C linker-plugin-lto` and linked by yk-ld. Without yk-ld
    /// there is no JIT. The `MT` and `Location` are the same objects as
    /// `YkMT` and `YkLocation` in C.
    #[inline(always)]
    pub fn control_point(&self, loc: &Location) {
        // SAFETY: both pointers come from references.
        unsafe { yk_mt_control_point(self, loc) }
    }
}

/// `yk_promote`'s implementation: the identity. yk-ld replaces the calls in the
/// running binary; the embedded IR keeps them for the trace builder.
#[no_mangle]
#[inline(never)]
pub extern "C" fn __yk_promote_u64(v: u64) -> u64 {
    std::hint::black_box(v)
}

/// `yk_disjoint`'s implementation: the identity. yk-ld replaces the calls in
/// the running binary; the embedded IR keeps them for the trace builder,
/// which takes `class` as the alias class of what `p` points into.
#[no_mangle]
#[inline(never)]
pub extern "C" fn __yk_disjoint(p: *mut c_void, class: u64) -> *mut c_void {
    let _ = class;
    std::hint::black_box(p)
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
    !(crate::trace::swt::any_recording() && crate::trace::swt::is_recording())
}

/// True only in the fast clones of a yk-ld-linked binary, where yk-ld
/// replaces its calls by `true`; this function, which every other caller
/// reaches (the recording versions, the blackhole, a build without
/// clones), returns `false`, and traces (which do not call it) make it
/// `false` too. An
/// interpreter uses it to pass the control point less often in fast code
/// (only where locations can be) while the code traces and the blackhole
/// see passes it where it always did: a guard's exit resumes the
/// interpreter at the next control point.
#[no_mangle]
#[inline(never)]
pub extern "C" fn yk_is_fast_code() -> bool {
    false
}

/// The interpreter enters a function whose entry location is at `loc`
/// (null while it has none), `handle` being the interpreter's name for the
/// function and `depth` the call's nesting (larger is deeper): see
/// `crate::trace::entries`. Only used while this thread records; traces and the
/// blackhole drop the call, and an interpreter calls it only where
/// `yk_is_interpreting()` is false.
///
/// # Safety
/// `loc` is a live location; `handle` stays usable until the location is
/// dropped or this thread's recording ends.
#[no_mangle]
pub unsafe extern "C" fn yk_entry_hint(loc: *const Location, handle: *mut c_void, depth: usize) {
    if !loc.is_null() {
        crate::trace::swt::note_hint(loc as usize, handle as usize, depth);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yk_abi::names;

    /// The name a function item is exported under (its `#[no_mangle]` name is its
    /// Rust name, the last part of its path).
    fn exported<T>(f: &T) -> &'static str {
        std::any::type_name_of_val(f).rsplit("::").next().unwrap()
    }

    /// The Rust wrappers of the identities are identities, whatever the
    /// pointer's type.
    #[test]
    fn disjoint_and_promote_give_their_argument_back() {
        let mut x = [7u64; 4];
        let p = x.as_mut_ptr().wrapping_add(2);
        assert_eq!(crate::disjoint(p, 3), p);
        assert_eq!(
            crate::disjoint(std::ptr::null_mut::<u8>(), 0),
            std::ptr::null_mut()
        );
        assert_eq!(crate::promote(p), p);
        assert_eq!(crate::promote(-5i32), -5);
    }

    /// Every entry point yk-ld-linked code or a trace calls is exported under the
    /// contract's name.
    #[test]
    fn entry_points_have_the_contracts_names() {
        assert_eq!(exported(&__yk_register_aot), names::REGISTER_AOT);
        assert_eq!(exported(&__ykrt_control_point), names::RT_CONTROL_POINT);
        assert_eq!(exported(&yk_mt_control_point), names::USER_CONTROL_POINT);
        assert_eq!(exported(&yk_entry_hint), names::ENTRY_HINT);
        assert_eq!(exported(&__yk_promote_u64), names::PROMOTE_U64);
        assert_eq!(exported(&__yk_disjoint), names::DISJOINT);
        assert_eq!(exported(&__yk_swt_rec_block), names::SWT_REC_BLOCK);
        assert_eq!(exported(&__yk_swt_rec_promote), names::SWT_REC_PROMOTE);
        assert_eq!(
            exported(&__yk_swt_rec_idempotent),
            names::SWT_REC_IDEMPOTENT
        );
        assert_eq!(exported(&yk_is_interpreting), names::IS_INTERPRETING);
        assert_eq!(exported(&yk_is_fast_code), names::IS_FAST_CODE);
        assert_eq!(exported(&crate::deopt::__yk_guard_exit), names::GUARD_EXIT);
        assert_eq!(
            exported(&crate::deopt::__yk_side_guard_exit),
            names::SIDE_GUARD_EXIT
        );
    }
}
