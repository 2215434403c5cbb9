//! Hand-written traces: each instruction kind at many widths against
//! `tir::sem` on edge values, the float predicates with NaN, casts at their
//! edges, calls (many arguments, extensions, varargs, indirect), intrinsics,
//! guards sharing a snapshot, re-entry, the tier check, the linear and side
//! ends and their outcomes, and the side entry stub.

mod common;

use common::*;
use std::cell::RefCell;
use tir::text::parse;
use tir::*;
use x64::*;

/// Vars fields: parameter k at 8k; end value j at `END + 8j`.
const END: u32 = 8 * 32;

/// A plan with parameters from vars fields, every snapshot's values stored
/// to slots 0.. in order, a counter, and for loops a tier check every pass.
fn plan(t: &Trace) -> Plan {
    let np = t.params.len();
    let mut params = vec![ParamSrc::Vars];
    params.extend((1..np as u32).map(|k| ParamSrc::Field(8 * k)));
    let shape = match t.end {
        End::Jump(_) => Shape::Loop,
        End::Exit(_) => Shape::Linear,
    };
    let exits = t
        .snaps
        .iter()
        .map(|(id, s)| (id, s.operands().zip(0..).collect()))
        .collect();
    let mut end_stores = Vec::new();
    if let End::Exit(s) = t.end {
        for (j, o) in t.snaps.get(s).unwrap().operands().enumerate() {
            end_stores.push((END + 8 * j as u32, o));
        }
    }
    Plan {
        shape,
        params,
        reserved: Vec::new(),
        carried: Vec::new(),
        eager: Vec::new(),
        exits,
        counter: Some(0),
        tier_check: (shape == Shape::Loop).then(|| TierCheck {
            check_fn: check_fn as *const () as u64,
            every: 1,
            stores: (1..np as u32).map(|k| (8 * k, k)).collect(),
        }),
        exit_fn: exit_fn as *const () as u64,
        end_stores,
        end_loc: None,
        start_loc: START_LOC,
        reenter: REENTER,
        resume: RESUME,
        jump_min: JUMP_MIN,
    }
}

/// The functions and globals of these tests.
struct Syms;

thread_local! {
    static HOOKED: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

extern "C" fn sum_ints(a: i64, b: i64, c: i64, d: i64, e: i64, f: i64, g: i64, h: i64) -> i64 {
    a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h
}

#[allow(clippy::too_many_arguments)]
extern "C" fn sum_floats(
    a: f64,
    b: f64,
    c: f64,
    d: f64,
    e: f64,
    f: f64,
    g: f64,
    h: f64,
    i: f64,
    j: f32,
) -> f64 {
    a + 2.0 * b
        + 3.0 * c
        + 4.0 * d
        + 5.0 * e
        + 6.0 * f
        + 7.0 * g
        + 8.0 * h
        + 9.0 * i
        + 10.0 * f64::from(j)
}

#[allow(clippy::too_many_arguments)]
extern "C" fn mixed(a: i64, x: f64, b: i32, y: f32, c: i64, d: i64, e: i64, f: i64, g: i64) -> f64 {
    a as f64 + x * 10.0 + f64::from(b) * 100.0 + f64::from(y) * 1000.0 + (c + d + e + f) as f64
        - g as f64
}

extern "C" fn id32(x: i32) -> i64 {
    i64::from(x)
}

extern "C" fn ret_i8() -> u64 {
    // An i8 result with garbage above it.
    0xdead_beef_0000_01ff
}

/// 1 if the stack was 16-byte aligned at the call (rsp + 8 at the entry,
/// past the return address).
#[unsafe(naked)]
extern "C" fn aligned() -> u64 {
    std::arch::naked_asm!(
        "lea rax, [rsp + 8]",
        "and eax, 15",
        "sete al",
        "movzx eax, al",
        "ret"
    )
}

extern "C" fn hook(slot: u64) {
    HOOKED.with(|h| h.borrow_mut().push(slot));
}

static FMT: &[u8] = b"%d|%.2f|%ld|%s\0";
static WORD: &[u8] = b"ok\0";

impl Symbols for Syms {
    fn func(&self, n: u32) -> Result<Callee, Error> {
        let (addr, arg_ext) = match n {
            1 => (sum_ints as *const () as u64, vec![]),
            2 => (sum_floats as *const () as u64, vec![]),
            3 => (mixed as *const () as u64, vec![]),
            4 => (id32 as *const () as u64, vec![Ext::Sign]),
            5 => (id32 as *const () as u64, vec![Ext::Zero]),
            6 => (libc::snprintf as *const () as u64, vec![Ext::None; 3]),
            7 => (ret_i8 as *const () as u64, vec![]),
            8 => (aligned as *const () as u64, vec![]),
            10 => return Ok(Callee::Intrinsic("llvm.memcpy.p0.p0.i64".into())),
            11 => return Ok(Callee::Intrinsic("llvm.memset.p0.i64".into())),
            12 => return Ok(Callee::Intrinsic("llvm.memmove.p0.p0.i64".into())),
            13 => return Ok(Callee::Intrinsic("llvm.smin.i8".into())),
            14 => return Ok(Callee::Intrinsic("llvm.smax.i8".into())),
            15 => return Ok(Callee::Intrinsic("llvm.umin.i8".into())),
            16 => return Ok(Callee::Intrinsic("llvm.umax.i8".into())),
            17 => return Ok(Callee::Intrinsic("llvm.abs.i8".into())),
            18 => return Ok(Callee::Intrinsic("llvm.fabs.f64".into())),
            19 => return Ok(Callee::Intrinsic("llvm.sqrt.f64".into())),
            20 => return Ok(Callee::Intrinsic("llvm.ctpop.i16".into())),
            21 => return Ok(Callee::Intrinsic("llvm.ctlz.i16".into())),
            22 => return Ok(Callee::Intrinsic("llvm.cttz.i16".into())),
            23 => return Ok(Callee::Intrinsic("llvm.expect.i32".into())),
            24 => return Ok(Callee::Intrinsic("llvm.lifetime.start.p0".into())),
            25 => return Ok(Callee::Intrinsic("llvm.assume".into())),
            26 => return Ok(Callee::Intrinsic("llvm.fabs.f32".into())),
            27 => return Ok(Callee::Intrinsic("llvm.sqrt.f32".into())),
            28 => return Ok(Callee::Intrinsic("llvm.abs.i64".into())),
            29 => return Ok(Callee::Intrinsic("llvm.ctlz.i64".into())),
            30 => return Ok(Callee::Intrinsic("llvm.cttz.i64".into())),
            31 => return Ok(Callee::Intrinsic("llvm.fshl.i32".into())),
            32 => return Ok(Callee::Intrinsic("llvm.fmuladd.f64".into())),
            33 => return Ok(Callee::Intrinsic("llvm.fmuladd.f32".into())),
            34 => return Ok(Callee::Intrinsic("llvm.floor.f64".into())),
            35 => return Ok(Callee::Intrinsic("llvm.ceil.f64".into())),
            36 => return Ok(Callee::Intrinsic("llvm.trunc.f64".into())),
            37 => return Ok(Callee::Intrinsic("llvm.floor.f32".into())),
            38 => return Ok(Callee::Intrinsic("llvm.ceil.f32".into())),
            39 => return Ok(Callee::Intrinsic("llvm.trunc.f32".into())),
            _ => return Err(Error::Symbol(format!("@f{n}"))),
        };
        Ok(Callee::Addr { addr, arg_ext })
    }

    fn global(&self, n: u32) -> Result<u64, Error> {
        match n {
            0 => Ok(FMT.as_ptr() as u64),
            1 => Ok(WORD.as_ptr() as u64),
            _ => Err(Error::Symbol(format!("@g{n}"))),
        }
    }
}

/// What a run gave: the return value, the vars words, the counter.
struct Run {
    r: i64,
    vars: Vec<u64>,
    counter: u64,
}

fn run_plan(t: &Trace, p: &Plan, inputs: &[u64], limit: u64, buf: &mut [u64]) -> Run {
    let code = compile(t, p, &Syms).unwrap_or_else(|e| panic!("{e}\n{}", text::print(t)));
    let mut vars = vec![0u64; 64];
    for (k, v) in inputs.iter().enumerate() {
        vars[k + 1] = *v;
    }
    let mut counter = 0;
    let mut info = Info {
        counter: &mut counter,
        limit,
    };
    let r = run_trace(&code, vars.as_mut_ptr() as *mut u8, &mut info, buf);
    Run { r, vars, counter }
}

/// Runs trace text `s` (a `trace` ending at a snapshot) with parameters 1..
/// = `inputs`; returns the end snapshot's values.
fn end_values(s: &str, inputs: &[u64]) -> Vec<u64> {
    let t = parse(s).unwrap_or_else(|e| panic!("{e:?}\n{s}"));
    t.verify().unwrap();
    let p = plan(&t);
    let mut buf = vec![0u64; 64];
    let run = run_plan(&t, &p, inputs, 100, &mut buf);
    assert_eq!(run.r, RESUME as i64, "{s}");
    let n = p.end_stores.len();
    (0..n).map(|j| run.vars[32 + j]).collect()
}

/// A linear trace computing `inst` on parameters 1 and 2 (of `tys`), its
/// result the end snapshot's one value.
fn one_inst(tys: &[Ty], inst: Inst) -> Trace {
    let mut params = vec![Ty::Ptr];
    params.extend_from_slice(tys);
    let mut t = Trace {
        params,
        body: vec![inst],
        end: End::Jump(vec![]),
        snaps: Snapshots::default(),
    };
    let v = ValId(t.params.len() as u32);
    let s = t.snaps.intern(Snapshot {
        frames: vec![Frame::new(0, 0, vec![(0, Operand::Val(v))])],
    });
    t.end = End::Exit(s);
    t.verify().unwrap();
    t
}

/// Runs a compiled `one_inst` trace on `a`, `b`.
fn run_one(code: &Code, a: u64, b: u64, c: u64) -> u64 {
    let mut vars = vec![0u64; 64];
    vars[1] = a;
    vars[2] = b;
    vars[3] = c;
    let mut counter = 0;
    let mut info = Info {
        counter: &mut counter,
        limit: 100,
    };
    let mut buf = vec![0u64; 64];
    let r = run_trace(code, vars.as_mut_ptr() as *mut u8, &mut info, &mut buf);
    assert_eq!(r, RESUME as i64);
    vars[32]
}

const WIDTHS: [u8; 13] = [1, 2, 7, 8, 13, 16, 24, 31, 32, 33, 48, 63, 64];

fn edge_values(w: u32) -> Vec<u64> {
    let m = tir::ir::mask(w);
    let mut v = vec![
        0,
        1,
        2,
        3,
        m,
        m - 1,
        m >> 1,
        (m >> 1) + 1,
        (m >> 1).wrapping_sub(1),
        5,
        0x55,
    ];
    let mut rng = fastrand::Rng::with_seed(u64::from(w));
    v.extend((0..6).map(|_| rng.u64(..)));
    v.iter().map(|x| x & m).collect()
}

fn float_values() -> Vec<f64> {
    vec![
        0.0,
        -0.0,
        1.0,
        -1.5,
        2.5,
        1e300,
        -1e-300,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        9_223_372_036_854_775_808.0,
        1.8446744073709552e19,
        -9_223_372_036_854_775_808.0,
        255.9,
        -128.5,
        4294967295.5,
        f64::MIN_POSITIVE,
        123456789.123,
    ]
}

#[test]
fn int_binops_match_sem_at_every_width() {
    let mut checked = 0;
    for op in BinOp::ALL.into_iter().filter(|o| !o.is_float()) {
        for w in WIDTHS {
            let ty = Ty::Int(w);
            let t = one_inst(
                &[ty, ty],
                Inst::Bin {
                    op,
                    ty,
                    lhs: Operand::Val(ValId(1)),
                    rhs: Operand::Val(ValId(2)),
                },
            );
            let code = compile(&t, &plan(&t), &Syms).unwrap();
            let vals = edge_values(u32::from(w));
            for &a in &vals {
                for &b in &vals {
                    let Ok(want) = tir::sem::bin(op, ty, a, b) else {
                        continue;
                    };
                    assert_eq!(
                        run_one(&code, a, b, 0),
                        want,
                        "{} i{w} {a:#x}, {b:#x}",
                        op.name()
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 20_000, "{checked}");
}

#[test]
fn icmp_matches_sem_at_every_width() {
    for pred in IPred::ALL {
        for w in WIDTHS {
            let ty = Ty::Int(w);
            let t = one_inst(
                &[ty, ty],
                Inst::ICmp {
                    pred,
                    lhs: Operand::Val(ValId(1)),
                    rhs: Operand::Val(ValId(2)),
                },
            );
            let code = compile(&t, &plan(&t), &Syms).unwrap();
            let vals = edge_values(u32::from(w));
            for &a in &vals {
                for &b in &vals {
                    let want = u64::from(tir::sem::icmp(pred, u32::from(w), a, b));
                    assert_eq!(
                        run_one(&code, a, b, 0),
                        want,
                        "icmp {} i{w} {a:#x}, {b:#x}",
                        pred.name()
                    );
                }
            }
        }
    }
}

#[test]
fn float_ops_and_every_fcmp_predicate_with_nan() {
    for ty in [Ty::F64, Ty::F32] {
        let bits = |x: f64| match ty {
            Ty::F32 => u64::from((x as f32).to_bits()),
            _ => x.to_bits(),
        };
        let vals: Vec<u64> = float_values().into_iter().map(bits).collect();
        for op in BinOp::ALL.into_iter().filter(|o| o.is_float()) {
            let t = one_inst(
                &[ty, ty],
                Inst::Bin {
                    op,
                    ty,
                    lhs: Operand::Val(ValId(1)),
                    rhs: Operand::Val(ValId(2)),
                },
            );
            let code = compile(&t, &plan(&t), &Syms).unwrap();
            for &a in &vals {
                for &b in &vals {
                    let want = tir::sem::bin(op, ty, a, b).unwrap();
                    let got = run_one(&code, a, b, 0);
                    let nan = |x: u64| match ty {
                        Ty::F32 => f32::from_bits(x as u32).is_nan(),
                        _ => f64::from_bits(x).is_nan(),
                    };
                    assert!(
                        got == want || (nan(got) && nan(want)),
                        "{} {ty} {a:#x} {b:#x}: {got:#x} != {want:#x}",
                        op.name()
                    );
                }
            }
        }
        for pred in FPred::ALL {
            let t = one_inst(
                &[ty, ty],
                Inst::FCmp {
                    pred,
                    lhs: Operand::Val(ValId(1)),
                    rhs: Operand::Val(ValId(2)),
                },
            );
            let code = compile(&t, &plan(&t), &Syms).unwrap();
            for &a in &vals {
                for &b in &vals {
                    let want = u64::from(tir::sem::fcmp(pred, ty, a, b));
                    assert_eq!(
                        run_one(&code, a, b, 0),
                        want,
                        "fcmp {} {ty} {a:#x} {b:#x}",
                        pred.name()
                    );
                }
            }
        }
    }
}

#[test]
fn casts_match_sem() {
    let mut tys: Vec<Ty> = WIDTHS.iter().map(|w| Ty::Int(*w)).collect();
    tys.extend([Ty::F32, Ty::F64, Ty::Ptr]);
    let mut n = 0;
    for op in CastOp::ALL {
        for &from in &tys {
            for &to in &tys {
                if !op.valid(from, to) {
                    continue;
                }
                let t = one_inst(
                    &[from],
                    Inst::Cast {
                        op,
                        val: Operand::Val(ValId(1)),
                        to,
                    },
                );
                let code = compile(&t, &plan(&t), &Syms).unwrap();
                let vals: Vec<u64> = match from {
                    Ty::F64 => float_values().into_iter().map(f64::to_bits).collect(),
                    Ty::F32 => float_values()
                        .into_iter()
                        .map(|x| u64::from((x as f32).to_bits()))
                        .collect(),
                    _ => edge_values(from.bits()),
                };
                for a in vals {
                    let Ok(want) = tir::sem::cast(op, from, to, a) else {
                        continue;
                    };
                    assert_eq!(
                        run_one(&code, a, 0, 0),
                        want,
                        "{} {from} {a:#x} to {to}",
                        op.name()
                    );
                    n += 1;
                }
            }
        }
    }
    assert!(n > 1000, "{n}");
}

#[test]
fn casts_at_the_edges() {
    let v = end_values(
        "trace(%v: ptr, %a: f64, %b: i64, %c: i1, %d: i64, %e: f32)
  %1 = fptoui f64 %a to i64
  %2 = uitofp i64 %b to f64
  %3 = uitofp i64 %b to f32
  %4 = sext i1 %c to i64
  %5 = trunc i64 %d to i1
  %6 = sext i1 %c to i8
  %7 = fptoui f32 %e to i64
  %8 = sitofp i64 %b to f64
  exit s0
s0: [f0 r0 a1=%1 a2=%2 a3=%3 a4=%4 a5=%5 a6=%6 a7=%7 a8=%8]
",
        &[
            ((1u64 << 63) as f64).to_bits(),
            u64::MAX,
            1,
            3,
            u64::from(1.8446743e19f32.to_bits()),
        ],
    );
    assert_eq!(v[0], 1 << 63);
    assert_eq!(v[1], (u64::MAX as f64).to_bits());
    assert_eq!(v[2], u64::from((u64::MAX as f32).to_bits()));
    assert_eq!(v[3], u64::MAX);
    assert_eq!(v[4], 1);
    assert_eq!(v[5], 0xff);
    assert_eq!(v[6], 1.8446743e19f32 as u64);
    assert_eq!(v[7], (-1.0f64).to_bits());
    // Rounding of uitofp through the halving path (an odd value whose low
    // bit decides the rounding).
    let x = (1u64 << 63) | (1 << 10) | 1;
    let v = end_values(
        "trace(%v: ptr, %b: i64)
  %1 = uitofp i64 %b to f64
  %2 = uitofp i64 %b to f32
  exit s0
s0: [f0 r0 a1=%1 a2=%2]
",
        &[x],
    );
    assert_eq!(
        v,
        vec![(x as f64).to_bits(), u64::from((x as f32).to_bits())]
    );
}

#[test]
fn loads_and_stores_of_every_width() {
    for w in WIDTHS.iter().copied().chain([40, 56]) {
        let ty = Ty::Int(w);
        let size = ty.size() as usize;
        // Store the value at byte 3 of a buffer, load it back at 3 and the
        // whole word around it.
        let s = format!(
            "trace(%v: ptr, %p: ptr, %x: i{w})
  %1 = ptr_add %p, 3
  store i{w} %x, %1
  %2 = load i{w} %1
  %3 = load i64 %p
  %4 = load i64 %p + 8
  exit s0
s0: [f0 r0 a1=%2 a2=%3]
"
        );
        let s = s.replace("  %4 = load i64 %p + 8\n", "");
        for x in edge_values(u32::from(w)) {
            let mut mem = [0xa5u8; 16];
            let v = end_values(&s, &[mem.as_mut_ptr() as u64, x]);
            let mut want = [0xa5u8; 16];
            want[3..3 + size].copy_from_slice(&x.to_le_bytes()[..size]);
            assert_eq!(mem, want, "store i{w} {x:#x}");
            assert_eq!(v[0], x, "load i{w}");
            assert_eq!(v[1], u64::from_le_bytes(want[..8].try_into().unwrap()));
        }
    }
    // Floats and pointers.
    let mut mem = [0u64; 4];
    let v = end_values(
        "trace(%v: ptr, %p: ptr, %a: f32, %b: f64)
  store f32 %a, %p
  %1 = ptr_add %p, 8
  store f64 %b, %1
  %2 = ptr_add %p, 16
  store ptr %p, %2
  %3 = load f32 %p
  %4 = load f64 %1
  %5 = load ptr %2
  %6 = fadd f32 %3, 1.0
  exit s0
s0: [f0 r0 a1=%3 a2=%4 a3=%5 a4=%6]
",
        &[
            mem.as_mut_ptr() as u64,
            u64::from(2.5f32.to_bits()),
            7.25f64.to_bits(),
        ],
    );
    let p = mem.as_ptr() as u64;
    assert_eq!(
        v,
        vec![
            u64::from(2.5f32.to_bits()),
            7.25f64.to_bits(),
            p,
            u64::from(3.5f32.to_bits())
        ]
    );
}

#[test]
fn pointers_selects_and_allocas() {
    let v = end_values(
        "trace(%v: ptr, %p: ptr, %i: i8, %c: i1)
  %1 = dyn_ptr_add %p, i8 %i, 24, 5
  %2 = ptr_add %p, -4
  %3 = select %c, ptr %1, %2
  %4 = alloca 40, 64
  %5 = load i64 %4
  store i64 7, %4
  %6 = ptrtoint ptr %4 to i64
  %7 = and i64 %6, 63
  %8 = dyn_ptr_add %p, i64 %7, 3000000000, 0
  exit s0
s0: [f0 r0 a1=%1 a2=%2 a3=%3 a4=%5 a5=%7 a6=%8]
",
        &[0x1000, 0xfe, 1],
    );
    assert_eq!(
        v,
        vec![0x1000 - 48 + 5, 0x1000 - 4, 0x1000 - 48 + 5, 0, 0, 0x1000]
    );
    // An alloca is zeroed each time it runs, and its slot is reused.
    let t = parse(
        "loop(%v: ptr, %n: i64)
  %1 = alloca 8, 8
  %2 = load i64 %1
  store i64 %n, %1
  %3 = add i64 %n, %2
  jump %v, %3
",
    )
    .unwrap();
    let mut buf = vec![0u64; 64];
    let run = run_plan(&t, &plan(&t), &[5], 3, &mut buf);
    assert_eq!(run.r, RESUME as i64);
    assert_eq!(run.vars[1], 5, "the alloca read 0 each iteration");
}

#[test]
fn calls_with_many_arguments() {
    let v = end_values(
        "trace(%v: ptr, %a: i64, %x: f64, %y: f32, %b: i32)
  %1 = call i64 @f1(i64 %a, i64 2, i64 3, i64 4, i64 5, i64 6, i64 7, i64 8) any
  %2 = call f64 @f2(f64 %x, f64 1.0, f64 1.0, f64 1.0, f64 1.0, f64 1.0, f64 1.0, f64 1.0, f64 2.0, f32 %y) any
  %3 = call f64 @f3(i64 %a, f64 %x, i32 %b, f32 %y, i64 1, i64 2, i64 3, i64 4, i64 5) any
  %4 = call i64 %v2(i64 %a, i64 0, i64 0, i64 0, i64 0, i64 0, i64 0, i64 1) any
  %5 = call i64 @f8() any
  exit s0
s0: [f0 r0 a1=%1 a2=%2 a3=%3 a4=%4 a5=%5]
"
        .replace("%v2", &format!("{:#x}", sum_ints as *const () as u64))
        .as_str(),
        &[1, 0.5f64.to_bits(), u64::from(0.25f32.to_bits()), 0xffff_fffe],
    );
    assert_eq!(v[0] as i64, sum_ints(1, 2, 3, 4, 5, 6, 7, 8));
    assert_eq!(
        f64::from_bits(v[1]),
        sum_floats(0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 0.25)
    );
    assert_eq!(f64::from_bits(v[2]), mixed(1, 0.5, -2, 0.25, 1, 2, 3, 4, 5));
    assert_eq!(v[3], 9);
    assert_eq!(v[4], 1, "rsp 16-byte aligned at calls");
}

#[test]
fn indirect_call_and_argument_extensions() {
    let v = end_values(
        "trace(%v: ptr, %f: ptr, %x: i8)
  %1 = call i64 @f4(i8 %x) any
  %2 = call i64 @f5(i8 %x) any
  %3 = call i64 %f(i64 40, i64 0, i64 0, i64 0, i64 0, i64 0, i64 0, i64 0) any
  %4 = call i8 @f7() any
  %5 = call i1 @f7() any
  %6 = call i64 @f8() any
  %7 = alloca 24, 32
  %8 = call i64 @f8() any
  exit s0
s0: [f0 r0 a1=%1 a2=%2 a3=%3 a4=%4 a5=%5 a6=%6 a7=%8]
",
        &[sum_ints as *const () as u64, 0x80],
    );
    assert_eq!(v, vec![(-128i64) as u64, 128, 40, 0xff, 1, 1, 1]);
}

#[test]
fn varargs_snprintf() {
    let mut out = [0u8; 64];
    let v = end_values(
        "trace(%v: ptr, %buf: ptr, %x: f64)
  %1 = call i32 @f6(ptr %buf, i64 64, ptr @g0, i32 -42, f64 %x, i64 1234567890123, ptr @g1) any
  exit s0
s0: [f0 r0 a1=%1]
",
        &[out.as_mut_ptr() as u64, 2.71f64.to_bits()],
    );
    let s = std::ffi::CStr::from_bytes_until_nul(&out).unwrap();
    assert_eq!(s.to_str().unwrap(), "-42|2.71|1234567890123|ok");
    assert_eq!(v[0], s.to_bytes().len() as u64);
}

/// `llvm.fmuladd` is a multiply and an add, not fused: the AOT code (x86-64
/// without FMA) rounds the product, so the trace must too. In f64 (1 +
/// 2^-30)(1 - 2^-30) - 1 is 0 rounded, -2^-60 fused; in f32 the same with
/// 2^-13.
#[test]
fn fmuladd_is_unfused() {
    let e = 2f64.powi(-30);
    let ef = 2f32.powi(-13);
    let v = end_values(
        "trace(%v: ptr, %a: f64, %b: f64, %x: f32, %y: f32)
  %1 = call f64 @f32(f64 %a, f64 %b, f64 -1.0) pure
  %2 = call f32 @f33(f32 %x, f32 %y, f32 -1.0) pure
  %3 = call f64 @f32(f64 %a, f64 2.0, f64 0.5) pure
  exit s0
s0: [f0 r0 a1=%1 a2=%2 a3=%3]
",
        &[
            (1.0 + e).to_bits(),
            (1.0 - e).to_bits(),
            u64::from((1.0 + ef).to_bits()),
            u64::from((1.0 - ef).to_bits()),
        ],
    );
    assert_eq!(
        v,
        vec![
            0f64.to_bits(),
            u64::from(0f32.to_bits()),
            ((1.0 + e) * 2.0 + 0.5).to_bits()
        ]
    );
}

/// `llvm.floor`, `ceil` and `trunc` give what libm's functions (which the
/// AOT code calls) give: halves, negatives, -0.0, infinities and NaN, f64
/// and f32.
#[test]
fn floor_ceil_trunc() {
    if !std::is_x86_feature_detected!("sse4.1") {
        return;
    }
    let xs = [
        -2.5f64,
        2.5,
        -0.0,
        -0.25,
        1e300,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        4503599627370497.0,
        -7.0,
    ];
    for &x in &xs {
        let v = end_values(
            "trace(%v: ptr, %x: f64, %y: f32)
  %1 = call f64 @f34(f64 %x) pure
  %2 = call f64 @f35(f64 %x) pure
  %3 = call f64 @f36(f64 %x) pure
  %4 = call f32 @f37(f32 %y) pure
  %5 = call f32 @f38(f32 %y) pure
  %6 = call f32 @f39(f32 %y) pure
  exit s0
s0: [f0 r0 a1=%1 a2=%2 a3=%3 a4=%4 a5=%5 a6=%6]
",
            &[x.to_bits(), u64::from((x as f32).to_bits())],
        );
        let y = x as f32;
        assert_eq!(
            v,
            vec![
                x.floor().to_bits(),
                x.ceil().to_bits(),
                x.trunc().to_bits(),
                u64::from(y.floor().to_bits()),
                u64::from(y.ceil().to_bits()),
                u64::from(y.trunc().to_bits()),
            ],
            "x = {x}"
        );
    }
}

#[test]
fn intrinsics() {
    let mut a = [1u8, 2, 3, 4, 5, 6, 7, 8];
    let mut b = [0u8; 8];
    let v = end_values(
        "trace(%v: ptr, %a: ptr, %b: ptr, %x: i8, %y: i8, %f: f64, %h: i16, %g: f32, %z: i64)
  call void @f24(i64 8, ptr %a) any
  call void @f10(ptr %b, ptr %a, i64 4, i1 false) any
  %1 = ptr_add %a, 1
  call void @f12(ptr %a, ptr %1, i64 3, i1 false) any
  %2 = ptr_add %b, 6
  call void @f11(ptr %2, i8 9, i64 2, i1 false) any
  call void @f25(i1 true) any
  %3 = call i8 @f13(i8 %x, i8 %y) pure
  %4 = call i8 @f14(i8 %x, i8 %y) pure
  %5 = call i8 @f15(i8 %x, i8 %y) pure
  %6 = call i8 @f16(i8 %x, i8 %y) pure
  %7 = call i8 @f17(i8 %x, i1 false) pure
  %8 = call f64 @f18(f64 %f) pure
  %9 = call f64 @f19(f64 4.0) pure
  %10 = call i16 @f20(i16 %h) pure
  %11 = call i16 @f21(i16 %h) pure
  %12 = call i16 @f22(i16 %h) pure
  %13 = call i16 @f21(i16 0, i1 false) pure
  %14 = call i16 @f22(i16 0, i1 false) pure
  %15 = call i32 @f23(i32 77, i32 1) pure
  %16 = call f32 @f26(f32 %g) pure
  %17 = call f32 @f27(f32 2.25) pure
  %18 = call i64 @f28(i64 %z, i1 false) pure
  %19 = call i64 @f29(i64 %z, i1 false) pure
  %20 = call i64 @f30(i64 %z, i1 false) pure
  %21 = call i8 @f17(i8 128, i1 false) pure
  exit s0
s0: [f0 r0 a1=%3 a2=%4 a3=%5 a4=%6 a5=%7 a6=%8 a7=%9 a8=%10 a9=%11 a10=%12 a11=%13 a12=%14 a13=%15 a14=%16 a15=%17 a16=%18 a17=%19 a18=%20 a19=%21]
",
        &[
            a.as_mut_ptr() as u64,
            b.as_mut_ptr() as u64,
            0xfe,
            3,
            (-2.5f64).to_bits(),
            0x0f00,
            u64::from((-1.5f32).to_bits()),
            (-6i64) as u64,
        ],
    );
    assert_eq!(b, [1, 2, 3, 4, 0, 0, 9, 9]);
    assert_eq!(a, [2, 3, 4, 4, 5, 6, 7, 8]);
    assert_eq!(
        v,
        vec![
            0xfe,
            3,
            3,
            0xfe,
            2,
            2.5f64.to_bits(),
            2.0f64.to_bits(),
            4,
            4,
            8,
            16,
            16,
            77,
            u64::from(1.5f32.to_bits()),
            u64::from(1.5f32.to_bits()),
            6,
            0,
            1,
            0x80,
        ]
    );
    // Others are unsupported (the caller falls back to LLVM).
    let t = parse(
        "trace(%v: ptr)
  %1 = call i32 @f31(i32 1, i32 2, i32 3) pure
  exit s0
s0: [f0 r0 a1=%1]
",
    )
    .unwrap();
    assert!(matches!(
        compile(&t, &plan(&t), &Syms),
        Err(Error::Unsupported(_))
    ));
    // An unknown symbol is the symbol table's error.
    let t = parse(
        "trace(%v: ptr)
  %1 = call i32 @f99() pure
  exit s0
s0: [f0 r0 a1=%1]
",
    )
    .unwrap();
    assert!(matches!(
        compile(&t, &plan(&t), &Syms),
        Err(Error::Symbol(_))
    ));
}

const GUARDS: &str = "loop(%v: ptr, %n: i64, %k: i64)
  %1 = add i64 %n, 1
  %2 = icmp ult i64 %1, 3
  guard true %2, s0
  %3 = icmp ne i64 %1, %k
  guard true %3, s1
  %4 = icmp eq i64 %1, 100
  guard false %4, s1
  jump %v, %1, %k
s0: [f0 r0 a1=%1 a2=i64 9]
s1: [f0 r1 a1=%n a2=%1]
";

#[test]
fn guards_sharing_a_snapshot() {
    let t = parse(GUARDS).unwrap();
    let p = plan(&t);
    let mut buf = vec![0u64; 64];
    // Guard 1 (s1) fails at %1 == 2 (iteration 1).
    let run = run_plan(&t, &p, &[0, 2], 100, &mut buf);
    assert_eq!(run.r, EXIT_RETURN as i64);
    assert_eq!(exits(), vec![1]);
    assert_eq!(exit_bufs()[0][..2], [1, 2]);
    assert_eq!(run.counter, 2);
    // Guard 2 (s1 too) fails at %1 == 100.
    let run = run_plan(&t, &p, &[99, 7], 100, &mut buf);
    assert_eq!(run.r, EXIT_RETURN as i64);
    assert_eq!(exits(), vec![0]);
    let _ = run;
    let t2 = parse(&GUARDS.replace("icmp ult i64 %1, 3", "icmp ult i64 %1, 1000")).unwrap();
    let run = run_plan(&t2, &plan(&t2), &[99, 7], 100, &mut buf);
    assert_eq!(run.r, EXIT_RETURN as i64);
    assert_eq!(exits(), vec![2]);
    assert_eq!(exit_bufs()[0][..2], [99, 100]);
    // Guard 0 (s0): its own values.
    let run = run_plan(&t2, &plan(&t2), &[990, 7], 100, &mut buf);
    assert_eq!(exits(), vec![0]);
    assert_eq!(run.r, EXIT_RETURN as i64);
    let run = run_plan(&t, &p, &[5, 7], 100, &mut buf);
    assert_eq!(exits(), vec![0]);
    assert_eq!(exit_bufs()[0][..2], [6, 9]);
    assert_eq!(run.counter, 1);
}

/// A loop whose jump passes a constant that its first guard checks the
/// parameter against (yklua's code and constants pointers).
const INVARIANT_GUARD: &str = "loop(%v: ptr, %c: i64, %n: i64)
  %1 = icmp eq i64 %c, 77
  guard true %1, s0
  %2 = add i64 %n, 1
  %3 = icmp ne i64 %2, 10
  guard true %3, s1
  jump %v, 77, %2
s0: [f0 r0 a1=%c a2=%n]
s1: [f0 r1 a1=%2]
";

#[test]
fn guards_on_constants_the_jump_passes_run_once_per_entry() {
    let t = parse(INVARIANT_GUARD).unwrap();
    let mut p = plan(&t);
    p.tier_check = None;
    let mut buf = vec![0u64; 64];
    // Entered with the constant: the loop runs until %2 == 10.
    let run = run_plan(&t, &p, &[77, 0], 100, &mut buf);
    assert_eq!(run.r, EXIT_RETURN as i64);
    assert_eq!(exits(), vec![1]);
    assert_eq!(exit_bufs()[0][0], 10);
    assert_eq!(run.counter, 10);
    // Entered with another value: the guard fails before the head, which
    // has not counted a pass (it would have, were the guard in the loop).
    let run = run_plan(&t, &p, &[78, 3], 100, &mut buf);
    assert_eq!(run.r, EXIT_RETURN as i64);
    assert_eq!(exits(), vec![0]);
    assert_eq!(exit_bufs()[0][..2], [78, 3]);
    assert_eq!(run.counter, 0);
    // A re-entry (after a side trace, say) checks again: the first exit
    // re-enters with vars unchanged, so the loop goes on from %n = 3.
    exit_results(&[REENTER as i64]);
    let run = run_plan(&t, &p, &[77, 3], 100, &mut buf);
    assert_eq!(run.r, EXIT_RETURN as i64);
    assert_eq!(exits(), vec![1, 1]);
    // The same trace with the jump passing another constant keeps the
    // guard in the loop: it fails in the second pass.
    let t2 = parse(&INVARIANT_GUARD.replace("jump %v, 77, %2", "jump %v, 78, %2")).unwrap();
    let run = run_plan(&t2, &plan(&t2), &[77, 0], 100, &mut buf);
    assert_eq!(exits(), vec![0]);
    assert_eq!(run.counter, 2);
}

#[test]
fn reentry_reloads_parameters_and_reserved_slots() {
    let t = parse(GUARDS).unwrap();
    let mut p = plan(&t);
    // %k from a buffer slot, reserved into slot 10; %n carried into 11.
    p.params[2] = ParamSrc::Slot(20);
    p.reserved = vec![(2, 10)];
    p.carried = vec![(1, 11)];
    p.eager = vec![(ValId(3), 12)];
    p.exits = vec![(SnapId(0), vec![(Operand::Const(Const::int(64, 9)), 1)])];
    p.tier_check = None;
    let mut buf = vec![0u64; 64];
    buf[20] = 50;
    exit_results(&[REENTER as i64, REENTER as i64]);
    let run = run_plan(&t, &p, &[1], 100, &mut buf);
    // Each entry: %n = 1 -> %1 = 2, 3: guard 0 fails in the second pass.
    assert_eq!(run.r, EXIT_RETURN as i64);
    assert_eq!(exits(), vec![0, 0, 0]);
    assert_eq!(run.counter, 6);
    for b in exit_bufs() {
        assert_eq!(b[10], 50, "reserved slot");
        assert_eq!(b[11], 2, "carried slot: %n of the failing pass");
        assert_eq!(b[12], 3, "eager slot");
        assert_eq!(b[1], 9, "the exit's store");
    }
}

#[test]
fn tier_check() {
    let t = parse(
        "loop(%v: ptr, %n: i64, %k: i8)
  %1 = add i64 %n, 3
  %2 = add i8 %k, 1
  jump %v, %1, %2
",
    )
    .unwrap();
    let mut p = plan(&t);
    let mut buf = vec![0u64; 64];
    let code = compile(&t, &p, &Syms).unwrap();
    let run = run_plan(&t, &p, &[10, 0xff], 5, &mut buf);
    assert_eq!(run.r, RESUME as i64);
    assert_eq!(run.counter, 6);
    assert_eq!(run.vars[1], 25);
    assert_eq!(run.vars[2], 4);
    assert_eq!(checks().len(), 6);
    // The own entry address is the function's: compile the same trace again
    // and compare it with the address the check got (the code is the same
    // bytes, the offset of the entry within the mapping is 0).
    assert_eq!(code.offsets().len(), t.body.len());
    p.tier_check.as_mut().unwrap().every = 4;
    let code = compile(&t, &p, &Syms).unwrap();
    let mut vars = vec![0u64; 64];
    vars[1] = 10;
    let mut counter = 0;
    let mut info = Info {
        counter: &mut counter,
        limit: 5,
    };
    let r = run_trace(&code, vars.as_mut_ptr() as *mut u8, &mut info, &mut buf);
    assert_eq!(r, RESUME as i64);
    assert_eq!(counter, 8);
    assert_eq!(vars[1], 10 + 7 * 3);
    assert_eq!(checks(), vec![code.entry() as i64; 2]);
}

const LINEAR: &str = "trace(%v: ptr, %n: i64, %far: ptr)
  %1 = add i64 %n, 1
  %2 = icmp ult i64 %1, 3
  %3 = select %2, ptr START, %far
  %4 = icmp ne i64 %1, 10
  guard true %4, s0
  exit s1
s0: [f0 r0 a1=%1]
s1: [f0 r0 a1=%1 a2=%3]
";

fn linear_plan(t: &Trace, shape: Shape) -> Plan {
    let mut p = plan(t);
    p.shape = shape;
    // The end: vars[1] = %1 (the next entry's %n); the location is %3.
    p.end_stores = vec![(8, Operand::Val(ValId(3)))];
    p.end_loc = Some(Operand::Val(ValId(5)));
    if shape == Shape::Side {
        p.counter = None;
    }
    p
}

#[test]
fn linear_end_outcomes() {
    let t = parse(&LINEAR.replace("START", &format!("{START_LOC:#x}"))).unwrap();
    let p = linear_plan(&t, Shape::Linear);
    let mut buf = vec![0u64; 64];
    // n = 0: ends at its own location twice (re-entered, %n reloaded from
    // vars), then at `far`.
    let run = run_plan(&t, &p, &[0, 0x9000], 100, &mut buf);
    assert_eq!(run.r, 0x9000);
    assert_eq!(run.vars[1], 3);
    assert_eq!(run.counter, 3);
    // A location below jump_min: resume.
    let run = run_plan(&t, &p, &[5, 0x10], 100, &mut buf);
    assert_eq!(run.r, RESUME as i64);
    assert_eq!(run.vars[1], 6);
    // No location: resume.
    let mut p2 = p.clone();
    p2.end_loc = None;
    let run = run_plan(&t, &p2, &[0, 0x9000], 100, &mut buf);
    assert_eq!(run.r, RESUME as i64);
    assert_eq!(run.counter, 1);
    // A guard exit whose outcome is re-enter, then another.
    exit_results(&[REENTER as i64]);
    let run = run_plan(&t, &p, &[9, 0x9000], 100, &mut buf);
    assert_eq!(exits(), vec![0, 0]);
    assert_eq!(run.r, EXIT_RETURN as i64);
    assert_eq!(run.counter, 2);
}

#[test]
fn side_shape_returns_outcomes() {
    let t = parse(&LINEAR.replace("START", &format!("{START_LOC:#x}"))).unwrap();
    let p = linear_plan(&t, Shape::Side);
    let mut buf = vec![0u64; 64];
    // Its own location is re-enter, returned as it is.
    let run = run_plan(&t, &p, &[0, 0x9000], 100, &mut buf);
    assert_eq!(run.r, REENTER as i64);
    assert_eq!(run.vars[1], 1);
    assert_eq!(run.counter, 0);
    let run = run_plan(&t, &p, &[7, 0x9000], 100, &mut buf);
    assert_eq!(run.r, 0x9000);
    // A guard exit returns exit_fn's result, even re-enter.
    exit_results(&[REENTER as i64]);
    let run = run_plan(&t, &p, &[9, 0x9000], 100, &mut buf);
    assert_eq!(exits(), vec![0]);
    assert_eq!(run.r, REENTER as i64);
    // A bad plan is refused.
    let mut bad = p.clone();
    bad.counter = Some(0);
    assert!(matches!(compile(&t, &bad, &Syms), Err(Error::Plan(_))));
    let mut bad = p;
    bad.shape = Shape::Loop;
    assert!(matches!(compile(&t, &bad, &Syms), Err(Error::Plan(_))));
}

extern "C" fn fake_trace(vars: *mut u8, _info: *mut u8, _buf: *mut u64) -> i64 {
    vars as i64
}

#[test]
fn side_entry_counts_and_tiers_up() {
    #[repr(C)]
    struct Slot {
        f: usize,
        runs: u64,
    }
    let mut slot = Slot {
        f: fake_trace as *const () as usize,
        runs: 0,
    };
    let sp = &mut slot as *mut Slot as u64;
    let code = side_entry(sp, 3, 5, hook as *const () as u64).unwrap();
    // SAFETY: the stub has the trace ABI and calls `fake_trace`.
    let f: extern "C" fn(*mut u8, *mut u8, *mut u64) -> i64 =
        unsafe { std::mem::transmute(code.entry()) };
    HOOKED.with(|h| h.borrow_mut().clear());
    for (i, r) in [7i64, 8, 9, 10].iter().enumerate() {
        assert_eq!(
            f(*r as *mut u8, std::ptr::null_mut(), std::ptr::null_mut()),
            *r
        );
        // SAFETY: `slot` is live; the stub wrote it.
        assert_eq!(unsafe { std::ptr::read_volatile(&slot.runs) }, i as u64 + 1);
    }
    assert_eq!(HOOKED.with(|h| h.borrow().clone()), vec![sp]);
    // At tier_up_at with the outcome `outcome_return`: no hook.
    // SAFETY: `slot` is live; the stub reads it.
    unsafe { std::ptr::write_volatile(&mut slot.runs, 2) };
    assert_eq!(
        f(5 as *mut u8, std::ptr::null_mut(), std::ptr::null_mut()),
        5
    );
    assert_eq!(HOOKED.with(|h| h.borrow().len()), 1);
}

#[test]
fn odd_widths_and_unsupported_forms() {
    // i24 and i40 arithmetic, loads and stores work.
    let mut m = [0u8; 8];
    let v = end_values(
        "trace(%v: ptr, %p: ptr, %x: i24)
  %1 = mul i24 %x, 3
  store i24 %1, %p
  %2 = load i40 %p
  %3 = sext i24 %1 to i40
  exit s0
s0: [f0 r0 a1=%1 a2=%2 a3=%3]
",
        &[m.as_mut_ptr() as u64, 0x80_0001],
    );
    assert_eq!(v, vec![0x80_0003, 0x80_0003, 0xff_ff80_0003]);
    assert_eq!(m[..4], [3, 0, 0x80, 0]);
    // An alloca aligned beyond a page is refused.
    let t = parse(
        "trace(%v: ptr)
  %1 = alloca 8, 8192
  exit s0
s0: [f0 r0 a1=%1]
",
    )
    .unwrap();
    assert!(matches!(
        compile(&t, &plan(&t), &Syms),
        Err(Error::Unsupported(_))
    ));
}

/// Writes garbage to every caller-saved register (the generator's cache
/// registers among them), as any callee may.
extern "C" fn clobber() -> i64 {
    // SAFETY: only caller-saved registers are written, each declared
    // clobbered.
    unsafe {
        std::arch::asm!(
            "mov rsi, -1", "mov rdi, -1", "mov r8, -1", "mov r9, -1", "mov r10, -1",
            "mov r11, -1", "mov rcx, -1", "mov rdx, -1",
            "pcmpeqd xmm0, xmm0", "pcmpeqd xmm1, xmm1", "pcmpeqd xmm2, xmm2",
            "pcmpeqd xmm3, xmm3", "pcmpeqd xmm4, xmm4", "pcmpeqd xmm5, xmm5",
            "pcmpeqd xmm6, xmm6", "pcmpeqd xmm7, xmm7", "pcmpeqd xmm8, xmm8",
            "pcmpeqd xmm9, xmm9", "pcmpeqd xmm10, xmm10", "pcmpeqd xmm11, xmm11",
            "pcmpeqd xmm12, xmm12", "pcmpeqd xmm13, xmm13", "pcmpeqd xmm14, xmm14",
            "pcmpeqd xmm15, xmm15",
            out("rsi") _, out("rdi") _, out("r8") _, out("r9") _, out("r10") _,
            out("r11") _, out("rcx") _, out("rdx") _,
            out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _,
            out("xmm4") _, out("xmm5") _, out("xmm6") _, out("xmm7") _,
            out("xmm8") _, out("xmm9") _, out("xmm10") _, out("xmm11") _,
            out("xmm12") _, out("xmm13") _, out("xmm14") _, out("xmm15") _,
        );
    }
    5
}

/// Values the register cache holds before a call are read after it from
/// their homes (caller-saved registers) or from r14/r15 (callee-saved),
/// more values than the cache has registers; the same after the tier
/// check's call and across the loop's head.
#[test]
fn cached_values_survive_calls_and_the_head() {
    let t = "trace(%v: ptr, %a: i64, %x: f64, %b: i32)
  %1 = add i64 %a, 1
  %2 = add i64 %a, 2
  %3 = add i64 %a, 3
  %4 = add i64 %a, 4
  %5 = add i64 %a, 5
  %6 = add i64 %a, 6
  %7 = add i64 %a, 7
  %8 = add i64 %a, 8
  %9 = fadd f64 %x, 1.0
  %10 = fadd f64 %x, 2.0
  %11 = add i32 %b, 1
  %12 = call i64 %f() any
  %13 = add i64 %1, %2
  %14 = add i64 %13, %3
  %15 = add i64 %14, %4
  %16 = add i64 %15, %5
  %17 = add i64 %16, %6
  %18 = add i64 %17, %7
  %19 = add i64 %18, %8
  %20 = add i64 %19, %12
  %21 = fmul f64 %9, %10
  %22 = add i32 %11, %11
  %23 = call i64 %f() any
  %24 = add i64 %20, %1
  exit s0
s0: [f0 r0 a1=%20 a2=%21 a3=%22 a4=%24 a5=%8 a6=%9]
"
    .replace("%f", &format!("{:#x}", clobber as *const () as u64));
    let v = end_values(&t, &[10, 0.5f64.to_bits(), 0xffff_fff0]);
    assert_eq!(v[0], 8 * 10 + 36 + 5);
    assert_eq!(f64::from_bits(v[1]), 1.5 * 2.5);
    assert_eq!(v[2], 0xffff_ffe2);
    assert_eq!(v[3], 8 * 10 + 36 + 5 + 11);
    assert_eq!(v[4], 18);
    assert_eq!(f64::from_bits(v[5]), 1.5);
    // A loop: values cached in one pass are not trusted in the next, and a
    // parameter's register is stale after the jump's move.
    let t = parse(
        "loop(%v: ptr, %n: i64, %m: i64)
  %1 = add i64 %n, 1
  %2 = add i64 %m, %1
  %3 = mul i64 %2, 3
  jump %v, %m, %3
",
    )
    .unwrap();
    let mut buf = vec![0u64; 64];
    let run = run_plan(&t, &plan(&t), &[1, 2], 4, &mut buf);
    let (mut n, mut m) = (1u64, 2u64);
    for _ in 0..4 {
        (n, m) = (m, (m + n + 1) * 3);
    }
    assert_eq!(run.r, RESUME as i64);
    assert_eq!((run.vars[1], run.vars[2]), (n, m));
}

/// Results are computed in their cache registers: with every register
/// taken, an operation whose right operand dies there gets that operand's
/// register while its left operand lives on in another (so it can't be
/// copied there first), for floats and integers.
#[test]
fn result_in_the_right_operands_register() {
    let t = "trace(%v: ptr, %x: f64, %n: i64)
  %1 = fadd f64 %x, 1.0
  %2 = fadd f64 %x, 2.0
  %3 = fadd f64 %x, 3.0
  %4 = fadd f64 %x, 4.0
  %5 = fadd f64 %x, 5.0
  %6 = fadd f64 %x, 6.0
  %7 = fadd f64 %x, 7.0
  %8 = fadd f64 %x, 8.0
  %9 = fsub f64 %1, %8
  %10 = fadd f64 %2, %3
  %11 = fadd f64 %4, %5
  %12 = fadd f64 %6, %7
  %13 = fadd f64 %10, %11
  %14 = fadd f64 %12, %1
  %15 = add i64 %n, 1
  %16 = add i64 %n, 2
  %17 = add i64 %n, 3
  %18 = add i64 %n, 4
  %19 = add i64 %n, 5
  %20 = add i64 %n, 6
  %21 = add i64 %n, 7
  %22 = sub i64 %15, %21
  %23 = add i64 %16, %17
  %24 = add i64 %18, %19
  %25 = add i64 %20, %15
  exit s0
s0: [f0 r0 a1=%9 a2=%13 a3=%14 a4=%22 a5=%23 a6=%24 a7=%25]
";
    let v = end_values(t, &[0.5f64.to_bits(), 10]);
    assert_eq!(f64::from_bits(v[0]), 1.5 - 8.5);
    assert_eq!(f64::from_bits(v[1]), 2.5 + 3.5 + 4.5 + 5.5);
    assert_eq!(f64::from_bits(v[2]), 6.5 + 7.5 + 1.5);
    assert_eq!(v[3], (11i64 - 17) as u64);
    assert_eq!(v[4], 12 + 13);
    assert_eq!(v[5], 14 + 15);
    assert_eq!(v[6], 16 + 11);
}

/// A compare right before the guard or select using it only (its result
/// only in the flags: `jcc`, `cmov`), at every width, with registers,
/// homes and immediates, for every predicate; floats with NaN.
#[test]
fn compares_fused_with_guards_and_selects() {
    let code = |src: &str| -> Code {
        let t = parse(src).unwrap_or_else(|e| panic!("{e:?}\n{src}"));
        t.verify().unwrap();
        compile(&t, &plan(&t), &Syms).unwrap()
    };
    let run_code = |code: &Code, a: u64, b: u64| -> (bool, u64) {
        let mut vars = vec![0u64; 64];
        vars[1] = a;
        vars[2] = b;
        let mut counter = 0;
        let mut info = Info {
            counter: &mut counter,
            limit: 100,
        };
        let mut buf = vec![0u64; 64];
        let r = run_trace(code, vars.as_mut_ptr() as *mut u8, &mut info, &mut buf);
        if r == RESUME as i64 {
            (true, vars[32])
        } else {
            assert_eq!(r, EXIT_RETURN as i64);
            (false, exit_bufs()[0][0])
        }
    };
    for w in [1u32, 7, 8, 16, 32, 33, 64] {
        let vals = edge_values(w);
        for pred in IPred::ALL {
            let p = pred.name();
            for (rhs, consts) in [("%b", false), ("CONST", true)] {
                for expect in [true, false] {
                    let src = format!(
                        "trace(%v: ptr, %a: i{w}, %b: i{w})
  %1 = icmp {p} i{w} %a, {rhs}
  %2 = select %1, i64 1, 2
  %3 = icmp {p} i{w} %a, {rhs}
  guard {expect} %3, s0
  exit s0
s0: [f0 r0 a1=%2]
"
                    );
                    let shared = (!consts).then(|| code(&src));
                    for &b in vals.iter().step_by(if consts { 3 } else { 1 }) {
                        let own = consts.then(|| code(&src.replace("CONST", &b.to_string())));
                        let c0 = shared.as_ref().or(own.as_ref()).unwrap();
                        for &a in &vals {
                            let c = tir::sem::icmp(pred, w, a, b);
                            let want = (c == expect, if c { 1 } else { 2 });
                            assert_eq!(run_code(c0, a, b), want, "{src} {a:#x} {b:#x}");
                        }
                    }
                }
            }
        }
    }
    for ty in [Ty::F64, Ty::F32] {
        let bits = |x: f64| match ty {
            Ty::F32 => u64::from((x as f32).to_bits()),
            _ => x.to_bits(),
        };
        let vals: Vec<u64> = [0.0, -1.5, 2.0, f64::NAN, f64::INFINITY]
            .into_iter()
            .map(bits)
            .collect();
        for pred in FPred::ALL {
            let p = pred.name();
            let src = format!(
                "trace(%v: ptr, %a: {ty}, %b: {ty})
  %4 = fadd {ty} %a, %b
  %1 = fcmp {p} {ty} %a, %b
  %2 = select %1, i64 1, 2
  %3 = fcmp {p} {ty} %a, %b
  guard true %3, s0
  exit s0
s0: [f0 r0 a1=%2 a2=%4]
"
            );
            let c0 = code(&src);
            for &a in &vals {
                for &b in &vals {
                    let c = tir::sem::fcmp(pred, ty, a, b);
                    let want = (c, if c { 1 } else { 2 });
                    assert_eq!(run_code(&c0, a, b), want, "{src} {a:#x} {b:#x}");
                }
            }
        }
    }
}
