//! Stitching: a root trace's side traces compiled into the root trace's
//! own code when the root trace is recompiled at the hot tier (see
//! `jit::tier`).
//!
//! What it owns: [`StitchSrc`] (a side trace's module as built, kept from
//! its tier-0 compilation until its root is recompiled or freed) and
//! [`stitch`], which links those modules into the root's and sends the
//! root's guard exits that have one to the side trace's function, inlined
//! there, instead of the runtime's `__yk_guard_exit` (which would call the
//! side trace's code through its slot). The side trace's code then runs in
//! the root's frame: its inputs, which the root stores into the buffer at
//! the exit, and its outputs, which it writes into `vars` and the root
//! reloads when the side trace ends at the root's loop, become plain
//! values LLVM can forward, and a branchy loop's two paths are one
//! function. The side trace's run is still counted for re-optimisation
//! (`deopt::__yk_side_ran`), and its own guards still go through its own
//! `TraceInfo` (`__yk_side_guard_exit`), so its side traces are unchanged.
//!
//! Invariants: only side traces of the root's own guards (one level), built
//! in the root's generation (so the modules share a context); the side
//! trace keeps its own compiled code and slot, which the root's tier-0
//! code, and the runtime, still use.

use crate::guard::TraceInfo;
use crate::jit::tirb::lower::atomic_word;
use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::{LLVMAtomicOrdering, LLVMLinkage};
use yk_llvm::{self as llvm, Module};

/// The symbol of `deopt::__yk_side_ran` in trace modules.
pub(super) const SIDE_RAN: &str = "__yk_side_ran";

/// What runs on a root trace's module once its side traces are linked in:
/// the inlining, then what turns the buffer and `vars` traffic between the
/// root and its side traces into values.
pub(super) const PIPELINE: &str =
    "always-inline,function(sroa,early-cse<memssa>,gvn,instcombine<no-verify-fixpoint>,simplifycfg)";

/// [`PIPELINE`], or `YKD_STITCH_PIPELINE` if set (for experiments).
pub(super) fn pipeline() -> String {
    std::env::var("YKD_STITCH_PIPELINE")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| PIPELINE.into())
}

/// Stitching is on unless `YKD_STITCH=0`.
pub(super) fn enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("YKD_STITCH").map_or(true, |v| v != "0"))
}

/// A side trace's module as built, kept for stitching it into its root
/// (shared with its own `jit::Pending`, see `jit::kept`).
pub(super) struct StitchSrc {
    pub(super) kept: std::sync::Arc<super::kept::Kept>,
    /// Its trace function.
    pub(super) name: String,
}

/// One side trace to stitch: its guard in the root, its `TraceInfo` (alive
/// as long as the root's), its trace function's name and its module.
pub(super) struct Stitch {
    pub(super) guard: u32,
    pub(super) info: *const TraceInfo,
    pub(super) name: String,
    pub(super) bitcode: std::sync::Arc<[u8]>,
}

/// Why side traces could not be stitched into their root (the root is then
/// recompiled without them).
#[derive(Debug)]
pub(super) enum StitchError {
    /// The root's module lacks what the lowering puts there (a bug): what.
    Shape(&'static str),
    /// LLVM failed at `step` (link, optimise, verify), with its message.
    Llvm {
        /// What was being done.
        step: &'static str,
        /// LLVM's message.
        msg: String,
    },
    /// A side trace's references to the embedded module's functions and
    /// globals could not be defined.
    Refs(crate::compile::CompileError),
}

impl StitchError {
    /// LLVM's error `e` at `step`.
    pub(super) fn llvm(step: &'static str, e: impl std::fmt::Display) -> StitchError {
        StitchError::Llvm {
            step,
            msg: e.to_string(),
        }
    }
}

impl std::fmt::Display for StitchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StitchError::Shape(what) => write!(f, "{what}"),
            StitchError::Llvm { step, msg } => write!(f, "LLVM failed to {step}: {msg}"),
            StitchError::Refs(e) => write!(f, "{e}"),
        }
    }
}

/// Links the side traces `sides` into `m`, the module of root trace
/// function `root`, and makes the root's guard exits call them (inlined)
/// for their guards. Returns how many were stitched; on an error `m` may
/// have been changed, so the caller compiles a fresh copy instead.
pub(super) fn stitch(m: &Module, root: &str, sides: Vec<Stitch>) -> Result<usize, StitchError> {
    if sides.is_empty() {
        return Ok(0);
    }
    let f = m
        .function(root)
        .ok_or(StitchError::Shape("no root trace function"))?;
    // The one call of the guard exit in the root (see `tirb::lower`).
    let exit_call = llvm::blocks(f)
        .into_iter()
        .flat_map(llvm::instrs)
        .find(|&i| {
            llvm::called_function(i).is_some_and(|c| llvm::name(c) == super::builder::GUARD_EXIT)
        })
        .ok_or(StitchError::Shape("the root trace has no guard exit"))?;
    let n = sides.len();
    let mut targets = Vec::with_capacity(n);
    for s in sides {
        let name = s.name.clone();
        let side = Module::parse_bytes_in(m.ctx, &s.bitcode, &name)
            .map_err(|e| StitchError::llvm("read", e))?;
        m.link_in(side).map_err(|e| StitchError::llvm("link", e))?;
        let sf = m.function(&name).ok_or(StitchError::Shape(
            "the side trace's function is not in the linked module",
        ))?;
        // SAFETY: a function of the module we just linked.
        unsafe { LLVMSetLinkage(sf, LLVMLinkage::LLVMInternalLinkage) };
        m.add_fn_attr(sf, "alwaysinline");
        m.remove_fn_attr(sf, "noinline");
        m.remove_fn_attr(sf, "optnone");
        targets.push((s.guard, s.info, sf));
    }
    // SAFETY: building a new function in `m` and replacing one call of the
    // root's by a call of it with the same arguments and result.
    unsafe {
        let exit_fn =
            llvm::called_function(exit_call).ok_or(StitchError::Shape("no guard exit"))?;
        let fty = LLVMGlobalGetValueType(exit_fn);
        let dispatch = LLVMAddFunction(m.m, c"__yk_stitched_exit".as_ptr(), fty);
        LLVMSetLinkage(dispatch, LLVMLinkage::LLVMInternalLinkage);
        m.add_fn_attr(dispatch, "alwaysinline");
        let (info, guard, buf, vars) = (
            LLVMGetParam(dispatch, 0),
            LLVMGetParam(dispatch, 1),
            LLVMGetParam(dispatch, 2),
            LLVMGetParam(dispatch, 3),
        );
        let b = m.builder();
        let entry = LLVMAppendBasicBlockInContext(m.ctx, dispatch, c"entry".as_ptr());
        let other = LLVMAppendBasicBlockInContext(m.ctx, dispatch, c"runtime".as_ptr());
        LLVMPositionBuilderAtEnd(b.0, entry);
        let sw = LLVMBuildSwitch(b.0, guard, other, targets.len() as u32);
        let i64t = m.int_ty(64);
        let ptr = m.ptr_ty();
        let mut rps = [ptr, i64t, i64t];
        let ran_ty = LLVMFunctionType(i64t, rps.as_mut_ptr(), 3, 0);
        let ran = m.get_or_declare(SIDE_RAN, ran_ty);
        for (g, sinfo, sf) in targets {
            let bb = LLVMAppendBasicBlockInContext(m.ctx, dispatch, c"side".as_ptr());
            LLVMAddCase(sw, m.const_int(64, u64::from(g)), bb);
            LLVMPositionBuilderAtEnd(b.0, bb);
            let si = LLVMConstIntToPtr(m.const_int(64, sinfo as u64), ptr);
            let mut args = [vars, si, buf];
            let r = LLVMBuildCall2(
                b.0,
                LLVMGlobalGetValueType(sf),
                sf,
                args.as_mut_ptr(),
                3,
                c"".as_ptr(),
            );
            // Count the run as `TraceInfo::count_side_run` does: inline
            // while the window is not full (no call, so that LLVM can
            // forward the side trace's results to the root), through the
            // runtime when it is.
            let i8t = m.int_ty(8);
            let mut off = [m.const_int(64, std::mem::offset_of!(TraceInfo, counters) as u64)];
            let cp = LLVMBuildGEP2(b.0, i8t, info, off.as_mut_ptr(), 1, c"".as_ptr());
            let counters = LLVMBuildLoad2(b.0, ptr, cp, c"".as_ptr());
            let mut ix = [m.const_int(64, 1 + 2 * u64::from(g))];
            let rp = LLVMBuildGEP2(b.0, i64t, counters, ix.as_mut_ptr(), 1, c"".as_ptr());
            let runs = LLVMBuildLoad2(b.0, i64t, rp, c"".as_ptr());
            atomic_word(runs, LLVMAtomicOrdering::LLVMAtomicOrderingMonotonic);
            let runs1 = LLVMBuildAdd(b.0, runs, m.const_int(64, 1), c"".as_ptr());
            let full = LLVMBuildICmp(
                b.0,
                llvm_sys::LLVMIntPredicate::LLVMIntUGE,
                runs1,
                m.const_int(64, crate::guard::REOPT_WINDOW),
                c"".as_ptr(),
            );
            let hot = LLVMAppendBasicBlockInContext(m.ctx, dispatch, c"counted".as_ptr());
            let cold = LLVMAppendBasicBlockInContext(m.ctx, dispatch, c"window".as_ptr());
            LLVMBuildCondBr(b.0, full, cold, hot);
            LLVMPositionBuilderAtEnd(b.0, hot);
            atomic_word(
                LLVMBuildStore(b.0, runs1, rp),
                LLVMAtomicOrdering::LLVMAtomicOrderingMonotonic,
            );
            LLVMBuildRet(b.0, r);
            LLVMPositionBuilderAtEnd(b.0, cold);
            let mut rargs = [info, m.const_int(64, u64::from(g)), r];
            let r2 = LLVMBuildCall2(b.0, ran_ty, ran, rargs.as_mut_ptr(), 3, c"".as_ptr());
            LLVMBuildRet(b.0, r2);
        }
        LLVMPositionBuilderAtEnd(b.0, other);
        let mut args = [info, guard, buf, vars];
        let r = LLVMBuildCall2(b.0, fty, exit_fn, args.as_mut_ptr(), 4, c"".as_ptr());
        LLVMBuildRet(b.0, r);
        // The root's exit calls the dispatch instead (same arguments).
        LLVMPositionBuilderBefore(b.0, exit_call);
        let mut cargs: Vec<LLVMValueRef> = (0..4).map(|k| LLVMGetOperand(exit_call, k)).collect();
        let nc = LLVMBuildCall2(b.0, fty, dispatch, cargs.as_mut_ptr(), 4, c"".as_ptr());
        // (A call inlined into a function with debug info needs a
        // location.)
        llvm::set_debug_loc(m, nc, Some(exit_call));
        LLVMReplaceAllUsesWith(exit_call, nc);
        LLVMInstructionEraseFromParent(exit_call);
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A root trace's guard exit with a side trace for guard 3: after
    /// stitching and the pipeline, the side trace's code is inlined in the
    /// root (its store is there, no call of it is left), guard 3's run is
    /// counted inline with the runtime called only when the window is
    /// full, and the other guards still go to the runtime's guard exit.
    #[test]
    fn side_trace_is_inlined_for_its_guard_only() {
        let root = Module::parse_ir(
            "define i64 @root(ptr %vars, ptr %info, ptr %buf) {\n\
             entry:\n  %g = load i64, ptr %buf\n  \
             %r = call i64 @__yk_guard_exit(ptr %info, i64 %g, ptr %buf, ptr %vars)\n  \
             ret i64 %r\n}\n\
             declare i64 @__yk_guard_exit(ptr, i64, ptr, ptr)\n",
        )
        .unwrap();
        let side_bc = Module::parse_ir(
            "define i64 @side(ptr %vars, ptr %info, ptr %buf) {\n  \
             store i64 7, ptr %vars\n  ret i64 2\n}\n",
        )
        .unwrap()
        .to_bitcode();
        let n = stitch(
            &root,
            "root",
            vec![Stitch {
                guard: 3,
                info: 0x5000 as *const TraceInfo,
                name: "side".into(),
                bitcode: side_bc.into(),
            }],
        )
        .unwrap();
        assert_eq!(n, 1);
        root.run_passes(PIPELINE).unwrap();
        root.verify().unwrap();
        let t = root.to_text();
        let body = &t[t.find("define i64 @root").unwrap()..];
        let body = &body[..body.find("\n}\n").unwrap()];
        assert!(body.contains("store i64 7, ptr %vars"), "{t}");
        assert!(!body.contains("@side("), "{t}");
        assert!(
            body.contains("icmp eq i64 %g, 3") || body.contains("i64 3, label"),
            "{t}"
        );
        assert!(body.contains("@__yk_guard_exit(ptr %info, i64 %g"), "{t}");
        assert!(
            body.contains("@__yk_side_ran(ptr %info, i64 3, i64 2)"),
            "{t}"
        );
        assert!(
            body.contains("load atomic i64") && body.contains("monotonic"),
            "{t}"
        );
    }
}
