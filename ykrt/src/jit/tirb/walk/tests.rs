//! Unit tests of the walk's stages without a recorder: each stage's helpers
//! on their own (the variables map, resume interning, the translation
//! tables), and whole walks of small hand-written interpreter functions
//! (shaped as yk-ld leaves them: the live values stored into `vars` before
//! `__ykrt_control_point` and reloaded in `yk_cp_resume`) along synthetic
//! recordings.

use super::snapshot::Resumes;
use super::translate::{bin_op, cast_op, const_global_base, fpred, gep_info, ipred};
use super::vars::{Read, Vars};
use super::*;
use crate::abort::AbortKind;
use crate::jit::builder::{find_cp, Analyses};
use llvm_sys::{LLVMIntPredicate, LLVMRealPredicate};
use tir::opt::forward::NoMem;
use tir::{BinOp, CastOp, Const, End, FPred, IPred, SnapId, Sym, ValId};
use yk_llvm::{blocks, instrs, Module};

const HEAD: &str = r#"
target datalayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-i128:128-f80:128-n8:16:32:64-S128"
target triple = "x86_64-pc-linux-gnu"

%V = type { ptr, ptr, i64, i64 }

declare i64 @__ykrt_control_point(ptr, ptr, ptr, i64)
declare i64 @__yk_promote_u64(i64)
"#;

/// An interpreter function `@interp` whose loop keeps `%n` and `%k` (and
/// the arguments `%mt` and `%loc`) in `vars` fields 2, 3 (0, 1); `body`
/// follows the reloads in block `resume` (where `%n1` and `%k1` are the
/// fields' values), must define `%n2` and `%k2` and reach `cont` (which
/// closes the loop) or `exit`. `extra` holds other definitions.
fn module(body: &str, extra: &str) -> String {
    format!(
        r#"{HEAD}
{extra}

define void @interp(ptr %mt, ptr %loc, i64 %n0) {{
entry:
  %vars = alloca %V
  br label %cp
cp:
  %n = phi i64 [ %n0, %entry ], [ %n2, %cont ]
  %k = phi i64 [ 7, %entry ], [ %k2, %cont ]
  %f0 = getelementptr inbounds %V, ptr %vars, i32 0, i32 0
  store ptr %mt, ptr %f0
  %f1 = getelementptr inbounds %V, ptr %vars, i32 0, i32 1
  store ptr %loc, ptr %f1
  %f2 = getelementptr inbounds %V, ptr %vars, i32 0, i32 2
  store i64 %n, ptr %f2
  %f3 = getelementptr inbounds %V, ptr %vars, i32 0, i32 3
  store i64 %k, ptr %f3
  %r = call i64 @__ykrt_control_point(ptr %mt, ptr %loc, ptr %vars, i64 0)
  %c = icmp eq i64 %r, 0
  br i1 %c, label %resume, label %ret
resume:
  %n1 = load i64, ptr %f2
  %k1 = load i64, ptr %f3
{body}
cont:
  br label %cp
exit:
  ret void
ret:
  ret void
}}
"#
    )
}

/// A parsed module and what the walk needs of it.
struct Fx {
    m: Module,
    idx: AotIndex,
    an: Analyses,
    funcs: Vec<LLVMValueRef>,
    func_idx: rustc_hash::FxHashMap<LLVMValueRef, usize>,
    global_idx: rustc_hash::FxHashMap<LLVMValueRef, usize>,
}

impl Fx {
    fn new(ir: &str) -> Fx {
        let m = Module::parse_ir(ir).unwrap_or_else(|e| panic!("{e}\n{ir}"));
        let idx = crate::jit::aot_index::index_module(&m);
        let an = Analyses::new(&m);
        let funcs = m.functions();
        let func_idx = funcs.iter().enumerate().map(|(i, &f)| (f, i)).collect();
        let global_idx = m
            .globals()
            .iter()
            .enumerate()
            .map(|(i, &g)| (g, i))
            .collect();
        Fx {
            m,
            idx,
            an,
            funcs,
            func_idx,
            global_idx,
        }
    }

    fn fidx(&self, f: &str) -> u32 {
        self.func_idx[&self.m.function(f).unwrap()] as u32
    }

    /// `(function, block)` by names.
    fn block(&self, f: &str, b: &str) -> (u32, u32) {
        let bs = blocks(self.m.function(f).unwrap());
        let k = bs
            .iter()
            .position(|&bb| {
                // SAFETY: `bb` is a live block; its name lives as long.
                let n = unsafe { std::ffi::CStr::from_ptr(LLVMGetBasicBlockName(bb)) };
                n.to_str() == Ok(b)
            })
            .unwrap_or_else(|| panic!("no block {b} in {f}"));
        (self.fidx(f), k as u32)
    }

    /// The instruction of `f` named `name`, or (for unnamed ones) the
    /// terminator of block `name`.
    fn inst(&self, f: &str, name: &str) -> LLVMValueRef {
        let f = self.m.function(f).unwrap();
        for bb in blocks(f) {
            for i in instrs(bb) {
                if llvm::name(i) == name {
                    return i;
                }
            }
            // SAFETY: `bb` is a live block.
            let n = unsafe { std::ffi::CStr::from_ptr(LLVMGetBasicBlockName(bb)) };
            if n.to_str() == Ok(name) {
                // SAFETY: as above; every block of a parsed function has one.
                return unsafe { LLVMGetBasicBlockTerminator(bb) };
            }
        }
        panic!("no instruction {name}")
    }

    /// Walks `@interp` along `rec` (`(function, block)` names).
    fn walk(
        &mut self,
        rec: &[(&str, &str)],
        promotes: &[u64],
        linear: bool,
    ) -> Result<Walked, Abort> {
        self.walk_rec(rec, promotes, linear, false)
    }

    /// [`Fx::walk`] of a recording stopped at the length limit.
    fn walk_truncated(&mut self, rec: &[(&str, &str)]) -> Result<Walked, Abort> {
        self.walk_rec(rec, &[], true, true)
    }

    fn walk_rec(
        &mut self,
        rec: &[(&str, &str)],
        promotes: &[u64],
        linear: bool,
        truncated: bool,
    ) -> Result<Walked, Abort> {
        let blocks: Vec<(u32, u32)> = rec.iter().map(|&(f, b)| self.block(f, b)).collect();
        let cp_func = self.m.function("interp").unwrap();
        let input = WalkInput {
            blocks: &blocks,
            promotes,
            idempotents: &[],
            cp_func,
            cp_func_idx: self.fidx("interp"),
            linear,
            truncated,
            side: None,
        };
        let aot = Aot {
            idx: &self.idx,
            funcs: &self.funcs,
            func_idx: &self.func_idx,
            global_idx: &self.global_idx,
        };
        walk(aot, &mut self.an, None, &NoMem, &input)
    }
}

impl Fx {
    /// Walks `@interp` along `rec` as a loop, which must abort.
    fn abort(&mut self, rec: &[(&str, &str)], promotes: &[u64]) -> Abort {
        match self.walk(rec, promotes, false) {
            Ok(w) => panic!("walked:\n{}", tir::text::print(&w.trace)),
            Err(e) => e,
        }
    }
}

/// One iteration through `resume` and `cont`.
const ONE_ITER: &[(&str, &str)] = &[("interp", "resume"), ("interp", "cont"), ("interp", "cp")];

/// The guards of `t`: `(condition, expect, snapshot)`.
fn guards(t: &tir::Trace) -> Vec<(Operand, bool, SnapId)> {
    t.body
        .iter()
        .filter_map(|i| match *i {
            Inst::Guard { cond, expect, snap } => Some((cond, expect, snap)),
            _ => None,
        })
        .collect()
}

/// Parameter `i` of a trace.
fn param(i: usize) -> Operand {
    Operand::Val(ValId(i as u32))
}

fn jump_args(t: &tir::Trace) -> &[Operand] {
    match &t.end {
        End::Jump(args) => args,
        e => panic!("not a loop: {e:?}"),
    }
}

/// The one frame of a linear (or side) trace's end snapshot.
fn end_frame(t: &tir::Trace) -> &tir::Frame {
    let End::Exit(s) = t.end else {
        panic!("not linear: {:?}", t.end)
    };
    let fr = &t.snaps.get(s).unwrap().frames[0];
    assert_eq!(fr.resume, END_RESUME);
    fr
}

// --- The variables map (vars.rs) ---

#[test]
fn vars_read_the_last_store_then_the_parameter() {
    let mut field_param = HashMap::default();
    field_param.insert(2, 1);
    let mut v = Vars::new(field_param, false);
    assert_eq!(v.read(2), Ok(Read::Param(1)));
    let x = Operand::Const(Const::int(64, 5));
    v.store(2, x);
    assert_eq!(v.read(2), Ok(Read::Known(x)));
    // A root trace has a parameter for every field: another is a bug.
    let e = v.read(7).unwrap_err();
    assert_eq!(e.kind, AbortKind::Internal, "{e}");
    // A side trace reads such a field from memory.
    let side = Vars::new(HashMap::default(), true);
    assert_eq!(side.read(7), Ok(Read::Memory));
    assert_eq!(v.changed(), vec![(2, x)]);
    assert!(side.changed().is_empty());
}

#[test]
fn loop_args_pass_changed_fields_and_unchanged_parameters() {
    let mut field_param = HashMap::default();
    field_param.insert(0, 1);
    field_param.insert(3, 2);
    let mut v = Vars::new(field_param, false);
    let x = Operand::Const(Const::int(64, 9));
    v.store(3, x);
    let params = [ParamSrc::Vars, ParamSrc::Field(0), ParamSrc::Field(3)];
    let p = |i: usize| Operand::Const(Const::int(32, 100 + i as u64));
    assert_eq!(v.loop_args(&params, p), Ok(vec![p(0), p(1), x]));
    // A loop never has a side trace's buffer parameter.
    let e = v
        .loop_args(&[ParamSrc::Vars, ParamSrc::Slot(0)], p)
        .unwrap_err();
    assert_eq!(e.kind, AbortKind::Internal);
}

#[test]
fn params_of_root_and_side_traces() {
    let fx = Fx::new(&module(
        "  %n2 = add i64 %n1, 1\n  %k2 = add i64 %k1, 0\n  br label %cont",
        "",
    ));
    let f = fx.m.function("interp").unwrap();
    let (cp_block, cp_call) = find_cp(f).unwrap();
    // SAFETY: the control point call's operand 2 is the vars alloca.
    let aot_vars = unsafe { LLVMGetOperand(cp_call, 2) };
    let fields = vars_fields(cp_block, aot_vars);
    assert_eq!(fields.iter().map(|f| f.0).collect::<Vec<_>>(), [0, 1, 2, 3]);
    let root = vars::plan_params(f, &fields, Shape::Loop, None).unwrap();
    let all = [0, 1, 2, 3].map(ParamSrc::Field);
    assert_eq!(root.srcs[0], ParamSrc::Vars);
    assert_eq!(&root.srcs[1..], &all);
    assert_eq!(root.tys, [Ty::Ptr, Ty::Ptr, Ty::Ptr, Ty::I64, Ty::I64]);
    // The arguments are the same in every iteration: frame 0 maps them to
    // their parameters.
    let inv: Vec<(String, usize)> = root
        .invariant
        .iter()
        .map(|&(v, p)| (llvm::name(v), p))
        .collect();
    assert_eq!(inv, [("mt".to_owned(), 1), ("loc".to_owned(), 2)]);
    // A side trace gets only the invariant fields (its guard's live values
    // come from the buffer).
    let side = vars::plan_params(f, &fields, Shape::Side, Some(&Vec::new().into())).unwrap();
    assert_eq!(
        side.srcs,
        [ParamSrc::Vars, ParamSrc::Field(0), ParamSrc::Field(1)]
    );
    assert_eq!(side.field_param.len(), 2);
}

// --- Resume points (snapshot.rs) ---

#[test]
fn resume_points_are_interned() {
    let fx = Fx::new(&module(
        "  %n2 = add i64 %n1, 1\n  %k2 = add i64 %k1, 0\n  br label %cont",
        "",
    ));
    let f = fx.m.function("interp").unwrap();
    let (a, b) = (fx.inst("interp", "n2"), fx.inst("interp", "k2"));
    let r = |at, top| Resume {
        f,
        fidx: 3,
        at,
        top,
    };
    let mut rs = Resumes::default();
    assert_eq!(rs.intern(r(a, true)), 0);
    assert_eq!(rs.intern(r(b, true)), 1);
    assert_eq!(rs.intern(r(a, true)), 0, "the same point twice");
    assert_eq!(rs.intern(r(a, false)), 2, "an outer frame's is another");
    assert_eq!(rs.intern(r(b, true)), 1);
    let v = rs.into_vec();
    assert_eq!(v.len(), 3);
    assert_eq!((v[0].at, v[0].top), (a, true));
    assert_eq!((v[1].at, v[1].top), (b, true));
    assert_eq!((v[2].at, v[2].top), (a, false));
}

// --- Translation tables (translate.rs) ---

#[test]
fn llvm_operators_map_to_the_trace_irs_namesakes() {
    use llvm_sys::LLVMOpcode::*;
    let norm = |s: String| s.to_lowercase();
    for op in [
        LLVMAdd, LLVMSub, LLVMMul, LLVMUDiv, LLVMSDiv, LLVMURem, LLVMSRem, LLVMShl, LLVMLShr,
        LLVMAShr, LLVMAnd, LLVMOr, LLVMXor, LLVMFAdd, LLVMFSub, LLVMFMul, LLVMFDiv, LLVMFRem,
    ] {
        let want = norm(format!("{op:?}")).replace("llvm", "");
        assert_eq!(norm(format!("{:?}", bin_op(op))), want);
    }
    for op in [
        LLVMTrunc,
        LLVMZExt,
        LLVMSExt,
        LLVMFPToUI,
        LLVMFPToSI,
        LLVMUIToFP,
        LLVMSIToFP,
        LLVMFPTrunc,
        LLVMFPExt,
        LLVMPtrToInt,
        LLVMIntToPtr,
        LLVMBitCast,
    ] {
        let want = norm(format!("{op:?}")).replace("llvm", "");
        assert_eq!(norm(format!("{:?}", cast_op(op))), want);
    }
    use LLVMIntPredicate::*;
    for p in [
        LLVMIntEQ, LLVMIntNE, LLVMIntUGT, LLVMIntUGE, LLVMIntULT, LLVMIntULE, LLVMIntSGT,
        LLVMIntSGE, LLVMIntSLT, LLVMIntSLE,
    ] {
        let want = norm(format!("{p:?}")).replace("llvmint", "");
        assert_eq!(norm(format!("{:?}", ipred(p))), want);
    }
    use LLVMRealPredicate::*;
    for p in [
        LLVMRealOEQ,
        LLVMRealOGT,
        LLVMRealOGE,
        LLVMRealOLT,
        LLVMRealOLE,
        LLVMRealONE,
        LLVMRealORD,
        LLVMRealUNO,
        LLVMRealUEQ,
        LLVMRealUGT,
        LLVMRealUGE,
        LLVMRealULT,
        LLVMRealULE,
        LLVMRealUNE,
    ] {
        let want = norm(format!("{p:?}")).replace("llvmreal", "");
        assert_eq!(norm(format!("{:?}", fpred(p))), want);
    }
    assert_eq!(bin_op(LLVMFRem), BinOp::FRem);
    assert_eq!(cast_op(LLVMBitCast), CastOp::BitCast);
    assert_eq!(ipred(LLVMIntSLE), IPred::Sle);
    assert_eq!(fpred(LLVMRealUNO), FPred::Uno);
}

#[test]
fn types_and_constants() {
    let fx = Fx::new(HEAD);
    // SAFETY: types of the fixture's live context.
    let (i1, i64t, i128t, f32t, f64t, vec) = unsafe {
        let c = fx.m.ctx;
        (
            LLVMInt1TypeInContext(c),
            LLVMInt64TypeInContext(c),
            LLVMIntTypeInContext(c, 128),
            LLVMFloatTypeInContext(c),
            LLVMDoubleTypeInContext(c),
            LLVMVectorType(LLVMInt32TypeInContext(c), 4),
        )
    };
    assert_eq!(ty_of(i1), Ok(Ty::I1));
    assert_eq!(ty_of(i64t), Ok(Ty::I64));
    assert_eq!(ty_of(f32t), Ok(Ty::F32));
    assert_eq!(ty_of(f64t), Ok(Ty::F64));
    assert_eq!(ty_of(fx.m.ptr_ty()), Ok(Ty::Ptr));
    assert_eq!(ty_of(fx.m.void_ty()), Ok(Ty::Void));
    for t in [i128t, vec] {
        let e = ty_of(t).unwrap_err();
        assert_eq!(e.kind, AbortKind::Unsupported);
        assert!(e.detail.starts_with("no trace-IR form for "), "{e}");
    }
    assert_eq!(
        const_from_bits(Ty::Int(8), 0x1ff),
        Ok(Operand::Const(Const::int(8, 0xff)))
    );
    assert_eq!(
        const_from_bits(Ty::F32, 0x3f80_0000),
        Ok(Operand::Const(Const::F32(0x3f80_0000)))
    );
    assert_eq!(
        const_from_bits(Ty::Void, 0).unwrap_err().kind,
        AbortKind::Internal
    );
}

#[test]
fn constant_memory_is_only_a_defined_constant_global() {
    let ir = format!(
        r#"{HEAD}
@k = constant [4 x i64] [i64 1, i64 2, i64 3, i64 4]
@v = global [4 x i64] zeroinitializer
@e = external constant [4 x i64]
@t = thread_local constant [4 x i64] zeroinitializer

define i64 @f(i64 %i) {{
entry:
  %a = load i64, ptr @k
  %p = getelementptr inbounds [4 x i64], ptr @k, i64 0, i64 %i
  %b = load i64, ptr %p
  %c = load i64, ptr getelementptr inbounds ([4 x i64], ptr @k, i64 0, i64 2)
  %d = load i64, ptr @v
  %e = load i64, ptr @e
  %t = load i64, ptr @t
  %s = add i64 %a, %b
  ret i64 %s
}}
"#
    );
    let fx = Fx::new(&ir);
    // SAFETY: each is a load; operand 0 is its pointer.
    let ptr = |n: &str| unsafe { LLVMGetOperand(fx.inst("f", n), 0) };
    assert!(const_global_base(ptr("a")));
    assert!(const_global_base(ptr("b")), "through a getelementptr");
    assert!(const_global_base(ptr("c")), "through a constant expression");
    assert!(!const_global_base(ptr("d")), "a variable");
    assert!(!const_global_base(ptr("e")), "no definition");
    assert!(!const_global_base(ptr("t")), "thread-local");
}

#[test]
fn call_effects_come_from_the_memory_attribute() {
    let ir = format!(
        r#"{HEAD}
declare i64 @pure(i64) memory(none)
declare i64 @reads(ptr) memory(read)
declare void @writes(ptr) memory(argmem: readwrite)
declare void @any(ptr)
"#
    );
    let fx = Fx::new(&ir);
    let e = |n: &str| frames::effects_of(fx.m.function(n).unwrap());
    assert_eq!(e("pure"), tir::Effects::Pure);
    assert_eq!(e("reads"), tir::Effects::ReadOnly);
    assert_eq!(e("writes"), tir::Effects::Any);
    assert_eq!(e("any"), tir::Effects::Any);
}

// --- Whole walks ---

#[test]
fn a_loop_keeps_its_fields_in_parameters() {
    let body = "  %n2 = add nsw i64 %n1, 1\n  %k2 = add i64 %k1, 0\n  %done = icmp sgt i64 %n2, 1000\n  br i1 %done, label %exit, label %cont";
    let mut fx = Fx::new(&module(body, ""));
    let w = fx.walk(ONE_ITER, &[], false).unwrap();
    assert_eq!(w.shape, Shape::Loop);
    assert_eq!(w.params.len(), 5);
    let t = &w.trace;
    let p = param;
    // `vars`, the two arguments and `k` go round unchanged; `n` is `n + 1`.
    let args = jump_args(t);
    assert_eq!(
        [args[0], args[1], args[2], args[4]],
        [p(0), p(1), p(2), p(4)]
    );
    let Operand::Val(n2) = args[3] else {
        panic!("{args:?}")
    };
    assert_eq!(
        t.inst(n2),
        Some(&Inst::Bin {
            op: BinOp::Add,
            ty: Ty::I64,
            lhs: p(3),
            rhs: Operand::Const(Const::int(64, 1)),
        })
    );
    // Nothing is stored into `vars`.
    assert!(!t.body.iter().any(|i| matches!(i, Inst::Store { .. })));
    // One guard: stay in the loop (`%done` false), resuming at the branch
    // in the innermost (only) frame, with `%n2`, `%k2` and `%done` live.
    let g = guards(t);
    assert_eq!(g.len(), 1);
    assert!(!g[0].1);
    let snap = t.snaps.get(g[0].2).unwrap();
    assert_eq!(snap.frames.len(), 1);
    let fr = &snap.frames[0];
    assert_eq!(fr.func, fx.fidx("interp"));
    let r = w.resumes[fr.resume as usize];
    assert!(r.top);
    assert_eq!(r.at, fx.inst("interp", "resume"));
    let mut live: Vec<String> = fr
        .live
        .iter()
        .map(|&(reg, _)| llvm::name(w.regs[&(fr.func, reg)]))
        .collect();
    live.sort();
    assert!(
        ["done", "k2", "n2"]
            .iter()
            .all(|n| live.contains(&n.to_string())),
        "{live:?}"
    );
    let done = fr
        .live
        .iter()
        .find(|&&(reg, _)| llvm::name(w.regs[&(fr.func, reg)]) == "done")
        .unwrap();
    // The guard's condition is the live `%done`, which is true where the
    // guard fails: the snapshot holds the constant.
    assert!(g[0].0.as_val().is_some());
    assert_eq!(done.1, Operand::Const(Const::bool(true)));
}

#[test]
fn a_linear_trace_ends_in_its_end_snapshot() {
    let body = "  %n2 = add i64 %n1, 2\n  %k2 = add i64 %k1, 0\n  br label %cont";
    let mut fx = Fx::new(&module(body, ""));
    let w = fx.walk(ONE_ITER, &[], true).unwrap();
    assert_eq!(w.shape, Shape::Linear);
    let fr = end_frame(&w.trace);
    let ids: Vec<u32> = fr.live.iter().map(|l| l.0).collect();
    // The four fields the control point's block stored, and the location.
    assert_eq!(ids, [0, 1, 2, 3, LOC_ID]);
    let loc = fr.live.iter().find(|l| l.0 == LOC_ID).unwrap().1;
    assert_eq!(loc, param(2), "the location is field 1's parameter");
}

/// A loop whose body spins in block `spin` until `n` is 5, adding 2 to `n`
/// per iteration.
const SPIN: &str = "  %n2 = add i64 %n1, 2\n  %k2 = add i64 %k1, 0\n  br label %spin\nspin:\n  %s = icmp eq i64 %n1, 5\n  br i1 %s, label %spin, label %cont";

/// One iteration of [`SPIN`] that leaves `spin` at once.
const SPIN_ITER: [(&str, &str); 4] = [
    ("interp", "resume"),
    ("interp", "spin"),
    ("interp", "cont"),
    ("interp", "cp"),
];

#[test]
fn a_truncated_recording_ends_at_its_last_control_point() {
    let mut fx = Fx::new(&module(SPIN, ""));
    // Two iterations and the start of a third, stopped in `spin`: the
    // trace is the two iterations, ending at the second control point.
    let mut rec = [SPIN_ITER, SPIN_ITER].concat();
    rec.extend([("interp", "resume"), ("interp", "spin")]);
    let w = fx.walk_truncated(&rec).unwrap();
    assert!(w.cut);
    assert_eq!(w.shape, Shape::Linear);
    assert_eq!(guards(&w.trace).len(), 2, "one guard per `spin` walked");
    let fr = end_frame(&w.trace);
    let ids: Vec<u32> = fr.live.iter().map(|l| l.0).collect();
    assert_eq!(ids, [0, 1, 2, 3, LOC_ID]);
    // Field 2 (`n`) is `n + 2 + 2`, folded.
    let Operand::Val(n) = fr.live[2].1 else {
        panic!("{:?}", fr.live[2])
    };
    assert_eq!(
        w.trace.inst(n),
        Some(&Inst::Bin {
            op: BinOp::Add,
            ty: Ty::I64,
            lhs: param(3),
            rhs: Operand::Const(Const::int(64, 4)),
        })
    );
    // The same recording, not truncated, is a recording that stops in the
    // middle of its path.
    let e = fx.walk_rec(&rec, &[], true, false).err().unwrap();
    assert_eq!(e.kind, AbortKind::Recording);
}

#[test]
fn a_root_trace_is_not_cut_to_a_sliver() {
    let mut fx = Fx::new(&module(SPIN, ""));
    // The only control point passed is 4 blocks into a recording of 45.
    let mut rec = SPIN_ITER.to_vec();
    rec.push(("interp", "resume"));
    rec.extend(std::iter::repeat_n(("interp", "spin"), 40));
    let e = fx.walk_truncated(&rec).err().unwrap();
    assert_eq!(e.kind, AbortKind::Recording);
    assert_eq!(e.detail, "the recording ends in the middle of the path");
    // With a quarter of it before the control point, it is cut there.
    rec.truncate(4 * 4);
    let w = fx.walk_truncated(&rec).unwrap();
    assert!(w.cut);
    assert_eq!(guards(&w.trace).len(), 1);
}

#[test]
fn a_switch_guards_share_one_interned_snapshot() {
    let body = "  %n2 = add i64 %n1, 1\n  %k2 = add i64 %k1, 0\n  switch i64 %n1, label %dflt [ i64 1, label %exit\n i64 2, label %exit ]\ndflt:\n  br label %cont";
    let mut fx = Fx::new(&module(body, ""));
    let rec = [
        ("interp", "resume"),
        ("interp", "dflt"),
        ("interp", "cont"),
        ("interp", "cp"),
    ];
    let w = fx.walk(&rec, &[], false).unwrap();
    let g = guards(&w.trace);
    // Neither case: `n != 1` and `n != 2`, leaving to the same state.
    assert_eq!(g.len(), 2);
    assert!(g.iter().all(|x| x.1));
    assert_eq!(g[0].2, g[1].2);
    assert_eq!(w.trace.snaps.len(), 1);
    assert_eq!(w.resumes.len(), 1);
    // Taking a case: one guard, `n == 1 || n == 2` (both lead to `exit`),
    // whose `ret` from the interpreter function ends no trace.
    let rec = [("interp", "resume"), ("interp", "exit")];
    let e = fx.abort(&rec, &[]);
    assert_eq!(
        e.detail,
        "the interpreter function returned while recording"
    );
}

#[test]
fn a_recording_off_the_cfg_is_a_recording_abort() {
    let body = "  %n2 = add i64 %n1, 1\n  %k2 = add i64 %k1, 0\n  br label %cont";
    let mut fx = Fx::new(&module(body, ""));
    let e = fx.abort(&[("interp", "resume"), ("interp", "ret")], &[]);
    assert_eq!(e.kind, AbortKind::Recording);
    assert_eq!(
        e.detail,
        "the recording does not follow the control-flow graph"
    );
    let e = fx.abort(&[("interp", "cont"), ("interp", "cp")], &[]);
    assert_eq!(
        e.detail,
        "the recording does not start at the control point"
    );
}

#[test]
fn promotions_guard_and_fold() {
    let body = "  %pk = call i64 @__yk_promote_u64(i64 %k1)\n  %k2 = add i64 %pk, 1\n  %n2 = add i64 %n1, 0\n  br label %cont";
    let mut fx = Fx::new(&module(body, ""));
    let w = fx.walk(ONE_ITER, &[7], false).unwrap();
    let t = &w.trace;
    // `k == 7` is guarded, after which `k + 1` is the constant 8.
    let g = guards(t);
    assert_eq!(g.len(), 1);
    let Operand::Val(c) = g[0].0 else { panic!() };
    assert_eq!(
        t.inst(c),
        Some(&Inst::ICmp {
            pred: IPred::Eq,
            lhs: param(4),
            rhs: Operand::Const(Const::int(64, 7)),
        })
    );
    assert_eq!(jump_args(t)[4], Operand::Const(Const::int(64, 8)));
    // Fewer or more recorded values than the path's promotions.
    let e = fx.abort(ONE_ITER, &[]);
    assert_eq!(
        (e.kind, e.detail.as_str()),
        (
            AbortKind::Recording,
            "more yk_promote calls than recorded values"
        )
    );
    let e = fx.abort(ONE_ITER, &[7, 7]);
    assert!(e.detail.starts_with("yk_promote used outside"), "{e}");
}

const STEP: &str = r#"
define i64 @step(i64 %x) {
entry:
  %big = icmp sgt i64 %x, 100
  br i1 %big, label %hi, label %lo
hi:
  ret i64 0
lo:
  %y = add i64 %x, 3
  ret i64 %y
}
"#;

#[test]
fn an_entered_call_is_inlined_and_its_guards_have_two_frames() {
    let body = "  %n2 = call i64 @step(i64 %n1)\n  %k2 = add i64 %k1, 0\n  br label %cont";
    let mut fx = Fx::new(&module(body, STEP));
    let rec = [
        ("interp", "resume"),
        ("step", "entry"),
        ("step", "lo"),
        ("interp", "cont"),
        ("interp", "cp"),
    ];
    let w = fx.walk(&rec, &[], false).unwrap();
    let t = &w.trace;
    assert!(!t.body.iter().any(|i| matches!(i, Inst::Call { .. })));
    let g = guards(t);
    assert_eq!(g.len(), 1);
    let snap = t.snaps.get(g[0].2).unwrap();
    let funcs: Vec<u32> = snap.frames.iter().map(|f| f.func).collect();
    assert_eq!(funcs, [fx.fidx("interp"), fx.fidx("step")]);
    let outer = w.resumes[snap.frames[0].resume as usize];
    let inner = w.resumes[snap.frames[1].resume as usize];
    // The caller resumes after the call, the callee at its branch.
    assert!(!outer.top && inner.top);
    // SAFETY: `%n2` is an instruction with a successor.
    let after_call = unsafe { LLVMGetNextInstruction(fx.inst("interp", "n2")) };
    assert_eq!(outer.at, after_call);
    assert_eq!(inner.at, fx.inst("step", "entry"));
    // The callee's result `x + 3` is field 2's next value.
    let Operand::Val(v) = jump_args(t)[3] else {
        panic!()
    };
    assert!(matches!(t.inst(v), Some(Inst::Bin { op: BinOp::Add, .. })));
}

#[test]
fn a_call_the_recording_does_not_enter_is_native() {
    let body = "  %n2 = call i64 @step(i64 %n1)\n  %k2 = add i64 %k1, 0\n  br label %cont";
    let mut fx = Fx::new(&module(body, STEP));
    let w = fx.walk(ONE_ITER, &[], false).unwrap();
    let t = &w.trace;
    assert!(guards(t).is_empty());
    let step = fx.fidx("step");
    let call = t.body.iter().find_map(|i| match i {
        Inst::Call { callee, args, .. } => Some((*callee, args.clone())),
        _ => None,
    });
    assert_eq!(
        call,
        Some((Operand::Const(Const::Sym(Sym::Func(step))), vec![param(3)]))
    );
}

#[test]
fn single_instructions_translate_bit_for_bit() {
    // `fneg` flips the sign bit; `sext (add nsw n, 1)` keeps `sext n` as
    // its base; an i128 has no form.
    let body = "  %d = bitcast i64 %k1 to double\n  %e = fneg double %d\n  %k2 = bitcast double %e to i64\n  %t = trunc i64 %n1 to i32\n  %a = add nsw i32 %t, 1\n  %n2 = sext i32 %a to i64\n  br label %cont";
    let mut fx = Fx::new(&module(body, ""));
    let w = fx.walk(ONE_ITER, &[], false).unwrap();
    let t = &w.trace;
    let text = tir::text::print(t);
    assert!(text.contains("xor i64"), "{text}");
    assert!(text.contains("9223372036854775808"), "the sign bit: {text}");
    let Operand::Val(n2) = jump_args(t)[3] else {
        panic!()
    };
    let Some(&Inst::Bin {
        op: BinOp::Add,
        lhs: Operand::Val(x),
        rhs,
        ..
    }) = t.inst(n2)
    else {
        panic!("{text}")
    };
    assert_eq!(rhs, Operand::Const(Const::int(64, 1)));
    assert!(
        matches!(
            t.inst(x),
            Some(Inst::Cast {
                op: CastOp::SExt,
                ..
            })
        ),
        "{text}"
    );

    let body = "  %w = zext i64 %n1 to i128\n  %n2 = trunc i128 %w to i64\n  %k2 = add i64 %k1, 0\n  br label %cont";
    let mut fx = Fx::new(&module(body, ""));
    let e = fx.abort(ONE_ITER, &[]);
    assert_eq!(e.kind, AbortKind::Unsupported);
    assert_eq!(e.detail, "no trace-IR form for an i128 value");
}

/// The loads left in the trace of a loop whose body tags `%mt` and `%loc`
/// with `yk_disjoint` of `classes`, then reads through `%mt`, stores through
/// `%loc` and reads through `%mt` again.
fn loads_after_disjoint(classes: (u64, u64)) -> usize {
    let body = format!(
        "  %a = call ptr @__yk_disjoint(ptr %mt, i64 {})\n  %b = call ptr @__yk_disjoint(ptr %loc, i64 {})\n  %x = load i64, ptr %a\n  store i64 5, ptr %b\n  %y = load i64, ptr %a\n  %n2 = add i64 %x, %y\n  %k2 = add i64 %k1, 0\n  br label %cont",
        classes.0, classes.1
    );
    let mut fx = Fx::new(&module(&body, "declare ptr @__yk_disjoint(ptr, i64)"));
    let w = fx.walk(ONE_ITER, &[], false).unwrap();
    w.trace
        .body
        .iter()
        .filter(|i| matches!(i, Inst::Load { .. }))
        .count()
}

#[test]
fn yk_disjoint_tells_the_heap_cache_what_a_store_cannot_touch() {
    // Different classes: the second load is the first's value.
    assert_eq!(loads_after_disjoint((1, 2)), 1);
    // The same class: the store may have written what the first load read.
    assert_eq!(loads_after_disjoint((1, 1)), 2);
}

#[test]
fn a_vars_field_address_used_otherwise_is_made_when_needed() {
    // The walk passes frame 0's getelementptrs of `vars` fields without
    // translating them (their loads and stores need no address); one
    // passed to a call, or live at a guard, is made then: `vars` plus the
    // field's offset (fields 2 and 3 of `%V` are at 16 and 24).
    let field_addr = |t: &tir::Trace, o: Operand| match o.as_val().and_then(|v| t.inst(v)) {
        Some(&Inst::PtrAdd { ptr, off }) if ptr == param(0) => Some(off),
        _ => None,
    };
    let body = "  %n2 = add i64 %n1, 1\n  call void @sink(ptr %f2)\n  %k2 = add i64 %k1, 0\n  br label %cont";
    let sink = "define void @sink(ptr %p) {\n  store i64 0, ptr %p\n  ret void\n}";
    let mut fx = Fx::new(&module(body, sink));
    let w = fx.walk(ONE_ITER, &[], false).unwrap();
    let t = &w.trace;
    let sunk: Vec<Option<i64>> = t
        .body
        .iter()
        .filter_map(|i| match i {
            Inst::Call { args, .. } => Some(field_addr(t, args[0])),
            _ => None,
        })
        .collect();
    assert_eq!(sunk, [Some(16)], "{}", tir::text::print(t));

    // `%f3` is live at the guard on `%done` (it is read after it).
    let body = "  %n2 = add i64 %n1, 1\n  %k2 = add i64 %k1, 0\n  %done = icmp sgt i64 %n2, 1000\n  br i1 %done, label %exit, label %more\nmore:\n  %k3 = load i64, ptr %f3\n  br label %cont";
    let mut fx = Fx::new(&module(body, ""));
    let rec = [
        ("interp", "resume"),
        ("interp", "more"),
        ("interp", "cont"),
        ("interp", "cp"),
    ];
    let w = fx.walk(&rec, &[], false).unwrap();
    let t = &w.trace;
    let g = guards(t);
    assert_eq!(g.len(), 1, "{}", tir::text::print(t));
    let fr = &t.snaps.get(g[0].2).unwrap().frames[0];
    let f3 = fr
        .live
        .iter()
        .find(|&&(reg, _)| llvm::name(w.regs[&(fr.func, reg)]) == "f3")
        .unwrap_or_else(|| panic!("{fr:?}"));
    assert_eq!(field_addr(t, f3.1), Some(24));
}

#[test]
fn a_getelementptr_with_constant_indices_has_one_offset() {
    let extra = "%S = type { i32, [4 x i64] }\ndefine ptr @geps(ptr %p, i64 %i) {\nentry:\n  %a = getelementptr inbounds %S, ptr %p, i64 2, i32 1, i64 3\n  %b = getelementptr inbounds %S, ptr %p, i64 -1, i32 1\n  %c = getelementptr inbounds %S, ptr %p, i64 %i, i32 1\n  %d = getelementptr i8, ptr %p, i64 0\n  ret ptr %a\n}";
    let fx = Fx::new(&module(
        "  %n2 = add i64 %n1, 0\n  %k2 = add i64 %k1, 0\n  br label %cont",
        extra,
    ));
    // `%S` is 40 bytes, its array at 8.
    let off = |n: &str| gep_info(fx.an.td, fx.inst("geps", n)).unwrap().const_off;
    assert_eq!(off("a"), Some(2 * 40 + 8 + 3 * 8));
    assert_eq!(off("b"), Some(-40 + 8));
    assert_eq!(off("c"), None);
    assert_eq!(off("d"), Some(0));
}

#[test]
fn what_only_feeds_the_control_point_is_found() {
    let ir = format!(
        r#"{HEAD}
declare void @llvm.assume(i1)

define void @f(ptr %mt, ptr %p, i64 %n) {{
entry:
  %vars = alloca %V
  %g = getelementptr i8, ptr %mt, i64 8
  %m = load ptr, ptr %g
  %a = ptrtoint ptr %p to i64
  %b = shl i64 %a, 1
  %l = inttoptr i64 %b to ptr
  %nz = icmp ne i64 %b, 0
  call void @llvm.assume(i1 %nz)
  %s = getelementptr i8, ptr %mt, i64 16
  store i64 %n, ptr %s
  %v = load volatile i64, ptr %s
  %r = call i64 @__ykrt_control_point(ptr %m, ptr %l, ptr %vars, i64 %v)
  ret void
}}
"#
    );
    let fx = Fx::new(&ir);
    let (_, cp) = find_cp(fx.m.function("f").unwrap()).unwrap();
    let mut only: Vec<String> = crate::jit::builder::cp_only(cp)
        .into_iter()
        .map(llvm::name)
        .collect();
    only.sort();
    // Not `%s` (a store uses it), `%v` (volatile), `%vars` (an alloca).
    assert_eq!(only, ["a", "b", "g", "l", "m", "nz"]);
}

#[test]
fn a_location_computed_for_the_control_point_is_made_at_the_end_only() {
    let body = "  %n2 = add i64 %n1, 2\n  %k2 = add i64 %k1, 0\n  br label %cont";
    let ir = module(body, "").replace(
        "  %r = call i64 @__ykrt_control_point(ptr %mt, ptr %loc, ptr %vars, i64 0)",
        "  %lp = ptrtoint ptr %loc to i64\n  %l2 = add i64 %lp, 64\n  %locc = inttoptr i64 %l2 to ptr\n  %r = call i64 @__ykrt_control_point(ptr %mt, ptr %locc, ptr %vars, i64 0)",
    );
    assert!(ir.contains("%locc"));
    let adds_64 = |t: &tir::Trace| {
        t.body
            .iter()
            .filter(|i| {
                matches!(i, Inst::Bin { op: BinOp::Add, rhs, .. } if *rhs == Operand::Const(Const::int(64, 64)))
            })
            .count()
    };
    // A loop passes the control point: the location is never computed.
    let mut fx = Fx::new(&ir);
    let w = fx.walk(ONE_ITER, &[], false).unwrap();
    assert_eq!(adds_64(&w.trace), 0, "{}", tir::text::print(&w.trace));
    // A linear trace ends there: its end snapshot holds the location.
    let mut fx = Fx::new(&ir);
    let w = fx.walk(ONE_ITER, &[], true).unwrap();
    let t = &w.trace;
    assert_eq!(adds_64(t), 1, "{}", tir::text::print(t));
    let loc = end_frame(t).live.iter().find(|l| l.0 == LOC_ID).unwrap().1;
    let Some(Inst::Cast {
        op: CastOp::IntToPtr,
        val,
        ..
    }) = loc.as_val().and_then(|v| t.inst(v))
    else {
        panic!("{loc:?} in {}", tir::text::print(t))
    };
    assert!(matches!(
        val.as_val().and_then(|v| t.inst(v)),
        Some(Inst::Bin { op: BinOp::Add, .. })
    ));
}
