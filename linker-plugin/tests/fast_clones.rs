//! The fast clones (`linker_plugin::fast`): an uninstrumented copy of every
//! traceable function, used while the thread is not recording.

use linker_plugin::aot;
use std::collections::BTreeSet;
use yk_llvm::{self as llvm, Module};

mod common;
use common::embedded;

/// An interpreter loop calling `helper`, which calls `leaf` and takes its
/// address; `leaf`'s address is also in a global's initializer; `out` is
/// outlined.
const PROG: &str = r#"
declare void @yk_mt_control_point(ptr, ptr)
@table = global ptr @leaf
@slot = global ptr null
define internal i32 @leaf(i32 %x) {
entry:
  %c = icmp sgt i32 %x, 10
  br i1 %c, label %big, label %small
big:
  ret i32 1
small:
  ret i32 2
}
define i32 @helper(i32 %x) {
entry:
  %r = call i32 @leaf(i32 %x)
  store ptr @leaf, ptr @slot
  %o = call i32 @out(i32 %r)
  ret i32 %o
}
define i32 @out(i32 %x) noinline {
entry:
  %r = call i32 @leaf(i32 %x)
  ret i32 %r
}
define i32 @interp(ptr %mt, ptr %loc, i32 %n) {
entry:
  %slot = alloca i32
  store i32 0, ptr %slot
  br label %head
head:
  %pc = phi i32 [ 0, %entry ], [ %pc2, %body ]
  call void @yk_mt_control_point(ptr %mt, ptr %loc)
  %done = icmp sge i32 %pc, %n
  br i1 %done, label %exit, label %body
body:
  %h = call i32 @helper(i32 %pc)
  %a = load i32, ptr %slot
  %a2 = add i32 %a, %h
  store i32 %a2, ptr %slot
  %pc2 = add i32 %pc, 1
  br label %head
exit:
  %res = load i32, ptr %slot
  ret i32 %res
}
@.str = private constant [11 x i8] c"yk_outline\00", section "llvm.metadata"
@llvm.global.annotations = appending global [1 x { ptr, ptr, ptr, i32, ptr }] [{ ptr, ptr, ptr, i32, ptr } { ptr @out, ptr @.str, ptr null, i32 0, ptr null }], section "llvm.metadata"
"#;

/// The text of function `name` in `ir`.
fn body<'a>(ir: &'a str, name: &str) -> &'a str {
    let start = ir
        .match_indices("define ")
        .map(|(k, _)| k)
        .find(|&k| {
            let line = ir[k..].lines().next().unwrap();
            line.contains(&format!("@{name}("))
        })
        .unwrap_or_else(|| panic!("no function {name} in\n{ir}"));
    let end = start + ir[start..].find("\n}\n").unwrap();
    &ir[start..end]
}

/// The `(function, block)` pairs the block hooks of `f` record.
fn hooks(f: &str) -> BTreeSet<(u32, u32)> {
    f.lines()
        .filter_map(|l| l.split("@__yk_swt_rec_block(i32 ").nth(1))
        .map(|rest| {
            // "F, i32 B) ..."
            let (f, rest) = rest.split_once(", i32 ").unwrap();
            let b = rest.split_once(')').unwrap().0;
            (f.parse().unwrap(), b.parse().unwrap())
        })
        .collect()
}

#[test]
fn traceable_functions_get_uninstrumented_fast_clones() {
    let m = Module::parse_ir(PROG).unwrap();
    let s = aot::rewrite(&m).unwrap();
    // leaf, helper, out, interp.
    assert_eq!(s.fast_clones, 4, "{s:?}");
    assert_eq!(s.resumes, 1);
    let ir = m.to_text();
    for f in ["leaf", "helper", "interp"] {
        let fast = body(&ir, &format!("{f}.__yk_fast"));
        assert!(fast.starts_with("define internal"), "{fast}");
        // No hooks, no flag.
        assert!(!fast.contains("__yk_swt"), "{fast}");
    }
    // The outlined function's fast clone doesn't pause the recording (its
    // original does, see below).
    let out_fast = body(&ir, "out.__yk_fast");
    assert!(!out_fast.contains("__yk_swt"), "{out_fast}");
    // Direct calls from fast code go to fast code; addresses stay the
    // originals'.
    let helper_fast = body(&ir, "helper.__yk_fast");
    assert!(
        helper_fast.contains("call i32 @leaf.__yk_fast("),
        "{helper_fast}"
    );
    assert!(
        helper_fast.contains("store ptr @leaf, ptr @slot"),
        "{helper_fast}"
    );
    // (`out`'s fast clone is inlined: see fast_code_inlines_outlined_functions.)
    assert!(!helper_fast.contains("call i32 @out("), "{helper_fast}");
    assert!(ir.contains("@table = global ptr @leaf\n"), "{ir}");
    let interp_fast = body(&ir, "interp.__yk_fast");
    assert!(
        interp_fast.contains("call i32 @helper.__yk_fast("),
        "{interp_fast}"
    );
    // Its control point goes through the switch, behind the inline fast path.
    assert!(
        interp_fast.contains("@__yk_cp_switch.interp("),
        "{interp_fast}"
    );
    assert!(interp_fast.contains("yk_cp_slow"), "{interp_fast}");
    assert!(
        !interp_fast.contains("@__ykrt_control_point("),
        "{interp_fast}"
    );
}

#[test]
fn originals_record_the_same_blocks_and_dispatch_on_the_flag() {
    let plain = Module::parse_ir(PROG).unwrap();
    let m = Module::parse_ir(PROG).unwrap();
    aot::rewrite(&m).unwrap();
    let e = embedded(&m);
    let ir = m.to_text();
    // The embedded IR knows nothing of the clones.
    assert_eq!(e.functions().len(), plain.functions().len() + 1);
    assert!(!e.to_text().contains("__yk_fast"));
    // Each original still hooks every block of its embedded IR, with the
    // same indices, and starts with the dispatch to its fast clone.
    for (fi, name) in e.functions().into_iter().enumerate() {
        let name = llvm::name(name);
        if !["leaf", "helper", "interp"].contains(&name.as_str()) {
            continue;
        }
        let nblocks = llvm::blocks(e.function(&name).unwrap()).len() as u32;
        let want: BTreeSet<(u32, u32)> = (0..nblocks).map(|b| (fi as u32, b)).collect();
        let orig = body(&ir, &name);
        assert_eq!(hooks(orig), want, "{orig}");
        let dispatch = orig.split("\n\n").next().unwrap();
        assert!(dispatch.contains("icmp sgt i8"), "{orig}");
        assert!(
            orig.contains(&format!("tail call i32 @{name}.__yk_fast(")),
            "{orig}"
        );
        // Recording code calls originals, which dispatch themselves.
        // (The dispatch's tail call is the only call of a fast clone.)
        assert_eq!(orig.matches(".__yk_fast(").count(), 1, "{orig}");
    }
    // The interpreter's recording continuation records the interpreter's
    // blocks, hands back to the fast loop when the flag is clear, and
    // returns the result through `vars`.
    let interp_idx = e
        .functions()
        .iter()
        .position(|&f| llvm::name(f) == "interp")
        .unwrap() as u32;
    let resume = body(&ir, "interp.__yk_resume");
    let want: BTreeSet<(u32, u32)> = (0..6).map(|b| (interp_idx, b)).collect();
    assert_eq!(hooks(resume), want, "{resume}");
    assert!(resume.contains("ret i64 0"), "{resume}");
    assert!(resume.contains("ret i64 1"), "{resume}");
    assert!(resume.contains("@__ykrt_control_point("), "{resume}");
    let switch = body(&ir, "__yk_cp_switch.interp");
    assert!(switch.contains("call i64 @interp.__yk_resume("), "{switch}");
    // The outlined function's original has no hooks: it pauses the
    // recording, after the dispatch to its fast clone.
    let out = body(&ir, "out");
    assert!(hooks(out).is_empty(), "{out}");
    assert!(out.contains("yk_saved_recording"), "{out}");
    assert!(out.contains("tail call i32 @out.__yk_fast("), "{out}");
}

#[test]
fn address_table_holds_the_originals() {
    let m = Module::parse_ir(PROG).unwrap();
    aot::rewrite(&m).unwrap();
    let ir = m.to_text();
    let table = ir
        .lines()
        .find(|l| l.starts_with("@__yk_funcs = "))
        .unwrap();
    assert!(table.contains("ptr @helper"), "{table}");
    assert!(!table.contains("__yk_fast"), "{table}");
    assert!(!table.contains("__yk_resume"), "{table}");
}

/// `yk_is_interpreting()` and `yk_is_fast_code()` are `true` in the fast
/// clones (they never run while recording, and traces and the blackhole are
/// built from the originals, where the call stays for them to make `false`).
#[test]
fn fast_clones_are_interpreting_and_fast() {
    for f in ["yk_is_interpreting", "yk_is_fast_code"] {
        let prog = PROG
            .replace(
                "declare void @yk_mt_control_point(ptr, ptr)",
                &format!("declare void @yk_mt_control_point(ptr, ptr)\ndeclare zeroext i1 @{f}()"),
            )
            .replace(
                "entry:\n  %c = icmp sgt i32 %x, 10\n  br i1 %c, label %big, label %small",
                &format!(
                    "entry:\n  %i = call zeroext i1 @{f}()\n  br i1 %i, label %big, label %small"
                ),
            );
        assert!(prog.contains(&format!("@{f}()\n  br i1 %i")), "{prog}");
        let m = Module::parse_ir(&prog).unwrap();
        aot::rewrite(&m).unwrap();
        let ir = m.to_text();
        let fast = body(&ir, "leaf.__yk_fast");
        assert!(!fast.contains(&format!("@{f}(")), "{fast}");
        // Folded: the clone always takes the `true` branch.
        assert!(
            fast.contains("ret i32 1") && !fast.contains("ret i32 2"),
            "{fast}"
        );
        let orig = body(&ir, "leaf");
        assert!(orig.contains(&format!("call zeroext i1 @{f}()")), "{orig}");
    }
}

#[test]
fn fast_code_inlines_outlined_functions() {
    let m = Module::parse_ir(PROG).unwrap();
    aot::rewrite(&m).unwrap();
    let ir = m.to_text();
    // `out` is `yk_outline` (and `noinline`): traces call it, so the
    // recording version of `helper` calls it.
    let helper = body(&ir, "helper");
    assert!(helper.contains("call i32 @out("), "{helper}");
    // Fast code may inline it (the annotation is about traces), and does:
    // `out` is tiny.
    let helper_fast = body(&ir, "helper.__yk_fast");
    assert!(!helper_fast.contains("@out.__yk_fast("), "{helper_fast}");
    // Its fast clone stays, for the dispatch of its original.
    let out = body(&ir, "out");
    assert!(out.contains("tail call i32 @out.__yk_fast("), "{out}");
    assert!(body(&ir, "out.__yk_fast").starts_with("define internal"));
    // Functions that are not annotated are inlined no more than the merged
    // module's inliner decided: `leaf` is still called.
    assert!(
        helper_fast.contains("call i32 @leaf.__yk_fast("),
        "{helper_fast}"
    );
}
