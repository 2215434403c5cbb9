//! Functions that are not the interpreter's own code (here: a Rust function
//! of `core`, by its debug-info source file) are marked `yk_outline` in the
//! embedded IR and get no software-tracing hooks; the interpreter's own
//! functions do.

use linker_plugin::{annotations, aot};
use yk_llvm::{self as llvm, Module};
mod common;
use common::embedded;

const IR: &str = r#"
declare void @yk_mt_control_point(ptr, ptr)

define i32 @_ZN4core3foo17h0000000000000000E(i32 %x) !dbg !10 {
  %y = add i32 %x, 1
  ret i32 %y
}

define i32 @_ZN6interp4step17h0000000000000000E(i32 %x) !dbg !12 {
  %y = mul i32 %x, 3
  ret i32 %y
}

define i32 @interp(ptr %mt, ptr %loc, i32 %n) !dbg !14 {
entry:
  br label %head
head:
  %pc = phi i32 [ 0, %entry ], [ %pc2, %body ]
  call void @yk_mt_control_point(ptr %mt, ptr %loc), !dbg !16
  %done = icmp sge i32 %pc, %n
  br i1 %done, label %exit, label %body
body:
  %a = call i32 @_ZN4core3foo17h0000000000000000E(i32 %pc)
  %pc2 = call i32 @_ZN6interp4step17h0000000000000000E(i32 %a)
  br label %head
exit:
  ret i32 %pc
}

!llvm.dbg.cu = !{!0}
!llvm.module.flags = !{!5}
!0 = distinct !DICompileUnit(language: DW_LANG_Rust, file: !1, emissionKind: LineTablesOnly)
!1 = !DIFile(filename: "src/main.rs", directory: "/home/u/interp")
!2 = !DIFile(filename: "/rustc/0123abcd/library/core/src/foo.rs", directory: "")
!5 = !{i32 2, !"Debug Info Version", i32 3}
!10 = distinct !DISubprogram(name: "foo", scope: !2, file: !2, line: 1, type: !11, spFlags: DISPFlagDefinition, unit: !0)
!11 = !DISubroutineType(types: !{})
!12 = distinct !DISubprogram(name: "step", scope: !1, file: !1, line: 3, type: !11, spFlags: DISPFlagDefinition, unit: !0)
!14 = distinct !DISubprogram(name: "interp", scope: !1, file: !1, line: 5, type: !11, spFlags: DISPFlagDefinition, unit: !0)
!16 = !DILocation(line: 7, scope: !14)
"#;

fn has_block_hook(m: &Module, fname: &str) -> bool {
    let f = m.function(fname).unwrap();
    llvm::blocks(f)
        .into_iter()
        .flat_map(llvm::instrs)
        .any(|i| llvm::called_function(i).map(llvm::name).as_deref() == Some("__yk_swt_rec_block"))
}

#[test]
fn foreign_functions_are_outlined_and_not_instrumented() {
    let m = Module::parse_ir(IR).unwrap();
    let s = aot::rewrite(&m).unwrap();
    assert_eq!(s.foreign_functions, 1);
    assert!(!has_block_hook(&m, "_ZN4core3foo17h0000000000000000E"));
    assert!(has_block_hook(&m, "_ZN6interp4step17h0000000000000000E"));
    assert!(has_block_hook(&m, "interp"));

    // The embedded IR says so too, for the trace builder.
    let e = embedded(&m);
    let ann = annotations::read(&e);
    let names: Vec<String> = ann.outline.iter().map(|&f| llvm::name(f)).collect();
    assert_eq!(names, ["_ZN4core3foo17h0000000000000000E"]);
}
