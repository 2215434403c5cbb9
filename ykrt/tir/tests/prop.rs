//! The property that proves optimisation never changes what a trace
//! computes: random well-typed traces, run by the evaluator on random
//! inputs before and after `optimise`, end the same way (same exit in the
//! same iteration with the same live values, or the same loop-carried
//! values after the last iteration) with the same observable memory.
//!
//! The generator builds loops over a shared data region (through a pointer
//! parameter), a constant region (through a promoted pointer, so `load
//! const` folds), up to three allocas per iteration (which sometimes escape
//! into the shared region or into calls), with arithmetic of several
//! widths, compares, casts, selects, guards with snapshots, and calls of
//! each effect class. Values are kept small so that guards on equalities
//! pass and fail. Seeded: a failure prints its seed and both traces.

use std::collections::HashMap;
use tir::eval::{self, Ending, Env, Memory, RegionKind};
use tir::opt::{forward, optimise, OptError};
use tir::text::{parse, print};
use tir::*;

const SHARED: u64 = 0x1_0000;
const SHARED_LEN: u64 = 64;
/// Ordinary data lives in the first bytes of the shared region; the last
/// two words are where alloca addresses escape to (nothing else touches
/// them, so the test can compare addresses by identity, see `observe`).
const SHARED_DATA: u64 = 48;
const CONST: u64 = 0x2_0000;
const CONST_LEN: u64 = 64;

struct Gen {
    rng: fastrand::Rng,
    t: Trace,
    /// Values by type (only ones usable as operands).
    by_ty: HashMap<Ty, Vec<Operand>>,
    /// Pointers that may be dereferenced, with their size in bytes.
    ptrs: Vec<(Operand, u64)>,
    /// Allocas of this iteration.
    allocas: Vec<Operand>,
    /// Allocas that hold pointers to other allocas (frames holding a stack
    /// pointer). Only whole words are ever stored into them, so the
    /// pointers they hold are never damaged into bits that depend on where
    /// the evaluator put an alloca.
    holders: Vec<(Operand, u64)>,
    /// The memory the trace will run on (to tell which guards fold).
    mem: Memory,
}

const INT_TYS: [Ty; 4] = [Ty::I8, Ty::I16, Ty::I32, Ty::I64];

impl Gen {
    fn push(&mut self, inst: Inst) -> Operand {
        let v = ValId(self.t.nvals() as u32);
        self.t
            .check_inst(v, &inst)
            .unwrap_or_else(|e| panic!("generator made an ill-typed {inst:?}: {e}"));
        let ty = inst.result_ty();
        self.t.body.push(inst);
        let o = Operand::Val(v);
        if ty != Ty::Void {
            self.by_ty.entry(ty).or_default().push(o);
        }
        o
    }

    fn small_const(&mut self, ty: Ty) -> Operand {
        let r = &mut self.rng;
        match ty {
            Ty::Int(w) => {
                let v = match r.u8(0..6) {
                    0 => 0,
                    1 => 1,
                    2 => u64::MAX,
                    3 => r.u64(0..4),
                    4 => 1u64 << r.u32(0..u32::from(w)),
                    _ => r.u64(..),
                };
                Const::int(w, v).into()
            }
            Ty::F64 => Const::f64([0.0, -0.0, 1.0, 2.5, -3.0][r.usize(0..5)]).into(),
            _ => unreachable!(),
        }
    }

    fn operand(&mut self, ty: Ty) -> Operand {
        let have = self.by_ty.get(&ty).map_or(0, |v| v.len());
        if have > 0 && self.rng.u8(0..4) != 0 {
            self.by_ty[&ty][self.rng.usize(0..have)]
        } else {
            self.small_const(ty)
        }
    }

    /// A pointer and an offset at which `size` bytes fit.
    fn place(&mut self, size: u64) -> (Operand, i64) {
        loop {
            let (p, len) = self.ptrs[self.rng.usize(0..self.ptrs.len())];
            if len >= size {
                let slots = (len - size) / size + 1;
                return (p, (self.rng.u64(0..slots) * size) as i64);
            }
        }
    }

    fn addr(&mut self, size: u64) -> Operand {
        let (p, off) = self.place(size);
        match self.rng.u8(0..3) {
            0 => p,
            1 => self.push(Inst::PtrAdd { ptr: p, off }),
            _ => {
                // An index computed at run time that is always `off / size`.
                let zero = self.operand(Ty::I64);
                let z = self.push(Inst::Bin {
                    op: BinOp::And,
                    ty: Ty::I64,
                    lhs: zero,
                    rhs: Const::int(64, 0).into(),
                });
                let idx = self.push(Inst::Bin {
                    op: BinOp::Add,
                    ty: Ty::I64,
                    lhs: z,
                    rhs: Const::int(64, off as u64 / size).into(),
                });
                // Not operands for later instructions: they fold to constants.
                let ints = self.by_ty.get_mut(&Ty::I64).expect("pushed above");
                ints.truncate(ints.len() - 2);
                self.push(Inst::DynPtrAdd {
                    ptr: p,
                    idx,
                    scale: size as i64,
                    off: 0,
                })
            }
        }
    }

    fn snapshot(&mut self) -> SnapId {
        self.snapshot_with(&[])
    }

    /// A random snapshot whose innermost frame also holds `extra`.
    fn snapshot_with(&mut self, extra: &[Operand]) -> SnapId {
        let mut frames = Vec::new();
        for f in 0..self.rng.u32(1..3) {
            let mut live = Vec::new();
            for a in 0..self.rng.u32(0..4) {
                let ty = [Ty::I8, Ty::I64, Ty::I1, Ty::Ptr, Ty::F64][self.rng.usize(0..5)];
                let o = if ty == Ty::Ptr {
                    let (p, _) = self.ptrs[self.rng.usize(0..self.ptrs.len())];
                    p
                } else {
                    self.operand(ty)
                };
                live.push((a * 3, o));
            }
            frames.push(Frame::new(f, self.rng.u32(0..3), live));
        }
        if let Some(top) = frames.last_mut() {
            let live = extra.iter().enumerate().map(|(i, o)| (100 + i as u32, *o));
            *top = Frame::new(
                top.func,
                top.resume,
                top.live.iter().copied().chain(live).collect(),
            );
        }
        self.t.snaps.intern(Snapshot { frames })
    }

    fn guard(&mut self) {
        // Guards on values (a guard on a constant folds away or ends the
        // recording, which the property checks too, but rarely).
        let ty = INT_TYS[self.rng.usize(0..4)];
        let vals = self.by_ty.get(&ty).cloned().unwrap_or_default();
        let bools = self.by_ty.get(&Ty::I1).cloned().unwrap_or_default();
        let mut known = Vec::new();
        let cond = if vals.is_empty() || (self.rng.bool() && !bools.is_empty()) {
            if bools.is_empty() || self.rng.u8(0..10) == 0 {
                self.small_const(Ty::I1)
            } else {
                bools[self.rng.usize(0..bools.len())]
            }
        } else {
            let x = vals[self.rng.usize(0..vals.len())];
            let c = self.small_const(ty);
            let pred = IPred::ALL[self.rng.usize(0..IPred::ALL.len())];
            known.push(x);
            self.push(Inst::ICmp {
                pred,
                lhs: x,
                rhs: c,
            })
        };
        // Often the snapshot holds the condition and the value it compares,
        // as a guard's at its branch does (what a failure makes known).
        if self.rng.bool() {
            known.push(cond);
        } else {
            known.clear();
        }
        let snap = self.snapshot_with(&known);
        let expect = self.rng.bool();
        self.push(Inst::Guard { cond, expect, snap });
        // Most guards that would fold to "always fails" get the other
        // expectation (and fold away), so most traces reach the comparison.
        let mut tmp = self.t.clone();
        tmp.end = End::Jump((0..5).map(|i| Operand::Val(ValId(i))).collect());
        if let Err(OptError::GuardAlwaysFails { .. }) = forward::run(&tmp, &self.mem) {
            if self.rng.u8(0..10) != 0 {
                if let Some(Inst::Guard { expect, .. }) = self.t.body.last_mut() {
                    *expect = !*expect;
                }
            }
        }
    }

    fn step(&mut self) {
        let r = self.rng.u8(0..100);
        let ty = INT_TYS[self.rng.usize(0..4)];
        match r {
            0..=14 => {
                let ty = [Ty::I8, Ty::I16, Ty::I32, Ty::I64, Ty::I64, Ty::Ptr, Ty::F64]
                    [self.rng.usize(0..7)];
                let ptr = self.addr(ty.size());
                self.push(Inst::Load {
                    ty,
                    ptr,
                    flags: LoadFlags::default(),
                });
            }
            15..=29 => {
                let ty =
                    [Ty::I8, Ty::I16, Ty::I32, Ty::I64, Ty::I64, Ty::F64][self.rng.usize(0..6)];
                let ptr = self.addr(ty.size());
                let val = self.operand(ty);
                let volatile = self.rng.u8(0..20) == 0;
                self.push(Inst::Store { val, ptr, volatile });
            }
            30..=32 if !self.allocas.is_empty() && !self.holders.is_empty() => {
                // A frame holding a pointer to another alloca (a stack
                // pointer in its frame): stored, overwritten at a run-time
                // index (so it can't be forwarded), read back and used.
                let a = self.allocas[self.rng.usize(0..self.allocas.len())];
                let (h, hsize) = self.holders[self.rng.usize(0..self.holders.len())];
                self.push(Inst::Store {
                    val: a,
                    ptr: h,
                    volatile: false,
                });
                let y = self.operand(Ty::I64);
                let idx = self.push(Inst::Bin {
                    op: BinOp::URem,
                    ty: Ty::I64,
                    lhs: y,
                    rhs: Const::int(64, hsize / 8).into(),
                });
                let d = self.push(Inst::DynPtrAdd {
                    ptr: h,
                    idx,
                    scale: 8,
                    off: 0,
                });
                let w = self.operand(Ty::I64);
                self.push(Inst::Store {
                    val: w,
                    ptr: d,
                    volatile: false,
                });
                let q = self.push(Inst::Load {
                    ty: Ty::Ptr,
                    ptr: h,
                    flags: LoadFlags::default(),
                });
                self.ptrs.push((q, 8));
            }
            30..=34 => {
                // A pointer into an alloca escapes into shared memory.
                if let Some(&a) = self.allocas.last() {
                    let off = (SHARED_DATA + self.rng.u64(0..2) * 8) as i64;
                    let ptr = self.push(Inst::PtrAdd {
                        ptr: Operand::Val(ValId(0)),
                        off,
                    });
                    self.push(Inst::Store {
                        val: a,
                        ptr,
                        volatile: false,
                    });
                }
            }
            92..=94 => {
                // A pointer read back from an escape word (the shared region
                // itself at first, else an alloca that escaped there): an
                // unrooted pointer that may alias an escaped alloca. Half
                // the time as a sequence that needs the escape analysis:
                // escape, hide it from forwarding, write through the
                // pointer read back, read the alloca.
                let off = (SHARED_DATA + self.rng.u64(0..2) * 8) as i64;
                let slot = self.push(Inst::PtrAdd {
                    ptr: Operand::Val(ValId(0)),
                    off,
                });
                let seq = self.allocas.last().copied().filter(|_| self.rng.bool());
                if let Some(a) = seq {
                    let v = self.operand(Ty::I64);
                    self.push(Inst::Store {
                        val: v,
                        ptr: a,
                        volatile: false,
                    });
                    self.push(Inst::Store {
                        val: a,
                        ptr: slot,
                        volatile: false,
                    });
                    let hide = self.place(8);
                    let hp = self.push(Inst::PtrAdd {
                        ptr: hide.0,
                        off: hide.1,
                    });
                    let w = self.operand(Ty::I64);
                    self.push(Inst::Call {
                        callee: Const::Sym(Sym::Func(3)).into(),
                        args: vec![hp, w],
                        ret: Ty::I64,
                        effects: Effects::Any,
                        idempotent: false,
                    });
                }
                let q = self.push(Inst::Load {
                    ty: Ty::Ptr,
                    ptr: slot,
                    flags: LoadFlags::default(),
                });
                self.ptrs.push((q, 8));
                if let Some(a) = seq {
                    let w = self.operand(Ty::I64);
                    self.push(Inst::Store {
                        val: w,
                        ptr: q,
                        volatile: false,
                    });
                    self.push(Inst::Load {
                        ty: Ty::I64,
                        ptr: a,
                        flags: LoadFlags::default(),
                    });
                }
            }
            35..=59 => {
                let ops = [
                    BinOp::Add,
                    BinOp::Sub,
                    BinOp::Mul,
                    BinOp::And,
                    BinOp::Or,
                    BinOp::Xor,
                    BinOp::Shl,
                    BinOp::LShr,
                    BinOp::AShr,
                    BinOp::SDiv,
                    BinOp::UDiv,
                    BinOp::SRem,
                    BinOp::URem,
                ];
                let op = ops[self.rng.usize(0..ops.len())];
                let lhs = self.operand(ty);
                let rhs = if self.rng.u8(0..5) == 0 {
                    lhs
                } else {
                    self.operand(ty)
                };
                // Keep shift amounts in range and divisors non-zero most of
                // the time (UB before optimisation makes a run useless).
                let fix = match op {
                    BinOp::Shl | BinOp::LShr | BinOp::AShr => {
                        Some((BinOp::And, u64::from(ty.bits() - 1)))
                    }
                    BinOp::SDiv | BinOp::UDiv | BinOp::SRem | BinOp::URem => Some((BinOp::Or, 1)),
                    _ => None,
                };
                let rhs = match fix {
                    Some((fop, k)) if self.rng.u8(0..10) != 0 => self.push(Inst::Bin {
                        op: fop,
                        ty,
                        lhs: rhs,
                        rhs: Const::int(ty.bits() as u8, k).into(),
                    }),
                    _ => rhs,
                };
                self.push(Inst::Bin { op, ty, lhs, rhs });
            }
            60..=62 => {
                let op = [BinOp::FAdd, BinOp::FSub, BinOp::FMul, BinOp::FDiv][self.rng.usize(0..4)];
                let (lhs, rhs) = (self.operand(Ty::F64), self.operand(Ty::F64));
                self.push(Inst::Bin {
                    op,
                    ty: Ty::F64,
                    lhs,
                    rhs,
                });
            }
            63..=64 => {
                let pred = FPred::ALL[self.rng.usize(0..FPred::ALL.len())];
                let (lhs, rhs) = (self.operand(Ty::F64), self.operand(Ty::F64));
                self.push(Inst::FCmp { pred, lhs, rhs });
            }
            65..=72 => {
                let lhs = self.operand(ty);
                let rhs = if self.rng.u8(0..5) == 0 {
                    lhs
                } else {
                    self.operand(ty)
                };
                let pred = IPred::ALL[self.rng.usize(0..IPred::ALL.len())];
                self.push(Inst::ICmp { pred, lhs, rhs });
            }
            73..=80 => {
                let to = INT_TYS[self.rng.usize(0..4)];
                let val = self.operand(ty);
                let op = match ty.bits().cmp(&to.bits()) {
                    std::cmp::Ordering::Less => [CastOp::ZExt, CastOp::SExt][self.rng.usize(0..2)],
                    std::cmp::Ordering::Greater => CastOp::Trunc,
                    std::cmp::Ordering::Equal => {
                        let f = self.push(Inst::Cast {
                            op: CastOp::SIToFP,
                            val,
                            to: Ty::F64,
                        });
                        self.by_ty.entry(Ty::F64).or_default().push(f);
                        return;
                    }
                };
                self.push(Inst::Cast { op, val, to });
            }
            81..=84 => {
                let cond = self.operand(Ty::I1);
                let (t, f) = (self.operand(ty), self.operand(ty));
                self.push(Inst::Select { cond, ty, t, f });
            }
            85..=86 => {
                // Bytecode-like constant loads through the promoted pointer.
                let off = (self.rng.u64(0..CONST_LEN / 8) * 8) as i64;
                let k = Operand::Val(ValId(1));
                let ptr = self.push(Inst::PtrAdd { ptr: k, off });
                self.push(Inst::Load {
                    ty: Ty::I64,
                    ptr,
                    flags: LoadFlags {
                        volatile: false,
                        constant: true,
                    },
                });
            }
            87..=91 => {
                let (callee, args, effects, ret) = match self.rng.u8(0..3) {
                    0 => (
                        1,
                        vec![self.operand(Ty::I64), self.operand(Ty::I64)],
                        Effects::Pure,
                        Ty::I64,
                    ),
                    1 => {
                        let (p, off) = self.place(8);
                        let p = self.push(Inst::PtrAdd { ptr: p, off });
                        (2, vec![p], Effects::ReadOnly, Ty::I64)
                    }
                    _ => {
                        let (p, off) = self.place(8);
                        let p = self.push(Inst::PtrAdd { ptr: p, off });
                        (3, vec![p, self.operand(Ty::I64)], Effects::Any, Ty::I64)
                    }
                };
                let idempotent = effects == Effects::Pure && self.rng.bool();
                self.push(Inst::Call {
                    callee: Const::Sym(Sym::Func(callee)).into(),
                    args,
                    ret,
                    effects,
                    idempotent,
                });
            }
            _ => self.guard(),
        }
    }
}

/// A random loop: parameters `(shared: ptr, k: ptr, x: i64, y: i64, b: i1)`.
fn gen_trace(seed: u64, mem: &Memory) -> Trace {
    let mut g = Gen {
        rng: fastrand::Rng::with_seed(seed),
        t: Trace::new_loop(vec![Ty::Ptr, Ty::Ptr, Ty::I64, Ty::I64, Ty::I1]),
        by_ty: HashMap::new(),
        ptrs: vec![(Operand::Val(ValId(0)), SHARED_DATA)],
        allocas: Vec::new(),
        holders: Vec::new(),
        mem: mem.clone(),
    };
    g.by_ty.insert(
        Ty::I64,
        vec![Operand::Val(ValId(2)), Operand::Val(ValId(3))],
    );
    g.by_ty.insert(Ty::I1, vec![Operand::Val(ValId(4))]);
    // Promote k: the constant region.
    let c = g.push(Inst::ICmp {
        pred: IPred::Eq,
        lhs: Operand::Val(ValId(1)),
        rhs: Const::Ptr(CONST).into(),
    });
    let s = g.snapshot();
    g.push(Inst::Guard {
        cond: c,
        expect: true,
        snap: s,
    });
    g.by_ty.get_mut(&Ty::I1).expect("pushed above").pop();
    for _ in 0..g.rng.usize(0..3) {
        let h = g.push(Inst::Alloca { size: 16, align: 8 });
        g.holders.push((h, 16));
    }
    for _ in 0..g.rng.usize(0..4) {
        let size = [8, 16, 32][g.rng.usize(0..3)];
        let a = g.push(Inst::Alloca { size, align: 8 });
        g.ptrs.push((a, u64::from(size)));
        g.allocas.push(a);
    }
    for _ in 0..g.rng.usize(5..60) {
        g.step();
    }
    let x = g.operand(Ty::I64);
    let y = g.operand(Ty::I64);
    let b = g.operand(Ty::I1);
    // Some traces end at a snapshot instead (a side trace ending at a
    // location).
    g.t.end = if g.rng.u8(0..8) == 0 {
        End::Exit(g.snapshot())
    } else {
        End::Jump(vec![
            Operand::Val(ValId(0)),
            Operand::Val(ValId(1)),
            x,
            y,
            b,
        ])
    };
    g.t.verify().expect("generated trace is well-typed");
    g.t
}

fn memory(rng: &mut fastrand::Rng) -> Memory {
    let mut m = Memory::new();
    let small = |rng: &mut fastrand::Rng, n: u64| {
        (0..n)
            .map(|_| if rng.bool() { rng.u8(0..3) } else { rng.u8(..) })
            .collect()
    };
    let mut shared: Vec<u8> = small(rng, SHARED_DATA);
    for _ in 0..(SHARED_LEN - SHARED_DATA) / 8 {
        shared.extend_from_slice(&SHARED.to_le_bytes());
    }
    m.add_region(SHARED, RegionKind::Data, shared);
    m.add_region(CONST, RegionKind::Const, small(rng, CONST_LEN));
    m
}

fn env<'a>() -> Env<'a> {
    let mut e = Env::default();
    e.funcs.insert(
        1,
        Box::new(|_: &mut Memory, a: &[u64]| a[0].wrapping_mul(31).wrapping_add(a[1])),
    );
    e.funcs.insert(
        2,
        Box::new(|m: &mut Memory, a: &[u64]| m.read(a[0], 8).unwrap_or(7)),
    );
    e.funcs.insert(
        3,
        Box::new(|m: &mut Memory, a: &[u64]| {
            let old = m.read(a[0], 8).unwrap_or(0);
            let _ = m.write(a[0], 8, a[1]);
            old
        }),
    );
    e
}

/// The observable part of an outcome: how it ended and what memory the
/// interpreter can see. Alloca addresses differ between the two runs (the
/// optimiser removes unused allocas, which shifts the others), so every
/// address inside an alloca (live values, the escape words of the shared
/// region) is replaced by `(rank, offset)`, rank being the alloca's place
/// among the allocas so referred to, in the order they were made.
fn observe(o: &eval::Outcome) -> (Ending, Vec<(u64, Vec<u8>)>) {
    let made = o.mem.allocas_made();
    let region = |v: u64| made.iter().position(|(b, s)| v >= *b && v < b + s);
    let shared = o
        .mem
        .regions()
        .find(|(b, _)| *b == SHARED)
        .map(|(_, r)| r.data.clone())
        .expect("shared region");
    let escape_words: Vec<u64> = (SHARED_DATA..SHARED_LEN)
        .step_by(8)
        .map(|o| u64::from_le_bytes(shared[o as usize..o as usize + 8].try_into().unwrap()))
        .collect();
    let mut ending = o.ending.clone();
    let mut words: Vec<u64> = escape_words.clone();
    match &ending {
        Ending::Exit { frames, .. } => {
            words.extend(frames.iter().flat_map(|f| f.live.iter().map(|(_, v)| *v)))
        }
        Ending::Exhausted { params } => words.extend(params.iter().copied()),
    }
    let obs = o.mem.observable(&words);
    let mut refd: Vec<usize> = words.iter().filter_map(|w| region(*w)).collect();
    refd.extend(
        obs.iter()
            .filter(|(_, r)| r.kind == RegionKind::Alloca)
            .filter_map(|(b, _)| region(*b)),
    );
    refd.sort();
    refd.dedup();
    let canon = |v: u64| match region(v) {
        Some(i) => {
            0xa110_c000_0000_0000
                | ((refd.iter().position(|r| *r == i).expect("referenced") as u64) << 32)
                | (v - made[i].0)
        }
        None => v,
    };
    match &mut ending {
        Ending::Exit { frames, .. } => frames
            .iter_mut()
            .for_each(|f| f.live.iter_mut().for_each(|(_, v)| *v = canon(*v))),
        Ending::Exhausted { params } => params.iter_mut().for_each(|v| *v = canon(*v)),
    }
    let mut mem = vec![(SHARED, shared[..SHARED_DATA as usize].to_vec())];
    for w in escape_words {
        mem.push((SHARED + SHARED_DATA, canon(w).to_le_bytes().to_vec()));
    }
    // Const memory, and allocas the interpreter can reach, in rank order,
    // with the alloca addresses they hold (aligned words) canonicalised.
    for (b, r) in obs {
        match r.kind {
            RegionKind::Const => mem.push((b, r.data.clone())),
            RegionKind::Alloca => {
                let mut d = Vec::new();
                for c in r.data.chunks(8) {
                    if c.len() == 8 {
                        d.extend_from_slice(
                            &canon(u64::from_le_bytes(c.try_into().unwrap())).to_le_bytes(),
                        );
                    } else {
                        d.extend_from_slice(c);
                    }
                }
                mem.push((canon(b), d));
            }
            RegionKind::Data => {}
        }
    }
    mem.sort();
    (ending, mem)
}

#[derive(Default, Debug)]
struct Figures {
    traces: usize,
    runs: usize,
    skipped_ub: usize,
    exits: usize,
    exhausted: usize,
    always_fail: usize,
    insts_before: usize,
    insts_after: usize,
    guards_before: usize,
    guards_after: usize,
}

fn guards(t: &Trace) -> usize {
    t.body
        .iter()
        .filter(|i| matches!(i, Inst::Guard { .. }))
        .count()
}

fn check_seed(seed: u64, f: &mut Figures) {
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x9e37_79b9_7f4a_7c15);
    let mem0 = memory(&mut rng);
    let t = gen_trace(seed, &mem0);
    // The printer and parser agree on every generated trace.
    let text = print(&t);
    assert_eq!(
        parse(&text).as_ref(),
        Ok(&t),
        "seed {seed}: round trip\n{text}"
    );
    f.traces += 1;
    let opt = match optimise(&t, &mem0) {
        Ok(o) => Some(o),
        Err(OptError::GuardAlwaysFails { .. }) => None,
        Err(e) => panic!("seed {seed}: {e}\n{text}"),
    };
    if let Some(o) = &opt {
        let otext = print(o);
        assert_eq!(
            parse(&otext).as_ref(),
            Ok(o),
            "seed {seed}: optimised round trip\n{otext}"
        );
        f.insts_before += t.body.len();
        f.insts_after += o.body.len();
        f.guards_before += guards(&t);
        f.guards_after += guards(o);
    } else {
        f.always_fail += 1;
    }
    for _ in 0..4 {
        let x = if rng.bool() {
            rng.u64(0..4)
        } else {
            rng.u64(..)
        };
        let y = if rng.bool() {
            rng.u64(0..4)
        } else {
            rng.u64(..)
        };
        let inputs = [SHARED, CONST, x, y, rng.u64(0..2)];
        let before = eval::run(&t, &inputs, mem0.clone(), &mut env(), 4);
        let Ok(before) = before else {
            // UB (or an access the generator didn't foresee) before
            // optimisation: anything after it is allowed.
            f.skipped_ub += 1;
            continue;
        };
        f.runs += 1;
        match &before.ending {
            Ending::Exit { .. } => f.exits += 1,
            Ending::Exhausted { .. } => f.exhausted += 1,
        }
        let Some(o) = &opt else {
            // The optimiser proved a guard always fails: the unoptimised
            // trace must leave in its first iteration.
            assert!(
                matches!(before.ending, Ending::Exit { iter: 0, .. }),
                "seed {seed}: optimiser said a guard always fails, but the trace ran {:?}\n{text}",
                before.ending
            );
            continue;
        };
        let after = eval::run(o, &inputs, mem0.clone(), &mut env(), 4).unwrap_or_else(|e| {
            panic!(
                "seed {seed}: optimised trace fails with {e:?} on {inputs:?}\n{text}\n---\n{}",
                print(o)
            )
        });
        assert_eq!(
            observe(&before),
            observe(&after),
            "seed {seed}, inputs {inputs:x?}\n--- before\n{text}--- after\n{}",
            print(o)
        );
    }
}

#[test]
fn optimisation_preserves_behaviour() {
    let n: u64 = std::env::var("TIR_PROP_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let base: u64 = std::env::var("TIR_PROP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut f = Figures::default();
    for seed in base..base + n {
        check_seed(seed, &mut f);
    }
    eprintln!("{f:#?}");
    // The generator must exercise both endings and the optimiser must do
    // something, or the property is vacuous.
    assert!(f.exits > f.runs / 10 && f.exhausted > f.runs / 10, "{f:?}");
    assert!(f.runs > f.traces * 2, "{f:?}");
    assert!(f.insts_after * 10 < f.insts_before * 9, "{f:?}");
}
