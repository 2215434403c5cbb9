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

use tir::eval::{self, Ending, RegionKind};
use tir::opt::{optimise, OptError};
use tir::testgen::{env, gen_trace, memory, SHARED, SHARED_DATA, SHARED_LEN};
use tir::text::{parse, print};
use tir::*;

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
        let inputs = tir::testgen::inputs(&mut rng);
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
    let n = tir::testgen::env_u64("TIR_PROP_CASES", 3000);
    let base = tir::testgen::env_u64("TIR_PROP_SEED", 0);
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
