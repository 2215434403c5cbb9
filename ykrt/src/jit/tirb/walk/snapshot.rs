//! Guards and the state they resume: snapshots.
//!
//! Owns turning a recorded branch, switch, promotion or inlined indirect
//! call into guards ([`W::guard_branch`], [`W::guard`]), and the snapshot
//! each guard carries ([`W::snapshot`], and a linear or side trace's end
//! snapshot, [`W::end_snapshot`]). Invariants:
//!
//! - a guard whose condition the trace already decides is not emitted; one
//!   the trace decides the other way aborts the recording;
//! - a snapshot has one frame per frame on the stack, outermost first; the
//!   innermost resumes at the guarded instruction itself (its operands
//!   count as live), the others right after the call of the next frame;
//! - a frame's live values are exactly the AOT values the embedded IR's
//!   liveness says are live there, keyed by their register in the decoded
//!   function (`Walked::regs` maps each back), each mapped to its trace
//!   operand; none is an aggregate;
//! - equal snapshots are interned once (by the trace builder), and so are
//!   resume points ([`Resumes`]: one id per AOT instruction and
//!   innermost-or-not, in order of first use);
//! - a guard is only emitted if the blackhole can run every instruction
//!   its frames may reach from their resume points
//!   (`Prog::unsupported_from`, checked once per frame shape, `Analyses::shapes`).

use super::{const_from_bits, decoded, ty_of, Resume, END_RESUME, LOC_ID, W};
use crate::abort::Abort;
use crate::jit::builder::FrameShape;
use crate::jit::decode::{self, Decoded};
use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::LLVMOpcode;
use rustc_hash::FxHashMap as HashMap;
use std::rc::Rc;
use tir::{BinOp, IPred, Inst, Operand, SnapId, Snapshot, Ty};
use yk_llvm::liveness::Liveness;
use yk_llvm::{self as llvm, operands, successors};

/// The resume points of a trace's snapshots, interned: ids index
/// `Walked::resumes`.
#[derive(Default)]
pub(super) struct Resumes {
    list: Vec<Resume>,
    ids: HashMap<(LLVMValueRef, bool), u32>,
}

impl Resumes {
    /// The id of resume point `r`: the same for the same instruction and
    /// innermost-or-not, a new one (the next number) otherwise.
    pub(super) fn intern(&mut self, r: Resume) -> u32 {
        *self.ids.entry((r.at, r.top)).or_insert_with(|| {
            self.list.push(r);
            (self.list.len() - 1) as u32
        })
    }

    /// The resume points by id.
    pub(super) fn into_vec(self) -> Vec<Resume> {
        self.list
    }
}

impl W<'_, '_> {
    /// Turns terminator `term` of `bb` into guards that `next` follows.
    pub(super) fn guard_branch(
        &mut self,
        bb: LLVMBasicBlockRef,
        term: LLVMValueRef,
        next: LLVMBasicBlockRef,
    ) -> Result<(), Abort> {
        // SAFETY: `bb` is a live block of the top frame's function and `term`
        // its terminator, a `br` or a `switch` (`walk` calls this only for
        // those: yk-llvm rules 2 and 3). A `br` with two different successors
        // is conditional, so it has a condition; otherwise `term` is a switch,
        // whose operand 0 is the value, and whose cases are read from 1, below
        // its successor count (0 is the default).
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
            if let Some(c) = self.tb.resolve(v).as_int() {
                // Decided already (the dispatch on a promoted bytecode): the
                // taken successor is found without listing the cases
                // (`luaV_execute`'s has 83).
                let taken = (1..n)
                    .find(|&k| LLVMConstIntGetZExtValue(LLVMGetSwitchCaseValue(term, k)) == c)
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
            let cases: Vec<(u64, bool)> = (1..n)
                .map(|k| {
                    (
                        LLVMConstIntGetZExtValue(LLVMGetSwitchCaseValue(term, k)),
                        LLVMGetSuccessor(term, k) == next,
                    )
                })
                .collect();
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
    pub(super) fn guard(
        &mut self,
        cond: Operand,
        expect: bool,
        at: LLVMValueRef,
    ) -> Result<(), Abort> {
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
    pub(super) fn snapshot(&mut self, at: LLVMValueRef) -> Result<SnapId, Abort> {
        let top = self.frames.len() - 1;
        let mut frames = Vec::with_capacity(top + 1);
        for k in 0..=top {
            let (f, fidx) = (self.frames[k].f, self.frames[k].fidx);
            let key = match k == top {
                true => (at, true, k == 0),
                false => (self.frames[k + 1].call.unwrap(), false, k == 0),
            };
            let shape = self.frame_shape(f, fidx, key)?;
            if self.shapes_seen.insert(key) {
                for &(v, reg) in &shape.live {
                    self.regs.insert((fidx, reg), v);
                }
            }
            let mut lv = Vec::with_capacity(shape.live.len());
            for &(v, reg) in &shape.live {
                let m = match self.frames[k].map.get(&v) {
                    Some(&m) => Some(m),
                    // Frame 0's values the walk passed are made when needed.
                    None if k == 0 => self.passed_value(v)?,
                    None => None,
                }
                .ok_or_else(|| Abort::internal(format!("live value {} unmapped", llvm::name(v))))?;
                lv.push((reg, m));
            }
            let id = self.resumes.intern(Resume {
                f,
                fidx,
                at: shape.resume,
                top: k == top,
            });
            // In register order already (`FrameShape::live`).
            frames.push(tir::Frame::sorted(fidx, id, lv));
        }
        Ok(self.tb.snapshot(Snapshot { frames }))
    }

    /// The shape of the snapshot frames of function `f` resuming at `key`:
    /// `(at, true, outermost)` at the guarded instruction `at` itself (whose
    /// operands count as live), `(call, false, outermost)` right after an
    /// inlined call. Computed once per key for all traces
    /// (`Analyses::shapes`).
    fn frame_shape(
        &mut self,
        f: LLVMValueRef,
        fidx: u32,
        key: (LLVMValueRef, bool, bool),
    ) -> Result<Rc<FrameShape>, Abort> {
        if let Some(s) = self.an.shapes.get(&key) {
            return s.clone();
        }
        let s = self.new_frame_shape(f, fidx, key).map(Rc::new);
        self.an.shapes.insert(key, s.clone());
        s
    }

    fn new_frame_shape(
        &mut self,
        f: LLVMValueRef,
        fidx: u32,
        (at, top, outermost): (LLVMValueRef, bool, bool),
    ) -> Result<FrameShape, Abort> {
        let (resume, live) = if top {
            let mut live = self.liveness(f, fidx as usize).live_after(at);
            for o in operands(at) {
                if llvm::is_ssa_value(o) && !live.contains(&o) {
                    live.push(o);
                }
            }
            (at, live)
        } else {
            let live = self.liveness(f, fidx as usize).live_after(at);
            // SAFETY: `at` is the call of an inlined frame, a live call
            // instruction of the embedded module (yk-llvm rule 2); a call is
            // not a terminator, so an instruction follows it.
            (unsafe { LLVMGetNextInstruction(at) }, live)
        };
        let d = self.decoded(f, fidx as usize);
        let &(block, ix) = d
            .pos
            .get(&resume)
            .ok_or_else(|| Abort::internal("resume point not decoded"))?;
        let regs: Vec<u32> = live.iter().map(|v| d.regs[v]).collect();
        let why = d.prog.unsupported_from(block, ix, outermost);
        if let Some(why) = why {
            return Err(Abort::unsupported(format!("the blackhole can't run {why}")));
        }
        for &v in &live {
            // SAFETY: `v` is a live value of the frame's function in the
            // embedded module (yk-llvm rule 2).
            if decode::single_leaf(unsafe { LLVMTypeOf(v) })
                .map_err(Abort::unsupported)?
                .is_none()
            {
                return Err(Abort::unsupported("an aggregate value live at a guard"));
            }
        }
        let mut live: Vec<(LLVMValueRef, u32)> = live.into_iter().zip(regs).collect();
        live.sort_by_key(|&(_, reg)| reg);
        live.dedup_by_key(|&mut (_, reg)| reg);
        Ok(FrameShape { resume, live })
    }

    /// The end snapshot: the fields the trace changed and the location.
    pub(super) fn end_snapshot(&mut self, cp_func_idx: u32) -> Result<SnapId, Abort> {
        let mut live = self.vars.changed();
        // SAFETY: `self.cp_call` is the live control-point call `find_cp`
        // found, `__ykrt_control_point(mt, loc, vars, idx)`, so operand 1 is
        // its location (yk-llvm rules 2 and 3).
        let at = unsafe { LLVMGetOperand(self.cp_call, 1) };
        let loc = match self.frames[0].map.get(&at) {
            Some(&m) => Some(m),
            // Computed only for the control point: made now.
            None => self.cp_value(at)?,
        };
        if let Some(loc) = loc {
            live.push((LOC_ID, loc));
        }
        Ok(self.tb.snapshot(Snapshot {
            frames: vec![tir::Frame::new(cp_func_idx, END_RESUME, live)],
        }))
    }

    pub(super) fn liveness(&mut self, f: LLVMValueRef, fidx: usize) -> &Liveness {
        self.an
            .liveness
            .entry(fidx)
            .or_insert_with(|| Liveness::analyse(f))
    }

    pub(super) fn decoded(&mut self, f: LLVMValueRef, fidx: usize) -> &Decoded {
        decoded(self.an, self.func_idx, self.global_idx, f, fidx)
    }
}
