//! An evaluator of traces over a simulated memory, for tests: it runs a
//! trace the way compiled code would and reports how it ended.
//!
//! Owns [`Memory`] (regions of bytes at fixed addresses), [`Env`] (the
//! native functions a trace may call) and [`run`]. Invariants: regions never
//! overlap; an access must lie within one live region (anything else is
//! [`EvalError::BadAccess`]); each `alloca` that runs gets a fresh region,
//! freed when its iteration ends (the `jump`); function `@fN` lives at
//! [`FUNC_BASE`]` + 16 * N`. Operators follow [`crate::sem`]: what LLVM
//! leaves undefined stops evaluation with [`EvalError::Ub`].
//!
//! [`Memory`] is also a [`MemReader`] for the regions marked constant, so a
//! test can optimise a trace against the memory it then runs it on.

use crate::ir::*;
use crate::opt::MemReader;
use crate::sem::{self, Ub};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Where functions live: `@fN` is at `FUNC_BASE + 16 * N`.
pub const FUNC_BASE: u64 = 0xf000_0000_0000;
const ALLOCA_BASE: u64 = 0x7f00_0000_0000;

/// What a [`Region`] of memory is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionKind {
    /// Ordinary memory, seen by the interpreter.
    Data,
    /// Memory the interpreter declares constant (readable by the optimiser).
    Const,
    /// A trace's stack slot.
    Alloca,
}

/// A contiguous block of simulated memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    /// What the region is for.
    pub kind: RegionKind,
    /// Its bytes, from its base address on.
    pub data: Vec<u8>,
}

/// A simulated address space.
#[derive(Clone, Debug, Default)]
pub struct Memory {
    regions: BTreeMap<u64, Region>,
    globals: HashMap<u32, u64>,
    next_alloca: u64,
    /// Every alloca region ever made, `(base, size)`, in order.
    alloca_log: Vec<(u64, u64)>,
}

/// Why evaluation stopped without an outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EvalError {
    /// LLVM leaves this undefined.
    Ub(Ub),
    /// An access outside every live region.
    BadAccess {
        /// The first byte accessed.
        addr: u64,
        /// The number of bytes accessed.
        size: u64,
    },
    /// A call to an address that is no function of the [`Env`].
    UnknownCallee(u64),
    /// A symbol without an address.
    UnknownSymbol(Sym),
    /// The inputs don't match the parameters.
    Inputs {
        /// The number of parameters.
        expected: usize,
        /// The number of inputs.
        found: usize,
    },
}

/// A native function: gets the memory and the arguments' bits, returns
/// the result's bits (ignored for void).
pub type NativeFn<'a> = Box<dyn FnMut(&mut Memory, &[u64]) -> u64 + 'a>;

/// The functions a trace may call, by function index.
#[derive(Default)]
pub struct Env<'a> {
    /// The native function `@fN` is, keyed by `N`.
    pub funcs: HashMap<u32, NativeFn<'a>>,
}

/// One frame of a snapshot, evaluated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameVals {
    /// Index of the AOT function.
    pub func: u32,
    /// Where in it execution resumes.
    pub resume: u32,
    /// `(AOT value id, its bits)`, sorted by id.
    pub live: Vec<(u32, u64)>,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// A guard failed, or the trace reached its `exit`, in iteration `iter`
    /// (from 0): the snapshot's frames with their values.
    Exit {
        /// The iteration it ended in, from 0.
        iter: usize,
        /// The snapshot's frames, outermost first, with their values.
        frames: Vec<FrameVals>,
    },
    /// `max_iters` iterations ran; the parameters of the next one.
    Exhausted {
        /// The bits of the next iteration's parameters.
        params: Vec<u64>,
    },
}

/// What a run that ended normally produced.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// How it ended.
    pub ending: Ending,
    /// The memory at the end (allocas of the last iteration still live if it
    /// ended at an exit).
    pub mem: Memory,
}

impl Memory {
    /// An empty address space.
    pub fn new() -> Memory {
        Memory {
            next_alloca: ALLOCA_BASE,
            ..Memory::default()
        }
    }

    /// Adds a region at `base`. Panics if it overlaps another (a test bug).
    pub fn add_region(&mut self, base: u64, kind: RegionKind, data: Vec<u8>) {
        let end = base + data.len() as u64;
        assert!(
            self.regions
                .range(..end)
                .next_back()
                .is_none_or(|(b, r)| b + r.data.len() as u64 <= base),
            "overlapping regions"
        );
        self.regions.insert(base, Region { kind, data });
    }

    /// Places global `idx` at `base` with contents `data`.
    pub fn add_global(&mut self, idx: u32, base: u64, kind: RegionKind, data: Vec<u8>) {
        self.add_region(base, kind, data);
        self.globals.insert(idx, base);
    }

    /// Gives global `idx` the address `addr` (its memory is a region added
    /// separately, or none if the trace never accesses it).
    pub fn place_global(&mut self, idx: u32, addr: u64) {
        self.globals.insert(idx, addr);
    }

    /// Every alloca region ever made (freed ones too), `(base, size)`, in
    /// the order they were made.
    pub fn allocas_made(&self) -> &[(u64, u64)] {
        &self.alloca_log
    }

    /// The live regions with their base addresses, by address.
    pub fn regions(&self) -> impl Iterator<Item = (u64, &Region)> {
        self.regions.iter().map(|(b, r)| (*b, r))
    }

    fn find(&self, addr: u64, size: u64) -> Option<(u64, &Region)> {
        let (b, r) = self.regions.range(..=addr).next_back()?;
        (addr.checked_add(size)? <= b + r.data.len() as u64).then_some((*b, r))
    }

    /// Reads `size` bytes at `addr`, little-endian.
    pub fn read(&self, addr: u64, size: u64) -> Result<u64, EvalError> {
        let (b, r) = self
            .find(addr, size)
            .ok_or(EvalError::BadAccess { addr, size })?;
        let o = (addr - b) as usize;
        let mut buf = [0u8; 8];
        buf[..size as usize].copy_from_slice(&r.data[o..o + size as usize]);
        Ok(u64::from_le_bytes(buf))
    }

    /// Writes the low `size` bytes of `bits` at `addr`.
    pub fn write(&mut self, addr: u64, size: u64, bits: u64) -> Result<(), EvalError> {
        let b = self
            .find(addr, size)
            .ok_or(EvalError::BadAccess { addr, size })?
            .0;
        let r = self.regions.get_mut(&b).expect("found above");
        let o = (addr - b) as usize;
        r.data[o..o + size as usize].copy_from_slice(&bits.to_le_bytes()[..size as usize]);
        Ok(())
    }

    fn alloca(&mut self, size: u32, align: u32) -> u64 {
        // Each slot on a 64 KiB page of its own, at an odd offset: a pointer
        // whose bytes a trace damages (a narrow store over it) then points
        // outside every slot rather than into another one.
        let base = (self.next_alloca.next_multiple_of(0x1_0000) + 0x1040)
            .next_multiple_of(u64::from(align));
        self.next_alloca = base + u64::from(size);
        self.add_region(base, RegionKind::Alloca, vec![0; size as usize]);
        self.alloca_log.push((base, u64::from(size)));
        base
    }

    fn sym(&self, s: Sym) -> Result<u64, EvalError> {
        match s {
            Sym::Func(i) => Ok(FUNC_BASE + 16 * u64::from(i)),
            Sym::Global(i) => self
                .globals
                .get(&i)
                .copied()
                .ok_or(EvalError::UnknownSymbol(s)),
        }
    }

    /// What the interpreter can see once a trace has ended with live values
    /// `roots`: every non-alloca region, and the alloca regions reachable
    /// from `roots` or from the contents of anything reachable (any 8 bytes
    /// holding an address inside an alloca). Sorted by address.
    pub fn observable(&self, roots: &[u64]) -> Vec<(u64, &Region)> {
        let mut seen: HashSet<u64> = HashSet::new();
        let mut work: Vec<u64> = Vec::new();
        let alloca_of = |a: u64| {
            self.find(a, 0)
                .filter(|(_, r)| r.kind == RegionKind::Alloca)
                .map(|(b, _)| b)
        };
        let visit = |a: u64, seen: &mut HashSet<u64>, work: &mut Vec<u64>| {
            if let Some(b) = alloca_of(a) {
                if seen.insert(b) {
                    work.push(b);
                }
            }
        };
        for (b, r) in &self.regions {
            if r.kind != RegionKind::Alloca {
                work.push(*b);
            }
        }
        for a in roots {
            visit(*a, &mut seen, &mut work);
        }
        while let Some(b) = work.pop() {
            let d = &self.regions[&b].data;
            for w in d.windows(8) {
                visit(
                    u64::from_le_bytes(w.try_into().expect("8 bytes")),
                    &mut seen,
                    &mut work,
                );
            }
        }
        self.regions
            .iter()
            .filter(|(b, r)| r.kind != RegionKind::Alloca || seen.contains(b))
            .map(|(b, r)| (*b, r))
            .collect()
    }
}

impl MemReader for Memory {
    fn read(&self, addr: u64, size: u64) -> Option<u64> {
        let (_, r) = self.find(addr, size)?;
        (r.kind == RegionKind::Const)
            .then(|| Memory::read(self, addr, size).ok())
            .flatten()
    }

    fn sym_addr(&self, sym: Sym) -> Option<u64> {
        self.sym(sym).ok()
    }
}

/// Runs `t` from `inputs` (its parameters' bits) for at most `max_iters`
/// iterations.
pub fn run(
    t: &Trace,
    inputs: &[u64],
    mut mem: Memory,
    env: &mut Env,
    max_iters: usize,
) -> Result<Outcome, EvalError> {
    if inputs.len() != t.params.len() {
        return Err(EvalError::Inputs {
            expected: t.params.len(),
            found: inputs.len(),
        });
    }
    if mem.next_alloca == 0 {
        mem.next_alloca = ALLOCA_BASE;
    }
    let mut params: Vec<u64> = inputs
        .iter()
        .zip(&t.params)
        .map(|(v, ty)| v & mask(ty.bits()))
        .collect();
    for iter in 0..max_iters {
        let mut vals: Vec<u64> = params.clone();
        vals.resize(t.nvals(), 0);
        let mut allocas = Vec::new();
        let n = t.params.len();
        for (i, inst) in t.body.iter().enumerate() {
            let get = |o: Operand, mem: &Memory| -> Result<u64, EvalError> {
                match o {
                    Operand::Val(v) => Ok(vals[v.idx()]),
                    Operand::Const(Const::Sym(s)) => mem.sym(s),
                    Operand::Const(c) => Ok(c.bits().expect("non-symbol constant")),
                }
            };
            let ty_of = |o: Operand| match o {
                Operand::Val(v) => t.val_ty(v),
                Operand::Const(c) => c.ty(),
            };
            let r: u64 = match inst {
                Inst::Load { ty, ptr, .. } => {
                    mem.read(get(*ptr, &mem)?, ty.size())? & mask(ty.bits())
                }
                Inst::Store { val, ptr, .. } => {
                    let (v, p) = (get(*val, &mem)?, get(*ptr, &mem)?);
                    mem.write(p, ty_of(*val).size(), v)?;
                    0
                }
                Inst::PtrAdd { ptr, off } => get(*ptr, &mem)?.wrapping_add(*off as u64),
                Inst::DynPtrAdd {
                    ptr,
                    idx,
                    scale,
                    off,
                } => {
                    let i = sext(get(*idx, &mem)?, ty_of(*idx).bits());
                    get(*ptr, &mem)?.wrapping_add(i.wrapping_mul(*scale).wrapping_add(*off) as u64)
                }
                Inst::Bin { op, ty, lhs, rhs } => {
                    sem::bin(*op, *ty, get(*lhs, &mem)?, get(*rhs, &mem)?).map_err(EvalError::Ub)?
                }
                Inst::ICmp { pred, lhs, rhs } => u64::from(sem::icmp(
                    *pred,
                    ty_of(*lhs).bits(),
                    get(*lhs, &mem)?,
                    get(*rhs, &mem)?,
                )),
                Inst::FCmp { pred, lhs, rhs } => u64::from(sem::fcmp(
                    *pred,
                    ty_of(*lhs),
                    get(*lhs, &mem)?,
                    get(*rhs, &mem)?,
                )),
                Inst::Cast { op, val, to } => {
                    sem::cast(*op, ty_of(*val), *to, get(*val, &mem)?).map_err(EvalError::Ub)?
                }
                Inst::Select {
                    cond, t: a, f: b, ..
                } => {
                    if get(*cond, &mem)? != 0 {
                        get(*a, &mem)?
                    } else {
                        get(*b, &mem)?
                    }
                }
                Inst::Alloca { size, align } => {
                    let a = mem.alloca(*size, *align);
                    allocas.push(a);
                    a
                }
                Inst::Call {
                    callee, args, ret, ..
                } => {
                    let c = get(*callee, &mem)?;
                    let idx = c
                        .checked_sub(FUNC_BASE)
                        .filter(|o| o % 16 == 0)
                        .map(|o| (o / 16) as u32);
                    let f = idx
                        .and_then(|i| env.funcs.get_mut(&i))
                        .ok_or(EvalError::UnknownCallee(c))?;
                    let a: Vec<u64> = args
                        .iter()
                        .map(|a| get(*a, &mem))
                        .collect::<Result<_, _>>()?;
                    f(&mut mem, &a) & mask(ret.bits())
                }
                Inst::Guard { cond, expect, snap } => {
                    if (get(*cond, &mem)? != 0) != *expect {
                        let frames = snapshot_vals(t, *snap, &vals, &mem)?;
                        return Ok(Outcome {
                            ending: Ending::Exit { iter, frames },
                            mem,
                        });
                    }
                    0
                }
            };
            vals[n + i] = r;
        }
        match &t.end {
            End::Exit(s) => {
                let frames = snapshot_vals(t, *s, &vals, &mem)?;
                return Ok(Outcome {
                    ending: Ending::Exit { iter, frames },
                    mem,
                });
            }
            End::Jump(args) => {
                params = args
                    .iter()
                    .map(|a| match a {
                        Operand::Val(v) => Ok(vals[v.idx()]),
                        Operand::Const(Const::Sym(s)) => mem.sym(*s),
                        Operand::Const(c) => Ok(c.bits().expect("non-symbol constant")),
                    })
                    .collect::<Result<_, _>>()?;
                for a in allocas {
                    mem.regions.remove(&a);
                }
            }
        }
    }
    Ok(Outcome {
        ending: Ending::Exhausted { params },
        mem,
    })
}

fn snapshot_vals(
    t: &Trace,
    s: crate::snapshot::SnapId,
    vals: &[u64],
    mem: &Memory,
) -> Result<Vec<FrameVals>, EvalError> {
    let snap = t.snaps.get(s).expect("verified snapshot");
    snap.frames
        .iter()
        .map(|f| {
            let live = f
                .live
                .iter()
                .map(|(id, o)| {
                    let v = match o {
                        Operand::Val(v) => vals[v.idx()],
                        Operand::Const(Const::Sym(s)) => mem.sym(*s)?,
                        Operand::Const(c) => c.bits().expect("non-symbol constant"),
                    };
                    Ok((*id, v))
                })
                .collect::<Result<_, _>>()?;
            Ok(FrameVals {
                func: f.func,
                resume: f.resume,
                live,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::parse;

    #[test]
    fn runs_a_loop_and_a_guard() {
        let t = parse(
            "loop(%0: ptr, %1: i64)
  %2 = load i64 %0
  %3 = add i64 %2, %1
  store i64 %3, %0
  %4 = icmp ult i64 %3, 10
  guard true %4, s0
  jump %0, %1
s0: [f0 r1 a0=%3 a1=i64 7]
",
        )
        .unwrap();
        let mut mem = Memory::new();
        mem.add_region(0x1000, RegionKind::Data, vec![0; 8]);
        let o = run(&t, &[0x1000, 3], mem.clone(), &mut Env::default(), 10).unwrap();
        assert_eq!(
            o.ending,
            Ending::Exit {
                iter: 3,
                frames: vec![FrameVals {
                    func: 0,
                    resume: 1,
                    live: vec![(0, 12), (1, 7)]
                }]
            }
        );
        assert_eq!(o.mem.read(0x1000, 8), Ok(12));
        let o = run(&t, &[0x1000, 3], mem.clone(), &mut Env::default(), 2).unwrap();
        assert_eq!(
            o.ending,
            Ending::Exhausted {
                params: vec![0x1000, 3]
            }
        );
        assert_eq!(
            run(&t, &[0x2000, 3], mem, &mut Env::default(), 2).unwrap_err(),
            EvalError::BadAccess {
                addr: 0x2000,
                size: 8
            }
        );
    }

    #[test]
    fn calls_and_allocas() {
        let t = parse(
            "loop(%0: i64)
  %1 = alloca 8, 8
  store i64 %0, %1
  %2 = call i64 @f2(ptr %1) readonly
  jump %2
",
        )
        .unwrap();
        let mut env = Env::default();
        env.funcs.insert(
            2,
            Box::new(|m: &mut Memory, a: &[u64]| m.read(a[0], 8).unwrap() * 2),
        );
        let o = run(&t, &[1], Memory::new(), &mut env, 4).unwrap();
        assert_eq!(o.ending, Ending::Exhausted { params: vec![16] });
        assert_eq!(
            o.mem.regions().count(),
            0,
            "allocas die with their iteration"
        );
    }
}
