//! Instruction-flow reconstruction: from a packet stream and the traced code,
//! the sequence of executed blocks.
//!
//! The walker starts where the trace says tracing began (TIP.PGE, or the FUP of
//! a PSB+) and follows the code, disassembled with `iced-x86`:
//! - a conditional branch takes the next TNT bit;
//! - a direct jump or call is followed without any packet;
//! - an indirect jump or call, and every return (return compression is off,
//!   see [crate::collector]), takes its target from the next TIP;
//! - a far transfer (syscall, int) is followed by TIP.PGD when the target is out
//!   of the traced context, and tracing resumes at the next TIP.PGE;
//! - an asynchronous event (interrupt, fault, TSX abort) shows as FUP(source)
//!   followed by TIP(target) or TIP.PGD ... TIP.PGE(resume). An interruption
//!   that resumes where it left off does not split the block.
//!
//! Anything that does not fit this model (a TIP where a TNT bit is due, TNT bits
//! left over at an indirect branch, an overflow, code that cannot be read) is a
//! [DecodeError]: a trace is either reconstructed exactly or rejected.

use crate::packet::{IpPayload, LastIp, Packet, PacketError, Packets, SkippedKind, Tnt};
use iced_x86::{Decoder, DecoderError, DecoderOptions, FlowControl};
use std::{
    collections::HashMap,
    fmt,
    hash::{BuildHasherDefault, Hasher},
};

/// A source of the traced program's code bytes.
pub trait CodeReader {
    /// Copy the code at `addr` into `buf`; return how many bytes were
    /// readable from `addr` on (0 if none).
    fn read_code(&mut self, addr: u64, buf: &mut [u8]) -> usize;
}

/// Code held in a byte buffer that is mapped at `base` (for tests and for
/// decoding code copied out of a process).
pub struct BufferCode {
    /// The address of `bytes[0]`.
    pub base: u64,
    /// The code.
    pub bytes: Vec<u8>,
}

impl CodeReader for BufferCode {
    fn read_code(&mut self, addr: u64, buf: &mut [u8]) -> usize {
        let Some(off) = addr.checked_sub(self.base) else {
            return 0;
        };
        let Some(src) = usize::try_from(off).ok().and_then(|o| self.bytes.get(o..)) else {
            return 0;
        };
        let n = src.len().min(buf.len());
        buf[..n].copy_from_slice(&src[..n]);
        n
    }
}

/// The code of the current process, read with `process_vm_readv` so that an
/// unmapped address is an error rather than a crash.
#[derive(Default)]
pub struct SelfMemory;

impl CodeReader for SelfMemory {
    fn read_code(&mut self, addr: u64, buf: &mut [u8]) -> usize {
        const PAGE: u64 = 4096;
        // process_vm_readv never splits one iovec element, so give it one
        // element per page: a read then stops exactly at the first bad page.
        let mut remote = Vec::new();
        let mut a = addr;
        let end = addr.saturating_add(buf.len() as u64);
        while a < end {
            let next = ((a / PAGE) + 1) * PAGE;
            let len = next.min(end) - a;
            remote.push(libc::iovec {
                iov_base: a as *mut libc::c_void,
                iov_len: len as usize,
            });
            a += len;
        }
        let local = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: `local` is our own writable buffer of the stated length; the
        // kernel checks the remote ranges.
        let n = unsafe {
            libc::process_vm_readv(
                libc::getpid(),
                &local,
                1,
                remote.as_ptr(),
                remote.len() as libc::c_ulong,
                0,
            )
        };
        usize::try_from(n).unwrap_or(0)
    }
}

/// A contiguous run of executed instructions, `start..end`. A block ends after
/// a control transfer, or where an asynchronous event left it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Block {
    /// Address of the first instruction.
    pub start: u64,
    /// Address just past the last executed instruction.
    pub end: u64,
}

/// Why a trace could not be reconstructed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The packet layer failed.
    Packet(PacketError),
    /// The hardware lost packets (OVF): the trace has a gap.
    Overflow {
        /// Offset of the OVF packet.
        offset: usize,
    },
    /// The code at an address could not be read.
    NoCode {
        /// The address.
        ip: u64,
    },
    /// The bytes at an address are no valid instruction.
    BadInstruction {
        /// The address.
        ip: u64,
    },
    /// A straight-line run that is implausibly long (a stray IP).
    RunawayBlock {
        /// Where the run started.
        ip: u64,
    },
    /// Non-64-bit code (MODE.Exec), which this decoder does not handle.
    UnsupportedMode {
        /// Offset of the MODE.Exec packet.
        offset: usize,
    },
    /// The packets do not match the code.
    Desync {
        /// Offset in the trace of the packet that did not fit.
        offset: usize,
        /// The walker's position.
        ip: u64,
        /// What was wrong.
        why: String,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Packet(e) => write!(f, "{e}"),
            DecodeError::Overflow { offset } => write!(
                f,
                "trace buffer overflow (OVF at offset {offset}): packets were lost"
            ),
            DecodeError::NoCode { ip } => write!(f, "no readable code at {ip:#x}"),
            DecodeError::BadInstruction { ip } => write!(f, "invalid instruction at {ip:#x}"),
            DecodeError::RunawayBlock { ip } => {
                write!(f, "no control transfer found after {ip:#x}")
            }
            DecodeError::UnsupportedMode { offset } => write!(
                f,
                "MODE.Exec at offset {offset} switches to non-64-bit code, which is not supported"
            ),
            DecodeError::Desync { offset, ip, why } => {
                write!(
                    f,
                    "trace does not match the code at {ip:#x} (packet offset {offset}): {why}"
                )
            }
        }
    }
}

impl std::error::Error for DecodeError {}

impl From<PacketError> for DecodeError {
    fn from(e: PacketError) -> Self {
        DecodeError::Packet(e)
    }
}

/// How a straight-line run of code ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Term {
    /// Conditional branch to the target (not taken: falls through).
    Cond(u64),
    /// Direct near jump.
    Jump(u64),
    /// Direct near call.
    Call(u64),
    /// Indirect jump or call, or return: needs a TIP.
    Indirect,
    /// Far transfer (syscall, sysenter, int, far jump/call): TIP or TIP.PGD.
    Far,
    /// An instruction that always raises an exception (ud2): only an event
    /// can continue from here.
    Stop,
}

/// A decoded straight-line run, cached by its start address.
#[derive(Clone, Copy, Debug)]
struct Run {
    /// Address of the terminating instruction.
    term_ip: u64,
    /// Address just past it.
    end: u64,
    term: Term,
}

/// A small, fast hasher for code addresses (the std SipHash is measurable in
/// the per-block lookup).
#[derive(Default)]
struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (v ^ (v >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// Longest straight-line run accepted, in bytes.
const MAX_RUN: u64 = 1 << 20;
/// How many direct jumps/calls in a row may be followed without consuming a
/// packet (a `jmp .` loop would otherwise spin forever).
const MAX_FREE_STEPS: u32 = 1 << 20;

/// Reconstructs executed blocks from Intel PT packet streams.
pub struct FlowDecoder<R: CodeReader> {
    reader: R,
    runs: HashMap<u64, Run, BuildHasherDefault<AddrHasher>>,
}

/// Events the walker consumes, after status packets have been folded in.
#[derive(Clone, Copy, Debug)]
enum Event {
    Tnt(Tnt),
    Tip(u64),
    Pge(u64),
    Pgd,
    /// FUP outside PSB+ that is not bound to a PTWRITE/EXSTOP/TSX update: the
    /// source IP of an asynchronous event.
    AsyncFup(u64),
    /// The FUP in a PSB+: where execution is, if tracing is on.
    PsbIp(u64),
    End,
}

struct Stream<'a> {
    packets: Packets<'a>,
    last_ip: LastIp,
    in_psb: bool,
    /// A FUP that binds to a previous packet (PTW/EXSTOP with IP=1, MODE.TSX
    /// without abort) is expected.
    bound_fup: bool,
    peeked: Option<(usize, Event)>,
    /// Offset of the last event handed out.
    offset: usize,
}

impl<'a> Stream<'a> {
    fn ip(&mut self, off: usize, p: IpPayload) -> Result<u64, DecodeError> {
        self.last_ip.apply(p).ok_or_else(|| DecodeError::Desync {
            offset: off,
            ip: self.last_ip.0,
            why: "an IP packet that must carry an IP has it suppressed".into(),
        })
    }

    fn read(&mut self) -> Result<(usize, Event), DecodeError> {
        loop {
            let Some(r) = self.packets.next() else {
                return Ok((self.packets.offset(), Event::End));
            };
            let (off, p) = r?;
            let ev = match p {
                Packet::Pad | Packet::Cbr(_) => continue,
                Packet::Skipped(k) => {
                    if let SkippedKind::Ptw { ip: true } | SkippedKind::Exstop { ip: true } = k {
                        self.bound_fup = true;
                    }
                    continue;
                }
                Packet::Psb => {
                    self.last_ip = LastIp(0);
                    self.in_psb = true;
                    continue;
                }
                Packet::PsbEnd => {
                    self.in_psb = false;
                    continue;
                }
                Packet::ModeExec { csl, .. } => {
                    if !csl {
                        return Err(DecodeError::UnsupportedMode { offset: off });
                    }
                    continue;
                }
                Packet::ModeTsx { txabort, .. } => {
                    // A TSX state change binds a FUP to the XBEGIN/XEND; an
                    // abort's FUP is an async branch source (a TIP follows).
                    self.bound_fup = !txabort;
                    continue;
                }
                Packet::Ovf => return Err(DecodeError::Overflow { offset: off }),
                Packet::Tnt(t) => {
                    if t.len == 0 {
                        continue;
                    }
                    Event::Tnt(t)
                }
                Packet::Tip(p) => Event::Tip(self.ip(off, p)?),
                Packet::TipPge(p) => Event::Pge(self.ip(off, p)?),
                Packet::TipPgd(p) => {
                    self.last_ip.apply(p);
                    Event::Pgd
                }
                Packet::Fup(p) => {
                    if self.in_psb {
                        match self.last_ip.apply(p) {
                            Some(ip) => Event::PsbIp(ip),
                            None => continue,
                        }
                    } else if self.bound_fup {
                        self.bound_fup = false;
                        self.last_ip.apply(p);
                        continue;
                    } else {
                        Event::AsyncFup(self.ip(off, p)?)
                    }
                }
            };
            return Ok((off, ev));
        }
    }

    /// The next event; PSB+ IPs are dropped unless `want_psb_ip`.
    fn next(&mut self, want_psb_ip: bool) -> Result<Event, DecodeError> {
        loop {
            let (off, ev) = match self.peeked.take() {
                Some(x) => x,
                None => self.read()?,
            };
            self.offset = off;
            if let Event::PsbIp(_) = ev {
                if !want_psb_ip {
                    continue;
                }
            }
            return Ok(ev);
        }
    }

    /// Look at the next event (PSB+ IPs dropped) without consuming it.
    fn peek(&mut self) -> Result<Event, DecodeError> {
        let ev = self.next(false)?;
        self.peeked = Some((self.offset, ev));
        Ok(ev)
    }
}

/// Pending TNT bits, oldest in the highest valid position.
#[derive(Default)]
struct TntQueue {
    bits: u64,
    len: u8,
}

impl TntQueue {
    fn is_empty(&self) -> bool {
        self.len == 0
    }
    fn pop(&mut self) -> bool {
        self.len -= 1;
        (self.bits >> self.len) & 1 == 1
    }
}

impl<R: CodeReader> FlowDecoder<R> {
    /// A decoder reading code through `reader`. Decoded code is cached by
    /// address; call [FlowDecoder::clear_code_cache] if code changes.
    pub fn new(reader: R) -> Self {
        FlowDecoder {
            reader,
            runs: HashMap::default(),
        }
    }

    /// Forget all decoded code (after code was unloaded or rewritten).
    pub fn clear_code_cache(&mut self) {
        self.runs.clear();
    }

    /// Decode the straight-line run of code starting at `ip`.
    fn run_at(&mut self, ip: u64) -> Result<Run, DecodeError> {
        if let Some(r) = self.runs.get(&ip) {
            return Ok(*r);
        }
        let mut buf = [0u8; 256];
        let mut at = ip;
        loop {
            if at - ip > MAX_RUN {
                return Err(DecodeError::RunawayBlock { ip });
            }
            let n = self.reader.read_code(at, &mut buf);
            if n == 0 {
                return Err(DecodeError::NoCode { ip: at });
            }
            let mut dec = Decoder::with_ip(64, &buf[..n], at, DecoderOptions::NONE);
            while dec.can_decode() {
                let insn = dec.decode();
                if insn.is_invalid() {
                    if dec.last_error() != DecoderError::NoMoreBytes {
                        return Err(DecodeError::BadInstruction { ip: insn.ip() });
                    }
                    if n < buf.len() {
                        // The readable code ends inside this instruction.
                        return Err(DecodeError::NoCode { ip: at });
                    }
                    // The instruction straddles our buffer: read again from it.
                    break;
                }
                at = insn.next_ip();
                let term = match insn.flow_control() {
                    FlowControl::Next | FlowControl::XbeginXabortXend => continue,
                    FlowControl::ConditionalBranch => Term::Cond(insn.near_branch_target()),
                    FlowControl::UnconditionalBranch if insn.is_jmp_short_or_near() => {
                        Term::Jump(insn.near_branch_target())
                    }
                    FlowControl::Call if insn.is_call_near() => {
                        Term::Call(insn.near_branch_target())
                    }
                    FlowControl::IndirectBranch
                    | FlowControl::IndirectCall
                    | FlowControl::Return => Term::Indirect,
                    FlowControl::UnconditionalBranch
                    | FlowControl::Call
                    | FlowControl::Interrupt => Term::Far,
                    FlowControl::Exception => Term::Stop,
                };
                let run = Run {
                    term_ip: insn.ip(),
                    end: insn.next_ip(),
                    term,
                };
                self.runs.insert(ip, run);
                return Ok(run);
            }
            if n < buf.len() {
                // All readable bytes decoded without a control transfer.
                return Err(DecodeError::NoCode { ip: at });
            }
        }
    }

    /// Reconstruct the blocks executed in `trace`, which must start at a
    /// synchronisation point (a PSB, as the perf AUX buffer does, or a
    /// TIP.PGE).
    pub fn decode(&mut self, trace: &[u8]) -> Result<Vec<Block>, DecodeError> {
        let mut out = Vec::new();
        self.decode_into(trace, &mut out)?;
        Ok(out)
    }

    /// Like [FlowDecoder::decode], appending to `out` (so a caller can reuse
    /// the allocation).
    pub fn decode_into(&mut self, trace: &[u8], out: &mut Vec<Block>) -> Result<(), DecodeError> {
        let mut s = Stream {
            packets: Packets::new(trace),
            last_ip: LastIp::default(),
            in_psb: false,
            bound_fup: false,
            peeked: None,
            offset: 0,
        };
        let mut tnt = TntQueue::default();
        // `ip` is where the walker is (None: tracing off or not yet synced);
        // `start` is where the block being built began (it differs from `ip`
        // only after an event that resumed in the middle of a block).
        let mut ip: Option<u64> = None;
        let mut start = 0u64;
        let mut free_steps = 0u32;
        let desync = |s: &Stream, ip: u64, why: String| DecodeError::Desync {
            offset: s.offset,
            ip,
            why,
        };
        let push = |out: &mut Vec<Block>, start: u64, end: u64| {
            if end > start {
                out.push(Block { start, end });
            }
        };

        loop {
            let Some(cur) = ip else {
                match s.next(true)? {
                    Event::End => return Ok(()),
                    Event::Pge(t) | Event::PsbIp(t) => {
                        ip = Some(t);
                        start = t;
                    }
                    Event::Pgd => (),
                    ev => {
                        return Err(desync(
                            &s,
                            0,
                            format!("{ev:?} while tracing is disabled or before synchronisation"),
                        ))
                    }
                }
                continue;
            };
            let run = self.run_at(cur)?;
            if tnt.is_empty() {
                match s.peek()? {
                    Event::End => {
                        // Whatever ran after the last packet is unknown.
                        return Ok(());
                    }
                    Event::AsyncFup(x) if cur <= x && x <= run.term_ip => {
                        s.next(false)?;
                        match s.next(false)? {
                            Event::Tip(t) => {
                                push(out, start, x);
                                ip = Some(t);
                                start = t;
                            }
                            Event::Pgd => loop {
                                match s.next(false)? {
                                    Event::Pge(r) => {
                                        if r != x {
                                            push(out, start, x);
                                            start = r;
                                        }
                                        ip = Some(r);
                                        break;
                                    }
                                    Event::End => {
                                        push(out, start, x);
                                        return Ok(());
                                    }
                                    Event::Pgd => (),
                                    ev => {
                                        return Err(desync(
                                            &s,
                                            x,
                                            format!("{ev:?} while tracing is disabled"),
                                        ))
                                    }
                                }
                            },
                            Event::End => {
                                push(out, start, x);
                                return Ok(());
                            }
                            ev => {
                                return Err(desync(
                                    &s,
                                    x,
                                    format!("FUP followed by {ev:?} rather than TIP or TIP.PGD"),
                                ))
                            }
                        }
                        free_steps = 0;
                        continue;
                    }
                    _ => (),
                }
            }
            let next = match run.term {
                Term::Stop => {
                    return Err(desync(
                        &s,
                        run.term_ip,
                        "reached an exception-raising instruction without an event".into(),
                    ))
                }
                Term::Jump(t) | Term::Call(t) => {
                    free_steps += 1;
                    if free_steps > MAX_FREE_STEPS {
                        return Err(desync(
                            &s,
                            cur,
                            "endless direct jumps without any packet".into(),
                        ));
                    }
                    Some(t)
                }
                Term::Cond(t) => {
                    if tnt.is_empty() {
                        match s.next(false)? {
                            Event::Tnt(p) => {
                                tnt.bits = p.bits;
                                tnt.len = p.len;
                            }
                            ev => {
                                return Err(desync(
                                    &s,
                                    run.term_ip,
                                    format!("conditional branch expects TNT, trace has {ev:?}"),
                                ))
                            }
                        }
                    }
                    free_steps = 0;
                    Some(if tnt.pop() { t } else { run.end })
                }
                Term::Indirect | Term::Far => {
                    if !tnt.is_empty() {
                        return Err(desync(
                            &s,
                            run.term_ip,
                            format!("{} TNT bits left at an indirect branch", tnt.len),
                        ));
                    }
                    free_steps = 0;
                    match s.next(false)? {
                        Event::Tip(t) => Some(t),
                        Event::Pgd => None,
                        ev => {
                            return Err(desync(
                                &s,
                                run.term_ip,
                                format!("indirect branch or far transfer expects TIP or TIP.PGD, trace has {ev:?}"),
                            ))
                        }
                    }
                }
            };
            push(out, start, run.end);
            ip = next;
            if let Some(n) = next {
                start = n;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_memory_reads_up_to_the_first_unmapped_page() {
        // SAFETY: plain anonymous mappings owned by this test.
        unsafe {
            let page = 4096usize;
            let p = libc::mmap(
                std::ptr::null_mut(),
                2 * page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(p, libc::MAP_FAILED);
            let bytes = std::slice::from_raw_parts_mut(p.cast::<u8>(), page);
            for (i, b) in bytes.iter_mut().enumerate() {
                *b = i as u8;
            }
            assert_eq!(libc::munmap(p.cast::<u8>().add(page).cast(), page), 0);
            let mut buf = [0u8; 64];
            let at = p as u64 + page as u64 - 16;
            assert_eq!(SelfMemory.read_code(at, &mut buf), 16);
            assert_eq!(&buf[..16], &bytes[page - 16..]);
            assert_eq!(SelfMemory.read_code(at + 16, &mut buf), 0);
            assert_eq!(SelfMemory.read_code(0x10, &mut buf), 0);
            libc::munmap(p, page);
        }
    }

    #[test]
    fn buffer_code_bounds() {
        let mut c = BufferCode {
            base: 0x1000,
            bytes: vec![1, 2, 3],
        };
        let mut buf = [0u8; 8];
        assert_eq!(c.read_code(0x1001, &mut buf), 2);
        assert_eq!(&buf[..2], &[2, 3]);
        assert_eq!(c.read_code(0x1003, &mut buf), 0);
        assert_eq!(c.read_code(0xfff, &mut buf), 0);
    }

    #[test]
    fn runs_straddling_the_read_buffer() {
        // 300 one-byte nops then `ret`: the run crosses the 256-byte reads.
        let mut bytes = vec![0x90; 300];
        bytes.push(0xc3);
        // A 10-byte `mov rax, imm64` placed across the 256-byte boundary.
        bytes[250..260].copy_from_slice(&[0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8]);
        let mut d = FlowDecoder::new(BufferCode {
            base: 0x4000,
            bytes,
        });
        let r = d.run_at(0x4000).unwrap();
        assert_eq!(
            (r.term_ip, r.end, r.term),
            (0x4000 + 300, 0x4000 + 301, Term::Indirect)
        );
        // Code that ends without a control transfer is an error.
        let mut d = FlowDecoder::new(BufferCode {
            base: 0x4000,
            bytes: vec![0x90; 10],
        });
        assert_eq!(
            d.run_at(0x4000).unwrap_err(),
            DecodeError::NoCode { ip: 0x400a }
        );
        // Invalid bytes.
        let mut d = FlowDecoder::new(BufferCode {
            base: 0x4000,
            bytes: vec![0x90, 0x06, 0xc3],
        });
        assert_eq!(
            d.run_at(0x4000).unwrap_err(),
            DecodeError::BadInstruction { ip: 0x4001 }
        );
    }

    #[test]
    fn terminator_kinds() {
        let term = |bytes: &[u8]| {
            let mut d = FlowDecoder::new(BufferCode {
                base: 0x1000,
                bytes: bytes.to_vec(),
            });
            d.run_at(0x1000).unwrap().term
        };
        assert_eq!(term(&[0x74, 0x10]), Term::Cond(0x1012)); // je
        assert_eq!(term(&[0xe3, 0x10]), Term::Cond(0x1012)); // jrcxz
        assert_eq!(term(&[0xe2, 0xfe]), Term::Cond(0x1000)); // loop
        assert_eq!(term(&[0xeb, 0x00]), Term::Jump(0x1002)); // jmp short
        assert_eq!(term(&[0xe8, 0, 0, 0, 0]), Term::Call(0x1005)); // call
        assert_eq!(term(&[0xff, 0xd0]), Term::Indirect); // call rax
        assert_eq!(term(&[0xff, 0x20]), Term::Indirect); // jmp [rax]
        assert_eq!(term(&[0xc2, 0x08, 0x00]), Term::Indirect); // ret 8
        assert_eq!(term(&[0x0f, 0x05]), Term::Far); // syscall
        assert_eq!(term(&[0xcd, 0x80]), Term::Far); // int 0x80
        assert_eq!(term(&[0xcc]), Term::Far); // int3
        assert_eq!(term(&[0x0f, 0x0b]), Term::Stop); // ud2
                                                     // xbegin does not end a run.
        assert_eq!(term(&[0xc7, 0xf8, 0, 0, 0, 0, 0xc3]), Term::Indirect);
    }
}
