//! The contract between the three parties of yk that never see each other's code:
//! `yk-ld` (crate `linker-plugin`), which rewrites the interpreter at link time; the
//! runtime (`ykrt`), which the rewritten code calls; and the traces the runtime
//! generates, which call back into the runtime. Every name, number and layout that
//! crosses one of those lines is spelled here once, and both sides take it from
//! here, so that changing one side alone is a compile error or a failing test
//! rather than a silent mismatch. `docs/abi.md` describes the same contract in
//! prose; change both together.
//!
//! This crate has no dependencies: it holds constants, `repr(C)` layouts and the
//! format of the embedded section.

#![warn(missing_docs)]

pub mod ir_section;

/// Symbol names: functions the linked code or a trace calls, and the names yk-ld
/// looks for in the interpreter's module.
pub mod names {
    /// The control point as the interpreter writes it (`yk.h`); yk-ld replaces every
    /// call of it by a call of [`RT_CONTROL_POINT`].
    pub const USER_CONTROL_POINT: &str = "yk_mt_control_point";
    /// The runtime's control point: `u64 (YkMT *, YkLocation *, vars *, u64
    /// func_idx)`, returning an outcome of the control point ([`crate::outcome`]).
    pub const RT_CONTROL_POINT: &str = "__ykrt_control_point";
    /// `yk_promote`'s entry point (`u64 -> u64`, the identity): yk-ld replaces its
    /// calls in the running code, the embedded IR keeps them for the trace builder.
    pub const PROMOTE_U64: &str = "__yk_promote_u64";
    /// `yk_disjoint`'s entry point (`ptr (ptr, u64 class) -> ptr`, the
    /// identity): yk-ld replaces its calls in the running code, the embedded
    /// IR keeps them for the trace builder (an alias class, see `yk.h`).
    pub const DISJOINT: &str = "__yk_disjoint";
    /// `bool ()`: true in the interpreter, false in traces and while recording.
    pub const IS_INTERPRETING: &str = "yk_is_interpreting";
    /// `bool ()`: true only in yk-ld's fast clones; false in the recording
    /// versions, in traces, in the blackhole and in a build without clones.
    pub const IS_FAST_CODE: &str = "yk_is_fast_code";
    /// `void (YkLocation *, void *handle, uintptr_t depth)`: the interpreter
    /// enters a function (see `yk.h`); traces and the blackhole drop it.
    pub const ENTRY_HINT: &str = "yk_entry_hint";
    /// `void (const YkAotInfo *)`: called once, before `main`, by a constructor
    /// yk-ld adds.
    pub const REGISTER_AOT: &str = "__yk_register_aot";
    /// `void (u32 func_idx, u32 block_idx)`: the software tracer's block hook.
    pub const SWT_REC_BLOCK: &str = "__yk_swt_rec_block";
    /// `void (u64)`: a promoted value, while recording.
    pub const SWT_REC_PROMOTE: &str = "__yk_swt_rec_promote";
    /// `void (u64)`: an idempotent call's result, while recording.
    pub const SWT_REC_IDEMPOTENT: &str = "__yk_swt_rec_idempotent";
    /// The thread-local software-tracing flag byte (bits in [`crate::flags`]) that
    /// yk-ld defines in every yk binary.
    pub const SWT_FLAG: &str = "__yk_swt_recording";
    /// `u64 (TraceInfo *, u64 guard, u64 *buf, vars *)`: a root trace's failing guard.
    pub const GUARD_EXIT: &str = "__yk_guard_exit";
    /// The same for a side trace's failing guard.
    pub const SIDE_GUARD_EXIT: &str = "__yk_side_guard_exit";
    /// The annotation (`__attribute__((annotate(...)))`) of functions called from
    /// traces but never recorded or inlined.
    pub const ANNOT_OUTLINE: &str = "yk_outline";
    /// The annotation of functions whose result, for the same arguments, a trace may
    /// take as a constant.
    pub const ANNOT_IDEMPOTENT: &str = "yk_idempotent";
}

/// The bits of the thread-local software-tracing flag ([`names::SWT_FLAG`]).
pub mod flags {
    /// Record blocks (and values): what yk-ld's block hooks test. The software
    /// tracer sets this bit.
    pub const BLOCKS: u8 = 1;
    /// Record values only (promotions, idempotent results): the hardware tracer
    /// gets the blocks from Intel PT.
    pub const VALUES: u8 = 2;
    const _: () = assert!(BLOCKS & VALUES == 0);
}

/// The location words the control point's inline fast path (yk-ld) tests without
/// calling the runtime. The runtime must do nothing observable for either.
pub mod location {
    /// The null location (`yk_location_null`): never traced.
    pub const WORD_NULL: u64 = 0;
    /// A location that is never traced again (too many failures, or no JIT).
    pub const WORD_DONT_TRACE: u64 = 0b11;
}

/// What the control point, a trace, or a guard exit returns.
pub mod outcome {
    /// Return 0 to the control point: the interpreter resumes.
    pub const RESUME: u64 = 0;
    /// Return 1: the interpreter function returns (value in `vars`).
    pub const RETURN: u64 = 1;
    /// Jump back to the trace's loop head.
    pub const REENTER: u64 = 2;
    /// The smallest jump: a value `>= JUMP_MIN` is the address of the
    /// `Location` whose control point the interpreter's state (in `vars`)
    /// has reached; the runtime passes that control point next, running
    /// its trace if it has one, before the interpreter resumes.
    pub const JUMP_MIN: u64 = 4096;

    /// Whether outcome `r` is a jump to a location.
    pub fn is_jump(r: u64) -> bool {
        r >= JUMP_MIN
    }
}

/// A compiled trace: `(vars, info, buf) -> outcome`. `vars` is the control
/// point's `YkCtrlPointVars`, `info` the trace's `TraceInfo` (the runtime's type:
/// see [`trace_info`]), `buf` the buffer of live values guard exits store into.
/// Returns an [`outcome`].
pub type TraceFn<Info> = unsafe extern "C" fn(*mut u8, *const Info, *mut u64) -> u64;

/// What a failing guard calls ([`names::GUARD_EXIT`], [`names::SIDE_GUARD_EXIT`]):
/// `(info, guard number, buf, vars) -> outcome`.
pub type GuardExitFn<Info> = unsafe extern "C" fn(*const Info, u64, *mut u64, *mut u8) -> u64;

/// The fields of the runtime's `TraceInfo` that generated code reads and writes
/// itself; the runtime checks its `TraceInfo` against these offsets at compile
/// time.
pub mod trace_info {
    /// Byte offset of `side_slots`: one pointer per guard, its side trace or null.
    pub const SIDE_SLOTS_OFFSET: usize = 0;
    /// Byte offset of `counters`: a pointer to the re-optimisation counters, `[0]`
    /// the loop's iterations (incremented by the trace).
    pub const COUNTERS_OFFSET: usize = 8;
}

/// The information a yk-ld-linked binary registers at start-up
/// ([`names::REGISTER_AOT`]).
pub mod aot_info {
    use std::ffi::c_void;

    /// The version of [`YkAotInfo`] this build writes and reads. 2: `ir` is the
    /// whole `yk_ir` section, a header ([`crate::ir_section`]) and then the bitcode.
    pub const VERSION: u64 = 2;

    /// `YkAotInfo` of docs/abi.md, field for field (yk-ld emits it as an LLVM
    /// constant struct in this order). It and everything it points to live for the
    /// whole process.
    #[repr(C)]
    #[derive(Debug)]
    pub struct YkAotInfo {
        /// [`VERSION`].
        pub version: u64,
        /// The `yk_ir` section: a header ([`crate::ir_section`]), then the bitcode of
        /// the embedded module.
        pub ir: *const u8,
        /// Length of `ir` in bytes (header included).
        pub ir_len: u64,
        /// Run-time address of each global variable of the embedded module (or NULL).
        pub globals: *const *mut c_void,
        /// Length of `globals`.
        pub nglobals: u64,
        /// Run-time address of each function of the embedded module (or NULL).
        pub funcs: *const *mut c_void,
        /// Length of `funcs`.
        pub nfuncs: u64,
        /// Returns the address of the calling thread's software-tracing flag.
        pub swt_flag: unsafe extern "C" fn() -> *mut u8,
    }

    // SAFETY: the ABI promises the pointed-to data is immutable and lives forever; the
    // flag accessor is callable from any thread.
    unsafe impl Send for YkAotInfo {}
    // SAFETY: as for `Send`.
    unsafe impl Sync for YkAotInfo {}

    impl YkAotInfo {
        /// The `yk_ir` section, header included.
        pub fn section(&self) -> &'static [u8] {
            if self.ir.is_null() || self.ir_len == 0 {
                return &[];
            }
            // SAFETY: the ABI promises `ir_len` readable bytes that live forever.
            unsafe { std::slice::from_raw_parts(self.ir, self.ir_len as usize) }
        }

        /// The address table of the embedded module's global variables.
        pub fn globals(&self) -> &'static [*mut c_void] {
            table(self.globals, self.nglobals)
        }

        /// The address table of the embedded module's functions.
        pub fn funcs(&self) -> &'static [*mut c_void] {
            table(self.funcs, self.nfuncs)
        }

        /// The calling thread's software-tracing flag.
        pub fn swt_flag(&self) -> *mut u8 {
            // SAFETY: the ABI's accessor has no preconditions.
            unsafe { (self.swt_flag)() }
        }
    }

    fn table(p: *const *mut c_void, n: u64) -> &'static [*mut c_void] {
        if p.is_null() || n == 0 {
            return &[];
        }
        // SAFETY: the ABI promises `n` entries that live forever.
        unsafe { std::slice::from_raw_parts(p, n as usize) }
    }

    /// The number of fields of [`YkAotInfo`] (what yk-ld's constant struct has).
    pub const NFIELDS: usize = 8;
    const _: () = assert!(std::mem::size_of::<YkAotInfo>() == NFIELDS * std::mem::size_of::<u64>());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_distinct_and_jumps_are_addresses() {
        use outcome::*;
        let codes = [RESUME, RETURN, REENTER];
        assert!(codes.iter().all(|&c| !is_jump(c)));
        assert_eq!(codes.len(), {
            let mut c = codes.to_vec();
            c.dedup();
            c.len()
        });
        // A jump is a `Location`'s address: no object lives in the first page.
        assert!(is_jump(JUMP_MIN) && !is_jump(JUMP_MIN - 1));
    }

    #[test]
    fn aot_info_field_offsets() {
        use aot_info::YkAotInfo;
        use std::mem::offset_of;
        let offs = [
            offset_of!(YkAotInfo, version),
            offset_of!(YkAotInfo, ir),
            offset_of!(YkAotInfo, ir_len),
            offset_of!(YkAotInfo, globals),
            offset_of!(YkAotInfo, nglobals),
            offset_of!(YkAotInfo, funcs),
            offset_of!(YkAotInfo, nfuncs),
            offset_of!(YkAotInfo, swt_flag),
        ];
        assert_eq!(offs.len(), aot_info::NFIELDS);
        for (i, o) in offs.iter().enumerate() {
            assert_eq!(*o, 8 * i, "field {i}");
        }
    }
}
