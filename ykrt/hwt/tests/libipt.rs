//! Differential test of our packet parser against Intel's libipt (Debian
//! `libipt-dev` 2.0.5, linked only into this test): the synthesised streams
//! of `tests/decode.rs` (every packet kind the model emits, every IP
//! compression, short and long TNTs, PSB+, events) are parsed by both, and
//! every packet must agree in kind, size and payload.
//!
//! The FFI declarations mirror `/usr/include/intel-pt.h` (libipt 2.0): the
//! layouts used (`struct pt_config` 280 bytes with `begin`/`end` at 8/16,
//! `struct pt_packet` 24 bytes with the payload at 8) were checked with a C
//! program against that header.

mod synth;

use hwt::packet::{Packet, Packets, SkippedKind};
use std::ffi::c_int;
use synth::{Program, Rng, WalkOpts};

#[repr(C, align(8))]
struct PtConfig([u8; 280]);

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
struct PtPacket {
    ty: u32,
    size: u8,
    _pad: [u8; 3],
    payload: [u64; 2],
}

#[link(name = "ipt")]
extern "C" {
    fn pt_pkt_alloc_decoder(config: *const PtConfig) -> *mut std::ffi::c_void;
    fn pt_pkt_free_decoder(d: *mut std::ffi::c_void);
    fn pt_pkt_sync_set(d: *mut std::ffi::c_void, offset: u64) -> c_int;
    fn pt_pkt_next(d: *mut std::ffi::c_void, p: *mut PtPacket, size: usize) -> c_int;
}

// enum pt_packet_type
const PPT_PAD: u32 = 2;
const PPT_PSB: u32 = 3;
const PPT_PSBEND: u32 = 4;
const PPT_FUP: u32 = 5;
const PPT_TIP: u32 = 6;
const PPT_TIP_PGE: u32 = 7;
const PPT_TIP_PGD: u32 = 8;
const PPT_TNT_8: u32 = 9;
const PPT_TNT_64: u32 = 10;
const PPT_MODE: u32 = 11;
const PPT_CBR: u32 = 14;
const PPT_TSC: u32 = 15;
const PPT_MTC: u32 = 17;
const PPT_CYC: u32 = 18;
const PPT_OVF: u32 = 20;
/// `-pte_eos`: the end of the buffer.
const PTE_EOS: c_int = -7;
/// `-pte_bad_packet`.
const PTE_BAD_PACKET: c_int = -5;
// enum pt_mode_leaf
const PT_MOL_EXEC: u32 = 0;
const PT_MOL_TSX: u32 = 0x20;

/// A libipt packet decoder over `buf`, at offset 0. The caller frees it
/// before `buf` goes away.
unsafe fn decoder(buf: &[u8]) -> *mut std::ffi::c_void {
    let mut cfg = PtConfig([0; 280]);
    cfg.0[..8].copy_from_slice(&280usize.to_ne_bytes());
    let begin = buf.as_ptr() as usize;
    cfg.0[8..16].copy_from_slice(&begin.to_ne_bytes());
    cfg.0[16..24].copy_from_slice(&(begin + buf.len()).to_ne_bytes());
    // SAFETY: `cfg` is a zeroed `struct pt_config` of the right size with
    // the buffer bounds set; libipt copies it.
    unsafe {
        let d = pt_pkt_alloc_decoder(&cfg);
        assert!(!d.is_null());
        assert_eq!(pt_pkt_sync_set(d, 0), 0);
        d
    }
}

/// All packets of `buf` according to libipt.
fn libipt_packets(buf: &[u8]) -> Result<Vec<PtPacket>, (c_int, usize)> {
    let mut out = vec![];
    // SAFETY: the decoder reads `buf`, which outlives it; the packet struct
    // is as large as libipt's.
    unsafe {
        let d = decoder(buf);
        loop {
            let mut p = PtPacket::default();
            let r = pt_pkt_next(d, &mut p, std::mem::size_of::<PtPacket>());
            if r == PTE_EOS {
                break;
            }
            if r < 0 {
                pt_pkt_free_decoder(d);
                return Err((r, out.len()));
            }
            out.push(p);
        }
        pt_pkt_free_decoder(d);
    }
    Ok(out)
}

/// libipt's first `n` packets of `buf` (which it fails to parse further).
fn libipt_prefix(buf: &[u8], n: usize) -> Vec<PtPacket> {
    let mut out = Vec::new();
    // SAFETY: as in `libipt_packets`.
    unsafe {
        let d = decoder(buf);
        for _ in 0..n {
            let mut p = PtPacket::default();
            assert!(pt_pkt_next(d, &mut p, std::mem::size_of::<PtPacket>()) >= 0);
            out.push(p);
        }
        pt_pkt_free_decoder(d);
    }
    out
}

/// Compares one of our packets with libipt's; `None` if they agree.
fn differ(ours: &Packet, size: usize, theirs: &PtPacket) -> Option<String> {
    if size != usize::from(theirs.size) {
        return Some(format!("size {size} vs {}", theirs.size));
    }
    let ip = |p: &hwt::packet::IpPayload, ty| {
        (theirs.ty == ty
            && u64::from(p.compression.ipbytes()) == theirs.payload[0] & 0xffff_ffff
            && p.payload == theirs.payload[1])
            .then_some(())
    };
    let mode_bits = theirs.payload[0] >> 32;
    let leaf = theirs.payload[0] as u32;
    let ok = match ours {
        Packet::Pad => (theirs.ty == PPT_PAD).then_some(()),
        Packet::Psb => (theirs.ty == PPT_PSB).then_some(()),
        Packet::PsbEnd => (theirs.ty == PPT_PSBEND).then_some(()),
        Packet::Ovf => (theirs.ty == PPT_OVF).then_some(()),
        Packet::Tip(p) => ip(p, PPT_TIP),
        Packet::TipPge(p) => ip(p, PPT_TIP_PGE),
        Packet::TipPgd(p) => ip(p, PPT_TIP_PGD),
        Packet::Fup(p) => ip(p, PPT_FUP),
        Packet::Tnt(t) => {
            // struct pt_packet_tnt: u8 bit_size, u64 payload (oldest bit
            // highest, as ours).
            let n = theirs.payload[0] as u8;
            ((theirs.ty == PPT_TNT_8 || theirs.ty == PPT_TNT_64)
                && n == t.len
                && theirs.payload[1] == t.bits)
                .then_some(())
        }
        Packet::ModeExec { csl, csd } => (theirs.ty == PPT_MODE
            && leaf == PT_MOL_EXEC
            && mode_bits & 1 == u64::from(*csl)
            && (mode_bits >> 1) & 1 == u64::from(*csd))
        .then_some(()),
        Packet::ModeTsx { intx, txabort } => (theirs.ty == PPT_MODE
            && leaf == PT_MOL_TSX
            && mode_bits & 1 == u64::from(*intx)
            && (mode_bits >> 1) & 1 == u64::from(*txabort))
        .then_some(()),
        Packet::Cbr(r) => (theirs.ty == PPT_CBR && theirs.payload[0] as u8 == *r).then_some(()),
        Packet::Skipped(SkippedKind::Tsc) => (theirs.ty == PPT_TSC).then_some(()),
        Packet::Skipped(SkippedKind::Mtc) => (theirs.ty == PPT_MTC).then_some(()),
        Packet::Skipped(SkippedKind::Cyc) => (theirs.ty == PPT_CYC).then_some(()),
        Packet::Skipped(k) => return Some(format!("{k:?} is not emitted by the model")),
    };
    match ok {
        Some(()) => None,
        None => Some(format!("{ours:?} vs {theirs:?}")),
    }
}

#[test]
fn packets_agree_with_libipt() {
    let opts = WalkOpts {
        psb_pct: 10,
        event_pct: 10,
        tsx_update_pct: 5,
    };
    let mut total = 0;
    let mut cyc_limit = 0;
    let mut kinds = std::collections::BTreeSet::new();
    for seed in 0..100u64 {
        let mut rng = Rng::new(seed);
        let nfuncs = 2 + rng.below(6);
        let p = Program::generate(&mut rng, 0x0000_5555_5555_0000 + (seed << 24), nfuncs);
        let steps = 50 + rng.below(1500);
        let (_, trace) = p.walk(&mut rng, steps, &opts);
        let ours: Vec<(usize, Packet)> = Packets::new(&trace)
            .map(|r| r.unwrap_or_else(|e| panic!("seed {seed}: {e}")))
            .collect();
        let size = |k: usize| ours.get(k + 1).map_or(trace.len(), |x| x.0) - ours[k].0;
        let (theirs, upto) = match libipt_packets(&trace) {
            Ok(t) => {
                let n = t.len();
                (t, n)
            }
            // libipt refuses CYC counters wider than 64 bits less one
            // 7-bit chunk (its `pt_pl_cyc_max_shl`); the SDM sets no limit
            // and we accept them. Real counters are far smaller. Compare
            // the packets before it.
            Err((PTE_BAD_PACKET, k))
                if matches!(ours.get(k), Some((_, Packet::Skipped(SkippedKind::Cyc))))
                    && size(k) >= 9 =>
            {
                cyc_limit += 1;
                (libipt_prefix(&trace, k), k)
            }
            Err((e, k)) => panic!(
                "seed {seed}: libipt error {e} at our packet {k}: {:?}",
                ours.get(k)
            ),
        };
        let all = &ours;
        let ours = &all[..upto];
        assert_eq!(ours.len(), theirs.len(), "seed {seed}: packet counts");
        for (k, ((off, p), t)) in ours.iter().zip(&theirs).enumerate() {
            let end = all.get(k + 1).map_or(trace.len(), |x| x.0);
            if let Some(d) = differ(p, end - off, t) {
                panic!("seed {seed}, packet {k} at offset {off}: {d}");
            }
            kinds.insert(t.ty);
        }
        total += ours.len();
    }
    // Every kind the model emits was seen.
    for k in [
        PPT_PAD,
        PPT_PSB,
        PPT_PSBEND,
        PPT_FUP,
        PPT_TIP,
        PPT_TIP_PGE,
        PPT_TIP_PGD,
        PPT_TNT_8,
        PPT_TNT_64,
        PPT_MODE,
        PPT_CBR,
        PPT_TSC,
        PPT_MTC,
        PPT_CYC,
    ] {
        assert!(kinds.contains(&k), "packet type {k} never generated");
    }
    println!("{total} packets agree; {cyc_limit} streams cut at a CYC wider than libipt reads");
    assert!(total > 50_000, "{total}");
}
