//! End-to-end decoder tests on synthesised traces: random programs assembled
//! with iced-x86, random walks through them as ground truth, the packets a PT
//! unit would emit for those walks, and the decoder required to give back
//! exactly the walked blocks (or an error, never a different trace).

mod synth;

use hwt::{
    encode::{Encoder, IpKind},
    flow::{Block, BufferCode, DecodeError, FlowDecoder},
    packet::{IpCompression, Packets},
};
use synth::{Program, Rng, WalkOpts};

/// Load addresses that exercise every IP compression: a typical PIE address,
/// one just below a 4 GiB boundary (so 16- and 32-bit updates fail across it),
/// a high canonical one with bit 47 set in the payload sense, and a low one.
const BASES: [u64; 4] = [
    0x0000_5555_5555_4000,
    0x0000_7f00_ffff_f000,
    0x0000_7fff_ffff_0000,
    0x0000_0000_0040_1000,
];

fn decoder(p: &Program) -> FlowDecoder<BufferCode> {
    FlowDecoder::new(BufferCode {
        base: p.base,
        bytes: p.code.clone(),
    })
}

#[test]
fn random_walks_decode_exactly() {
    let mut total_blocks = 0;
    for seed in 0..300u64 {
        let mut rng = Rng::new(seed);
        let base = BASES[seed as usize % BASES.len()];
        let nfuncs = 2 + rng.below(7);
        let p = Program::generate(&mut rng, base, nfuncs);
        let steps = 20 + rng.below(2000);
        let (truth, trace) = p.walk(&mut rng, steps, &WalkOpts::default());
        let got = decoder(&p)
            .decode(&trace)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert_eq!(got, truth, "seed {seed}");
        total_blocks += truth.len();
    }
    assert!(total_blocks > 100_000, "{total_blocks}");
}

#[test]
fn heavy_events_and_psbs_decode_exactly() {
    let opts = WalkOpts {
        psb_pct: 20,
        event_pct: 30,
        tsx_update_pct: 10,
    };
    for seed in 1000..1100u64 {
        let mut rng = Rng::new(seed);
        let nfuncs = 3 + rng.below(5);
        let p = Program::generate(&mut rng, BASES[0], nfuncs);
        let (truth, trace) = p.walk(&mut rng, 500, &opts);
        let got = decoder(&p)
            .decode(&trace)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert_eq!(got, truth, "seed {seed}");
    }
}

/// Offsets of packet boundaries in a well-formed stream.
fn boundaries(trace: &[u8]) -> Vec<usize> {
    Packets::new(trace).map(|r| r.unwrap().0).collect()
}

#[test]
fn overflow_is_an_error_not_a_trace() {
    for seed in 0..50u64 {
        let mut rng = Rng::new(seed);
        let p = Program::generate(&mut rng, BASES[1], 4);
        let (truth, mut trace) = p.walk(&mut rng, 300, &WalkOpts::default());
        let bs = boundaries(&trace);
        let at = bs[1 + rng.below(bs.len() - 1)];
        // OVF, then the FUP the hardware sends when tracing resumes.
        let mut ovf = Encoder::new();
        ovf.ovf();
        ovf.ip(IpKind::Fup, truth[0].start, IpCompression::Full);
        trace.splice(at..at, ovf.buf);
        match decoder(&p).decode(&trace) {
            Err(DecodeError::Overflow { offset }) => assert_eq!(offset, at, "seed {seed}"),
            r => panic!("seed {seed}: OVF at {at} gave {r:?}"),
        }
    }
}

#[test]
fn cut_traces_give_a_prefix_or_an_error() {
    // A trace cut anywhere (the AUX data stopped early) never yields a wrong
    // block: the result is a prefix of the truth, whose last block may be cut
    // short, or a clean error.
    for seed in 0..40u64 {
        let mut rng = Rng::new(seed);
        let p = Program::generate(&mut rng, BASES[0], 5);
        let (truth, trace) = p.walk(&mut rng, 400, &WalkOpts::default());
        for _ in 0..20 {
            let cut = rng.below(trace.len());
            let Ok(got) = decoder(&p).decode(&trace[..cut]) else {
                continue;
            };
            let n = got.len();
            if n == 0 {
                continue;
            }
            assert_eq!(got[..n - 1], truth[..n - 1], "seed {seed} cut {cut}");
            assert_eq!(
                got[n - 1].start,
                truth[n - 1].start,
                "seed {seed} cut {cut}"
            );
            assert!(got[n - 1].end <= truth[n - 1].end, "seed {seed} cut {cut}");
        }
    }
}

#[test]
fn corrupted_flow_packets_are_never_silently_accepted_as_the_same_trace() {
    // Replace one TIP's target by a different block start: the result must
    // differ from the truth or be an error. (A decoder that ignored TIPs
    // would pass the exact tests on many walks; this catches it.)
    let mut differing = 0;
    for seed in 0..40u64 {
        let mut rng = Rng::new(seed);
        let p = Program::generate(&mut rng, BASES[0], 6);
        let (truth, trace) = p.walk(&mut rng, 300, &WalkOpts::default());
        // Drop one TNT packet: everything after it shifts.
        let tnts: Vec<(usize, usize)> = Packets::new(&trace)
            .map(|r| r.unwrap())
            .zip(boundaries(&trace).into_iter().skip(1).chain([trace.len()]))
            .filter(|((_, pk), _)| matches!(pk, hwt::packet::Packet::Tnt(_)))
            .map(|((o, _), e)| (o, e))
            .collect();
        if tnts.is_empty() {
            continue;
        }
        let (s, e) = tnts[rng.below(tnts.len())];
        let mut bad = trace.clone();
        bad.drain(s..e);
        match decoder(&p).decode(&bad) {
            Ok(got) => {
                assert_ne!(got, truth, "seed {seed}: a dropped TNT went unnoticed");
                differing += 1;
            }
            Err(_) => differing += 1,
        }
    }
    assert!(differing > 0);
}

/// Hand-built code for targeted cases:
/// ```text
/// 0x1000: je 0x1004      74 02
/// 0x1002: jmp rax        ff e0
/// 0x1004: ret            c3
/// 0x1005: jmp 0x1005     eb fe
/// 0x1007: ud2            0f 0b
/// 0x1009: jmp 0x2000     e9 (rel32) -- leaves the code
/// ```
fn small() -> FlowDecoder<BufferCode> {
    let mut bytes = vec![0x74, 0x02, 0xff, 0xe0, 0xc3, 0xeb, 0xfe, 0x0f, 0x0b, 0xe9];
    bytes.extend((0x2000i32 - 0x100e).to_le_bytes());
    FlowDecoder::new(BufferCode {
        base: 0x1000,
        bytes,
    })
}

fn start(e: &mut Encoder, ip: u64) {
    e.psb();
    e.psbend();
    e.ip(IpKind::TipPge, ip, IpCompression::Full);
}

#[test]
fn hand_built_streams() {
    let b = |start, end| Block { start, end };
    // je taken, ret to 0x1002, je... : je(T) -> ret(TIP 0x1000) -> je(N) -> jmp rax (TIP 0x1004) -> ret PGD.
    let mut e = Encoder::new();
    start(&mut e, 0x1000);
    e.tnt(&[true]);
    e.ip(IpKind::Tip, 0x1000, IpCompression::Update16);
    e.tnt(&[false]);
    e.ip(IpKind::Tip, 0x1004, IpCompression::Update32);
    e.ip(IpKind::TipPgd, 0, IpCompression::Suppressed);
    assert_eq!(
        small().decode(&e.buf).unwrap(),
        [
            b(0x1000, 0x1002),
            b(0x1004, 0x1005),
            b(0x1000, 0x1002),
            b(0x1002, 0x1004),
            b(0x1004, 0x1005)
        ]
    );
}

fn decode_err(f: impl FnOnce(&mut Encoder)) -> DecodeError {
    let mut e = Encoder::new();
    f(&mut e);
    small().decode(&e.buf).unwrap_err()
}

#[test]
fn mismatches_are_errors() {
    // A TIP where the conditional branch needs a TNT bit.
    let e = decode_err(|e| {
        start(e, 0x1000);
        e.ip(IpKind::Tip, 0x1004, IpCompression::Full);
    });
    assert!(
        matches!(&e, DecodeError::Desync { ip: 0x1000, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("expects TNT"), "{e}");
    // TNT bits left over at an indirect branch.
    let e = decode_err(|e| {
        start(e, 0x1000);
        e.tnt(&[false, true]);
        e.ip(IpKind::Tip, 0x1004, IpCompression::Full);
    });
    assert!(e.to_string().contains("TNT bits left"), "{e}");
    // Non-64-bit code.
    let e = decode_err(|e| {
        e.psb();
        e.mode_exec(false, true);
        e.psbend();
    });
    assert_eq!(e, DecodeError::UnsupportedMode { offset: 16 });
    // Reaching ud2 with no event (and more trace after it).
    let e = decode_err(|e| {
        start(e, 0x1007);
        e.tnt(&[true]);
    });
    assert!(e.to_string().contains("exception-raising"), "{e}");
    // A TIP into code that is not there.
    let e = decode_err(|e| {
        start(e, 0x1002);
        e.ip(IpKind::Tip, 0x9000, IpCompression::Full);
        e.tnt(&[true]);
    });
    assert_eq!(e, DecodeError::NoCode { ip: 0x9000 });
    // A direct jump out of the readable code.
    let e = decode_err(|e| {
        start(e, 0x1009);
        e.tnt(&[true]);
    });
    assert_eq!(e, DecodeError::NoCode { ip: 0x2000 });
    // `jmp .` followed by a packet: the walker must not spin forever.
    let e = decode_err(|e| {
        start(e, 0x1005);
        e.tnt(&[true]);
    });
    assert!(e.to_string().contains("endless"), "{e}");
    // TNT before any synchronisation.
    let e = decode_err(|e| e.tnt(&[true]));
    assert!(e.to_string().contains("before synchronisation"), "{e}");
    // Bad packet bytes.
    let mut bad = Encoder::new();
    start(&mut bad, 0x1000);
    bad.buf.extend([0x02, 0xff]);
    assert!(matches!(
        small().decode(&bad.buf),
        Err(DecodeError::Packet(_))
    ));
}

#[test]
fn jmp_self_then_end_of_trace_stops() {
    // `jmp .` with no more packets: the walk stops at the end of the trace.
    let mut e = Encoder::new();
    start(&mut e, 0x1005);
    assert_eq!(small().decode(&e.buf).unwrap(), []);
}
