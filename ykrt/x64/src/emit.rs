//! The code generator: one pass over the trace, emitting through iced-x86's
//! `CodeAssembler`, then one encoding pass at offset 0 ([`encode`]; the code
//! is position-independent: branches are relative and 32-bit, the
//! function's own address is a RIP-relative `lea`, everything else is an
//! absolute immediate).
//!
//! Owns the frame layout and the register conventions. Invariants:
//!
//! - Every value (parameter or instruction) has a home, an 8-byte word in
//!   the frame at `rsp + home_base + 8 * v`, holding its *canonical* bits:
//!   an `iN` zero-extended to 64 bits (`i1` is 0/1), an `f32`'s bits
//!   zero-extended, an `f64`'s or a pointer's 64 bits. Parameters are
//!   stored to their homes at entry, re-entry and the loop's jump, so their
//!   homes are always valid; except *direct* parameters (`find_direct`: a
//!   side trace's whole-word inputs in buffer slots that no store of the
//!   plan writes and in fields of vars that only its end may write, a
//!   loop's invariant whole-word parameters in fields of vars when the
//!   body never uses vars), which are read where they
//!   arrive, `[r13 + 8 * slot]` or `[rbx + field]`, and have no home: a
//!   side trace runs once per entry and may use few of its dozens of
//!   inputs, and a root trace entered often (from the interpreter, after a
//!   side trace) needn't copy all of vars first. A result the body uses
//!   again is kept in a cache register only (*dirty*, `dirty`) and written
//!   to its home only when it must be: evicted from its register while
//!   still needed (`need`: its last use in the body, or the last guard
//!   whose exit reads it), before a call that clobbers its register while
//!   it is needed after the call (`spill_caller_saved`), and on the way out
//!   of a guard whose exit reads it (a write-back stub per such guard, out
//!   of line: the exits read homes). Other results are stored to their
//!   homes at once. Two exceptions, decided by one pass before emission
//!   (`analyse`): a `ptr_add` whose only uses are as loads' and stores'
//!   addresses (and whose offset chain fits 32 bits) has no code and no
//!   home (its users address `[root + disp]`), and a compare whose only use
//!   is the next instruction (a guard or a select) leaves its result in the
//!   flags only.
//! - The register cache: the *pool* registers `rsi rdi r8 r9 r10 r14 r15`
//!   and `xmm8-xmm15` hold values' canonical bits (a float in an xmm
//!   register: its low 32 or 64 bits): results the body uses later
//!   (`st`, `stx`; a load, an integer `add sub and or xor mul`, a
//!   `ptr_add` and a float operation compute straight into the result's
//!   register, in place when that is the left operand's; an integer or
//!   pointer cast whose operand dies in a register takes that register
//!   over, `take_over`, changing the bits in place if it changes them),
//!   and operands read from their homes that the body uses again (`cache_operand`: a value loaded once per
//!   iteration, such as the interpreter's frame base, stays in a
//!   register). `loc` maps a value to
//!   its register, `gval`/`xval` a register to its value. Operands are read
//!   from there when cached (`ld`, `ldx`, `src`, `fsrc`, `addr`), else from
//!   homes. A pool register is written only by the cache, or after
//!   `clobber` (a loaded argument register, `rep stos`'s rdi), which writes
//!   a dirty value back first. An operand's register is never taken for
//!   another operand of the same instruction (`inst_stamp`). The cache
//!   is emptied where control merges or registers die: at the head (and
//!   after the tier check), after each call (`rsi rdi r8-r10` and all of
//!   `xmm8-15` are caller-saved; `r14`, `r15` survive), and before the
//!   out-of-line exits and re-entry, which therefore read homes only. A
//!   register whose value the body no longer uses is reused first, else
//!   the least recently used one.
//! - `flags` says which compare set the flags; only the instruction right
//!   after it (a guard: `jcc`; a select: `cmov`) reads them, and nothing
//!   between (a result's stores, eager slot stores, operand loads,
//!   write-backs: all `mov`/`lea`) changes them.
//! - `rbx` = vars, `r12` = info, `r13` = buf for the whole function
//!   (callee-saved, as are the cache's `r14`, `r15`). `rbp` is the frame
//!   pointer. `rsp` is aligned to at least 16 bytes (the largest alloca
//!   alignment) from the end of the prologue on, so every call site is
//!   aligned; the outgoing stack arguments are at `[rsp, rsp + out)`.
//! - Scratch (per instruction): `rax rcx rdx r11`, `xmm0-xmm7`, and the
//!   argument registers at calls; `r11` is reserved for constants and
//!   callee addresses where other scratch registers hold arguments, and
//!   for pieces of odd-sized memory accesses.
//! - Allocas have one slot each in the frame (hoisted: the previous
//!   iteration's slot is dead), zeroed each time the alloca runs (LLVM leaves
//!   a fresh alloca undefined; zero is one of its meanings, the evaluator's).
//! - Guards at the top of a loop's body that compare a parameter with the
//!   constant the loop's jump passes for it (`hoistable`) are emitted above
//!   the head, after the entry's loads and the head's slot stores: they
//!   run at each entry and re-entry, and the back edge skips them.
//! - Guards: a conditional jump to an out-of-line block per snapshot (or a
//!   two-instruction stub per guard where several guards share one) that puts
//!   the guard's number in `esi`, makes the exit's stores (through `rax`
//!   only) and jumps to one shared tail calling `exit_fn`; a guard whose
//!   exit reads dirty values goes through its write-back stub first.
//! - Emission is linear in the trace's size: per-value tables are vectors
//!   indexed by value, per-snapshot ones by snapshot.

use crate::{Callee, Error, Ext, Plan, Shape, Symbols};
use iced_x86::code_asm::*;
use iced_x86::{Encoder, OpKind};
use tir::{BinOp, CastOp, Const, End, FPred, IPred, Inst, Operand, SnapId, Sym, Trace, Ty, ValId};

type R<T> = Result<T, Error>;

extern "C" {
    fn fmod(x: f64, y: f64) -> f64;
    fn fmodf(x: f32, y: f32) -> f32;
}

/// A general register with its narrower views.
#[derive(Clone, Copy)]
struct G {
    q: AsmRegister64,
    d: AsmRegister32,
    w: AsmRegister16,
    b: AsmRegister8,
}

const RAX: G = G {
    q: rax,
    d: eax,
    w: ax,
    b: al,
};
const RCX: G = G {
    q: rcx,
    d: ecx,
    w: cx,
    b: cl,
};
const RDX: G = G {
    q: rdx,
    d: edx,
    w: dx,
    b: dl,
};
const RSI: G = G {
    q: rsi,
    d: esi,
    w: si,
    b: sil,
};
const RDI: G = G {
    q: rdi,
    d: edi,
    w: di,
    b: dil,
};
const R8: G = G {
    q: r8,
    d: r8d,
    w: r8w,
    b: r8b,
};
const R9: G = G {
    q: r9,
    d: r9d,
    w: r9w,
    b: r9b,
};
const R11: G = G {
    q: r11,
    d: r11d,
    w: r11w,
    b: r11b,
};

const R10: G = G {
    q: r10,
    d: r10d,
    w: r10w,
    b: r10b,
};
const R14: G = G {
    q: r14,
    d: r14d,
    w: r14w,
    b: r14b,
};
const R15: G = G {
    q: r15,
    d: r15d,
    w: r15w,
    b: r15b,
};

/// The general cache registers (see the module comment); the first
/// [`NCALLER`] are caller-saved.
const POOL: [G; 7] = [RSI, RDI, R8, R9, R10, R14, R15];
const NCALLER: usize = 5;
/// The float cache registers (all caller-saved).
const XPOOL: [AsmRegisterXmm; 8] = [xmm8, xmm9, xmm10, xmm11, xmm12, xmm13, xmm14, xmm15];
/// `loc` codes: 0 = in no register, `1 + i` = `POOL[i]`, `XLOC + j` =
/// `XPOOL[j]`.
const XLOC: u8 = 16;

/// A condition code (what the flags say about a compare).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Cc {
    E,
    Ne,
    A,
    Ae,
    B,
    Be,
    G,
    Ge,
    L,
    Le,
    P,
    Np,
}

impl Cc {
    fn not(self) -> Cc {
        match self {
            Cc::E => Cc::Ne,
            Cc::Ne => Cc::E,
            Cc::A => Cc::Be,
            Cc::Be => Cc::A,
            Cc::Ae => Cc::B,
            Cc::B => Cc::Ae,
            Cc::G => Cc::Le,
            Cc::Le => Cc::G,
            Cc::Ge => Cc::L,
            Cc::L => Cc::Ge,
            Cc::P => Cc::Np,
            Cc::Np => Cc::P,
        }
    }
}

/// A second operand: a register, a home (`rsp + disp`) or an immediate.
#[derive(Clone, Copy)]
enum Src {
    R(G),
    M(i32),
    I(i32),
}

/// `$self.a.$m(g, s)` at width `$w` (8, 16, 32 or 64 bits).
macro_rules! alu {
    ($self:ident, $m:ident, $g:expr, $s:expr, $w:expr) => {{
        let g: G = $g;
        match ($w, $s) {
            (64, Src::R(r)) => $self.a.$m(g.q, r.q)?,
            (64, Src::M(d)) => $self.a.$m(g.q, qword_ptr(rsp + d))?,
            (64, Src::I(i)) => $self.a.$m(g.q, i)?,
            (32, Src::R(r)) => $self.a.$m(g.d, r.d)?,
            (32, Src::M(d)) => $self.a.$m(g.d, dword_ptr(rsp + d))?,
            (32, Src::I(i)) => $self.a.$m(g.d, i)?,
            (16, Src::R(r)) => $self.a.$m(g.w, r.w)?,
            (16, Src::M(d)) => $self.a.$m(g.w, word_ptr(rsp + d))?,
            (16, Src::I(i)) => $self.a.$m(g.w, i)?,
            (_, Src::R(r)) => $self.a.$m(g.b, r.b)?,
            (_, Src::M(d)) => $self.a.$m(g.b, byte_ptr(rsp + d))?,
            (_, Src::I(i)) => $self.a.$m(g.b, i)?,
        }
    }};
}

/// SysV integer argument registers.
const INT_ARGS: [G; 6] = [RDI, RSI, RDX, RCX, R8, R9];
/// SysV float argument registers.
const FLOAT_ARGS: [AsmRegisterXmm; 8] = [xmm0, xmm1, xmm2, xmm3, xmm4, xmm5, xmm6, xmm7];

/// Bytes pushed after `rbp` (rbx, r12-r15).
const SAVED: i32 = 40;
/// The largest frame (bytes) the generator makes (stack probes are unrolled).
const MAX_FRAME: u64 = 1 << 22;

fn unsupported<T>(s: impl Into<String>) -> R<T> {
    Err(Error::Unsupported(s.into()))
}

fn plan_err<T>(s: impl Into<String>) -> R<T> {
    Err(Error::Plan(s.into()))
}

/// The multiplier and shift that divide a 64-bit signed integer by `d`
/// (`2 <= |d|`, `d != i64::MIN`) with a multiplication: for every `n`,
/// `n / d` (rounding toward zero) is `(hi(n * m) [+ n if d > 0 and m < 0]
/// [- n if d < 0 and m > 0]) >> s`, plus one if that is negative
/// (Granlund and Montgomery's method, as in Warren's *Hacker's Delight*,
/// chapter 10: the smallest `p >= 64` for which `2^p / |d|`, rounded up,
/// is close enough to the quotient for every dividend). `None` for the
/// divisors it doesn't cover (`idiv` then).
fn signed_magic(d: i64) -> Option<(i64, u32)> {
    if d == i64::MIN || d.unsigned_abs() < 2 {
        return None;
    }
    const TWO63: u64 = 1 << 63;
    let ad = d.unsigned_abs();
    // The largest dividend magnitude whose remainder by |d| is |d| - 1.
    let t = TWO63 + ((d as u64) >> 63);
    let anc = t - 1 - t % ad;
    let mut p = 63u32;
    let (mut q1, mut r1) = (TWO63 / anc, TWO63 % anc);
    let (mut q2, mut r2) = (TWO63 / ad, TWO63 % ad);
    loop {
        p += 1;
        q1 = q1.wrapping_mul(2);
        r1 = r1.wrapping_mul(2);
        if r1 >= anc {
            q1 = q1.wrapping_add(1);
            r1 = r1.wrapping_sub(anc);
        }
        q2 = q2.wrapping_mul(2);
        r2 = r2.wrapping_mul(2);
        if r2 >= ad {
            q2 = q2.wrapping_add(1);
            r2 = r2.wrapping_sub(ad);
        }
        let delta = ad - r2;
        if !(q1 < delta || (q1 == delta && r1 == 0)) {
            break;
        }
    }
    let m = q2.wrapping_add(1) as i64;
    Some((if d < 0 { m.wrapping_neg() } else { m }, p - 64))
}

fn fits_i32(x: i64) -> bool {
    i32::try_from(x).is_ok()
}

struct E<'a> {
    a: CodeAssembler,
    t: &'a Trace,
    plan: &'a Plan,
    syms: &'a dyn Symbols,
    np: usize,
    home_base: i32,
    /// Per body instruction: its alloca slot's offset from rsp (allocas only).
    alloca_off: Vec<i32>,
    /// The temporary words for the jump's parallel move (one per parameter).
    tmp_base: i32,
    /// The body instruction being emitted.
    k: usize,
    /// Whether results are cached (in the body; not in the ends, exits,
    /// entry and re-entry).
    in_body: bool,
    /// Per pool register: the value it caches, and when it was last used.
    gval: [Option<ValId>; 7],
    gstamp: [u32; 7],
    xval: [Option<ValId>; 8],
    xstamp: [u32; 8],
    stamp: u32,
    /// `stamp` when the current body instruction began: a register used
    /// since holds one of its operands and is not taken for another.
    inst_stamp: u32,
    /// Per value: its cache register (`XLOC` codes).
    loc: Vec<u8>,
    /// Per value: the index of its last use in the body (the body's length
    /// for a use by the end); values only an exit reads don't count.
    last: Vec<u32>,
    /// Per value: the index of the last body instruction that needs it in
    /// a register or its home: `last`, and the guards whose exits read it
    /// (the body's length for the end).
    need: Vec<u32>,
    /// Per value: cached in a register whose bits its home doesn't hold
    /// yet (written back when evicted while still needed, before a call
    /// that clobbers the register, and on the way out of a guard whose
    /// exit reads it).
    dirty: Vec<bool>,
    /// Per snapshot: the index of its exit in `plan.exits`, if it has one.
    exit_of: Vec<Option<usize>>,
    /// Per parameter: read where it arrives rather than from a home (see
    /// [`Self::find_direct`]): the base register (`r13`, the buffer, or
    /// `rbx`, vars) and the offset.
    direct: Vec<Option<(AsmRegister64, i32)>>,
    /// Per parameter: read by nothing (see [`Self::analyse`]): not loaded.
    unread: Vec<bool>,
    /// Where the entry and re-entry go when guards are hoisted above the
    /// loop's head (see [`Self::hoistable`]); else they go to the head.
    pre_head: Option<CodeLabel>,
    /// Per value: a `ptr_add` folded into its users' addressing: (root, disp).
    fold: Vec<Option<(ValId, i32)>>,
    /// Per body instruction: a compare feeding only the next instruction (a
    /// guard or select, which reads the flags): no result is materialised.
    fused: Vec<bool>,
    /// The value whose compare set the flags (valid only right after it).
    flags: Option<(ValId, Cc)>,
    epilogue: CodeLabel,
    tail: CodeLabel,
    reentry: CodeLabel,
    head: CodeLabel,
    entry: CodeLabel,
}

/// A guard's way out through the write-back of the dirty values its exit
/// reads: (its label, each value with its `loc` at the guard, the label it
/// goes on to).
type Flush = (CodeLabel, Vec<(ValId, u8)>, CodeLabel);

/// What [`compile`] makes before mapping: the bytes and the offsets.
pub(crate) struct Assembled {
    pub bytes: Vec<u8>,
    pub offsets: Vec<u32>,
}

pub(crate) fn compile(t: &Trace, plan: &Plan, syms: &dyn Symbols) -> R<crate::Code> {
    let asm = assemble(t, plan, syms)?;
    crate::Code::new(&asm.bytes, asm.offsets)
}

/// Generates the trace function's code (at offset 0; position-independent).
pub(crate) fn assemble(t: &Trace, plan: &Plan, syms: &dyn Symbols) -> R<Assembled> {
    check_plan(t, plan)?;
    let np = t.params.len();
    // Frame: outgoing stack arguments, allocas, homes, temporaries.
    let mut out_words = 0usize;
    let mut cur: u64 = 0;
    let mut maxalign: u64 = 16;
    let mut alloca_raw: Vec<(usize, u64)> = Vec::new();
    for (k, inst) in t.body.iter().enumerate() {
        match inst {
            Inst::Call { args, .. } => {
                let (mut ni, mut nf, mut ns) = (0, 0, 0);
                for a in args {
                    if ty_of(t, *a).is_float() {
                        nf += 1;
                        if nf > 8 {
                            ns += 1;
                        }
                    } else {
                        ni += 1;
                        if ni > 6 {
                            ns += 1;
                        }
                    }
                }
                out_words = out_words.max(ns);
            }
            Inst::Alloca { size, align } => {
                let algn = u64::from(*align).max(8);
                if algn > 4096 {
                    return unsupported(format!("alloca aligned to {algn}"));
                }
                maxalign = maxalign.max(algn);
                alloca_raw.push((k, algn));
                let _ = size;
            }
            _ => {}
        }
    }
    cur += (out_words as u64 * 8).next_multiple_of(16);
    let mut alloca_off = Vec::new();
    if !alloca_raw.is_empty() {
        alloca_off = vec![0i32; t.body.len()];
        for (k, algn) in alloca_raw {
            let Inst::Alloca { size, .. } = t.body[k] else {
                unreachable!()
            };
            cur = cur.next_multiple_of(algn);
            alloca_off[k] = cur as i32;
            cur += u64::from(size).next_multiple_of(8);
            if cur > MAX_FRAME {
                return unsupported("a frame over 4 MiB");
            }
        }
    }
    let home_base = cur.next_multiple_of(8);
    let tmp_base = home_base + 8 * t.nvals() as u64;
    let frame = (tmp_base + 8 * np as u64).next_multiple_of(16);
    if frame > MAX_FRAME {
        return unsupported("a frame over 4 MiB");
    }
    let mut a = CodeAssembler::new(64)?;
    // Every branch in its 32-bit form: see `encode`.
    a.set_prefer_short_branch(false);
    let labels = (
        a.create_label(),
        a.create_label(),
        a.create_label(),
        a.create_label(),
        a.create_label(),
    );
    let mut e = E {
        a,
        t,
        plan,
        syms,
        np,
        home_base: home_base as i32,
        alloca_off,
        tmp_base: tmp_base as i32,
        k: 0,
        in_body: false,
        gval: [None; 7],
        gstamp: [0; 7],
        xval: [None; 8],
        xstamp: [0; 8],
        stamp: 0,
        inst_stamp: 0,
        loc: vec![0; t.nvals()],
        last: Vec::new(),
        need: Vec::new(),
        dirty: vec![false; t.nvals()],
        direct: Vec::new(),
        unread: Vec::new(),
        pre_head: None,
        exit_of: exits_by_snapshot(t, plan)?,
        fold: Vec::new(),
        fused: Vec::new(),
        flags: None,
        epilogue: labels.0,
        tail: labels.1,
        reentry: labels.2,
        head: labels.3,
        entry: labels.4,
    };
    e.analyse();
    e.find_direct();
    let offsets_idx = e.function(frame as i32, maxalign)?;
    let (bytes, offs) = encode(&mut e.a)?;
    let offsets = offsets_idx
        .iter()
        .map(|&i| offs.get(i).copied().unwrap_or(bytes.len() as u32))
        .collect();
    Ok(Assembled { bytes, offsets })
}

/// Encodes the assembler's instructions at offset 0 in one pass, and
/// returns the bytes and each instruction's offset. Every branch to a
/// label is in its 32-bit form (`set_prefer_short_branch(false)`), so
/// lengths never change and each displacement (a branch's, or a label's
/// address taken rip-relative) is patched once the labels' offsets are
/// known. (iced's block encoder, which shortens branches that
/// fit, took three quarters of code generation's instructions.)
fn encode(a: &mut CodeAssembler) -> R<(Vec<u8>, Vec<u32>)> {
    let instrs = a.take_instructions();
    let mut enc = Encoder::new(64);
    let mut offsets = Vec::with_capacity(instrs.len());
    // Label id -> offset (ids count from 1; the assembler marks a
    // label's instruction with its id as `ip`).
    let mut labels: Vec<Option<u32>> = Vec::new();
    // (end of a displacement to a label, the label's id)
    let mut fixups: Vec<(usize, u64)> = Vec::new();
    let mut pos = 0u64;
    for ins in &instrs {
        offsets.push(pos as u32);
        if ins.ip() != 0 {
            let id = ins.ip() as usize;
            if labels.len() <= id {
                labels.resize(id + 1, None);
            }
            labels[id] = Some(pos as u32);
        }
        let n = if ins.op0_kind() == OpKind::NearBranch64 {
            // Encoded to itself for now.
            let mut b = *ins;
            b.set_near_branch64(pos);
            let n = enc.encode(&b, pos)?;
            if n < 5 {
                return Err(Error::Asm("a short branch".into()));
            }
            fixups.push((pos as usize + n, ins.near_branch64()));
            n
        } else if ins.is_ip_rel_memory_operand() {
            // A label's address (`lea r, [rip + label]`): encoded to
            // itself for now.
            let mut b = *ins;
            b.set_memory_displacement64(pos);
            let n = enc.encode(&b, pos)?;
            let c = enc.get_constant_offsets();
            if c.displacement_size() != 4 || c.immediate_size() != 0 {
                return Err(Error::Asm("a rip-relative operand not last".into()));
            }
            fixups.push((pos as usize + n, ins.memory_displacement64()));
            n
        } else {
            enc.encode(ins, pos)?
        };
        pos += n as u64;
    }
    let mut bytes = enc.take_buffer();
    for (end, l) in fixups {
        let to = labels
            .get(l as usize)
            .copied()
            .flatten()
            .ok_or_else(|| Error::Asm(format!("a branch to unset label {l}")))?;
        let rel = i64::from(to) - end as i64;
        bytes[end - 4..end].copy_from_slice(&(rel as i32).to_le_bytes());
    }
    Ok((bytes, offsets))
}

/// Per snapshot: the index of its exit in `plan.exits`, if it has one.
fn exits_by_snapshot(t: &Trace, plan: &Plan) -> R<Vec<Option<usize>>> {
    let mut exit_of: Vec<Option<usize>> = vec![None; t.snaps.iter().count()];
    for (i, (s, _)) in plan.exits.iter().enumerate() {
        match exit_of.get_mut(s.0 as usize) {
            Some(e) => *e = Some(i),
            None => return plan_err(format!("exit for a missing snapshot s{}", s.0)),
        }
    }
    Ok(exit_of)
}

fn check_plan(t: &Trace, plan: &Plan) -> R<()> {
    let np = t.params.len();
    if plan.params.len() != np {
        return plan_err(format!(
            "{} parameter sources for {np} parameters",
            plan.params.len()
        ));
    }
    if np == 0 || plan.params[0] != crate::ParamSrc::Vars {
        return plan_err("parameter 0 must be vars");
    }
    if t.params[0] != Ty::Ptr {
        return plan_err("parameter 0 must be a pointer");
    }
    for &(p, _) in plan.reserved.iter().chain(&plan.carried) {
        if p as usize >= np {
            return plan_err(format!("parameter {p} out of range"));
        }
    }
    if let Some(tc) = &plan.tier_check {
        if !tc.every.is_power_of_two() {
            return plan_err("tier check interval not a power of two");
        }
        if plan.counter.is_none() || plan.shape != Shape::Loop {
            return plan_err("a tier check needs a counter and the loop shape");
        }
        for &(_, p) in &tc.stores {
            if p as usize >= np {
                return plan_err(format!("parameter {p} out of range"));
            }
        }
    }
    let root = plan.shape != Shape::Side;
    if !root && (plan.counter.is_some() || !plan.carried.is_empty()) {
        return plan_err("a side trace has no counter and no carried slots");
    }
    match (&t.end, plan.shape) {
        (End::Jump(_), Shape::Loop) | (End::Exit(_), Shape::Linear | Shape::Side) => {}
        _ => return plan_err("the trace's end doesn't fit its shape"),
    }
    for &(v, _) in &plan.eager {
        if v.idx() >= t.nvals() {
            return plan_err(format!("eager value {} out of range", v.0));
        }
    }
    Ok(())
}

fn ty_of(t: &Trace, o: Operand) -> Ty {
    match o {
        Operand::Val(v) => t.val_ty(v),
        Operand::Const(c) => c.ty(),
    }
}

/// Calls `f(operand, is_address)` for each operand of `inst` (an address:
/// a load's or store's pointer).
fn each_operand(inst: &Inst, mut f: impl FnMut(Operand, bool)) {
    match inst {
        Inst::Load { ptr, .. } => f(*ptr, true),
        Inst::Store { val, ptr, .. } => {
            f(*val, false);
            f(*ptr, true);
        }
        Inst::PtrAdd { ptr, .. } => f(*ptr, false),
        Inst::DynPtrAdd { ptr, idx, .. } => {
            f(*ptr, false);
            f(*idx, false);
        }
        Inst::Bin { lhs, rhs, .. } | Inst::ICmp { lhs, rhs, .. } | Inst::FCmp { lhs, rhs, .. } => {
            f(*lhs, false);
            f(*rhs, false);
        }
        Inst::Cast { val, .. } => f(*val, false),
        Inst::Select { cond, t, f: e, .. } => {
            f(*cond, false);
            f(*t, false);
            f(*e, false);
        }
        Inst::Alloca { .. } => {}
        Inst::Call { callee, args, .. } => {
            f(*callee, false);
            for a in args {
                f(*a, false);
            }
        }
        Inst::Guard { cond, .. } => f(*cond, false),
    }
}

impl E<'_> {
    /// One linear pass before emission: use counts, `ptr_add`s folded into
    /// addressing, compares fused with the next instruction, last uses.
    fn analyse(&mut self) {
        let t = self.t;
        let nv = t.nvals();
        let nb = t.body.len();
        let mut uses = vec![0u32; nv];
        let mut addr_uses = vec![0u32; nv];
        for inst in &t.body {
            each_operand(inst, |o, a| {
                if let Operand::Val(u) = o {
                    uses[u.idx()] += 1;
                    if a {
                        addr_uses[u.idx()] += 1;
                    }
                }
            });
        }
        let mut outside = |o: Operand| {
            if let Operand::Val(u) = o {
                uses[u.idx()] += 1;
            }
        };
        match &t.end {
            End::Jump(args) => args.iter().for_each(|&o| outside(o)),
            End::Exit(_) => {}
        }
        for &(_, o) in &self.plan.end_stores {
            outside(o);
        }
        if let Some(o) = self.plan.end_loc {
            outside(o);
        }
        for (_, st) in &self.plan.exits {
            for &(o, _) in st {
                outside(o);
            }
        }
        for &(v, _) in &self.plan.eager {
            outside(Operand::Val(v));
        }
        // A parameter nothing reads (no instruction, exit, end, or store of
        // the plan) is not loaded at all: a side trace gets both the
        // fields of vars and its parent's values of them, and its end
        // writes the fields from the latter.
        let mut read = (0..self.np).map(|k| uses[k] > 0).collect::<Vec<_>>();
        for &(p, _) in self.plan.reserved.iter().chain(&self.plan.carried) {
            if let Some(r) = read.get_mut(p as usize) {
                *r = true;
            }
        }
        if let Some(tc) = &self.plan.tier_check {
            for &(_, p) in &tc.stores {
                if let Some(r) = read.get_mut(p as usize) {
                    *r = true;
                }
            }
        }
        self.unread = read.iter().map(|r| !r).collect();
        let mut fold: Vec<Option<(ValId, i32)>> = vec![None; nv];
        let mut fused = vec![false; nb];
        for (k, inst) in t.body.iter().enumerate() {
            let v = self.np + k;
            match inst {
                Inst::PtrAdd {
                    ptr: Operand::Val(b),
                    off,
                } if uses[v] == addr_uses[v] => {
                    let (r, d) = fold[b.idx()].unwrap_or((*b, 0));
                    if let Ok(d) = i32::try_from(i64::from(d).wrapping_add(*off)) {
                        fold[v] = Some((r, d));
                    }
                }
                Inst::ICmp { .. } | Inst::FCmp { .. } if uses[v] == 1 => {
                    fused[k] = matches!(t.body.get(k + 1),
                        Some(Inst::Guard { cond: Operand::Val(c), .. }
                            | Inst::Select { cond: Operand::Val(c), .. }) if c.idx() == v);
                }
                _ => {}
            }
        }
        let mut last = vec![0u32; nv];
        for (k, inst) in t.body.iter().enumerate() {
            if fold[self.np + k].is_some() {
                continue;
            }
            each_operand(inst, |o, _| {
                if let Operand::Val(u) = o {
                    let r = fold[u.idx()].map_or(u, |(r, _)| r);
                    last[r.idx()] = k as u32;
                }
            });
        }
        let mut at_end = |o: Operand| {
            if let Operand::Val(u) = o {
                let r = fold[u.idx()].map_or(u, |(r, _)| r);
                last[r.idx()] = nb as u32;
            }
        };
        match &t.end {
            End::Jump(args) => args.iter().for_each(|&o| at_end(o)),
            End::Exit(_) => {}
        }
        for &(_, o) in &self.plan.end_stores {
            at_end(o);
        }
        if let Some(o) = self.plan.end_loc {
            at_end(o);
        }
        let mut need = last.clone();
        for (k, inst) in t.body.iter().enumerate() {
            if let Inst::Guard { snap, .. } = inst {
                if let Some(i) = self.exit_of.get(snap.0 as usize).copied().flatten() {
                    for &(o, _) in &self.plan.exits[i].1 {
                        if let Operand::Val(u) = o {
                            let r = fold[u.idx()].map_or(u, |(r, _)| r);
                            need[r.idx()] = need[r.idx()].max(k as u32);
                        }
                    }
                }
            }
        }
        self.fold = fold;
        self.fused = fused;
        self.last = last;
        self.need = need;
    }

    /// Writes `v`, dirty in cache register `l`, to its home.
    fn spill(&mut self, v: ValId, l: u8) -> R<()> {
        self.dirty[v.idx()] = false;
        let d = self.ho(v);
        if l < XLOC {
            self.a.mov(qword_ptr(rsp + d), POOL[usize::from(l - 1)].q)?;
        } else {
            let x = XPOOL[usize::from(l - XLOC)];
            if self.t.val_ty(v) == Ty::F32 {
                // (Canonical: zero-extended; no general register is free.)
                self.a.movss(dword_ptr(rsp + d), x)?;
                self.a.mov(dword_ptr(rsp + (d + 4)), 0)?;
            } else {
                self.a.movsd_2(qword_ptr(rsp + d), x)?;
            }
        }
        Ok(())
    }

    /// `v` leaves cache register `l`: written back first if it is dirty
    /// and needed at or after body instruction `from`.
    fn evict(&mut self, v: ValId, l: u8, from: usize) -> R<()> {
        self.loc[v.idx()] = 0;
        if self.dirty[v.idx()] {
            if self.need[v.idx()] as usize >= from {
                self.spill(v, l)?;
            }
            self.dirty[v.idx()] = false;
        }
        Ok(())
    }

    /// Before a call: dirty values in caller-saved cache registers that
    /// are needed after it are written back.
    fn spill_caller_saved(&mut self) -> R<()> {
        let k = self.k;
        for i in 0..NCALLER {
            if let Some(u) = self.gval[i] {
                if self.dirty[u.idx()] && self.need[u.idx()] as usize > k {
                    self.spill(u, 1 + i as u8)?;
                }
            }
        }
        for j in 0..XPOOL.len() {
            if let Some(u) = self.xval[j] {
                if self.dirty[u.idx()] && self.need[u.idx()] as usize > k {
                    self.spill(u, XLOC + j as u8)?;
                }
            }
        }
        Ok(())
    }

    fn ho(&self, v: ValId) -> i32 {
        self.home_base + 8 * v.0 as i32
    }

    /// Where `v`'s canonical bits are in memory: its home, or a direct
    /// parameter's slot.
    fn hbase(&self, v: ValId) -> (AsmRegister64, i32) {
        match self.direct.get(v.idx()).copied().flatten() {
            Some(bd) => bd,
            None => (rsp, self.ho(v)),
        }
    }

    fn home(&self, v: ValId) -> AsmMemoryOperand {
        let (b, d) = self.hbase(v);
        qword_ptr(b + d)
    }

    /// Which parameters are *direct*, read where they arrive and never
    /// copied to a home (whole words only: a narrower input's word may hold
    /// more than its canonical bits):
    /// - a side trace's inputs in buffer slots that no store of the plan
    ///   (eager, exit, reserved) writes, except a reserved store of the
    ///   input to its own slot; and its inputs in fields of vars, when the
    ///   body never uses vars and no end store writes their field with
    ///   another value (a side trace is never re-entered, and its guards'
    ///   exits leave it: vars changes only at its end);
    /// - a loop's invariant parameters in fields of vars (the jump passes
    ///   them on unchanged), when the body never uses vars (so nothing in it
    ///   writes vars: only the tier check does, on the way out, and only
    ///   parameters to their own fields). A guard's exit may have the
    ///   runtime write vars before it re-enters the trace: direct
    ///   parameters then read the new values, as the re-entry would load.
    fn find_direct(&mut self) {
        let plan = self.plan;
        let t = self.t;
        self.direct = vec![None; self.np];
        let whole = |k: usize| matches!(t.params[k], Ty::Ptr | Ty::F64 | Ty::Int(64));
        match plan.shape {
            Shape::Side => {
                let mut written: std::collections::HashSet<u32> = std::collections::HashSet::new();
                written.extend(plan.eager.iter().map(|&(_, s)| s));
                written.extend(plan.carried.iter().map(|&(_, s)| s));
                for (_, st) in &plan.exits {
                    written.extend(st.iter().map(|&(_, s)| s));
                }
                for &(p, s) in &plan.reserved {
                    if plan.params.get(p as usize) != Some(&crate::ParamSrc::Slot(s)) {
                        written.insert(s);
                    }
                }
                // Inputs in fields of vars too, when the body never uses
                // vars (nothing but the end writes it), and no end store
                // writes their field with something else (the end's
                // stores and its location read them after earlier stores).
                let vars_used = self.t.body_reads(ValId(0));
                let mut end_written: std::collections::HashSet<u32> =
                    std::collections::HashSet::new();
                for &(f, o) in &plan.end_stores {
                    let own = plan
                        .params
                        .iter()
                        .position(|p| *p == crate::ParamSrc::Field(f))
                        .is_some_and(|k| o == Operand::Val(ValId(k as u32)));
                    if !own {
                        end_written.insert(f);
                    }
                }
                for (k, src) in plan.params.iter().enumerate() {
                    match *src {
                        crate::ParamSrc::Slot(s) => {
                            if whole(k) && !written.contains(&s) {
                                if let Ok(d) = i32::try_from(8 * u64::from(s)) {
                                    self.direct[k] = Some((r13, d));
                                }
                            }
                        }
                        crate::ParamSrc::Field(f) => {
                            if whole(k) && !vars_used && !end_written.contains(&f) {
                                if let Ok(d) = i32::try_from(f) {
                                    self.direct[k] = Some((rbx, d));
                                }
                            }
                        }
                        crate::ParamSrc::Vars => {}
                    }
                }
            }
            Shape::Loop => {
                let End::Jump(args) = &t.end else { return };
                if self.t.body_reads(ValId(0)) {
                    return;
                }
                let field_of = |p: usize| match plan.params.get(p) {
                    Some(crate::ParamSrc::Field(f)) => Some(*f),
                    _ => None,
                };
                // Fields the tier check writes with another parameter.
                let mut clobbered: std::collections::HashSet<u32> =
                    std::collections::HashSet::new();
                if let Some(tc) = &plan.tier_check {
                    for &(field, p) in &tc.stores {
                        if field_of(p as usize) != Some(field) {
                            clobbered.insert(field);
                        }
                    }
                }
                for (k, arg) in args.iter().enumerate().take(self.np).skip(1) {
                    let Some(f) = field_of(k) else { continue };
                    if whole(k) && *arg == Operand::Val(ValId(k as u32)) && !clobbered.contains(&f)
                    {
                        if let Ok(d) = i32::try_from(f) {
                            self.direct[k] = Some((rbx, d));
                        }
                    }
                }
            }
            Shape::Linear => {}
        }
    }

    fn ty(&self, o: Operand) -> Ty {
        ty_of(self.t, o)
    }

    /// A constant's bits (symbols resolved).
    fn cbits(&self, c: Const) -> R<u64> {
        match c {
            Const::Sym(Sym::Func(n)) => match self.syms.func(n)? {
                Callee::Addr { addr, .. } => Ok(addr),
                Callee::Intrinsic(s) => unsupported(format!("intrinsic {s} used as a value")),
            },
            Const::Sym(Sym::Global(n)) => self.syms.global(n),
            c => Ok(c.bits().expect("a non-symbol constant")),
        }
    }

    /// `g = bits`.
    fn imm(&mut self, g: G, b: u64) -> R<()> {
        if b <= u64::from(u32::MAX) {
            self.a.mov(g.d, b as u32 as i32)?;
        } else if fits_i32(b as i64) {
            self.a.add_instruction(iced_x86::Instruction::with2(
                iced_x86::Code::Mov_rm64_imm32,
                iced_x86::Register::from(g.q),
                b as i64 as i32,
            )?)?;
        } else {
            self.a.mov(g.q, b as i64)?;
        }
        Ok(())
    }

    /// `g = o` (canonical bits). Never changes the flags. A pool register
    /// `g` loses what it cached.
    fn ld(&mut self, g: G, o: Operand) -> R<()> {
        self.clobber(g.q)?;
        match o {
            Operand::Val(v) => {
                if let Some((root, d)) = self.fold[v.idx()] {
                    // (Only reached if a folded value is read as a value:
                    // lea keeps the flags.)
                    self.ld(g, Operand::Val(root))?;
                    self.a.lea(g.q, qword_ptr(g.q + d))?;
                    return Ok(());
                }
                let l = self.loc[v.idx()];
                if l == 0 {
                    let m = self.home(v);
                    self.a.mov(g.q, m)?;
                } else if l < XLOC {
                    let c = POOL[usize::from(l - 1)];
                    self.touch(l);
                    if c.q != g.q {
                        self.a.mov(g.q, c.q)?;
                    }
                } else {
                    let x = XPOOL[usize::from(l - XLOC)];
                    self.touch(l);
                    if self.t.val_ty(v) == Ty::F32 {
                        self.a.movd(g.d, x)?;
                    } else {
                        self.a.movq(g.q, x)?;
                    }
                }
            }
            Operand::Const(c) => {
                let b = self.cbits(c)?;
                self.imm(g, b)?;
            }
        }
        Ok(())
    }

    /// `x = o`, a float of type `ty` (clobbers r11 for a constant).
    fn ldx(&mut self, x: AsmRegisterXmm, o: Operand, ty: Ty) -> R<()> {
        match o {
            Operand::Val(v) if self.fold[v.idx()].is_none() => {
                let l = self.loc[v.idx()];
                if l == 0 {
                    let (b, d) = self.hbase(v);
                    if ty == Ty::F32 {
                        self.a.movss(x, dword_ptr(b + d))?;
                    } else {
                        self.a.movsd_2(x, qword_ptr(b + d))?;
                    }
                } else if l < XLOC {
                    let c = POOL[usize::from(l - 1)];
                    self.touch(l);
                    if ty == Ty::F32 {
                        self.a.movd(x, c.d)?;
                    } else {
                        self.a.movq(x, c.q)?;
                    }
                } else {
                    let c = XPOOL[usize::from(l - XLOC)];
                    self.touch(l);
                    if c != x {
                        self.a.movaps(x, c)?;
                    }
                }
            }
            o => {
                self.ld(R11, o)?;
                self.a.movq(x, r11)?;
            }
        }
        Ok(())
    }

    /// A float operand in some xmm register: its cache register, else
    /// loaded into `x`.
    fn fsrc(&mut self, o: Operand, ty: Ty, x: AsmRegisterXmm) -> R<AsmRegisterXmm> {
        let l = self.cache_operand(o)?;
        if l >= XLOC {
            self.touch(l);
            return Ok(XPOOL[usize::from(l - XLOC)]);
        }
        self.ldx(x, o, ty)?;
        Ok(x)
    }

    /// A second operand for an operation of width `w` (32-bit operations
    /// for `w == 32`, 8 and 16 for compares, else 64) on `o`'s canonical
    /// bits: its cache register, its home or an immediate; else loaded
    /// into rcx.
    fn src(&mut self, o: Operand, w: u32) -> R<Src> {
        match o {
            Operand::Val(v) if self.fold[v.idx()].is_none() => {
                let l = self.cache_operand(o)?;
                if l == 0 && self.hbase(v).0 == rsp {
                    Ok(Src::M(self.ho(v)))
                } else if l == 0 {
                    self.ld(RCX, o)?;
                    Ok(Src::R(RCX))
                } else if l < XLOC {
                    self.touch(l);
                    Ok(Src::R(POOL[usize::from(l - 1)]))
                } else {
                    self.ld(RCX, o)?;
                    Ok(Src::R(RCX))
                }
            }
            Operand::Const(c) => {
                let b = self.cbits(c)?;
                if w == 32 {
                    Ok(Src::I(b as u32 as i32))
                } else if fits_i32(b as i64) {
                    Ok(Src::I(b as i32))
                } else {
                    self.imm(RCX, b)?;
                    Ok(Src::R(RCX))
                }
            }
            o => {
                self.ld(RCX, o)?;
                Ok(Src::R(RCX))
            }
        }
    }

    /// Stores `g` to `v`'s home (`v`'s result: in the body, also caches it
    /// in a pool register if the body uses it later). Keeps the flags.
    fn st(&mut self, v: ValId, g: G) -> R<()> {
        self.forget(v);
        if self.kept(v) {
            // Cached, and written to its home only if it must be (see
            // `dirty`).
            let i = self.pick(false)?;
            self.a.mov(POOL[i].q, g.q)?;
            self.hold_pool(v, i, false);
        } else {
            let m = self.home(v);
            self.a.mov(m, g.q)?;
        }
        Ok(())
    }

    /// Stores float `x` of type `ty` to `v`'s home (an f32 zero-extended;
    /// clobbers rax), caching it as [`Self::st`] does.
    fn stx(&mut self, v: ValId, x: AsmRegisterXmm, ty: Ty) -> R<()> {
        self.forget(v);
        if self.kept(v) {
            let j = self.pick(true)?;
            self.a.movaps(XPOOL[j], x)?;
            self.hold_pool(v, j, true);
            return Ok(());
        }
        if ty == Ty::F32 {
            self.a.movd(eax, x)?;
            let m = self.home(v);
            self.a.mov(m, rax)?;
        } else {
            let m = self.home(v);
            self.a.movsd_2(m, x)?;
        }
        Ok(())
    }

    /// Is `v` (a result being made) used again by the body, so kept in a
    /// cache register (see [`Self::hold`])?
    fn kept(&self, v: ValId) -> bool {
        self.in_body && self.last[v.idx()] as usize > self.k
    }

    /// Takes a pool register (an xmm one if `float`) for result `v`, which
    /// no longer has one: its index in `POOL` or `XPOOL` (see
    /// [`Self::hold_pool`]).
    fn claim(&mut self, v: ValId, float: bool) -> R<usize> {
        self.forget(v);
        self.pick(float)
    }

    /// Result `v` is in pool register `i` (of `XPOOL` if `float`, else of
    /// `POOL`) only: [`Self::hold`] with that register's `loc` code.
    fn hold_pool(&mut self, v: ValId, i: usize, float: bool) {
        let l = if float { XLOC + i as u8 } else { 1 + i as u8 };
        self.hold(v, l);
    }

    /// Result `v` is in cache register `l` only (dirty: its home is
    /// written when it must be).
    fn hold(&mut self, v: ValId, l: u8) {
        self.set_loc(v, l);
        self.dirty[v.idx()] = true;
    }

    /// Marks cache register `l` (a `loc` code) used now.
    fn touch(&mut self, l: u8) {
        self.stamp += 1;
        if l < XLOC {
            self.gstamp[usize::from(l - 1)] = self.stamp;
        } else {
            self.xstamp[usize::from(l - XLOC)] = self.stamp;
        }
    }

    /// A register of the general (or float) pool to cache a new value in,
    /// emptied: a free one, else one whose value the body no longer uses,
    /// else the least recently used.
    fn pick(&mut self, float: bool) -> R<usize> {
        Ok(self
            .pick_for(float, false)?
            .expect("an unprotected pick always finds a register"))
    }

    /// [`Self::pick`]; with `operand`, for an operand of the current
    /// instruction: never a register holding another of its operands
    /// (`None` if all do).
    fn pick_for(&mut self, float: bool, operand: bool) -> R<Option<usize>> {
        let k = self.k;
        let since = self.inst_stamp;
        let (vals, stamps): (&[Option<ValId>], &[u32]) = if float {
            (&self.xval, &self.xstamp)
        } else {
            (&self.gval, &self.gstamp)
        };
        let mut best = 0;
        let mut best_key = (3u8, u32::MAX);
        for (i, (val, &st)) in vals.iter().zip(stamps).enumerate() {
            if operand && val.is_some() && st > since {
                continue;
            }
            let key = match val {
                None => (0, 0),
                Some(u) if self.last[u.idx()] as usize <= k => (1, st),
                Some(_) => (2, st),
            };
            if key < best_key {
                best_key = key;
                best = i;
            }
        }
        if best_key.0 == 3 {
            return Ok(None);
        }
        let (old, l) = if float {
            (self.xval[best].take(), XLOC + best as u8)
        } else {
            (self.gval[best].take(), 1 + best as u8)
        };
        if let Some(u) = old {
            // An operand pick may evict an operand not read yet (needed
            // at `k`); a result's pick comes after them.
            let from = if operand { k } else { k + 1 };
            self.evict(u, l, from)?;
        }
        Ok(Some(best))
    }

    /// An operand `o` of the current body instruction that is in no
    /// register but is used again later: loaded from its home into a cache
    /// register, so its later uses don't reload it. Returns its `loc` code
    /// (0 if not cached). Never changes the flags.
    fn cache_operand(&mut self, o: Operand) -> R<u8> {
        let Operand::Val(v) = o else { return Ok(0) };
        let l = self.loc[v.idx()];
        if l != 0 || !self.in_body || self.fold[v.idx()].is_some() {
            return Ok(l);
        }
        if self.last[v.idx()] as usize <= self.k {
            return Ok(0);
        }
        let ty = self.t.val_ty(v);
        if ty.is_float() {
            let Some(j) = self.pick_for(true, true)? else {
                return Ok(0);
            };
            let (b, d) = self.hbase(v);
            if ty == Ty::F32 {
                self.a.movss(XPOOL[j], dword_ptr(b + d))?;
            } else {
                self.a.movsd_2(XPOOL[j], qword_ptr(b + d))?;
            }
            self.set_loc(v, XLOC + j as u8);
        } else {
            let Some(i) = self.pick_for(false, true)? else {
                return Ok(0);
            };
            let m = self.home(v);
            self.a.mov(POOL[i].q, m)?;
            self.set_loc(v, 1 + i as u8);
        }
        Ok(self.loc[v.idx()])
    }

    /// [`Self::ld`] of an operand of the current instruction, cached first
    /// (see [`Self::cache_operand`]). `g` is not a pool register.
    fn ldc(&mut self, g: G, o: Operand) -> R<()> {
        self.cache_operand(o)?;
        self.ld(g, o)
    }

    fn set_loc(&mut self, v: ValId, l: u8) {
        self.stamp += 1;
        if l < XLOC {
            self.gval[usize::from(l - 1)] = Some(v);
            self.gstamp[usize::from(l - 1)] = self.stamp;
        } else {
            self.xval[usize::from(l - XLOC)] = Some(v);
            self.xstamp[usize::from(l - XLOC)] = self.stamp;
        }
        self.loc[v.idx()] = l;
    }

    /// `v` is in no register any more.
    fn forget(&mut self, v: ValId) {
        self.dirty[v.idx()] = false;
        let l = std::mem::take(&mut self.loc[v.idx()]);
        if l == 0 {
        } else if l < XLOC {
            self.gval[usize::from(l - 1)] = None;
        } else {
            self.xval[usize::from(l - XLOC)] = None;
        }
    }

    /// General register `r` is about to be written: if a pool register, it
    /// caches nothing any more.
    fn clobber(&mut self, r: AsmRegister64) -> R<()> {
        if let Some(i) = POOL.iter().position(|g| g.q == r) {
            if let Some(u) = self.gval[i].take() {
                self.evict(u, 1 + i as u8, self.k)?;
            }
        }
        Ok(())
    }

    /// After a call: the caller-saved pool registers cache nothing (what
    /// was needed was written back by [`Self::spill_caller_saved`]).
    fn drop_caller_saved(&mut self) {
        for i in 0..NCALLER {
            if let Some(u) = self.gval[i].take() {
                self.loc[u.idx()] = 0;
                self.dirty[u.idx()] = false;
            }
        }
        for j in 0..XPOOL.len() {
            if let Some(u) = self.xval[j].take() {
                self.loc[u.idx()] = 0;
                self.dirty[u.idx()] = false;
            }
        }
    }

    /// At a label or a place reached by several paths: nothing is cached
    /// (and nothing is dirty: the body's head, after the end).
    fn clear_cache(&mut self) {
        for i in 0..POOL.len() {
            if let Some(u) = self.gval[i].take() {
                self.loc[u.idx()] = 0;
                self.dirty[u.idx()] = false;
            }
        }
        self.drop_caller_saved();
        self.flags = None;
    }

    /// The base register and displacement addressing pointer `o` (a
    /// folded `ptr_add` addresses its root; rcx holds a base not cached).
    fn addr(&mut self, o: Operand) -> R<(AsmRegister64, i32)> {
        if let Operand::Val(v) = o {
            let (r, d) = self.fold[v.idx()].unwrap_or((v, 0));
            let l = self.cache_operand(Operand::Val(r))?;
            if l != 0 && l < XLOC {
                self.touch(l);
                return Ok((POOL[usize::from(l - 1)].q, d));
            }
            self.ld(RCX, Operand::Val(r))?;
            return Ok((rcx, d));
        }
        self.ld(RCX, o)?;
        Ok((rcx, 0))
    }

    /// Zero-extends the low `w` bits of `g` to 64.
    fn canon(&mut self, g: G, w: u32) -> R<()> {
        match w {
            8 => self.a.movzx(g.d, g.b)?,
            16 => self.a.movzx(g.d, g.w)?,
            32 => self.a.mov(g.d, g.d)?,
            64 => {}
            1..=31 => self.a.and(g.d, ((1u32 << w) - 1) as i32)?,
            _ => {
                self.a.shl(g.q, (64 - w) as i32)?;
                self.a.shr(g.q, (64 - w) as i32)?;
            }
        }
        Ok(())
    }

    /// Sign-extends the low `w` bits of `g` to 64.
    fn sext(&mut self, g: G, w: u32) -> R<()> {
        match w {
            8 => self.a.movsx(g.q, g.b)?,
            16 => self.a.movsx(g.q, g.w)?,
            32 => self.a.movsxd(g.q, g.d)?,
            64 => {}
            _ => {
                self.a.shl(g.q, (64 - w) as i32)?;
                self.a.sar(g.q, (64 - w) as i32)?;
            }
        }
        Ok(())
    }

    /// `g = ty at [base + disp]`, canonical. `g`, `base` are not r11.
    fn load_mem(&mut self, g: G, base: AsmRegister64, disp: i32, ty: Ty) -> R<()> {
        let size = ty.size();
        match size {
            1 => self.a.movzx(g.d, byte_ptr(base + disp))?,
            2 => self.a.movzx(g.d, word_ptr(base + disp))?,
            4 => self.a.mov(g.d, dword_ptr(base + disp))?,
            8 => self.a.mov(g.q, qword_ptr(base + disp))?,
            3 | 5 | 6 | 7 => {
                // Pieces, low to high: 4, 2, 1 bytes.
                let mut off = 0u64;
                let mut first = true;
                for p in [4u64, 2, 1] {
                    if size - off < p {
                        continue;
                    }
                    let dst = if first { g } else { R11 };
                    let d = disp + off as i32;
                    match p {
                        4 => self.a.mov(dst.d, dword_ptr(base + d))?,
                        2 => self.a.movzx(dst.d, word_ptr(base + d))?,
                        _ => self.a.movzx(dst.d, byte_ptr(base + d))?,
                    }
                    if !first {
                        self.a.shl(r11, (8 * off) as i32)?;
                        self.a.or(g.q, r11)?;
                    }
                    first = false;
                    off += p;
                }
            }
            _ => return unsupported(format!("a load of {ty}")),
        }
        if let Ty::Int(w) = ty {
            let w = u32::from(w);
            if w % 8 != 0 {
                self.canon(g, w)?;
            }
        }
        Ok(())
    }

    /// `[base + disp] = low size bytes of g`. `base` is not r11; `g` may be
    /// clobbered for odd sizes.
    fn store_mem(&mut self, g: G, base: AsmRegister64, disp: i32, size: u64) -> R<()> {
        match size {
            1 => self.a.mov(byte_ptr(base + disp), g.b)?,
            2 => self.a.mov(word_ptr(base + disp), g.w)?,
            4 => self.a.mov(dword_ptr(base + disp), g.d)?,
            8 => self.a.mov(qword_ptr(base + disp), g.q)?,
            3 | 5 | 6 | 7 => {
                let mut off = 0u64;
                for p in [4u64, 2, 1] {
                    if size - off < p {
                        continue;
                    }
                    let d = disp + off as i32;
                    match p {
                        4 => self.a.mov(dword_ptr(base + d), g.d)?,
                        2 => self.a.mov(word_ptr(base + d), g.w)?,
                        _ => self.a.mov(byte_ptr(base + d), g.b)?,
                    }
                    off += p;
                    if off < size {
                        self.a.shr(g.q, (8 * p) as i32)?;
                    }
                }
            }
            _ => return unsupported(format!("a store of {size} bytes")),
        }
        Ok(())
    }

    /// `g += k`.
    fn add_imm(&mut self, g: G, k: i64) -> R<()> {
        if k == 0 {
            return Ok(());
        }
        if fits_i32(k) {
            self.a.add(g.q, k as i32)?;
        } else {
            self.a.mov(r11, k)?;
            self.a.add(g.q, r11)?;
        }
        Ok(())
    }

    /// Loads parameter `k` from its source into its home.
    fn load_param(&mut self, k: usize) -> R<()> {
        let ty = self.t.params[k];
        match self.plan.params[k] {
            crate::ParamSrc::Vars => self.a.mov(rax, rbx)?,
            crate::ParamSrc::Field(off) => self.load_mem(RAX, rbx, off as i32, ty)?,
            crate::ParamSrc::Slot(s) => self.load_mem(RAX, r13, 8 * s as i32, ty)?,
        }
        self.st(ValId(k as u32), RAX)
    }

    /// buf[slot] = value `v` (its home's 8 bytes).
    fn store_slot(&mut self, v: ValId, slot: u32) -> R<()> {
        let l = self.loc[v.idx()];
        let g = if l != 0 && l < XLOC {
            POOL[usize::from(l - 1)]
        } else {
            self.ld(RAX, Operand::Val(v))?;
            RAX
        };
        self.a.mov(qword_ptr(r13 + 8 * slot as i32), g.q)?;
        Ok(())
    }

    /// A conditional jump.
    fn jcc(&mut self, cc: Cc, l: CodeLabel) -> R<()> {
        match cc {
            Cc::E => self.a.je(l)?,
            Cc::Ne => self.a.jne(l)?,
            Cc::A => self.a.ja(l)?,
            Cc::Ae => self.a.jae(l)?,
            Cc::B => self.a.jb(l)?,
            Cc::Be => self.a.jbe(l)?,
            Cc::G => self.a.jg(l)?,
            Cc::Ge => self.a.jge(l)?,
            Cc::L => self.a.jl(l)?,
            Cc::Le => self.a.jle(l)?,
            Cc::P => self.a.jp(l)?,
            Cc::Np => self.a.jnp(l)?,
        }
        Ok(())
    }

    /// `r8 = cc`.
    fn setcc(&mut self, cc: Cc, r: AsmRegister8) -> R<()> {
        match cc {
            Cc::E => self.a.sete(r)?,
            Cc::Ne => self.a.setne(r)?,
            Cc::A => self.a.seta(r)?,
            Cc::Ae => self.a.setae(r)?,
            Cc::B => self.a.setb(r)?,
            Cc::Be => self.a.setbe(r)?,
            Cc::G => self.a.setg(r)?,
            Cc::Ge => self.a.setge(r)?,
            Cc::L => self.a.setl(r)?,
            Cc::Le => self.a.setle(r)?,
            Cc::P => self.a.setp(r)?,
            Cc::Np => self.a.setnp(r)?,
        }
        Ok(())
    }

    /// `if cc { d = s }`.
    fn cmov(&mut self, cc: Cc, d: AsmRegister64, s: AsmRegister64) -> R<()> {
        match cc {
            Cc::E => self.a.cmove(d, s)?,
            Cc::Ne => self.a.cmovne(d, s)?,
            Cc::A => self.a.cmova(d, s)?,
            Cc::Ae => self.a.cmovae(d, s)?,
            Cc::B => self.a.cmovb(d, s)?,
            Cc::Be => self.a.cmovbe(d, s)?,
            Cc::G => self.a.cmovg(d, s)?,
            Cc::Ge => self.a.cmovge(d, s)?,
            Cc::L => self.a.cmovl(d, s)?,
            Cc::Le => self.a.cmovle(d, s)?,
            Cc::P => self.a.cmovp(d, s)?,
            Cc::Np => self.a.cmovnp(d, s)?,
        }
        Ok(())
    }

    /// The whole function; returns per body instruction the index of its
    /// first machine instruction.
    fn function(&mut self, frame: i32, maxalign: u64) -> R<Vec<usize>> {
        let t = self.t;
        let plan = self.plan;
        let root = plan.shape != Shape::Side;
        // Prologue.
        let mut entry = self.entry;
        self.a.set_label(&mut entry)?;
        self.a.push(rbp)?;
        self.a.mov(rbp, rsp)?;
        for r in [rbx, r12, r13, r14, r15] {
            self.a.push(r)?;
        }
        self.a.sub(rsp, frame)?;
        // Always: after rbp and five registers rsp is 8 off a multiple of
        // 16 (the return address), so the frame alone can't realign it.
        self.a.and(rsp, -(maxalign as i32))?;
        // Stack probes, from the top down (the frame may span pages the
        // stack hasn't grown into yet).
        let total = frame as u64 + maxalign;
        let mut p = 4096u64;
        while p < total {
            self.a.or(qword_ptr(rbp - (SAVED as u64 + p) as i32), 0)?;
            p += 4096;
        }
        self.a.mov(rbx, rdi)?;
        self.a.mov(r12, rsi)?;
        self.a.mov(r13, rdx)?;
        for k in 0..self.np {
            if self.direct[k].is_none() && !self.unread[k] {
                self.load_param(k)?;
            }
        }
        for &(p, s) in &plan.reserved {
            if self.direct[p as usize] != Some((r13, 8 * s as i32)) {
                self.store_slot(ValId(p), s)?;
            }
        }
        // The head.
        let eager_params: Vec<(ValId, u32)> = plan
            .eager
            .iter()
            .copied()
            .filter(|(v, _)| v.idx() < self.np)
            .collect();
        // Guards at the top of a loop on parameters that its jump passes
        // as the very constants they check (yklua's code and constants
        // pointers) run once per entry, before the head (see
        // `Self::hoistable`); the loop's back edge skips them.
        let hoisted = self.hoistable();
        if hoisted > 0 {
            let mut pre = self.a.create_label();
            self.a.set_label(&mut pre)?;
            self.pre_head = Some(pre);
            // The hoisted guards' exits read what the head stores.
            self.head_slots(&eager_params)?;
        } else if root {
            self.emit_head(&eager_params)?;
        } else if !eager_params.is_empty() {
            for &(v, s) in &eager_params {
                self.store_slot(v, s)?;
            }
        }
        // Eager slots by value, exits by snapshot, guards per snapshot.
        let mut eager: Vec<(ValId, u32)> = plan
            .eager
            .iter()
            .copied()
            .filter(|(v, _)| v.idx() >= self.np)
            .collect();
        eager.sort_by_key(|(v, _)| *v);
        let mut eager_i = 0;
        let nsnaps = t.snaps.iter().count();
        let mut guards_of: Vec<u32> = vec![0; nsnaps];
        for inst in &t.body {
            if let Inst::Guard { snap, .. } = inst {
                match guards_of.get_mut(snap.0 as usize) {
                    Some(n) => *n += 1,
                    None => return plan_err(format!("guard on a missing snapshot s{}", snap.0)),
                }
            }
        }
        let mut snap_label: Vec<Option<CodeLabel>> = vec![None; nsnaps];
        let mut snap_order: Vec<SnapId> = Vec::new();
        // Per snapshot with several guards: (stub label, guard number).
        let mut stubs: Vec<Vec<(CodeLabel, u32)>> = vec![Vec::new(); nsnaps];
        let mut gno: u32 = 0;
        // Per snapshot of a single guard: that guard's number.
        let mut single_gno: Vec<u32> = vec![0; nsnaps];
        // Per guard whose exit reads dirty values: (its label, the values
        // and their cache registers at the guard, where it goes next).
        let mut flushes: Vec<Flush> = Vec::new();
        let mut offsets = Vec::with_capacity(t.body.len());
        self.clear_cache();
        self.in_body = true;
        for (k, inst) in t.body.iter().enumerate() {
            if hoisted > 0 && k == hoisted {
                // The head, after the guards hoisted above it.
                self.in_body = false;
                self.emit_head(&eager_params)?;
                self.clear_cache();
                self.in_body = true;
            }
            offsets.push(self.a.instructions().len());
            let v = ValId((self.np + k) as u32);
            self.k = k;
            self.inst_stamp = self.stamp;
            let flags = self.flags.take();
            if self.fold[v.idx()].is_some() {
                // Folded into its users' addressing: no code.
            } else if let Inst::Guard { cond, expect, snap } = inst {
                let sx = snap.0 as usize;
                let sl = match snap_label[sx] {
                    Some(l) => l,
                    None => {
                        let l = self.a.create_label();
                        snap_label[sx] = Some(l);
                        snap_order.push(*snap);
                        l
                    }
                };
                let target = if guards_of[sx] == 1 {
                    single_gno[sx] = gno;
                    sl
                } else {
                    let l = self.a.create_label();
                    stubs[sx].push((l, gno));
                    l
                };
                // The exit reads homes: dirty values it reads are written
                // back on the way out.
                let mut flush = Vec::new();
                if let Some(i) = self.exit_of[sx] {
                    for &(o, _) in &plan.exits[i].1 {
                        if let Operand::Val(u) = o {
                            let r = self.fold[u.idx()].map_or(u, |(r, _)| r);
                            let l = self.loc[r.idx()];
                            if self.dirty[r.idx()] && l != 0 && !flush.contains(&(r, l)) {
                                flush.push((r, l));
                            }
                        }
                    }
                }
                let target = if flush.is_empty() {
                    target
                } else {
                    let l = self.a.create_label();
                    flushes.push((l, flush, target));
                    l
                };
                match cond {
                    Operand::Const(c) => {
                        if (c.bits() != Some(0)) != *expect {
                            self.a.jmp(target)?;
                        }
                    }
                    Operand::Val(c) => {
                        let l = self.loc[c.idx()];
                        let cc = match flags {
                            Some((f, cc)) if f == *c => cc,
                            _ if l != 0 && l < XLOC => {
                                let g = POOL[usize::from(l - 1)];
                                self.touch(l);
                                self.a.test(g.d, g.d)?;
                                Cc::Ne
                            }
                            _ => {
                                self.ld(RAX, *cond)?;
                                self.a.test(eax, eax)?;
                                Cc::Ne
                            }
                        };
                        // Leave when cond != expect.
                        self.jcc(if *expect { cc.not() } else { cc }, target)?;
                    }
                }
                gno += 1;
            } else {
                self.inst(v, k, inst, flags)?;
            }
            while eager_i < eager.len() && eager[eager_i].0 <= v {
                if eager[eager_i].0 == v {
                    self.store_slot(v, eager[eager_i].1)?;
                }
                eager_i += 1;
            }
        }
        // The end (the cache still holds the body's values; nothing more is
        // cached).
        self.in_body = false;
        match &t.end {
            End::Jump(args) => {
                let moved: Vec<usize> = (0..self.np)
                    .filter(|&k| args[k] != Operand::Val(ValId(k as u32)))
                    .collect();
                let mut is_dst = vec![false; self.np];
                for &k in &moved {
                    is_dst[k] = true;
                }
                let clash = moved.iter().any(
                    |&k| matches!(args[k], Operand::Val(v) if v.idx() < self.np && is_dst[v.idx()]),
                );
                if clash {
                    for &k in &moved {
                        self.ld(RAX, args[k])?;
                        self.a
                            .mov(qword_ptr(rsp + (self.tmp_base + 8 * k as i32)), rax)?;
                    }
                    for &k in &moved {
                        self.a
                            .mov(rax, qword_ptr(rsp + (self.tmp_base + 8 * k as i32)))?;
                        self.st(ValId(k as u32), RAX)?;
                    }
                } else {
                    for &k in &moved {
                        self.jump_arg(k, args[k])?;
                    }
                }
                self.a.jmp(self.head)?;
            }
            End::Exit(_) => {
                for &(field, o) in &plan.end_stores {
                    let size = self.ty(o).size();
                    self.ld(RAX, o)?;
                    self.store_mem(RAX, rbx, field as i32, size)?;
                }
                match plan.end_loc {
                    None => self.imm(RAX, plan.resume)?,
                    Some(o) => {
                        self.ld(RAX, o)?;
                        self.a.mov(r11, rax)?;
                        self.imm(RDX, plan.resume)?;
                        self.imm(RCX, plan.jump_min)?;
                        self.a.cmp(rax, rcx)?;
                        self.a.cmovb(rax, rdx)?;
                        self.imm(RCX, plan.start_loc)?;
                        self.imm(RDX, plan.reenter)?;
                        self.a.cmp(r11, rcx)?;
                        self.a.cmove(rax, rdx)?;
                    }
                }
                if plan.shape == Shape::Linear {
                    self.imm(RCX, plan.reenter)?;
                    self.a.cmp(rax, rcx)?;
                    self.a.je(self.reentry)?;
                }
                self.a.jmp(self.epilogue)?;
            }
        }
        // The write-backs on the way to exits.
        for (mut l, vals, next) in flushes {
            self.a.set_label(&mut l)?;
            for (v, r) in vals {
                self.spill(v, r)?;
            }
            self.a.jmp(next)?;
        }
        // The exits: they read homes only.
        self.clear_cache();
        for s in snap_order {
            let sx = s.0 as usize;
            let mut sl = snap_label[sx].expect("labelled above");
            let st = std::mem::take(&mut stubs[sx]);
            for (mut l, g) in st {
                self.a.set_label(&mut l)?;
                self.a.mov(esi, g as i32)?;
                self.a.jmp(sl)?;
            }
            self.a.set_label(&mut sl)?;
            if guards_of[sx] == 1 {
                // The one guard's number (its index in body order).
                self.a.mov(esi, single_gno[sx] as i32)?;
            }
            if let Some(i) = self.exit_of[sx] {
                for &(o, slot) in &plan.exits[i].1 {
                    self.ld(RAX, o)?;
                    self.a.mov(qword_ptr(r13 + 8 * slot as i32), rax)?;
                }
            }
            self.a.jmp(self.tail)?;
        }
        if gno > 0 {
            let mut tail = self.tail;
            self.a.set_label(&mut tail)?;
            self.a.mov(rdi, r12)?;
            self.a.mov(rdx, r13)?;
            self.a.mov(rcx, rbx)?;
            self.a.mov(r11, plan.exit_fn as i64)?;
            self.a.call(r11)?;
            if root {
                self.imm(RCX, plan.reenter)?;
                self.a.cmp(rax, rcx)?;
                self.a.je(self.reentry)?;
            }
            self.a.jmp(self.epilogue)?;
        }
        // The re-entry.
        if root {
            let mut re = self.reentry;
            self.a.set_label(&mut re)?;
            for k in 0..self.np {
                if self.direct[k].is_none() && !self.unread[k] {
                    self.load_param(k)?;
                }
            }
            for &(p, s) in &plan.reserved {
                self.store_slot(ValId(p), s)?;
            }
            self.a.jmp(self.pre_head.unwrap_or(self.head))?;
        }
        // The epilogue.
        let mut ep = self.epilogue;
        self.a.set_label(&mut ep)?;
        self.a.lea(rsp, qword_ptr(rbp - SAVED))?;
        for r in [r15, r14, r13, r12, rbx] {
            self.a.pop(r)?;
        }
        self.a.pop(rbp)?;
        self.a.ret()?;
        Ok(offsets)
    }
}

impl E<'_> {
    /// One body instruction (not a guard): computes value `v` into its home.
    fn inst(&mut self, v: ValId, k: usize, inst: &Inst, flags: Option<(ValId, Cc)>) -> R<()> {
        match inst {
            Inst::Load { ty, ptr, .. } => {
                let (b, d) = self.addr(*ptr)?;
                // A result the body uses again is loaded straight into its
                // cache register (which may be the base's: x86 reads the
                // address first). Odd sizes are loaded in pieces, through
                // `rax`.
                let cached = self.kept(v);
                match ty {
                    Ty::F64 if cached => {
                        let j = self.claim(v, true)?;
                        self.a.movsd_2(XPOOL[j], qword_ptr(b + d))?;
                        self.hold_pool(v, j, true);
                        Ok(())
                    }
                    Ty::F32 => {
                        self.a.movss(xmm0, dword_ptr(b + d))?;
                        self.stx(v, xmm0, *ty)
                    }
                    Ty::F64 => {
                        self.a.movsd_2(xmm0, qword_ptr(b + d))?;
                        self.stx(v, xmm0, *ty)
                    }
                    _ if cached && matches!(ty.size(), 1 | 2 | 4 | 8) => {
                        let i = self.claim(v, false)?;
                        self.load_mem(POOL[i], b, d, *ty)?;
                        self.hold_pool(v, i, false);
                        Ok(())
                    }
                    _ => {
                        self.load_mem(RAX, b, d, *ty)?;
                        self.st(v, RAX)
                    }
                }
            }
            Inst::Store { val, ptr, .. } => {
                let ty = self.ty(*val);
                let size = ty.size();
                let (b, d) = self.addr(*ptr)?;
                let l = match val {
                    Operand::Val(u) if self.fold[u.idx()].is_none() => self.loc[u.idx()],
                    _ => 0,
                };
                if l >= XLOC && ty.is_float() {
                    let x = XPOOL[usize::from(l - XLOC)];
                    self.touch(l);
                    if ty == Ty::F32 {
                        self.a.movss(dword_ptr(b + d), x)?;
                    } else {
                        self.a.movsd_2(qword_ptr(b + d), x)?;
                    }
                    return Ok(());
                }
                if l != 0 && l < XLOC && matches!(size, 1 | 2 | 4 | 8) {
                    let g = POOL[usize::from(l - 1)];
                    self.touch(l);
                    return self.store_mem(g, b, d, size);
                }
                if let Operand::Const(c) = val {
                    let bits = self.cbits(*c)?;
                    let done = match size {
                        1 => {
                            self.a.mov(byte_ptr(b + d), bits as u8 as i32)?;
                            true
                        }
                        2 => {
                            self.a.mov(word_ptr(b + d), bits as u16 as i32)?;
                            true
                        }
                        4 => {
                            self.a.mov(dword_ptr(b + d), bits as u32 as i32)?;
                            true
                        }
                        8 if fits_i32(bits as i64) => {
                            self.a.mov(qword_ptr(b + d), bits as i32)?;
                            true
                        }
                        _ => false,
                    };
                    if done {
                        return Ok(());
                    }
                }
                self.ld(RAX, *val)?;
                self.store_mem(RAX, b, d, size)
            }
            Inst::PtrAdd { ptr, off } => {
                let (b, d) = self.addr(*ptr)?;
                // A result the body uses again is made in its cache
                // register (it may be the base's: `lea` reads it first).
                let kept = self.kept(v);
                let g = if kept {
                    Some(self.claim(v, false)?)
                } else {
                    None
                };
                let r = g.map_or(RAX, |i| POOL[i]);
                match i32::try_from(i64::from(d) + *off) {
                    Ok(d) => self.a.lea(r.q, qword_ptr(b + d))?,
                    Err(_) => {
                        self.a.lea(r.q, qword_ptr(b + d))?;
                        self.add_imm(r, *off)?;
                    }
                }
                match g {
                    Some(i) => {
                        self.hold_pool(v, i, false);
                        Ok(())
                    }
                    None => self.st(v, RAX),
                }
            }
            Inst::DynPtrAdd {
                ptr,
                idx,
                scale,
                off,
            } => {
                let w = self.ty(*idx).bits();
                self.ld(RAX, *ptr)?;
                self.ld(RCX, *idx)?;
                self.sext(RCX, w)?;
                if *scale != 1 {
                    if fits_i32(*scale) {
                        self.a.imul_3(rcx, rcx, *scale as i32)?;
                    } else {
                        self.a.mov(rdx, *scale)?;
                        self.a.imul_2(rcx, rdx)?;
                    }
                }
                self.a.add(rax, rcx)?;
                self.add_imm(RAX, *off)?;
                self.st(v, RAX)
            }
            Inst::Bin { op, ty, lhs, rhs } => {
                if op.is_float() {
                    self.fbin(v, *op, *ty, *lhs, *rhs)
                } else {
                    self.ibin(v, *op, ty.bits(), *lhs, *rhs)
                }
            }
            Inst::ICmp { pred, lhs, rhs } => {
                let w = self.ty(*lhs).bits();
                let signed = matches!(pred, IPred::Sgt | IPred::Sge | IPred::Slt | IPred::Sle);
                if matches!(w, 8 | 16 | 32 | 64) {
                    // Compared at their width: no extension needed; the
                    // left operand's cache register compared in place.
                    let l = self.cache_operand(*lhs)?;
                    let g = if l != 0 && l < XLOC {
                        self.touch(l);
                        POOL[usize::from(l - 1)]
                    } else {
                        self.ld(RAX, *lhs)?;
                        RAX
                    };
                    let s = self.src(*rhs, w)?;
                    alu!(self, cmp, g, s, w);
                } else {
                    self.ldc(RAX, *lhs)?;
                    if signed {
                        self.sext(RAX, w)?;
                        self.ld(RCX, *rhs)?;
                        self.sext(RCX, w)?;
                        self.a.cmp(rax, rcx)?;
                    } else {
                        let s = self.src(*rhs, 64)?;
                        alu!(self, cmp, RAX, s, 64);
                    }
                }
                let cc = match pred {
                    IPred::Eq => Cc::E,
                    IPred::Ne => Cc::Ne,
                    IPred::Ugt => Cc::A,
                    IPred::Uge => Cc::Ae,
                    IPred::Ult => Cc::B,
                    IPred::Ule => Cc::Be,
                    IPred::Sgt => Cc::G,
                    IPred::Sge => Cc::Ge,
                    IPred::Slt => Cc::L,
                    IPred::Sle => Cc::Le,
                };
                if !self.fused[k] {
                    self.setcc(cc, al)?;
                    self.a.movzx(eax, al)?;
                    self.st(v, RAX)?;
                }
                self.flags = Some((v, cc));
                Ok(())
            }
            Inst::FCmp { pred, lhs, rhs } => {
                let ty = self.ty(*lhs);
                let a = self.fsrc(*lhs, ty, xmm0)?;
                let b = self.fsrc(*rhs, ty, xmm1)?;
                // a OP b; "swap" compares b with a (for < and <=).
                let swap = matches!(pred, FPred::Olt | FPred::Ole | FPred::Ugt | FPred::Uge);
                let (x, y) = if swap { (b, a) } else { (a, b) };
                if ty == Ty::F32 {
                    self.a.ucomiss(x, y)?;
                } else {
                    self.a.ucomisd(x, y)?;
                }
                // Unordered sets ZF, PF and CF.
                let cc = match pred {
                    FPred::Oeq => {
                        self.a.sete(al)?;
                        self.a.setnp(cl)?;
                        self.a.and(al, cl)?;
                        Cc::Ne
                    }
                    FPred::Une => {
                        self.a.setne(al)?;
                        self.a.setp(cl)?;
                        self.a.or(al, cl)?;
                        Cc::Ne
                    }
                    FPred::Ogt | FPred::Olt => Cc::A,
                    FPred::Oge | FPred::Ole => Cc::Ae,
                    FPred::One => Cc::Ne,
                    FPred::Ord => Cc::Np,
                    FPred::Uno => Cc::P,
                    FPred::Ueq => Cc::E,
                    FPred::Ugt | FPred::Ult => Cc::B,
                    FPred::Uge | FPred::Ule => Cc::Be,
                };
                if !self.fused[k] {
                    if !matches!(pred, FPred::Oeq | FPred::Une) {
                        self.setcc(cc, al)?;
                    }
                    self.a.movzx(eax, al)?;
                    self.st(v, RAX)?;
                }
                self.flags = Some((v, cc));
                Ok(())
            }
            Inst::Cast { op, val, to } => self.cast(v, *op, *val, *to),
            Inst::Select { cond, t, f, .. } => {
                let cc = match (flags, cond) {
                    (Some((fv, cc)), Operand::Val(c)) if fv == *c => cc,
                    _ => {
                        self.ld(RAX, *cond)?;
                        self.a.test(eax, eax)?;
                        Cc::Ne
                    }
                };
                // (Loads keep the flags.)
                self.ld(RCX, *t)?;
                self.ld(RDX, *f)?;
                self.cmov(cc.not(), rcx, rdx)?;
                self.st(v, RCX)
            }
            Inst::Alloca { size, .. } => {
                let off = self.alloca_off[k];
                let words = u64::from(*size).div_ceil(8);
                if words <= 16 {
                    self.a.xor(eax, eax)?;
                    for i in 0..words as i32 {
                        self.a.mov(qword_ptr(rsp + (off + 8 * i)), rax)?;
                    }
                } else {
                    self.clobber(rdi)?;
                    self.a.lea(rdi, qword_ptr(rsp + off))?;
                    self.a.mov(ecx, words as i32)?;
                    self.a.xor(eax, eax)?;
                    self.a.rep().stosq()?;
                }
                self.a.lea(rax, qword_ptr(rsp + off))?;
                self.st(v, RAX)
            }
            Inst::Call {
                callee, args, ret, ..
            } => self.call(v, *callee, args, *ret),
            Inst::Guard { .. } => unreachable!("guards are emitted by the caller"),
        }
    }

    /// `g = g op s` at width `ow` (32 or 64) for `add sub and or xor mul`.
    fn int_op(&mut self, op: BinOp, g: G, s: Src, ow: u32) -> R<()> {
        match op {
            BinOp::Add => alu!(self, add, g, s, ow),
            BinOp::Sub => alu!(self, sub, g, s, ow),
            BinOp::And => alu!(self, and, g, s, ow),
            BinOp::Or => alu!(self, or, g, s, ow),
            BinOp::Xor => alu!(self, xor, g, s, ow),
            _ => match (ow, s) {
                (32, Src::R(r)) => self.a.imul_2(g.d, r.d)?,
                (32, Src::M(d)) => self.a.imul_2(g.d, dword_ptr(rsp + d))?,
                (32, Src::I(i)) => self.a.imul_3(g.d, g.d, i)?,
                (_, Src::R(r)) => self.a.imul_2(g.q, r.q)?,
                (_, Src::M(d)) => self.a.imul_2(g.q, qword_ptr(rsp + d))?,
                (_, Src::I(i)) => self.a.imul_3(g.q, g.q, i)?,
            },
        }
        Ok(())
    }

    fn ibin(&mut self, v: ValId, op: BinOp, w: u32, lhs: Operand, rhs: Operand) -> R<()> {
        match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::And | BinOp::Or | BinOp::Xor => {
                // 32-bit operations zero-extend; others are re-canonicalised.
                let ow = if w == 32 { 32 } else { 64 };
                let recanon = ow == 64 && matches!(op, BinOp::Add | BinOp::Sub | BinOp::Mul);
                if self.kept(v) {
                    // A result the body uses again is computed in its
                    // cache register: in place if that is the left
                    // operand's (dead after this), else from a copy of it.
                    let l = self.cache_operand(lhs)?;
                    let lreg = match lhs {
                        Operand::Val(u) if l != 0 && l < XLOC && self.fold[u.idx()].is_none() => {
                            self.touch(l);
                            Some(POOL[usize::from(l - 1)].q)
                        }
                        _ => None,
                    };
                    let s = self.src(rhs, ow)?;
                    let i = self.claim(v, false)?;
                    let g = POOL[i];
                    // (The right operand in the register picked, the left
                    // not: copying the left there would lose it.)
                    let clash = matches!(s, Src::R(r) if r.q == g.q) && lreg != Some(g.q);
                    let work = if clash { RAX } else { g };
                    if lreg != Some(work.q) {
                        self.ld(work, lhs)?;
                    }
                    self.int_op(op, work, s, ow)?;
                    if recanon {
                        self.canon(work, w)?;
                    }
                    if clash {
                        self.a.mov(g.q, rax)?;
                    }
                    self.hold_pool(v, i, false);
                    return Ok(());
                }
                self.ldc(RAX, lhs)?;
                let s = self.src(rhs, ow)?;
                self.int_op(op, RAX, s, ow)?;
                if recanon {
                    self.canon(RAX, w)?;
                }
                return self.st(v, RAX);
            }
            BinOp::Shl | BinOp::LShr | BinOp::AShr => {
                if let Operand::Const(c) = rhs {
                    let n = c.bits().unwrap_or(u64::MAX);
                    if n < u64::from(w) {
                        let n = n as i32;
                        self.ldc(RAX, lhs)?;
                        match op {
                            BinOp::Shl => {
                                self.a.shl(rax, n)?;
                                self.canon(RAX, w)?;
                            }
                            BinOp::LShr => self.a.shr(rax, n)?,
                            _ => {
                                self.sext(RAX, w)?;
                                self.a.sar(rax, n)?;
                                self.canon(RAX, w)?;
                            }
                        }
                        return self.st(v, RAX);
                    }
                }
            }
            BinOp::SDiv | BinOp::SRem => {
                // By a constant: a multiplication (see `signed_magic`).
                if let Some(b) = rhs.as_const().and_then(|c| c.bits()) {
                    let d = ((b << (64 - w)) as i64) >> (64 - w);
                    if let Some(magic) = signed_magic(d) {
                        return self.sdiv_const(v, op == BinOp::SRem, w, lhs, d, magic);
                    }
                }
            }
            _ => {}
        }
        self.ldc(RAX, lhs)?;
        self.ldc(RCX, rhs)?;
        let mut res = RAX;
        match op {
            BinOp::Add => {
                self.a.add(rax, rcx)?;
                self.canon(RAX, w)?;
            }
            BinOp::Sub => {
                self.a.sub(rax, rcx)?;
                self.canon(RAX, w)?;
            }
            BinOp::Mul => {
                self.a.imul_2(rax, rcx)?;
                self.canon(RAX, w)?;
            }
            BinOp::And => self.a.and(rax, rcx)?,
            BinOp::Or => self.a.or(rax, rcx)?,
            BinOp::Xor => self.a.xor(rax, rcx)?,
            BinOp::UDiv | BinOp::URem => {
                self.a.xor(edx, edx)?;
                self.a.div(rcx)?;
                if op == BinOp::URem {
                    res = RDX;
                }
            }
            BinOp::SDiv | BinOp::SRem => {
                self.sext(RAX, w)?;
                self.sext(RCX, w)?;
                self.a.cqo()?;
                self.a.idiv(rcx)?;
                if op == BinOp::SRem {
                    res = RDX;
                }
                self.canon(res, w)?;
            }
            BinOp::Shl => {
                self.a.shl(rax, cl)?;
                self.canon(RAX, w)?;
            }
            BinOp::LShr => self.a.shr(rax, cl)?,
            BinOp::AShr => {
                self.sext(RAX, w)?;
                self.a.sar(rax, cl)?;
                self.canon(RAX, w)?;
            }
            _ => unreachable!("float operators go to fbin"),
        }
        self.st(v, res)
    }

    /// `v = lhs / d` (or `lhs % d` with `rem`), signed, of width `w`, by
    /// the multiplication `magic` (see [`signed_magic`]): the dividend
    /// sign-extended to 64 bits (the 64-bit quotient is the `w`-bit one:
    /// `d` is never -1), its product's high word corrected and shifted,
    /// and the remainder as `n - q * d`.
    fn sdiv_const(
        &mut self,
        v: ValId,
        rem: bool,
        w: u32,
        lhs: Operand,
        d: i64,
        (m, s): (i64, u32),
    ) -> R<()> {
        self.ldc(RAX, lhs)?;
        self.sext(RAX, w)?;
        self.a.mov(rcx, rax)?;
        self.a.mov(r11, m)?;
        // rdx:rax = n * m, signed.
        self.a.imul(r11)?;
        if d > 0 && m < 0 {
            self.a.add(rdx, rcx)?;
        } else if d < 0 && m > 0 {
            self.a.sub(rdx, rcx)?;
        }
        if s > 0 {
            self.a.sar(rdx, s as i32)?;
        }
        // Rounding toward zero: one more if negative.
        self.a.mov(rax, rdx)?;
        self.a.shr(rax, 63)?;
        self.a.add(rdx, rax)?;
        if !rem {
            self.canon(RDX, w)?;
            return self.st(v, RDX);
        }
        if fits_i32(d) {
            self.a.imul_3(rdx, rdx, d as i32)?;
        } else {
            self.a.mov(r11, d)?;
            self.a.imul_2(rdx, r11)?;
        }
        self.a.sub(rcx, rdx)?;
        self.canon(RCX, w)?;
        self.st(v, RCX)
    }

    fn fbin(&mut self, v: ValId, op: BinOp, ty: Ty, lhs: Operand, rhs: Operand) -> R<()> {
        let f32 = ty == Ty::F32;
        if op != BinOp::FRem && self.kept(v) {
            // As `ibin`: computed in the result's cache register.
            let l = self.cache_operand(lhs)?;
            let lreg = match lhs {
                Operand::Val(u) if l >= XLOC && self.fold[u.idx()].is_none() => {
                    self.touch(l);
                    Some(XPOOL[usize::from(l - XLOC)])
                }
                _ => None,
            };
            let y = self.fsrc(rhs, ty, xmm1)?;
            let j = self.claim(v, true)?;
            let x = XPOOL[j];
            let clash = y == x && lreg != Some(x);
            let work = if clash { xmm0 } else { x };
            if lreg != Some(work) {
                self.ldx(work, lhs, ty)?;
            }
            self.farith(op, f32, work, y)?;
            if clash {
                self.a.movaps(x, xmm0)?;
            }
            self.hold_pool(v, j, true);
            return Ok(());
        }
        self.cache_operand(lhs)?;
        self.ldx(xmm0, lhs, ty)?;
        let y = if op == BinOp::FRem {
            self.ldx(xmm1, rhs, ty)?;
            xmm1
        } else {
            self.fsrc(rhs, ty, xmm1)?
        };
        match op {
            BinOp::FRem => {
                let f = if f32 {
                    fmodf as *const () as u64
                } else {
                    fmod as *const () as u64
                };
                self.spill_caller_saved()?;
                self.a.mov(r11, f as i64)?;
                self.a.mov(eax, 2)?;
                self.a.call(r11)?;
                self.drop_caller_saved();
            }
            _ => self.farith(op, f32, xmm0, y)?,
        }
        self.stx(v, xmm0, ty)
    }

    /// `d = d op s` for a float `add sub mul div` (`f32` or `f64`).
    fn farith(&mut self, op: BinOp, f32: bool, d: AsmRegisterXmm, s: AsmRegisterXmm) -> R<()> {
        match (op, f32) {
            (BinOp::FAdd, false) => self.a.addsd(d, s)?,
            (BinOp::FSub, false) => self.a.subsd(d, s)?,
            (BinOp::FMul, false) => self.a.mulsd(d, s)?,
            (BinOp::FDiv, false) => self.a.divsd(d, s)?,
            (BinOp::FAdd, true) => self.a.addss(d, s)?,
            (BinOp::FSub, true) => self.a.subss(d, s)?,
            (BinOp::FMul, true) => self.a.mulss(d, s)?,
            (BinOp::FDiv, true) => self.a.divss(d, s)?,
            _ => unreachable!("int operators go to ibin; frem to a call"),
        }
        Ok(())
    }

    fn cast(&mut self, v: ValId, op: CastOp, val: Operand, to: Ty) -> R<()> {
        let from = self.ty(val);
        match op {
            CastOp::ZExt | CastOp::BitCast | CastOp::IntToPtr => {
                // (Canonical bits are zero-extended: the same bits.)
                if self.take_over(v, val, from, to).is_some() {
                    return Ok(());
                }
                self.ld(RAX, val)?;
                self.st(v, RAX)
            }
            CastOp::SExt => {
                if let Some(g) = self.take_over(v, val, from, to) {
                    self.sext(g, from.bits())?;
                    return self.canon(g, to.bits());
                }
                self.ld(RAX, val)?;
                self.sext(RAX, from.bits())?;
                self.canon(RAX, to.bits())?;
                self.st(v, RAX)
            }
            CastOp::Trunc | CastOp::PtrToInt => {
                if let Some(g) = self.take_over(v, val, from, to) {
                    return self.canon(g, to.bits());
                }
                self.ld(RAX, val)?;
                self.canon(RAX, to.bits())?;
                self.st(v, RAX)
            }
            CastOp::FPExt => {
                self.ldx(xmm0, val, Ty::F32)?;
                self.a.cvtss2sd(xmm0, xmm0)?;
                self.stx(v, xmm0, Ty::F64)
            }
            CastOp::FPTrunc => {
                self.ldx(xmm0, val, Ty::F64)?;
                self.a.cvtsd2ss(xmm0, xmm0)?;
                self.stx(v, xmm0, Ty::F32)
            }
            CastOp::FPToSI | CastOp::FPToUI => {
                let f32 = from == Ty::F32;
                let w = to.bits();
                self.ldx(xmm0, val, from)?;
                if op == CastOp::FPToUI && w == 64 {
                    // Values from 2^63 on: convert x - 2^63, then set bit 63.
                    let (mut big, mut done) = (self.a.create_label(), self.a.create_label());
                    let two63: u64 = if f32 {
                        0x5f00_0000
                    } else {
                        0x43e0_0000_0000_0000
                    };
                    self.imm(R11, two63)?;
                    self.a.movq(xmm1, r11)?;
                    if f32 {
                        self.a.ucomiss(xmm0, xmm1)?;
                    } else {
                        self.a.ucomisd(xmm0, xmm1)?;
                    }
                    self.a.jae(big)?;
                    self.cvtt(f32)?;
                    self.a.jmp(done)?;
                    self.a.set_label(&mut big)?;
                    if f32 {
                        self.a.subss(xmm0, xmm1)?;
                    } else {
                        self.a.subsd(xmm0, xmm1)?;
                    }
                    self.cvtt(f32)?;
                    self.a.btc(rax, 63)?;
                    self.a.set_label(&mut done)?;
                    self.a.nop()?;
                } else {
                    // In range, the value fits an i64 (w < 64, or signed).
                    self.cvtt(f32)?;
                    self.canon(RAX, w)?;
                }
                self.st(v, RAX)
            }
            CastOp::SIToFP | CastOp::UIToFP => {
                let w = from.bits();
                let f32 = to == Ty::F32;
                self.ld(RAX, val)?;
                self.a.xorps(xmm0, xmm0)?;
                if op == CastOp::SIToFP {
                    self.sext(RAX, w)?;
                }
                if op == CastOp::UIToFP && w == 64 {
                    // Top bit set: halve (keeping the low bit, for rounding),
                    // convert, double.
                    let (mut big, mut done) = (self.a.create_label(), self.a.create_label());
                    self.a.test(rax, rax)?;
                    self.a.js(big)?;
                    self.cvtsi(f32)?;
                    self.a.jmp(done)?;
                    self.a.set_label(&mut big)?;
                    self.a.mov(rcx, rax)?;
                    self.a.shr(rcx, 1)?;
                    self.a.and(eax, 1)?;
                    self.a.or(rax, rcx)?;
                    self.cvtsi(f32)?;
                    if f32 {
                        self.a.addss(xmm0, xmm0)?;
                    } else {
                        self.a.addsd(xmm0, xmm0)?;
                    }
                    self.a.set_label(&mut done)?;
                    self.a.nop()?;
                } else {
                    self.cvtsi(f32)?;
                }
                self.stx(v, xmm0, to)
            }
        }
    }

    /// An integer or pointer cast `v` of `val` computed in place: if `v`
    /// is kept in a register (used again by the body) and `val` is in a
    /// pool register where it dies (no later use by the body, and none by
    /// an exit unless its home already holds it), `v` takes over that
    /// register (dirty) and the register is returned, for the caller to
    /// change the bits in place (or not, for a cast that keeps them); no
    /// move is made. Else `None`, and nothing changed.
    fn take_over(&mut self, v: ValId, val: Operand, from: Ty, to: Ty) -> Option<G> {
        let Operand::Val(u) = val else { return None };
        if from.is_float() || to.is_float() || !self.kept(v) || self.fold[u.idx()].is_some() {
            return None;
        }
        let l = self.loc[u.idx()];
        if l == 0 || l >= XLOC || self.last[u.idx()] as usize > self.k {
            return None;
        }
        if self.dirty[u.idx()] && self.need[u.idx()] as usize > self.k {
            return None;
        }
        self.forget(u);
        self.forget(v);
        self.hold(v, l);
        Some(POOL[usize::from(l - 1)])
    }

    /// The loop's head (root traces): its label, the carried and eager
    /// parameters' slots, the iteration counter and the tier check. Nothing
    /// is cached after it (a merge point).
    fn emit_head(&mut self, eager_params: &[(ValId, u32)]) -> R<()> {
        let t = self.t;
        let plan = self.plan;
        let mut head = self.head;
        self.a.set_label(&mut head)?;
        self.head_slots(eager_params)?;
        if let Some(off) = plan.counter {
            self.a.mov(rax, qword_ptr(r12 + off as i32))?;
            self.a.mov(rcx, qword_ptr(rax))?;
            self.a.add(rcx, 1)?;
            self.a.mov(qword_ptr(rax), rcx)?;
            if let Some(tc) = &plan.tier_check {
                let mut body = self.a.create_label();
                let m = tc.every - 1;
                if m != 0 {
                    if m <= i32::MAX as u64 {
                        self.a.test(rcx, m as i32)?;
                    } else {
                        self.a.mov(rdx, m as i64)?;
                        self.a.test(rcx, rdx)?;
                    }
                    self.a.jne(body)?;
                }
                self.a.mov(rdi, r12)?;
                self.a.lea(rsi, ptr(self.entry))?;
                self.a.mov(r11, tc.check_fn as i64)?;
                self.a.call(r11)?;
                self.clear_cache();
                self.a.test(rax, rax)?;
                self.a.je(body)?;
                for &(field, p) in &tc.stores {
                    let ty = t.params[p as usize];
                    self.ld(RAX, Operand::Val(ValId(p)))?;
                    self.store_mem(RAX, rbx, field as i32, ty.size())?;
                }
                self.imm(RAX, plan.resume)?;
                self.a.jmp(self.epilogue)?;
                self.a.set_label(&mut body)?;
            }
        }
        Ok(())
    }

    /// The loop's jump: parameter `k`'s home = `arg` (no parameter's
    /// home is read after this one is written: see the clash check). From
    /// the cache register `arg` is in, or as an immediate, without going
    /// through `rax` where it can.
    fn jump_arg(&mut self, k: usize, arg: Operand) -> R<()> {
        let home = self.home(ValId(k as u32));
        match arg {
            Operand::Val(u) if self.fold[u.idx()].is_none() => {
                let l = self.loc[u.idx()];
                if l != 0 && l < XLOC {
                    self.a.mov(home, POOL[usize::from(l - 1)].q)?;
                    self.forget(ValId(k as u32));
                    return Ok(());
                }
            }
            Operand::Const(c) => {
                if let Some(b) = c.bits() {
                    if fits_i32(b as i64) {
                        self.a.mov(home, b as i64 as i32)?;
                        self.forget(ValId(k as u32));
                        return Ok(());
                    }
                }
            }
            _ => {}
        }
        self.ld(RAX, arg)?;
        self.st(ValId(k as u32), RAX)
    }

    /// What each pass through the head stores (nothing cached before it):
    /// the carried parameters' and the eager parameters' slots.
    fn head_slots(&mut self, eager_params: &[(ValId, u32)]) -> R<()> {
        self.clear_cache();
        for &(p, s) in &self.plan.carried {
            self.store_slot(ValId(p), s)?;
        }
        for &(v, s) in eager_params {
            self.store_slot(v, s)?;
        }
        Ok(())
    }

    /// How many instructions at the top of a loop's body are pairs of a
    /// compare of a parameter with a constant, used by nothing but the
    /// guard right after it, that the loop's jump passes that very
    /// constant for: on the back edge those guards can't fail, so they
    /// run once per entry (and re-entry), before the head. yklua's loops
    /// check their code and constants pointers this way at every
    /// iteration otherwise.
    fn hoistable(&self) -> usize {
        let End::Jump(args) = &self.t.end else {
            return 0;
        };
        if self.plan.shape != Shape::Loop {
            return 0;
        }
        let body = &self.t.body;
        let mut k = 0;
        // (At least one instruction stays below the head.)
        while k + 2 < body.len() {
            let Inst::ICmp {
                pred: IPred::Eq,
                lhs,
                rhs,
            } = &body[k]
            else {
                break;
            };
            let (p, c) = match (lhs, rhs) {
                (Operand::Val(p), Operand::Const(c)) | (Operand::Const(c), Operand::Val(p)) => {
                    (*p, *c)
                }
                _ => break,
            };
            if p.idx() == 0 || p.idx() >= self.np || !self.fused[k] {
                break;
            }
            let v = self.np + k;
            match &body[k + 1] {
                Inst::Guard {
                    cond: Operand::Val(g),
                    expect: true,
                    ..
                } if g.idx() == v => {}
                _ => break,
            }
            match args.get(p.idx()) {
                Some(Operand::Const(a)) if a.bits().is_some() && a.bits() == c.bits() => {}
                _ => break,
            }
            k += 2;
        }
        k
    }

    /// rax = truncation of xmm0 (an f32 or f64) to i64.
    fn cvtt(&mut self, f32: bool) -> R<()> {
        if f32 {
            self.a.cvttss2si(rax, xmm0)?;
        } else {
            self.a.cvttsd2si(rax, xmm0)?;
        }
        Ok(())
    }

    /// xmm0 = rax (an i64) as a float.
    fn cvtsi(&mut self, f32: bool) -> R<()> {
        if f32 {
            self.a.cvtsi2ss(xmm0, rax)?;
        } else {
            self.a.cvtsi2sd(xmm0, rax)?;
        }
        Ok(())
    }

    fn call(&mut self, v: ValId, callee: Operand, args: &[Operand], ret: Ty) -> R<()> {
        let (target, ext): (Operand, Vec<Ext>) = match callee {
            Operand::Const(Const::Sym(Sym::Func(n))) => match self.syms.func(n)? {
                Callee::Addr { addr, arg_ext } => (Const::Ptr(addr).into(), arg_ext),
                Callee::Intrinsic(name) => return self.intrinsic(v, &name, args, ret),
            },
            o => (o, Vec::new()),
        };
        self.native_call(v, target, args, &ext, ret)
    }

    /// A SysV call of `target` (a constant address or a value).
    fn native_call(
        &mut self,
        v: ValId,
        target: Operand,
        args: &[Operand],
        ext: &[Ext],
        ret: Ty,
    ) -> R<()> {
        // Classify.
        let mut regs: Vec<(usize, bool, usize)> = Vec::new(); // (arg, float, reg)
        let mut stack: Vec<usize> = Vec::new();
        let (mut ni, mut nf) = (0, 0);
        for (i, a) in args.iter().enumerate() {
            let ty = self.ty(*a);
            if ty == Ty::Void {
                return unsupported("a void argument");
            }
            if ty.is_float() {
                if nf < 8 {
                    regs.push((i, true, nf));
                } else {
                    stack.push(i);
                }
                nf += 1;
            } else {
                if ni < 6 {
                    regs.push((i, false, ni));
                } else {
                    stack.push(i);
                }
                ni += 1;
            }
        }
        // Stack arguments first (through rax), then registers (each from
        // memory or an immediate: no argument register is read after it is
        // written).
        for (j, &i) in stack.iter().enumerate() {
            self.ld_arg(RAX, args[i], ext.get(i).copied())?;
            self.a.mov(qword_ptr(rsp + 8 * j as i32), rax)?;
        }
        for &(i, float, r) in &regs {
            if float {
                let ty = self.ty(args[i]);
                self.ldx(FLOAT_ARGS[r], args[i], ty)?;
            } else {
                self.ld_arg(INT_ARGS[r], args[i], ext.get(i).copied())?;
            }
        }
        self.ld(R11, target)?;
        self.spill_caller_saved()?;
        self.a.mov(eax, nf.min(8) as i32)?;
        self.a.call(r11)?;
        self.drop_caller_saved();
        match ret {
            Ty::Void => Ok(()),
            Ty::Int(w) => {
                self.canon(RAX, u32::from(w))?;
                self.st(v, RAX)
            }
            Ty::Ptr => self.st(v, RAX),
            Ty::F32 | Ty::F64 => self.stx(v, xmm0, ret),
        }
    }

    /// An integer argument, extended as its parameter attribute says.
    fn ld_arg(&mut self, g: G, o: Operand, ext: Option<Ext>) -> R<()> {
        self.ld(g, o)?;
        if let (Some(Ext::Sign), Ty::Int(w)) = (ext, self.ty(o)) {
            if w < 32 {
                self.sext(g, u32::from(w))?;
            }
        }
        Ok(())
    }

    fn intrinsic(&mut self, v: ValId, name: &str, args: &[Operand], ret: Ty) -> R<()> {
        let base = name
            .strip_prefix("llvm.")
            .and_then(|s| s.split('.').next())
            .unwrap_or("");
        let want = |n: usize| -> R<()> {
            if args.len() < n {
                unsupported(format!("{name} with {} arguments", args.len()))
            } else {
                Ok(())
            }
        };
        match base {
            "memcpy" | "memmove" | "memset" => {
                want(3)?;
                let f = match base {
                    "memcpy" => libc::memcpy as *const () as u64,
                    "memmove" => libc::memmove as *const () as u64,
                    _ => libc::memset as *const () as u64,
                };
                self.native_call(v, Const::Ptr(f).into(), &args[..3], &[], Ty::Void)
            }
            "lifetime" | "assume" if ret == Ty::Void => Ok(()),
            "expect" => {
                want(1)?;
                self.ld(RAX, args[0])?;
                self.st(v, RAX)
            }
            "smin" | "smax" | "umin" | "umax" => {
                want(2)?;
                let w = self.ty(args[0]).bits();
                self.ld(RAX, args[0])?;
                self.ld(RCX, args[1])?;
                if base.starts_with('s') {
                    self.a.mov(rdx, rax)?;
                    self.a.mov(r11, rcx)?;
                    self.sext(RDX, w)?;
                    self.sext(R11, w)?;
                    self.a.cmp(rdx, r11)?;
                } else {
                    self.a.cmp(rax, rcx)?;
                }
                match base {
                    "smin" => self.a.cmovg(rax, rcx)?,
                    "smax" => self.a.cmovl(rax, rcx)?,
                    "umin" => self.a.cmova(rax, rcx)?,
                    _ => self.a.cmovb(rax, rcx)?,
                }
                self.st(v, RAX)
            }
            "abs" if ret.is_int() => {
                want(1)?;
                let w = ret.bits();
                self.ld(RAX, args[0])?;
                self.sext(RAX, w)?;
                self.a.mov(rcx, rax)?;
                self.a.neg(rcx)?;
                self.a.cmovs(rcx, rax)?;
                self.canon(RCX, w)?;
                self.st(v, RCX)
            }
            "fabs" if ret.is_float() => {
                want(1)?;
                self.ld(RAX, args[0])?;
                if ret == Ty::F32 {
                    self.a.and(eax, 0x7fff_ffff)?;
                } else {
                    self.a.btr(rax, 63)?;
                }
                self.st(v, RAX)
            }
            "fmuladd" if ret.is_float() => {
                // a * b + c, unfused: LLVM may fuse or not, and the AOT code
                // (x86-64 without FMA) doesn't, so neither does the trace.
                want(3)?;
                self.ldx(xmm0, args[0], ret)?;
                self.ldx(xmm1, args[1], ret)?;
                self.ldx(xmm2, args[2], ret)?;
                if ret == Ty::F32 {
                    self.a.mulss(xmm0, xmm1)?;
                    self.a.addss(xmm0, xmm2)?;
                } else {
                    self.a.mulsd(xmm0, xmm1)?;
                    self.a.addsd(xmm0, xmm2)?;
                }
                self.stx(v, xmm0, ret)
            }
            "sqrt" if ret.is_float() => {
                want(1)?;
                self.ldx(xmm0, args[0], ret)?;
                if ret == Ty::F32 {
                    self.a.sqrtss(xmm0, xmm0)?;
                } else {
                    self.a.sqrtsd(xmm0, xmm0)?;
                }
                self.stx(v, xmm0, ret)
            }
            "floor" | "ceil" | "trunc"
                if ret.is_float() && std::is_x86_feature_detected!("sse4.1") =>
            {
                // ROUNDSD/ROUNDSS with the rounding mode in the immediate
                // (bits 0-1: down, up, toward zero) and bit 3 set (no
                // precision exception): as libm's floor, ceil and trunc,
                // which the AOT code calls, compute them (exact; -0.0 and
                // NaNs as they are).
                want(1)?;
                let mode = match base {
                    "floor" => 0x9,
                    "ceil" => 0xa,
                    _ => 0xb,
                };
                self.ldx(xmm0, args[0], ret)?;
                if ret == Ty::F32 {
                    self.a.roundss(xmm0, xmm0, mode)?;
                } else {
                    self.a.roundsd(xmm0, xmm0, mode)?;
                }
                self.stx(v, xmm0, ret)
            }
            "ctpop" if ret.is_int() && std::is_x86_feature_detected!("popcnt") => {
                want(1)?;
                self.ld(RAX, args[0])?;
                self.a.popcnt(rax, rax)?;
                self.st(v, RAX)
            }
            "ctlz" if ret.is_int() => {
                want(1)?;
                let w = ret.bits();
                self.ld(RAX, args[0])?;
                self.imm(RDX, u64::MAX)?;
                self.a.bsr(rcx, rax)?;
                self.a.cmove(rcx, rdx)?;
                self.a.mov(eax, (w - 1) as i32)?;
                self.a.sub(rax, rcx)?;
                self.st(v, RAX)
            }
            "cttz" if ret.is_int() => {
                want(1)?;
                let w = ret.bits();
                self.ld(RAX, args[0])?;
                self.a.mov(edx, w as i32)?;
                self.a.bsf(rax, rax)?;
                self.a.cmove(rax, rdx)?;
                self.st(v, RAX)
            }
            _ => unsupported(format!("intrinsic {name}")),
        }
    }
}

/// The side trace entry stub (see [`crate::side_entry`]).
pub(crate) fn side_entry(
    slot: u64,
    tier_up_at: u64,
    outcome_return: u64,
    hook: u64,
) -> R<crate::Code> {
    let mut a = CodeAssembler::new(64)?;
    let mut done = a.create_label();
    a.push(rbx)?;
    a.mov(rax, slot as i64)?;
    a.mov(rax, qword_ptr(rax))?;
    a.call(rax)?;
    a.mov(rbx, rax)?;
    a.mov(rcx, slot as i64)?;
    a.mov(rdx, qword_ptr(rcx + 8))?;
    a.add(rdx, 1)?;
    a.mov(qword_ptr(rcx + 8), rdx)?;
    a.mov(rax, tier_up_at as i64)?;
    a.cmp(rdx, rax)?;
    a.jne(done)?;
    a.mov(rax, outcome_return as i64)?;
    a.cmp(rbx, rax)?;
    a.je(done)?;
    a.mov(rdi, slot as i64)?;
    a.mov(rax, hook as i64)?;
    a.call(rax)?;
    a.set_label(&mut done)?;
    a.mov(rax, rbx)?;
    a.pop(rbx)?;
    a.ret()?;
    let bytes = a.assemble(0)?;
    crate::Code::new(&bytes, Vec::new())
}

#[cfg(test)]
mod tests {
    use super::signed_magic;

    /// What the emitted sequence computes, in Rust.
    fn div(n: i64, d: i64) -> i64 {
        let (m, s) = signed_magic(d).unwrap();
        let mut q = ((i128::from(n) * i128::from(m)) >> 64) as i64;
        if d > 0 && m < 0 {
            q = q.wrapping_add(n);
        } else if d < 0 && m > 0 {
            q = q.wrapping_sub(n);
        }
        q >>= s;
        q.wrapping_add(((q as u64) >> 63) as i64)
    }

    #[test]
    fn magic_division_is_exact() {
        let mut ds: Vec<i64> = (2..2000).flat_map(|d| [d, -d]).collect();
        for k in 1..63 {
            for e in [-1i64, 0, 1] {
                let d = (1i64 << k).wrapping_add(e);
                ds.extend([d, d.wrapping_neg()]);
            }
        }
        ds.extend([
            1_000_000_007,
            2_147_483_647,
            -2_147_483_648,
            i64::MAX,
            i64::MIN + 1,
        ]);
        ds.retain(|d| d.unsigned_abs() >= 2);
        let mut ns: Vec<i64> = vec![0, 1, -1, 2, -2, i64::MAX, i64::MIN, i64::MIN + 1];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..300 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let y = (x >> (x % 63)) as i64;
            ns.extend([x as i64, y, y.wrapping_neg()]);
        }
        for &d in &ds {
            for &n in &ns {
                let m = n / d * d;
                for n in [
                    n,
                    n.wrapping_add(d),
                    n.wrapping_sub(1),
                    m,
                    m.wrapping_sub(1),
                ] {
                    assert_eq!(div(n, d), n.wrapping_div(d), "{n} / {d}");
                }
            }
        }
        assert_eq!(signed_magic(1), None);
        assert_eq!(signed_magic(-1), None);
        assert_eq!(signed_magic(0), None);
        assert_eq!(signed_magic(i64::MIN), None);
    }
}
