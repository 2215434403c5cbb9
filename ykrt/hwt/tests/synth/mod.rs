//! Synthesised Intel PT traces with known ground truth.
//!
//! [Program::generate] assembles random x86-64 code with iced-x86's code
//! assembler: functions made of blocks that end in conditional jumps, direct
//! and indirect jumps, direct and indirect calls, returns and syscalls.
//! [Program::walk] executes a random path through it (the ground truth) while
//! a model of a PT unit ([Pt]) writes the packets the hardware would emit for
//! that path: TNT bits batched into short and long TNTs, TIPs with varied IP
//! compression for indirect branches and returns (return compression off),
//! TIP.PGD/TIP.PGE around syscalls, PSB+ (with PAD and timing packets) at
//! random points, interrupts (FUP, TIP.PGD, TIP.PGE) and async branches (TSX
//! aborts: MODE.TSX, FUP, TIP) in the middle of blocks.
//!
//! Shared by the decoder tests and the `decode_speed` example.

#![allow(dead_code)]

use hwt::{
    encode::{Encoder, IpKind},
    flow::Block,
    packet::IpCompression,
};
use iced_x86::{
    code_asm::{ptr, qword_ptr, rax, rbx, rcx, rdi, rdx, rsi, rsp, CodeAssembler, CodeLabel},
    BlockEncoderOptions,
};

/// A small deterministic PRNG (xorshift64*), so every failure reproduces.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// True with probability `p` percent.
    pub fn pct(&mut self, p: u64) -> bool {
        self.next() % 100 < p
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Term {
    /// Conditional jump to block `.0` of the same function, else fall through.
    Cond(usize),
    /// Direct jump forward to block `.0` of the same function.
    Jmp(usize),
    /// `jmp rax`: to any block of the same function.
    IndJmp,
    /// Direct call of a higher-numbered function; returns to the next block.
    Call(usize),
    /// `call rax`: any function; returns to the next block.
    IndCall,
    Ret,
    /// `syscall`: tracing stops (user-only tracing) and resumes after it.
    Syscall,
}

struct BlockInfo {
    /// Addresses of its instructions; the last is the terminator.
    insns: Vec<u64>,
    end: u64,
    term: Term,
}

/// Random code with its layout.
pub struct Program {
    pub base: u64,
    pub code: Vec<u8>,
    funcs: Vec<Vec<BlockInfo>>,
    /// The `mov eax, 16; syscall` block a trace ends in (an ioctl disabling
    /// the event, as perf traces end).
    exit: Block,
}

impl Program {
    /// Assemble a random program at `base`.
    pub fn generate(rng: &mut Rng, base: u64, nfuncs: usize) -> Program {
        let mut a = CodeAssembler::new(64).unwrap();
        // Plan: block counts and terminators.
        let sizes: Vec<usize> = (0..nfuncs).map(|_| 3 + rng.below(10)).collect();
        let mut plan: Vec<Vec<(usize, Term)>> = vec![];
        for (f, &n) in sizes.iter().enumerate() {
            let mut blocks = vec![];
            for b in 0..n {
                let last = b == n - 1;
                let term = loop {
                    let t = match rng.below(if last { 3 } else { 7 }) {
                        0 => Term::Ret,
                        1 => Term::IndJmp,
                        2 if b + 1 < n => Term::Jmp(b + 1 + rng.below(n - b - 1)),
                        2 => continue,
                        3 => Term::Cond(rng.below(n)),
                        4 if f + 1 < nfuncs => Term::Call(f + 1 + rng.below(nfuncs - f - 1)),
                        4 => continue,
                        5 => Term::IndCall,
                        _ => Term::Syscall,
                    };
                    break t;
                };
                blocks.push((1 + rng.below(4), term));
            }
            plan.push(blocks);
        }
        // Labels for every instruction (iced allows one label per instruction).
        let mut labels: Vec<Vec<Vec<CodeLabel>>> = plan
            .iter()
            .map(|bs| {
                bs.iter()
                    .map(|&(nfill, _)| (0..=nfill).map(|_| a.create_label()).collect())
                    .collect()
            })
            .collect();
        let entry: Vec<CodeLabel> = labels.iter().map(|f| f[0][0]).collect();
        for f in 0..plan.len() {
            for b in 0..plan[f].len() {
                let (nfill, term) = plan[f][b];
                for l in labels[f][b][..nfill].iter_mut() {
                    a.set_label(l).unwrap();
                    match rng.below(6) {
                        0 => a.mov(rax, rbx).unwrap(),
                        1 => a.add(rcx, 0x12345).unwrap(),
                        2 => a.nop().unwrap(),
                        3 => a.lea(rdx, ptr(rsi + rdi * 4 + 0x10)).unwrap(),
                        4 => a.mov(qword_ptr(rsp + 8), rax).unwrap(),
                        _ => a.xor(rdi, rdi).unwrap(),
                    }
                }
                a.set_label(&mut labels[f][b][nfill]).unwrap();
                match term {
                    Term::Cond(t) => {
                        let l = labels[f][t][0];
                        match rng.below(4) {
                            0 => a.je(l).unwrap(),
                            1 => a.jne(l).unwrap(),
                            2 => a.jl(l).unwrap(),
                            _ => a.jae(l).unwrap(),
                        }
                    }
                    Term::Jmp(t) => a.jmp(labels[f][t][0]).unwrap(),
                    Term::IndJmp => a.jmp(rax).unwrap(),
                    Term::Call(g) => a.call(entry[g]).unwrap(),
                    Term::IndCall => a.call(rax).unwrap(),
                    Term::Ret => a.ret().unwrap(),
                    Term::Syscall => a.syscall().unwrap(),
                }
            }
        }
        let mut exit_l = a.create_label();
        a.set_label(&mut exit_l).unwrap();
        a.mov(iced_x86::code_asm::eax, 16).unwrap();
        a.syscall().unwrap();
        let res = a
            .assemble_options(base, BlockEncoderOptions::RETURN_NEW_INSTRUCTION_OFFSETS)
            .unwrap();
        let code = res.inner.code_buffer.clone();
        let ip = |l: &CodeLabel| res.label_ip(l).unwrap();
        let exit = Block {
            start: ip(&exit_l),
            end: base + code.len() as u64,
        };
        // Blocks are laid out back to back: a block ends where the next starts.
        let mut starts: Vec<u64> = labels.iter().flatten().map(|b| ip(&b[0])).collect();
        starts.push(exit.start);
        let mut k = 0;
        let funcs = plan
            .iter()
            .enumerate()
            .map(|(f, bs)| {
                bs.iter()
                    .enumerate()
                    .map(|(b, &(_, term))| {
                        k += 1;
                        BlockInfo {
                            insns: labels[f][b].iter().map(ip).collect(),
                            end: starts[k],
                            term,
                        }
                    })
                    .collect()
            })
            .collect();
        Program {
            base,
            code,
            funcs,
            exit,
        }
    }

    fn start(&self, f: usize, b: usize) -> u64 {
        self.funcs[f][b].insns[0]
    }

    fn random_block(&self, rng: &mut Rng) -> (usize, usize) {
        let f = rng.below(self.funcs.len());
        (f, rng.below(self.funcs[f].len()))
    }

    /// Find the (function, block) starting at `addr`.
    fn block_at(&self, addr: u64) -> (usize, usize) {
        for (f, bs) in self.funcs.iter().enumerate() {
            for (b, bi) in bs.iter().enumerate() {
                if bi.insns[0] == addr {
                    return (f, b);
                }
            }
        }
        panic!("no block at {addr:#x}")
    }

    /// Walk about `steps` blocks from a random function entry, returning the
    /// executed blocks and the PT packets for them.
    pub fn walk(&self, rng: &mut Rng, steps: usize, opts: &WalkOpts) -> (Vec<Block>, Vec<u8>) {
        let mut pt = Pt::new(rng.next());
        let mut truth = vec![];
        let (mut f, mut b) = (rng.below(self.funcs.len()), 0);
        let mut stack: Vec<(usize, usize)> = vec![];
        // Start: either TIP.PGE, or tracing already on at a PSB+ with a FUP.
        if rng.pct(50) {
            pt.e.psb();
            pt.e.psbend();
            if rng.pct(50) {
                pt.e.mode_exec_64();
            }
            pt.ip(IpKind::TipPge, self.start(f, b));
        } else {
            pt.e.psb_plus(Some(self.start(f, b)));
        }
        let mut cur_start = self.start(f, b);
        let mut n = 0;
        loop {
            n += 1;
            let bi = &self.funcs[f][b];
            pt.noise();
            if n > 1 && rng.pct(opts.psb_pct) {
                pt.flush();
                pt.e.psb_plus(Some(cur_start));
                for _ in 0..rng.below(3) {
                    pt.e.pad();
                }
            }
            // An asynchronous event before the terminator retires.
            if rng.pct(opts.event_pct) {
                let i = rng.below(bi.insns.len());
                let x = bi.insns[i].max(cur_start);
                if rng.pct(70) {
                    // Interrupt to the kernel and back: invisible in the flow.
                    pt.flush();
                    pt.ip(IpKind::Fup, x);
                    pt.e.ip(IpKind::TipPgd, 0, IpCompression::Suppressed);
                    if rng.pct(30) {
                        pt.e.psb();
                        pt.e.cbr(0x1f);
                        pt.e.psbend();
                    }
                    pt.ip(IpKind::TipPge, x);
                } else {
                    // TSX abort to another block of the program.
                    pt.flush();
                    pt.e.mode_tsx(false, true);
                    pt.ip(IpKind::Fup, x);
                    let (g, c) = self.random_block(rng);
                    pt.ip(IpKind::Tip, self.start(g, c));
                    if x > cur_start {
                        truth.push(Block {
                            start: cur_start,
                            end: x,
                        });
                    }
                    (f, b) = (g, c);
                    cur_start = self.start(f, b);
                    continue;
                }
            }
            if rng.pct(opts.tsx_update_pct) {
                // A TSX state change binds a FUP that changes no flow.
                pt.flush();
                pt.e.mode_tsx(true, false);
                pt.ip(IpKind::Fup, bi.insns[0]);
            }
            truth.push(Block {
                start: cur_start,
                end: bi.end,
            });
            let finishing = n >= steps;
            let next = match bi.term {
                Term::Cond(t) => {
                    let taken = rng.pct(50);
                    pt.tnt(taken);
                    if taken {
                        (f, t)
                    } else {
                        (f, b + 1)
                    }
                }
                Term::Jmp(t) => (f, t),
                Term::Call(g) => {
                    stack.push((f, b + 1));
                    (g, 0)
                }
                Term::IndJmp | Term::IndCall | Term::Ret => {
                    if finishing {
                        // Leave for the exit block: the trace ends there.
                        pt.flush();
                        pt.ip(IpKind::Tip, self.exit.start);
                        truth.push(self.exit);
                        pt.flush();
                        pt.e.ip(IpKind::TipPgd, 0, IpCompression::Suppressed);
                        return (truth, pt.e.buf);
                    }
                    let to = match bi.term {
                        Term::IndJmp => (f, rng.below(self.funcs[f].len())),
                        Term::IndCall => {
                            stack.push((f, b + 1));
                            (rng.below(self.funcs.len()), 0)
                        }
                        _ => stack.pop().unwrap_or_else(|| self.random_block(rng)),
                    };
                    pt.flush();
                    if rng.pct(20) {
                        pt.e.mode_exec_64();
                    }
                    pt.ip(IpKind::Tip, self.start(to.0, to.1));
                    to
                }
                Term::Syscall => {
                    pt.flush();
                    pt.e.ip(IpKind::TipPgd, 0, IpCompression::Suppressed);
                    pt.noise();
                    pt.ip(IpKind::TipPge, bi.end);
                    (f, b + 1)
                }
            };
            (f, b) = next;
            cur_start = self.start(f, b);
            debug_assert_eq!(self.block_at(cur_start), (f, b));
        }
    }
}

/// How often the walk injects the optional packets, in percent per block.
pub struct WalkOpts {
    pub psb_pct: u64,
    pub event_pct: u64,
    pub tsx_update_pct: u64,
}

impl Default for WalkOpts {
    fn default() -> Self {
        WalkOpts {
            psb_pct: 2,
            event_pct: 3,
            tsx_update_pct: 1,
        }
    }
}

/// A model of the PT unit's packet generation.
pub struct Pt {
    pub e: Encoder,
    pending: Vec<bool>,
    /// The TNT buffer size at which the model emits a TNT packet.
    cap: usize,
    rng: Rng,
}

impl Pt {
    fn new(seed: u64) -> Self {
        Pt {
            e: Encoder::new(),
            pending: vec![],
            cap: 6,
            rng: Rng::new(seed),
        }
    }

    fn tnt(&mut self, taken: bool) {
        self.pending.push(taken);
        if self.pending.len() >= self.cap {
            self.flush();
        }
    }

    /// Emit pending TNT bits (before any other flow packet), short or long.
    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        if self.pending.len() <= 6 && self.rng.pct(70) {
            self.e.tnt(&self.pending);
        } else {
            self.e.tnt_long(&self.pending);
        }
        self.pending.clear();
        // Next batch: sometimes partial short TNTs, sometimes up to 47 bits.
        self.cap = match self.rng.below(3) {
            0 => 1 + self.rng.below(6),
            1 => 6,
            _ => 7 + self.rng.below(41),
        };
    }

    /// An IP packet with a random valid compression.
    fn ip(&mut self, kind: IpKind, ip: u64) {
        let forms = self.e.ip_forms(ip);
        let c = forms[self.rng.below(forms.len())];
        self.e.ip(kind, ip, c);
    }

    /// Packets that carry no flow (timing, padding) at random.
    fn noise(&mut self) {
        if self.rng.pct(5) {
            match self.rng.below(5) {
                0 => self.e.pad(),
                1 => self.e.cbr(0x28),
                2 => self.e.tsc(self.rng.next()),
                3 => self.e.mtc(self.rng.next() as u8),
                _ => self.e.cyc(self.rng.next() >> self.rng.below(64)),
            }
        }
    }
}
