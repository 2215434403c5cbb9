//! The ahead-of-time half of yk: `yk-config` (compiler and linker flags) and
//! `yk-ld` (the link driver that rewrites the interpreter's merged LLVM
//! module: control-point transform, IR embedding, software-tracing
//! instrumentation). See docs/architecture.md and docs/abi.md. The LLVM helpers
//! and the liveness analysis are the `yk-llvm` crate's; the names and layouts
//! shared with the runtime are the `yk-abi` crate's.

#![warn(missing_docs)]
// The passes pass LLVM's opaque handles (`LLVMValueRef` etc.) around as
// values, as the C API does; they are not Rust pointers we dereference (see
// the safety rules in `yk-llvm`).
#![allow(clippy::not_unsafe_ptr_arg_deref)]

pub mod annotations;
pub mod aot;
pub mod config;
pub mod cp_fast_path;
pub mod ctrlpoint;
pub mod embed;
pub mod fast;
pub mod ir_section;
pub mod link;
pub mod own_code;
pub mod swt;
pub mod thin_lto;
