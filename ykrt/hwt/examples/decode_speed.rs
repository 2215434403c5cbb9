//! Decoder throughput on synthesised Intel PT streams, in MB/s of trace data.
//!
//! `cargo run --release -p hwt --example decode_speed [seconds-per-case]`
//!
//! Each case generates a random program and a long random walk through it
//! (see `tests/synth`), checks once that decoding gives the walked blocks, then
//! times repeated decoding. The code cache is warm after the first decode, as
//! it is for a runtime decoding trace after trace of the same interpreter.

#[path = "../tests/synth/mod.rs"]
mod synth;

use hwt::flow::{BufferCode, FlowDecoder};
use std::time::{Duration, Instant};
use synth::{Program, Rng, WalkOpts};

fn main() {
    let secs: f64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("seconds per case"))
        .unwrap_or(2.0);
    let cases: [(&str, WalkOpts); 2] = [
        ("typical (2% PSB+, 3% events)", WalkOpts::default()),
        (
            "branchy only (no PSB+, no events)",
            WalkOpts {
                psb_pct: 0,
                event_pct: 0,
                tsx_update_pct: 0,
            },
        ),
    ];
    for (name, opts) in cases {
        let mut rng = Rng::new(42);
        let p = Program::generate(&mut rng, 0x5555_5555_4000, 8);
        let (truth, trace) = p.walk(&mut rng, 400_000, &opts);
        let mut dec = FlowDecoder::new(BufferCode {
            base: p.base,
            bytes: p.code.clone(),
        });
        let mut blocks = Vec::with_capacity(truth.len());
        dec.decode_into(&trace, &mut blocks).expect("decode");
        assert_eq!(blocks, truth, "decoder disagrees with the ground truth");
        let start = Instant::now();
        let mut iters = 0u64;
        while start.elapsed() < Duration::from_secs_f64(secs) {
            blocks.clear();
            dec.decode_into(&trace, &mut blocks).expect("decode");
            iters += 1;
        }
        let t = start.elapsed().as_secs_f64();
        let mb = (trace.len() as f64 * iters as f64) / 1e6;
        println!(
            "{name}: {:.1} MB/s ({:.1} M blocks/s; {} KB trace, {} blocks, {:.2} bytes/block, {iters} runs)",
            mb / t,
            (truth.len() as f64 * iters as f64) / t / 1e6,
            trace.len() / 1000,
            truth.len(),
            trace.len() as f64 / truth.len() as f64,
        );
    }
}
