//! Emission speed (prints, doesn't assert): microseconds per trace-IR
//! instruction compiling the largest of tir's random traces, with and
//! without the mapping. Meaningful in release builds:
//! `cargo test --release -p yk-x64 --test bench -- --nocapture`.

mod common;

use common::*;
use std::time::Instant;
use tir::testgen;
use tir::*;
use x64::*;

fn plan(t: &Trace) -> Plan {
    let np = t.params.len();
    let mut params = vec![ParamSrc::Vars];
    params.extend((1..np as u32).map(|k| ParamSrc::Field(8 * k)));
    let exits = t
        .snaps
        .iter()
        .map(|(id, s)| (id, s.operands().zip(0..).collect()))
        .collect();
    let looping = matches!(t.end, End::Jump(_));
    let end_stores = match t.end {
        End::Exit(s) => t
            .snaps
            .get(s)
            .unwrap()
            .operands()
            .enumerate()
            .map(|(j, o)| (256 + 8 * j as u32, o))
            .collect(),
        End::Jump(_) => Vec::new(),
    };
    Plan {
        shape: if looping { Shape::Loop } else { Shape::Linear },
        params,
        reserved: Vec::new(),
        carried: Vec::new(),
        eager: Vec::new(),
        exits,
        counter: Some(0),
        tier_check: looping.then(|| TierCheck {
            check_fn: check_fn as *const () as u64,
            every: 64,
            stores: (1..np as u32).map(|k| (8 * k, k)).collect(),
        }),
        exit_fn: exit_fn as *const () as u64,
        end_stores,
        end_loc: None,
        start_loc: START_LOC,
        reenter: REENTER,
        resume: RESUME,
        jump_min: JUMP_MIN,
    }
}

#[test]
fn emission_speed() {
    let mut traces: Vec<Trace> = (0..3000)
        .map(|seed| {
            let mut rng = fastrand::Rng::with_seed(seed);
            let mem = testgen::memory(&mut rng);
            testgen::gen_trace(seed, &mem)
        })
        .collect();
    traces.sort_by_key(|t| std::cmp::Reverse(t.body.len()));
    traces.truncate(200);
    let plans: Vec<Plan> = traces.iter().map(plan).collect();
    let insts: usize = traces.iter().map(|t| t.body.len()).sum();
    let reps = 5;
    let mut bytes = 0;
    let start = Instant::now();
    for _ in 0..reps {
        for (t, p) in traces.iter().zip(&plans) {
            bytes += compile(t, p, &TestSyms).unwrap().len();
        }
    }
    let el = start.elapsed();
    let n = (insts * reps) as f64;
    eprintln!(
        "x64 emission: {} traces of {}..{} instructions ({insts} in all): {:.3} us per trace-IR instruction including the mapping, {:.1} bytes of code per instruction",
        traces.len(),
        traces.last().unwrap().body.len(),
        traces[0].body.len(),
        el.as_secs_f64() * 1e6 / n,
        bytes as f64 / n,
    );
    // A long trace: the largest ones' bodies don't concatenate (values are
    // numbered), so time the biggest alone, many times.
    let t = &traces[0];
    let p = &plans[0];
    let start = Instant::now();
    let k = 200;
    for _ in 0..k {
        std::hint::black_box(compile(t, p, &TestSyms).unwrap());
    }
    let el = start.elapsed();
    eprintln!(
        "x64 emission: the largest trace ({} instructions): {:.1} us per compile, {:.3} us per instruction",
        t.body.len(),
        el.as_secs_f64() * 1e6 / k as f64,
        el.as_secs_f64() * 1e6 / (k * t.body.len()) as f64
    );
}
