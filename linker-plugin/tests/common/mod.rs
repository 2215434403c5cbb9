//! Pieces the linker-plugin integration tests share.

// Each test file compiles this module on its own and uses part of it.
#![allow(dead_code)]

use llvm_sys::core::{LLVMGetAsString, LLVMGetInitializer};
use yk_llvm::Module;

/// A dispatch loop whose location pointer is an argument (may be null):
/// `pc` and `acc` change every iteration, `mt`/`loc` don't.
pub const LOOP: &str = r#"
declare void @yk_mt_control_point(ptr, ptr)
define i32 @interp(ptr %mt, ptr %loc, i32 %n) {
entry:
  br label %head
head:
  %pc = phi i32 [ 0, %entry ], [ %pc2, %body ]
  %acc = phi i32 [ 0, %entry ], [ %acc2, %body ]
  call void @yk_mt_control_point(ptr %mt, ptr %loc)
  %done = icmp sge i32 %pc, %n
  br i1 %done, label %exit, label %body
body:
  %acc2 = add i32 %acc, %pc
  %pc2 = add i32 %pc, 1
  br label %head
exit:
  ret i32 %acc
}
"#;

/// The module a rewritten module embeds in `__yk_ir`, parsed.
pub fn embedded(m: &Module) -> Module {
    let g = m.global("__yk_ir").unwrap();
    // SAFETY: `__yk_ir`'s initializer is a constant byte array of `m`: LLVM gives its bytes and length, copied here while `m` is alive.
    let bytes = unsafe {
        let init = LLVMGetInitializer(g);
        let mut len = 0;
        let p = LLVMGetAsString(init, &mut len);
        std::slice::from_raw_parts(p as *const u8, len).to_vec()
    };
    let bitcode = linker_plugin::ir_section::unwrap(&bytes).unwrap();
    Module::parse_bytes(bitcode, "embedded").unwrap()
}
