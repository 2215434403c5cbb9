//! The layout of a trace function, decided before any code is emitted:
//! which buffer slots hold what, what each exit stores, what the ends
//! store, and the guards' descriptions that follow from that.
//!
//! Owns [`Layout`] and [`layout`]. It emits nothing: both back ends (the
//! LLVM lowering in `lower.rs` and the native tier 0, `yk-x64`, through
//! [`Layout::plan`]) make their code from it, so that a trace's
//! `GuardInfo`s and `GuardSrc`s describe whichever code runs, and a trace
//! compiled natively at tier 0 and recompiled by LLVM later keeps its
//! guards' numbers and slots. Invariants: slots `0..nres` are reserved (a
//! side trace's inputs where its parent left them, the parameters an exit
//! needs, written at the entry and re-entry, and the values many snapshots
//! need, stored where they are defined); each exit's own stores use slots
//! from `nres` up, numbered per exit; guards are numbered in body order.
//! An invariant parameter loaded from a field of vars takes no slot when
//! the body never uses the vars pointer (nothing then writes vars before
//! the trace's end): its exits read the field (`LiveSrc::Field`).

use super::super::walk::{Shape, Walked, END_RESUME, LOC_ID};
use super::super::ParamSrc;
use super::{ResumeInfo, EAGER_SNAPSHOTS};
use crate::abort::Abort;
use crate::guard::{FrameInfo, GuardInfo, LiveSrc};
use crate::jit::builder::{GuardSrc, SrcFrame};
use crate::jit::decode;
use llvm_sys::core::*;
use rustc_hash::FxHashMap as HashMap;
use std::collections::hash_map::Entry;
use tir::{Const, End, Inst, Operand, SnapId, ValId, ValMap};

/// What the layout needs besides the trace.
pub struct LayoutCx<'a> {
    /// The address of the trace's location.
    pub start_loc: usize,
    /// Each resume id's decoded position.
    pub resume_info: &'a [ResumeInfo],
    /// The target data and the type of `YkCtrlPointVars`, for its fields'
    /// byte offsets.
    pub td: llvm_sys::target::LLVMTargetDataRef,
    /// See `td`.
    pub vars_ty: llvm_sys::prelude::LLVMTypeRef,
}

/// A trace function's layout (see the module comment).
pub struct Layout {
    /// The same, as the native code generator's plan (parameters' byte
    /// offsets, slots, stores, ends, the tier check).
    pub plan: x64::Plan,
    /// The guards, by the number the trace passes to its exit.
    pub guards: Vec<GuardInfo>,
    /// What each guard's side trace starts from.
    pub guard_srcs: Vec<GuardSrc>,
    /// Buffer slots the trace uses.
    pub nslots: usize,
    /// Parameters the trace uses (only these get a phi or a load).
    pub used: Vec<bool>,
    /// The loop's tier check's stores, `(vars field index, parameter)`, if
    /// it has one.
    pub tier_stores: Option<Vec<(u32, u32)>>,
}

/// The bits of a plain constant (what a guard's info can hold).
pub(super) fn const_bits(c: Const) -> Option<u64> {
    match c {
        Const::Int { bits, .. } => Some(bits),
        Const::F32(b) => Some(b as u64),
        Const::F64(b) => Some(b),
        Const::Ptr(a) => Some(a),
        Const::Sym(_) => None,
    }
}

/// Is parameter `v` one the exits read where it already is: in its
/// reserved slot (`reserved`), or in its field of vars (`in_field`)?
fn read_in_place(reserved: &ValMap<u32>, in_field: &ValMap<(u32, u32, u8)>, v: u32) -> bool {
    reserved.contains(ValId(v)) || in_field.contains(ValId(v))
}

/// Lays out `t`, the walk `w`'s trace after the backward pass.
pub fn layout(cx: &LayoutCx, w: &Walked, t: &tir::Trace) -> Result<Layout, Abort> {
    let root = w.shape != Shape::Side;
    let np = t.params.len();
    let nvals = np + t.body.len();
    let field_off = |k: u32| -> u32 {
        // SAFETY: `cx.td` is the generation's live target data and `vars_ty`
        // the control point's `YkCtrlPointVars` struct type, of which `k` is
        // a field (the walk's parameters and end stores come from its
        // fields).
        unsafe { llvm_sys::target::LLVMOffsetOfElement(cx.td, cx.vars_ty, k) as u32 }
    };
    let mut plan = x64::Plan {
        shape: match w.shape {
            Shape::Loop => x64::Shape::Loop,
            Shape::Linear => x64::Shape::Linear,
            Shape::Side => x64::Shape::Side,
        },
        params: w
            .params
            .iter()
            .map(|p| match *p {
                ParamSrc::Vars => x64::ParamSrc::Vars,
                ParamSrc::Field(k) => x64::ParamSrc::Field(field_off(k)),
                ParamSrc::Slot(s) => x64::ParamSrc::Slot(s),
            })
            .collect(),
        reserved: Vec::new(),
        carried: Vec::new(),
        eager: Vec::new(),
        exits: Vec::new(),
        counter: root.then_some(std::mem::offset_of!(crate::guard::TraceInfo, counters) as u32),
        tier_check: None,
        exit_fn: if root {
            crate::deopt::__yk_guard_exit as *const () as u64
        } else {
            crate::deopt::__yk_side_guard_exit as *const () as u64
        },
        end_stores: Vec::new(),
        end_loc: None,
        start_loc: cx.start_loc as u64,
        reenter: crate::guard::outcome::REENTER,
        resume: crate::guard::outcome::RESUME,
        jump_min: crate::guard::outcome::JUMP_MIN,
    };

    // Invariant parameters get reserved slots.
    let invariant: Vec<bool> = match &t.end {
        End::Jump(args) => (0..np)
            .map(|k| args.get(k) == Some(&Operand::Val(ValId(k as u32))))
            .collect(),
        // No back edge: a parameter keeps its value to every exit.
        End::Exit(_) => vec![true; np],
    };
    // A side trace's inputs stay where its parent left them: nothing in
    // the side trace writes those slots (its exits use the slots above).
    let mut reserved: ValMap<u32> = ValMap::with_capacity(nvals);
    let mut nres = 0;
    if w.shape == Shape::Side {
        for (k, src) in w.params.iter().enumerate() {
            if let ParamSrc::Slot(s) = src {
                reserved.insert(ValId(k as u32), *s);
                nres = nres.max(s + 1);
            }
        }
    }
    // Invariant parameters loaded from fields of vars are read there by
    // the exits (`LiveSrc::Field`) when nothing in the body can write vars
    // (it never uses the vars pointer: a trace writes vars only at its
    // end), rather than copied to a reserved slot at every entry and
    // re-entry (yklua's frame pointers: some twenty words).
    // Per such parameter: its field's index, byte offset and size.
    let mut in_field: ValMap<(u32, u32, u8)> = ValMap::with_capacity(nvals);
    if !t.body_reads(ValId(0)) {
        for (k, src) in w.params.iter().enumerate().skip(1) {
            if let (ParamSrc::Field(fk), true) = (src, invariant[k]) {
                if reserved.contains(ValId(k as u32)) {
                    continue;
                }
                let size = t.params[k].size();
                if (1..=8).contains(&size) {
                    in_field.insert(ValId(k as u32), (*fk, field_off(*fk), size as u8));
                }
            }
        }
    }
    // Parameters written at the entry (and re-entry).
    for (_, s) in t.snaps.iter() {
        for o in s.operands() {
            if let Operand::Val(v) = o {
                if v.idx() < np && invariant[v.idx()] && !read_in_place(&reserved, &in_field, v.0) {
                    reserved.insert(v, nres);
                    plan.reserved.push((v.0, nres));
                    nres += 1;
                }
            }
        }
    }

    // Parameters the loop itself uses (in the body, the end, or a snapshot
    // value stored at an exit): only these need a phi.
    let mut used = vec![false; np];
    let use_op = |o: &Operand, used: &mut Vec<bool>| {
        if let Operand::Val(v) = o {
            if v.idx() < used.len() {
                used[v.idx()] = true;
            }
        }
    };
    for inst in &t.body {
        for o in inst.operands() {
            use_op(&o, &mut used);
        }
        if let Inst::Guard { snap, .. } = inst {
            if let Some(sn) = t.snaps.get(*snap) {
                for o in sn.operands() {
                    if !matches!(o, Operand::Val(v) if read_in_place(&reserved, &in_field, v.0)) {
                        use_op(&o, &mut used);
                    }
                }
            }
        }
    }
    match &t.end {
        End::Jump(args) => {
            for (k, a) in args.iter().enumerate() {
                if *a != Operand::Val(ValId(k as u32)) {
                    use_op(a, &mut used);
                }
            }
        }
        End::Exit(sn) => {
            if let Some(sn) = t.snaps.get(*sn) {
                for o in sn.operands() {
                    use_op(&o, &mut used);
                }
            }
        }
    }

    // A loop's tier check, if its state at its head is all known: every
    // parameter that changes in the loop is a vars field it uses (a trace
    // where one is not, a value no exit needs, keeps looping in the code it
    // was entered in).
    let tier_stores = (w.shape == Shape::Loop)
        .then(|| {
            let mut stores = Vec::new();
            for (k, src) in w.params.iter().enumerate().skip(1) {
                if invariant[k] {
                    continue;
                }
                match src {
                    ParamSrc::Field(fk) if used[k] => stores.push((*fk, k as u32)),
                    _ => return None,
                }
            }
            Some(stores)
        })
        .flatten();
    if let Some(stores) = &tier_stores {
        plan.tier_check = Some(x64::TierCheck {
            check_fn: crate::jit::tier_check_fn(),
            every: crate::jit::TIER_CHECK_ITERS,
            stores: stores.iter().map(|&(fk, k)| (field_off(fk), k)).collect(),
        });
    }

    // Values in many guards' snapshots get a slot of their own, stored
    // once where they are defined rather than at each of those exits (a
    // few long-lived values, e.g. an interpreter's frame pointers, make
    // most of the exit stores otherwise). A constant offset from a base
    // pointer is recomputed from the base (`LiveSrc::SlotPlus`) rather than
    // stored: exits store the base.
    let remat = |v: u32| -> Option<(u32, i64)> {
        match t.body.get((v as usize).checked_sub(np)?) {
            Some(Inst::PtrAdd {
                ptr: Operand::Val(b),
                off,
            }) => Some((b.0, *off)),
            _ => None,
        }
    };
    let mut in_snaps: Vec<usize> = vec![0; nvals];
    let mut seen_snap: Vec<bool> = vec![false; t.snaps.len()];
    let mut guard_snaps: Vec<SnapId> = Vec::new();
    for inst in &t.body {
        if let Inst::Guard { snap, .. } = inst {
            guard_snaps.push(*snap);
            match seen_snap.get_mut(snap.0 as usize) {
                Some(seen) if !*seen => *seen = true,
                _ => continue,
            }
            if let Some(sn) = t.snaps.get(*snap) {
                let mut vs: Vec<u32> = sn
                    .operands()
                    .filter_map(|o| o.as_val())
                    .map(|v| remat(v.0).map_or(v.0, |(b, _)| b))
                    .filter(|&v| {
                        v as usize >= np || (root && !read_in_place(&reserved, &in_field, v))
                    })
                    .collect();
                vs.sort_unstable();
                vs.dedup();
                for v in vs {
                    in_snaps[v as usize] += 1;
                }
            }
        }
    }
    let mut eager: ValMap<u32> = ValMap::with_capacity(nvals);
    let eager_order = in_snaps.iter().enumerate().filter(|&(v, &n)| {
        n >= EAGER_SNAPSHOTS
            && !(v >= np && matches!(t.body.get(v - np), Some(Inst::Alloca { .. })))
    });
    for (v, _) in eager_order {
        let id = ValId(v as u32);
        eager.insert(id, nres);
        if v >= np {
            plan.eager.push((id, nres));
        } else {
            // A loop-carried parameter: stored at the head, once per
            // iteration.
            plan.carried.push((id.0, nres));
        }
        nres += 1;
    }

    // The end.
    if let End::Exit(s) = &t.end {
        let snap = t
            .snaps
            .get(*s)
            .ok_or_else(|| Abort::internal("no end snapshot"))?;
        let fr = snap
            .frames
            .first()
            .filter(|fr| fr.resume == END_RESUME)
            .ok_or_else(|| Abort::internal("the end is not an end snapshot"))?;
        for &(id, o) in &fr.live {
            if id == LOC_ID {
                plan.end_loc = Some(o);
            } else {
                plan.end_stores.push((field_off(id), o));
            }
        }
    }

    // The exits, one per snapshot a guard uses.
    let order = (0..t.snaps.len())
        .filter(|&s| seen_snap[s])
        .map(|s| SnapId(s as u32));
    let mut nslots = nres as usize;
    // Per snapshot frame value: its AOT value and type.
    let mut aot_vals: HashMap<
        (u32, u32),
        (llvm_sys::prelude::LLVMValueRef, crate::guard::prog::Ty),
    > = HashMap::default();
    // Per value: the snapshot whose exit stored it last, and the slot.
    let mut stored: ValMap<(SnapId, u32)> = ValMap::with_capacity(nvals);
    // Per snapshot id: its frames' infos and sources (shared by its guards).
    let mut snap_infos: Vec<Option<(std::sync::Arc<[FrameInfo]>, GuardSrc)>> =
        vec![None; t.snaps.len()];
    for s in order {
        let snap = t
            .snaps
            .get(s)
            .ok_or_else(|| Abort::internal("no snapshot"))?;
        let mut next = nres;
        let mut frames = Vec::with_capacity(snap.frames.len());
        let mut srcs: Vec<SrcFrame> = Vec::with_capacity(snap.frames.len());
        let mut prev_resume: Option<llvm_sys::prelude::LLVMValueRef> = None;
        // A value live twice in the snapshot (in two frames, or as two AOT
        // values) is stored once (`stored`; constants, few, are looked up in
        // `stores`).
        let mut stores: Vec<(Operand, u32)> = Vec::new();
        for fr in &snap.frames {
            let res = w
                .resumes
                .get(fr.resume as usize)
                .ok_or_else(|| Abort::internal("a snapshot's resume id"))?;
            let ri = cx
                .resume_info
                .get(fr.resume as usize)
                .ok_or_else(|| Abort::internal("a snapshot's resume id"))?;
            let mut live = Vec::with_capacity(fr.live.len());
            let mut src_live = Vec::with_capacity(fr.live.len());
            for &(reg, o) in &fr.live {
                let (v, dty) = match aot_vals.entry((fr.func, reg)) {
                    Entry::Occupied(e) => *e.get(),
                    Entry::Vacant(e) => {
                        let v = *w.regs.get(&(fr.func, reg)).ok_or_else(|| {
                            Abort::internal("a snapshot value without an AOT value")
                        })?;
                        // SAFETY: `v` is a live value of the generation's AOT
                        // module (yk-llvm rule 2: the module outlives the
                        // build).
                        let vty = unsafe { LLVMTypeOf(v) };
                        let dty = decode::single_leaf(vty)
                            .map_err(Abort::unsupported)?
                            .ok_or_else(|| {
                                Abort::unsupported("an aggregate value live at a guard")
                            })?;
                        *e.insert((v, dty))
                    }
                };
                let src = match o {
                    Operand::Const(c) if const_bits(c).is_some() => {
                        LiveSrc::Const(const_bits(c).unwrap())
                    }
                    _ => {
                        // Where the exit finds `o`, or the base pointer `o`
                        // is a constant offset from: in the vars field it was
                        // loaded from, in a reserved or eager slot, in one
                        // this exit stored already, or in a new one.
                        let (what, off) = match o {
                            Operand::Val(v) => remat(v.0)
                                .map_or((o, None), |(b, off)| (Operand::Val(ValId(b)), Some(off))),
                            _ => (o, None),
                        };
                        let field = what.as_val().and_then(|b| in_field.get(b));
                        if let Some((field, fo, size)) = field {
                            LiveSrc::Field {
                                field,
                                off: fo,
                                size,
                                add: off.unwrap_or(0),
                            }
                        } else {
                            let known = match what {
                                Operand::Val(b) => {
                                    reserved.get(b).or_else(|| eager.get(b)).or_else(|| {
                                        stored.get(b).filter(|&(by, _)| by == s).map(|(_, k)| k)
                                    })
                                }
                                _ => stores.iter().find(|st| st.0 == what).map(|st| st.1),
                            };
                            let slot = known.unwrap_or_else(|| {
                                if let Operand::Val(b) = what {
                                    stored.insert(b, (s, next));
                                }
                                stores.push((what, next));
                                next += 1;
                                next - 1
                            });
                            match off {
                                Some(off) => LiveSrc::SlotPlus(slot, off),
                                None => LiveSrc::Slot(slot),
                            }
                        }
                    }
                };
                live.push((reg, dty, src));
                src_live.push((v, src));
            }
            frames.push(FrameInfo {
                prog: ri.prog.clone(),
                block: ri.block,
                idx: ri.idx,
                live,
                call_dst: ri.call_dst,
            });
            srcs.push(SrcFrame {
                f: res.f,
                fidx: res.fidx,
                resume: res.at,
                live: src_live,
                // SAFETY: `r` is a live instruction of the AOT module (as
                // above): the one a frame resumes at after its call.
                call: prev_resume.map(|r| unsafe { LLVMGetPreviousInstruction(r) }),
            });
            prev_resume = Some(res.at);
        }
        nslots = nslots.max(next as usize);
        snap_infos[s.0 as usize] = Some((frames.into(), srcs.into()));
        plan.exits.push((s, stores));
    }
    // The guards of one snapshot share its frames' infos and sources.
    let mut guards = Vec::with_capacity(guard_snaps.len());
    let mut guard_srcs = Vec::with_capacity(guard_snaps.len());
    for s in &guard_snaps {
        let (frames, srcs) = snap_infos[s.0 as usize]
            .clone()
            .ok_or_else(|| Abort::internal("a guard's snapshot without an exit"))?;
        guards.push(GuardInfo::new(frames));
        guard_srcs.push(srcs);
    }
    Ok(Layout {
        plan,
        guards,
        guard_srcs,
        nslots,
        used,
        tier_stores,
    })
}
