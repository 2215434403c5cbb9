//! Classic backwards liveness of SSA values over one function's CFG.
//!
//! The control-point transform needs the values live across the control
//! point call: those are exactly what the interpreter's frame must hand to a
//! trace (and get back from it). A phi's operand is live at the end of the
//! matching predecessor, not at the start of the phi's own block.

use crate::{self as llvm, blocks, instrs, operands, successors};
use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::LLVMOpcode;
use std::collections::{HashMap, HashSet};

type Set = HashSet<LLVMValueRef>;

/// Liveness facts for one function.
pub struct Liveness {
    live_out: HashMap<LLVMBasicBlockRef, Set>,
    /// Definition order of every SSA value, used to make results deterministic.
    order: HashMap<LLVMValueRef, usize>,
}

fn is_phi(i: LLVMValueRef) -> bool {
    llvm::opcode(i) == LLVMOpcode::LLVMPHI
}

/// The phi operands that flow along the edge `pred -> succ`.
fn phi_uses_on_edge(pred: LLVMBasicBlockRef, succ: LLVMBasicBlockRef) -> Vec<LLVMValueRef> {
    let mut out = Vec::new();
    for i in instrs(succ).into_iter().take_while(|&i| is_phi(i)) {
        unsafe {
            for k in 0..LLVMCountIncoming(i) {
                if LLVMGetIncomingBlock(i, k) == pred {
                    let v = LLVMGetIncomingValue(i, k);
                    if llvm::is_ssa_value(v) {
                        out.push(v);
                    }
                }
            }
        }
    }
    out
}

impl Liveness {
    /// Computes liveness for function `f` (which must have a body).
    pub fn analyse(f: LLVMValueRef) -> Liveness {
        let bbs = blocks(f);
        let mut order = HashMap::new();
        unsafe {
            for k in 0..LLVMCountParams(f) {
                order.insert(LLVMGetParam(f, k), order.len());
            }
        }
        // Upward-exposed uses and definitions of each block.
        let mut gen: HashMap<LLVMBasicBlockRef, Set> = HashMap::new();
        let mut kill: HashMap<LLVMBasicBlockRef, Set> = HashMap::new();
        for &b in &bbs {
            let mut g = Set::new();
            let mut d = Set::new();
            for i in instrs(b) {
                if !is_phi(i) {
                    for op in operands(i) {
                        if llvm::is_ssa_value(op) && !d.contains(&op) {
                            g.insert(op);
                        }
                    }
                }
                d.insert(i);
                order.insert(i, order.len());
            }
            gen.insert(b, g);
            kill.insert(b, d);
        }
        let mut live_in: HashMap<LLVMBasicBlockRef, Set> =
            bbs.iter().map(|&b| (b, Set::new())).collect();
        let mut live_out: HashMap<LLVMBasicBlockRef, Set> =
            bbs.iter().map(|&b| (b, Set::new())).collect();
        let mut changed = true;
        while changed {
            changed = false;
            for &b in bbs.iter().rev() {
                let mut out = Set::new();
                for s in successors(b) {
                    for &v in &live_in[&s] {
                        out.insert(v);
                    }
                    out.extend(phi_uses_on_edge(b, s));
                }
                let mut inn: Set = gen[&b].clone();
                for &v in &out {
                    if !kill[&b].contains(&v) {
                        inn.insert(v);
                    }
                }
                if out.len() != live_out[&b].len() || inn.len() != live_in[&b].len() {
                    changed = true;
                    live_out.insert(b, out);
                    live_in.insert(b, inn);
                }
            }
        }
        Liveness { live_out, order }
    }

    /// The SSA values live immediately after instruction `inst`, in
    /// definition order (arguments first).
    pub fn live_after(&self, inst: LLVMValueRef) -> Vec<LLVMValueRef> {
        let b = unsafe { LLVMGetInstructionParent(inst) };
        let mut live = self.live_out[&b].clone();
        for i in instrs(b).into_iter().rev() {
            if i == inst {
                break;
            }
            live.remove(&i);
            if !is_phi(i) {
                for op in operands(i) {
                    if llvm::is_ssa_value(op) {
                        live.insert(op);
                    }
                }
            }
        }
        live.remove(&inst);
        let mut v: Vec<_> = live.into_iter().collect();
        v.sort_by_key(|x| self.order.get(x).copied().unwrap_or(usize::MAX));
        v
    }
}
