//! The backward pass, run once on a finished trace: dead-store and
//! dead-code elimination in one backward walk, then renumbering.
//!
//! Owns [`run`]. Invariants of its output: every instruction left either
//! has a side effect (store, guard, call with [`Effects::Any`], volatile
//! load) or has a result that something left uses (an instruction, a kept
//! guard's snapshot, the jump's arguments or the exit's snapshot); values
//! are renumbered densely in the original order; only snapshots still
//! referred to remain, numbered in order of first use.
//!
//! Dead stores. Walking backwards, the pass keeps the places that are
//! certainly overwritten before anything can observe them; a store into such
//! a place is removed. What observes memory: a load that may alias (see
//! [`super`]) and is kept (its result used by something kept: an unused
//! load goes in the same walk, and observes nothing), a kept call that may
//! read ([`Effects::ReadOnly`], [`Effects::Any`]),
//! and every exit: a failing guard or the final `exit` lets the interpreter
//! see all memory except allocas that have not escaped and that the exit's
//! snapshot does not point into; the final `jump` ends the iteration, after
//! which this iteration's allocas are dead, so it observes all memory but
//! non-escaped allocas. Escapes are counted over the whole trace here
//! (flow-insensitively), which is conservative.

use super::{covers, may_alias, Loc, PtrMap};
use crate::ir::*;
use crate::snapshot::SnapId;
use rustc_hash::FxHashSet as HashSet;

/// A place known to be overwritten later with nothing observing it before.
#[derive(Clone, Debug)]
enum Killed {
    Range(Loc, u64),
    /// All of a non-escaped alloca but the byte ranges `reads` (offsets
    /// from the alloca) that a later load reads.
    Alloca(ValId, Vec<(i64, u64)>),
}

impl Killed {
    fn root(&self) -> Option<ValId> {
        match self {
            Killed::Range(l, _) => l.root,
            Killed::Alloca(a, _) => Some(*a),
        }
    }
}

/// Removes dead stores and dead instructions from `t`.
pub fn run(t: &Trace) -> Trace {
    run_mapped(t).0
}

/// [`run`], also returning where each value of `t` went (`None`: removed),
/// so that a caller can carry data kept beside the trace (e.g. debug
/// locations) over to the result.
pub fn run_mapped(t: &Trace) -> (Trace, Vec<Option<ValId>>) {
    let nparams = t.params.len();
    // Pointer locations and (flow-insensitive) escapes.
    let mut ptrs = PtrMap::default();
    let mut escaped = HashSet::default();
    let mut read_ptr_from = HashSet::default();
    let mut allocas = Vec::new();
    for (i, inst) in t.body.iter().enumerate() {
        let v = t.val_of(i);
        let mut esc = |o: Operand, ptrs: &PtrMap| {
            if let Some(r) = ptrs.root(o) {
                escaped.insert(r);
            }
        };
        match inst {
            // Into an alloca: decided below.
            Inst::Store { val, ptr, .. } if ptrs.root(*ptr).is_none() => esc(*val, &ptrs),
            Inst::Load {
                ty: Ty::Ptr, ptr, ..
            } => {
                if let Some(b) = ptrs.root(*ptr) {
                    read_ptr_from.insert(b);
                }
            }
            Inst::Call { callee, args, .. } => {
                esc(*callee, &ptrs);
                for a in args {
                    esc(*a, &ptrs);
                }
            }
            Inst::Cast { val, .. } => esc(*val, &ptrs),
            Inst::Select { t: a, f: b, .. } | Inst::ICmp { lhs: a, rhs: b, .. } => {
                esc(*a, &ptrs);
                esc(*b, &ptrs);
            }
            Inst::Alloca { .. } => allocas.push(v),
            _ => {}
        }
        ptrs.note(v, inst);
    }
    if let End::Jump(args) = &t.end {
        for a in args {
            if let Some(r) = ptrs.root(*a) {
                escaped.insert(r);
            }
        }
    }
    // Allocas whose address is stored into another alloca escape if that
    // one escapes or a pointer is ever read from it.
    loop {
        let before = escaped.len();
        for inst in &t.body {
            if let Inst::Store { val, ptr, .. } = inst {
                if let (Some(a), Some(b)) = (ptrs.root(*val), ptrs.root(*ptr)) {
                    if escaped.contains(&b) || read_ptr_from.contains(&b) {
                        escaped.insert(a);
                    }
                }
            }
        }
        if escaped.len() == before {
            break;
        }
    }
    let is_esc = |a: ValId| escaped.contains(&a);
    let reach = |s: SnapId| -> HashSet<ValId> {
        t.snaps
            .get(s)
            .map(|s| s.operands().filter_map(|o| ptrs.root(o)).collect())
            .unwrap_or_default()
    };
    // Dead stores and dead code.
    let mut dead = vec![false; t.body.len()];
    let mut killed: Vec<Killed> = match &t.end {
        End::Jump(_) => allocas
            .iter()
            .filter(|a| !is_esc(**a))
            .map(|a| Killed::Alloca(*a, Vec::new()))
            .collect(),
        End::Exit(s) => {
            let r = reach(*s);
            allocas
                .iter()
                .filter(|a| !is_esc(**a) && !r.contains(a))
                .map(|a| Killed::Alloca(*a, Vec::new()))
                .collect()
        }
    };
    // Walking backwards, stores are decided dead or not, then each
    // instruction kept or not (kept: a side effect, or a result something
    // kept later uses). A load or a read-only call that is not kept
    // observes nothing: it will be gone (so a store it alone read before
    // an overwrite is dead too, in this one pass).
    let mut live = vec![false; t.nvals()];
    let mark = |o: Operand, live: &mut Vec<bool>| {
        if let Operand::Val(v) = o {
            live[v.idx()] = true;
        }
    };
    match &t.end {
        End::Jump(args) => args.iter().for_each(|a| mark(*a, &mut live)),
        End::Exit(s) => {
            for o in t.snaps.get(*s).expect("verified").operands() {
                mark(o, &mut live);
            }
        }
    }
    for (i, inst) in t.body.iter().enumerate().rev() {
        let v = t.val_of(i);
        if let Inst::Store { val, ptr, volatile } = inst {
            let loc = ptrs.loc(*ptr);
            let size = operand_ty(t, *val).size();
            let is_dead = !*volatile
                && killed.iter().any(|k| match k {
                    Killed::Range(l, s) => covers(*l, *s, loc, size),
                    Killed::Alloca(a, reads) => {
                        loc.root == Some(*a)
                            && (reads.is_empty()
                                || (loc.base == Operand::Val(*a)
                                    && reads.iter().all(|(o, s)| {
                                        !may_alias(loc, size, Loc { off: *o, ..loc }, *s, |_| false)
                                    })))
                    }
                });
            if is_dead {
                dead[i] = true;
            } else if !*volatile {
                killed.push(Killed::Range(loc, size));
            }
        }
        let keep = !dead[i] && (inst.has_side_effects() || live[v.idx()]);
        if !keep {
            dead[i] = true;
            continue;
        }
        for o in inst.operands() {
            mark(o, &mut live);
        }
        match inst {
            Inst::Load { ty, ptr, .. } => {
                let loc = ptrs.loc(*ptr);
                killed.retain_mut(|k| match k {
                    Killed::Range(l, s) => !may_alias(*l, *s, loc, ty.size(), is_esc),
                    // Only non-escaped allocas are here: only loads rooted in
                    // them read them, at a known offset if from the alloca
                    // itself.
                    Killed::Alloca(a, reads) => {
                        if loc.root != Some(*a) {
                            true
                        } else if loc.base == Operand::Val(*a) {
                            reads.push((loc.off, ty.size()));
                            true
                        } else {
                            false
                        }
                    }
                });
            }
            Inst::Call {
                effects: Effects::ReadOnly | Effects::Any,
                ..
            } => {
                killed.retain(|k| k.root().is_some_and(|r| !is_esc(r)));
            }
            Inst::Guard { snap, .. } => {
                for o in t.snaps.get(*snap).expect("verified").operands() {
                    mark(o, &mut live);
                }
                // (The allocas the snapshot reaches are looked up only for
                // an entry of a non-escaped one, the only kind that can
                // survive an exit.)
                let mut r = None;
                killed.retain(|k| {
                    k.root().is_some_and(|a| {
                        !is_esc(a) && !r.get_or_insert_with(|| reach(*snap)).contains(&a)
                    })
                });
            }
            _ => {}
        }
    }
    // Rebuild. Only the snapshots a kept guard or the end uses stay,
    // interned in order of first use, their live values renumbered (each
    // copied once).
    let mut map: Vec<Option<ValId>> = (0..nparams as u32).map(|i| Some(ValId(i))).collect();
    let mut out = Trace {
        params: t.params.clone(),
        body: Vec::new(),
        end: t.end.clone(),
        snaps: crate::snapshot::Snapshots::default(),
    };
    let mut snap_map: Vec<Option<SnapId>> = vec![None; t.snaps.len()];
    let mut keep_snap =
        |s: SnapId, map: &[Option<ValId>], snaps: &mut crate::snapshot::Snapshots| {
            *snap_map[s.0 as usize].get_or_insert_with(|| {
                let mut sn = t.snaps.get(s).expect("verified").clone();
                sn.map_operands(|o| remap(map, o));
                snaps.intern(sn)
            })
        };
    for (i, inst) in t.body.iter().enumerate() {
        if dead[i] {
            map.push(None);
            continue;
        }
        map.push(Some(ValId((nparams + out.body.len()) as u32)));
        let mut inst = inst.clone();
        inst.map_operands(|o| remap(&map, o));
        if let Inst::Guard { snap, .. } = &mut inst {
            *snap = keep_snap(*snap, &map, &mut out.snaps);
        }
        out.body.push(inst);
    }
    match &mut out.end {
        End::Jump(args) => {
            for a in args {
                *a = remap(&map, *a);
            }
        }
        End::Exit(s) => *s = keep_snap(*s, &map, &mut out.snaps),
    }
    (out, map)
}

fn remap(map: &[Option<ValId>], o: Operand) -> Operand {
    match o {
        Operand::Val(v) => {
            Operand::Val(map[v.idx()].expect("a live instruction uses only live values"))
        }
        c => c,
    }
}

fn operand_ty(t: &Trace, o: Operand) -> Ty {
    match o {
        Operand::Const(c) => c.ty(),
        Operand::Val(v) => t.val_ty(v),
    }
}
