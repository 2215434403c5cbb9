//! The forward optimiser: a trace builder that simplifies each instruction
//! as it is appended.
//!
//! Owns [`TraceBuilder`]. [`TraceBuilder::append`] returns the operand that
//! stands for the instruction's result: a constant, an existing value, or
//! the new instruction's value; the caller maps its own values (AOT values)
//! to these operands and never refers to a folded instruction. Invariants
//! of the trace being built: every operand is resolved through the
//! substitutions learnt from guards (after `guard true (icmp eq x, C)`, `x`
//! reads as `C`), commutative operands are ordered (constants right), and
//! everything emitted is well-typed (checked on append).
//!
//! What it does, per instruction:
//!
//! - constant folding with [`crate::sem`] (exact per-width LLVM semantics;
//!   UB cases such as division by zero or an overlong shift are left as
//!   they are, never folded);
//! - algebraic simplification: `x+0`, `x-0`, `x-x`, `x*1`, `x*0`, `x&0`,
//!   `x&-1`, `x&x`, `x|0`, `x|-1`, `x|x`, `x^0`, `x^x`, shifts by 0, `x/1`,
//!   `x%1`, `(x+C1)+C2`, `x-C` as `x+(-C)`, `not` of a compare as the
//!   inverse compare, `x fadd -0.0`, `x fsub 0.0`,
//!   `x fmul 1.0`, `x fdiv 1.0`; cast chains (`trunc(zext x)`, `zext(zext x)`,
//!   `sext(zext x)`, `trunc(trunc x)`, `bitcast(bitcast x)`,
//!   `ptrtoint(inttoptr x)`, `inttoptr(ptrtoint p)`, `fptrunc(fpext x)`,
//!   same-type bitcasts); `icmp` of equal operands; `select` with a constant
//!   condition or equal arms; `ptr_add` chains merged, `ptr_add p, 0`,
//!   `dyn_ptr_add` with a constant index;
//! - CSE: pure instructions (arithmetic, compares, casts, selects, pointer
//!   arithmetic, `const` loads, pure and idempotent calls; read-only calls
//!   while no memory was written in between) are hash-consed;
//! - a heap cache (see [`super`] for the alias model): a load from a place
//!   a previous load or store of the same type wrote or read gives that
//!   value, and one of another type of the same width (an int and a float,
//!   an `i64` and a pointer) that value's bits reinterpreted by a cast; a
//!   store of the value the place already holds disappears; a
//!   store forgets what it may alias, a call with [`Effects::Any`] forgets
//!   everything but non-escaped allocas (pure and read-only calls keep it);
//!   volatile accesses are never cached or removed;
//! - `const` loads from a constant address (an absolute address, or a
//!   symbol the [`MemReader`] places) are read at optimisation time;
//! - guards: one whose condition folds to what it expects disappears (this
//!   covers a guard implied by an earlier one on the same condition: after
//!   a guard, its condition reads as the expected constant); one that folds
//!   to the opposite is [`OptError::GuardAlwaysFails`]; a guard's snapshot
//!   that holds its condition holds what its failure makes known as
//!   constants instead (the condition, and a value the condition finds
//!   equal to a constant); a guard on `not x` is a guard on `x` expecting
//!   the opposite.

use super::{may_alias, Loc, OptError, PtrMap};
use crate::ir::*;
use crate::sem;
use crate::snapshot::{SnapId, Snapshot, Snapshots};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

/// Reads memory that the interpreter declares constant for the trace.
pub trait MemReader {
    /// The `size` (1..=8) bytes at `addr`, little-endian, if readable.
    fn read(&self, addr: u64, size: u64) -> Option<u64>;
    /// The run-time address of a symbol, if known.
    fn sym_addr(&self, sym: Sym) -> Option<u64>;
}

/// A [`MemReader`] that knows no memory.
pub struct NoMem;

impl MemReader for NoMem {
    fn read(&self, _: u64, _: u64) -> Option<u64> {
        None
    }
    fn sym_addr(&self, _: Sym) -> Option<u64> {
        None
    }
}

/// A known fact about memory: `ty` at `loc` holds `val`.
#[derive(Clone, Debug)]
struct HeapEntry {
    loc: Loc,
    ty: Ty,
    val: Operand,
}

/// Counts of what the optimiser did, for logs and statistics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Instructions appended (whatever became of them).
    pub appended: usize,
    /// Instructions added to the trace.
    pub emitted: usize,
    /// Instructions that simplification replaced by a constant or an
    /// existing value, or removed (counting the const loads, forwarded
    /// loads, removed stores and removed guards below too).
    pub folded: usize,
    /// Instructions that repeated an earlier one and take its result.
    pub cse: usize,
    /// Loads that take the value the heap cache knew for their place.
    pub loads_forwarded: usize,
    /// Stores of the value their place already held, removed.
    pub stores_removed: usize,
    /// `const` loads read at optimisation time.
    pub const_loads: usize,
    /// Guards whose condition folded to what they expect, removed.
    pub guards_removed: usize,
    /// Guards whose snapshot holds what their failure makes known (their
    /// condition, a value compared with a constant) as constants.
    pub exit_consts: usize,
}

/// Builds a trace, optimising each appended instruction.
pub struct TraceBuilder<'m> {
    t: Trace,
    mem: &'m dyn MemReader,
    subst: ValMap<Operand>,
    cse: HashMap<Inst, ValId>,
    /// Read-only calls, keyed with the memory epoch they ran in.
    cse_ro: HashMap<(Inst, u64), ValId>,
    epoch: u64,
    ptrs: PtrMap,
    escaped: HashSet<ValId>,
    /// Non-escaped allocas holding addresses of other allocas, which escape
    /// with their holder or when a pointer is read from it.
    contains: HashMap<ValId, Vec<ValId>>,
    heap: Vec<HeapEntry>,
    stats: Stats,
}

enum Step {
    Done(Option<Operand>),
    Again(Inst),
    Emit(Inst),
}

fn int(ty: Ty, v: u64) -> Operand {
    match ty {
        Ty::Int(w) => Operand::Const(Const::int(w, v)),
        _ => unreachable!("int() on {ty}"),
    }
}

impl<'m> TraceBuilder<'m> {
    /// A builder for a trace with parameters `params`; `mem` reads constant
    /// memory.
    pub fn new(params: Vec<Ty>, mem: &'m dyn MemReader) -> TraceBuilder<'m> {
        TraceBuilder {
            t: Trace {
                params,
                body: Vec::new(),
                end: End::Jump(Vec::new()),
                snaps: Snapshots::default(),
            },
            mem,
            subst: ValMap::default(),
            cse: HashMap::default(),
            cse_ro: HashMap::default(),
            epoch: 0,
            ptrs: PtrMap::default(),
            escaped: HashSet::default(),
            contains: HashMap::default(),
            heap: Vec::new(),
            stats: Stats::default(),
        }
    }

    /// Parameter `i`.
    pub fn param(&self, i: usize) -> Operand {
        assert!(i < self.t.params.len());
        Operand::Val(ValId(i as u32))
    }

    /// States that pointer `p` is of alias class `class` (see
    /// [`super::PtrMap::set_class`] and the alias model in [`super`]): the
    /// heap cache keeps what it knows of places of other classes across
    /// stores through `p` and the pointers derived from it, and the other
    /// way round. `p` is resolved first (a value known to be a constant
    /// gets no class). What the cache knows of places from that base gets
    /// the class too.
    pub fn set_class(&mut self, p: Operand, class: u32) {
        let p = self.resolve(p);
        if let Some(base) = self.ptrs.set_class(p, class) {
            for e in self.heap.iter_mut().filter(|e| e.loc.base == base) {
                e.loc.class = Some(class);
            }
        }
    }

    /// The trace built so far.
    pub fn trace(&self) -> &Trace {
        &self.t
    }

    /// What the optimiser has done so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// What `op` stands for now (after the substitutions guards taught).
    pub fn resolve(&self, mut op: Operand) -> Operand {
        while let Operand::Val(v) = op {
            match self.subst.get(v) {
                Some(o) => op = o,
                None => break,
            }
        }
        op
    }

    /// Interns a snapshot (its operands resolved now) for guards to use.
    pub fn snapshot(&mut self, mut s: Snapshot) -> SnapId {
        s.map_operands(|o| self.resolve(o));
        self.t.snaps.intern(s)
    }

    /// Appends `inst` (operands are resolved first) and returns what stands
    /// for its result (None for instructions without one, or that vanished).
    pub fn append(&mut self, mut inst: Inst) -> Result<Option<Operand>, OptError> {
        self.stats.appended += 1;
        inst.map_operands(|o| self.resolve(o));
        let at = ValId(self.t.nvals() as u32);
        self.t.check_inst(at, &inst).map_err(OptError::Type)?;
        let void = inst.result_ty() == Ty::Void;
        let mut inst = inst;
        loop {
            match self.simplify(inst)? {
                Step::Again(i) => inst = i,
                Step::Done(r) => {
                    self.stats.folded += 1;
                    return Ok(if void { None } else { r });
                }
                Step::Emit(i) => return Ok(self.emit(i)),
            }
        }
    }

    /// Ends a loop trace: `args` become the next iteration's parameters.
    pub fn finish_loop(mut self, args: Vec<Operand>) -> Result<Trace, OptError> {
        let args: Vec<Operand> = args.into_iter().map(|o| self.resolve(o)).collect();
        self.t.end = End::Jump(args);
        self.finish()
    }

    /// Ends a trace that leaves at snapshot `snap`.
    pub fn finish_exit(mut self, snap: SnapId) -> Result<Trace, OptError> {
        self.t.end = End::Exit(snap);
        self.finish()
    }

    fn finish(mut self) -> Result<Trace, OptError> {
        self.t.verify().map_err(OptError::Type)?;
        compact_snapshots(&mut self.t);
        Ok(self.t)
    }

    fn ty(&self, o: Operand) -> Ty {
        match o {
            Operand::Const(c) => c.ty(),
            Operand::Val(v) => self.t.val_ty(v),
        }
    }

    fn def(&self, o: Operand) -> Option<&Inst> {
        o.as_val().and_then(|v| self.t.inst(v))
    }

    fn escape(&mut self, o: Operand) {
        if let Some(r) = self.ptrs.root(o) {
            self.escape_root(r);
        }
    }

    /// Alloca `r` escapes, and so does every alloca whose address is stored
    /// in it.
    fn escape_root(&mut self, r: ValId) {
        if self.escaped.insert(r) {
            for a in self.contains.remove(&r).unwrap_or_default() {
                self.escape_root(a);
            }
        }
    }

    fn emit(&mut self, inst: Inst) -> Option<Operand> {
        let v = ValId(self.t.nvals() as u32);
        let pure_key = match &inst {
            Inst::Bin { .. }
            | Inst::ICmp { .. }
            | Inst::FCmp { .. }
            | Inst::Cast { .. }
            | Inst::Select { .. }
            | Inst::PtrAdd { .. }
            | Inst::DynPtrAdd { .. } => true,
            Inst::Load { flags, .. } => flags.constant && !flags.volatile,
            Inst::Call {
                effects,
                idempotent,
                ret,
                ..
            } => (*effects == Effects::Pure || *idempotent) && *ret != Ty::Void,
            _ => false,
        };
        if pure_key {
            if let Some(old) = self.cse.get(&inst) {
                self.stats.cse += 1;
                return Some(self.resolve(Operand::Val(*old)));
            }
            self.cse.insert(inst.clone(), v);
        }
        if let Inst::Call {
            effects: Effects::ReadOnly,
            idempotent: false,
            ret,
            ..
        } = &inst
        {
            if *ret != Ty::Void {
                let key = (inst.clone(), self.epoch);
                if let Some(old) = self.cse_ro.get(&key) {
                    self.stats.cse += 1;
                    return Some(self.resolve(Operand::Val(*old)));
                }
                self.cse_ro.insert(key, v);
            }
        }
        // A pointer read from an alloca may be any alloca stored in it: they
        // escape (a forwarded load never gets here).
        if let Inst::Load {
            ty: Ty::Ptr, ptr, ..
        } = &inst
        {
            if let Some(b) = self.ptrs.root(*ptr) {
                for a in self.contains.remove(&b).unwrap_or_default() {
                    self.escape_root(a);
                }
            }
        }
        // Effects on the heap cache and escapes.
        match &inst {
            Inst::Load { ty, ptr, flags } if !flags.volatile && !flags.constant => {
                let loc = self.ptrs.loc(*ptr);
                self.heap.push(HeapEntry {
                    loc,
                    ty: *ty,
                    val: Operand::Val(v),
                });
            }
            Inst::Store { val, ptr, volatile } => {
                let loc = self.ptrs.loc(*ptr);
                // An alloca's address stored into a non-escaped alloca only
                // escapes with it (a frame's stack pointer in its frame).
                match (self.ptrs.root(*val), loc.root) {
                    (Some(a), Some(b)) if !self.escaped.contains(&b) => {
                        self.contains.entry(b).or_default().push(a)
                    }
                    _ => self.escape(*val),
                }
                let ty = self.ty(*val);
                let esc = &self.escaped;
                self.heap.retain(|e| {
                    !may_alias(e.loc, e.ty.size(), loc, ty.size(), |a| esc.contains(&a))
                });
                if !volatile {
                    self.heap.push(HeapEntry { loc, ty, val: *val });
                }
                self.epoch += 1;
            }
            Inst::Call {
                callee,
                args,
                effects,
                ..
            } => {
                self.escape(*callee);
                for a in args {
                    self.escape(*a);
                }
                if *effects == Effects::Any {
                    let esc = &self.escaped;
                    self.heap
                        .retain(|e| e.loc.root.is_some_and(|r| !esc.contains(&r)));
                    self.epoch += 1;
                }
            }
            Inst::Cast { val, .. } => self.escape(*val),
            Inst::Select { t, f, .. } => {
                self.escape(*t);
                self.escape(*f);
            }
            Inst::ICmp { lhs, rhs, .. } => {
                self.escape(*lhs);
                self.escape(*rhs);
            }
            // After the guard its condition is known, and so is a value
            // it compares for equality with a constant.
            Inst::Guard {
                cond: Operand::Val(c),
                expect,
                ..
            } => {
                for (v, k) in self.known_if(*c, *expect) {
                    self.subst.insert(v, k);
                }
            }
            _ => {}
        }
        self.ptrs.note(v, &inst);
        let ty = inst.result_ty();
        self.t.body.push(inst);
        self.stats.emitted += 1;
        (ty != Ty::Void).then_some(Operand::Val(v))
    }

    fn simplify(&mut self, inst: Inst) -> Result<Step, OptError> {
        use Step::*;
        Ok(match inst {
            Inst::Bin { op, ty, lhs, rhs } => self.bin(op, ty, lhs, rhs),
            Inst::ICmp { pred, lhs, rhs } => {
                let (pred, lhs, rhs) = if (lhs.as_const().is_some() && rhs.as_val().is_some())
                    || matches!((lhs, rhs), (Operand::Val(a), Operand::Val(b)) if a > b)
                {
                    (pred.swap(), rhs, lhs)
                } else {
                    (pred, lhs, rhs)
                };
                let ty = self.ty(lhs);
                if let (Some(a), Some(b)) = (
                    lhs.as_const().and_then(|c| c.bits()),
                    rhs.as_const().and_then(|c| c.bits()),
                ) {
                    return Ok(Done(Some(
                        Const::bool(sem::icmp(pred, ty.bits(), a, b)).into(),
                    )));
                }
                if lhs == rhs {
                    let t = matches!(
                        pred,
                        IPred::Eq | IPred::Uge | IPred::Ule | IPred::Sge | IPred::Sle
                    );
                    return Ok(Done(Some(Const::bool(t).into())));
                }
                // A C boolean compared with 0 or 1: the i1 it came from.
                if let (
                    Some(Inst::Cast {
                        op: CastOp::ZExt,
                        val: x,
                        ..
                    }),
                    Some(k),
                ) = (self.def(lhs), rhs.as_int())
                {
                    let x = *x;
                    if self.ty(x) == Ty::I1 && k <= 1 && matches!(pred, IPred::Eq | IPred::Ne) {
                        if (pred == IPred::Ne) == (k == 0) {
                            return Ok(Done(Some(x)));
                        }
                        return Ok(Again(Inst::Bin {
                            op: BinOp::Xor,
                            ty: Ty::I1,
                            lhs: x,
                            rhs: Const::bool(true).into(),
                        }));
                    }
                }
                if ty == Ty::I1 {
                    match (pred, rhs.as_int()) {
                        (IPred::Eq, Some(1)) | (IPred::Ne, Some(0)) => return Ok(Done(Some(lhs))),
                        _ => {}
                    }
                }
                Emit(Inst::ICmp { pred, lhs, rhs })
            }
            Inst::FCmp { pred, lhs, rhs } => {
                let ty = self.ty(lhs);
                if let (Some(a), Some(b)) = (
                    lhs.as_const().and_then(|c| c.bits()),
                    rhs.as_const().and_then(|c| c.bits()),
                ) {
                    return Ok(Done(Some(Const::bool(sem::fcmp(pred, ty, a, b)).into())));
                }
                Emit(Inst::FCmp { pred, lhs, rhs })
            }
            Inst::Cast { op, val, to } => self.cast(op, val, to),
            Inst::Select { cond, ty, t, f } => match cond.as_int() {
                Some(1) => Done(Some(t)),
                Some(_) => Done(Some(f)),
                None if t == f => Done(Some(t)),
                // `select c, true, false` is `c`; `select c, false, true`
                // is `not c` (C's `x ? 1 : 0` on a flag).
                None if ty == Ty::I1 && t.as_int() == Some(1) && f.as_int() == Some(0) => {
                    Done(Some(cond))
                }
                None if ty == Ty::I1 && t.as_int() == Some(0) && f.as_int() == Some(1) => {
                    Again(Inst::Bin {
                        op: BinOp::Xor,
                        ty: Ty::I1,
                        lhs: cond,
                        rhs: Const::bool(true).into(),
                    })
                }
                None => Emit(Inst::Select { cond, ty, t, f }),
            },
            Inst::PtrAdd { ptr, off } => {
                if off == 0 {
                    return Ok(Done(Some(ptr)));
                }
                if let Operand::Const(Const::Ptr(a)) = ptr {
                    return Ok(Done(Some(Const::Ptr(a.wrapping_add(off as u64)).into())));
                }
                if let Some(Inst::PtrAdd { ptr: p2, off: o2 }) = self.def(ptr) {
                    return Ok(Again(Inst::PtrAdd {
                        ptr: *p2,
                        off: o2.wrapping_add(off),
                    }));
                }
                Emit(Inst::PtrAdd { ptr, off })
            }
            Inst::DynPtrAdd {
                ptr,
                idx,
                scale,
                off,
            } => {
                if let Some(i) = idx.as_int() {
                    let i = sext(i, self.ty(idx).bits());
                    return Ok(Again(Inst::PtrAdd {
                        ptr,
                        off: i.wrapping_mul(scale).wrapping_add(off),
                    }));
                }
                if scale == 0 {
                    return Ok(Again(Inst::PtrAdd { ptr, off }));
                }
                if let Some(Inst::PtrAdd { ptr: p2, off: o2 }) = self.def(ptr) {
                    return Ok(Again(Inst::DynPtrAdd {
                        ptr: *p2,
                        idx,
                        scale,
                        off: o2.wrapping_add(off),
                    }));
                }
                // An i64 index `y + C`: `C * scale` joins the offset (exact
                // in wrapping 64-bit arithmetic; a narrower index is
                // sign-extended first, so its wrapping add must stay).
                if self.ty(idx) == Ty::I64 {
                    if let Some(&Inst::Bin {
                        op: BinOp::Add,
                        lhs,
                        rhs: Operand::Const(Const::Int { bits, .. }),
                        ..
                    }) = self.def(idx)
                    {
                        return Ok(Again(Inst::DynPtrAdd {
                            ptr,
                            idx: lhs,
                            scale,
                            off: off.wrapping_add((bits as i64).wrapping_mul(scale)),
                        }));
                    }
                }
                // A constant offset stays outside: `ptr_add (dyn_ptr_add p,
                // i, s, 0), off`, so that accesses through the same index
                // share one base and the heap cache tells them apart by
                // offset.
                if off != 0 {
                    let inner = self.emit(Inst::DynPtrAdd {
                        ptr,
                        idx,
                        scale,
                        off: 0,
                    });
                    if let Some(inner) = inner {
                        return Ok(Again(Inst::PtrAdd { ptr: inner, off }));
                    }
                }
                Emit(Inst::DynPtrAdd {
                    ptr,
                    idx,
                    scale,
                    off,
                })
            }
            Inst::Load { ty, ptr, flags } => {
                if flags.volatile {
                    return Ok(Emit(Inst::Load { ty, ptr, flags }));
                }
                let loc = self.ptrs.loc(ptr);
                if flags.constant {
                    let addr = match loc.base {
                        Operand::Const(Const::Ptr(0)) => Some(loc.off as u64),
                        Operand::Const(Const::Sym(s)) => {
                            self.mem.sym_addr(s).map(|a| a.wrapping_add(loc.off as u64))
                        }
                        _ => None,
                    };
                    if let Some(bits) = addr.and_then(|a| self.mem.read(a, ty.size())) {
                        self.stats.const_loads += 1;
                        return Ok(Done(Const::from_bits(ty, bits).map(Operand::Const)));
                    }
                    return Ok(Emit(Inst::Load { ty, ptr, flags }));
                }
                if let Some(e) = self.heap.iter().rev().find(|e| e.loc == loc && e.ty == ty) {
                    self.stats.loads_forwarded += 1;
                    return Ok(Done(Some(self.resolve(e.val))));
                }
                // The place holds a value of another type of the same
                // width (an interpreter's union written as one member and
                // read as another: Lua's `Value` stored as a float, copied
                // as an integer): its bits, reinterpreted. (Every entry at
                // one place holds the same bits: a store forgets the
                // entries it may overlap.)
                let seen = self.heap.iter().rev().find_map(|e| {
                    (e.loc == loc)
                        .then(|| reinterpret(e.ty, ty).map(|op| (op, e.val)))
                        .flatten()
                });
                if let Some((op, val)) = seen {
                    self.stats.loads_forwarded += 1;
                    return Ok(Again(Inst::Cast {
                        op,
                        val: self.resolve(val),
                        to: ty,
                    }));
                }
                Emit(Inst::Load { ty, ptr, flags })
            }
            Inst::Store { val, ptr, volatile } => {
                if !volatile {
                    let loc = self.ptrs.loc(ptr);
                    let ty = self.ty(val);
                    if self
                        .heap
                        .iter()
                        .rev()
                        .any(|e| e.loc == loc && e.ty == ty && self.resolve(e.val) == val)
                    {
                        self.stats.stores_removed += 1;
                        return Ok(Done(None));
                    }
                }
                Emit(Inst::Store { val, ptr, volatile })
            }
            Inst::Guard { cond, expect, snap } => match cond.as_int() {
                Some(b) if (b == 1) == expect => {
                    self.stats.guards_removed += 1;
                    Done(None)
                }
                Some(_) => return Err(OptError::GuardAlwaysFails { snap }),
                None => {
                    let snap = self.at_failure(cond, expect, snap);
                    match self.is_not(cond) {
                        // A guard on `not x` is one on `x`, expecting the
                        // opposite (the snapshot learnt `not x` above).
                        Some(x) => Again(Inst::Guard {
                            cond: x,
                            expect: !expect,
                            snap,
                        }),
                        None => Emit(Inst::Guard { cond, expect, snap }),
                    }
                }
            },
            i @ (Inst::Alloca { .. } | Inst::Call { .. }) => Emit(i),
        })
    }

    /// `x`, if `o` is `xor i1 x, true`.
    fn is_not(&self, o: Operand) -> Option<Operand> {
        match self.def(o) {
            Some(&Inst::Bin {
                op: BinOp::Xor,
                ty: Ty::I1,
                lhs,
                rhs,
            }) if rhs.as_int() == Some(1) => Some(lhs),
            _ => None,
        }
    }

    /// The snapshot of a guard on `cond` (expecting `expect`) with what its
    /// failure tells, if it holds `cond`: `cond` is `!expect` there, and so,
    /// when `cond` compares a value for equality with a constant and the
    /// failure means they are equal, is that value the constant. The exit
    /// then stores neither. (A guard's condition is live at its branch, so
    /// most snapshots hold it, and such a snapshot is the guard's own; one
    /// without it, such as the snapshot the guards of a `switch` share, is
    /// left shared.) The original snapshot stays in the table, for other
    /// guards; unused ones are dropped at the end.
    fn at_failure(&mut self, cond: Operand, expect: bool, snap: SnapId) -> SnapId {
        let Operand::Val(c) = cond else {
            return snap;
        };
        let Some(s) = self.t.snaps.get(snap) else {
            return snap;
        };
        if !s.operands().any(|o| o == cond) {
            return snap;
        }
        let known = self.known_if(c, !expect);
        let hit = |o: Operand| known.iter().find(|(v, _)| o == Operand::Val(*v));
        let mut s = s.clone();
        s.map_operands(|o| hit(o).map_or(o, |&(_, k)| k));
        self.stats.exit_consts += 1;
        self.t.snaps.intern(s)
    }

    /// What condition `c` being `holds` makes known: `c` itself, and the
    /// value `c` compares for equality with a constant when that makes them
    /// equal (`x == C` true, `x != C` false). A guard's passing side learns
    /// it with `holds` its expectation, its failing side the opposite.
    fn known_if(&self, c: ValId, holds: bool) -> Vec<(ValId, Operand)> {
        let mut known = vec![(c, Operand::Const(Const::bool(holds)))];
        if let Some(Inst::ICmp {
            pred: pred @ (IPred::Eq | IPred::Ne),
            lhs: Operand::Val(x),
            rhs: rhs @ Operand::Const(_),
        }) = self.t.inst(c)
        {
            if (*pred == IPred::Eq) == holds {
                known.push((*x, *rhs));
            }
        }
        known
    }

    fn bin(&mut self, op: BinOp, ty: Ty, lhs: Operand, rhs: Operand) -> Step {
        use Step::*;
        let (lhs, rhs) = if op.is_commutative()
            && ((lhs.as_const().is_some() && rhs.as_val().is_some())
                || matches!((lhs, rhs), (Operand::Val(a), Operand::Val(b)) if a > b))
        {
            (rhs, lhs)
        } else {
            (lhs, rhs)
        };
        if let (Some(a), Some(b)) = (
            lhs.as_const().and_then(|c| c.bits()),
            rhs.as_const().and_then(|c| c.bits()),
        ) {
            if let Ok(r) = sem::bin(op, ty, a, b) {
                return Done(Const::from_bits(ty, r).map(Operand::Const));
            }
            return Emit(Inst::Bin { op, ty, lhs, rhs });
        }
        if op.is_float() {
            let is = |o: Operand, x: f64| match o.as_const() {
                Some(Const::F64(b)) => b == x.to_bits(),
                Some(Const::F32(b)) => b == (x as f32).to_bits(),
                _ => false,
            };
            return match op {
                BinOp::FAdd if is(rhs, -0.0) => Done(Some(lhs)),
                BinOp::FSub if is(rhs, 0.0) => Done(Some(lhs)),
                BinOp::FMul | BinOp::FDiv if is(rhs, 1.0) => Done(Some(lhs)),
                _ => Emit(Inst::Bin { op, ty, lhs, rhs }),
            };
        }
        let m = mask(ty.bits());
        if let Some(c) = rhs.as_int() {
            match op {
                BinOp::Add
                | BinOp::Sub
                | BinOp::Or
                | BinOp::Xor
                | BinOp::Shl
                | BinOp::LShr
                | BinOp::AShr
                    if c == 0 =>
                {
                    return Done(Some(lhs))
                }
                // `not` of a compare: the inverse compare.
                BinOp::Xor if ty == Ty::I1 && c == 1 => {
                    if let Some(inv) = self.def(lhs).and_then(Inst::inverse_compare) {
                        return Again(inv);
                    }
                }
                BinOp::Mul | BinOp::SDiv | BinOp::UDiv if c == 1 => return Done(Some(lhs)),
                BinOp::Mul | BinOp::And if c == 0 => return Done(Some(int(ty, 0))),
                BinOp::SRem | BinOp::URem if c == 1 => return Done(Some(int(ty, 0))),
                BinOp::And if c == m => return Done(Some(lhs)),
                BinOp::Or if c == m => return Done(Some(int(ty, m))),
                BinOp::Sub => {
                    return Again(Inst::Bin {
                        op: BinOp::Add,
                        ty,
                        lhs,
                        rhs: int(ty, c.wrapping_neg()),
                    })
                }
                BinOp::Add => {
                    if let Some(Inst::Bin {
                        op: BinOp::Add,
                        lhs: x,
                        rhs: Operand::Const(Const::Int { bits: c1, .. }),
                        ..
                    }) = self.def(lhs)
                    {
                        return Again(Inst::Bin {
                            op,
                            ty,
                            lhs: *x,
                            rhs: int(ty, c1.wrapping_add(c)),
                        });
                    }
                }
                _ => {}
            }
        }
        if lhs == rhs {
            match op {
                BinOp::Sub | BinOp::Xor => return Done(Some(int(ty, 0))),
                BinOp::And | BinOp::Or => return Done(Some(lhs)),
                _ => {}
            }
        }
        Emit(Inst::Bin { op, ty, lhs, rhs })
    }

    fn cast(&mut self, op: CastOp, val: Operand, to: Ty) -> Step {
        use Step::*;
        let from = self.ty(val);
        if let Some(bits) = val.as_const().and_then(|c| c.bits()) {
            if let Ok(r) = sem::cast(op, from, to, bits) {
                return Done(Const::from_bits(to, r).map(Operand::Const));
            }
        }
        if op == CastOp::BitCast && from == to {
            return Done(Some(val));
        }
        if let Some(Inst::Cast {
            op: op2, val: x, ..
        }) = self.def(val)
        {
            let (op2, x) = (*op2, *x);
            let tx = self.ty(x);
            use CastOp::*;
            match (op, op2) {
                (Trunc, ZExt | SExt) => {
                    if tx == to {
                        return Done(Some(x));
                    }
                    if tx.bits() < to.bits() {
                        return Again(Inst::Cast {
                            op: op2,
                            val: x,
                            to,
                        });
                    }
                    return Again(Inst::Cast {
                        op: Trunc,
                        val: x,
                        to,
                    });
                }
                (Trunc, Trunc) | (ZExt, ZExt) | (SExt, SExt) | (SExt, ZExt) => {
                    return Again(Inst::Cast {
                        op: op2,
                        val: x,
                        to,
                    });
                }
                (BitCast, BitCast) => {
                    return Again(Inst::Cast {
                        op: BitCast,
                        val: x,
                        to,
                    })
                }
                (PtrToInt, IntToPtr) if tx == to && to == Ty::I64 => return Done(Some(x)),
                (IntToPtr, PtrToInt) if from == Ty::I64 => return Done(Some(x)),
                (FPTrunc, FPExt) => return Done(Some(x)),
                _ => {}
            }
        }
        Emit(Inst::Cast { op, val, to })
    }
}

/// Drops the snapshots no guard or exit refers to and renumbers the rest in
/// order of first use.
fn compact_snapshots(t: &mut Trace) {
    let mut map: HashMap<SnapId, SnapId> = HashMap::default();
    let mut snaps = Snapshots::default();
    let mut use_snap = |s: SnapId, snaps: &mut Snapshots| {
        *map.entry(s)
            .or_insert_with(|| snaps.intern(t.snaps.get(s).expect("verified snapshot").clone()))
    };
    let mut body = std::mem::take(&mut t.body);
    for inst in &mut body {
        if let Inst::Guard { snap, .. } = inst {
            *snap = use_snap(*snap, &mut snaps);
        }
    }
    if let End::Exit(s) = &mut t.end {
        *s = use_snap(*s, &mut snaps);
    }
    t.body = body;
    t.snaps = snaps;
}

/// Replays `t` through a [`TraceBuilder`]: what a builder appending `t`'s
/// instructions would have produced.
pub fn run(t: &Trace, mem: &dyn MemReader) -> Result<Trace, OptError> {
    let mut b = TraceBuilder::new(t.params.clone(), mem);
    let mut map: Vec<Option<Operand>> = (0..t.params.len()).map(|i| Some(b.param(i))).collect();
    let m = |map: &Vec<Option<Operand>>, o: Operand| match o {
        Operand::Val(v) => map[v.idx()].expect("a verified trace uses only values with results"),
        c => c,
    };
    let snap = |b: &mut TraceBuilder, map: &Vec<Option<Operand>>, s: SnapId| {
        let mut s = t.snaps.get(s).expect("verified snapshot").clone();
        s.map_operands(|o| m(map, o));
        b.snapshot(s)
    };
    for inst in &t.body {
        let mut inst = inst.clone();
        inst.map_operands(|o| m(&map, o));
        if let Inst::Guard { snap: s, .. } = &mut inst {
            *s = snap(&mut b, &map, *s);
        }
        map.push(b.append(inst)?);
    }
    match &t.end {
        End::Jump(args) => {
            let args = args.iter().map(|o| m(&map, *o)).collect();
            b.finish_loop(args)
        }
        End::Exit(s) => {
            let s = snap(&mut b, &map, *s);
            b.finish_exit(s)
        }
    }
}

/// The cast that reads the bits of a `from` as a `to` of the same width,
/// if there is one: `bitcast` between a 64-bit int and `f64` or a 32-bit
/// int and `f32`, `ptrtoint`/`inttoptr` between a pointer and a 64-bit int.
fn reinterpret(from: Ty, to: Ty) -> Option<CastOp> {
    match (from, to) {
        (Ty::Int(64), Ty::F64) | (Ty::F64, Ty::Int(64)) => Some(CastOp::BitCast),
        (Ty::Int(32), Ty::F32) | (Ty::F32, Ty::Int(32)) => Some(CastOp::BitCast),
        (Ty::Ptr, Ty::Int(64)) => Some(CastOp::PtrToInt),
        (Ty::Int(64), Ty::Ptr) => Some(CastOp::IntToPtr),
        _ => None,
    }
}
