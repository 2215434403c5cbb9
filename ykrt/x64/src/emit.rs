//! The code generator: one pass over the trace, emitting through iced-x86's
//! `CodeAssembler`, then one assembly at offset 0 (the code is
//! position-independent: branches are relative, the function's own address
//! is a RIP-relative `lea`, everything else is an absolute immediate).
//!
//! Owns the frame layout and the register conventions. Invariants:
//!
//! - Every value (parameter or instruction) has a home, an 8-byte word in
//!   the frame at `rsp + home_base + 8 * v`, holding its *canonical* bits:
//!   an `iN` zero-extended to 64 bits (`i1` is 0/1), an `f32`'s bits
//!   zero-extended, an `f64`'s or a pointer's 64 bits. An instruction loads
//!   its operands into scratch registers, computes, re-canonicalises, and
//!   stores its result to its home. No value lives in a register across
//!   instructions, so exits, calls and re-entries need no spilling.
//! - `rbx` = vars, `r12` = info, `r13` = buf for the whole function
//!   (callee-saved; `r14`, `r15` are saved too, unused). `rbp` is the frame
//!   pointer. `rsp` is aligned to at least 16 bytes (the largest alloca
//!   alignment) from the end of the prologue on, so every call site is
//!   aligned; the outgoing stack arguments are at `[rsp, rsp + out)`.
//! - Scratch: `rax rcx rdx rsi rdi r8-r11`, `xmm0-xmm7`; `r11` is reserved
//!   for constants and callee addresses where other scratch registers hold
//!   arguments, and for pieces of odd-sized memory accesses.
//! - Allocas have one slot each in the frame (hoisted: the previous
//!   iteration's slot is dead), zeroed each time the alloca runs (LLVM leaves
//!   a fresh alloca undefined; zero is one of its meanings, the evaluator's).
//! - Guards: a conditional jump to an out-of-line block per snapshot (or a
//!   two-instruction stub per guard where several guards share one) that puts
//!   the guard's number in `esi`, makes the exit's stores (through `rax`
//!   only) and jumps to one shared tail calling `exit_fn`.
//! - Emission is linear in the trace's size: per-value tables are vectors
//!   indexed by value, per-snapshot ones by snapshot.

use crate::{Callee, Error, Ext, Plan, Shape, Symbols};
use iced_x86::code_asm::*;
use iced_x86::BlockEncoderOptions;
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
    epilogue: CodeLabel,
    tail: CodeLabel,
    reentry: CodeLabel,
    head: CodeLabel,
    entry: CodeLabel,
}

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
        epilogue: labels.0,
        tail: labels.1,
        reentry: labels.2,
        head: labels.3,
        entry: labels.4,
    };
    let offsets_idx = e.function(frame as i32, maxalign)?;
    let res =
        e.a.assemble_options(0, BlockEncoderOptions::RETURN_NEW_INSTRUCTION_OFFSETS)?;
    let bytes = res.inner.code_buffer;
    let offs = &res.inner.new_instruction_offsets;
    let offsets = offsets_idx
        .iter()
        .map(|&i| offs.get(i).copied().unwrap_or(bytes.len() as u32))
        .collect();
    Ok(Assembled { bytes, offsets })
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

impl E<'_> {
    fn ho(&self, v: ValId) -> i32 {
        self.home_base + 8 * v.0 as i32
    }

    fn home(&self, v: ValId) -> AsmMemoryOperand {
        qword_ptr(rsp + self.ho(v))
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

    /// `g = o` (canonical bits).
    fn ld(&mut self, g: G, o: Operand) -> R<()> {
        match o {
            Operand::Val(v) => {
                let m = self.home(v);
                self.a.mov(g.q, m)?;
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
            Operand::Val(v) => {
                let d = self.ho(v);
                if ty == Ty::F32 {
                    self.a.movss(x, dword_ptr(rsp + d))?;
                } else {
                    self.a.movsd_2(x, qword_ptr(rsp + d))?;
                }
            }
            Operand::Const(c) => {
                let b = self.cbits(c)?;
                self.imm(R11, b)?;
                self.a.movq(x, r11)?;
            }
        }
        Ok(())
    }

    /// Stores `g` to `v`'s home.
    fn st(&mut self, v: ValId, g: G) -> R<()> {
        let m = self.home(v);
        self.a.mov(m, g.q)?;
        Ok(())
    }

    /// Stores float `x` of type `ty` to `v`'s home (an f32 zero-extended).
    fn stx(&mut self, v: ValId, x: AsmRegisterXmm, ty: Ty) -> R<()> {
        if ty == Ty::F32 {
            self.a.movd(eax, x)?;
        } else {
            self.a.movq(rax, x)?;
        }
        self.st(v, RAX)
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
        let m = self.home(v);
        self.a.mov(rax, m)?;
        self.a.mov(qword_ptr(r13 + 8 * slot as i32), rax)?;
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
            self.load_param(k)?;
        }
        for &(p, s) in &plan.reserved {
            self.store_slot(ValId(p), s)?;
        }
        // The head.
        let eager_params: Vec<(ValId, u32)> = plan
            .eager
            .iter()
            .copied()
            .filter(|(v, _)| v.idx() < self.np)
            .collect();
        if root {
            let mut head = self.head;
            self.a.set_label(&mut head)?;
            for &(p, s) in plan.carried.iter() {
                self.store_slot(ValId(p), s)?;
            }
            for &(v, s) in &eager_params {
                self.store_slot(v, s)?;
            }
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
        let mut exit_of: Vec<Option<usize>> = vec![None; nsnaps];
        for (i, (s, _)) in plan.exits.iter().enumerate() {
            match exit_of.get_mut(s.0 as usize) {
                Some(e) => *e = Some(i),
                None => return plan_err(format!("exit for a missing snapshot s{}", s.0)),
            }
        }
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
        let mut offsets = Vec::with_capacity(t.body.len());
        for (k, inst) in t.body.iter().enumerate() {
            offsets.push(self.a.instructions().len());
            let v = ValId((self.np + k) as u32);
            if let Inst::Guard { cond, expect, snap } = inst {
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
                match cond {
                    Operand::Const(c) => {
                        if (c.bits() != Some(0)) != *expect {
                            self.a.jmp(target)?;
                        }
                    }
                    Operand::Val(c) => {
                        let d = self.ho(*c);
                        self.a.cmp(byte_ptr(rsp + d), 0)?;
                        if *expect {
                            self.a.je(target)?;
                        } else {
                            self.a.jne(target)?;
                        }
                    }
                }
                gno += 1;
            } else {
                self.inst(v, k, inst)?;
            }
            while eager_i < eager.len() && eager[eager_i].0 <= v {
                if eager[eager_i].0 == v {
                    self.store_slot(v, eager[eager_i].1)?;
                }
                eager_i += 1;
            }
        }
        // The end.
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
                        self.ld(RAX, args[k])?;
                        self.st(ValId(k as u32), RAX)?;
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
                        self.a.mov(rsi, rax)?;
                        self.imm(RDX, plan.resume)?;
                        self.imm(RCX, plan.jump_min)?;
                        self.a.cmp(rax, rcx)?;
                        self.a.cmovb(rax, rdx)?;
                        self.imm(RCX, plan.start_loc)?;
                        self.imm(RDX, plan.reenter)?;
                        self.a.cmp(rsi, rcx)?;
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
        // The exits.
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
            if let Some(i) = exit_of[sx] {
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
                self.load_param(k)?;
            }
            for &(p, s) in &plan.reserved {
                self.store_slot(ValId(p), s)?;
            }
            self.a.jmp(self.head)?;
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
    fn inst(&mut self, v: ValId, k: usize, inst: &Inst) -> R<()> {
        match inst {
            Inst::Load { ty, ptr, .. } => {
                self.ld(RCX, *ptr)?;
                self.load_mem(RAX, rcx, 0, *ty)?;
                self.st(v, RAX)
            }
            Inst::Store { val, ptr, .. } => {
                let size = self.ty(*val).size();
                self.ld(RCX, *ptr)?;
                self.ld(RAX, *val)?;
                self.store_mem(RAX, rcx, 0, size)
            }
            Inst::PtrAdd { ptr, off } => {
                self.ld(RAX, *ptr)?;
                self.add_imm(RAX, *off)?;
                self.st(v, RAX)
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
                self.ld(RAX, *lhs)?;
                self.ld(RCX, *rhs)?;
                let signed = matches!(pred, IPred::Sgt | IPred::Sge | IPred::Slt | IPred::Sle);
                if signed {
                    self.sext(RAX, w)?;
                    self.sext(RCX, w)?;
                }
                self.a.cmp(rax, rcx)?;
                match pred {
                    IPred::Eq => self.a.sete(al)?,
                    IPred::Ne => self.a.setne(al)?,
                    IPred::Ugt => self.a.seta(al)?,
                    IPred::Uge => self.a.setae(al)?,
                    IPred::Ult => self.a.setb(al)?,
                    IPred::Ule => self.a.setbe(al)?,
                    IPred::Sgt => self.a.setg(al)?,
                    IPred::Sge => self.a.setge(al)?,
                    IPred::Slt => self.a.setl(al)?,
                    IPred::Sle => self.a.setle(al)?,
                }
                self.a.movzx(eax, al)?;
                self.st(v, RAX)
            }
            Inst::FCmp { pred, lhs, rhs } => {
                let ty = self.ty(*lhs);
                self.ldx(xmm0, *lhs, ty)?;
                self.ldx(xmm1, *rhs, ty)?;
                // a OP b; "swap" compares b with a (for < and <=).
                let swap = matches!(pred, FPred::Olt | FPred::Ole | FPred::Ugt | FPred::Uge);
                let (x, y) = if swap { (xmm1, xmm0) } else { (xmm0, xmm1) };
                if ty == Ty::F32 {
                    self.a.ucomiss(x, y)?;
                } else {
                    self.a.ucomisd(x, y)?;
                }
                // Unordered sets ZF, PF and CF.
                match pred {
                    FPred::Oeq => {
                        self.a.sete(al)?;
                        self.a.setnp(cl)?;
                        self.a.and(al, cl)?;
                    }
                    FPred::Une => {
                        self.a.setne(al)?;
                        self.a.setp(cl)?;
                        self.a.or(al, cl)?;
                    }
                    FPred::Ogt | FPred::Olt => self.a.seta(al)?,
                    FPred::Oge | FPred::Ole => self.a.setae(al)?,
                    FPred::One => self.a.setne(al)?,
                    FPred::Ord => self.a.setnp(al)?,
                    FPred::Uno => self.a.setp(al)?,
                    FPred::Ueq => self.a.sete(al)?,
                    FPred::Ugt | FPred::Ult => self.a.setb(al)?,
                    FPred::Uge | FPred::Ule => self.a.setbe(al)?,
                }
                self.a.movzx(eax, al)?;
                self.st(v, RAX)
            }
            Inst::Cast { op, val, to } => self.cast(v, *op, *val, *to),
            Inst::Select { cond, t, f, .. } => {
                self.ld(RAX, *cond)?;
                self.ld(RCX, *t)?;
                self.ld(RDX, *f)?;
                self.a.test(eax, eax)?;
                self.a.cmove(rcx, rdx)?;
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

    fn ibin(&mut self, v: ValId, op: BinOp, w: u32, lhs: Operand, rhs: Operand) -> R<()> {
        self.ld(RAX, lhs)?;
        self.ld(RCX, rhs)?;
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

    fn fbin(&mut self, v: ValId, op: BinOp, ty: Ty, lhs: Operand, rhs: Operand) -> R<()> {
        let f32 = ty == Ty::F32;
        self.ldx(xmm0, lhs, ty)?;
        self.ldx(xmm1, rhs, ty)?;
        match (op, f32) {
            (BinOp::FAdd, false) => self.a.addsd(xmm0, xmm1)?,
            (BinOp::FSub, false) => self.a.subsd(xmm0, xmm1)?,
            (BinOp::FMul, false) => self.a.mulsd(xmm0, xmm1)?,
            (BinOp::FDiv, false) => self.a.divsd(xmm0, xmm1)?,
            (BinOp::FAdd, true) => self.a.addss(xmm0, xmm1)?,
            (BinOp::FSub, true) => self.a.subss(xmm0, xmm1)?,
            (BinOp::FMul, true) => self.a.mulss(xmm0, xmm1)?,
            (BinOp::FDiv, true) => self.a.divss(xmm0, xmm1)?,
            (BinOp::FRem, _) => {
                let f = if f32 {
                    fmodf as *const () as u64
                } else {
                    fmod as *const () as u64
                };
                self.a.mov(r11, f as i64)?;
                self.a.mov(eax, 2)?;
                self.a.call(r11)?;
            }
            _ => unreachable!("int operators go to ibin"),
        }
        self.stx(v, xmm0, ty)
    }

    fn cast(&mut self, v: ValId, op: CastOp, val: Operand, to: Ty) -> R<()> {
        let from = self.ty(val);
        match op {
            CastOp::ZExt | CastOp::BitCast | CastOp::IntToPtr => {
                self.ld(RAX, val)?;
                self.st(v, RAX)
            }
            CastOp::SExt => {
                self.ld(RAX, val)?;
                self.sext(RAX, from.bits())?;
                self.canon(RAX, to.bits())?;
                self.st(v, RAX)
            }
            CastOp::Trunc | CastOp::PtrToInt => {
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
        self.a.mov(eax, nf.min(8) as i32)?;
        self.a.call(r11)?;
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
                    self.a.mov(rsi, rcx)?;
                    self.sext(RDX, w)?;
                    self.sext(RSI, w)?;
                    self.a.cmp(rdx, rsi)?;
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
