//! The blackhole: an interpreter of decoded embedded IR ([`Prog`]) that
//! finishes the frames a failing guard left, on real process memory.
//!
//! Calls are native calls (the AOT code: everything a call does, including
//! the software tracer's recording, happens as in the interpreter); only the
//! frames the trace had inlined are interpreted. The outermost frame runs
//! until it reaches the control point (or returns).
//!
//! A `longjmp` out of a native call unwinds through the blackhole's frames;
//! they own only heap memory, which then leaks, and no runtime state.

use super::error::BlackholeError;
use super::ffi::Args;
use crate::guard::prog::*;
use std::cell::RefCell;
use std::sync::Arc;

thread_local! {
    /// Register files of finished frames, for the next frames to reuse: a
    /// function's file can have thousands of registers (Lua's
    /// `luaV_execute`), and allocating and zeroing one per guard failure
    /// was most of what a blackhole run cost.
    static POOL: RefCell<Vec<Vec<u64>>> = const { RefCell::new(Vec::new()) };
}

/// Register files kept in [`POOL`] per thread (at most).
const POOL_MAX: usize = 16;

/// One frame being finished.
pub struct Frame {
    /// Its function.
    pub prog: Arc<Prog>,
    /// Its registers.
    pub regs: Vec<u64>,
    /// The block it is in.
    pub block: u32,
    /// The next instruction to run.
    pub idx: u32,
    /// The register that receives the result of the inner frame (the call
    /// the trace had inlined), for all but the innermost frame.
    pub call_dst: u32,
}

impl Frame {
    /// A frame of `prog` about to run instruction `idx` of `block`.
    ///
    /// Its registers hold whatever a previous frame left in them: the IR is
    /// in SSA form, so the code from `block`/`idx` on reads only registers
    /// it writes first or that the caller sets (the guard's live values).
    pub fn new(prog: Arc<Prog>, block: u32, idx: u32, call_dst: u32) -> Frame {
        let n = prog.nregs as usize;
        let mut regs = POOL
            .try_with(|p| p.borrow_mut().pop())
            .ok()
            .flatten()
            .unwrap_or_default();
        if regs.len() < n {
            regs.resize(n, 0);
        }
        Frame {
            prog,
            regs,
            block,
            idx,
            call_dst,
        }
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        let regs = std::mem::take(&mut self.regs);
        let _ = POOL.try_with(|p| {
            let mut p = p.borrow_mut();
            if p.len() < POOL_MAX {
                p.push(regs);
            }
        });
    }
}

/// How the blackhole stopped.
#[derive(Debug)]
pub enum Outcome {
    /// The outermost frame reached its control point with this location.
    ControlPoint(u64),
    /// The outermost frame returned these leaves.
    Returned(Vec<u64>),
}

fn get(regs: &[u64], o: &Opnd) -> u64 {
    match o {
        Opnd::R(r) => regs[*r as usize],
        Opnd::K(k) => *k,
        Opnd::KA(ks) => ks[0],
    }
}

fn get_leaves(regs: &[u64], o: &Opnd, n: u32) -> Vec<u64> {
    match o {
        Opnd::R(r) => regs[*r as usize..(*r + n) as usize].to_vec(),
        Opnd::K(k) => vec![*k],
        Opnd::KA(ks) => ks.to_vec(),
    }
}

/// Copies the `n` leaves of operand `o` to registers `d..d + n`.
fn copy_leaves(regs: &mut [u64], d: u32, o: &Opnd, n: u32) {
    let d = d as usize;
    match o {
        Opnd::R(r) => regs.copy_within(*r as usize..(*r + n) as usize, d),
        Opnd::K(k) => regs[d] = *k,
        Opnd::KA(ks) => regs[d..d + ks.len()].copy_from_slice(ks),
    }
}

fn f(ty: Ty, x: u64) -> f64 {
    match ty {
        Ty::F32 => f32::from_bits(x as u32) as f64,
        _ => f64::from_bits(x),
    }
}

fn unf(ty: Ty, x: f64) -> u64 {
    match ty {
        Ty::F32 => (x as f32).to_bits() as u64,
        _ => x.to_bits(),
    }
}

/// Reads a `ty` at `p`.
///
/// # Safety
/// `p` must be valid for reading `ty.bytes()` bytes.
unsafe fn load(ty: Ty, p: u64) -> u64 {
    let mut b = [0u8; 8];
    let n = ty.bytes();
    // SAFETY: the caller's promise; the interpreter does what the IR does.
    unsafe { std::ptr::copy_nonoverlapping(p as *const u8, b.as_mut_ptr(), n) };
    ty.canon(u64::from_le_bytes(b))
}

/// Writes a `ty` to `p`.
///
/// # Safety
/// `p` must be valid for writing `ty.bytes()` bytes.
unsafe fn store(ty: Ty, p: u64, x: u64) {
    let b = x.to_le_bytes();
    // SAFETY: as for `load`.
    unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), p as *mut u8, ty.bytes()) };
}

fn icmp(pred: u8, w: u8, a: u64, b: u64) -> bool {
    let (sa, sb) = (sext(a, w), sext(b, w));
    match pred {
        32 => a == b,
        33 => a != b,
        34 => a > b,
        35 => a >= b,
        36 => a < b,
        37 => a <= b,
        38 => sa > sb,
        39 => sa >= sb,
        40 => sa < sb,
        _ => sa <= sb,
    }
}

fn fcmp(pred: u8, a: f64, b: f64) -> bool {
    let uno = a.is_nan() || b.is_nan();
    match pred {
        0 => false,
        1 => !uno && a == b,
        2 => !uno && a > b,
        3 => !uno && a >= b,
        4 => !uno && a < b,
        5 => !uno && a <= b,
        6 => !uno && a != b,
        7 => !uno,
        8 => uno,
        9 => uno || a == b,
        10 => uno || a > b,
        11 => uno || a >= b,
        12 => uno || a < b,
        13 => uno || a <= b,
        14 => uno || a != b,
        _ => true,
    }
}

fn bin(op: BinOp, w: u8, a: u64, b: u64) -> u64 {
    let (sa, sb) = (sext(a, w), sext(b, w));
    let sh = (b & 63) as u32;
    let r = match op {
        BinOp::Add => a.wrapping_add(b),
        BinOp::Sub => a.wrapping_sub(b),
        BinOp::Mul => a.wrapping_mul(b),
        // Division by zero is undefined behaviour in the IR; don't crash.
        BinOp::UDiv => a.checked_div(b).unwrap_or(0),
        BinOp::URem => a.checked_rem(b).unwrap_or(0),
        BinOp::SDiv => sa
            .checked_div(sb)
            .unwrap_or(if sb == -1 { sa.wrapping_neg() } else { 0 }) as u64,
        BinOp::SRem => sa.checked_rem(sb).unwrap_or(0) as u64,
        BinOp::Shl => a.wrapping_shl(sh),
        BinOp::LShr => a.wrapping_shr(sh),
        BinOp::AShr => sa.wrapping_shr(sh) as u64,
        BinOp::And => a & b,
        BinOp::Or => a | b,
        BinOp::Xor => a ^ b,
    };
    r & width_mask(w)
}

fn cast(op: CastOp, from: Ty, to: Ty, x: u64) -> u64 {
    let tw = match to {
        Ty::I(w) => w,
        _ => 64,
    };
    match (op, from) {
        (CastOp::SExt, Ty::I(w)) => (sext(x, w) as u64) & width_mask(tw),
        (CastOp::FpTrunc | CastOp::FpExt, _) => unf(to, f(from, x)),
        (CastOp::FpToUi, _) => (f(from, x) as u64) & width_mask(tw),
        (CastOp::FpToSi, _) => (f(from, x) as i64 as u64) & width_mask(tw),
        (CastOp::UiToFp, Ty::I(_)) => unf(to, x as f64),
        (CastOp::SiToFp, Ty::I(w)) => unf(to, sext(x, w) as f64),
        _ => to.canon(x),
    }
}

fn intrinsic(fi: Intr, ty: Ty, a: &[u64]) -> (u64, Option<u64>) {
    let w = match ty {
        Ty::I(w) => w,
        _ => 64,
    };
    let m = width_mask(w);
    let s = |x: u64| sext(x, w);
    let fl = |k: usize| f(ty, a[k]);
    let wide = |x: i128| -> (u64, Option<u64>) {
        let r = (x as u64) & m;
        (r, Some((sext(r, w) as i128 != x) as u64))
    };
    let uwide = |x: u128| -> (u64, Option<u64>) {
        let r = (x as u64) & m;
        (r, Some((r as u128 != x) as u64))
    };
    match fi {
        Intr::SMax => (if s(a[0]) >= s(a[1]) { a[0] } else { a[1] }, None),
        Intr::SMin => (if s(a[0]) <= s(a[1]) { a[0] } else { a[1] }, None),
        Intr::UMax => (a[0].max(a[1]), None),
        Intr::UMin => (a[0].min(a[1]), None),
        Intr::Abs => ((s(a[0]).wrapping_abs() as u64) & m, None),
        Intr::CtPop => (a[0].count_ones() as u64, None),
        Intr::Ctlz => ((a[0].leading_zeros() - (64 - w as u32)) as u64, None),
        Intr::Cttz => ((a[0].trailing_zeros().min(w as u32)) as u64, None),
        Intr::BSwap => (a[0].swap_bytes() >> (64 - w as u32), None),
        Intr::FShl | Intr::FShr => {
            let sh = (a[2] % w as u64) as u32;
            let cat = ((a[0] as u128) << w) | a[1] as u128;
            let r = if matches!(fi, Intr::FShl) {
                (cat << sh) >> w
            } else {
                cat >> sh
            };
            ((r as u64) & m, None)
        }
        Intr::SAddO => wide(s(a[0]) as i128 + s(a[1]) as i128),
        Intr::SSubO => wide(s(a[0]) as i128 - s(a[1]) as i128),
        Intr::SMulO => wide(s(a[0]) as i128 * s(a[1]) as i128),
        Intr::UAddO => uwide(a[0] as u128 + a[1] as u128),
        Intr::USubO => {
            let r = a[0].wrapping_sub(a[1]) & m;
            (r, Some((a[1] > a[0]) as u64))
        }
        Intr::UMulO => uwide(a[0] as u128 * a[1] as u128),
        Intr::FAbs => (unf(ty, fl(0).abs()), None),
        Intr::Sqrt => (unf(ty, fl(0).sqrt()), None),
        Intr::Floor => (unf(ty, fl(0).floor()), None),
        Intr::Ceil => (unf(ty, fl(0).ceil()), None),
        Intr::FTrunc => (unf(ty, fl(0).trunc()), None),
        Intr::Round => (unf(ty, fl(0).round()), None),
        Intr::Rint => (unf(ty, fl(0).round_ties_even()), None),
        Intr::CopySign => (unf(ty, fl(0).copysign(fl(1))), None),
        Intr::MinNum => (unf(ty, fl(0).min(fl(1))), None),
        Intr::MaxNum => (unf(ty, fl(0).max(fl(1))), None),
        Intr::Pow => (unf(ty, fl(0).powf(fl(1))), None),
        Intr::Fma => (unf(ty, fl(0).mul_add(fl(1), fl(2))), None),
        Intr::FMulAdd => match ty {
            Ty::F32 => {
                let (a, b, c) = (a[0] as u32, a[1] as u32, a[2] as u32);
                let r = f32::from_bits(a) * f32::from_bits(b) + f32::from_bits(c);
                (r.to_bits() as u64, None)
            }
            _ => (unf(ty, fl(0) * fl(1) + fl(2)), None),
        },
    }
}

/// Moves to block `to` of the top frame, assigning its phis (all read
/// before any is written, as phis are parallel).
fn jump(prog: &Prog, fr: &mut Frame, to: u32, record: bool) -> Result<(), BlackholeError> {
    if record {
        crate::trace::swt::rec_block(prog.func_idx, to);
    }
    let from = fr.block;
    let blk = &prog.blocks[to as usize];
    if !blk.phis.is_empty() {
        // The phis read their incoming values all before any is written.
        let mut small = [0u64; 32];
        let total: usize = blk.phis.iter().map(|p| p.n as usize).sum();
        let mut big = Vec::new();
        let tmp: &mut [u64] = if total <= small.len() {
            &mut small[..total]
        } else {
            big.resize(total, 0);
            &mut big
        };
        let mut at = 0;
        // A block's phis usually list their predecessors in the same order
        // (the dispatch loop's header has one per opcode): try the previous
        // phi's position before searching.
        let mut k = 0;
        for p in &blk.phis {
            let v = match p.incoming.get(k) {
                Some((b, v)) if *b == from => v,
                _ => {
                    k = p
                        .incoming
                        .iter()
                        .position(|(b, _)| *b == from)
                        .ok_or_else(|| BlackholeError::PhiWithoutEntry {
                            func: prog.name.clone(),
                        })?;
                    &p.incoming[k].1
                }
            };
            let n = p.n as usize;
            match v {
                Opnd::R(r) => {
                    tmp[at..at + n].copy_from_slice(&fr.regs[*r as usize..*r as usize + n])
                }
                Opnd::K(k) => tmp[at] = *k,
                Opnd::KA(ks) => tmp[at..at + ks.len()].copy_from_slice(ks),
            }
            at += n;
        }
        let mut at = 0;
        for p in &blk.phis {
            let n = p.n as usize;
            fr.regs[p.d as usize..p.d as usize + n].copy_from_slice(&tmp[at..at + n]);
            at += n;
        }
    }
    fr.block = to;
    fr.idx = 0;
    Ok(())
}

/// Runs `frames` (outermost first) until the outermost one reaches a
/// control point or returns. With `record`, the blocks it runs and the
/// values it promotes go to this thread's software-tracing recording (as
/// the instrumented AOT code would record them), for a side trace.
///
/// # Safety
/// The frames must be what the AOT code would have at that point: the
/// interpreter does whatever the IR does to memory.
pub unsafe fn run(frames: &mut Vec<Frame>, record: bool) -> Result<Outcome, BlackholeError> {
    // The top frame's program, re-fetched only when the top frame changes
    // (cloning the `Arc` per instruction would dominate the run time).
    let mut prog = frames.last().ok_or(BlackholeError::NoFrames)?.prog.clone();
    loop {
        let depth = frames.len();
        let fr = frames.last_mut().ok_or(BlackholeError::NoFrames)?;
        let inst = prog.blocks[fr.block as usize]
            .insts
            .get(fr.idx as usize)
            .ok_or(BlackholeError::RanOffBlock)?;
        fr.idx += 1;
        let r = &mut fr.regs;
        match inst {
            Inst::Bin { op, w, d, a, b } => {
                r[*d as usize] = bin(*op, *w, get(r, a), get(r, b));
            }
            Inst::FBin { op, ty, d, a, b } => {
                let (x, y) = (f(*ty, get(r, a)), f(*ty, get(r, b)));
                let z = match op {
                    FBinOp::Add => x + y,
                    FBinOp::Sub => x - y,
                    FBinOp::Mul => x * y,
                    FBinOp::Div => x / y,
                    FBinOp::Rem => x % y,
                };
                // f32 arithmetic done in f64 then rounded is exact for
                // + - * / (double rounding can't occur for these).
                r[*d as usize] = unf(*ty, z);
            }
            Inst::FNeg { ty, d, a } => r[*d as usize] = unf(*ty, -f(*ty, get(r, a))),
            Inst::ICmp { pred, w, d, a, b } => {
                r[*d as usize] = icmp(*pred, *w, get(r, a), get(r, b)) as u64
            }
            Inst::FCmp { pred, ty, d, a, b } => {
                r[*d as usize] = fcmp(*pred, f(*ty, get(r, a)), f(*ty, get(r, b))) as u64
            }
            Inst::Cast { op, from, to, d, a } => r[*d as usize] = cast(*op, *from, *to, get(r, a)),
            Inst::Select { d, n, c, a, b } => {
                let o = if get(r, c) & 1 != 0 { a } else { b };
                copy_leaves(r, *d, o, *n);
            }
            Inst::Promote { d, a } => {
                let x = get(r, a);
                if record {
                    crate::trace::swt::rec_promote(x);
                }
                r[*d as usize] = x;
            }
            Inst::Copy { d, n, a } => copy_leaves(r, *d, a, *n),
            // SAFETY: loads and stores are the IR's own.
            Inst::Load { ty, d, p } => r[*d as usize] = unsafe { load(*ty, get(r, p)) },
            Inst::Store { ty, v, p } => unsafe { store(*ty, get(r, p), get(r, v)) },
            Inst::Gep { d, base, off, idx } => {
                let mut a = get(r, base).wrapping_add(*off as u64);
                for (o, w, scale) in idx {
                    a = a.wrapping_add(sext(get(r, o), *w).wrapping_mul(*scale) as u64);
                }
                r[*d as usize] = a;
            }
            // SAFETY: the AOT code makes this very copy (or fill) at this
            // point of the interpreter, with these operands: the blackhole
            // only runs it in the interpreter's place.
            Inst::Memcpy { d, s, n } => unsafe {
                std::ptr::copy(
                    get(r, s) as *const u8,
                    get(r, d) as *mut u8,
                    get(r, n) as usize,
                )
            },
            // SAFETY: as `Memcpy`.
            Inst::Memset { d, v, n } => unsafe {
                std::ptr::write_bytes(get(r, d) as *mut u8, get(r, v) as u8, get(r, n) as usize)
            },
            Inst::Intrinsic { f: fi, ty, d, args } => {
                let a: Vec<u64> = args.iter().map(|o| get(r, o)).collect();
                let (x, ov) = intrinsic(*fi, *ty, &a);
                r[*d as usize] = x;
                if let Some(o) = ov {
                    r[*d as usize + 1] = o;
                }
            }
            Inst::Call {
                f: callee,
                args,
                ret,
                d,
                idem,
            } => {
                let mut a = Args::default();
                for (o, class) in args {
                    let x = get(r, o);
                    match class {
                        ArgClass::Int { w, signext } if *signext && *w < 32 => {
                            a.int(sext(x, *w) as u64 & 0xffff_ffff)
                        }
                        ArgClass::Int { .. } => a.int(x),
                        ArgClass::Sse => a.sse(x),
                    }
                }
                let fp = get(r, callee) as usize;
                if fp == 0 {
                    return Err(BlackholeError::NullCall);
                }
                // SAFETY: the IR calls `fp` with this signature.
                let out = unsafe { a.call(fp) };
                if let RetClass::Leaves(ls) = ret {
                    let (mut gi, mut si) = (0, 2);
                    for (k, (ty, sse)) in ls.iter().enumerate() {
                        let x = if *sse {
                            si += 1;
                            out[si - 1]
                        } else {
                            gi += 1;
                            out[gi - 1]
                        };
                        frames.last_mut().unwrap().regs[*d as usize + k] = ty.canon(x);
                    }
                }
                if *idem && record {
                    // The register form is what the hook records: the bits,
                    // zero-extended.
                    crate::trace::swt::rec_idempotent(frames.last().unwrap().regs[*d as usize]);
                }
            }
            Inst::Extract { d, n, agg, leaf } => {
                let v = match agg {
                    Opnd::R(b) => r[(*b + *leaf) as usize..(*b + *leaf + *n) as usize].to_vec(),
                    Opnd::KA(ks) => ks[*leaf as usize..(*leaf + *n) as usize].to_vec(),
                    Opnd::K(k) => vec![*k],
                };
                r[*d as usize..(*d + *n) as usize].copy_from_slice(&v);
            }
            Inst::Insert {
                d,
                total,
                agg,
                leaf,
                n,
                v,
            } => {
                let mut all = get_leaves(r, agg, *total);
                let new = get_leaves(r, v, *n);
                all[*leaf as usize..(*leaf + *n) as usize].copy_from_slice(&new);
                r[*d as usize..(*d + *total) as usize].copy_from_slice(&all);
            }
            Inst::ControlPoint { loc } => {
                if depth != 1 {
                    return Err(BlackholeError::InlinedControlPoint);
                }
                return Ok(Outcome::ControlPoint(get(r, loc)));
            }
            Inst::Nop => {}
            Inst::Unsupported(why) => {
                // The trace compiler refuses traces whose guards can reach
                // these, so this is a bug, not a user error.
                return Err(BlackholeError::Unsupported { why: why.clone() });
            }
            Inst::Br { to } => jump(&prog, fr, *to, record)?,
            Inst::CondBr { c, t, f: fl } => {
                let to = if get(r, c) & 1 != 0 { *t } else { *fl };
                jump(&prog, fr, to, record)?
            }
            Inst::Switch { v, default, cases } => {
                let x = get(r, v);
                let to = cases.iter().find(|c| c.0 == x).map_or(*default, |c| c.1);
                jump(&prog, fr, to, record)?
            }
            Inst::Ret { v, n } => {
                let vals = match v {
                    Some(o) => get_leaves(r, o, *n),
                    None => Vec::new(),
                };
                if depth == 1 {
                    return Ok(Outcome::Returned(vals));
                }
                frames.pop();
                let p = frames.last_mut().unwrap();
                let d = p.call_dst as usize;
                p.regs[d..d + vals.len()].copy_from_slice(&vals);
                prog = p.prog.clone();
            }
            Inst::Unreachable => {
                return Err(BlackholeError::Unreachable {
                    func: prog.name.clone(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_semantics() {
        assert_eq!(bin(BinOp::Add, 8, 200, 100), 44);
        assert_eq!(
            bin(BinOp::SDiv, 32, (-7i32) as u32 as u64, 2),
            (-3i32) as u32 as u64
        );
        assert_eq!(
            bin(BinOp::SRem, 32, (-7i32) as u32 as u64, 2),
            (-1i32) as u32 as u64
        );
        assert_eq!(bin(BinOp::AShr, 16, 0x8000, 15), 0xffff);
        assert_eq!(bin(BinOp::LShr, 16, 0x8000, 15), 1);
        assert_eq!(bin(BinOp::UDiv, 64, 1, 0), 0);
        assert!(icmp(40, 8, 0xff, 0)); // -1 < 0 signed
        assert!(!icmp(36, 8, 0xff, 0)); // 255 < 0 unsigned
        assert_eq!(cast(CastOp::SExt, Ty::I(8), Ty::I(32), 0x80), 0xffff_ff80);
        assert_eq!(
            cast(CastOp::SiToFp, Ty::I(32), Ty::F64, 0xffff_ffff),
            (-1.0f64).to_bits()
        );
        assert_eq!(intrinsic(Intr::SAddO, Ty::I(8), &[127, 1]), (128, Some(1)));
        assert_eq!(intrinsic(Intr::UAddO, Ty::I(8), &[255, 1]), (0, Some(1)));
        assert_eq!(intrinsic(Intr::Ctlz, Ty::I(32), &[1, 0]).0, 31);
        assert!(fcmp(14, f64::NAN, 1.0) && !fcmp(1, f64::NAN, f64::NAN));
    }
}
