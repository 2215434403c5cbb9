//! Differential test: random traces (tir's `testgen`, the generator of
//! tir's optimiser property) compiled to x86-64 and run natively on real
//! memory at the generator's fixed addresses, against the evaluator on the
//! same inputs and memory. Compared: how the run ended (which guard failed,
//! in which iteration, with the snapshot's values as the exit stored them in
//! the buffer; or the loop's parameters after `ITERS` iterations, written
//! to vars by the tier check; or a linear/side trace's end stores), and the
//! memory the interpreter can see afterwards.
//!
//! Alloca addresses differ (the evaluator makes a fresh region per alloca per
//! iteration, the native code has one slot per alloca in its frame): an
//! evaluator address inside an alloca region is matched with a native one
//! by offset, consistently (the same region always at the same native base).
//! Runs where the evaluator stops (UB, a bad access) or makes up a value
//! (`@f2`/`@f3` on a dead address) are skipped: the native code may do
//! anything there.

mod common;

use common::*;
use std::cell::Cell;
use std::collections::HashMap;
use tir::eval::{self, Ending, FrameVals, Memory, RegionKind};
use tir::testgen::{self, CONST, CONST_LEN, SHARED, SHARED_DATA, SHARED_LEN};
use tir::*;
use x64::*;

const ITERS: usize = 4;
/// Vars fields of parameters 1..4 (in the shared region's page, past the
/// trace's data).
const PARAM_FIELDS: u32 = 1024;
/// Vars fields of the end stores.
const END_FIELDS: u32 = 2048;
const EAGER_SLOTS: u32 = 1000;
const EXIT_SLOTS: u32 = 2000;
const BUF_WORDS: usize = 4096;
const GUARD_MARK: u32 = u32::MAX;
const END_MARK: u64 = 0xffff_ffff;

/// Where each live value of a snapshot is found after an exit: per frame,
/// per live value, the buffer slot.
type SnapSlots = Vec<Vec<u32>>;

struct Case {
    plan: Plan,
    /// Per snapshot (used by a guard): where its values are.
    snap_slots: HashMap<SnapId, SnapSlots>,
    /// The end snapshot's values' fields, flattened.
    end_fields: Vec<(u32, Ty)>,
    param_src: Vec<ParamSrc>,
}

fn make_case(t: &Trace, rng: &mut fastrand::Rng) -> Case {
    let np = t.params.len();
    let mut params = vec![ParamSrc::Vars];
    for k in 1..np {
        params.push(if rng.bool() {
            ParamSrc::Field(PARAM_FIELDS + 8 * k as u32)
        } else {
            ParamSrc::Slot(100 + k as u32)
        });
    }
    let looping = matches!(t.end, End::Jump(_));
    let shape = if looping {
        Shape::Loop
    } else if rng.bool() {
        Shape::Linear
    } else {
        Shape::Side
    };
    let root = shape != Shape::Side;
    // Invariant parameters (the jump passes them on): reserved slots; others
    // sometimes carried.
    let mut param_slot: Vec<Option<u32>> = vec![None; np];
    let mut reserved = Vec::new();
    let mut carried = Vec::new();
    for k in 1..np {
        let invariant = match &t.end {
            End::Jump(args) => args[k] == Operand::Val(ValId(k as u32)),
            End::Exit(_) => true,
        };
        // A side trace's input may stay in the slot it arrives in (as the
        // layout does it), which the code then reads in place.
        let slot = match params[k] {
            ParamSrc::Slot(s) if !root && rng.bool() => s,
            _ => 200 + k as u32,
        };
        if invariant && rng.bool() {
            reserved.push((k as u32, slot));
            param_slot[k] = Some(slot);
        } else if root && rng.bool() {
            carried.push((k as u32, slot));
            param_slot[k] = Some(slot);
        }
    }
    // Some values stored eagerly.
    let mut eager = Vec::new();
    let mut eager_slot: Vec<Option<u32>> = vec![None; t.nvals()];
    for (i, inst) in t.body.iter().enumerate() {
        if inst.result_ty() != Ty::Void && rng.u8(0..5) == 0 {
            let v = t.val_of(i);
            eager.push((v, EAGER_SLOTS + v.0));
            eager_slot[v.idx()] = Some(EAGER_SLOTS + v.0);
        }
    }
    let mut exits = Vec::new();
    let mut snap_slots = HashMap::new();
    for inst in &t.body {
        if let Inst::Guard { snap, .. } = inst {
            if snap_slots.contains_key(snap) {
                continue;
            }
            let s = t.snaps.get(*snap).unwrap();
            let mut stores = Vec::new();
            let mut next = EXIT_SLOTS;
            let mut slots = Vec::new();
            for fr in &s.frames {
                let mut fs = Vec::new();
                for (_, o) in &fr.live {
                    let known = match o {
                        Operand::Val(v) if v.idx() < np => param_slot[v.idx()],
                        Operand::Val(v) => eager_slot[v.idx()],
                        Operand::Const(_) => None,
                    };
                    let slot = known.unwrap_or_else(|| {
                        stores.push((*o, next));
                        next += 1;
                        next - 1
                    });
                    fs.push(slot);
                }
                slots.push(fs);
            }
            // Sometimes the snapshot is left out of the plan when it has no
            // stores (the generator then makes none).
            if !stores.is_empty() || rng.bool() {
                exits.push((*snap, stores));
            }
            snap_slots.insert(*snap, slots);
        }
    }
    let mut end_stores = Vec::new();
    let mut end_fields = Vec::new();
    if let End::Exit(s) = &t.end {
        // Some end stores write a field a parameter came from (as the end
        // of a real trace writes back the fields it changed), each field
        // once: a later store (or the code) must not read that parameter
        // from its field once it is overwritten.
        let mut taken = vec![false; np];
        for o in t.snaps.get(*s).unwrap().operands() {
            let reuse = (1..np).filter(|&k| !taken[k] && matches!(params[k], ParamSrc::Field(_)));
            let reuse: Vec<usize> = reuse.collect();
            let f = if !reuse.is_empty() && rng.bool() {
                let k = reuse[rng.usize(0..reuse.len())];
                taken[k] = true;
                PARAM_FIELDS + 8 * k as u32
            } else {
                END_FIELDS + 8 * end_fields.len() as u32
            };
            end_stores.push((f, o));
            end_fields.push((f, ty_of(t, o)));
        }
    }
    let counter = (root && (looping || rng.bool())).then_some(0);
    let tier_check = looping.then(|| TierCheck {
        check_fn: check_fn as *const () as u64,
        every: 1,
        stores: (1..np as u32).map(|k| (PARAM_FIELDS + 8 * k, k)).collect(),
    });
    Case {
        plan: Plan {
            shape,
            params: params.clone(),
            reserved,
            carried,
            eager,
            exits,
            counter,
            tier_check,
            exit_fn: exit_fn as *const () as u64,
            end_stores,
            end_loc: None,
            start_loc: START_LOC,
            reenter: REENTER,
            resume: RESUME,
            jump_min: JUMP_MIN,
        },
        snap_slots,
        end_fields,
        param_src: params,
    }
}

fn ty_of(t: &Trace, o: Operand) -> Ty {
    match o {
        Operand::Val(v) => t.val_ty(v),
        Operand::Const(c) => c.ty(),
    }
}

/// `t` with a marker in each guard's snapshot (its number) and in the end
/// snapshot, so the evaluator's ending says which guard it was.
fn marked(t: &Trace) -> Trace {
    let mut m = t.clone();
    let mark = |m: &mut Trace, s: SnapId, val: u64| -> SnapId {
        let mut snap = m.snaps.get(s).unwrap().clone();
        let top = snap.frames.last_mut().unwrap();
        let mut live = top.live.clone();
        live.push((GUARD_MARK, Const::int(32, val).into()));
        *top = Frame::new(top.func, top.resume, live);
        m.snaps.intern(snap)
    };
    let mut g = 0;
    for i in 0..m.body.len() {
        if let Inst::Guard { snap, .. } = m.body[i] {
            let s = mark(&mut m, snap, g);
            if let Inst::Guard { snap, .. } = &mut m.body[i] {
                *snap = s;
            }
            g += 1;
        }
    }
    if let End::Exit(s) = m.end {
        m.end = End::Exit(mark(&mut m, s, END_MARK));
    }
    m
}

/// How a run ended, comparable between the two.
#[derive(Debug, PartialEq)]
enum Ended {
    Guard {
        gno: u64,
        iter: usize,
        frames: Vec<FrameVals>,
    },
    End {
        frames: Vec<FrameVals>,
    },
    Loop {
        params: Vec<u64>,
    },
}

/// Matches evaluator alloca addresses with native ones.
struct Allocas<'a> {
    made: &'a [(u64, u64)],
    base: HashMap<usize, u64>,
}

impl Allocas<'_> {
    /// Whether native value `n` is what evaluator value `e` stands for.
    fn same(&mut self, e: u64, n: u64) -> bool {
        match self.made.iter().position(|(b, s)| e >= *b && e < b + s) {
            None => e == n,
            Some(i) => {
                let nb = n.wrapping_sub(e - self.made[i].0);
                *self.base.entry(i).or_insert(nb) == nb
            }
        }
    }
}

fn frames_same(al: &mut Allocas, e: &[FrameVals], n: &[FrameVals]) -> bool {
    e.len() == n.len()
        && e.iter().zip(n).all(|(a, b)| {
            a.func == b.func
                && a.resume == b.resume
                && a.live.len() == b.live.len()
                && a.live
                    .iter()
                    .zip(&b.live)
                    .all(|(x, y)| x.0 == y.0 && al.same(x.1, y.1))
        })
}

#[derive(Default, Debug)]
struct Figures {
    traces: usize,
    compiled: usize,
    runs: usize,
    skipped: usize,
    guard_exits: usize,
    loops: usize,
    ends: usize,
    insts: usize,
}

fn check_seed(seed: u64, f: &mut Figures) {
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x9e37_79b9_7f4a_7c15);
    let mem0 = testgen::memory(&mut rng);
    let t = testgen::gen_trace(seed, &mem0);
    // Half the time the optimised trace (what the runtime compiles).
    let t = if rng.bool() {
        match tir::opt::optimise(&t, &mem0) {
            Ok(o) => o,
            Err(_) => t,
        }
    } else {
        t
    };
    f.traces += 1;
    let case = make_case(&t, &mut rng);
    let code = compile(&t, &case.plan, &TestSyms)
        .unwrap_or_else(|e| panic!("seed {seed}: {e}\n{}", tir::text::print(&t)));
    f.compiled += 1;
    f.insts += t.body.len();
    assert_eq!(code.offsets().len(), t.body.len());
    assert!(code
        .offsets()
        .windows(2)
        .all(|w| w[0] <= w[1] && (w[1] as usize) <= code.len()));
    let mt = marked(&t);
    for _ in 0..4 {
        let inputs = testgen::inputs(&mut rng);
        let fallback = Cell::new(false);
        let mut env = testgen::env_flagged(Some(&fallback));
        let Ok(out) = eval::run(&mt, &inputs, mem0.clone(), &mut env, ITERS) else {
            f.skipped += 1;
            continue;
        };
        if fallback.get() {
            f.skipped += 1;
            continue;
        }
        f.runs += 1;
        // The evaluator's ending.
        let expected = match &out.ending {
            Ending::Exit { iter, frames } => {
                let mut frames = frames.clone();
                let top = frames.last_mut().unwrap();
                let (id, mark) = top.live.pop().unwrap();
                assert_eq!(id, GUARD_MARK);
                if mark == END_MARK {
                    f.ends += 1;
                    Ended::End { frames }
                } else {
                    f.guard_exits += 1;
                    Ended::Guard {
                        gno: mark,
                        iter: *iter,
                        frames,
                    }
                }
            }
            Ending::Exhausted { params } => {
                f.loops += 1;
                Ended::Loop {
                    params: params[1..].to_vec(),
                }
            }
        };
        // The native run.
        let got = run_native(&t, &case, &code, &inputs, &mem0);
        let made = out.mem.allocas_made();
        let mut al = Allocas {
            made,
            base: HashMap::new(),
        };
        let ok = match (&expected, &got) {
            (
                Ended::Guard {
                    gno: g1,
                    iter: i1,
                    frames: f1,
                },
                Ended::Guard {
                    gno: g2,
                    iter: i2,
                    frames: f2,
                },
            ) => g1 == g2 && i1 == i2 && frames_same(&mut al, f1, f2),
            (Ended::End { frames: f1 }, Ended::End { frames: f2 }) => frames_same(&mut al, f1, f2),
            (Ended::Loop { params: p1 }, Ended::Loop { params: p2 }) => {
                p1.len() == p2.len() && p1.iter().zip(p2).all(|(a, b)| al.same(*a, *b))
            }
            _ => false,
        };
        // The memory.
        let eshared = out
            .mem
            .regions()
            .find(|(b, _)| *b == SHARED)
            .map(|(_, r)| r.data.clone())
            .unwrap();
        let econst = out
            .mem
            .regions()
            .find(|(b, _)| *b == CONST)
            .map(|(_, r)| r.data.clone())
            .unwrap();
        // SAFETY: the regions are mapped for the whole test (`regions()`).
        let (nshared, nconst) = unsafe {
            (
                std::slice::from_raw_parts(SHARED as *const u8, SHARED_LEN as usize).to_vec(),
                std::slice::from_raw_parts(CONST as *const u8, CONST_LEN as usize).to_vec(),
            )
        };
        let mut mem_ok =
            eshared[..SHARED_DATA as usize] == nshared[..SHARED_DATA as usize] && econst == nconst;
        for w in (SHARED_DATA as usize..SHARED_LEN as usize).step_by(8) {
            let e = u64::from_le_bytes(eshared[w..w + 8].try_into().unwrap());
            let n = u64::from_le_bytes(nshared[w..w + 8].try_into().unwrap());
            mem_ok &= al.same(e, n);
        }
        assert!(
            ok && mem_ok,
            "seed {seed}, inputs {inputs:x?}, plan {:?}\nexpected {expected:x?}\ngot      {got:x?}\nshared {eshared:x?}\nnative {nshared:x?}\n{}",
            case.plan,
            tir::text::print(&t)
        );
    }
}

fn run_native(t: &Trace, case: &Case, code: &Code, inputs: &[u64], mem0: &Memory) -> Ended {
    let np = t.params.len();
    let mut buf = vec![0u64; BUF_WORDS];
    // SAFETY: the regions are mapped (a page each) for the whole test and
    // only this thread's code touches them (the tests using them take the
    // regions' lock).
    unsafe {
        let page = std::slice::from_raw_parts_mut(SHARED as *mut u8, 4096);
        page.fill(0);
        let cpage = std::slice::from_raw_parts_mut(CONST as *mut u8, 4096);
        cpage.fill(0);
        for (b, r) in mem0.regions() {
            if b == SHARED {
                page[..r.data.len()].copy_from_slice(&r.data);
            } else if b == CONST {
                assert_eq!(r.kind, RegionKind::Const);
                cpage[..r.data.len()].copy_from_slice(&r.data);
            }
        }
        for (k, input) in inputs.iter().enumerate().take(np).skip(1) {
            let v = input & tir::ir::mask(t.params[k].bits());
            match case.param_src[k] {
                ParamSrc::Field(off) => {
                    page[off as usize..off as usize + 8].copy_from_slice(&v.to_le_bytes())
                }
                ParamSrc::Slot(s) => buf[s as usize] = v,
                ParamSrc::Vars => unreachable!(),
            }
        }
    }
    let mut counter: u64 = 0;
    let mut info = Info {
        counter: &mut counter,
        limit: ITERS as u64,
    };
    let r = run_trace(code, SHARED as *mut u8, &mut info, &mut buf);
    let gno = last_guard();
    // SAFETY: as above.
    let page = unsafe { std::slice::from_raw_parts(SHARED as *const u8, 4096) };
    let field = |off: u32, ty: Ty| {
        let mut w = [0u8; 8];
        let n = ty.size() as usize;
        w[..n].copy_from_slice(&page[off as usize..off as usize + n]);
        u64::from_le_bytes(w)
    };
    let frames_of = |s: &Snapshot, vals: &mut dyn FnMut(usize, usize) -> u64| {
        s.frames
            .iter()
            .enumerate()
            .map(|(fi, fr)| FrameVals {
                func: fr.func,
                resume: fr.resume,
                live: fr
                    .live
                    .iter()
                    .enumerate()
                    .map(|(li, (id, _))| (*id, vals(fi, li)))
                    .collect(),
            })
            .collect::<Vec<_>>()
    };
    if let Some(g) = gno {
        assert_eq!(r, EXIT_RETURN as i64);
        let snap = t
            .body
            .iter()
            .filter_map(|i| match i {
                Inst::Guard { snap, .. } => Some(*snap),
                _ => None,
            })
            .nth(g as usize)
            .expect("a guard of that number");
        let slots = &case.snap_slots[&snap];
        let frames = frames_of(t.snaps.get(snap).unwrap(), &mut |fi, li| {
            buf[slots[fi][li] as usize]
        });
        return Ended::Guard {
            gno: g as u64,
            iter: (counter as usize).saturating_sub(1),
            frames,
        };
    }
    assert_eq!(r, RESUME as i64);
    match &t.end {
        End::Jump(_) => Ended::Loop {
            params: (1..np)
                .map(|k| field(PARAM_FIELDS + 8 * k as u32, t.params[k]))
                .collect(),
        },
        End::Exit(s) => {
            let mut i = 0;
            let frames = frames_of(t.snaps.get(*s).unwrap(), &mut |_, _| {
                let (off, ty) = case.end_fields[i];
                i += 1;
                field(off, ty)
            });
            Ended::End { frames }
        }
    }
}

#[test]
fn native_matches_evaluator() {
    let Some(_lock) = regions() else {
        eprintln!("skipped: can't map the fixed regions at 0x10000 and 0x20000");
        return;
    };
    let n = tir::testgen::env_u64("X64_DIFF_CASES", 3000);
    let base = tir::testgen::env_u64("X64_DIFF_SEED", 0);
    let mut f = Figures::default();
    for seed in base..base + n {
        check_seed(seed, &mut f);
    }
    eprintln!("{f:#?}");
    assert!(f.runs > f.traces, "{f:?}");
    assert!(
        f.guard_exits > f.runs / 10 && f.loops > f.runs / 10,
        "{f:?}"
    );
    assert!(f.ends > 0, "{f:?}");
}
