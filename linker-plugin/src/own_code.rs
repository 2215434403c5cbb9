//! Which functions of the merged module are the interpreter's own code.
//!
//! A C interpreter links `libykcapi` as a native library, so every function
//! with IR is the interpreter's. A Rust interpreter built with
//! `yk-config --rustflags` is different: `RUSTFLAGS` applies to every crate,
//! so `ykrt` itself, its dependencies and the interpreter's registry
//! dependencies are bitcode in the merged module too (Rust's `std` stays
//! native). Those must not be instrumented (the runtime would record its
//! own blocks while recording, and every recorded block costs) nor inlined
//! into traces: yk-ld treats them as `yk_outline` functions.
//!
//! The test is the source file of each function's `DISubprogram` (so the
//! Rust interpreter must be built with debug info, which `--rustflags`
//! asks for): a Rust source (`.rs`) of Rust's standard library
//! (`/rustc/<hash>/library/...`), of a crate cargo fetched (a path with
//! `registry/src/` or `git/checkouts/`), or of yk's own runtime crates.
//! Everything else (the interpreter's own crates, path dependencies of its
//! workspace, any C code) is the interpreter's. This is by source rather
//! than by the crate a function was compiled in on purpose: a generic
//! `Vec::push` instantiated in the interpreter's crate is std's code and is
//! outlined, while code LLVM inlined into an interpreter function is part of
//! that function and is traced. Functions without debug info are judged by
//! their mangled name (legacy Rust mangling of `std`, `core`, `alloc` and
//! yk's crates' paths).

use llvm_sys::core::*;
use llvm_sys::debuginfo::*;
use llvm_sys::prelude::*;
use std::path::{Path, PathBuf};
use yk_llvm::{self as llvm, Module};

/// The directories of yk's own crates that can be compiled into a Rust
/// interpreter (as path dependencies of this source tree).
fn yk_crate_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("/"));
    ["ykrt", "ykcapi", "linker-plugin", "yk-abi", "yk-llvm"]
        .iter()
        .map(|d| root.join(d))
        .collect()
}

/// Is a Rust source at `path` foreign to the interpreter?
pub fn is_foreign_source(path: &Path, yk_dirs: &[PathBuf]) -> bool {
    if path.extension().is_none_or(|e| e != "rs") {
        return false;
    }
    let s = path.to_string_lossy();
    s.starts_with("/rustc/")
        || s.starts_with("/rust/deps/")
        || s.contains("/registry/src/")
        || s.contains("/git/checkouts/")
        || yk_dirs.iter().any(|d| path.starts_with(d))
}

/// Crates whose functions are foreign when there is no debug info to go by
/// (`__rustc` is the allocator shim rustc generates).
const FOREIGN_CRATES: &[&str] = &[
    "std", "core", "alloc", "ykrt", "yk_abi", "yk_llvm", "__rustc",
];

/// Is `name` a Rust symbol whose path starts in one of [`FOREIGN_CRATES`]?
/// Legacy mangling (`_ZN<len><crate>...`) and v0 mangling
/// (`_R` `N<ns>`... `C[s<disambiguator>_]<len>[_]<crate>...`) are read;
/// paths that start with an `impl` (`<T as Trait>`) are not judged.
pub fn is_foreign_symbol(name: &str) -> bool {
    crate_of_symbol(name).is_some_and(|c| FOREIGN_CRATES.contains(&c))
}

/// The crate a mangled Rust symbol's path starts in.
fn crate_of_symbol(name: &str) -> Option<&str> {
    let ident = |s: &str| -> Option<(usize, usize)> {
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        let len = s[..digits].parse::<usize>().ok()?;
        Some((digits, len))
    };
    if let Some(rest) = name.strip_prefix("_ZN") {
        let (digits, len) = ident(rest)?;
        return rest.get(digits..digits + len);
    }
    let mut s = name.strip_prefix("_R")?;
    while let Some(r) = s.strip_prefix('N') {
        s = r.get(1..)?; // the namespace tag
    }
    s = s.strip_prefix('C')?;
    if let Some(r) = s.strip_prefix('s') {
        s = &r[r.find('_')? + 1..];
    }
    let (digits, len) = ident(s)?;
    let s = &s[digits..];
    // A `_` separates the length from an identifier starting with a digit or `_`.
    let s = s.strip_prefix('_').filter(|_| s.len() > len).unwrap_or(s);
    s.get(..len)
}

/// The source file of `f`'s `DISubprogram`, if it has one.
fn source_file(f: LLVMValueRef) -> Option<PathBuf> {
    // SAFETY: `f` is a live function of the module being linked (yk-llvm rules
    // 2 and 3); its subprogram and the subprogram's file are checked non-null
    // before use, and `di_file_name` gets a `DIFile`, as it requires.
    unsafe {
        let sp = LLVMGetSubprogram(f);
        if sp.is_null() {
            return None;
        }
        let file = LLVMDIScopeGetFile(sp);
        if file.is_null() {
            return None;
        }
        let (name, dir) = llvm::di_file_name(file);
        Some(Path::new(&dir).join(name))
    }
}

/// The functions defined in `m` that are not the interpreter's own code,
/// in module order. `keep` (the functions holding a control point) are
/// never among them.
pub fn foreign_functions(m: &Module, keep: &[String]) -> Vec<LLVMValueRef> {
    let yk_dirs = yk_crate_dirs();
    m.functions()
        .into_iter()
        // SAFETY: `f` is one of `m.functions()`, a live function of `m`
        // (yk-llvm rule 2).
        .filter(|&f| unsafe { LLVMIsDeclaration(f) } == 0)
        .filter(|&f| {
            let name = llvm::name(f);
            if keep.contains(&name) {
                return false;
            }
            match source_file(f) {
                Some(path) => is_foreign_source(&path, &yk_dirs),
                None => is_foreign_symbol(&name),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_sources() {
        let yk = yk_crate_dirs();
        let f = |p: &str| is_foreign_source(Path::new(p), &yk);
        assert!(f("/rustc/0123abcd/library/alloc/src/vec/mod.rs"));
        assert!(f("/rust/deps/hashbrown-0.15.5/src/raw/mod.rs"));
        assert!(f(
            "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/libc-0.2.191/src/lib.rs"
        ));
        assert!(f("/home/u/.cargo/git/checkouts/foo-1234/abcd/src/lib.rs"));
        assert!(f(&yk[0].join("src/mt.rs").to_string_lossy()));
        // The interpreter's own code, and C (even from a fetched crate).
        assert!(!f("/home/u/interp/src/main.rs"));
        assert!(!f("src/interp.rs"));
        assert!(!f(
            "/root/.cargo/registry/src/x/lua-src-546.0.2/lua-5.4.6/lvm.c"
        ));
    }

    #[test]
    fn foreign_symbols() {
        assert!(is_foreign_symbol(
            "_ZN5alloc3vec16Vec$LT$T$GT$4push17h0123456789abcdefE"
        ));
        assert!(is_foreign_symbol("_ZN4ykrt2mt2MT3new17h0123456789abcdefE"));
        assert!(is_foreign_symbol(
            "_ZN6yk_abi7outcome7is_jump17h0123456789abcdefE"
        ));
        assert!(!is_foreign_symbol(
            "_ZN7rust_bc6interp3run17h0123456789abcdefE"
        ));
        assert!(!is_foreign_symbol("_ZN6core_x3foo17h0123456789abcdefE"));
        assert!(!is_foreign_symbol("main"));
        assert!(!is_foreign_symbol("_ZN99x"));
        // v0: rustc's allocator shim, and `core::ptr::drop_in_place`.
        assert!(is_foreign_symbol(
            "_RNvCsfLfy6EI15iL_7___rustc12___rust_alloc"
        ));
        assert!(is_foreign_symbol("_RNvNtCs1234_4core3ptr13drop_in_place"));
        assert!(!is_foreign_symbol("_RNvCs1234_7rust_bc4main"));
        assert!(!is_foreign_symbol("_R"));
    }
}
