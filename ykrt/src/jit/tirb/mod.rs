//! The trace-IR builder: recording -> trace IR (optimised while it is
//! built) -> LLVM.
//!
//! Three named steps, each checked:
//!
//! 1. [`walk`]: the recorded blocks into a `tir::Trace` through the forward
//!    optimiser (folding, CSE, the heap cache, guards decided by what the
//!    trace knows, promoted values and idempotent results as constants);
//! 2. `tir::opt::backward`: dead stores and dead code, after which the
//!    trace is verified;
//! 3. [`lower`]: the trace into the LLVM trace function, one exit block per
//!    snapshot.
//!
//! Its output is a [`BuiltTrace`] (see [`super::builder`] for what the
//! compiler shares with it). A recording that uses something the trace IR
//! has no form for (aggregates, vectors, atomics, ...) is aborted with that
//! reason (`AbortKind::Unsupported`); the interpreter goes on without a
//! trace there.

pub mod lower;
pub mod walk;

use super::builder::{
    check_operands, declare_trace_fn, ret_field, Analyses, BuiltTrace, TraceInput, GUARD_EXIT,
    SIDE_GUARD_EXIT,
};
use super::dbg::TraceDbg;
use crate::abort::Abort;
use crate::aotir::AotIndex;
use llvm_sys::core::*;
use tir::opt::forward::MemReader;
use tir::Sym;
pub use walk::ParamSrc;
use yk_llvm::Module;

/// Receives a trace's IR text after a named pass (`YKD_LOG_IR=trace-ir`).
pub type TirLog<'a> = &'a dyn Fn(&str, &str);

/// What the trace IR made of a recording (for logs and statistics).
#[derive(Clone, Debug, Default)]
pub struct TirCounts {
    /// Instructions appended by the walk.
    pub appended: usize,
    /// Left after the forward optimiser.
    pub forward: usize,
    /// Left after the backward pass.
    pub backward: usize,
    /// Guards in the trace.
    pub guards: usize,
    /// Snapshots the guards refer to (one exit block each).
    pub snapshots: usize,
}

/// Reads the constant memory of the running interpreter: AOT globals the
/// IR declares constant, at their run-time addresses.
struct AotMem;

impl MemReader for AotMem {
    fn read(&self, addr: u64, size: u64) -> Option<u64> {
        if addr == 0 || !(1..=8).contains(&size) {
            return None;
        }
        let mut b = [0u8; 8];
        // SAFETY: the walk marks `const` only loads from within a constant
        // global of the running binary (`walk/translate.rs`, `const_global_base`), which is
        // mapped and never written; the optimiser reads at offsets the
        // trace's own loads use.
        unsafe {
            std::ptr::copy_nonoverlapping(addr as *const u8, b.as_mut_ptr(), size as usize);
        }
        Some(u64::from_le_bytes(b))
    }

    fn sym_addr(&self, sym: Sym) -> Option<u64> {
        let info = crate::aot::info()?;
        let a = match sym {
            Sym::Func(n) => *info.funcs().get(n as usize)?,
            Sym::Global(n) => *info.globals().get(n as usize)?,
        };
        (!a.is_null()).then_some(a as u64)
    }
}

/// Builds the trace for `input` through the trace IR, into `t`. `log_tir`
/// receives the trace's text before and after the backward pass.
pub fn build(
    aot: &Module,
    idx: &AotIndex,
    an: &mut Analyses,
    t: Module,
    input: &TraceInput,
    log_tir: Option<TirLog>,
) -> Result<(BuiltTrace, TirCounts), Abort> {
    let mi = an.module_index(aot);
    let (funcs, func_idx, global_idx) = (&mi.funcs, &mi.func_idx, &mi.global_idx);
    let f = *funcs
        .get(input.cp_func_idx)
        .ok_or_else(|| Abort::internal("control point function index out of range"))?;
    super::lazy::materialize(f).map_err(Abort::internal)?;
    let (_, cp_call) = an
        .cp(f, input.cp_func_idx)
        .ok_or_else(|| Abort::internal("no control point in the recorded function"))?;
    let trace_fn = declare_trace_fn(&t, f, input.name);
    let mut dbg = TraceDbg::new(&t, aot, trace_fn, input.name, f, cp_call);
    let line0 = dbg.as_ref().map_or(std::ptr::null_mut(), |d| d.line0());

    // 1. The walk, optimising forwards.
    let aot_tables = walk::Aot {
        idx,
        funcs,
        func_idx,
        global_idx,
    };
    let w = walk::walk(
        aot_tables,
        an,
        dbg.as_mut(),
        &AotMem,
        &walk::WalkInput {
            blocks: input.blocks,
            promotes: input.promotes,
            idempotents: input.idempotents,
            cp_func: f,
            cp_func_idx: input.cp_func_idx as u32,
            linear: input.linear,
            truncated: input.truncated,
            side: input.side,
        },
    )?;
    if let Some(log) = log_tir {
        log("trace-ir-forward", &tir::text::print(&w.trace));
    }
    // 2. Backwards.
    let (tr, map) = tir::opt::backward::run_mapped(&w.trace);
    tr.verify()
        .map_err(|e| Abort::internal(format!("trace IR after the backward pass: {e}")))?;
    let np = tr.params.len();
    let mut locs = vec![(std::ptr::null_mut(), std::ptr::null_mut()); tr.body.len()];
    for (k, loc) in w.locs.iter().enumerate() {
        if let Some(Some(v)) = map.get(np + k) {
            locs[v.idx() - np] = *loc;
        }
    }
    if let Some(log) = log_tir {
        log("trace-ir", &tir::text::print(&tr));
    }
    let counts = TirCounts {
        appended: w.stats.appended,
        forward: w.trace.body.len(),
        backward: tr.body.len(),
        guards: tr
            .body
            .iter()
            .filter(|i| matches!(i, tir::Inst::Guard { .. }))
            .count(),
        snapshots: tr.snaps.len(),
    };

    // 3. Lowering.
    let mut resume_info = Vec::with_capacity(w.resumes.len());
    for r in &w.resumes {
        let d = walk::decoded(an, func_idx, global_idx, r.f, r.fidx as usize);
        let &(block, ix) = d
            .pos
            .get(&r.at)
            .ok_or_else(|| Abort::internal("resume point not decoded"))?;
        let call_dst = if r.top {
            u32::MAX
        } else {
            // SAFETY: `r.at` is a live instruction of the embedded module
            // (yk-llvm rule 2: the generation's module outlives the build), so
            // asking for the one before it is sound (for a frame that is not
            // the top one, the call it returns from).
            let call = unsafe { LLVMGetPreviousInstruction(r.at) };
            *d.regs
                .get(&call)
                .ok_or_else(|| Abort::internal("a call without a register"))?
        };
        resume_info.push(lower::ResumeInfo {
            prog: d.prog.clone(),
            block,
            idx: ix,
            call_dst,
        });
    }
    // SAFETY: `t` is the live trace module (yk-llvm rule 1: `build` owns it)
    // and the function type is made in its context.
    let exit_fn = unsafe {
        let mut gparams = [t.ptr_ty(), t.int_ty(64), t.ptr_ty(), t.ptr_ty()];
        let gty = LLVMFunctionType(t.int_ty(64), gparams.as_mut_ptr(), 4, 0);
        let name = if input.side.is_some() {
            SIDE_GUARD_EXIT
        } else {
            GUARD_EXIT
        };
        t.get_or_declare(name, gty)
    };
    // SAFETY: `cp_call` is the live control-point call `find_cp` found
    // (yk-llvm rule 2), `__ykrt_control_point(mt, loc, vars, idx)` as yk-ld
    // leaves it, so operand 2 is the `YkCtrlPointVars` alloca (rule 3:
    // `LLVMGetAllocatedType` needs an alloca).
    let vars_ty = unsafe { LLVMGetAllocatedType(LLVMGetOperand(cp_call, 2)) };
    let ret_field = ret_field(an.td, cp_call)?;
    let d = Deferred {
        module: t,
        trace_fn,
        vars_ty,
        exit_fn,
        start_loc: input.start_loc,
        funcs: funcs.to_vec(),
        globals: mi.globals.clone(),
        resume_info,
        line0,
        direct: input.direct,
        td: an.td,
        walked: w,
        trace: tr,
        locs,
        dbg,
    };
    let walked = d.walked.walked;
    if input.native {
        // 3. The layout only: the native tier 0 compiles the trace, and the
        // LLVM function is lowered if the trace is recompiled.
        let lay = lower::layout::layout(
            &lower::layout::LayoutCx {
                start_loc: d.start_loc,
                resume_info: &d.resume_info,
                td: d.td,
                vars_ty: d.vars_ty,
            },
            &d.walked,
            &d.trace,
        )?;
        let syms = super::native::Syms::resolve(&d.trace, &lay.plan, funcs);
        return Ok((
            BuiltTrace {
                module: None,
                funcs: Vec::new(),
                globals: Vec::new(),
                guards: lay.guards,
                guard_srcs: lay.guard_srcs,
                nslots: lay.nslots,
                ret_field,
                walked,
                native: Some((lay.plan, syms)),
                deferred: Some(d),
            },
            counts,
        ));
    }
    // 3. Lowering.
    let (module, lowered) = d.lower()?;
    Ok((
        BuiltTrace {
            module: Some(module),
            funcs: lowered.funcs,
            globals: lowered.globals,
            guards: lowered.guards,
            guard_srcs: lowered.guard_srcs,
            nslots: lowered.nslots,
            ret_field,
            walked,
            native: None,
            deferred: None,
        },
        counts,
    ))
}

/// A built trace whose LLVM function is not lowered yet (the native tier 0
/// compiled it): everything the lowering needs, kept until the trace is
/// recompiled or stitched (or the native code generator gives up). Its
/// LLVM handles (the trace module with the declared function and its debug
/// info, the AOT functions, globals and values the walk refers to, the
/// generation's target data) belong to the trace's generation, which
/// outlives it (see `jit::Pending`).
pub struct Deferred {
    module: Module,
    trace_fn: llvm_sys::prelude::LLVMValueRef,
    vars_ty: llvm_sys::prelude::LLVMTypeRef,
    exit_fn: llvm_sys::prelude::LLVMValueRef,
    start_loc: usize,
    funcs: Vec<llvm_sys::prelude::LLVMValueRef>,
    globals: Vec<llvm_sys::prelude::LLVMValueRef>,
    resume_info: Vec<lower::ResumeInfo>,
    line0: llvm_sys::prelude::LLVMMetadataRef,
    direct: Option<super::builder::DirectJump>,
    td: llvm_sys::target::LLVMTargetDataRef,
    walked: walk::Walked,
    /// The trace after the backward pass, and its instructions' debug
    /// locations.
    pub trace: tir::Trace,
    locs: Vec<walk::DbgLoc>,
    /// The trace's debug info, which rebuilds `locs` when it is lowered.
    dbg: Option<TraceDbg>,
}

// SAFETY: a `Deferred` is only used (lowered, dropped) with the compiler's
// lock held, like every other LLVM handle of the compiler's state; its
// generation outlives it.
unsafe impl Send for Deferred {}

impl Deferred {
    /// Lowers the trace into its LLVM function (checked, not optimised).
    pub fn lower(self) -> Result<(Module, lower::Lowered), Abort> {
        let cx = lower::LowerCx {
            t: &self.module,
            trace_fn: self.trace_fn,
            vars_ty: self.vars_ty,
            exit_fn: self.exit_fn,
            start_loc: self.start_loc,
            funcs: &self.funcs,
            globals: &self.globals,
            resume_info: &self.resume_info,
            line0: self.line0,
            direct: self.direct,
            td: self.td,
        };
        let mut dbg = self.dbg;
        let locs: Vec<_> = self
            .locs
            .iter()
            .map(|&l| dbg.as_mut().map_or(std::ptr::null_mut(), |d| d.resolve(l)))
            .collect();
        let lowered = lower::lower(&cx, &self.walked, &self.trace, &locs)?;
        check_operands(self.trace_fn)?;
        Ok((self.module, lowered))
    }
}
