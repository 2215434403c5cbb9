//! Classic backwards liveness of SSA values over one function's CFG.
//!
//! The control-point transform needs the values live across the control
//! point call: those are exactly what the interpreter's frame must hand to a
//! trace (and get back from it). The trace builder needs the values live at
//! each guard's resume point, in the interpreter's function (for yklua the
//! whole of `luaV_execute`, some thousands of blocks), so the analysis is
//! dense: every SSA value is numbered in definition order (arguments, then
//! instructions in block order), a block's definitions are one range of
//! those numbers, and the sets are bit vectors, over the values that can
//! cross a block boundary only (most live within their block), renumbered
//! in the same order, and computed with a worklist of the blocks whose
//! successors' sets grew. A phi's operand is live at
//! the end of the matching predecessor, not at the start of the phi's own
//! block.

use crate::{self as llvm, blocks, instrs, successors};
use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::LLVMOpcode;
use rustc_hash::FxHashMap as HashMap;

/// A set of value numbers.
#[derive(Clone, PartialEq, Eq)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(n: usize) -> Bits {
        Bits(vec![0; n.div_ceil(64)])
    }

    fn insert(&mut self, i: u32) {
        self.0[i as usize / 64] |= 1 << (i % 64);
    }

    fn remove(&mut self, i: u32) {
        self.0[i as usize / 64] &= !(1 << (i % 64));
    }

    fn union(&mut self, o: &Bits) {
        for (a, b) in self.0.iter_mut().zip(&o.0) {
            *a |= b;
        }
    }

    /// Removes `lo..hi`.
    fn remove_range(&mut self, lo: u32, hi: u32) {
        for i in lo..hi {
            self.remove(i);
        }
    }

    /// Makes this set `o`'s copy (of the same size).
    fn copy_from(&mut self, o: &Bits) {
        self.0.copy_from_slice(&o.0);
    }

    fn clear(&mut self) {
        self.0.fill(0);
    }

    /// The members, in increasing order.
    fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().enumerate().flat_map(|(w, &bits)| {
            let mut b = bits;
            std::iter::from_fn(move || {
                (b != 0).then(|| {
                    let t = b.trailing_zeros();
                    b &= b - 1;
                    w as u32 * 64 + t
                })
            })
        })
    }
}

/// Liveness facts for one function.
pub struct Liveness {
    /// Each SSA value's number (its definition order).
    num: HashMap<LLVMValueRef, u32>,
    /// The values by number.
    values: Vec<LLVMValueRef>,
    /// Each block's number, in layout order.
    block_num: HashMap<LLVMBasicBlockRef, u32>,
    /// The numbers of the values that can be live across a block boundary
    /// (used, or passed to a phi, outside the block that defines them), in
    /// increasing order: the sets below are over their positions here, as
    /// most of a big function's values live within one block.
    glob: Vec<u32>,
    /// The values live at the end of each block, by block number (as
    /// positions in `glob`).
    live_out: Vec<Bits>,
}

fn is_phi(i: LLVMValueRef) -> bool {
    llvm::opcode(i) == LLVMOpcode::LLVMPHI
}

/// The numbers (in `num`) of `i`'s operands that are SSA values of the
/// function, in operand order. (Only the function's arguments and
/// instructions are in `num`: looking an operand up there is the test.)
fn ssa_operands<'a>(
    i: LLVMValueRef,
    num: &'a HashMap<LLVMValueRef, u32>,
) -> impl Iterator<Item = u32> + 'a {
    // SAFETY: `i` is a live instruction of the analysed function (rules 2
    // and 3); `k` stays below its operand count.
    let n = unsafe { LLVMGetNumOperands(i) } as u32;
    (0..n).filter_map(move |k| num.get(&unsafe { LLVMGetOperand(i, k) }).copied())
}

impl Liveness {
    /// Computes liveness for function `f` (which must have a body).
    pub fn analyse(f: LLVMValueRef) -> Liveness {
        let bbs = blocks(f);
        let block_num: HashMap<LLVMBasicBlockRef, u32> = bbs
            .iter()
            .enumerate()
            .map(|(k, &b)| (b, k as u32))
            .collect();
        let mut values = Vec::new();
        // SAFETY: `f` is a live function with a body (rules 2 and 3:
        // `analyse`'s documented argument); `k` stays below its parameter
        // count.
        unsafe {
            for k in 0..LLVMCountParams(f) {
                values.push(LLVMGetParam(f, k));
            }
        }
        // Each block's instructions and the range of numbers they get.
        let mut insts = Vec::with_capacity(bbs.len());
        let mut range = Vec::with_capacity(bbs.len());
        for &b in &bbs {
            let is = instrs(b);
            let lo = values.len() as u32;
            values.extend_from_slice(&is);
            range.push((lo, values.len() as u32));
            insts.push(is);
        }
        let num: HashMap<LLVMValueRef, u32> = values
            .iter()
            .enumerate()
            .map(|(k, &v)| (v, k as u32))
            .collect();
        let n = values.len();
        let number = |v: LLVMValueRef| -> Option<u32> { num.get(&v).copied() };
        // Upward-exposed uses of each block (a use of a value defined
        // earlier in the block is not: the block's numbers are one range,
        // so "earlier in the block" is a comparison), and the phi operands
        // each block passes along its out-edges.
        let mut gen: Vec<Vec<u32>> = vec![Vec::new(); bbs.len()];
        let mut phi_out: Vec<Vec<u32>> = vec![Vec::new(); bbs.len()];
        for (k, is) in insts.iter().enumerate() {
            let (lo, _) = range[k];
            for (j, &i) in is.iter().enumerate() {
                let me = lo + j as u32;
                if is_phi(i) {
                    // SAFETY: `i` is a live phi of `f` (`is_phi` checked its
                    // opcode just above); `p` stays below its incoming count,
                    // and its incoming values and blocks are live values and
                    // blocks of `f` (rule 2).
                    unsafe {
                        for p in 0..LLVMCountIncoming(i) {
                            let pred = LLVMGetIncomingBlock(i, p);
                            if let (Some(x), Some(&pb)) =
                                (number(LLVMGetIncomingValue(i, p)), block_num.get(&pred))
                            {
                                phi_out[pb as usize].push(x);
                            }
                        }
                    }
                    continue;
                }
                for x in ssa_operands(i, &num) {
                    if !(lo..me).contains(&x) {
                        gen[k].push(x);
                    }
                }
            }
        }
        let succs: Vec<Vec<u32>> = bbs
            .iter()
            .map(|&b| {
                successors(b)
                    .into_iter()
                    .filter_map(|s| block_num.get(&s).copied())
                    .collect()
            })
            .collect();
        // Only upward-exposed uses and phi operands are ever in a set (a
        // live-in set is its block's upward-exposed uses and what its
        // live-out set passes through; a live-out set is what its
        // successors' live-in sets and phis take): the sets are over those
        // values alone, renumbered in order.
        let mut is_glob = vec![false; n];
        for &x in gen.iter().chain(&phi_out).flatten() {
            is_glob[x as usize] = true;
        }
        let glob: Vec<u32> = (0..n as u32).filter(|&x| is_glob[x as usize]).collect();
        let mut pos = vec![u32::MAX; n];
        for (k, &x) in glob.iter().enumerate() {
            pos[x as usize] = k as u32;
        }
        for xs in gen.iter_mut().chain(phi_out.iter_mut()) {
            for x in xs.iter_mut() {
                *x = pos[*x as usize];
            }
        }
        // A block's definitions, as a range of positions in `glob`.
        let range: Vec<(u32, u32)> = range
            .iter()
            .map(|&(lo, hi)| {
                (
                    glob.partition_point(|&x| x < lo) as u32,
                    glob.partition_point(|&x| x < hi) as u32,
                )
            })
            .collect();
        let n = glob.len();
        // Starting from empty live-out sets, a block's live-in set is its
        // upward-exposed uses.
        let mut live_in: Vec<Bits> = gen
            .iter()
            .map(|g| {
                let mut s = Bits::new(n);
                for &x in g {
                    s.insert(x);
                }
                s
            })
            .collect();
        let mut live_out: Vec<Bits> = vec![Bits::new(n); bbs.len()];
        // A worklist, first in reverse layout order: a block is looked at
        // again only when the live-in set of one of its successors grew
        // (the sets only grow, from empty, to the least fixed point). One
        // scratch set, swapped into place when a block's set changes.
        let mut preds: Vec<Vec<u32>> = vec![Vec::new(); bbs.len()];
        for (k, ss) in succs.iter().enumerate() {
            for &s in ss {
                preds[s as usize].push(k as u32);
            }
        }
        let mut work: Vec<u32> = (0..bbs.len() as u32).collect();
        let mut queued = vec![true; bbs.len()];
        let mut out = Bits::new(n);
        while let Some(k) = work.pop() {
            let k = k as usize;
            queued[k] = false;
            out.clear();
            for &s in &succs[k] {
                out.union(&live_in[s as usize]);
            }
            for &x in &phi_out[k] {
                out.insert(x);
            }
            if out == live_out[k] {
                continue;
            }
            let inn = &mut live_in[k];
            inn.copy_from(&out);
            inn.remove_range(range[k].0, range[k].1);
            for &x in &gen[k] {
                inn.insert(x);
            }
            std::mem::swap(&mut live_out[k], &mut out);
            for &p in &preds[k] {
                if !queued[p as usize] {
                    queued[p as usize] = true;
                    work.push(p);
                }
            }
        }
        Liveness {
            num,
            values,
            block_num,
            glob,
            live_out,
        }
    }

    /// The SSA values live immediately after instruction `inst`, in
    /// definition order (arguments first).
    pub fn live_after(&self, inst: LLVMValueRef) -> Vec<LLVMValueRef> {
        // SAFETY: `inst` is a live instruction of the analysed function (rules
        // 2 and 3: the function, and so its instructions, outlive the
        // `Liveness`), so it has a parent block.
        let b = unsafe { LLVMGetInstructionParent(inst) };
        let mut live = Bits::new(self.values.len());
        for k in self.live_out[self.block_num[&b] as usize].iter() {
            live.insert(self.glob[k as usize]);
        }
        for i in instrs(b).into_iter().rev() {
            if i == inst {
                break;
            }
            if let Some(&x) = self.num.get(&i) {
                live.remove(x);
            }
            if !is_phi(i) {
                for x in ssa_operands(i, &self.num) {
                    live.insert(x);
                }
            }
        }
        if let Some(&x) = self.num.get(&inst) {
            live.remove(x);
        }
        live.iter().map(|x| self.values[x as usize]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{operands, Module};
    use std::collections::{HashMap, HashSet};

    /// The textbook algorithm over sets of values, as this module once
    /// was: what the dense analysis must agree with.
    fn reference_live_after(f: LLVMValueRef, inst: LLVMValueRef) -> HashSet<LLVMValueRef> {
        type Set = HashSet<LLVMValueRef>;
        let bbs = blocks(f);
        let mut gen: HashMap<LLVMBasicBlockRef, Set> = HashMap::new();
        let mut kill: HashMap<LLVMBasicBlockRef, Set> = HashMap::new();
        for &b in &bbs {
            let (mut g, mut d) = (Set::new(), Set::new());
            for i in instrs(b) {
                if !is_phi(i) {
                    for op in operands(i) {
                        if llvm::is_ssa_value(op) && !d.contains(&op) {
                            g.insert(op);
                        }
                    }
                }
                d.insert(i);
            }
            gen.insert(b, g);
            kill.insert(b, d);
        }
        let mut live_in: HashMap<_, Set> = bbs.iter().map(|&b| (b, Set::new())).collect();
        let mut live_out: HashMap<_, Set> = bbs.iter().map(|&b| (b, Set::new())).collect();
        let mut changed = true;
        while changed {
            changed = false;
            for &b in bbs.iter().rev() {
                let mut out = Set::new();
                for s in successors(b) {
                    out.extend(live_in[&s].iter().copied());
                    for i in instrs(s).into_iter().take_while(|&i| is_phi(i)) {
                        // SAFETY: test code: `i` is a phi of the test module's
                        // live function (`take_while(is_phi)`), `k` below its
                        // incoming count.
                        unsafe {
                            for k in 0..LLVMCountIncoming(i) {
                                let v = LLVMGetIncomingValue(i, k);
                                if LLVMGetIncomingBlock(i, k) == b && llvm::is_ssa_value(v) {
                                    out.insert(v);
                                }
                            }
                        }
                    }
                }
                let mut inn = gen[&b].clone();
                inn.extend(out.iter().filter(|v| !kill[&b].contains(v)).copied());
                if out != live_out[&b] || inn != live_in[&b] {
                    changed = true;
                    live_out.insert(b, out);
                    live_in.insert(b, inn);
                }
            }
        }
        // SAFETY: test code: `inst` is an instruction of the test module's live
        // function.
        let b = unsafe { LLVMGetInstructionParent(inst) };
        let mut live = live_out[&b].clone();
        for i in instrs(b).into_iter().rev() {
            if i == inst {
                break;
            }
            live.remove(&i);
            if !is_phi(i) {
                live.extend(operands(i).into_iter().filter(|&o| llvm::is_ssa_value(o)));
            }
        }
        live.remove(&inst);
        live
    }

    /// A loop with phis fed along several edges, a value used only in a
    /// later block, one used across the back edge, a switch and a value
    /// defined and used in one block.
    const IR: &str = r#"
define i64 @f(i64 %n, i64 %m, ptr %p) {
entry:
  %a = add i64 %n, 1
  %unused = mul i64 %m, 3
  br label %head
head:
  %i = phi i64 [ 0, %entry ], [ %i2, %latch ], [ %i3, %other ]
  %acc = phi i64 [ %a, %entry ], [ %acc2, %latch ], [ %m, %other ]
  %c = icmp slt i64 %i, %n
  br i1 %c, label %body, label %exit
body:
  %t = load i64, ptr %p
  %t2 = add i64 %t, %acc
  switch i64 %t, label %latch [ i64 1, label %other
                                i64 2, label %exit ]
latch:
  %acc2 = add i64 %t2, %i
  store i64 %acc2, ptr %p
  %i2 = add i64 %i, 1
  br label %head
other:
  %i3 = add i64 %i, 2
  br label %head
exit:
  %r = phi i64 [ %acc, %head ], [ %t2, %body ]
  %r2 = add i64 %r, %a
  ret i64 %r2
}
"#;

    #[test]
    fn agrees_with_the_textbook_algorithm_at_every_instruction() {
        let m = Module::parse_ir(IR).unwrap();
        let f = m.function("f").unwrap();
        let l = Liveness::analyse(f);
        let mut checked = 0;
        for b in blocks(f) {
            for i in instrs(b) {
                let got = l.live_after(i);
                let want = reference_live_after(f, i);
                assert_eq!(
                    got.iter().copied().collect::<HashSet<_>>(),
                    want,
                    "after {}",
                    llvm::name(i)
                );
                // Definition order: arguments first, then instructions.
                let order: Vec<u32> = got.iter().map(|v| l.num[v]).collect();
                assert!(order.windows(2).all(|w| w[0] < w[1]));
                checked += 1;
            }
        }
        assert_eq!(checked, 19);
        // Spot checks: %a is live across the loop (used at the exit), %unused
        // is dead at once, the loop's phis are live in the body.
        let names = |v: Vec<LLVMValueRef>| v.into_iter().map(llvm::name).collect::<Vec<_>>();
        let find = |n: &str| {
            blocks(f)
                .into_iter()
                .flat_map(instrs)
                .find(|&i| llvm::name(i) == n)
                .unwrap()
        };
        assert_eq!(names(l.live_after(find("unused"))), ["n", "m", "p", "a"]);
        // (Not the instruction's own value.)
        assert_eq!(
            names(l.live_after(find("t"))),
            ["n", "m", "p", "a", "i", "acc"]
        );
    }
}
