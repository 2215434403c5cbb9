//! The trace builder: from a recorded block sequence to one LLVM function.
//!
//! The trace is a copy of the interpreter's AOT IR along the recorded path,
//! in a fresh module of the same LLVM context:
//!
//! ```text
//! entry:  load the frame-invariant values (arguments, entry allocas) from
//!         vars; allocas of inlined frames
//! loop:   copy of yk_cp_resume ... copy of the control point's block; br loop
//! ```
//!
//! Calls into functions with IR are inlined by following the recording
//! (each inlined call is a frame with its own value map); declarations,
//! `yk_outline` and varargs functions, recursion past [`MAX_RECURSION`] and
//! calls the recording doesn't enter stay native calls, whose recorded
//! blocks (callbacks) are skipped. Conditional branches, switches, indirect
//! calls that were inlined and `yk_promote` become guards. A failing guard
//! stores the AOT values live at that point, for every frame, into the
//! trace's buffer and calls `__yk_guard_exit` (see [`crate::deopt`]): the
//! blackhole finishes the frames, and the trace re-enters its loop, or
//! returns to the interpreter (see docs/abi.md).
//!
//! Each frame also knows where it is inlined in the trace's debug info
//! ([`super::dbg`]): before an AOT instruction is copied, the IR builder's
//! current location is set to the instruction's AOT location rebuilt for
//! its frame, so that the copy and whatever the builder makes for it
//! (guards, exits) carry the interpreter's source line.

use crate::aotir::AotIndex;
use crate::deopt::decode::{self, Decoded};
use crate::deopt::prog::Ty;
use crate::deopt::{FrameInfo, GuardInfo, LiveSrc};
use crate::jit::dbg::TraceDbg;
use linker_plugin::liveness::Liveness;
use linker_plugin::llvm::{self, blocks, instrs, operands, successors, Module};
use llvm_sys::core::*;
use llvm_sys::debuginfo::LLVMInstructionSetDebugLoc;
use llvm_sys::prelude::*;
use llvm_sys::{LLVMAttributeFunctionIndex, LLVMLinkage, LLVMOpcode, LLVMTypeKind};
use std::collections::HashMap;
use std::ffi::CString;

/// The runtime's control point, as it appears in the embedded IR.
pub(super) const RT_CP: &str = "__ykrt_control_point";
pub(super) const PROMOTE: &str = "__yk_promote_u64";
/// What a root trace's failing guard calls (`deopt::__yk_guard_exit`).
pub const GUARD_EXIT: &str = "__yk_guard_exit";
/// What a side trace's failing guard calls (`deopt::__yk_side_guard_exit`).
pub const SIDE_GUARD_EXIT: &str = "__yk_side_guard_exit";
/// Frames deeper than this are not inlined.
pub(super) const MAX_DEPTH: usize = 16;
/// A function already this many times on the inlined stack is called natively.
pub(super) const MAX_RECURSION: usize = 2;

/// What the builder needs besides the AOT module.
pub struct TraceInput<'a> {
    /// Recorded `(function index, block index)` pairs.
    pub blocks: &'a [(u32, u32)],
    /// Recorded `yk_promote` values, in order.
    pub promotes: &'a [u64],
    /// Recorded results of idempotent calls, in order.
    pub idempotents: &'a [u64],
    /// Index of the function holding the control point.
    pub cp_func_idx: usize,
    /// Address of the location the trace starts at.
    pub start_loc: usize,
    /// A root trace that ends at another location's control point (whose
    /// trace it jumps to) rather than closing a loop at `start_loc`.
    pub linear: bool,
    /// A unique name for the trace function.
    pub name: &'a str,
    /// For a side trace: the frames of the guard it starts from.
    pub side: Option<&'a GuardSrc>,
}

/// One frame of a guard, in terms of the AOT IR: what a side trace starts
/// from.
pub struct SrcFrame {
    pub(super) f: LLVMValueRef,
    pub(super) fidx: u32,
    /// The instruction it resumes at.
    pub(super) resume: LLVMValueRef,
    /// Its live values and where they are.
    pub(super) live: Vec<(LLVMValueRef, LiveSrc)>,
    /// The call in the parent frame it was inlined for.
    pub(super) call: Option<LLVMValueRef>,
}

/// A guard's frames, outermost first.
pub type GuardSrc = Vec<SrcFrame>;

/// Per-function analyses the builder keeps between traces (they are
/// expensive for a big interpreter function and never change).
pub struct Analyses {
    pub(super) decoded: HashMap<usize, Decoded>,
    pub(super) liveness: HashMap<usize, Liveness>,
    /// `Prog::unsupported_from` by (function, block, instruction, frame 0).
    pub(super) unsupported: HashMap<(usize, u32, u32, bool), Option<String>>,
    pub(super) td: llvm_sys::target::LLVMTargetDataRef,
}

// SAFETY: used under the compiler's mutex only.
unsafe impl Send for Analyses {}

impl Analyses {
    /// Analyses of functions of module `aot`.
    pub fn new(aot: &Module) -> Analyses {
        Analyses {
            decoded: HashMap::new(),
            liveness: HashMap::new(),
            unsupported: HashMap::new(),
            td: decode::target_data(aot.m),
        }
    }
}

impl Drop for Analyses {
    fn drop(&mut self) {
        unsafe { llvm_sys::target::LLVMDisposeTargetData(self.td) }
    }
}

/// A built trace module and the AOT symbols it refers to.
pub struct BuiltTrace {
    /// The trace module (same context as the AOT module).
    pub module: Module,
    /// `(symbol name in the trace module, AOT function index)`.
    pub funcs: Vec<(String, usize)>,
    /// `(symbol name in the trace module, AOT global index)`.
    pub globals: Vec<(String, usize)>,
    /// The guards, by index.
    pub guards: Vec<GuardInfo>,
    /// The guards in terms of the AOT IR (for their side traces).
    pub guard_srcs: Vec<GuardSrc>,
    /// Live-value buffer slots the guards need.
    pub nslots: usize,
    /// Where a `ret` of the interpreter function puts its value in vars.
    pub ret_field: Option<(u64, Ty)>,
    /// AOT instructions the walk went through.
    pub walked: usize,
}

/// A recording whose walk goes through more AOT instructions than this is
/// aborted as too long there and then, rather than after building a trace
/// that `super::MAX_TRACE_INSTRS` would reject anyway: a recording of an
/// outer loop can mean millions of instructions, seconds of compile time.
/// (Traces come out bigger than their walks, 2-6x for Lua's: guard exits
/// add more code than folding the interpreter's state removes.)
pub const MAX_WALKED: usize = super::MAX_TRACE_INSTRS;

pub use crate::abort::Abort;

/// A guard exit whose stores are still to be emitted: before `before`, the
/// trace values `values` (in the order of its frames' live values).
struct PendingExit {
    before: LLVMValueRef,
    values: Vec<LLVMValueRef>,
}

/// One frame of the interpreter being copied: the control point's function
/// (frame 0) or an inlined callee.
struct Frame {
    f: LLVMValueRef,
    fidx: u32,
    /// AOT value -> trace value.
    map: HashMap<LLVMValueRef, LLVMValueRef>,
    /// The call (in the parent frame) this frame was inlined for.
    call: Option<LLVMValueRef>,
    /// The current AOT block and the one before it (for phis).
    block: LLVMBasicBlockRef,
    prev: Option<LLVMBasicBlockRef>,
    /// The instruction to continue from (after an inlined call returns).
    resume: Option<LLVMValueRef>,
    /// Native calls happened since this frame's last recorded block: their
    /// recorded blocks (callbacks) come before this frame's next one.
    native_pending: bool,
    /// Where this frame's code is inlined in the trace's debug info (see
    /// [`super::dbg`]); null without debug info.
    dbg_at: LLVMMetadataRef,
}

struct Builder<'a> {
    t: &'a Module,
    idx: &'a AotIndex,
    an: &'a mut Analyses,
    b: llvm::Builder,
    trace_fn: LLVMValueRef,
    vars: LLVMValueRef,
    info_arg: LLVMValueRef,
    buf: LLVMValueRef,
    head: LLVMBasicBlockRef,
    /// Where guard exits re-enter the loop (created on first use).
    reload: LLVMBasicBlockRef,
    leave: LLVMBasicBlockRef,
    leave_phi: LLVMValueRef,
    /// `GUARD_EXIT` or `SIDE_GUARD_EXIT`.
    exit_fn: LLVMValueRef,
    frames: Vec<Frame>,
    /// AOT global/function -> declaration in the trace module.
    syms: HashMap<LLVMValueRef, LLVMValueRef>,
    funcs: Vec<LLVMValueRef>,
    func_idx: HashMap<LLVMValueRef, usize>,
    global_idx: HashMap<LLVMValueRef, usize>,
    used_funcs: Vec<(String, usize)>,
    used_globals: Vec<(String, usize)>,
    guards: Vec<GuardInfo>,
    guard_srcs: Vec<GuardSrc>,
    /// Guard exits whose live values are stored once the whole trace is
    /// known (see `finish_exits`).
    pending: Vec<PendingExit>,
    nslots: usize,
    /// A root trace ending at another location (see `TraceInput::linear`).
    linear: bool,
    side: bool,
    start_loc: usize,
    rec: &'a [(u32, u32)],
    pos: usize,
    promotes: &'a [u64],
    next_promote: usize,
    idempotents: &'a [u64],
    next_idempotent: usize,
    cp_call: LLVMValueRef,
    /// The control point's `YkCtrlPointVars` alloca (AOT) and its type.
    aot_vars: LLVMValueRef,
    vars_ty: LLVMTypeRef,
    /// The value last stored into each vars field along the trace: the
    /// trace keeps the interpreter's state in registers and never writes
    /// vars (every exit goes through the blackhole, which does).
    vars_val: HashMap<u32, LLVMValueRef>,
    /// Fields read before any store in the loop: a phi at the loop head
    /// each, fed from entry, the back edge and re-entries after a guard.
    head_phis: Vec<(u32, LLVMValueRef)>,
    /// AOT instructions walked so far (see [`MAX_WALKED`]).
    walked: usize,
    /// The trace's debug info, unless turned off or the AOT IR has none.
    dbg: Option<TraceDbg>,
}

pub(super) fn is_cp_call(i: LLVMValueRef) -> bool {
    llvm::called_function(i).map(llvm::name).as_deref() == Some(RT_CP)
}

/// The block of `f` that contains the control point call, and the call.
pub(super) fn find_cp(f: LLVMValueRef) -> Option<(LLVMBasicBlockRef, LLVMValueRef)> {
    for bb in blocks(f) {
        for i in instrs(bb) {
            if is_cp_call(i) {
                return Some((bb, i));
            }
        }
    }
    None
}

pub(super) fn block_index(f: LLVMValueRef, b: LLVMBasicBlockRef) -> u32 {
    blocks(f).iter().position(|&x| x == b).unwrap_or(usize::MAX) as u32
}

/// Builds the trace for `input` from the AOT module `aot`, into `t`.
pub fn build(
    aot: &Module,
    idx: &AotIndex,
    an: &mut Analyses,
    t: Module,
    input: &TraceInput,
) -> Result<BuiltTrace, Abort> {
    let funcs = aot.functions();
    let f = *funcs
        .get(input.cp_func_idx)
        .ok_or_else(|| Abort::internal("control point function index out of range"))?;
    super::lazy::materialize(f).map_err(Abort::internal)?;
    let (cp_block, cp_call) =
        find_cp(f).ok_or_else(|| Abort::internal("no control point in the recorded function"))?;
    let func_idx = funcs.iter().enumerate().map(|(i, &f)| (f, i)).collect();
    let global_idx = aot
        .globals()
        .into_iter()
        .enumerate()
        .map(|(i, g)| (g, i))
        .collect();
    let mut bt = Builder {
        t: &t,
        idx,
        an,
        b: t.builder(),
        trace_fn: std::ptr::null_mut(),
        vars: std::ptr::null_mut(),
        info_arg: std::ptr::null_mut(),
        buf: std::ptr::null_mut(),
        head: std::ptr::null_mut(),
        reload: std::ptr::null_mut(),
        leave: std::ptr::null_mut(),
        leave_phi: std::ptr::null_mut(),
        exit_fn: std::ptr::null_mut(),
        frames: Vec::new(),
        syms: HashMap::new(),
        funcs,
        func_idx,
        global_idx,
        used_funcs: Vec::new(),
        used_globals: Vec::new(),
        guards: Vec::new(),
        guard_srcs: Vec::new(),
        pending: Vec::new(),
        nslots: 0,
        side: input.side.is_some(),
        linear: input.side.is_none() && input.linear,
        start_loc: input.start_loc,
        rec: input.blocks,
        pos: 0,
        promotes: input.promotes,
        next_promote: 0,
        idempotents: input.idempotents,
        next_idempotent: 0,
        cp_call,
        aot_vars: unsafe { LLVMGetOperand(cp_call, 2) },
        vars_ty: unsafe { LLVMGetAllocatedType(LLVMGetOperand(cp_call, 2)) },
        vars_val: HashMap::new(),
        head_phis: Vec::new(),
        walked: 0,
        dbg: None,
    };
    bt.build(aot, f, cp_block, input)?;
    if bt.next_promote != input.promotes.len() {
        return Err(Abort::recording(format!(
            "yk_promote used outside the traced frames ({} recorded, {} in the trace)",
            input.promotes.len(),
            bt.next_promote
        )));
    }
    if bt.next_idempotent != input.idempotents.len() {
        return Err(Abort::recording(format!(
            "idempotent calls outside the traced frames ({} recorded, {} in the trace)",
            input.idempotents.len(),
            bt.next_idempotent
        )));
    }
    check_operands(bt.trace_fn)?;
    let ret_field = bt.ret_field(cp_call)?;
    let funcs = std::mem::take(&mut bt.used_funcs);
    let globals = std::mem::take(&mut bt.used_globals);
    let guards = std::mem::take(&mut bt.guards);
    let guard_srcs = std::mem::take(&mut bt.guard_srcs);
    let nslots = bt.nslots;
    let walked = bt.walked;
    drop(bt);
    Ok(BuiltTrace {
        module: t,
        funcs,
        globals,
        guards,
        guard_srcs,
        nslots,
        ret_field,
        walked,
    })
}

impl Builder<'_> {
    fn build(
        &mut self,
        aot: &Module,
        f: LLVMValueRef,
        cp_block: LLVMBasicBlockRef,
        input: &TraceInput,
    ) -> Result<(), Abort> {
        let t = self.t;
        let cp_call = self.cp_call;
        let fi = input.cp_func_idx as u32;
        unsafe {
            self.trace_fn = declare_trace_fn(t, f, input.name);
            self.dbg = TraceDbg::new(t, aot, self.trace_fn, input.name, f, cp_call);
            self.at_line0();
            self.vars = LLVMGetParam(self.trace_fn, 0);
            self.info_arg = LLVMGetParam(self.trace_fn, 1);
            self.buf = LLVMGetParam(self.trace_fn, 2);
            let mut gparams = [t.ptr_ty(), t.int_ty(64), t.ptr_ty(), t.ptr_ty()];
            let gty = LLVMFunctionType(t.int_ty(64), gparams.as_mut_ptr(), 4, 0);
            let exit_name = if input.side.is_some() {
                SIDE_GUARD_EXIT
            } else {
                GUARD_EXIT
            };
            self.exit_fn = t.get_or_declare(exit_name, gty);

            let entry = self.new_block("entry");
            self.head = self.new_block("loop");
            self.leave = self.new_block("leave");
            LLVMPositionBuilderAtEnd(self.b.0, self.leave);
            self.leave_phi = LLVMBuildPhi(self.b.0, t.int_ty(64), c"".as_ptr());
            LLVMBuildRet(self.b.0, self.leave_phi);
            LLVMPositionBuilderAtEnd(self.b.0, entry);

            // The vars alloca is the trace's argument; frame-invariant values
            // (stored into vars but never reloaded) are loaded once here.
            let mut map = HashMap::new();
            let aot_vars = LLVMGetOperand(cp_call, 2);
            map.insert(aot_vars, self.vars);
            let vars_ty = LLVMGetAllocatedType(aot_vars);
            for (k, v) in vars_fields(cp_block, aot_vars) {
                let invariant = !LLVMIsAArgument(v).is_null()
                    || (llvm::opcode(v) == LLVMOpcode::LLVMAlloca
                        && LLVMGetInstructionParent(v) == blocks(f)[0]);
                if invariant {
                    let p = self.field_ptr(vars_ty, k);
                    let x = LLVMBuildLoad2(self.b.0, LLVMTypeOf(v), p, c"".as_ptr());
                    map.insert(v, x);
                }
            }
            if let Some(src) = input.side {
                // A side trace: its frames' live values come from the buffer.
                self.side_frames(src, map);
                LLVMBuildBr(self.b.0, self.head);
                LLVMPositionBuilderAtEnd(self.b.0, self.head);
                self.walk()?;
                self.at_line0();
                self.store_vars();
                self.end_at_cp();
                self.finish_exits(entry);
                return Ok(());
            }
            LLVMBuildBr(self.b.0, self.head);
            LLVMPositionBuilderAtEnd(self.b.0, self.head);

            let resume = successors(cp_block)[0];
            let first = self.rec.first().copied();
            if first != Some((fi, block_index(f, resume))) {
                return Err(Abort::recording(
                    "the recording does not start at the control point",
                ));
            }
            self.pos = 1;
            self.frames.push(Frame {
                f,
                fidx: fi,
                map,
                call: None,
                block: resume,
                prev: Some(cp_block),
                resume: None,
                native_pending: false,
                dbg_at: self.dbg_root(),
            });
            if self.linear {
                // Count the trace's runs where a loop counts its iterations
                // (side traces' re-optimisation windows compare the two).
                self.count_iteration();
            }
            self.walk()?;
            self.at_line0();
            if self.linear {
                // The end of the path is another location's control point:
                // write the interpreter's state and jump there. The fields
                // read come in as phis at the head, as in a loop (from the
                // entry, and from re-entries after a guard).
                self.store_vars();
                self.end_at_cp();
                self.close_loop(entry)?;
            } else {
                // The end of the path is the start location's control point.
                LLVMBuildBr(self.b.0, self.head);
                self.close_loop(entry)?;
            }
            self.finish_exits(entry);
        }
        Ok(())
    }

    /// The vars field that AOT pointer `p` (of frame 0) addresses, if any.
    fn vars_field(&self, p: LLVMValueRef) -> Option<u32> {
        if self.frames.len() != 1 {
            return None;
        }
        unsafe {
            if LLVMIsAGetElementPtrInst(p).is_null()
                || LLVMGetOperand(p, 0) != self.aot_vars
                || LLVMGetNumOperands(p) != 3
            {
                return None;
            }
            let k = LLVMGetOperand(p, 2);
            (!LLVMIsAConstantInt(k).is_null()).then(|| LLVMConstIntGetZExtValue(k) as u32)
        }
    }

    /// A load of vars field `k` (type `ty`): the value last stored, or a
    /// loop-head phi.
    fn load_field(&mut self, k: u32, ty: LLVMTypeRef) -> LLVMValueRef {
        if let Some(&v) = self.vars_val.get(&k) {
            return v;
        }
        if self.side {
            // No loop: read what the caller left.
            let p = self.field_ptr(self.vars_ty, k);
            let v = unsafe { LLVMBuildLoad2(self.b.0, ty, p, c"".as_ptr()) };
            self.vars_val.insert(k, v);
            return v;
        }
        unsafe {
            let here = LLVMGetInsertBlock(self.b.0);
            let first = LLVMGetFirstInstruction(self.head);
            if first.is_null() {
                LLVMPositionBuilderAtEnd(self.b.0, self.head);
            } else {
                LLVMPositionBuilder(self.b.0, self.head, first);
            }
            let phi = LLVMBuildPhi(self.b.0, ty, c"".as_ptr());
            LLVMPositionBuilderAtEnd(self.b.0, here);
            self.head_phis.push((k, phi));
            self.vars_val.insert(k, phi);
            phi
        }
    }

    /// Writes every field stored along the trace into vars (a side trace
    /// returns to code that reads them).
    fn store_vars(&mut self) {
        let mut fields: Vec<_> = self.vars_val.iter().map(|(&k, &v)| (k, v)).collect();
        fields.sort_by_key(|f| f.0);
        for (k, v) in fields {
            let p = self.field_ptr(self.vars_ty, k);
            unsafe { LLVMBuildStore(self.b.0, v, p) };
        }
    }

    /// Feeds the loop-head phis: from the entry (vars as the interpreter
    /// left them), the back edge (the values of this iteration; a linear
    /// trace has none) and the blackhole's re-entries (vars as it wrote
    /// them).
    fn close_loop(&mut self, entry: LLVMBasicBlockRef) -> Result<(), Abort> {
        unsafe {
            let back = LLVMGetInsertBlock(self.b.0);
            if self.linear {
                // No back edge; its runs were counted at the head.
                let reload = self.reload_block();
                for &(k, phi) in &self.head_phis {
                    let ty = LLVMTypeOf(phi);
                    let e = self.load_field_at(entry, k, ty);
                    let r = self.load_field_at(reload, k, ty);
                    let mut vals = [e, r];
                    let mut bbs = [entry, reload];
                    LLVMAddIncoming(phi, vals.as_mut_ptr(), bbs.as_mut_ptr(), 2);
                }
                return Ok(());
            }
            // Count the loop's iterations (for re-optimisation).
            let mut first = LLVMGetFirstInstruction(self.head);
            while !first.is_null() && llvm::opcode(first) == LLVMOpcode::LLVMPHI {
                first = LLVMGetNextInstruction(first);
            }
            if first.is_null() {
                LLVMPositionBuilderAtEnd(self.b.0, self.head);
            } else {
                LLVMPositionBuilderBefore(self.b.0, first);
            }
            self.count_iteration();
            let reload = self.reload_block();
            for &(k, phi) in &self.head_phis {
                let ty = LLVMTypeOf(phi);
                let v = *self
                    .vars_val
                    .get(&k)
                    .ok_or_else(|| Abort::internal("a vars field not stored in the loop"))?;
                let e = self.load_field_at(entry, k, ty);
                let r = self.load_field_at(reload, k, ty);
                let mut vals = [e, v, r];
                let mut bbs = [entry, back, reload];
                LLVMAddIncoming(phi, vals.as_mut_ptr(), bbs.as_mut_ptr(), 3);
            }
        }
        Ok(())
    }

    /// A load of vars field `k` (type `ty`) at the end of block `bb`, before
    /// its terminator.
    fn load_field_at(&self, bb: LLVMBasicBlockRef, k: u32, ty: LLVMTypeRef) -> LLVMValueRef {
        unsafe {
            LLVMPositionBuilder(self.b.0, bb, LLVMGetBasicBlockTerminator(bb));
            let p = self.field_ptr(self.vars_ty, k);
            LLVMBuildLoad2(self.b.0, ty, p, c"".as_ptr())
        }
    }

    /// Ends the current block: to the loop's re-entry if outcome `r` is
    /// `REENTER`, else to `other`.
    fn reenter_or(&mut self, r: LLVMValueRef, other: LLVMBasicBlockRef) {
        unsafe {
            let again = LLVMBuildICmp(
                self.b.0,
                llvm_sys::LLVMIntPredicate::LLVMIntEQ,
                r,
                self.t.const_int(64, crate::deopt::outcome::REENTER),
                c"".as_ptr(),
            );
            let reload = self.reload_block();
            LLVMBuildCondBr(self.b.0, again, reload, other);
        }
    }

    /// Adds one to the trace's iteration counter (`TraceInfo::counters[0]`),
    /// at the builder's position.
    fn count_iteration(&self) {
        unsafe {
            let i64t = self.t.int_ty(64);
            let p = self.counter(0);
            let n = self.atomic(LLVMBuildLoad2(self.b.0, i64t, p, c"".as_ptr()));
            let n = LLVMBuildAdd(self.b.0, n, self.t.const_int(64, 1), c"".as_ptr());
            self.atomic(LLVMBuildStore(self.b.0, n, p));
        }
    }

    /// Slot `slot` of the live-value buffer, addressed at the builder's
    /// position.
    fn buf_slot(&self, slot: u32) -> LLVMValueRef {
        unsafe {
            let i64t = self.t.int_ty(64);
            let mut ix = [LLVMConstInt(i64t, slot as u64, 0)];
            LLVMBuildGEP2(self.b.0, i64t, self.buf, ix.as_mut_ptr(), 1, c"".as_ptr())
        }
    }

    /// The counter slot `k` of this trace's `TraceInfo::counters`.
    fn counter(&self, k: usize) -> LLVMValueRef {
        unsafe {
            let t = self.t;
            let mut ix = [t.const_int(64, 8)];
            let pp = LLVMBuildGEP2(
                self.b.0,
                t.int_ty(8),
                self.info_arg,
                ix.as_mut_ptr(),
                1,
                c"".as_ptr(),
            );
            let base = LLVMBuildLoad2(self.b.0, t.ptr_ty(), pp, c"".as_ptr());
            let mut ix = [t.const_int(64, k as u64)];
            LLVMBuildGEP2(
                self.b.0,
                t.int_ty(64),
                base,
                ix.as_mut_ptr(),
                1,
                c"".as_ptr(),
            )
        }
    }

    /// A relaxed (monotonic) atomic load or store of a counter: counts are
    /// a heuristic, so threads may lose increments, but never tear.
    fn atomic(&self, i: LLVMValueRef) -> LLVMValueRef {
        unsafe {
            LLVMSetOrdering(i, llvm_sys::LLVMAtomicOrdering::LLVMAtomicOrderingMonotonic);
            LLVMSetAlignment(i, 8);
        }
        i
    }

    /// Emits the guard exits' stores, now that the whole trace is known.
    /// Constants aren't stored (the guard's info holds them). Values that
    /// are the same everywhere in the trace (defined in the entry block, or
    /// loop-head phis the loop never changes) get one reserved slot each,
    /// written where they change (entry, re-entry) rather than at every
    /// guard: an interpreter function keeps dozens of such values live, and
    /// storing them at each of thousands of guards would dominate the
    /// trace's size and compile time.
    fn finish_exits(&mut self, entry: LLVMBasicBlockRef) {
        type Invariant = (LLVMValueRef, Option<LLVMValueRef>);
        let invariant: HashMap<LLVMValueRef, Invariant> = unsafe {
            let mut m = HashMap::new();
            for &(_, phi) in &self.head_phis {
                let n = LLVMCountIncoming(phi);
                let from = |b: LLVMBasicBlockRef| {
                    (0..n)
                        .find(|&k| LLVMGetIncomingBlock(phi, k) == b)
                        .map(|k| LLVMGetIncomingValue(phi, k))
                };
                let stays = (0..n).all(|k| {
                    let b = LLVMGetIncomingBlock(phi, k);
                    b == entry || b == self.reload || LLVMGetIncomingValue(phi, k) == phi
                });
                if let (true, Some(e)) = (stays, from(entry)) {
                    m.insert(phi, (e, from(self.reload)));
                }
            }
            m
        };
        let in_entry = |v: LLVMValueRef| unsafe {
            !LLVMIsAArgument(v).is_null()
                || (!LLVMIsAInstruction(v).is_null() && LLVMGetInstructionParent(v) == entry)
        };
        let mut reserved: HashMap<LLVMValueRef, u32> = HashMap::new();
        let mut order = Vec::new();
        for p in &self.pending {
            for &v in &p.values {
                if (invariant.contains_key(&v) || in_entry(v)) && !reserved.contains_key(&v) {
                    reserved.insert(v, order.len() as u32);
                    order.push(v);
                }
            }
        }
        let nres = order.len() as u32;
        let store_at = |b: &Self, v: LLVMValueRef, slot: u32| unsafe {
            LLVMBuildStore(b.b.0, v, b.buf_slot(slot));
        };
        unsafe {
            // The reserved slots: written in the entry block, and again when
            // the loop is re-entered after a guard (head phis take the values
            // the blackhole left, and a side trace, which shares the buffer,
            // may have overwritten any slot).
            LLVMPositionBuilder(self.b.0, entry, LLVMGetBasicBlockTerminator(entry));
            for (slot, &v) in order.iter().enumerate() {
                let e = invariant.get(&v).map_or(v, |x| x.0);
                store_at(self, e, slot as u32);
            }
            if !self.reload.is_null() {
                let term = LLVMGetBasicBlockTerminator(self.reload);
                LLVMPositionBuilder(self.b.0, self.reload, term);
                for (slot, &v) in order.iter().enumerate() {
                    match invariant.get(&v) {
                        Some((_, Some(r))) => store_at(self, *r, slot as u32),
                        Some((_, None)) => {}
                        None => store_at(self, v, slot as u32),
                    }
                }
            }
        }
        let pending = std::mem::take(&mut self.pending);
        for (g, p) in pending.iter().enumerate() {
            let mut srcs = Vec::with_capacity(p.values.len());
            let mut next = nres;
            unsafe { LLVMPositionBuilderBefore(self.b.0, p.before) };
            for &v in &p.values {
                let src = if let Some(k) = const_bits(v) {
                    LiveSrc::Const(k)
                } else if let Some(&r) = reserved.get(&v) {
                    LiveSrc::Slot(r)
                } else {
                    store_at(self, v, next);
                    next += 1;
                    LiveSrc::Slot(next - 1)
                };
                srcs.push(src);
            }
            self.nslots = self.nslots.max(next as usize);
            // Replace the provisional slots, in the same order.
            let mut it = srcs.into_iter();
            let mut frames = std::mem::take(&mut self.guards[g].frames);
            for (fi, sf) in frames.iter_mut().zip(self.guard_srcs[g].iter_mut()) {
                for (l, s) in fi.live.iter_mut().zip(sf.live.iter_mut()) {
                    let src = it.next().unwrap();
                    l.2 = src;
                    s.1 = src;
                }
            }
            self.guards[g] = GuardInfo::new(frames);
        }
        self.nslots = self.nslots.max(nres as usize);
    }

    /// The block guard exits re-enter the loop through.
    fn reload_block(&mut self) -> LLVMBasicBlockRef {
        if self.reload.is_null() {
            self.reload = self.new_block("reenter");
            unsafe {
                let here = LLVMGetInsertBlock(self.b.0);
                LLVMPositionBuilderAtEnd(self.b.0, self.reload);
                LLVMBuildBr(self.b.0, self.head);
                if !here.is_null() {
                    LLVMPositionBuilderAtEnd(self.b.0, here);
                }
            }
        }
        self.reload
    }

    /// Pushes the frames of the guard a side trace starts from, loading
    /// their live values from the buffer (`map`: frame 0's known values).
    fn side_frames(&mut self, src: &GuardSrc, map: HashMap<LLVMValueRef, LLVMValueRef>) {
        let mut map0 = Some(map);
        let mut dbg_at = self.dbg_root();
        for sf in src {
            let mut map = map0.take().unwrap_or_default();
            for &(v, src) in &sf.live {
                unsafe {
                    let ty = LLVMTypeOf(v);
                    let x = match src {
                        LiveSrc::Slot(slot) => {
                            LLVMBuildLoad2(self.b.0, ty, self.buf_slot(slot), c"".as_ptr())
                        }
                        LiveSrc::Const(k) => const_of(self.t, ty, k),
                    };
                    map.insert(v, x);
                }
            }
            if let (Some(d), Some(call)) = (&mut self.dbg, sf.call) {
                dbg_at = d.loc_of(call, dbg_at);
            }
            self.frames.push(Frame {
                f: sf.f,
                fidx: sf.fidx,
                map,
                call: sf.call,
                block: unsafe { LLVMGetInstructionParent(sf.resume) },
                prev: None,
                resume: None,
                native_pending: false,
                dbg_at,
            });
        }
        // Outer frames go on after their calls; the top one at its guard.
        let n = self.frames.len();
        for (k, sf) in src.iter().enumerate() {
            self.frames[k].resume = Some(if k + 1 < n {
                unsafe { LLVMGetNextInstruction(self.frames[k + 1].call.unwrap()) }
            } else {
                sf.resume
            });
        }
    }

    /// A side trace or a linear root trace ends at a control point: at the
    /// root's location, the root trace's loop goes on (a side trace returns
    /// `REENTER` to its root, a linear trace runs itself again); another
    /// location is returned as a jump (the runtime runs that location's
    /// trace next, or resumes the interpreter there); without a location
    /// the interpreter resumes.
    fn end_at_cp(&mut self) {
        unsafe {
            let t = self.t;
            let loc = self.frames[0]
                .map
                .get(&LLVMGetOperand(self.cp_call, 1))
                .copied();
            let i64t = t.int_ty(64);
            let r = match loc {
                Some(loc) => {
                    let addr = LLVMBuildPtrToInt(self.b.0, loc, i64t, c"".as_ptr());
                    let own = LLVMBuildICmp(
                        self.b.0,
                        llvm_sys::LLVMIntPredicate::LLVMIntEQ,
                        addr,
                        t.const_int(64, self.start_loc as u64),
                        c"".as_ptr(),
                    );
                    let small = LLVMBuildICmp(
                        self.b.0,
                        llvm_sys::LLVMIntPredicate::LLVMIntULT,
                        addr,
                        t.const_int(64, crate::deopt::outcome::JUMP_MIN),
                        c"".as_ptr(),
                    );
                    let other = LLVMBuildSelect(
                        self.b.0,
                        small,
                        t.const_int(64, crate::deopt::outcome::RESUME),
                        addr,
                        c"".as_ptr(),
                    );
                    LLVMBuildSelect(
                        self.b.0,
                        own,
                        t.const_int(64, crate::deopt::outcome::REENTER),
                        other,
                        c"".as_ptr(),
                    )
                }
                None => t.const_int(64, crate::deopt::outcome::RESUME),
            };
            if self.linear {
                let out = self.new_block("jump");
                self.reenter_or(r, out);
                LLVMPositionBuilderAtEnd(self.b.0, out);
            }
            LLVMBuildRet(self.b.0, r);
        }
    }

    /// Copies the recorded path until the closing control point.
    fn walk(&mut self) -> Result<(), Abort> {
        'blocks: loop {
            let top = self.frames.len() - 1;
            let bb = self.frames[top].block;
            let mut i = match self.frames[top].resume.take() {
                Some(i) => i,
                None => unsafe { LLVMGetFirstInstruction(bb) },
            };
            if self.walked > MAX_WALKED {
                // Checked per block, so the message names the real limit.
                return Err(Abort::too_long(format!(
                    "trace too long: over {MAX_WALKED} instructions to copy (the limit is {} \
                     instructions)",
                    super::MAX_TRACE_INSTRS
                )));
            }
            while !i.is_null() {
                let next_i = unsafe { LLVMGetNextInstruction(i) };
                self.walked += 1;
                // What the builder makes for `i` (copy, guard, exit) gets
                // its rebuilt source location.
                if let Some(d) = &mut self.dbg {
                    let loc = d.loc_of(i, self.frames[top].dbg_at);
                    self.set_loc(loc);
                }
                match llvm::opcode(i) {
                    LLVMOpcode::LLVMPHI => {
                        let p = self.frames[top]
                            .prev
                            .ok_or_else(|| Abort::internal("a phi in a function's entry block"))?;
                        let v = unsafe {
                            (0..LLVMCountIncoming(i))
                                .find(|&k| LLVMGetIncomingBlock(i, k) == p)
                                .map(|k| LLVMGetIncomingValue(i, k))
                                .ok_or_else(|| {
                                    Abort::recording(
                                        "phi without an entry for the recorded predecessor",
                                    )
                                })?
                        };
                        let m = self.operand(v)?;
                        self.frames[top].map.insert(i, m);
                    }
                    LLVMOpcode::LLVMCall if i == self.cp_call => {
                        // Only frame 0 runs the control point's function
                        // (`inlinable` never inlines it).
                        if self.at_end() {
                            return Ok(());
                        }
                        // Another pass through a control point: the call
                        // vanishes (its vars stores and reloads stay, for
                        // LLVM to forward) and says "go on".
                        let z = unsafe { LLVMConstNull(LLVMTypeOf(i)) };
                        self.frames[top].map.insert(i, z);
                    }
                    LLVMOpcode::LLVMCall => {
                        if self.copy_call(i)? {
                            // Entered an inlined callee.
                            continue 'blocks;
                        }
                    }
                    LLVMOpcode::LLVMBr | LLVMOpcode::LLVMSwitch => {
                        let next = self.next_block()?;
                        self.guard(bb, i, next)?;
                        let fr = &mut self.frames[top];
                        fr.prev = Some(bb);
                        fr.block = next;
                        continue 'blocks;
                    }
                    LLVMOpcode::LLVMRet => {
                        if top == 0 {
                            return Err(Abort::recording(
                                "the interpreter function returned while recording",
                            ));
                        }
                        let v = if unsafe { LLVMGetNumOperands(i) } == 1 {
                            Some(self.operand(unsafe { LLVMGetOperand(i, 0) })?)
                        } else {
                            None
                        };
                        let fr = self.frames.pop().unwrap();
                        let call = fr.call.unwrap();
                        let parent = self.frames.last_mut().unwrap();
                        if let Some(v) = v {
                            parent.map.insert(call, v);
                        }
                        parent.resume = Some(unsafe { LLVMGetNextInstruction(call) });
                        continue 'blocks;
                    }
                    LLVMOpcode::LLVMIndirectBr => {
                        return Err(Abort::unsupported("indirectbr is not supported"))
                    }
                    LLVMOpcode::LLVMInvoke | LLVMOpcode::LLVMCallBr => {
                        return Err(Abort::unsupported("invoke/callbr is not supported"))
                    }
                    LLVMOpcode::LLVMUnreachable => {
                        return Err(Abort::recording("the recording reached unreachable code"))
                    }
                    LLVMOpcode::LLVMAlloca => self.copy_alloca(i, bb)?,
                    LLVMOpcode::LLVMStore
                        if self.vars_field(unsafe { LLVMGetOperand(i, 1) }).is_some() =>
                    {
                        let k = self.vars_field(unsafe { LLVMGetOperand(i, 1) }).unwrap();
                        let v = self.operand(unsafe { LLVMGetOperand(i, 0) })?;
                        self.vars_val.insert(k, v);
                    }
                    LLVMOpcode::LLVMLoad
                        if self.vars_field(unsafe { LLVMGetOperand(i, 0) }).is_some() =>
                    {
                        let k = self.vars_field(unsafe { LLVMGetOperand(i, 0) }).unwrap();
                        let v = self.load_field(k, unsafe { LLVMTypeOf(i) });
                        self.frames[top].map.insert(i, v);
                    }
                    LLVMOpcode::LLVMICmp => {
                        // Built (not cloned) so that comparisons of
                        // constants fold, and branches on them need no guard.
                        let a = self.operand(unsafe { LLVMGetOperand(i, 0) })?;
                        let b = self.operand(unsafe { LLVMGetOperand(i, 1) })?;
                        let c = unsafe {
                            LLVMBuildICmp(self.b.0, LLVMGetICmpPredicate(i), a, b, c"".as_ptr())
                        };
                        self.frames[top].map.insert(i, c);
                    }
                    _ => {
                        let c = self.clone_into_trace(i)?;
                        self.frames[top].map.insert(i, c);
                    }
                }
                i = next_i;
            }
            return Err(Abort::internal("a block without a terminator"));
        }
    }

    /// Has the recording ended (only blocks of native calls remain)?
    fn at_end(&self) -> bool {
        let fr = &self.frames[0];
        if !fr.native_pending {
            return self.pos == self.rec.len();
        }
        self.rec[self.pos..].iter().all(|e| e.0 != fr.fidx)
    }

    /// The top frame's next recorded block, skipping the blocks of native
    /// calls made since its last one.
    fn next_block(&mut self) -> Result<LLVMBasicBlockRef, Abort> {
        let fr = self.frames.last_mut().unwrap();
        loop {
            let &(fx, bx) = self
                .rec
                .get(self.pos)
                .ok_or_else(|| Abort::recording("the recording ends in the middle of the path"))?;
            self.pos += 1;
            if fx == fr.fidx {
                if bx == 0 && fr.native_pending {
                    return Err(Abort::recording(format!(
                        "a native call re-entered {}",
                        llvm::name(fr.f)
                    )));
                }
                fr.native_pending = false;
                return blocks(fr.f)
                    .get(bx as usize)
                    .copied()
                    .ok_or_else(|| Abort::recording("block index out of range"));
            }
            if !fr.native_pending {
                return Err(Abort::recording(
                    "the recording does not follow the control-flow graph",
                ));
            }
        }
    }

    /// If the recording enters function `want` (or, with `None`, any
    /// function) next, consumes its entry block and returns its index.
    fn enters(&mut self, want: Option<u32>) -> Option<u32> {
        let fr = self.frames.last().unwrap();
        let mut p = self.pos;
        while let Some(&(fx, bx)) = self.rec.get(p) {
            if bx == 0 && want.is_none_or(|w| w == fx) {
                self.pos = p + 1;
                return Some(fx);
            }
            if !fr.native_pending || fx == fr.fidx || want.is_none() {
                return None;
            }
            p += 1;
        }
        None
    }

    /// Hoists the alloca of an inlined function's entry block into the
    /// trace's entry block (one per inlined call, reused every iteration).
    fn copy_alloca(&mut self, i: LLVMValueRef, bb: LLVMBasicBlockRef) -> Result<(), Abort> {
        let fr = self.frames.last().unwrap();
        unsafe {
            if bb != LLVMGetEntryBasicBlock(fr.f) || LLVMIsConstant(LLVMGetOperand(i, 0)) == 0 {
                return Err(Abort::unsupported("a dynamic alloca"));
            }
            let here = LLVMGetInsertBlock(self.b.0);
            let entry = LLVMGetEntryBasicBlock(self.trace_fn);
            LLVMPositionBuilder(self.b.0, entry, LLVMGetFirstInstruction(entry));
            let c = self.insert_clone(i, vec![LLVMGetOperand(i, 0)]);
            LLVMPositionBuilderAtEnd(self.b.0, here);
            self.frames.last_mut().unwrap().map.insert(i, c);
        }
        Ok(())
    }

    /// Drops metadata that points into the AOT module's debug info: `!dbg`
    /// (the builder's current location, the rebuilt one, replaces it on
    /// insertion) and `!llvm.loop` (loop hints of the AOT loops).
    fn scrub(&self, c: LLVMValueRef) {
        unsafe {
            LLVMInstructionSetDebugLoc(c, std::ptr::null_mut());
            LLVMSetMetadata(c, self.t.md_kind("llvm.loop"), std::ptr::null_mut());
        }
    }

    /// Where frame 0 is inlined in the debug info (null without it).
    fn dbg_root(&self) -> LLVMMetadataRef {
        self.dbg.as_ref().map_or(std::ptr::null_mut(), |d| d.root())
    }

    /// Instructions built from here on stand for no AOT instruction: line 0
    /// of the trace (e.g. the entry block, closing the loop, the stores of
    /// guard exits' live values).
    fn at_line0(&self) {
        self.set_loc(
            self.dbg
                .as_ref()
                .map_or(std::ptr::null_mut(), |d| d.line0()),
        );
    }

    /// Sets the location of the instructions built from here on (a no-op
    /// without debug info: `loc` is null).
    fn set_loc(&self, loc: LLVMMetadataRef) {
        if !loc.is_null() {
            unsafe { LLVMSetCurrentDebugLocation2(self.b.0, loc) };
        }
    }

    fn new_block(&self, name: &str) -> LLVMBasicBlockRef {
        let n = CString::new(name).unwrap();
        unsafe { LLVMAppendBasicBlockInContext(self.t.ctx, self.trace_fn, n.as_ptr()) }
    }

    fn field_ptr(&self, vars_ty: LLVMTypeRef, k: u32) -> LLVMValueRef {
        unsafe {
            let i32t = self.t.int_ty(32);
            let mut idx = [LLVMConstInt(i32t, 0, 0), LLVMConstInt(i32t, k as u64, 0)];
            LLVMBuildInBoundsGEP2(
                self.b.0,
                vars_ty,
                self.vars,
                idx.as_mut_ptr(),
                2,
                c"".as_ptr(),
            )
        }
    }

    /// The offset and type of the vars field that holds the interpreter
    /// function's return value, if it returns one.
    fn ret_field(&self, cp_call: LLVMValueRef) -> Result<Option<(u64, Ty)>, Abort> {
        ret_field(self.an.td, cp_call)
    }

    /// Inserts a copy of `i` with operands `ops` at the builder's position.
    fn insert_clone(&self, i: LLVMValueRef, ops: Vec<LLVMValueRef>) -> LLVMValueRef {
        unsafe {
            let c = LLVMInstructionClone(i);
            for (k, o) in ops.into_iter().enumerate() {
                LLVMSetOperand(c, k as u32, o);
            }
            self.scrub(c);
            LLVMInsertIntoBuilder(self.b.0, c);
            c
        }
    }

    /// Clones `i` at the builder's position with its operands mapped, or
    /// folds it to a constant when they are all constants.
    fn clone_into_trace(&mut self, i: LLVMValueRef) -> Result<LLVMValueRef, Abort> {
        let mapped = operands(i)
            .into_iter()
            .map(|o| self.operand(o))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(k) = self.fold(i, &mapped) {
            return Ok(k);
        }
        Ok(self.insert_clone(i, mapped))
    }

    /// `i` with operands `ops` as a constant, if they are all plain
    /// constants (integers, floats, null) and `i` is an arithmetic, cast,
    /// comparison or select that LLVM's IR builder folds. A value the trace
    /// has made constant (a promoted bytecode word, an idempotent call's
    /// result) then decides the instructions that decode it, and the
    /// branches and switches on them need no guard. Divisions and
    /// remainders are not folded (a constant divisor of zero is the AOT
    /// code's trap, not a value).
    fn fold(&self, i: LLVMValueRef, ops: &[LLVMValueRef]) -> Option<LLVMValueRef> {
        use LLVMOpcode::*;
        let plain = |v: LLVMValueRef| unsafe {
            !LLVMIsAConstantInt(v).is_null()
                || !LLVMIsAConstantFP(v).is_null()
                || !LLVMIsAConstantPointerNull(v).is_null()
        };
        if ops.is_empty() || !ops.iter().all(|&o| plain(o)) {
            return None;
        }
        let b = self.b.0;
        let name = c"".as_ptr();
        let op = llvm::opcode(i);
        let v = unsafe {
            match op {
                LLVMAdd | LLVMSub | LLVMMul | LLVMShl | LLVMLShr | LLVMAShr | LLVMAnd | LLVMOr
                | LLVMXor | LLVMFAdd | LLVMFSub | LLVMFMul => {
                    LLVMBuildBinOp(b, op, ops[0], ops[1], name)
                }
                LLVMTrunc | LLVMZExt | LLVMSExt | LLVMFPToUI | LLVMFPToSI | LLVMUIToFP
                | LLVMSIToFP | LLVMFPTrunc | LLVMFPExt | LLVMBitCast => {
                    LLVMBuildCast(b, op, ops[0], LLVMTypeOf(i), name)
                }
                LLVMSelect => LLVMBuildSelect(b, ops[0], ops[1], ops[2], name),
                LLVMFCmp => LLVMBuildFCmp(b, LLVMGetFCmpPredicate(i), ops[0], ops[1], name),
                _ => return None,
            }
        };
        if plain(v) {
            Some(v)
        } else {
            // Not folded (e.g. poison): keep the AOT instruction's copy.
            if unsafe { !LLVMIsAInstruction(v).is_null() } {
                unsafe { LLVMInstructionEraseFromParent(v) };
            }
            None
        }
    }

    /// Copies a call. Returns true if it entered an inlined callee (whose
    /// frame is now on top).
    fn copy_call(&mut self, i: LLVMValueRef) -> Result<bool, Abort> {
        let top = self.frames.len() - 1;
        unsafe {
            let name = callee_name(i).ok_or_else(|| Abort::unsupported("inline asm"))?;
            match name.as_str() {
                "setjmp" | "_setjmp" | "__sigsetjmp" | "sigsetjmp" => {
                    return Err(Abort::unsupported(format!("call to {name}")))
                }
                PROMOTE => {
                    // A guard on the recorded value, then a constant.
                    let rec = *self.promotes.get(self.next_promote).ok_or_else(|| {
                        Abort::recording("more yk_promote calls than recorded values")
                    })?;
                    self.next_promote += 1;
                    let x = self.operand(LLVMGetOperand(i, 0))?;
                    let k = self.t.const_int(64, rec);
                    let eq = LLVMBuildICmp(
                        self.b.0,
                        llvm_sys::LLVMIntPredicate::LLVMIntEQ,
                        x,
                        k,
                        c"".as_ptr(),
                    );
                    self.guard_on(eq, i)?;
                    self.frames[top].map.insert(i, k);
                    return Ok(false);
                }
                "yk_is_interpreting" => {
                    self.frames[top].map.insert(i, LLVMConstNull(LLVMTypeOf(i)));
                    return Ok(false);
                }
                _ => {}
            }
            if name.starts_with("llvm.lifetime.") {
                return Ok(false);
            }
            if name.starts_with("llvm.") {
                let c = self.clone_into_trace(i)?;
                self.frames[top].map.insert(i, c);
                return Ok(false);
            }
            let callee = LLVMGetCalledValue(i);
            let direct = !LLVMIsAFunction(callee).is_null();
            if direct {
                let gi = self.func_idx[&callee];
                let info = self.idx.func(gi as u32);
                if info.is_some_and(|x| x.idempotent) {
                    return self.idempotent_call(i).map(|_| false);
                }
                if self.inlinable(gi) && self.enters(Some(gi as u32)).is_some() {
                    self.push_frame(i, callee, gi)?;
                    return Ok(true);
                }
            } else if !self.frames[top].native_pending {
                // An indirect call the recording follows into a function
                // with IR: guard on the target, then inline it.
                let save = self.pos;
                if let Some(gi) = self.enters(None) {
                    let gi = gi as usize;
                    // The entered function must at least have the call's
                    // type: a callee without hooks (e.g. an outlined one)
                    // records nothing, and the next entry recorded is some
                    // later call's. (A same-typed later callee can still be
                    // mistaken for it; the guard on the pointer then fails,
                    // and the blackhole makes the real call.)
                    let same_type =
                        LLVMGlobalGetValueType(self.funcs[gi]) == LLVMGetCalledFunctionType(i);
                    if same_type && self.inlinable(gi) {
                        let g = self.funcs[gi];
                        let fp = self.operand(callee)?;
                        let want = self.symbol(g)?;
                        let eq = LLVMBuildICmp(
                            self.b.0,
                            llvm_sys::LLVMIntPredicate::LLVMIntEQ,
                            fp,
                            want,
                            c"".as_ptr(),
                        );
                        self.guard_on(eq, i)?;
                        self.push_frame(i, g, gi)?;
                        return Ok(true);
                    }
                    self.pos = save;
                }
            }
            // A native call: whatever it records is skipped.
            let c = self.clone_into_trace(i)?;
            self.frames[top].map.insert(i, c);
            self.frames[top].native_pending = true;
        }
        Ok(false)
    }

    /// Can function `gi` be inlined at the current depth?
    fn inlinable(&self, gi: usize) -> bool {
        let Some(info) = self.idx.func(gi as u32) else {
            return false;
        };
        let g = self.funcs[gi];
        let rec = self.frames.iter().filter(|fr| fr.f == g).count();
        // The control point's function is never inlined (DESIGN.md): a nested
        // activation of the interpreter is a real call with its own control
        // point and traces.
        g != self.frames[0].f
            && !info.is_decl
            && !info.is_intrinsic
            && !info.is_varargs
            && !info.outline
            && !info.idempotent
            && self.frames.len() < MAX_DEPTH
            && rec < MAX_RECURSION
    }

    fn push_frame(&mut self, call: LLVMValueRef, g: LLVMValueRef, gi: usize) -> Result<(), Abort> {
        super::lazy::materialize(g).map_err(Abort::internal)?;
        let parent_at = self.frames.last().unwrap().dbg_at;
        let dbg_at = match &mut self.dbg {
            Some(d) => d.loc_of(call, parent_at),
            None => std::ptr::null_mut(),
        };
        let mut map = HashMap::new();
        unsafe {
            for k in 0..LLVMCountParams(g) {
                let a = self.operand(LLVMGetOperand(call, k))?;
                map.insert(LLVMGetParam(g, k), a);
            }
        }
        self.frames.push(Frame {
            f: g,
            fidx: gi as u32,
            map,
            call: Some(call),
            block: unsafe { LLVMGetEntryBasicBlock(g) },
            prev: None,
            resume: None,
            native_pending: false,
            dbg_at,
        });
        Ok(())
    }

    /// A call of an idempotent function: with constant arguments, its
    /// recorded result; otherwise a native call.
    fn idempotent_call(&mut self, i: LLVMValueRef) -> Result<(), Abort> {
        let top = self.frames.len() - 1;
        unsafe {
            let ty = LLVMTypeOf(i);
            let recordable = matches!(
                LLVMGetTypeKind(ty),
                LLVMTypeKind::LLVMIntegerTypeKind
                    | LLVMTypeKind::LLVMPointerTypeKind
                    | LLVMTypeKind::LLVMFloatTypeKind
                    | LLVMTypeKind::LLVMDoubleTypeKind
            ) && (LLVMGetTypeKind(ty) != LLVMTypeKind::LLVMIntegerTypeKind
                || LLVMGetIntTypeWidth(ty) <= 64);
            let rec = if recordable {
                let r = *self.idempotents.get(self.next_idempotent).ok_or_else(|| {
                    Abort::recording("more idempotent calls than recorded results")
                })?;
                self.next_idempotent += 1;
                Some(r)
            } else {
                None
            };
            let nargs = LLVMGetNumArgOperands(i);
            let mut consts = true;
            for k in 0..nargs {
                let a = self.operand(LLVMGetOperand(i, k))?;
                consts &= LLVMIsConstant(a) != 0;
            }
            self.frames[top].native_pending = true;
            if let (true, Some(r)) = (consts, rec) {
                let t = self.t;
                let k = match LLVMGetTypeKind(ty) {
                    LLVMTypeKind::LLVMIntegerTypeKind => LLVMConstInt(ty, r, 0),
                    LLVMTypeKind::LLVMPointerTypeKind => LLVMConstIntToPtr(t.const_int(64, r), ty),
                    LLVMTypeKind::LLVMDoubleTypeKind => LLVMConstReal(ty, f64::from_bits(r)),
                    _ => LLVMConstReal(ty, f32::from_bits(r as u32) as f64),
                };
                self.frames[top].map.insert(i, k);
                return Ok(());
            }
            let c = self.clone_into_trace(i)?;
            self.frames[top].map.insert(i, c);
        }
        Ok(())
    }

    /// Turns terminator `term` of `bb` into a guard that `next` follows.
    fn guard(
        &mut self,
        bb: LLVMBasicBlockRef,
        term: LLVMValueRef,
        next: LLVMBasicBlockRef,
    ) -> Result<(), Abort> {
        unsafe {
            let succs = successors(bb);
            if !succs.contains(&next) {
                return Err(Abort::recording(
                    "the recording does not follow the control-flow graph",
                ));
            }
            if succs.iter().all(|&s| s == next) {
                return Ok(()); // Unconditional.
            }
            if llvm::opcode(term) == LLVMOpcode::LLVMBr {
                let cond = self.operand(LLVMGetCondition(term))?;
                if !LLVMIsAConstantInt(cond).is_null() {
                    // Decided at trace-build time (e.g. a mid-trace control
                    // point's "go on"): no guard.
                    let taken = if LLVMConstIntGetZExtValue(cond) != 0 {
                        succs[0]
                    } else {
                        succs[1]
                    };
                    if taken != next {
                        return Err(Abort::recording(
                            "the recording contradicts a constant branch",
                        ));
                    }
                    return Ok(());
                }
                let ok = if succs[0] == next {
                    cond
                } else {
                    LLVMBuildNot(self.b.0, cond, c"".as_ptr())
                };
                return self.guard_on(ok, term);
            }
            // switch: the same cases, those leading to `next` continue.
            let v = self.operand(LLVMGetOperand(term, 0))?;
            if !LLVMIsAConstantInt(v).is_null() {
                // Decided at trace-build time (e.g. the dispatch on a
                // promoted bytecode): no guard.
                let n = LLVMGetNumSuccessors(term);
                let taken = (1..n)
                    .find(|&k| {
                        LLVMConstIntGetZExtValue(LLVMGetSwitchCaseValue(term, k))
                            == LLVMConstIntGetZExtValue(v)
                    })
                    .map_or(LLVMGetSwitchDefaultDest(term), |k| {
                        LLVMGetSuccessor(term, k)
                    });
                if taken != next {
                    return Err(Abort::recording(
                        "the recording contradicts a constant switch",
                    ));
                }
                return Ok(());
            }
            let cont = self.new_block("guarded");
            let fail = self.new_block("guard_fail");
            let default = LLVMGetSwitchDefaultDest(term);
            let d = if default == next { cont } else { fail };
            let n = LLVMGetNumSuccessors(term);
            let sw = LLVMBuildSwitch(self.b.0, v, d, n - 1);
            for k in 1..n {
                let case = LLVMGetSwitchCaseValue(term, k);
                let dest = if LLVMGetSuccessor(term, k) == next {
                    cont
                } else {
                    fail
                };
                LLVMAddCase(sw, case, dest);
            }
            LLVMPositionBuilderAtEnd(self.b.0, fail);
            self.exit(term)?;
            LLVMPositionBuilderAtEnd(self.b.0, cont);
        }
        Ok(())
    }

    /// A guard: go on if `ok`, else leave the trace, resuming the top frame
    /// at AOT instruction `at`.
    fn guard_on(&mut self, ok: LLVMValueRef, at: LLVMValueRef) -> Result<(), Abort> {
        unsafe {
            let cont = self.new_block("guarded");
            let fail = self.new_block("guard_fail");
            LLVMBuildCondBr(self.b.0, ok, cont, fail);
            LLVMPositionBuilderAtEnd(self.b.0, fail);
            self.exit(at)?;
            LLVMPositionBuilderAtEnd(self.b.0, cont);
        }
        Ok(())
    }

    /// Fills the current (failure) block: store the live values of every
    /// frame, call the runtime, and go where it says.
    fn exit(&mut self, at: LLVMValueRef) -> Result<(), Abort> {
        let top = self.frames.len() - 1;
        let mut frames = Vec::new();
        let mut srcs = Vec::new();
        let mut values = Vec::new();
        let mut slot = 0u32;
        for k in 0..=top {
            let (f, fidx) = (self.frames[k].f, self.frames[k].fidx as usize);
            let (resume, live) = if k == top {
                let mut live = self.liveness(f, fidx).live_after(at);
                for o in operands(at) {
                    if llvm::is_ssa_value(o) && !live.contains(&o) {
                        live.push(o);
                    }
                }
                (at, live)
            } else {
                let call = self.frames[k + 1].call.unwrap();
                let live = self.liveness(f, fidx).live_after(call);
                (unsafe { LLVMGetNextInstruction(call) }, live)
            };
            let call_dst = if k < top {
                let call = self.frames[k + 1].call.unwrap();
                self.decoded(f, fidx).regs[&call]
            } else {
                u32::MAX
            };
            let d = self.decoded(f, fidx);
            let &(block, idx) = d
                .pos
                .get(&resume)
                .ok_or_else(|| Abort::internal("resume point not decoded"))?;
            if let Some(why) = d.prog.unsupported_from(block, idx, k == 0) {
                return Err(Abort::unsupported(format!("the blackhole can't run {why}")));
            }
            let prog = d.prog.clone();
            let regs: Vec<u32> = live.iter().map(|v| d.regs[v]).collect();
            let mut lv = Vec::new();
            let mut src_live = Vec::new();
            for (v, reg) in live.into_iter().zip(regs) {
                let ty = match decode::leaves(unsafe { LLVMTypeOf(v) })
                    .map_err(Abort::unsupported)?
                    .as_slice()
                {
                    [t] => *t,
                    _ => return Err(Abort::unsupported("an aggregate value live at a guard")),
                };
                // Slots are provisional (the guard's n-th value) until
                // `finish_exits`.
                let m = *self.frames[k].map.get(&v).ok_or_else(|| {
                    Abort::internal(format!("live value {} unmapped", llvm::name(v)))
                })?;
                values.push(m);
                lv.push((reg, ty, LiveSrc::Slot(slot)));
                src_live.push((v, LiveSrc::Slot(slot)));
                slot += 1;
            }
            frames.push(FrameInfo {
                prog,
                block,
                idx,
                live: lv,
                call_dst,
            });
            srcs.push(SrcFrame {
                f,
                fidx: fidx as u32,
                resume,
                live: src_live,
                call: self.frames[k].call,
            });
        }
        let gidx = self.guards.len();
        self.guards.push(GuardInfo::new(frames));
        self.guard_srcs.push(srcs);
        unsafe {
            let t = self.t;
            // The runtime runs the guard's side trace if it has one (and
            // counts its runs for re-optimisation), else the blackhole.
            let mut args = [
                self.info_arg,
                t.const_int(64, gidx as u64),
                self.buf,
                self.vars,
            ];
            let r = LLVMBuildCall2(
                self.b.0,
                LLVMGlobalGetValueType(self.exit_fn),
                self.exit_fn,
                args.as_mut_ptr(),
                4,
                c"".as_ptr(),
            );
            self.pending.push(PendingExit { before: r, values });
            let here = LLVMGetInsertBlock(self.b.0);
            if self.side {
                // A side trace has no loop of its own: its caller re-enters.
                LLVMBuildBr(self.b.0, self.leave);
            } else {
                self.reenter_or(r, self.leave);
            }
            let mut v = [r];
            let mut b = [here];
            LLVMAddIncoming(self.leave_phi, v.as_mut_ptr(), b.as_mut_ptr(), 1);
        }
        Ok(())
    }

    fn liveness(&mut self, f: LLVMValueRef, fidx: usize) -> &Liveness {
        self.an
            .liveness
            .entry(fidx)
            .or_insert_with(|| Liveness::analyse(f))
    }

    fn decoded(&mut self, f: LLVMValueRef, fidx: usize) -> &Decoded {
        let info = crate::aot::info();
        let (fa, ga) = info.map_or((&[][..], &[][..]), |i| (i.funcs(), i.globals()));
        let env = decode::Env {
            td: self.an.td,
            func_idx: &self.func_idx,
            global_idx: &self.global_idx,
            func_addrs: fa,
            global_addrs: ga,
        };
        self.an
            .decoded
            .entry(fidx)
            .or_insert_with(|| decode::decode(&env, f, fidx as u32))
    }

    /// Maps an operand of an AOT instruction into the trace.
    fn operand(&mut self, v: LLVMValueRef) -> Result<LLVMValueRef, Abort> {
        if let Some(&m) = self.frames.last().unwrap().map.get(&v) {
            return Ok(m);
        }
        unsafe {
            if llvm::is_ssa_value(v) {
                return Err(Abort::internal(format!(
                    "internal error: unmapped value {}",
                    llvm::name(v)
                )));
            }
            if !LLVMIsAFunction(v).is_null() || !LLVMIsAGlobalVariable(v).is_null() {
                return self.symbol(v);
            }
            if !LLVMIsABasicBlock(v).is_null()
                || LLVMGetValueKind(v) == llvm_sys::LLVMValueKind::LLVMMetadataAsValueValueKind
            {
                return Ok(v);
            }
            if !LLVMIsAConstantExpr(v).is_null() {
                return self.constant_expr(v);
            }
            if !LLVMIsAGlobalAlias(v).is_null() {
                return Err(Abort::unsupported("a global alias"));
            }
            if !LLVMIsAConstant(v).is_null() && !refers_to_globals(v) {
                return Ok(v);
            }
            Err(Abort::unsupported("a constant referring to globals"))
        }
    }

    /// A constant expression over globals, rebuilt as an instruction.
    fn constant_expr(&mut self, v: LLVMValueRef) -> Result<LLVMValueRef, Abort> {
        unsafe {
            let op = LLVMGetConstOpcode(v);
            let ops: Vec<LLVMValueRef> = operands(v)
                .into_iter()
                .map(|o| self.operand(o))
                .collect::<Result<_, _>>()?;
            let ty = LLVMTypeOf(v);
            Ok(match op {
                LLVMOpcode::LLVMGetElementPtr => {
                    let src = LLVMGetGEPSourceElementType(v);
                    let mut idx = ops[1..].to_vec();
                    LLVMBuildGEP2(
                        self.b.0,
                        src,
                        ops[0],
                        idx.as_mut_ptr(),
                        idx.len() as u32,
                        c"".as_ptr(),
                    )
                }
                LLVMOpcode::LLVMPtrToInt => LLVMBuildPtrToInt(self.b.0, ops[0], ty, c"".as_ptr()),
                LLVMOpcode::LLVMIntToPtr => LLVMBuildIntToPtr(self.b.0, ops[0], ty, c"".as_ptr()),
                LLVMOpcode::LLVMAdd => LLVMBuildAdd(self.b.0, ops[0], ops[1], c"".as_ptr()),
                LLVMOpcode::LLVMSub => LLVMBuildSub(self.b.0, ops[0], ops[1], c"".as_ptr()),
                _ => {
                    return Err(Abort::unsupported(format!(
                        "constant expression with opcode {op:?}"
                    )))
                }
            })
        }
    }

    /// The trace module's declaration of AOT global or function `v`.
    fn symbol(&mut self, v: LLVMValueRef) -> Result<LLVMValueRef, Abort> {
        if let Some(&d) = self.syms.get(&v) {
            return Ok(d);
        }
        let t = self.t;
        let d = unsafe {
            let vty = LLVMGlobalGetValueType(v);
            let aname = llvm::name(v);
            if !LLVMIsAFunction(v).is_null() {
                if aname.starts_with("llvm.") {
                    // Intrinsics are declared by name.
                    t.get_or_declare(&aname, vty)
                } else {
                    let idx = self.func_idx[&v];
                    let n = format!("__yk_aot_f{idx}");
                    let d = t.get_or_declare(&n, vty);
                    self.used_funcs.push((n, idx));
                    d
                }
            } else {
                if LLVMIsThreadLocal(v) != 0 {
                    return Err(Abort::unsupported(format!("thread-local variable {aname}")));
                }
                let idx = self.global_idx[&v];
                let n = format!("__yk_aot_g{idx}");
                let cn = CString::new(n.clone()).unwrap();
                let d = LLVMAddGlobal(t.m, vty, cn.as_ptr());
                // A constant whose initializer is plain data is copied so that
                // LLVM can fold loads from it (e.g. a bytecode program); the
                // symbol still resolves to the AOT copy.
                let init = LLVMGetInitializer(v);
                if LLVMIsGlobalConstant(v) != 0 && !init.is_null() && !refers_to_globals(init) {
                    LLVMSetInitializer(d, init);
                    LLVMSetGlobalConstant(d, 1);
                    LLVMSetLinkage(d, LLVMLinkage::LLVMAvailableExternallyLinkage);
                }
                self.used_globals.push((n, idx));
                d
            }
        };
        self.syms.insert(v, d);
        Ok(d)
    }
}

/// The name of the function call `i` calls directly ("" for a call through
/// a pointer), or `None` for inline asm.
pub(super) fn callee_name(i: LLVMValueRef) -> Option<String> {
    unsafe {
        let callee = LLVMGetCalledValue(i);
        if !LLVMIsAInlineAsm(callee).is_null() {
            return None;
        }
        Some(if LLVMIsAFunction(callee).is_null() {
            String::new()
        } else {
            llvm::name(callee)
        })
    }
}

/// The bits of `v` if it is a plain constant (integer, float, null, undef).
fn const_bits(v: LLVMValueRef) -> Option<u64> {
    unsafe {
        if !LLVMIsAConstantInt(v).is_null() {
            let w = LLVMGetIntTypeWidth(LLVMTypeOf(v));
            return (w <= 64).then(|| LLVMConstIntGetZExtValue(v));
        }
        if !LLVMIsAConstantFP(v).is_null() {
            let mut lossy = 0;
            let x = LLVMConstRealGetDouble(v, &mut lossy);
            return match LLVMGetTypeKind(LLVMTypeOf(v)) {
                LLVMTypeKind::LLVMFloatTypeKind => Some((x as f32).to_bits() as u64),
                LLVMTypeKind::LLVMDoubleTypeKind => Some(x.to_bits()),
                _ => None,
            };
        }
        if !LLVMIsAConstantPointerNull(v).is_null() || !LLVMIsAUndefValue(v).is_null() {
            return Some(0);
        }
        None
    }
}

/// The constant of type `ty` with bits `k` (inverse of `const_bits`).
fn const_of(t: &Module, ty: LLVMTypeRef, k: u64) -> LLVMValueRef {
    unsafe {
        match LLVMGetTypeKind(ty) {
            LLVMTypeKind::LLVMIntegerTypeKind => LLVMConstInt(ty, k, 0),
            LLVMTypeKind::LLVMFloatTypeKind => LLVMConstReal(ty, f32::from_bits(k as u32) as f64),
            LLVMTypeKind::LLVMDoubleTypeKind => LLVMConstReal(ty, f64::from_bits(k)),
            LLVMTypeKind::LLVMPointerTypeKind if k == 0 => LLVMConstNull(ty),
            _ => LLVMConstIntToPtr(t.const_int(64, k), ty),
        }
    }
}

/// `(field index, value)` of each store into the vars struct just before the
/// control point.
pub(super) fn vars_fields(
    cp_block: LLVMBasicBlockRef,
    aot_vars: LLVMValueRef,
) -> Vec<(u32, LLVMValueRef)> {
    let mut out = Vec::new();
    for i in instrs(cp_block) {
        if llvm::opcode(i) != LLVMOpcode::LLVMStore {
            continue;
        }
        unsafe {
            let ptr = LLVMGetOperand(i, 1);
            if LLVMIsAGetElementPtrInst(ptr).is_null() || LLVMGetOperand(ptr, 0) != aot_vars {
                continue;
            }
            let field = LLVMGetOperand(ptr, 2);
            out.push((LLVMConstIntGetZExtValue(field) as u32, LLVMGetOperand(i, 0)));
        }
    }
    out
}

/// Does constant `c` (transitively) mention a global value?
pub(super) fn refers_to_globals(c: LLVMValueRef) -> bool {
    unsafe {
        if !LLVMIsAGlobalValue(c).is_null() {
            return true;
        }
        if LLVMGetTypeKind(LLVMTypeOf(c)) == LLVMTypeKind::LLVMPointerTypeKind && LLVMIsNull(c) == 0
        {
            // A non-null pointer constant other than a global: be safe.
            return !LLVMIsAConstantExpr(c).is_null() || !LLVMIsAUndefValue(c).is_null();
        }
        let n = LLVMGetNumOperands(c);
        (0..n.max(0) as u32).any(|k| refers_to_globals(LLVMGetOperand(c, k)))
    }
}

/// Every instruction operand of the trace function must be an instruction of
/// the trace function or one of its arguments: a reference back into the AOT
/// module would make the module invalid (and crash LLVM's printer).
pub(super) fn check_operands(f: LLVMValueRef) -> Result<(), Abort> {
    for bb in blocks(f) {
        for i in instrs(bb) {
            for (k, o) in operands(i).into_iter().enumerate() {
                unsafe {
                    let bad = if !LLVMIsAInstruction(o).is_null() {
                        let p = LLVMGetInstructionParent(o);
                        p.is_null() || LLVMGetBasicBlockParent(p) != f
                    } else if !LLVMIsAArgument(o).is_null() {
                        LLVMGetParamParent(o) != f
                    } else {
                        false
                    };
                    if bad {
                        return Err(Abort::internal(format!(
                            "operand {k} of a {:?} in the trace refers outside it",
                            llvm::opcode(i)
                        )));
                    }
                }
            }
        }
    }
    Ok(())
}

/// The offset and type of the vars field that holds the interpreter
/// function's return value, if it returns one.
pub(super) fn ret_field(
    td: llvm_sys::target::LLVMTargetDataRef,
    cp_call: LLVMValueRef,
) -> Result<Option<(u64, Ty)>, Abort> {
    unsafe {
        let f = LLVMGetBasicBlockParent(LLVMGetInstructionParent(cp_call));
        let rty = LLVMGetReturnType(LLVMGlobalGetValueType(f));
        if LLVMGetTypeKind(rty) == LLVMTypeKind::LLVMVoidTypeKind {
            return Ok(None);
        }
        let vars_ty = LLVMGetAllocatedType(LLVMGetOperand(cp_call, 2));
        let last = LLVMCountStructElementTypes(vars_ty) - 1;
        let off = llvm_sys::target::LLVMOffsetOfElement(td, vars_ty, last);
        match decode::leaves(rty).map_err(Abort::unsupported)?.as_slice() {
            [t] => Ok(Some((off, *t))),
            _ => Err(Abort::unsupported(
                "the interpreter function returns an aggregate",
            )),
        }
    }
}

/// Adds the trace function `name` to `t`: `i64 (ptr noalias vars, ptr
/// info, ptr noalias buf)`, generating code for the CPU the interpreter
/// function `f` was compiled for.
pub(super) fn declare_trace_fn(t: &Module, f: LLVMValueRef, name: &str) -> LLVMValueRef {
    unsafe {
        // i64 trace(ptr noalias vars, ptr info, ptr buf)
        let mut params = [t.ptr_ty(), t.ptr_ty(), t.ptr_ty()];
        let fty = LLVMFunctionType(t.int_ty(64), params.as_mut_ptr(), 3, 0);
        let name = CString::new(name).unwrap();
        let trace_fn = LLVMAddFunction(t.m, name.as_ptr(), fty);
        // Generate code for the CPU the interpreter was compiled for, not
        // the host's: e.g. `llvm.fmuladd` must not become a fused
        // multiply-add where the AOT code rounds twice.
        for key in ["target-cpu", "target-features", "tune-cpu"] {
            let a = LLVMGetStringAttributeAtIndex(
                f,
                LLVMAttributeFunctionIndex,
                key.as_ptr().cast(),
                key.len() as u32,
            );
            if !a.is_null() {
                let mut n = 0;
                let v = LLVMGetStringAttributeValue(a, &mut n);
                let c =
                    LLVMCreateStringAttribute(t.ctx, key.as_ptr().cast(), key.len() as u32, v, n);
                LLVMAddAttributeAtIndex(trace_fn, LLVMAttributeFunctionIndex, c);
            }
        }
        let noalias = LLVMGetEnumAttributeKindForName(c"noalias".as_ptr(), 7);
        for k in [1, 3] {
            LLVMAddAttributeAtIndex(trace_fn, k, LLVMCreateEnumAttribute(t.ctx, noalias, 0));
        }
        trace_fn
    }
}
