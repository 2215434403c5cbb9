//! A packet encoder: writes the packets an Intel PT unit would emit.
//!
//! Used to synthesise trace streams for the decoder's tests and benchmark on
//! machines without PT. It keeps the encoder-side last-IP register, so IP
//! compression is produced exactly as hardware would be allowed to.

use crate::packet::{IpCompression, PSB};

/// Which IP packet to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpKind {
    /// TIP.
    Tip,
    /// TIP.PGE.
    TipPge,
    /// TIP.PGD.
    TipPgd,
    /// FUP.
    Fup,
}

impl IpKind {
    fn header(self) -> u8 {
        match self {
            IpKind::Tip => 0x0d,
            IpKind::TipPge => 0x11,
            IpKind::TipPgd => 0x01,
            IpKind::Fup => 0x1d,
        }
    }
}

/// An Intel PT packet writer.
#[derive(Default)]
pub struct Encoder {
    /// The bytes written so far.
    pub buf: Vec<u8>,
    last_ip: u64,
}

impl Encoder {
    /// An empty stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// The IP compressions that can encode `ip` given the current last IP.
    pub fn ip_forms(&self, ip: u64) -> Vec<IpCompression> {
        let mut v = vec![IpCompression::Full];
        let last = self.last_ip;
        if ip >> 16 == last >> 16 {
            v.push(IpCompression::Update16);
        }
        if ip >> 32 == last >> 32 {
            v.push(IpCompression::Update32);
        }
        if ip >> 48 == last >> 48 {
            v.push(IpCompression::Update48);
        }
        if ((ip << 16) as i64 >> 16) as u64 == ip {
            v.push(IpCompression::Sext48);
        }
        v
    }

    /// Write an IP packet with compression `c`. Panics if `c` cannot encode
    /// `ip` (see [Encoder::ip_forms]); `ip` is ignored for `Suppressed`.
    pub fn ip(&mut self, kind: IpKind, ip: u64, c: IpCompression) {
        if c != IpCompression::Suppressed {
            assert!(
                self.ip_forms(ip).contains(&c),
                "{c:?} cannot encode {ip:#x} after {:#x}",
                self.last_ip
            );
            self.last_ip = ip;
        }
        self.buf.push(kind.header() | (c.ipbytes() << 5));
        self.buf
            .extend_from_slice(&ip.to_le_bytes()[..c.payload_len()]);
    }

    /// Write an IP packet with the shortest compression.
    pub fn ip_short(&mut self, kind: IpKind, ip: u64) {
        let c = [
            IpCompression::Update16,
            IpCompression::Update32,
            IpCompression::Update48,
            IpCompression::Sext48,
        ]
        .into_iter()
        .find(|c| self.ip_forms(ip).contains(c))
        .unwrap_or(IpCompression::Full);
        self.ip(kind, ip, c)
    }

    /// PAD.
    pub fn pad(&mut self) {
        self.buf.push(0);
    }

    /// PSB; resets the last IP, as the hardware does.
    pub fn psb(&mut self) {
        self.buf.extend_from_slice(&PSB);
        self.last_ip = 0;
    }

    /// PSBEND.
    pub fn psbend(&mut self) {
        self.buf.extend_from_slice(&[0x02, 0x23]);
    }

    /// A TNT packet of `bits` (oldest first): short for up to 6 bits, long for
    /// 7 to 47.
    pub fn tnt(&mut self, bits: &[bool]) {
        assert!(
            !bits.is_empty() && bits.len() <= 47,
            "TNT of {} bits",
            bits.len()
        );
        let v = bits.iter().fold(1u64, |acc, &b| (acc << 1) | u64::from(b));
        if bits.len() <= 6 {
            self.buf.push((v << 1) as u8);
        } else {
            self.tnt_long_raw(v);
        }
    }

    /// A long TNT packet even for few bits (hardware may emit either).
    pub fn tnt_long(&mut self, bits: &[bool]) {
        assert!(!bits.is_empty() && bits.len() <= 47);
        let v = bits.iter().fold(1u64, |acc, &b| (acc << 1) | u64::from(b));
        self.tnt_long_raw(v);
    }

    fn tnt_long_raw(&mut self, v: u64) {
        self.buf.extend_from_slice(&[0x02, 0xa3]);
        self.buf.extend_from_slice(&v.to_le_bytes()[..6]);
    }

    /// MODE.Exec for 64-bit code.
    pub fn mode_exec_64(&mut self) {
        self.buf.extend_from_slice(&[0x99, 0x01]);
    }

    /// MODE.Exec with explicit CS.L and CS.D.
    pub fn mode_exec(&mut self, csl: bool, csd: bool) {
        self.buf
            .extend_from_slice(&[0x99, u8::from(csl) | (u8::from(csd) << 1)]);
    }

    /// MODE.TSX.
    pub fn mode_tsx(&mut self, intx: bool, txabort: bool) {
        self.buf
            .extend_from_slice(&[0x99, 0x20 | u8::from(intx) | (u8::from(txabort) << 1)]);
    }

    /// CBR.
    pub fn cbr(&mut self, ratio: u8) {
        self.buf.extend_from_slice(&[0x02, 0x03, ratio, 0]);
    }

    /// OVF.
    pub fn ovf(&mut self) {
        self.buf.extend_from_slice(&[0x02, 0xf3]);
    }

    /// TSC.
    pub fn tsc(&mut self, tsc: u64) {
        self.buf.push(0x19);
        self.buf.extend_from_slice(&tsc.to_le_bytes()[..7]);
    }

    /// MTC.
    pub fn mtc(&mut self, ctc: u8) {
        self.buf.extend_from_slice(&[0x59, ctc]);
    }

    /// CYC with a counter value (variable length).
    pub fn cyc(&mut self, mut v: u64) {
        // First byte: 5 bits of counter, bit 2 = more bytes follow.
        let more = v >> 5 != 0;
        self.buf
            .push(0b11 | (u8::from(more) << 2) | (((v & 0x1f) as u8) << 3));
        v >>= 5;
        while v != 0 {
            let more = v >> 7 != 0;
            self.buf.push(u8::from(more) | (((v & 0x7f) as u8) << 1));
            v >>= 7;
        }
    }

    /// A full PSB+ sequence as hardware emits it periodically: PSB, status
    /// (MODE.Exec, optional FUP with the current IP, CBR, TSC) and PSBEND.
    pub fn psb_plus(&mut self, current_ip: Option<u64>) {
        self.psb();
        self.tsc(0x1234_5678);
        self.mode_exec_64();
        if let Some(ip) = current_ip {
            self.ip_short(IpKind::Fup, ip);
        }
        self.cbr(0x20);
        self.psbend();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{parse, LastIp, Packet, Packets, SkippedKind};

    #[test]
    fn roundtrip_ip_forms() {
        let ips = [
            0x0000_5555_1234_5678u64,
            0x0000_5555_1234_9999,
            0x0000_5555_8888_0000,
            0x0000_7fff_0000_0010,
            0xffff_8000_0000_0000,
            0x1234_0000_0000_0000,
        ];
        let mut e = Encoder::new();
        let mut expected = vec![];
        for &ip in &ips {
            for c in e.ip_forms(ip) {
                e.ip(IpKind::Tip, ip, c);
                expected.push(ip);
            }
        }
        let mut last = LastIp::default();
        let got: Vec<u64> = Packets::new(&e.buf)
            .map(|r| match r.unwrap().1 {
                Packet::Tip(p) => last.apply(p).unwrap(),
                p => panic!("{p:?}"),
            })
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn tnt_roundtrip() {
        for n in 1..=47usize {
            let bits: Vec<bool> = (0..n).map(|i| (i * 7 + n) % 3 == 0).collect();
            let mut e = Encoder::new();
            e.tnt(&bits);
            e.tnt_long(&bits);
            let got: Vec<Vec<bool>> = Packets::new(&e.buf)
                .map(|r| match r.unwrap().1 {
                    Packet::Tnt(t) => t.iter().collect(),
                    p => panic!("{p:?}"),
                })
                .collect();
            assert_eq!(got, vec![bits.clone(), bits]);
        }
    }

    #[test]
    fn cyc_roundtrip() {
        for v in [0u64, 1, 0x1f, 0x20, 0xfff, 0x1000, 0x7_ffff, u64::MAX] {
            let mut e = Encoder::new();
            e.cyc(v);
            let (p, n) = parse(&e.buf, 0).unwrap();
            assert_eq!(p, Packet::Skipped(SkippedKind::Cyc));
            assert_eq!(n, e.buf.len(), "CYC {v:#x}");
        }
    }
}
