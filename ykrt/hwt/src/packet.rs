//! The Intel PT packet layer: split a byte stream into packets.
//!
//! Encodings follow the Intel SDM, Vol. 3C, chapter "Intel Processor Trace",
//! section "Packet Definitions"; the unit tests below use the byte encodings
//! given there (and in Linux perf's packet decoder test, which lists every form).
//!
//! Packets that matter for control flow are decoded into [Packet] variants;
//! timing, power and virtualisation packets are recognised and skipped by their
//! length ([Packet::Skipped]). Packets whose length depends on state this
//! decoder does not keep (the PEBS-in-PT `BBP`/`BIP`/`BEP` group) are an error:
//! the collector never enables them.

use std::fmt;

/// How an IP packet's payload is combined with the last IP (the `IPBytes`
/// field, bits 7:5 of the header byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpCompression {
    /// `000`: no payload; the IP is out of context (suppressed).
    Suppressed,
    /// `001`: 2 bytes replace bits 15:0 of the last IP.
    Update16,
    /// `010`: 4 bytes replace bits 31:0 of the last IP.
    Update32,
    /// `011`: 6 bytes, sign-extended from bit 47.
    Sext48,
    /// `100`: 6 bytes replace bits 47:0 of the last IP.
    Update48,
    /// `110`: 8 bytes, the full IP.
    Full,
}

impl IpCompression {
    /// The `IPBytes` field value for this form.
    pub fn ipbytes(self) -> u8 {
        match self {
            IpCompression::Suppressed => 0b000,
            IpCompression::Update16 => 0b001,
            IpCompression::Update32 => 0b010,
            IpCompression::Sext48 => 0b011,
            IpCompression::Update48 => 0b100,
            IpCompression::Full => 0b110,
        }
    }

    /// The form for an `IPBytes` field value, or `None` for the reserved
    /// values `101` and `111`.
    pub fn from_ipbytes(v: u8) -> Option<Self> {
        Some(match v {
            0b000 => IpCompression::Suppressed,
            0b001 => IpCompression::Update16,
            0b010 => IpCompression::Update32,
            0b011 => IpCompression::Sext48,
            0b100 => IpCompression::Update48,
            0b110 => IpCompression::Full,
            _ => return None,
        })
    }

    /// Payload length in bytes.
    pub fn payload_len(self) -> usize {
        match self {
            IpCompression::Suppressed => 0,
            IpCompression::Update16 => 2,
            IpCompression::Update32 => 4,
            IpCompression::Sext48 | IpCompression::Update48 => 6,
            IpCompression::Full => 8,
        }
    }
}

/// The raw contents of an IP-carrying packet (TIP, TIP.PGE, TIP.PGD, FUP).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpPayload {
    /// How to reconstruct the IP.
    pub compression: IpCompression,
    /// The payload bytes as a little-endian number (0 when suppressed).
    pub payload: u64,
}

/// The decoder-side "last IP" register that compressed IPs are relative to.
///
/// It starts at zero, is reset to zero by a PSB, and is not changed by a
/// suppressed IP (SDM: "Last IP is not cleared, and instead refers to the last
/// IP packet with a non-zero IPBytes field").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LastIp(pub u64);

impl LastIp {
    /// Reconstruct the IP of `p` and update the register; `None` if suppressed.
    pub fn apply(&mut self, p: IpPayload) -> Option<u64> {
        let last = self.0;
        let ip = match p.compression {
            IpCompression::Suppressed => return None,
            IpCompression::Update16 => (last & !0xffff) | p.payload,
            IpCompression::Update32 => (last & !0xffff_ffff) | p.payload,
            IpCompression::Sext48 => ((p.payload << 16) as i64 >> 16) as u64,
            IpCompression::Update48 => (last & !0xffff_ffff_ffff) | p.payload,
            IpCompression::Full => p.payload,
        };
        self.0 = ip;
        Some(ip)
    }
}

/// A run of taken/not-taken bits from a short or long TNT packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tnt {
    /// The bits, oldest in bit `len - 1`, youngest in bit 0.
    pub bits: u64,
    /// How many bits are valid (1..=6 for short TNT, 1..=47 for long TNT; a
    /// long TNT may also carry 0).
    pub len: u8,
}

impl Tnt {
    /// The bits oldest first (`true` = taken).
    pub fn iter(self) -> impl Iterator<Item = bool> {
        (0..self.len).rev().map(move |i| (self.bits >> i) & 1 == 1)
    }
}

/// Packets the decoder recognises but only skips.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkippedKind {
    /// Time stamp counter.
    Tsc,
    /// Mini time counter.
    Mtc,
    /// Cycle count.
    Cyc,
    /// Paging information (CR3).
    Pip,
    /// Trace stop (address-range stop).
    TraceStop,
    /// VMCS pointer.
    Vmcs,
    /// TSC/MTC alignment.
    Tma,
    /// Maintenance.
    Mnt,
    /// PTWRITE payload; `ip` says whether a FUP binding it follows.
    Ptw {
        /// A FUP with the PTWRITE's IP follows.
        ip: bool,
    },
    /// Execution stop; `ip` says whether a FUP binding it follows.
    Exstop {
        /// A FUP with the IP follows.
        ip: bool,
    },
    /// MWAIT hints.
    Mwait,
    /// Power entry.
    Pwre,
    /// Power exit.
    Pwrx,
    /// Control-flow event (event tracing).
    Cfe,
    /// Event data (event tracing).
    Evd,
}

/// One Intel PT packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packet {
    /// Padding (`00`).
    Pad,
    /// Packet stream boundary (`02 82` x 8): a synchronisation point.
    Psb,
    /// End of the PSB+ status packets (`02 23`).
    PsbEnd,
    /// Taken/not-taken bits of conditional branches.
    Tnt(Tnt),
    /// Target IP of an indirect branch, return, far transfer or async event.
    Tip(IpPayload),
    /// Packet generation enabled, at the given IP.
    TipPge(IpPayload),
    /// Packet generation disabled.
    TipPgd(IpPayload),
    /// Flow update: the source IP of an async event, or a status IP in PSB+.
    Fup(IpPayload),
    /// MODE.Exec: the execution mode that applies from the next TIP/TIP.PGE.
    ModeExec {
        /// CS.L: 64-bit code.
        csl: bool,
        /// CS.D: 32-bit default operand size.
        csd: bool,
    },
    /// MODE.TSX: transactional state.
    ModeTsx {
        /// In a transaction.
        intx: bool,
        /// The transaction aborted (a FUP and TIP follow).
        txabort: bool,
    },
    /// Core:bus ratio.
    Cbr(u8),
    /// Internal buffer overflow: packets were lost.
    Ovf,
    /// A packet recognised only to be skipped.
    Skipped(SkippedKind),
}

/// Why bytes could not be split into packets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PacketError {
    /// The stream ends inside a packet.
    Truncated {
        /// Offset of the packet's first byte.
        offset: usize,
    },
    /// Bytes that are no packet this decoder knows.
    Unknown {
        /// Offset of the packet's first byte.
        offset: usize,
        /// Up to the first two bytes.
        bytes: [u8; 2],
    },
    /// A reserved `IPBytes` value.
    ReservedIpBytes {
        /// Offset of the packet's first byte.
        offset: usize,
    },
    /// A known packet this decoder does not support (e.g. PEBS-in-PT blocks).
    Unsupported {
        /// Offset of the packet's first byte.
        offset: usize,
        /// The packet's name.
        what: &'static str,
    },
}

impl fmt::Display for PacketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PacketError::Truncated { offset } => {
                write!(f, "trace ends inside the packet at offset {offset}")
            }
            PacketError::Unknown { offset, bytes } => write!(
                f,
                "unknown packet at offset {offset} (bytes {:02x} {:02x})",
                bytes[0], bytes[1]
            ),
            PacketError::ReservedIpBytes { offset } => {
                write!(f, "reserved IPBytes value in the packet at offset {offset}")
            }
            PacketError::Unsupported { offset, what } => {
                write!(f, "unsupported {what} packet at offset {offset}")
            }
        }
    }
}

impl std::error::Error for PacketError {}

/// The 16-byte PSB pattern.
pub const PSB: [u8; 16] = [
    0x02, 0x82, 0x02, 0x82, 0x02, 0x82, 0x02, 0x82, 0x02, 0x82, 0x02, 0x82, 0x02, 0x82, 0x02, 0x82,
];

fn le(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

/// Parse the packet at the start of `buf`; `offset` is only used in errors.
/// Returns the packet and its length in bytes.
pub fn parse(buf: &[u8], offset: usize) -> Result<(Packet, usize), PacketError> {
    let need = |n: usize| {
        if buf.len() < n {
            Err(PacketError::Truncated { offset })
        } else {
            Ok(())
        }
    };
    let b0 = buf[0];
    if b0 & 1 == 0 {
        // Bit 0 clear: PAD, short TNT, or the 0x02 escape.
        if b0 == 0x00 {
            return Ok((Packet::Pad, 1));
        }
        if b0 != 0x02 {
            // Short TNT: header bit 0 is 0, the stop bit is the highest set bit.
            let v = u64::from(b0 >> 1);
            let len = 63 - v.leading_zeros() as u8;
            let bits = v & ((1u64 << len) - 1);
            return Ok((Packet::Tnt(Tnt { bits, len }), 1));
        }
        need(2)?;
        return parse_ext(buf, offset);
    }
    if b0 & 0b11 == 0b11 {
        // CYC: bit 2 says another byte follows; each following byte's bit 0 too.
        let mut len = 1;
        let mut more = b0 & 0b100 != 0;
        while more {
            need(len + 1)?;
            more = buf[len] & 1 != 0;
            len += 1;
        }
        return Ok((Packet::Skipped(SkippedKind::Cyc), len));
    }
    match b0 {
        0x19 => {
            need(8)?;
            return Ok((Packet::Skipped(SkippedKind::Tsc), 8));
        }
        0x59 => {
            need(2)?;
            return Ok((Packet::Skipped(SkippedKind::Mtc), 2));
        }
        0x99 => {
            need(2)?;
            let p = buf[1];
            return match p >> 5 {
                0b000 => Ok((
                    Packet::ModeExec {
                        csl: p & 1 != 0,
                        csd: p & 2 != 0,
                    },
                    2,
                )),
                0b001 => Ok((
                    Packet::ModeTsx {
                        intx: p & 1 != 0,
                        txabort: p & 2 != 0,
                    },
                    2,
                )),
                _ => Err(PacketError::Unknown {
                    offset,
                    bytes: [b0, p],
                }),
            };
        }
        _ => (),
    }
    // The IP packets: header bits 4:0 name the packet, bits 7:5 are IPBytes.
    let ctor: fn(IpPayload) -> Packet = match b0 & 0x1f {
        0x0d => Packet::Tip,
        0x11 => Packet::TipPge,
        0x01 => Packet::TipPgd,
        0x1d => Packet::Fup,
        _ => {
            return Err(PacketError::Unknown {
                offset,
                bytes: [b0, buf.get(1).copied().unwrap_or(0)],
            })
        }
    };
    let compression =
        IpCompression::from_ipbytes(b0 >> 5).ok_or(PacketError::ReservedIpBytes { offset })?;
    let n = compression.payload_len();
    need(1 + n)?;
    let payload = le(&buf[1..1 + n]);
    Ok((
        ctor(IpPayload {
            compression,
            payload,
        }),
        1 + n,
    ))
}

/// Packets that start `02 xx`.
fn parse_ext(buf: &[u8], offset: usize) -> Result<(Packet, usize), PacketError> {
    let need = |n: usize| {
        if buf.len() < n {
            Err(PacketError::Truncated { offset })
        } else {
            Ok(())
        }
    };
    let b1 = buf[1];
    let skip = |k, n: usize| need(n).map(|_| (Packet::Skipped(k), n));
    match b1 {
        0x82 => {
            need(16)?;
            if buf[..16] != PSB {
                return Err(PacketError::Unknown {
                    offset,
                    bytes: [0x02, 0x82],
                });
            }
            Ok((Packet::Psb, 16))
        }
        0x23 => Ok((Packet::PsbEnd, 2)),
        0xa3 => {
            need(8)?;
            let v = le(&buf[2..8]);
            if v == 0 {
                // No stop bit: malformed.
                return Err(PacketError::Unknown {
                    offset,
                    bytes: [0x02, 0xa3],
                });
            }
            let len = 63 - v.leading_zeros() as u8;
            Ok((
                Packet::Tnt(Tnt {
                    bits: v & ((1u64 << len) - 1),
                    len,
                }),
                8,
            ))
        }
        0x03 => {
            need(4)?;
            Ok((Packet::Cbr(buf[2]), 4))
        }
        0xf3 => Ok((Packet::Ovf, 2)),
        0x43 => skip(SkippedKind::Pip, 8),
        0x83 => skip(SkippedKind::TraceStop, 2),
        0xc8 => skip(SkippedKind::Vmcs, 7),
        0x73 => skip(SkippedKind::Tma, 7),
        0xc3 => {
            need(3)?;
            if buf[2] != 0x88 {
                return Err(PacketError::Unknown {
                    offset,
                    bytes: [0x02, 0xc3],
                });
            }
            skip(SkippedKind::Mnt, 11)
        }
        0x62 => skip(SkippedKind::Exstop { ip: false }, 2),
        0xe2 => skip(SkippedKind::Exstop { ip: true }, 2),
        0xc2 => skip(SkippedKind::Mwait, 10),
        0x22 => skip(SkippedKind::Pwre, 4),
        0xa2 => skip(SkippedKind::Pwrx, 7),
        0x13 => skip(SkippedKind::Cfe, 4),
        0x53 => skip(SkippedKind::Evd, 11),
        0x63 => Err(PacketError::Unsupported {
            offset,
            what: "BBP",
        }),
        0x33 | 0xb3 => Err(PacketError::Unsupported {
            offset,
            what: "BEP",
        }),
        _ if b1 & 0x1f == 0x12 => {
            // PTW: bit 7 = IP, bits 6:5 = PayloadBytes (00: 4, 01: 8).
            let n = match (b1 >> 5) & 0b11 {
                0b00 => 4,
                0b01 => 8,
                _ => {
                    return Err(PacketError::Unknown {
                        offset,
                        bytes: [0x02, b1],
                    })
                }
            };
            skip(SkippedKind::Ptw { ip: b1 & 0x80 != 0 }, 2 + n)
        }
        _ => Err(PacketError::Unknown {
            offset,
            bytes: [0x02, b1],
        }),
    }
}

/// An iterator over the packets of a byte stream, with their offsets.
pub struct Packets<'a> {
    buf: &'a [u8],
    off: usize,
}

impl<'a> Packets<'a> {
    /// Iterate over the packets of `buf` from its start.
    pub fn new(buf: &'a [u8]) -> Self {
        Packets { buf, off: 0 }
    }

    /// The offset of the next packet.
    pub fn offset(&self) -> usize {
        self.off
    }
}

impl Iterator for Packets<'_> {
    type Item = Result<(usize, Packet), PacketError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.off >= self.buf.len() {
            return None;
        }
        let off = self.off;
        match parse(&self.buf[off..], off) {
            Ok((p, n)) => {
                self.off += n;
                Some(Ok((off, p)))
            }
            Err(e) => {
                // Stop after an error: nothing after it can be trusted.
                self.off = self.buf.len();
                Some(Err(e))
            }
        }
    }
}

/// The offset of the first PSB at or after `from`, to start decoding from a
/// synchronisation point.
pub fn find_psb(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(PSB.len())
        .position(|w| w == PSB)
        .map(|p| p + from)
}

#[cfg(test)]
mod tests {
    //! Byte encodings from the Intel SDM Vol. 3C packet definitions (the same
    //! forms perf's "Intel PT packet decoder" self-test lists).
    use super::*;

    fn one(bytes: &[u8]) -> Packet {
        let (p, n) = parse(bytes, 0).unwrap();
        assert_eq!(n, bytes.len(), "length of {bytes:02x?}");
        p
    }

    fn tnt(p: Packet) -> Vec<bool> {
        match p {
            Packet::Tnt(t) => t.iter().collect(),
            p => panic!("not TNT: {p:?}"),
        }
    }

    #[test]
    fn pad_psb_psbend_ovf_cbr() {
        assert_eq!(one(&[0x00]), Packet::Pad);
        assert_eq!(one(&PSB), Packet::Psb);
        assert_eq!(one(&[0x02, 0x23]), Packet::PsbEnd);
        assert_eq!(one(&[0x02, 0xf3]), Packet::Ovf);
        assert_eq!(one(&[0x02, 0x03, 0x12, 0x00]), Packet::Cbr(0x12));
    }

    #[test]
    fn short_tnt() {
        // 0000_0100: stop bit at bit 2, one bit N.
        assert_eq!(tnt(one(&[0x04])), [false]);
        assert_eq!(tnt(one(&[0x06])), [true]);
        assert_eq!(tnt(one(&[0x80])), [false; 6]);
        assert_eq!(tnt(one(&[0xfe])), [true; 6]);
        // 0001_0110 = stop, B1=0, B2=1, B3=1: oldest first.
        assert_eq!(tnt(one(&[0b0001_0110])), [false, true, true]);
        // 1100_1010: B1..B6 = 1,0,0,1,0,1.
        assert_eq!(
            tnt(one(&[0b1100_1010])),
            [true, false, false, true, false, true]
        );
    }

    #[test]
    fn long_tnt() {
        assert_eq!(tnt(one(&[0x02, 0xa3, 0x02, 0, 0, 0, 0, 0])), [false]);
        assert_eq!(tnt(one(&[0x02, 0xa3, 0x03, 0, 0, 0, 0, 0])), [true]);
        assert_eq!(
            tnt(one(&[0x02, 0xa3, 0, 0, 0, 0, 0, 0x80])),
            [false; 47].to_vec()
        );
        assert_eq!(
            tnt(one(&[0x02, 0xa3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])),
            [true; 47].to_vec()
        );
        // Stop bit at payload bit 3: B1=1, B2=0, B3=1 (youngest at bit 0).
        assert_eq!(
            tnt(one(&[0x02, 0xa3, 0b1101, 0, 0, 0, 0, 0])),
            [true, false, true]
        );
        // A long TNT without a stop bit is malformed.
        assert!(parse(&[0x02, 0xa3, 0, 0, 0, 0, 0, 0], 0).is_err());
    }

    fn ip(p: Packet) -> IpPayload {
        match p {
            Packet::Tip(x) | Packet::TipPge(x) | Packet::TipPgd(x) | Packet::Fup(x) => x,
            p => panic!("not an IP packet: {p:?}"),
        }
    }

    #[test]
    fn ip_packets_every_form() {
        // Header low 5 bits: TIP 01101, TIP.PGE 10001, TIP.PGD 00001, FUP 11101.
        type Ctor = fn(IpPayload) -> Packet;
        let kinds: [(u8, Ctor); 4] = [
            (0x0d, Packet::Tip),
            (0x11, Packet::TipPge),
            (0x01, Packet::TipPgd),
            (0x1d, Packet::Fup),
        ];
        let forms = [
            (0b000, IpCompression::Suppressed, 0u64),
            (0b001, IpCompression::Update16, 0x0201),
            (0b010, IpCompression::Update32, 0x0403_0201),
            (0b011, IpCompression::Sext48, 0x0605_0403_0201),
            (0b100, IpCompression::Update48, 0x0605_0403_0201),
            (0b110, IpCompression::Full, 0x0807_0605_0403_0201),
        ];
        for (hdr, ctor) in kinds {
            for (ipbytes, compression, payload) in forms {
                let mut bytes = vec![hdr | (ipbytes << 5)];
                bytes.extend((1..=compression.payload_len() as u8).collect::<Vec<_>>());
                assert_eq!(
                    one(&bytes),
                    ctor(IpPayload {
                        compression,
                        payload
                    }),
                    "{bytes:02x?}"
                );
            }
            // IPBytes 101 and 111 are reserved.
            for reserved in [0b101u8, 0b111] {
                let b = [hdr | (reserved << 5), 0, 0, 0, 0, 0, 0, 0, 0];
                assert_eq!(
                    parse(&b, 7),
                    Err(PacketError::ReservedIpBytes { offset: 7 })
                );
            }
        }
        // The SDM's examples of the encodings byte by byte.
        assert_eq!(
            ip(one(&[0x2d, 0x01, 0x02])).compression,
            IpCompression::Update16
        );
        assert_eq!(
            ip(one(&[0xcd, 1, 2, 3, 4, 5, 6, 7, 8])).payload,
            0x0807_0605_0403_0201
        );
    }

    #[test]
    fn last_ip_reconstruction() {
        let p = |compression, payload| IpPayload {
            compression,
            payload,
        };
        let mut l = LastIp(0x1122_3344_5566_7788);
        assert_eq!(l.apply(p(IpCompression::Suppressed, 0)), None);
        assert_eq!(l.0, 0x1122_3344_5566_7788, "suppressed IP keeps last IP");
        assert_eq!(
            l.apply(p(IpCompression::Update16, 0xabcd)),
            Some(0x1122_3344_5566_abcd)
        );
        assert_eq!(
            l.apply(p(IpCompression::Update32, 0x0bad_f00d)),
            Some(0x1122_3344_0bad_f00d)
        );
        assert_eq!(
            l.apply(p(IpCompression::Update48, 0x7fff_0000_1000)),
            Some(0x1122_7fff_0000_1000)
        );
        // Sign extension of bit 47, both ways.
        assert_eq!(
            l.apply(p(IpCompression::Sext48, 0x8000_0000_1000)),
            Some(0xffff_8000_0000_1000)
        );
        assert_eq!(
            l.apply(p(IpCompression::Sext48, 0x5555_0000_1000)),
            Some(0x0000_5555_0000_1000)
        );
        assert_eq!(
            l.apply(p(IpCompression::Full, 0xdead_beef_0000_0001)),
            Some(0xdead_beef_0000_0001)
        );
        assert_eq!(l.0, 0xdead_beef_0000_0001);
    }

    #[test]
    fn mode_packets() {
        assert_eq!(
            one(&[0x99, 0x01]),
            Packet::ModeExec {
                csl: true,
                csd: false
            }
        );
        assert_eq!(
            one(&[0x99, 0x02]),
            Packet::ModeExec {
                csl: false,
                csd: true
            }
        );
        // Bit 2 (IF) is ignored.
        assert_eq!(
            one(&[0x99, 0x05]),
            Packet::ModeExec {
                csl: true,
                csd: false
            }
        );
        assert_eq!(
            one(&[0x99, 0x21]),
            Packet::ModeTsx {
                intx: true,
                txabort: false
            }
        );
        assert_eq!(
            one(&[0x99, 0x22]),
            Packet::ModeTsx {
                intx: false,
                txabort: true
            }
        );
        assert!(parse(&[0x99, 0x40], 0).is_err(), "unknown MODE leaf");
    }

    #[test]
    fn skipped_packets_by_length() {
        use SkippedKind::*;
        let cases: &[(&[u8], SkippedKind)] = &[
            (&[0x19, 1, 2, 3, 4, 5, 6, 7], Tsc),
            (&[0x59, 0x12], Mtc),
            (&[0x03], Cyc),
            (&[0xfb], Cyc),
            (&[0x07, 0x02], Cyc),
            (&[0xff, 0xff, 0xfe], Cyc),
            (&[0x07, 1, 1, 1, 1, 1, 1, 1, 2], Cyc),
            (
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0e],
                Cyc,
            ),
            (&[0x02, 0x43, 2, 4, 6, 8, 10, 12], Pip),
            (&[0x02, 0x83], TraceStop),
            (&[0x02, 0xc8, 1, 2, 3, 4, 5], Vmcs),
            (&[0x02, 0x73, 0x80, 0xc0, 0, 0xff, 1], Tma),
            (&[0x02, 0xc3, 0x88, 1, 2, 3, 4, 5, 6, 7, 0], Mnt),
            (&[0x02, 0x12, 1, 2, 3, 4], Ptw { ip: false }),
            (&[0x02, 0x32, 1, 2, 3, 4, 5, 6, 7, 8], Ptw { ip: false }),
            (&[0x02, 0x92, 1, 2, 3, 4], Ptw { ip: true }),
            (&[0x02, 0xb2, 1, 2, 3, 4, 5, 6, 7, 8], Ptw { ip: true }),
            (&[0x02, 0x62], Exstop { ip: false }),
            (&[0x02, 0xe2], Exstop { ip: true }),
            (&[0x02, 0xc2, 1, 2, 3, 4, 5, 6, 7, 8], Mwait),
            (&[0x02, 0x22, 0x80, 0x34], Pwre),
            (&[0x02, 0xa2, 1, 2, 3, 4, 5], Pwrx),
            (&[0x02, 0x13, 0x81, 0x03], Cfe),
            (&[0x02, 0x53, 9, 1, 2, 3, 4, 5, 6, 7, 0], Evd),
        ];
        for (bytes, kind) in cases {
            assert_eq!(one(bytes), Packet::Skipped(*kind), "{bytes:02x?}");
        }
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse(&[0x02, 0xa3, 1, 2], 5),
            Err(PacketError::Truncated { offset: 5 })
        );
        assert_eq!(
            parse(&[0x4d, 1, 2], 0),
            Err(PacketError::Truncated { offset: 0 })
        );
        assert_eq!(parse(&[0x02], 0), Err(PacketError::Truncated { offset: 0 }));
        assert!(matches!(
            parse(&[0x02, 0x63, 0x00], 0),
            Err(PacketError::Unsupported { what: "BBP", .. })
        ));
        assert!(matches!(
            parse(&[0x02, 0xff], 0),
            Err(PacketError::Unknown { .. })
        ));
        // 0x05 has bits 1:0 = 01 but is no IP packet.
        assert!(matches!(
            parse(&[0x05], 0),
            Err(PacketError::Unknown { .. })
        ));
        // A PSB cut short or corrupted is not a PSB.
        let mut bad = PSB;
        bad[9] = 0x83;
        assert!(parse(&bad, 0).is_err());
    }

    #[test]
    fn packet_iterator_and_psb_search() {
        let mut s = vec![0x00, 0x00];
        s.extend(PSB);
        s.extend([0x02, 0x23, 0x06, 0x2d, 0x34, 0x12]);
        let ps: Vec<_> = Packets::new(&s).map(|r| r.unwrap()).collect();
        assert_eq!(ps.len(), 6);
        assert_eq!(ps[2], (2, Packet::Psb));
        assert_eq!(ps[3], (18, Packet::PsbEnd));
        assert_eq!(find_psb(&s, 0), Some(2));
        assert_eq!(find_psb(&s, 3), None);
        // An error ends the iteration.
        let mut it = Packets::new(&[0x02, 0xff, 0x00]);
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none());
    }
}
