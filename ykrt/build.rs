//! Builds `src/jit/materialize.cpp`, the runtime's only C++: lazy loading of
//! the embedded bitcode module's function bodies, which LLVM's C API lacks.
//! It is compiled against the LLVM that llvm-sys links (LLVM_SYS_221_PREFIX,
//! set in .cargo/config.toml, else `llvm-config` on PATH), with clang++ of
//! that LLVM when there is one.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let src = "src/jit/materialize.cpp";
    println!("cargo:rerun-if-changed={src}");
    println!("cargo:rerun-if-env-changed=LLVM_SYS_221_PREFIX");
    let prefix = std::env::var_os("LLVM_SYS_221_PREFIX").map(PathBuf::from);
    let llvm_config = prefix.as_ref().map_or_else(
        || PathBuf::from("llvm-config"),
        |p| p.join("bin/llvm-config"),
    );
    let out = Command::new(&llvm_config)
        .args(["--includedir", "--bindir"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", llvm_config.display()));
    assert!(
        out.status.success(),
        "{} --includedir --bindir failed",
        llvm_config.display()
    );
    let text = String::from_utf8(out.stdout).expect("llvm-config printed non-UTF-8");
    let mut lines = text.lines();
    let (include, bindir) = (lines.next().unwrap(), lines.next().unwrap());
    let mut b = cc::Build::new();
    let clang = PathBuf::from(bindir).join("clang++");
    if clang.exists() {
        b.compiler(clang);
    }
    b.cpp(true)
        .file(src)
        .include(include)
        .flag("-std=c++17")
        .flag("-fno-rtti")
        .flag("-fno-exceptions")
        .warnings(false)
        .compile("yk_materialize");
}
