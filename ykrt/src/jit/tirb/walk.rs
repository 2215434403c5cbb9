//! The walk: a recorded block sequence into the trace IR.
//!
//! Owns [`walk`]. It follows the recording through the interpreter's AOT IR
//! with a stack of frames (one per call the recording enters, which is
//! inlined; phis resolved by the recorded predecessor; native calls whose
//! recorded blocks are skipped), and every AOT instruction becomes trace-IR
//! instructions appended through the forward optimiser
//! ([`tir::opt::forward::TraceBuilder`]), so what is constant, redundant or
//! already known along the trace never becomes code. Invariants of its
//! output ([`Walked`]):
//!
//! - parameter 0 is the control point's vars pointer; the other parameters
//!   are described by [`Walked::params`] (a vars field, or a slot of the
//!   parent's live-value buffer for a side trace);
//! - a loop trace ends in `jump` with one argument per parameter (a field's
//!   last value, or the parameter itself if the loop never changes it);
//!   a linear or side trace ends in `exit` to its *end snapshot*: one frame
//!   of the control point's function whose resume id is [`END_RESUME`], whose
//!   live values are the vars fields the trace changed (id = field index)
//!   and, under id [`LOC_ID`], the location the control point was passed;
//! - every other snapshot's frame has a resume id indexing
//!   [`Walked::resumes`] and live values keyed by the AOT value's register
//!   number in its function ([`Walked::regs`] maps them back);
//! - nothing of the vars struct is stored by the trace: the interpreter's
//!   state is in SSA values, written back by the lowering at the end (and
//!   by the blackhole at a guard's exit).
//!
//! An AOT construct the trace IR has no form for (aggregates, vectors,
//! atomics, `with.overflow` intrinsics, ...) aborts the walk with
//! [`AbortKind::Unsupported`](crate::abort::AbortKind) and says which
//! ([`no_form`]).

use super::super::builder::{
    block_index, callee_name, find_cp, vars_fields, Analyses, GuardSrc, MAX_DEPTH, MAX_RECURSION,
    PROMOTE,
};
use super::super::dbg::TraceDbg;
use crate::abort::Abort;
use crate::aotir::AotIndex;
use crate::deopt::decode::{self, Decoded};
use crate::deopt::LiveSrc;
use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::{LLVMOpcode, LLVMTypeKind};
use rustc_hash::FxHashMap as HashMap;
use tir::opt::forward::{MemReader, TraceBuilder};
use tir::opt::OptError;
use tir::{
    BinOp, CastOp, Const, Effects, FPred, IPred, Inst, LoadFlags, Operand, SnapId, Snapshot, Sym,
    Ty,
};
use yk_llvm::liveness::Liveness;
use yk_llvm::{self as llvm, blocks, operands, successors};

/// An abort because the trace IR has no form for `what`.
pub fn no_form(what: impl std::fmt::Display) -> Abort {
    Abort::unsupported(format!("no trace-IR form for {what}"))
}

/// The resume id of a trace's end snapshot.
pub const END_RESUME: u32 = u32::MAX;
/// The live-value id of the location in a trace's end snapshot.
pub const LOC_ID: u32 = u32::MAX;
/// A walk that appends more trace-IR instructions than this (after
/// optimisation) is aborted as too long there and then.
pub const MAX_TIR: usize = 20_000;

/// What a trace parameter holds on entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamSrc {
    /// The vars pointer (parameter 0).
    Vars,
    /// Vars field `k`.
    Field(u32),
    /// Slot `s` of the live-value buffer (a side trace's inputs).
    Slot(u32),
}

/// The kind of trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A root trace looping at its location.
    Loop,
    /// A root trace ending at another location's control point.
    Linear,
    /// A side trace.
    Side,
}

/// Where one frame of a snapshot resumes.
#[derive(Clone, Copy, Debug)]
pub struct Resume {
    pub f: LLVMValueRef,
    pub fidx: u32,
    /// The AOT instruction it resumes at.
    pub at: LLVMValueRef,
    /// The frame is the innermost one (it resumes at the guarded
    /// instruction, not after a call).
    pub top: bool,
}

/// A walked trace, ready for the backward pass and lowering.
pub struct Walked {
    pub trace: tir::Trace,
    /// The debug location of each body instruction (null without debug
    /// info).
    pub locs: Vec<LLVMMetadataRef>,
    pub shape: Shape,
    pub params: Vec<ParamSrc>,
    /// Resume points by id.
    pub resumes: Vec<Resume>,
    /// `(function index, register)` -> AOT value, for snapshots' values.
    pub regs: HashMap<(u32, u32), LLVMValueRef>,
    /// AOT instructions walked.
    pub walked: usize,
    pub stats: tir::opt::forward::Stats,
}

/// What the walk needs besides the recording.
pub struct WalkInput<'a> {
    pub blocks: &'a [(u32, u32)],
    pub promotes: &'a [u64],
    pub idempotents: &'a [u64],
    pub cp_func: LLVMValueRef,
    pub cp_func_idx: u32,
    pub linear: bool,
    pub side: Option<&'a GuardSrc>,
}

/// One interpreter frame being walked.
struct Frame {
    f: LLVMValueRef,
    fidx: u32,
    map: HashMap<LLVMValueRef, Operand>,
    call: Option<LLVMValueRef>,
    block: LLVMBasicBlockRef,
    prev: Option<LLVMBasicBlockRef>,
    resume: Option<LLVMValueRef>,
    native_pending: bool,
    dbg_at: LLVMMetadataRef,
}

struct W<'a, 'm> {
    tb: TraceBuilder<'m>,
    idx: &'a AotIndex,
    an: &'a mut Analyses,
    dbg: Option<&'a mut TraceDbg>,
    cur_loc: LLVMMetadataRef,
    locs: Vec<LLVMMetadataRef>,
    frames: Vec<Frame>,
    funcs: &'a [LLVMValueRef],
    func_idx: &'a std::collections::HashMap<LLVMValueRef, usize>,
    global_idx: &'a std::collections::HashMap<LLVMValueRef, usize>,
    rec: &'a [(u32, u32)],
    pos: usize,
    promotes: &'a [u64],
    next_promote: usize,
    idempotents: &'a [u64],
    next_idempotent: usize,
    cp_call: LLVMValueRef,
    aot_vars: LLVMValueRef,
    vars_ty: LLVMTypeRef,
    side: bool,
    /// Field index -> parameter, for a root trace.
    field_param: HashMap<u32, usize>,
    /// The value last stored into each vars field (or read, for a side
    /// trace) along the trace.
    vars_val: HashMap<u32, Operand>,
    resumes: Vec<Resume>,
    resume_ids: HashMap<(LLVMValueRef, bool), u32>,
    regs: HashMap<(u32, u32), LLVMValueRef>,
    walked: usize,
    /// Values known to be `x + C` without signed (`nsw`) or unsigned
    /// (`nuw`) wrapping, from the AOT code's flags: see `widened_add`.
    nsw: HashMap<Operand, (Operand, u64)>,
    nuw: HashMap<Operand, (Operand, u64)>,
}

/// The trace-IR type of LLVM type `t`.
pub fn ty_of(t: LLVMTypeRef) -> Result<Ty, Abort> {
    unsafe {
        match LLVMGetTypeKind(t) {
            LLVMTypeKind::LLVMIntegerTypeKind => {
                let w = LLVMGetIntTypeWidth(t);
                if w <= 64 {
                    Ok(Ty::Int(w as u8))
                } else {
                    Err(no_form(format!("an i{w} value")))
                }
            }
            LLVMTypeKind::LLVMFloatTypeKind => Ok(Ty::F32),
            LLVMTypeKind::LLVMDoubleTypeKind => Ok(Ty::F64),
            LLVMTypeKind::LLVMPointerTypeKind if LLVMGetPointerAddressSpace(t) == 0 => Ok(Ty::Ptr),
            LLVMTypeKind::LLVMVoidTypeKind => Ok(Ty::Void),
            k => Err(no_form(format!("a value of kind {k:?}"))),
        }
    }
}

/// The constant of type `ty` with bits `k`.
pub fn const_from_bits(ty: Ty, k: u64) -> Result<Operand, Abort> {
    Ok(Operand::Const(match ty {
        Ty::Int(w) => Const::int(w, k),
        Ty::F32 => Const::F32(k as u32),
        Ty::F64 => Const::F64(k),
        Ty::Ptr => Const::Ptr(k),
        Ty::Void => return Err(Abort::internal("a void constant")),
    }))
}

fn opt_err(e: OptError) -> Abort {
    match e {
        OptError::GuardAlwaysFails { .. } => Abort::recording(
            "the recording contradicts what the trace knows (a guard always fails)",
        ),
        OptError::Type(e) => Abort::internal(format!("trace IR: {e}")),
    }
}

/// Walks `input` into a trace.
#[allow(clippy::too_many_arguments)]
pub fn walk(
    idx: &AotIndex,
    an: &mut Analyses,
    dbg: Option<&mut TraceDbg>,
    mem: &dyn MemReader,
    funcs: &[LLVMValueRef],
    func_idx: &std::collections::HashMap<LLVMValueRef, usize>,
    global_idx: &std::collections::HashMap<LLVMValueRef, usize>,
    input: &WalkInput,
) -> Result<Walked, Abort> {
    let f = input.cp_func;
    let (cp_block, cp_call) =
        find_cp(f).ok_or_else(|| Abort::internal("no control point in the recorded function"))?;
    let aot_vars = unsafe { LLVMGetOperand(cp_call, 2) };
    let vars_ty = unsafe { LLVMGetAllocatedType(aot_vars) };
    let fields = vars_fields(cp_block, aot_vars);
    let shape = match (input.side.is_some(), input.linear) {
        (true, _) => Shape::Side,
        (false, true) => Shape::Linear,
        (false, false) => Shape::Loop,
    };
    // Parameters: vars, then (root) every field, or (side) the invariant
    // fields and the parent guard's live values.
    let mut params = vec![ParamSrc::Vars];
    let mut ptys = vec![Ty::Ptr];
    let mut field_param = HashMap::default();
    let mut invariant = Vec::new();
    for &(k, v) in &fields {
        let inv = unsafe {
            !LLVMIsAArgument(v).is_null()
                || (llvm::opcode(v) == LLVMOpcode::LLVMAlloca
                    && LLVMGetInstructionParent(v) == blocks(f)[0])
        };
        if shape == Shape::Side && !inv {
            continue;
        }
        let ty = ty_of(unsafe { LLVMTypeOf(v) })?;
        field_param.insert(k, params.len());
        if inv {
            invariant.push((v, params.len()));
        }
        params.push(ParamSrc::Field(k));
        ptys.push(ty);
    }
    let mut side_params = Vec::new();
    if let Some(src) = input.side {
        for sf in src {
            for &(v, s) in &sf.live {
                if let LiveSrc::Slot(slot) = s {
                    side_params.push((v, params.len()));
                    params.push(ParamSrc::Slot(slot));
                    ptys.push(ty_of(unsafe { LLVMTypeOf(v) })?);
                }
            }
        }
    }
    let root_at = dbg.as_ref().map_or(std::ptr::null_mut(), |d| d.root());
    let mut w = W {
        tb: TraceBuilder::new(ptys, mem),
        idx,
        an,
        dbg,
        cur_loc: std::ptr::null_mut(),
        locs: Vec::new(),
        frames: Vec::new(),
        funcs,
        func_idx,
        global_idx,
        rec: input.blocks,
        pos: 0,
        promotes: input.promotes,
        next_promote: 0,
        idempotents: input.idempotents,
        next_idempotent: 0,
        cp_call,
        aot_vars,
        vars_ty,
        side: shape == Shape::Side,
        field_param,
        vars_val: HashMap::default(),
        resumes: Vec::new(),
        resume_ids: HashMap::default(),
        regs: HashMap::default(),
        walked: 0,
        nsw: HashMap::default(),
        nuw: HashMap::default(),
    };
    let mut map = HashMap::default();
    map.insert(aot_vars, w.tb.param(0));
    for (v, p) in invariant {
        map.insert(v, w.tb.param(p));
    }
    if let Some(src) = input.side {
        let mut slots: HashMap<LLVMValueRef, usize> = side_params.into_iter().collect();
        w.side_frames(src, map, &mut slots, root_at)?;
    } else {
        let resume = successors(cp_block)[0];
        let first = w.rec.first().copied();
        if first != Some((input.cp_func_idx, block_index(f, resume))) {
            return Err(Abort::recording(
                "the recording does not start at the control point",
            ));
        }
        w.pos = 1;
        w.frames.push(Frame {
            f,
            fidx: input.cp_func_idx,
            map,
            call: None,
            block: resume,
            prev: Some(cp_block),
            resume: None,
            native_pending: false,
            dbg_at: root_at,
        });
    }
    w.walk()?;
    if w.next_promote != input.promotes.len() {
        return Err(Abort::recording(format!(
            "yk_promote used outside the traced frames ({} recorded, {} in the trace)",
            input.promotes.len(),
            w.next_promote
        )));
    }
    if w.next_idempotent != input.idempotents.len() {
        return Err(Abort::recording(format!(
            "idempotent calls outside the traced frames ({} recorded, {} in the trace)",
            input.idempotents.len(),
            w.next_idempotent
        )));
    }
    let stats = w.tb.stats().clone();
    let trace = match shape {
        Shape::Loop => {
            let mut args = vec![w.tb.param(0)];
            for (i, p) in params.iter().enumerate().skip(1) {
                let ParamSrc::Field(k) = p else {
                    return Err(Abort::internal("a root trace with a buffer parameter"));
                };
                args.push(w.vars_val.get(k).copied().unwrap_or(w.tb.param(i)));
            }
            w.tb.finish_loop(args).map_err(opt_err)?
        }
        Shape::Linear | Shape::Side => {
            let s = w.end_snapshot(input.cp_func_idx);
            w.tb.finish_exit(s).map_err(opt_err)?
        }
    };
    Ok(Walked {
        trace,
        locs: w.locs,
        shape,
        params,
        resumes: w.resumes,
        regs: w.regs,
        walked: w.walked,
        stats,
    })
}

impl W<'_, '_> {
    /// Appends `inst`, keeping its debug location.
    fn append(&mut self, inst: Inst) -> Result<Option<Operand>, Abort> {
        let before = self.tb.trace().body.len();
        let r = self.tb.append(inst).map_err(opt_err)?;
        let after = self.tb.trace().body.len();
        for _ in before..after {
            self.locs.push(self.cur_loc);
        }
        if after > MAX_TIR {
            return Err(Abort::too_long(format!(
                "trace too long: over {MAX_TIR} trace-IR instructions after optimisation"
            )));
        }
        Ok(r)
    }

    /// Appends `inst`, which has a result.
    fn value(&mut self, inst: Inst) -> Result<Operand, Abort> {
        self.append(inst)?
            .ok_or_else(|| Abort::internal("trace IR: an instruction with a result vanished"))
    }

    fn map(&mut self, v: LLVMValueRef, o: Operand) {
        self.frames.last_mut().unwrap().map.insert(v, o);
    }

    /// The end snapshot: the fields the trace changed and the location.
    fn end_snapshot(&mut self, cp_func_idx: u32) -> SnapId {
        let mut live: Vec<(u32, Operand)> = self.vars_val.iter().map(|(&k, &v)| (k, v)).collect();
        let loc = self.frames[0]
            .map
            .get(&unsafe { LLVMGetOperand(self.cp_call, 1) })
            .copied();
        if let Some(loc) = loc {
            live.push((LOC_ID, loc));
        }
        self.tb.snapshot(Snapshot {
            frames: vec![tir::Frame::new(cp_func_idx, END_RESUME, live)],
        })
    }

    /// Pushes the frames of the guard a side trace starts from.
    fn side_frames(
        &mut self,
        src: &GuardSrc,
        map: HashMap<LLVMValueRef, Operand>,
        slots: &mut HashMap<LLVMValueRef, usize>,
        root_at: LLVMMetadataRef,
    ) -> Result<(), Abort> {
        let mut map0 = Some(map);
        let mut dbg_at = root_at;
        for sf in src {
            let mut map = map0.take().unwrap_or_default();
            for &(v, s) in &sf.live {
                let o = match s {
                    LiveSrc::Slot(_) => {
                        let p = slots
                            .remove(&v)
                            .ok_or_else(|| Abort::internal("a side trace input without a slot"))?;
                        self.tb.param(p)
                    }
                    LiveSrc::Const(k) => const_from_bits(ty_of(unsafe { LLVMTypeOf(v) })?, k)?,
                };
                map.insert(v, o);
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
        let n = self.frames.len();
        for (k, sf) in src.iter().enumerate() {
            self.frames[k].resume = Some(if k + 1 < n {
                unsafe { LLVMGetNextInstruction(self.frames[k + 1].call.unwrap()) }
            } else {
                sf.resume
            });
        }
        Ok(())
    }

    /// The vars field that AOT pointer `p` (of frame 0) addresses, if any.
    fn vars_field(&self, p: LLVMValueRef) -> Option<u32> {
        if self.frames.len() != 1 {
            return None;
        }
        llvm::struct_field_of(p, self.aot_vars)
    }

    /// A read of vars field `k` of type `ty`.
    fn load_field(&mut self, k: u32, ty: LLVMTypeRef) -> Result<Operand, Abort> {
        if let Some(&v) = self.vars_val.get(&k) {
            return Ok(v);
        }
        if let Some(&p) = self.field_param.get(&k) {
            return Ok(self.tb.param(p));
        }
        if !self.side {
            return Err(Abort::internal(format!("vars field {k} has no parameter")));
        }
        // A side trace reads what its caller left.
        let off = unsafe { llvm_sys::target::LLVMOffsetOfElement(self.an.td, self.vars_ty, k) };
        let p = self.value(Inst::PtrAdd {
            ptr: self.tb.param(0),
            off: off as i64,
        })?;
        let v = self.value(Inst::Load {
            ty: ty_of(ty)?,
            ptr: p,
            flags: LoadFlags::default(),
        })?;
        self.vars_val.insert(k, v);
        Ok(v)
    }

    /// Follows the recording until the closing control point.
    fn walk(&mut self) -> Result<(), Abort> {
        'blocks: loop {
            let top = self.frames.len() - 1;
            let bb = self.frames[top].block;
            let mut i = match self.frames[top].resume.take() {
                Some(i) => i,
                None => unsafe { LLVMGetFirstInstruction(bb) },
            };
            if self.walked > super::super::builder::MAX_WALKED {
                return Err(Abort::too_long(format!(
                    "trace too long: over {} instructions to walk",
                    super::super::builder::MAX_WALKED
                )));
            }
            while !i.is_null() {
                let next_i = unsafe { LLVMGetNextInstruction(i) };
                self.walked += 1;
                if let Some(d) = &mut self.dbg {
                    self.cur_loc = d.loc_of(i, self.frames[top].dbg_at);
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
                        self.map(i, m);
                    }
                    LLVMOpcode::LLVMCall if i == self.cp_call => {
                        if self.at_end() {
                            return Ok(());
                        }
                        let ty = ty_of(unsafe { LLVMTypeOf(i) })?;
                        if ty != Ty::Void {
                            let z = const_from_bits(ty, 0)?;
                            self.map(i, z);
                        }
                    }
                    LLVMOpcode::LLVMCall => {
                        if self.call(i)? {
                            continue 'blocks;
                        }
                    }
                    LLVMOpcode::LLVMBr | LLVMOpcode::LLVMSwitch => {
                        let next = self.next_block()?;
                        self.guard_branch(bb, i, next)?;
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
                        let v = self.load_field(k, unsafe { LLVMTypeOf(i) })?;
                        self.map(i, v);
                    }
                    _ => {
                        if let Some(v) = self.inst(i, bb)? {
                            self.map(i, v);
                        }
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

    /// Translates an ordinary instruction; returns its result, if any.
    fn inst(&mut self, i: LLVMValueRef, bb: LLVMBasicBlockRef) -> Result<Option<Operand>, Abort> {
        use LLVMOpcode::*;
        let op = llvm::opcode(i);
        let o = |w: &mut Self, k: u32| w.operand(unsafe { LLVMGetOperand(i, k) });
        if matches!(op, LLVMSExt | LLVMZExt) {
            if let Some(v) = self.widened_add(i)? {
                return Ok(Some(v));
            }
        }
        unsafe {
            Ok(Some(match op {
                LLVMLoad => {
                    if LLVMGetOrdering(i)
                        != llvm_sys::LLVMAtomicOrdering::LLVMAtomicOrderingNotAtomic
                    {
                        return Err(no_form("an atomic load"));
                    }
                    let ptr = o(self, 0)?;
                    let flags = LoadFlags {
                        volatile: LLVMGetVolatile(i) != 0,
                        constant: const_global_base(LLVMGetOperand(i, 0)),
                    };
                    self.value(Inst::Load {
                        ty: ty_of(LLVMTypeOf(i))?,
                        ptr,
                        flags,
                    })?
                }
                LLVMStore => {
                    if LLVMGetOrdering(i)
                        != llvm_sys::LLVMAtomicOrdering::LLVMAtomicOrderingNotAtomic
                    {
                        return Err(no_form("an atomic store"));
                    }
                    ty_of(LLVMTypeOf(LLVMGetOperand(i, 0)))?;
                    let val = o(self, 0)?;
                    let ptr = o(self, 1)?;
                    self.append(Inst::Store {
                        val,
                        ptr,
                        volatile: LLVMGetVolatile(i) != 0,
                    })?;
                    return Ok(None);
                }
                LLVMGetElementPtr => self.gep(i)?,
                LLVMAdd | LLVMSub | LLVMMul | LLVMUDiv | LLVMSDiv | LLVMURem | LLVMSRem
                | LLVMShl | LLVMLShr | LLVMAShr | LLVMAnd | LLVMOr | LLVMXor | LLVMFAdd
                | LLVMFSub | LLVMFMul | LLVMFDiv | LLVMFRem => {
                    let ty = ty_of(LLVMTypeOf(i))?;
                    let (lhs, rhs) = (o(self, 0)?, o(self, 1)?);
                    let r = self.value(Inst::Bin {
                        op: bin_op(op),
                        ty,
                        lhs,
                        rhs,
                    })?;
                    if op == LLVMAdd {
                        self.note_no_wrap(i, lhs, rhs, r);
                    }
                    r
                }
                LLVMFNeg => {
                    // Flip the sign bit, as `fneg` does (even of a NaN).
                    let ty = ty_of(LLVMTypeOf(i))?;
                    let (ity, sign) = match ty {
                        Ty::F32 => (Ty::I32, 1u64 << 31),
                        _ => (Ty::I64, 1u64 << 63),
                    };
                    let x = o(self, 0)?;
                    let bits = self.value(Inst::Cast {
                        op: CastOp::BitCast,
                        val: x,
                        to: ity,
                    })?;
                    let flipped = self.value(Inst::Bin {
                        op: BinOp::Xor,
                        ty: ity,
                        lhs: bits,
                        rhs: const_from_bits(ity, sign)?,
                    })?;
                    self.value(Inst::Cast {
                        op: CastOp::BitCast,
                        val: flipped,
                        to: ty,
                    })?
                }
                LLVMICmp => {
                    ty_of(LLVMTypeOf(i))?;
                    let (lhs, rhs) = (o(self, 0)?, o(self, 1)?);
                    self.value(Inst::ICmp {
                        pred: ipred(LLVMGetICmpPredicate(i)),
                        lhs,
                        rhs,
                    })?
                }
                LLVMFCmp => {
                    ty_of(LLVMTypeOf(i))?;
                    let (lhs, rhs) = (o(self, 0)?, o(self, 1)?);
                    use llvm_sys::LLVMRealPredicate::*;
                    match LLVMGetFCmpPredicate(i) {
                        LLVMRealPredicateFalse => Operand::Const(Const::bool(false)),
                        LLVMRealPredicateTrue => Operand::Const(Const::bool(true)),
                        p => self.value(Inst::FCmp {
                            pred: fpred(p),
                            lhs,
                            rhs,
                        })?,
                    }
                }
                LLVMTrunc | LLVMZExt | LLVMSExt | LLVMFPToUI | LLVMFPToSI | LLVMUIToFP
                | LLVMSIToFP | LLVMFPTrunc | LLVMFPExt | LLVMPtrToInt | LLVMIntToPtr
                | LLVMBitCast => {
                    let to = ty_of(LLVMTypeOf(i))?;
                    ty_of(LLVMTypeOf(LLVMGetOperand(i, 0)))?;
                    let val = o(self, 0)?;
                    self.value(Inst::Cast {
                        op: cast_op(op),
                        val,
                        to,
                    })?
                }
                LLVMSelect => {
                    let ty = ty_of(LLVMTypeOf(i))?;
                    ty_of(LLVMTypeOf(LLVMGetOperand(i, 0)))?;
                    let (cond, t, f) = (o(self, 0)?, o(self, 1)?, o(self, 2)?);
                    self.value(Inst::Select { cond, ty, t, f })?
                }
                LLVMFreeze => o(self, 0)?,
                LLVMAlloca => self.alloca(i, bb)?,
                _ => return Err(no_form(format!("the {op:?} instruction"))),
            }))
        }
    }

    /// Notes that `r`, the trace's value for AOT `i = add a, c` (`a` and
    /// `c` mapped to `lhs` and `rhs`), is `x + C` without wrapping, if the
    /// AOT add says so and the trace made it `add x, C`: directly, or by
    /// folding a chain of adds that all say so.
    fn note_no_wrap(&mut self, i: LLVMValueRef, lhs: Operand, rhs: Operand, r: Operand) {
        let Operand::Val(rv) = r else { return };
        let Some(&Inst::Bin {
            op: BinOp::Add,
            ty: Ty::Int(w),
            lhs: x,
            rhs: Operand::Const(Const::Int { bits: cbits, .. }),
        }) = self.tb.trace().inst(rv)
        else {
            return;
        };
        let Some(c1) = rhs.as_int() else { return };
        if w >= 64 {
            return;
        }
        let (nsw, nuw) = unsafe { (LLVMGetNSW(i) != 0, LLVMGetNUW(i) != 0) };
        let sx = |b: u64| tir::ir::sext(b, w as u32) as u64;
        // `r = lhs + c1` is `x + c` if `lhs` is `x`, or (a chain) if `lhs`
        // is itself known to be `x + c0` without the same kind of wrap.
        let chained = |known: &HashMap<Operand, (Operand, u64)>, c1: u64| {
            if lhs == x {
                Some(c1)
            } else {
                known
                    .get(&lhs)
                    .filter(|(x0, _)| *x0 == x)
                    .map(|&(_, c0)| c0.wrapping_add(c1))
            }
        };
        if nsw {
            if let Some(c) = chained(&self.nsw, sx(c1)).filter(|&c| c == sx(cbits)) {
                self.nsw.insert(r, (x, c));
            }
        }
        if nuw {
            if let Some(c) = chained(&self.nuw, c1).filter(|&c| c == cbits) {
                self.nuw.insert(r, (x, c));
            }
        }
    }

    /// `sext v` where `v = add nsw x, C` (and `zext` of an `add nuw`) as
    /// `add (sext x), C`, which the AOT code's no-overflow flag allows: an
    /// index computed as `sp + 1` (even through a phi) then addresses the
    /// same base as `sp`, at another offset, for the heap cache. None if
    /// `i` is not of that form.
    fn widened_add(&mut self, i: LLVMValueRef) -> Result<Option<Operand>, Abort> {
        let signed = llvm::opcode(i) == LLVMOpcode::LLVMSExt;
        let v = self.operand(unsafe { LLVMGetOperand(i, 0) })?;
        let known = if signed { &self.nsw } else { &self.nuw };
        let Some(&(x, k)) = known.get(&v) else {
            return Ok(None);
        };
        let to = ty_of(unsafe { LLVMTypeOf(i) })?;
        let wx = self.value(Inst::Cast {
            op: if signed { CastOp::SExt } else { CastOp::ZExt },
            val: x,
            to,
        })?;
        Ok(Some(self.value(Inst::Bin {
            op: BinOp::Add,
            ty: to,
            lhs: wx,
            rhs: const_from_bits(to, k)?,
        })?))
    }

    /// An alloca of an inlined function's entry block: a stack slot of the
    /// trace.
    fn alloca(&mut self, i: LLVMValueRef, bb: LLVMBasicBlockRef) -> Result<Operand, Abort> {
        let fr = self.frames.last().unwrap();
        unsafe {
            let n = LLVMGetOperand(i, 0);
            if bb != LLVMGetEntryBasicBlock(fr.f) || LLVMIsAConstantInt(n).is_null() {
                return Err(Abort::unsupported("a dynamic alloca"));
            }
            let ty = LLVMGetAllocatedType(i);
            let size =
                llvm_sys::target::LLVMABISizeOfType(self.an.td, ty) * LLVMConstIntGetZExtValue(n);
            let size = u32::try_from(size).map_err(|_| no_form("an alloca over 4 GiB"))?;
            self.value(Inst::Alloca {
                size,
                align: LLVMGetAlignment(i).max(1),
            })
        }
    }

    /// Pointer arithmetic of a `getelementptr` (instruction or constant
    /// expression).
    fn gep(&mut self, g: LLVMValueRef) -> Result<Operand, Abort> {
        unsafe {
            if ty_of(LLVMTypeOf(g))? != Ty::Ptr {
                return Err(no_form("a vector getelementptr"));
            }
            let mut cur = self.operand(LLVMGetOperand(g, 0))?;
            let mut ty = LLVMGetGEPSourceElementType(g);
            let td = self.an.td;
            let mut off: i64 = 0;
            let n = LLVMGetNumOperands(g) as u32;
            for k in 1..n {
                let ix = LLVMGetOperand(g, k);
                let step = if k == 1 {
                    llvm_sys::target::LLVMABISizeOfType(td, ty) as i64
                } else {
                    match LLVMGetTypeKind(ty) {
                        LLVMTypeKind::LLVMStructTypeKind => {
                            let field = LLVMConstIntGetZExtValue(ix) as u32;
                            off = off.wrapping_add(llvm_sys::target::LLVMOffsetOfElement(
                                td, ty, field,
                            ) as i64);
                            ty = LLVMStructGetTypeAtIndex(ty, field);
                            continue;
                        }
                        LLVMTypeKind::LLVMArrayTypeKind => {
                            ty = LLVMGetElementType(ty);
                            llvm_sys::target::LLVMABISizeOfType(td, ty) as i64
                        }
                        _ => return Err(no_form("a vector getelementptr")),
                    }
                };
                let x = self.operand(ix)?;
                match x {
                    Operand::Const(Const::Int { width, bits }) => {
                        off =
                            off.wrapping_add(tir::ir::sext(bits, width as u32).wrapping_mul(step));
                    }
                    Operand::Const(_) => {
                        return Err(Abort::internal("a getelementptr index that is not an int"))
                    }
                    Operand::Val(_) => {
                        if off != 0 {
                            cur = self.value(Inst::PtrAdd { ptr: cur, off })?;
                            off = 0;
                        }
                        cur = self.value(Inst::DynPtrAdd {
                            ptr: cur,
                            idx: x,
                            scale: step,
                            off: 0,
                        })?;
                    }
                }
            }
            if off != 0 {
                cur = self.value(Inst::PtrAdd { ptr: cur, off })?;
            }
            Ok(cur)
        }
    }

    /// Translates a call. Returns true if it entered an inlined callee
    /// (whose frame is now on top).
    fn call(&mut self, i: LLVMValueRef) -> Result<bool, Abort> {
        let top = self.frames.len() - 1;
        unsafe {
            let name = callee_name(i).ok_or_else(|| Abort::unsupported("inline asm"))?;
            match name.as_str() {
                "setjmp" | "_setjmp" | "__sigsetjmp" | "sigsetjmp" => {
                    return Err(Abort::unsupported(format!("call to {name}")))
                }
                PROMOTE => {
                    let rec = *self.promotes.get(self.next_promote).ok_or_else(|| {
                        Abort::recording("more yk_promote calls than recorded values")
                    })?;
                    self.next_promote += 1;
                    let x = self.operand(LLVMGetOperand(i, 0))?;
                    let k = Operand::Const(Const::int(64, rec));
                    let eq = self.value(Inst::ICmp {
                        pred: IPred::Eq,
                        lhs: x,
                        rhs: k,
                    })?;
                    self.guard(eq, true, i)?;
                    self.map(i, k);
                    return Ok(false);
                }
                yk_abi::names::IS_INTERPRETING => {
                    let z = const_from_bits(ty_of(LLVMTypeOf(i))?, 0)?;
                    self.map(i, z);
                    return Ok(false);
                }
                _ => {}
            }
            if name.starts_with("llvm.") {
                return self.intrinsic(i, &name).map(|_| false);
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
                let save = self.pos;
                if let Some(gi) = self.enters(None) {
                    let gi = gi as usize;
                    let same_type =
                        LLVMGlobalGetValueType(self.funcs[gi]) == LLVMGetCalledFunctionType(i);
                    if same_type && self.inlinable(gi) {
                        let g = self.funcs[gi];
                        let fp = self.operand(callee)?;
                        let eq = self.value(Inst::ICmp {
                            pred: IPred::Eq,
                            lhs: fp,
                            rhs: Operand::Const(Const::Sym(Sym::Func(gi as u32))),
                        })?;
                        self.guard(eq, true, i)?;
                        self.push_frame(i, g, gi)?;
                        return Ok(true);
                    }
                    self.pos = save;
                }
            }
            let r = self.native_call(i, false)?;
            if let Some(r) = r {
                self.map(i, r);
            }
            self.frames[top].native_pending = true;
        }
        Ok(false)
    }

    /// A call of an intrinsic.
    fn intrinsic(&mut self, i: LLVMValueRef, name: &str) -> Result<(), Abort> {
        if name.starts_with("llvm.lifetime.")
            || name.starts_with("llvm.assume")
            || name.starts_with("llvm.dbg.")
            || name.starts_with("llvm.experimental.noalias.scope.decl")
        {
            return Ok(());
        }
        if name.starts_with("llvm.expect.") {
            let v = self.operand(unsafe { LLVMGetOperand(i, 0) })?;
            self.map(i, v);
            return Ok(());
        }
        if let Some(r) = self.native_call(i, false)? {
            self.map(i, r);
        }
        Ok(())
    }

    /// A native (not inlined) call; `idempotent` if its result depends
    /// only on its arguments.
    fn native_call(&mut self, i: LLVMValueRef, idempotent: bool) -> Result<Option<Operand>, Abort> {
        unsafe {
            let fty = LLVMGetCalledFunctionType(i);
            let ret = ty_of(LLVMTypeOf(i))?;
            let callee = LLVMGetCalledValue(i);
            let direct = !LLVMIsAFunction(callee).is_null();
            if !direct {
                // The lowering rebuilds an indirect call's type from its
                // operands: no varargs, and no argument the ABI extends.
                if LLVMIsFunctionVarArg(fty) != 0 {
                    return Err(no_form("an indirect varargs call"));
                }
                let narrow = |t: LLVMTypeRef| {
                    LLVMGetTypeKind(t) == LLVMTypeKind::LLVMIntegerTypeKind
                        && LLVMGetIntTypeWidth(t) < 32
                };
                let n = LLVMCountParamTypes(fty) as usize;
                let mut ps = vec![std::ptr::null_mut(); n];
                LLVMGetParamTypes(fty, ps.as_mut_ptr());
                if narrow(LLVMGetReturnType(fty)) || ps.into_iter().any(narrow) {
                    return Err(no_form(
                        "an indirect call with a narrow integer argument or result",
                    ));
                }
            }
            let nargs = LLVMGetNumArgOperands(i);
            let mut args = Vec::with_capacity(nargs as usize);
            for k in 0..nargs {
                ty_of(LLVMTypeOf(LLVMGetOperand(i, k)))?;
                args.push(self.operand(LLVMGetOperand(i, k))?);
            }
            if direct && LLVMGlobalGetValueType(callee) != fty {
                return Err(no_form(
                    "a call through a prototype that differs from the callee's",
                ));
            }
            let effects = if direct {
                effects_of(callee)
            } else {
                Effects::Any
            };
            let callee = self.operand(callee)?;
            self.append(Inst::Call {
                callee,
                args,
                ret,
                effects: if idempotent && effects == Effects::Any {
                    Effects::ReadOnly
                } else {
                    effects
                },
                idempotent,
            })
        }
    }

    /// Can function `gi` be inlined at the current depth?
    fn inlinable(&self, gi: usize) -> bool {
        let Some(info) = self.idx.func(gi as u32) else {
            return false;
        };
        let g = self.funcs[gi];
        let rec = self.frames.iter().filter(|fr| fr.f == g).count();
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
        super::super::lazy::materialize(g).map_err(Abort::internal)?;
        let parent_at = self.frames.last().unwrap().dbg_at;
        let dbg_at = match &mut self.dbg {
            Some(d) => d.loc_of(call, parent_at),
            None => std::ptr::null_mut(),
        };
        let mut map = HashMap::default();
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
            let ty = ty_of(LLVMTypeOf(i))?;
            let rec = if ty != Ty::Void {
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
                consts &= a.as_const().is_some();
            }
            self.frames[top].native_pending = true;
            if let (true, Some(r)) = (consts, rec) {
                let k = const_from_bits(ty, r)?;
                self.map(i, k);
                return Ok(());
            }
            if let Some(r) = self.native_call(i, true)? {
                self.map(i, r);
            }
        }
        Ok(())
    }

    /// Turns terminator `term` of `bb` into guards that `next` follows.
    fn guard_branch(
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
                return Ok(());
            }
            if llvm::opcode(term) == LLVMOpcode::LLVMBr {
                let cond = self.operand(LLVMGetCondition(term))?;
                return self.guard(cond, succs[0] == next, term);
            }
            let v = self.operand(LLVMGetOperand(term, 0))?;
            let ty = ty_of(LLVMTypeOf(LLVMGetOperand(term, 0)))?;
            let n = LLVMGetNumSuccessors(term);
            let cases: Vec<(u64, bool)> = (1..n)
                .map(|k| {
                    (
                        LLVMConstIntGetZExtValue(LLVMGetSwitchCaseValue(term, k)),
                        LLVMGetSuccessor(term, k) == next,
                    )
                })
                .collect();
            if let Some(c) = self.tb.resolve(v).as_int() {
                // Decided already (e.g. the dispatch on a promoted bytecode).
                let taken = cases
                    .iter()
                    .position(|&(x, _)| x == c)
                    .map_or(LLVMGetSwitchDefaultDest(term), |k| {
                        LLVMGetSuccessor(term, k as u32 + 1)
                    });
                if taken != next {
                    return Err(Abort::recording(
                        "the recording contradicts a constant switch",
                    ));
                }
                return Ok(());
            }
            if LLVMGetSwitchDefaultDest(term) == next {
                // Not any case that leads elsewhere.
                for &(c, to_next) in &cases {
                    if !to_next {
                        let ne = self.value(Inst::ICmp {
                            pred: IPred::Ne,
                            lhs: v,
                            rhs: const_from_bits(ty, c)?,
                        })?;
                        self.guard(ne, true, term)?;
                    }
                }
                return Ok(());
            }
            // One of the cases that lead to `next`.
            let mut any: Option<Operand> = None;
            for &(c, to_next) in &cases {
                if to_next {
                    let eq = self.value(Inst::ICmp {
                        pred: IPred::Eq,
                        lhs: v,
                        rhs: const_from_bits(ty, c)?,
                    })?;
                    any = Some(match any {
                        None => eq,
                        Some(a) => self.value(Inst::Bin {
                            op: BinOp::Or,
                            ty: Ty::I1,
                            lhs: a,
                            rhs: eq,
                        })?,
                    });
                }
            }
            let any = any.ok_or_else(|| Abort::internal("a switch successor that no case has"))?;
            self.guard(any, true, term)
        }
    }

    /// A guard: go on if `cond == expect`, else leave the trace, resuming
    /// the top frame at AOT instruction `at`.
    fn guard(&mut self, cond: Operand, expect: bool, at: LLVMValueRef) -> Result<(), Abort> {
        if let Some(c) = self.tb.resolve(cond).as_int() {
            if (c != 0) == expect {
                return Ok(());
            }
            return Err(Abort::recording(
                "the recording contradicts a branch the trace decides",
            ));
        }
        let snap = self.snapshot(at)?;
        self.append(Inst::Guard { cond, expect, snap })?;
        Ok(())
    }

    /// Interns the state to rebuild if the trace leaves at `at`.
    fn snapshot(&mut self, at: LLVMValueRef) -> Result<SnapId, Abort> {
        let top = self.frames.len() - 1;
        let mut frames = Vec::with_capacity(top + 1);
        for k in 0..=top {
            let (f, fidx) = (self.frames[k].f, self.frames[k].fidx);
            let (resume, live) = if k == top {
                let mut live = self.liveness(f, fidx as usize).live_after(at);
                for o in operands(at) {
                    if llvm::is_ssa_value(o) && !live.contains(&o) {
                        live.push(o);
                    }
                }
                (at, live)
            } else {
                let call = self.frames[k + 1].call.unwrap();
                let live = self.liveness(f, fidx as usize).live_after(call);
                (unsafe { LLVMGetNextInstruction(call) }, live)
            };
            let d = self.decoded(f, fidx as usize);
            let &(block, ix) = d
                .pos
                .get(&resume)
                .ok_or_else(|| Abort::internal("resume point not decoded"))?;
            let regs: Vec<u32> = live.iter().map(|v| d.regs[v]).collect();
            let key = (fidx as usize, block, ix, k == 0);
            let why = match self.an.unsupported.get(&key) {
                Some(w) => w.clone(),
                None => {
                    let d = self.decoded(f, fidx as usize);
                    let w = d.prog.unsupported_from(block, ix, k == 0);
                    self.an.unsupported.insert(key, w.clone());
                    w
                }
            };
            if let Some(why) = why {
                return Err(Abort::unsupported(format!("the blackhole can't run {why}")));
            }
            let mut lv = Vec::with_capacity(live.len());
            for (v, reg) in live.into_iter().zip(regs) {
                match decode::leaves(unsafe { LLVMTypeOf(v) })
                    .map_err(Abort::unsupported)?
                    .as_slice()
                {
                    [_] => {}
                    _ => return Err(Abort::unsupported("an aggregate value live at a guard")),
                }
                let m = *self.frames[k].map.get(&v).ok_or_else(|| {
                    Abort::internal(format!("live value {} unmapped", llvm::name(v)))
                })?;
                self.regs.insert((fidx, reg), v);
                lv.push((reg, m));
            }
            let top_frame = k == top;
            let id = match self.resume_ids.get(&(resume, top_frame)) {
                Some(&id) => id,
                None => {
                    let id = self.resumes.len() as u32;
                    self.resumes.push(Resume {
                        f,
                        fidx,
                        at: resume,
                        top: top_frame,
                    });
                    self.resume_ids.insert((resume, top_frame), id);
                    id
                }
            };
            frames.push(tir::Frame::new(fidx, id, lv));
        }
        Ok(self.tb.snapshot(Snapshot { frames }))
    }

    fn liveness(&mut self, f: LLVMValueRef, fidx: usize) -> &Liveness {
        self.an
            .liveness
            .entry(fidx)
            .or_insert_with(|| Liveness::analyse(f))
    }

    fn decoded(&mut self, f: LLVMValueRef, fidx: usize) -> &Decoded {
        decoded(self.an, self.func_idx, self.global_idx, f, fidx)
    }

    /// Maps an operand of an AOT instruction into the trace.
    fn operand(&mut self, v: LLVMValueRef) -> Result<Operand, Abort> {
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
            if !LLVMIsAFunction(v).is_null() {
                let i = self.func_idx[&v];
                return Ok(Operand::Const(Const::Sym(Sym::Func(i as u32))));
            }
            if !LLVMIsAGlobalVariable(v).is_null() {
                if LLVMIsThreadLocal(v) != 0 {
                    return Err(Abort::unsupported(format!(
                        "thread-local variable {}",
                        llvm::name(v)
                    )));
                }
                let i = self.global_idx[&v];
                return Ok(Operand::Const(Const::Sym(Sym::Global(i as u32))));
            }
            if !LLVMIsAConstantExpr(v).is_null() {
                return self.constant_expr(v);
            }
            if !LLVMIsAGlobalAlias(v).is_null() {
                return Err(Abort::unsupported("a global alias"));
            }
            if !LLVMIsAConstantInt(v).is_null() {
                let ty = ty_of(LLVMTypeOf(v))?;
                return const_from_bits(ty, LLVMConstIntGetZExtValue(v));
            }
            if !LLVMIsAConstantFP(v).is_null() {
                let mut lossy = 0;
                let x = LLVMConstRealGetDouble(v, &mut lossy);
                return match ty_of(LLVMTypeOf(v))? {
                    Ty::F32 => Ok(Operand::Const(Const::F32((x as f32).to_bits()))),
                    Ty::F64 => Ok(Operand::Const(Const::F64(x.to_bits()))),
                    _ => Err(no_form("an unusual float constant")),
                };
            }
            if !LLVMIsAConstantPointerNull(v).is_null() || !LLVMIsAUndefValue(v).is_null() {
                // undef and poison: any value will do; zero.
                return const_from_bits(ty_of(LLVMTypeOf(v))?, 0);
            }
            Err(no_form(format!(
                "a constant of kind {:?}",
                LLVMGetValueKind(v)
            )))
        }
    }

    /// A constant expression over globals, as instructions.
    fn constant_expr(&mut self, v: LLVMValueRef) -> Result<Operand, Abort> {
        unsafe {
            let op = LLVMGetConstOpcode(v);
            match op {
                LLVMOpcode::LLVMGetElementPtr => self.gep(v),
                LLVMOpcode::LLVMPtrToInt | LLVMOpcode::LLVMIntToPtr => {
                    let to = ty_of(LLVMTypeOf(v))?;
                    let val = self.operand(LLVMGetOperand(v, 0))?;
                    self.value(Inst::Cast {
                        op: cast_op(op),
                        val,
                        to,
                    })
                }
                LLVMOpcode::LLVMAdd | LLVMOpcode::LLVMSub => {
                    let ty = ty_of(LLVMTypeOf(v))?;
                    let lhs = self.operand(LLVMGetOperand(v, 0))?;
                    let rhs = self.operand(LLVMGetOperand(v, 1))?;
                    self.value(Inst::Bin {
                        op: bin_op(op),
                        ty,
                        lhs,
                        rhs,
                    })
                }
                _ => Err(Abort::unsupported(format!(
                    "constant expression with opcode {op:?}"
                ))),
            }
        }
    }
}

/// The decoded form of function `f` (cached in `an`).
pub fn decoded<'a>(
    an: &'a mut Analyses,
    func_idx: &std::collections::HashMap<LLVMValueRef, usize>,
    global_idx: &std::collections::HashMap<LLVMValueRef, usize>,
    f: LLVMValueRef,
    fidx: usize,
) -> &'a Decoded {
    let info = crate::aot::info();
    let (fa, ga) = info.map_or((&[][..], &[][..]), |i| (i.funcs(), i.globals()));
    let env = decode::Env {
        td: an.td,
        func_idx,
        global_idx,
        func_addrs: fa,
        global_addrs: ga,
    };
    an.decoded
        .entry(fidx)
        .or_insert_with(|| decode::decode(&env, f, fidx as u32))
}

/// Does `p` point into a global constant with a definition (directly or
/// through pointer arithmetic)? Loads from it read memory that never
/// changes.
fn const_global_base(mut p: LLVMValueRef) -> bool {
    unsafe {
        loop {
            if !LLVMIsAGlobalVariable(p).is_null() {
                return LLVMIsGlobalConstant(p) != 0
                    && !LLVMGetInitializer(p).is_null()
                    && LLVMIsThreadLocal(p) == 0;
            }
            let gep = !LLVMIsAGetElementPtrInst(p).is_null()
                || (!LLVMIsAConstantExpr(p).is_null()
                    && LLVMGetConstOpcode(p) == LLVMOpcode::LLVMGetElementPtr);
            if !gep {
                return false;
            }
            p = LLVMGetOperand(p, 0);
        }
    }
}

/// What a call of function `f` may do to memory, from its attributes.
fn effects_of(f: LLVMValueRef) -> Effects {
    unsafe {
        let kind = LLVMGetEnumAttributeKindForName(c"memory".as_ptr(), 6);
        let a = LLVMGetEnumAttributeAtIndex(f, llvm_sys::LLVMAttributeFunctionIndex, kind);
        if a.is_null() {
            return Effects::Any;
        }
        // MemoryEffects: two bits (ref = 1, mod = 2) per kind of location.
        let bits = LLVMGetEnumAttributeValue(a);
        if bits == 0 {
            Effects::Pure
        } else if bits & 0xAAAA_AAAA_AAAA_AAAA == 0 {
            Effects::ReadOnly
        } else {
            Effects::Any
        }
    }
}

fn bin_op(op: LLVMOpcode) -> BinOp {
    use LLVMOpcode::*;
    match op {
        LLVMAdd => BinOp::Add,
        LLVMSub => BinOp::Sub,
        LLVMMul => BinOp::Mul,
        LLVMUDiv => BinOp::UDiv,
        LLVMSDiv => BinOp::SDiv,
        LLVMURem => BinOp::URem,
        LLVMSRem => BinOp::SRem,
        LLVMShl => BinOp::Shl,
        LLVMLShr => BinOp::LShr,
        LLVMAShr => BinOp::AShr,
        LLVMAnd => BinOp::And,
        LLVMOr => BinOp::Or,
        LLVMXor => BinOp::Xor,
        LLVMFAdd => BinOp::FAdd,
        LLVMFSub => BinOp::FSub,
        LLVMFMul => BinOp::FMul,
        LLVMFDiv => BinOp::FDiv,
        _ => BinOp::FRem,
    }
}

fn cast_op(op: LLVMOpcode) -> CastOp {
    use LLVMOpcode::*;
    match op {
        LLVMTrunc => CastOp::Trunc,
        LLVMZExt => CastOp::ZExt,
        LLVMSExt => CastOp::SExt,
        LLVMFPToUI => CastOp::FPToUI,
        LLVMFPToSI => CastOp::FPToSI,
        LLVMUIToFP => CastOp::UIToFP,
        LLVMSIToFP => CastOp::SIToFP,
        LLVMFPTrunc => CastOp::FPTrunc,
        LLVMFPExt => CastOp::FPExt,
        LLVMPtrToInt => CastOp::PtrToInt,
        LLVMIntToPtr => CastOp::IntToPtr,
        _ => CastOp::BitCast,
    }
}

fn ipred(p: llvm_sys::LLVMIntPredicate) -> IPred {
    use llvm_sys::LLVMIntPredicate::*;
    match p {
        LLVMIntEQ => IPred::Eq,
        LLVMIntNE => IPred::Ne,
        LLVMIntUGT => IPred::Ugt,
        LLVMIntUGE => IPred::Uge,
        LLVMIntULT => IPred::Ult,
        LLVMIntULE => IPred::Ule,
        LLVMIntSGT => IPred::Sgt,
        LLVMIntSGE => IPred::Sge,
        LLVMIntSLT => IPred::Slt,
        LLVMIntSLE => IPred::Sle,
    }
}

fn fpred(p: llvm_sys::LLVMRealPredicate) -> FPred {
    use llvm_sys::LLVMRealPredicate::*;
    match p {
        LLVMRealOEQ => FPred::Oeq,
        LLVMRealOGT => FPred::Ogt,
        LLVMRealOGE => FPred::Oge,
        LLVMRealOLT => FPred::Olt,
        LLVMRealOLE => FPred::Ole,
        LLVMRealONE => FPred::One,
        LLVMRealORD => FPred::Ord,
        LLVMRealUEQ => FPred::Ueq,
        LLVMRealUGT => FPred::Ugt,
        LLVMRealUGE => FPred::Uge,
        LLVMRealULT => FPred::Ult,
        LLVMRealULE => FPred::Ule,
        LLVMRealUNE => FPred::Une,
        _ => FPred::Uno,
    }
}
