//! The control point's inline fast path: present in the running code, absent
//! from the embedded IR, and merging the live values correctly.

use linker_plugin::{aot, cp_fast_path, ctrlpoint};
use llvm_sys::core::*;
use yk_llvm::{self as llvm, Module};

mod common;
use common::{embedded, LOOP};

fn block_named(
    f: llvm_sys::prelude::LLVMValueRef,
    name: &str,
) -> llvm_sys::prelude::LLVMBasicBlockRef {
    llvm::blocks(f)
        .into_iter()
        // SAFETY: handles of the live module under test (yk-llvm's rules: they live as long as it).
        .find(|&b| llvm::name(unsafe { LLVMBasicBlockAsValue(b) }) == name)
        .unwrap_or_else(|| panic!("no block {name}"))
}

#[test]
fn fast_path_skips_the_call_and_merges_live_values() {
    let m = Module::parse_ir(LOOP).unwrap();
    ctrlpoint::transform(&m).unwrap();
    assert_eq!(cp_fast_path::add(&m).unwrap(), 1);
    m.verify().unwrap();
    let ir = m.to_text();
    let f = m.function("interp").unwrap();
    // A null `loc` skips the call at once; otherwise the location word is
    // read, from `loc` itself.
    assert!(ir.contains("icmp eq ptr %loc, null"), "{ir}");
    assert!(!ir.contains("select"), "{ir}");
    assert!(ir.contains("load atomic i64, ptr %loc"), "{ir}");
    assert!(ir.contains("monotonic, align 8"), "{ir}");
    // The call and the stores into vars moved to `yk_cp_slow`.
    let slow = block_named(f, "yk_cp_slow");
    let slow_ops: Vec<_> = llvm::instrs(slow).into_iter().map(llvm::opcode).collect();
    assert!(slow_ops.contains(&llvm_sys::LLVMOpcode::LLVMStore));
    assert!(
        llvm::instrs(slow).into_iter().any(|i| {
            llvm::called_function(i).map(llvm::name).as_deref() == Some(ctrlpoint::RT_CP)
        }),
        "the runtime call is in yk_cp_slow: {ir}"
    );
    // The block testing the word stores nothing into vars any more.
    let word = llvm::blocks(f)
        .into_iter()
        .flat_map(llvm::instrs)
        .find(|&i| llvm::name(i) == "yk_loc_word")
        .unwrap();
    // SAFETY: handles of the live module under test (yk-llvm's rules: they live as long as it).
    let check = unsafe { LLVMGetInstructionParent(word) };
    assert_eq!(
        // SAFETY: handles of the live module under test (yk-llvm's rules: they live as long as it).
        llvm::name(unsafe { LLVMBasicBlockAsValue(check) }),
        "yk_cp_check"
    );
    let head = block_named(f, "head");
    for b in [head, check] {
        assert!(!llvm::instrs(b)
            .into_iter()
            .any(|i| llvm::opcode(i) == llvm_sys::LLVMOpcode::LLVMStore));
    }
    // `head` branches on the null test to yk_cp_resume or the word's check.
    let succs: Vec<_> = llvm::successors(head)
        .into_iter()
        // SAFETY: handles of the live module under test (yk-llvm's rules: they live as long as it).
        .map(|b| llvm::name(unsafe { LLVMBasicBlockAsValue(b) }))
        .collect();
    assert_eq!(succs, ["yk_cp_resume", "yk_cp_check"], "{ir}");
    // yk_cp_resume starts with one phi per reloaded value (pc and acc; the
    // arguments are frame-invariant and not reloaded), from the three paths:
    // the value before the control point from the two that skip the call.
    let resume = block_named(f, "yk_cp_resume");
    let phis: Vec<_> = llvm::instrs(resume)
        .into_iter()
        .take_while(|&i| llvm::opcode(i) == llvm_sys::LLVMOpcode::LLVMPHI)
        .collect();
    assert_eq!(phis.len(), 2, "{ir}");
    for phi in phis {
        // SAFETY: handles of the live module under test (yk-llvm's rules: they live as long as it).
        assert_eq!(unsafe { LLVMCountIncoming(phi) }, 3);
        let from: Vec<_> = (0..3)
            // SAFETY: handles of the live module under test (yk-llvm's rules: they live as long as it).
            .map(|k| llvm::name(unsafe { LLVMBasicBlockAsValue(LLVMGetIncomingBlock(phi, k)) }))
            .collect();
        assert_eq!(from, ["head", "yk_cp_check", "yk_cp_slow"], "{ir}");
        // SAFETY: handles of the live module under test (yk-llvm's rules: they live as long as it).
        let val = |k| unsafe { LLVMGetIncomingValue(phi, k) };
        assert_eq!(val(0), val(1), "{ir}");
        assert_ne!(val(0), val(2), "{ir}");
    }
    // No load from vars is left in yk_cp_resume.
    assert!(!llvm::instrs(resume)
        .into_iter()
        .any(|i| llvm::opcode(i) == llvm_sys::LLVMOpcode::LLVMLoad));
}

#[test]
fn embedded_ir_keeps_the_plain_control_point() {
    let m = Module::parse_ir(LOOP).unwrap();
    let s = aot::rewrite(&m).unwrap();
    // The recording version's control point and the fast clone's (see
    // `linker_plugin::fast`); not the recording continuation's, which
    // calls the runtime at every control point.
    assert_eq!(s.fast_paths, 2);
    assert!(m.to_text().contains("yk_cp_slow"));
    let e = embedded(&m);
    let eir = e.to_text();
    assert!(!eir.contains("yk_cp_slow"), "{eir}");
    assert!(!eir.contains("load atomic"), "{eir}");
    // docs/abi.md: the control point's block ends in the call, the compare
    // and the branch to yk_cp_resume / yk_cp_return.
    let f = e.function("interp").unwrap();
    let call = llvm::blocks(f)
        .into_iter()
        .flat_map(llvm::instrs)
        .find(|&i| llvm::called_function(i).map(llvm::name).as_deref() == Some(ctrlpoint::RT_CP))
        .unwrap();
    // SAFETY: handles of the live module under test (yk-llvm's rules: they live as long as it).
    let bb = unsafe { LLVMGetInstructionParent(call) };
    let succ: Vec<String> = llvm::successors(bb)
        .into_iter()
        // SAFETY: handles of the live module under test (yk-llvm's rules: they live as long as it).
        .map(|b| llvm::name(unsafe { LLVMBasicBlockAsValue(b) }))
        .collect();
    assert_eq!(succ, ["yk_cp_resume", "yk_cp_return"]);
}

/// `ir` with its control point transformed and its one fast path added,
/// verified, as text.
fn one_fast_path(ir: &str) -> String {
    let m = Module::parse_ir(ir).unwrap();
    ctrlpoint::transform(&m).unwrap();
    assert_eq!(cp_fast_path::add(&m).unwrap(), 1);
    m.verify().unwrap();
    m.to_text()
}

#[test]
fn a_known_non_null_location_is_read_directly() {
    // `&locs[pc]` of a stack array: no null test needed.
    let ir = LOOP
        .replace(
            "entry:\n",
            "entry:\n  %locs = alloca [4 x i64]\n",
        )
        .replace(
            "  call void @yk_mt_control_point(ptr %mt, ptr %loc)",
            "  %l = getelementptr inbounds [4 x i64], ptr %locs, i64 0, i32 %pc\n  call void @yk_mt_control_point(ptr %mt, ptr %l)",
        );
    let text = one_fast_path(&ir);
    assert!(!text.contains("icmp eq ptr"), "{text}");
    assert!(!text.contains("yk_cp_check"), "{text}");
    assert!(text.contains("load atomic i64, ptr %l"), "{text}");
}

#[test]
fn an_assumed_non_null_location_is_read_directly() {
    // yklua's form: the location is an integer made a pointer, assumed
    // non-null (LLVM turns `assume(p != null)` into a test of the integer).
    let ir = LOOP
        .replace("ptr %loc, i32 %n)", "i64 %bias, i32 %n)")
        .replace(
            "  call void @yk_mt_control_point(ptr %mt, ptr %loc)",
            "  %pc64 = zext i32 %pc to i64\n  %a = add i64 %bias, %pc64\n  \
             %l = inttoptr i64 %a to ptr\n  %nn = icmp ne i64 %a, 0\n  \
             call void @llvm.assume(i1 %nn)\n  \
             call void @yk_mt_control_point(ptr %mt, ptr %l)",
        )
        + "declare void @llvm.assume(i1)\n";
    let text = one_fast_path(&ir);
    assert!(!text.contains("icmp eq ptr"), "{text}");
    assert!(!text.contains("yk_cp_check"), "{text}");
    assert!(text.contains("load atomic i64, ptr %l"), "{text}");

    // Without the assumption the null test stays.
    let text = one_fast_path(&ir.replace("  call void @llvm.assume(i1 %nn)\n", ""));
    assert!(text.contains("icmp eq ptr %l, null"), "{text}");
    assert!(text.contains("yk_cp_check"), "{text}");
}

#[test]
fn entry_block_values_need_no_phi() {
    // `%lim` is computed once per activation, in the entry block, and live
    // across the control point: the transform stores it into vars and
    // reloads it, but the fast path uses it as it is (whatever the runtime
    // hands back for it is the same value), so it stays one value for the
    // whole loop rather than a phi of the loop.
    let ir = LOOP
        .replace("entry:\n", "entry:\n  %lim = add i32 %n, 1\n")
        .replace("icmp sge i32 %pc, %n", "icmp sge i32 %pc, %lim");
    let m = Module::parse_ir(&ir).unwrap();
    ctrlpoint::transform(&m).unwrap();
    let before = m.to_text();
    assert!(
        before.contains("load i32"),
        "the transform reloads %lim: {before}"
    );
    assert_eq!(cp_fast_path::add(&m).unwrap(), 1);
    m.verify().unwrap();
    let text = m.to_text();
    let f = m.function("interp").unwrap();
    let resume = block_named(f, "yk_cp_resume");
    let phis = llvm::instrs(resume)
        .into_iter()
        .take_while(|&i| llvm::opcode(i) == llvm_sys::LLVMOpcode::LLVMPHI)
        .count();
    assert_eq!(phis, 2, "pc and acc only: {text}");
    assert!(
        text.contains("icmp sge i32 %2, %lim") || text.contains(", %lim\n"),
        "{text}"
    );
    // Still stored for the runtime on the slow path, never reloaded.
    let slow = block_named(f, "yk_cp_slow");
    let stores_lim = llvm::instrs(slow).into_iter().any(|i| {
        llvm::opcode(i) == llvm_sys::LLVMOpcode::LLVMStore
            // SAFETY: handles of the live module under test (yk-llvm's rules: they live as long as it).
            && llvm::name(unsafe { LLVMGetOperand(i, 0) }) == "lim"
    });
    assert!(stores_lim, "{text}");
    let loads = llvm::instrs(slow)
        .into_iter()
        .filter(|&i| llvm::opcode(i) == llvm_sys::LLVMOpcode::LLVMLoad)
        .count();
    assert_eq!(loads, 2, "pc and acc reloaded: {text}");
}
