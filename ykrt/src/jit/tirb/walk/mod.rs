//! The walk: a recorded block sequence into the trace IR.
//!
//! Owns [`walk`] and the walk's state (`W`): it follows the recording
//! through the interpreter's AOT IR and every AOT instruction becomes
//! trace-IR instructions appended through the forward optimiser
//! ([`tir::opt::forward::TraceBuilder`]), so what is constant, redundant or
//! already known along the trace never becomes code. The stages, one module
//! each:
//!
//! - `mod.rs` (this file): the trace's parameters and shape, the main loop
//!   over the recorded blocks (phis resolved by the recorded predecessor,
//!   branches, returns, the closing control point) and the finished trace;
//! - [`frames`]: the frame stack: which recorded block comes next, calls
//!   (inlined when the recording enters them, else native calls whose
//!   recorded blocks are skipped), promotions and idempotent calls, and the
//!   frames a side trace starts with;
//! - [`snapshot`]: guards and the state they resume (interned snapshots and
//!   resume points, the AOT values live at each);
//! - [`vars`]: the interpreter's variables (the `vars` fields) kept in SSA
//!   values and passed as loop parameters;
//! - [`translate`]: one AOT instruction or operand into trace IR.
//!
//! Invariants of its output ([`Walked`]):
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

mod frames;
mod snapshot;
#[cfg(test)]
mod tests;
mod translate;
mod vars;

use super::super::builder::{block_index, vars_fields, Analyses, GuardSrc, MAX_WALKED};
use super::super::dbg::TraceDbg;
use crate::abort::Abort;
use crate::aotir::AotIndex;
use crate::jit::decode::{self, Decoded};
use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::LLVMOpcode;
use rustc_hash::FxHashMap as HashMap;
use snapshot::Resumes;
use tir::opt::forward::{MemReader, TraceBuilder};
use tir::opt::OptError;
use tir::{Inst, Operand, Ty};
pub use translate::{const_from_bits, no_form, ty_of, GepInfo, GepStep};
use vars::{Params, Vars};
use yk_llvm::{self as llvm, successors};

/// The resume id of a trace's end snapshot.
pub const END_RESUME: u32 = u32::MAX;
/// The live-value id of the location in a trace's end snapshot.
pub const LOC_ID: u32 = u32::MAX;
/// A walk that appends more trace-IR instructions than this (after
/// optimisation) is aborted as too long there and then.
pub const MAX_TIR: usize = 20_000;

/// An instruction's debug location before it is rebuilt for the trace
/// (`TraceDbg::resolve`, done only if LLVM lowers the trace): its AOT
/// location (null if none) and where its frame is inlined.
pub type DbgLoc = (LLVMMetadataRef, LLVMMetadataRef);

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
    /// The frame's AOT function.
    pub f: LLVMValueRef,
    /// Its index in the embedded module.
    pub fidx: u32,
    /// The AOT instruction it resumes at.
    pub at: LLVMValueRef,
    /// The frame is the innermost one (it resumes at the guarded
    /// instruction, not after a call).
    pub top: bool,
}

/// A walked trace, ready for the backward pass and lowering.
pub struct Walked {
    /// The trace, in the trace IR, after the forward optimiser.
    pub trace: tir::Trace,
    /// The debug location of each body instruction (null without debug
    /// info).
    pub locs: Vec<DbgLoc>,
    /// A loop, or linear (where it ends).
    pub shape: Shape,
    /// Where each of the trace's parameters comes from at its entry.
    pub params: Vec<ParamSrc>,
    /// Resume points by id.
    pub resumes: Vec<Resume>,
    /// `(function index, register)` -> AOT value, for snapshots' values.
    pub regs: HashMap<(u32, u32), LLVMValueRef>,
    /// AOT instructions walked.
    pub walked: usize,
    /// What the forward optimiser did.
    pub stats: tir::opt::forward::Stats,
    /// The walk of a truncated recording was cut short at a control point
    /// on the recorded path: the trace ends there.
    pub cut: bool,
}

/// What the walk needs besides the recording.
pub struct WalkInput<'a> {
    /// The recorded blocks: `(function index, block index)`.
    pub blocks: &'a [(u32, u32)],
    /// The values `yk_promote` returned, in order.
    pub promotes: &'a [u64],
    /// The results of `yk_idempotent` calls, in order.
    pub idempotents: &'a [u64],
    /// The function containing the control point.
    pub cp_func: LLVMValueRef,
    /// Its index in the embedded module.
    pub cp_func_idx: u32,
    /// The recording ended at another location (the trace is linear).
    pub linear: bool,
    /// The recording was stopped at the length limit, in the middle of
    /// the interpreter's path (`RecordedTrace::truncated`): the trace ends
    /// at the last control point the walk passes (a root trace must then be
    /// `linear`).
    pub truncated: bool,
    /// For a side trace: the guard it starts at.
    pub side: Option<&'a GuardSrc>,
}

/// Where a walk passed a control point of the interpreter function, other
/// than the one it ends at: how much of the recording (blocks, promoted
/// values, idempotent results) lies before it. The walk of a truncated
/// recording that cannot finish is walked again up to its last such point,
/// and ends there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cut {
    blocks: usize,
    promotes: usize,
    idempotents: usize,
}

/// A root trace cut short must keep at least this share (1/n) of its
/// recording's blocks: a linear trace of a few bytecodes costs more to
/// enter and leave than it saves. (A side trace is kept however short: it
/// spares its guard's every exit a blackhole run.)
const MIN_ROOT_CUT: usize = 4;

/// A walk that failed: why, and where it could have ended instead.
struct Failed {
    abort: Abort,
    /// The last control point passed, if any.
    cut: Option<Cut>,
    /// The recorded blocks ran out (or ran out of use) before the walk
    /// could end.
    ran_out: bool,
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
    cur_loc: DbgLoc,
    locs: Vec<DbgLoc>,
    frames: Vec<Frame>,
    funcs: &'a [LLVMValueRef],
    func_idx: &'a rustc_hash::FxHashMap<LLVMValueRef, usize>,
    global_idx: &'a rustc_hash::FxHashMap<LLVMValueRef, usize>,
    rec: &'a [(u32, u32)],
    pos: usize,
    promotes: &'a [u64],
    next_promote: usize,
    idempotents: &'a [u64],
    next_idempotent: usize,
    cp_call: LLVMValueRef,
    aot_vars: LLVMValueRef,
    vars_ty: LLVMTypeRef,
    /// The vars fields' parameters and current values.
    vars: Vars,
    /// The snapshots' resume points, interned.
    resumes: Resumes,
    regs: HashMap<(u32, u32), LLVMValueRef>,
    /// The frame shapes whose values `regs` has.
    shapes_seen: rustc_hash::FxHashSet<(LLVMValueRef, bool, bool)>,
    walked: usize,
    /// Values known to be `x + C` without signed (`nsw`) or unsigned
    /// (`nuw`) wrapping, from the AOT code's flags: see `widened_add`.
    nsw: HashMap<Operand, (Operand, u64)>,
    nuw: HashMap<Operand, (Operand, u64)>,
    /// Each getelementptr with constant indices already translated with a
    /// (resolved) base, and what it gave: the same again (the forward
    /// optimiser would find it by hash-consing, at more cost).
    gep_memo: HashMap<(LLVMValueRef, Operand), Operand>,
    /// The control point's block, and what in frame 0 only feeds the
    /// control point (`builder::cp_only`): passed there without
    /// translating, made if asked for (`cp_value`).
    cp_block: LLVMBasicBlockRef,
    cp_only: std::rc::Rc<rustc_hash::FxHashSet<LLVMValueRef>>,
    /// The last control point passed before the end (see [`Cut`]).
    last_cp: Option<Cut>,
}

fn opt_err(e: OptError) -> Abort {
    match e {
        OptError::GuardAlwaysFails { .. } => Abort::recording(
            "the recording contradicts what the trace knows (a guard always fails)",
        ),
        OptError::Type(e) => Abort::internal(format!("trace IR: {e}")),
    }
}

/// The embedded module as the walk reads it: its index, and its functions
/// and globals by index (the trace IR names them `@fN`, `@gN`).
#[derive(Clone, Copy)]
pub struct Aot<'a> {
    /// The module's index (functions' blocks, constants).
    pub idx: &'a AotIndex,
    /// The module's functions, by index.
    pub funcs: &'a [LLVMValueRef],
    /// Each function's index.
    pub func_idx: &'a rustc_hash::FxHashMap<LLVMValueRef, usize>,
    /// Each global's index.
    pub global_idx: &'a rustc_hash::FxHashMap<LLVMValueRef, usize>,
}

/// Walks `input` into a trace. The walk of a truncated recording that
/// cannot finish (its blocks run out in the middle of the path, or the
/// trace grows too long) is walked again up to the last control point it
/// passed, and ends there (a root trace as a linear one; `Walked::cut`).
pub fn walk(
    aot: Aot,
    an: &mut Analyses,
    mut dbg: Option<&mut TraceDbg>,
    mem: &dyn MemReader,
    input: &WalkInput,
) -> Result<Walked, Abort> {
    let failed = match walk_once(aot, an, dbg.as_deref_mut(), mem, input) {
        Ok(w) => return Ok(w),
        Err(f) => f,
    };
    let cuttable = input.truncated
        && (failed.ran_out || failed.abort.kind == crate::abort::AbortKind::TooLong);
    let cut = match failed.cut {
        Some(c)
            if cuttable
                && (input.side.is_some() || c.blocks * MIN_ROOT_CUT >= input.blocks.len()) =>
        {
            c
        }
        _ => return Err(failed.abort),
    };
    let short = WalkInput {
        blocks: &input.blocks[..cut.blocks],
        promotes: &input.promotes[..cut.promotes],
        idempotents: &input.idempotents[..cut.idempotents],
        linear: true,
        truncated: false,
        ..*input
    };
    let mut w = walk_once(aot, an, dbg, mem, &short).map_err(|f| f.abort)?;
    w.cut = true;
    Ok(w)
}

/// One walk of `input` (see [`walk`]).
fn walk_once(
    aot: Aot,
    an: &mut Analyses,
    dbg: Option<&mut TraceDbg>,
    mem: &dyn MemReader,
    input: &WalkInput,
) -> Result<Walked, Failed> {
    let Aot {
        idx,
        funcs,
        func_idx,
        global_idx,
    } = aot;
    let plain = |abort: Abort| Failed {
        abort,
        cut: None,
        ran_out: false,
    };
    let f = input.cp_func;
    let (cp_block, cp_call) = an
        .cp(f, input.cp_func_idx as usize)
        .ok_or_else(|| plain(Abort::internal("no control point in the recorded function")))?;
    // SAFETY: `cp_call` is the live control-point call `find_cp` found,
    // `__ykrt_control_point(mt, loc, vars, idx)` as yk-ld leaves it, so operand
    // 2 is `vars` (yk-llvm rules 2 and 3).
    let aot_vars = unsafe { LLVMGetOperand(cp_call, 2) };
    // SAFETY: `aot_vars` is the control point's `YkCtrlPointVars` alloca
    // (yk-llvm rule 3: `LLVMGetAllocatedType` needs an alloca).
    let vars_ty = unsafe { LLVMGetAllocatedType(aot_vars) };
    let fields = vars_fields(cp_block, aot_vars);
    let shape = match (input.side.is_some(), input.linear) {
        (true, _) => Shape::Side,
        (false, true) => Shape::Linear,
        (false, false) => Shape::Loop,
    };
    let Params {
        srcs: params,
        tys: ptys,
        field_param,
        invariant,
        side_inputs,
    } = vars::plan_params(f, &fields, shape, input.side).map_err(plain)?;
    let root_at = dbg.as_ref().map_or(std::ptr::null_mut(), |d| d.root());
    let cp_only = an.cp_only(input.cp_func_idx as usize, cp_call);
    let mut w = W {
        tb: TraceBuilder::new(ptys, mem),
        idx,
        an,
        dbg,
        cur_loc: (std::ptr::null_mut(), std::ptr::null_mut()),
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
        vars: Vars::new(field_param, shape == Shape::Side),
        resumes: Resumes::default(),
        regs: HashMap::default(),
        shapes_seen: Default::default(),
        walked: 0,
        nsw: HashMap::default(),
        nuw: HashMap::default(),
        gep_memo: HashMap::default(),
        cp_block,
        cp_only,
        last_cp: None,
    };
    let mut map = HashMap::default();
    map.insert(aot_vars, w.tb.param(0));
    for (v, p) in invariant {
        map.insert(v, w.tb.param(p));
    }
    if let Some(src) = input.side {
        let mut slots: HashMap<LLVMValueRef, usize> = side_inputs.into_iter().collect();
        w.side_frames(src, map, &mut slots, root_at)
            .map_err(plain)?;
    } else {
        let resume = successors(cp_block)[0];
        let first = w.rec.first().copied();
        if first != Some((input.cp_func_idx, block_index(f, resume))) {
            return Err(plain(Abort::recording(
                "the recording does not start at the control point",
            )));
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
    if let Err(abort) = w.walk() {
        return Err(Failed {
            abort,
            cut: w.last_cp,
            ran_out: w.pos >= w.rec.len(),
        });
    }
    let mut unused = None;
    if w.next_promote != input.promotes.len() {
        unused = Some(Abort::recording(format!(
            "yk_promote used outside the traced frames ({} recorded, {} in the trace)",
            input.promotes.len(),
            w.next_promote
        )));
    } else if w.next_idempotent != input.idempotents.len() {
        unused = Some(Abort::recording(format!(
            "idempotent calls outside the traced frames ({} recorded, {} in the trace)",
            input.idempotents.len(),
            w.next_idempotent
        )));
    }
    if let Some(abort) = unused {
        // A truncated recording that ends at a control point may hold
        // values recorded past it: end there, using only those before.
        return Err(Failed {
            abort,
            cut: Some(Cut {
                blocks: w.pos,
                promotes: w.next_promote,
                idempotents: w.next_idempotent,
            }),
            ran_out: true,
        });
    }
    // A linear or side trace's end snapshot (which may append the
    // location's computation) before the counts are read.
    let end = match shape {
        Shape::Loop => None,
        Shape::Linear | Shape::Side => Some(w.end_snapshot(input.cp_func_idx).map_err(plain)?),
    };
    let stats = w.tb.stats().clone();
    let trace = match end {
        None => {
            let tb = &w.tb;
            let args = w.vars.loop_args(&params, |i| tb.param(i)).map_err(plain)?;
            w.tb.finish_loop(args).map_err(|e| plain(opt_err(e)))?
        }
        Some(s) => w.tb.finish_exit(s).map_err(|e| plain(opt_err(e)))?,
    };
    Ok(Walked {
        trace,
        locs: w.locs,
        shape,
        params,
        resumes: w.resumes.into_vec(),
        regs: w.regs,
        walked: w.walked,
        stats,
        cut: false,
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

    /// Follows the recording until the closing control point.
    fn walk(&mut self) -> Result<(), Abort> {
        'blocks: loop {
            let top = self.frames.len() - 1;
            let bb = self.frames[top].block;
            let mut i = match self.frames[top].resume.take() {
                Some(i) => i,
                // SAFETY: `bb` is a live block of the top frame's function in
                // the embedded module (yk-llvm rule 2).
                None => unsafe { LLVMGetFirstInstruction(bb) },
            };
            if self.walked > MAX_WALKED {
                return Err(Abort::too_long(format!(
                    "trace too long: over {} instructions to walk",
                    MAX_WALKED
                )));
            }
            while !i.is_null() {
                // SAFETY: `i` is a live instruction of the embedded module
                // (yk-llvm rule 2); the next one is null at the block's end.
                let next_i = unsafe { LLVMGetNextInstruction(i) };
                self.walked += 1;
                if top == 0 && bb == self.cp_block && self.cp_only.contains(&i) {
                    i = next_i;
                    continue;
                }
                if self.dbg.is_some() {
                    // SAFETY: as above.
                    let loc = unsafe { llvm_sys::debuginfo::LLVMInstructionGetDebugLoc(i) };
                    self.cur_loc = (loc, self.frames[top].dbg_at);
                }
                match llvm::opcode(i) {
                    LLVMOpcode::LLVMPHI => {
                        let p = self.frames[top]
                            .prev
                            .ok_or_else(|| Abort::internal("a phi in a function's entry block"))?;
                        // SAFETY: `i` is a live phi (its opcode was matched;
                        // yk-llvm rules 2 and 3) and `k` stays below its
                        // incoming count.
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
                        if top == 0 {
                            self.last_cp = Some(Cut {
                                blocks: self.pos,
                                promotes: self.next_promote,
                                idempotents: self.next_idempotent,
                            });
                        }
                        // SAFETY: `i` is a live call instruction of the
                        // embedded module (yk-llvm rule 2).
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
                        // SAFETY: `i` is a live `ret` of the embedded module
                        // (yk-llvm rules 2 and 3).
                        let v = if unsafe { LLVMGetNumOperands(i) } == 1 {
                            // SAFETY: `i` is a `ret` with one operand (checked
                            // just above), its return value.
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
                        // SAFETY: `call` is the live call instruction of the
                        // frame just popped (an inlined frame always has one:
                        // yk-llvm rule 2); a call is not a terminator, so an
                        // instruction follows it.
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
                    // The address of a vars field in frame 0: used (almost
                    // always only) by the field's loads and stores, which
                    // `vars_field` recognises from the AOT pointer itself, so
                    // it is translated only if something else asks for it
                    // (`vars_gep`). The control point's blocks hold a few
                    // dozen of these per bytecode.
                    LLVMOpcode::LLVMGetElementPtr
                        if top == 0 && llvm::struct_field_of(i, self.aot_vars).is_some() => {}
                    LLVMOpcode::LLVMStore
                        // SAFETY: `i` is a live store (its opcode was matched;
                        // yk-llvm rules 2 and 3): operand 1 is its address.
                        if self.vars_field(unsafe { LLVMGetOperand(i, 1) }).is_some() =>
                    {
                        // SAFETY: `i` is a live store (yk-llvm rules 2 and 3):
                        // operand 1 is its address.
                        let k = self.vars_field(unsafe { LLVMGetOperand(i, 1) }).unwrap();
                        // SAFETY: `i` is a live store (yk-llvm rules 2 and 3):
                        // operand 0 is the value stored.
                        let v = self.operand(unsafe { LLVMGetOperand(i, 0) })?;
                        self.vars.store(k, v);
                    }
                    LLVMOpcode::LLVMLoad
                        // SAFETY: `i` is a live load (its opcode was matched;
                        // yk-llvm rules 2 and 3): operand 0 is its address.
                        if self.vars_field(unsafe { LLVMGetOperand(i, 0) }).is_some() =>
                    {
                        // SAFETY: `i` is a live load (yk-llvm rules 2 and 3):
                        // operand 0 is its address.
                        let k = self.vars_field(unsafe { LLVMGetOperand(i, 0) }).unwrap();
                        // SAFETY: `i` is a live load of the embedded module
                        // (yk-llvm rule 2).
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
}

/// The decoded form of function `f` (cached in `an`).
pub fn decoded<'a>(
    an: &'a mut Analyses,
    func_idx: &rustc_hash::FxHashMap<LLVMValueRef, usize>,
    global_idx: &rustc_hash::FxHashMap<LLVMValueRef, usize>,
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
