//! Unit-level tests of the AOT passes on hand-written IR.

use linker_plugin::{aot, ctrlpoint};
use yk_llvm::liveness::Liveness;
use yk_llvm::{self as llvm, Module};

mod common;
use common::{embedded, LOOP};

fn find_call(m: &Module, fname: &str, callee: &str) -> llvm_sys::prelude::LLVMValueRef {
    let f = m.function(fname).unwrap();
    llvm::blocks(f)
        .into_iter()
        .flat_map(llvm::instrs)
        .find(|&i| llvm::called_function(i).map(llvm::name).as_deref() == Some(callee))
        .expect("call not found")
}

#[test]
fn liveness_at_the_control_point() {
    let m = Module::parse_ir(LOOP).unwrap();
    let call = find_call(&m, "interp", "yk_mt_control_point");
    let live = Liveness::analyse(m.function("interp").unwrap()).live_after(call);
    let names: Vec<String> = live.into_iter().map(llvm::name).collect();
    // Arguments first (definition order), then the loop-carried phis.
    assert_eq!(names, ["mt", "loc", "n", "pc", "acc"]);
}

#[test]
fn control_point_is_rewritten_and_its_block_split() {
    let m = Module::parse_ir(LOOP).unwrap();
    assert_eq!(ctrlpoint::transform(&m).unwrap(), ["interp"]);
    m.verify().unwrap();
    let call = find_call(&m, "interp", ctrlpoint::RT_CP);
    let ir = m.to_text();
    assert!(
        ir.contains("%YkCtrlPointVars.interp = type { ptr, ptr, i32, i32, i32, i32 }"),
        "{ir}"
    );
    // The call is the last thing before a jump to a block of its own.
    // SAFETY: handles of the live module under test (yk-llvm's rules: they live as long as it).
    unsafe {
        let bb = llvm_sys::core::LLVMGetInstructionParent(call);
        let succ = llvm::successors(bb);
        let names: Vec<String> = succ
            .iter()
            .map(|&b| llvm::name(llvm_sys::core::LLVMBasicBlockAsValue(b)))
            .collect();
        assert_eq!(names, ["yk_cp_resume", "yk_cp_return"]);
    }
    // The function index argument is the function's position in the module.
    assert!(ir.contains("i64 1)"), "{ir}");
    // The trampoline is gone.
    assert!(!ir.contains("__yk_cp_tramp"));
}

#[test]
fn constant_offsets_are_recomputed_not_kept_in_vars() {
    // `%f` and `%g` (fields of the state `%st`) and `%h` (of `%f`) are
    // computed once, before the loop, and used after the control point:
    // they are recomputed where they are used, and only their base is
    // live across the control point. `%e` has a variable index: it stays.
    let ir = r#"
declare void @yk_mt_control_point(ptr, ptr)
define i32 @interp(ptr %mt, ptr %loc, ptr %st, i64 %n) {
entry:
  %f = getelementptr inbounds i8, ptr %st, i64 8
  %g = getelementptr inbounds i8, ptr %st, i64 16
  %h = getelementptr inbounds i8, ptr %f, i64 4
  %e = getelementptr inbounds i32, ptr %st, i64 %n
  br label %head
head:
  %pc = phi i32 [ 0, %entry ], [ %pc2, %body ]
  call void @yk_mt_control_point(ptr %mt, ptr %loc)
  %x = load i32, ptr %f
  %done = icmp sge i32 %pc, %x
  br i1 %done, label %exit, label %body
body:
  %y = load i32, ptr %h
  %z = load i32, ptr %e
  %s = add i32 %y, %z
  store i32 %s, ptr %g
  %pc2 = add i32 %pc, 1
  br label %head
exit:
  %r = phi i32 [ %pc, %head ]
  ret i32 %r
}
"#;
    let m = Module::parse_ir(ir).unwrap();
    assert_eq!(ctrlpoint::transform(&m).unwrap(), ["interp"]);
    m.verify().unwrap();
    let text = m.to_text();
    // mt, loc, st, e, pc (st was live anyway, as an argument), and the
    // return value.
    assert!(
        text.contains("%YkCtrlPointVars.interp = type { ptr, ptr, ptr, ptr, i32, i32 }"),
        "{text}"
    );
    // The offsets are computed from %st after the control point.
    let resume_on = text.split("yk_cp_resume:").nth(1).unwrap();
    assert!(
        resume_on.contains("getelementptr inbounds i8, ptr %st, i64 8"),
        "{text}"
    );
    assert!(
        resume_on.contains("getelementptr inbounds i8, ptr %st, i64 16"),
        "{text}"
    );
}

#[test]
fn two_control_points_in_one_function_is_an_error() {
    let ir = LOOP.replace(
        "  %done = icmp",
        "  call void @yk_mt_control_point(ptr %mt, ptr %loc)\n  %done = icmp",
    );
    let m = Module::parse_ir(&ir).unwrap();
    let e = ctrlpoint::transform(&m).unwrap_err().to_string();
    assert!(
        e.contains("`interp` has more than one control point"),
        "{e}"
    );
}

#[test]
fn control_point_outside_a_loop_is_an_error() {
    let ir = r#"
declare void @yk_mt_control_point(ptr, ptr)
define void @once(ptr %mt, ptr %loc) {
  call void @yk_mt_control_point(ptr %mt, ptr %loc)
  ret void
}
"#;
    let m = Module::parse_ir(ir).unwrap();
    let e = ctrlpoint::transform(&m).unwrap_err().to_string();
    assert!(
        e.contains("control point in function `once` is not in a loop"),
        "{e}"
    );
}

#[test]
fn no_control_point_leaves_the_module_alone() {
    let ir = "define i32 @f(i32 %x) {\n  ret i32 %x\n}\n";
    let m = Module::parse_ir(ir).unwrap();
    let before = m.to_text();
    let s = aot::rewrite(&m).unwrap();
    assert!(s.control_points.is_empty());
    assert_eq!(before, m.to_text());
}

#[test]
fn full_rewrite_embeds_ir_and_instruments_every_block() {
    let m = Module::parse_ir(LOOP).unwrap();
    let s = aot::rewrite(&m).unwrap();
    // entry, head, yk_cp_resume, yk_cp_return, body, exit.
    assert_eq!(s.instrumented_blocks, 6);
    let ir = m.to_text();
    assert!(ir.contains("section \"yk_ir\""));
    assert!(ir.contains("@llvm.global_ctors"));
    // The hooks are inlined: a flag test and a call recording (function 1, block 2).
    assert!(
        ir.contains("call void @__yk_swt_rec_block(i32 1, i32 2)"),
        "{ir}"
    );
    assert!(!ir.contains("@__yk_swt_hook_block("), "{ir}");
    assert!(ir.contains("load i8, ptr @__yk_swt_recording"), "{ir}");
    // The embedded bitcode parses and has the control point but no hooks.
    let e = embedded(&m);
    let eir = e.to_text();
    assert!(eir.contains("@__ykrt_control_point"));
    assert!(!eir.contains("__yk_swt_hook"));
    assert_eq!(llvm::blocks(e.function("interp").unwrap()).len(), 6);
}
