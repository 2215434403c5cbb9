//! Unit tests of the lowering's helpers that need no recording: the LLVM
//! operation each trace-IR operator becomes must compute what the trace IR's
//! semantics (`tir::sem`, what its folder and evaluator use) say it computes.
//! LLVM's IR builder folds an operation on constants, so each mapping is
//! checked by folding it on sample values and comparing the bits with
//! `tir::sem`'s.

use super::layout::const_bits;
use super::*;
use llvm_sys::{LLVMAtomicOrdering, LLVMOpcode, LLVMTypeKind};
use rustc_hash::FxHashSet as HashSet;
use tir::sem;
use tir::{BinOp, CastOp, FPred, IPred};

/// A module with one function and a builder positioned in its only block, so
/// that an operation the builder does not fold would still be well placed
/// (and then fail the test as a non-constant).
struct Fixture {
    m: Module,
    b: llvm::Builder,
}

impl Fixture {
    fn new() -> Fixture {
        let m = Module::parse_ir("define void @f() {\n  ret void\n}\n").unwrap();
        let b = m.builder();
        let f = m.function("f").unwrap();
        // SAFETY: `f` is a live function of `m` with one block, whose
        // terminator the builder is placed before.
        unsafe {
            let bb = LLVMGetFirstBasicBlock(f);
            LLVMPositionBuilderBefore(b.0, LLVMGetBasicBlockTerminator(bb));
        }
        Fixture { m, b }
    }

    fn llty(&self, ty: Ty) -> LLVMTypeRef {
        // SAFETY: types of the fixture's live context.
        unsafe {
            match ty {
                Ty::Int(w) => LLVMIntTypeInContext(self.m.ctx, u32::from(w)),
                Ty::F32 => LLVMFloatTypeInContext(self.m.ctx),
                Ty::F64 => LLVMDoubleTypeInContext(self.m.ctx),
                Ty::Ptr => self.m.ptr_ty(),
                Ty::Void => LLVMVoidTypeInContext(self.m.ctx),
            }
        }
    }

    /// The constant of type `ty` with bits `v` (as `tir::sem` holds values).
    fn konst(&self, ty: Ty, v: u64) -> LLVMValueRef {
        // SAFETY: constants of the fixture's live context.
        unsafe {
            match ty {
                Ty::Int(_) => LLVMConstInt(self.llty(ty), v, 0),
                Ty::F32 => LLVMConstReal(self.llty(ty), f64::from(f32::from_bits(v as u32))),
                Ty::F64 => LLVMConstReal(self.llty(ty), f64::from_bits(v)),
                Ty::Ptr => {
                    LLVMConstIntToPtr(LLVMConstInt(self.llty(Ty::I64), v, 0), self.m.ptr_ty())
                }
                Ty::Void => unreachable!(),
            }
        }
    }

    /// The bits of folded constant `c` of type `ty`; panics if `c` was not
    /// folded to a plain constant.
    fn bits(&self, c: LLVMValueRef, ty: Ty) -> u64 {
        // SAFETY: `c` is a live value of the fixture's module.
        unsafe {
            match ty {
                Ty::Int(w) => {
                    assert!(!LLVMIsAConstantInt(c).is_null(), "not folded: {}", text(c));
                    LLVMConstIntGetZExtValue(c) & tir::ir::mask(u32::from(w))
                }
                Ty::F32 | Ty::F64 => {
                    assert!(!LLVMIsAConstantFP(c).is_null(), "not folded: {}", text(c));
                    let mut loses = 0;
                    let d = LLVMConstRealGetDouble(c, &mut loses);
                    if ty == Ty::F32 {
                        u64::from((d as f32).to_bits())
                    } else {
                        d.to_bits()
                    }
                }
                Ty::Ptr | Ty::Void => unreachable!(),
            }
        }
    }
}

/// `v`'s text, for failure messages.
fn text(v: LLVMValueRef) -> String {
    // SAFETY: `v` is live; the message is copied and freed.
    unsafe {
        let p = LLVMPrintValueToString(v);
        let s = std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned();
        LLVMDisposeMessage(p);
        s
    }
}

/// Floats compare as bits, except that any NaN equals any NaN (neither
/// LLVM nor Rust specifies NaN payloads).
fn same(ty: Ty, a: u64, b: u64) -> bool {
    let nan = |v: u64| match ty {
        Ty::F32 => f32::from_bits(v as u32).is_nan(),
        Ty::F64 => f64::from_bits(v).is_nan(),
        _ => false,
    };
    a == b || (nan(a) && nan(b))
}

const INTS: [u64; 8] = [0, 1, 2, 3, 7, 0x80, 0xff, u64::MAX];
const F64S: [f64; 8] = [0.0, -0.0, 1.5, -2.25, 3.0, 1e300, f64::INFINITY, f64::NAN];

fn float_bits(ty: Ty) -> Vec<u64> {
    F64S.iter()
        .map(|&x| match ty {
            Ty::F32 => u64::from((x as f32).to_bits()),
            _ => x.to_bits(),
        })
        .collect()
}

#[test]
fn binops_compute_the_trace_irs_semantics() {
    let fx = Fixture::new();
    let mut checked = 0;
    for op in BinOp::ALL {
        let tys: &[Ty] = if op.is_float() {
            &[Ty::F32, Ty::F64]
        } else {
            &[Ty::I8, Ty::I32, Ty::I64]
        };
        for &ty in tys {
            let vals: Vec<u64> = if ty.is_float() {
                float_bits(ty)
            } else {
                INTS.iter().map(|&v| v & tir::ir::mask(ty.bits())).collect()
            };
            for &a in &vals {
                for &b in &vals {
                    // LLVM folds undefined cases to poison: nothing to compare.
                    let Ok(want) = sem::bin(op, ty, a, b) else {
                        continue;
                    };
                    // SAFETY: constants of the fixture's context; the builder
                    // is positioned.
                    let r = unsafe {
                        LLVMBuildBinOp(
                            fx.b.0,
                            llvm_bin(op),
                            fx.konst(ty, a),
                            fx.konst(ty, b),
                            c"".as_ptr(),
                        )
                    };
                    let got = fx.bits(r, ty);
                    assert!(
                        same(ty, got, want),
                        "{op:?} {ty} {a:#x} {b:#x}: LLVM {got:#x}, trace IR {want:#x}"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 1000, "only {checked} cases checked");
}

#[test]
fn comparisons_compute_the_trace_irs_semantics() {
    let fx = Fixture::new();
    for pred in IPred::ALL {
        for ty in [Ty::I8, Ty::I64] {
            for &a in &INTS {
                for &b in &INTS {
                    let (a, b) = (a & tir::ir::mask(ty.bits()), b & tir::ir::mask(ty.bits()));
                    // SAFETY: as above.
                    let r = unsafe {
                        LLVMBuildICmp(
                            fx.b.0,
                            llvm_ipred(pred),
                            fx.konst(ty, a),
                            fx.konst(ty, b),
                            c"".as_ptr(),
                        )
                    };
                    let want = sem::icmp(pred, ty.bits(), a, b);
                    assert_eq!(
                        fx.bits(r, Ty::I1) == 1,
                        want,
                        "icmp {pred:?} {ty} {a:#x} {b:#x}"
                    );
                }
            }
        }
    }
    for pred in FPred::ALL {
        for ty in [Ty::F32, Ty::F64] {
            let vals = float_bits(ty);
            for &a in &vals {
                for &b in &vals {
                    // SAFETY: as above.
                    let r = unsafe {
                        LLVMBuildFCmp(
                            fx.b.0,
                            llvm_fpred(pred),
                            fx.konst(ty, a),
                            fx.konst(ty, b),
                            c"".as_ptr(),
                        )
                    };
                    let want = sem::fcmp(pred, ty, a, b);
                    assert_eq!(
                        fx.bits(r, Ty::I1) == 1,
                        want,
                        "fcmp {pred:?} {ty} {a:#x} {b:#x}"
                    );
                }
            }
        }
    }
}

#[test]
fn casts_compute_the_trace_irs_semantics() {
    let fx = Fixture::new();
    let cast = |op: CastOp, v: LLVMValueRef, to: Ty| -> LLVMValueRef {
        // SAFETY: as above.
        unsafe { LLVMBuildCast(fx.b.0, llvm_cast(op), v, fx.llty(to), c"".as_ptr()) }
    };
    // Each cast between scalar types, on sample values that are defined.
    let cases: [(CastOp, Ty, Ty); 10] = [
        (CastOp::ZExt, Ty::I8, Ty::I64),
        (CastOp::SExt, Ty::I8, Ty::I64),
        (CastOp::Trunc, Ty::I64, Ty::I8),
        (CastOp::BitCast, Ty::I64, Ty::F64),
        (CastOp::FPToSI, Ty::F64, Ty::I32),
        (CastOp::FPToUI, Ty::F64, Ty::I32),
        (CastOp::SIToFP, Ty::I32, Ty::F64),
        (CastOp::UIToFP, Ty::I32, Ty::F64),
        (CastOp::FPExt, Ty::F32, Ty::F64),
        (CastOp::FPTrunc, Ty::F64, Ty::F32),
    ];
    for (op, from, to) in cases {
        let vals = if from.is_float() {
            float_bits(from)
        } else {
            INTS.iter()
                .map(|&v| v & tir::ir::mask(from.bits()))
                .collect()
        };
        for v in vals {
            let Ok(want) = sem::cast(op, from, to, v) else {
                continue;
            };
            let got = fx.bits(cast(op, fx.konst(from, v), to), to);
            assert!(
                same(to, got, want),
                "{op:?} {from} {v:#x} to {to}: LLVM {got:#x}, trace IR {want:#x}"
            );
        }
    }
    // Pointers: without a data layout LLVM keeps a pointer made from an int,
    // and an int made from it, as constant expressions of the cast: check
    // those are the casts asked for, of the right operand and type.
    for v in [0x1000u64, u64::MAX] {
        let i = fx.konst(Ty::I64, v);
        let p = cast(CastOp::IntToPtr, i, Ty::Ptr);
        let back = cast(CastOp::PtrToInt, p, Ty::I64);
        // SAFETY: `p` and `back` are live constants.
        unsafe {
            assert_eq!(
                LLVMGetTypeKind(LLVMTypeOf(p)),
                LLVMTypeKind::LLVMPointerTypeKind
            );
            assert_eq!(
                LLVMGetConstOpcode(p),
                LLVMOpcode::LLVMIntToPtr,
                "{}",
                text(p)
            );
            assert_eq!(LLVMGetOperand(p, 0), i);
            assert_eq!(
                LLVMGetConstOpcode(back),
                LLVMOpcode::LLVMPtrToInt,
                "{}",
                text(back)
            );
            assert_eq!(LLVMGetOperand(back, 0), p);
            assert_eq!(LLVMTypeOf(back), fx.llty(Ty::I64));
        }
    }
    // Every cast operator is covered.
    let covered: HashSet<CastOp> = cases
        .iter()
        .map(|c| c.0)
        .chain([CastOp::IntToPtr, CastOp::PtrToInt])
        .collect();
    assert_eq!(covered.len(), CastOp::ALL.len());
}

#[test]
fn const_bits_are_what_a_guard_holds() {
    assert_eq!(const_bits(Const::int(8, 0x1ff)), Some(0xff));
    assert_eq!(
        const_bits(Const::F32(1.5f32.to_bits())),
        Some(u64::from(1.5f32.to_bits()))
    );
    assert_eq!(
        const_bits(Const::F64(2.5f64.to_bits())),
        Some(2.5f64.to_bits())
    );
    assert_eq!(const_bits(Const::Ptr(0x1000)), Some(0x1000));
    // A symbol's address is known only once the trace is linked.
    assert_eq!(const_bits(Const::Sym(Sym::Func(3))), None);
    assert_eq!(const_bits(Const::Sym(Sym::Global(0))), None);
}

#[test]
fn copied_attributes_keep_the_calls_abi() {
    let m = Module::parse_ir(
        "define zeroext i8 @aot(i8 signext %a, ptr nocapture %p) nounwind {\n  ret i8 %a\n}\n\
         declare i8 @decl(i8, ptr)\n",
    )
    .unwrap();
    let (from, to) = (m.function("aot").unwrap(), m.function("decl").unwrap());
    copy_attributes(from, to);
    let t = m.to_text();
    let decl = t.lines().find(|l| l.starts_with("declare")).unwrap();
    assert!(decl.contains("zeroext i8 @decl(i8 signext, ptr"), "{decl}");
    assert!(
        decl.contains("captures(none)") || decl.contains("nocapture"),
        "{decl}"
    );
    // The function attributes (nounwind) come along as an attribute group.
    let group = decl.rsplit(' ').next().unwrap();
    assert!(group.starts_with('#'), "{decl}");
    assert!(
        t.lines()
            .any(|l| l.starts_with(&format!("attributes {group} = {{ nounwind"))),
        "{t}"
    );
}

#[test]
fn counter_accesses_are_monotonic_and_aligned() {
    let fx = Fixture::new();
    // SAFETY: a load from a constant address, built in the fixture's block.
    let ld = unsafe {
        LLVMBuildLoad2(
            fx.b.0,
            fx.llty(Ty::I64),
            fx.konst(Ty::Ptr, 0x1000),
            c"".as_ptr(),
        )
    };
    monotonic(ld);
    // SAFETY: `ld` is a live load.
    unsafe {
        assert_eq!(
            LLVMGetOrdering(ld),
            LLVMAtomicOrdering::LLVMAtomicOrderingMonotonic
        );
        assert_eq!(LLVMGetAlignment(ld), 8);
    }
}

/// The direct jump (`lower/direct.rs`) on a trace function of the real
/// signature: the module verifies (LLVM checks `musttail`'s rules: same
/// prototype, call right before the `ret` of its value), and the code reads
/// the location's word with acquire, checks the runtime's words at their
/// addresses, counts the jump atomically and enters by a tail call, only
/// when the outcome is a jump and the entry count is not a multiple of
/// `RENEW_EVERY`.
#[test]
fn direct_jump_is_a_checked_tail_call() {
    let m = Module::parse_ir(
        "%vars = type { i64 }\n\
         define i64 @trace(ptr %vars, ptr %info, ptr %buf) {\n  ret i64 0\n}\n\
         declare i64 @exit(ptr, i64, ptr, ptr)\n\
         @v = external global %vars\n",
    )
    .unwrap();
    let f = m.function("trace").unwrap();
    // SAFETY: building into the live module's function: its one block is
    // emptied and rebuilt.
    unsafe {
        let old = LLVMGetFirstBasicBlock(f);
        LLVMDeleteBasicBlock(old);
        let vars_ty = LLVMGlobalGetValueType(LLVMGetNamedGlobal(m.m, c"v".as_ptr()));
        let cx = LowerCx {
            t: &m,
            trace_fn: f,
            vars_ty,
            exit_fn: m.function("exit").unwrap(),
            start_loc: 0x10000,
            funcs: &[],
            globals: &[],
            resume_info: &[],
            line0: std::ptr::null_mut(),
            direct: None,
            // Only `lower` reads it (for the native plan's field offsets).
            td: std::ptr::null_mut(),
        };
        let l = L {
            cx: &cx,
            b: m.builder(),
            vals: Vec::new(),
            syms: HashMap::default(),
            used_funcs: Vec::new(),
            used_globals: Vec::new(),
            vars: LLVMGetParam(f, 0),
            info: LLVMGetParam(f, 1),
            buf: LLVMGetParam(f, 2),
        };
        let new_block = |name: &str| {
            let n = CString::new(name).unwrap();
            LLVMAppendBasicBlockInContext(m.ctx, f, n.as_ptr())
        };
        let entry = new_block("entry");
        LLVMPositionBuilderAtEnd(l.b.0, entry);
        let i64t = m.int_ty(64);
        // The outcome and the entry count: loaded, so nothing folds.
        let r = LLVMBuildLoad2(l.b.0, i64t, l.buf, c"r".as_ptr());
        let n = LLVMBuildLoad2(l.b.0, i64t, l.vars, c"n".as_ptr());
        let d = crate::jit::builder::DirectJump {
            generation: 0x1000,
            enabled: 0x2000,
            recording: 0x4000,
            counter: 0x3000,
            log_entries: true,
        };
        l.direct_jump(d, r, n, &new_block);
        LLVMBuildRet(l.b.0, r);
    }
    m.verify().unwrap();
    let t = m.to_text();
    for want in [
        "musttail call i64 %",
        "icmp uge i64 %r, 4096",
        &format!("and i64 %n, {}", direct::RENEW_EVERY - 1),
        "load atomic i64, ptr %",
        "acquire, align 8",
        "inttoptr (i64 4096 to ptr) acquire",
        "load atomic i8, ptr inttoptr (i64 8192 to ptr) monotonic",
        "load atomic i64, ptr inttoptr (i64 16384 to ptr) acquire",
        "atomicrmw add ptr inttoptr (i64 12288 to ptr), i64 1 monotonic",
    ] {
        assert!(t.contains(want), "no {want:?} in:\n{t}");
    }
    // With entries logged, the log hook is called before the tail call.
    let log = crate::deopt::log_direct_entry as *const () as usize;
    let hook = t.find(&format!("inttoptr (i64 {log} to ptr)(ptr %info"));
    let tail = t.find("musttail");
    assert!(matches!((hook, tail), (Some(h), Some(c)) if h < c), "{t}");
}
