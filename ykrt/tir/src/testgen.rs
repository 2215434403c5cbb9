//! Random well-typed traces for tests (the `testgen` feature): the
//! generator behind `tests/prop.rs` (optimisation preserves behaviour) and
//! yk-x64's differential tests (native code against the evaluator).
//!
//! Owns [`gen_trace`], [`memory`], [`env`], [`inputs`] and [`env_u64`]. Invariants: a trace from
//! [`gen_trace`] verifies; it is a loop with parameters `(shared: ptr, k:
//! ptr, x: i64, y: i64, b: i1)` (or, one time in eight, ends at a snapshot)
//! that accesses memory only through the shared region ([`SHARED`], its first
//! [`SHARED_DATA`] bytes, and the escape words after them), the constant
//! region ([`CONST`], through `k`) and its own allocas; it calls only `@f1`
//! (pure), `@f2` (read-only) and `@f3` (reads and writes), whose behaviour
//! [`env`] defines. Values are kept small so that guards on equalities pass
//! and fail. The same seed gives the same trace.

use crate::eval::{Env, Memory, RegionKind};
use crate::opt::{forward, OptError};
use crate::*;
use std::cell::Cell;
use std::collections::HashMap;

/// The shared data region's address (parameter 0 of every trace).
pub const SHARED: u64 = 0x1_0000;
/// The shared region's length in bytes.
pub const SHARED_LEN: u64 = 64;
/// Ordinary data lives in the first bytes of the shared region; the last
/// two words are where alloca addresses escape to (nothing else touches
/// them, so the test can compare addresses by identity, see `observe`).
pub const SHARED_DATA: u64 = 48;
/// The constant region's address (parameter 1, promoted).
pub const CONST: u64 = 0x2_0000;
/// The constant region's length in bytes.
pub const CONST_LEN: u64 = 64;

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
                let divides = matches!(op, BinOp::SDiv | BinOp::UDiv | BinOp::SRem | BinOp::URem);
                if divides && self.rng.u8(0..3) == 0 {
                    // By a constant (code generators multiply instead).
                    const DS: [i64; 12] = [
                        2,
                        3,
                        7,
                        10,
                        64,
                        -1,
                        -3,
                        -8,
                        1_000_000_007,
                        2_147_483_647,
                        -2_147_483_648,
                        i64::MIN,
                    ];
                    let d = DS[self.rng.usize(0..DS.len())];
                    let rhs =
                        Const::int(ty.bits() as u8, d as u64 & crate::ir::mask(ty.bits())).into();
                    self.push(Inst::Bin { op, ty, lhs, rhs });
                    return;
                }
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
pub fn gen_trace(seed: u64, mem: &Memory) -> Trace {
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

/// Random memory for a run: the shared region (small data, then the escape
/// words, each holding [`SHARED`]) and the constant region.
pub fn memory(rng: &mut fastrand::Rng) -> Memory {
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

/// The functions the generated traces call (`@f1` pure, `@f2` reads a
/// word, `@f3` swaps a word), as the evaluator runs them.
pub fn env<'a>() -> Env<'a> {
    env_flagged(None)
}

/// [`env`], setting `fallback` when `@f2` or `@f3` gets an address outside
/// every live region (the evaluator then makes up a value, which native code
/// can't match: a differential test skips such a run).
pub fn env_flagged<'a>(fallback: Option<&'a Cell<bool>>) -> Env<'a> {
    let mut e = Env::default();
    e.funcs.insert(
        1,
        Box::new(|_: &mut Memory, a: &[u64]| a[0].wrapping_mul(31).wrapping_add(a[1])),
    );
    e.funcs.insert(
        2,
        Box::new(move |m: &mut Memory, a: &[u64]| {
            m.read(a[0], 8).unwrap_or_else(|_| {
                if let Some(f) = fallback {
                    f.set(true);
                }
                7
            })
        }),
    );
    e.funcs.insert(
        3,
        Box::new(move |m: &mut Memory, a: &[u64]| {
            let old = m.read(a[0], 8);
            if old.is_err() {
                if let Some(f) = fallback {
                    f.set(true);
                }
            }
            let _ = m.write(a[0], 8, a[1]);
            old.unwrap_or(0)
        }),
    );
    e
}

/// The number in environment variable `name` (a test's case count or first
/// seed), or `default` if it is unset or not a number.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Random inputs for a trace from [`gen_trace`]: the shared and constant
/// regions, `x` and `y` (small half the time, so that guards on equalities
/// pass and fail), and `b`.
pub fn inputs(rng: &mut fastrand::Rng) -> [u64; 5] {
    let mut small_or_any = || {
        if rng.bool() {
            rng.u64(0..4)
        } else {
            rng.u64(..)
        }
    };
    let x = small_or_any();
    let y = small_or_any();
    [SHARED, CONST, x, y, rng.u64(0..2)]
}
