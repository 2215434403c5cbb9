//! ThinLTO bitcode (what rustc's `-C linker-plugin-lto` writes; here from
//! `clang -flto=thin`) linked by yk-ld: every module must end up in the
//! merged module, from objects and from archives alike.

use linker_plugin::config;
use std::path::Path;
use std::process::Command;

const MAIN: &str = r#"
#include <stdio.h>
int f(int);
int main(void) { printf("%d\n", f(41)); return 0; }
"#;
const F: &str = "int f(int x) { return x + 1; }\n";

fn clang() -> std::path::PathBuf {
    config::llvm_bindir().unwrap().join("clang")
}

fn compile(dir: &Path, name: &str, src: &str) -> std::path::PathBuf {
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, src).unwrap();
    let o = dir.join(format!("{name}.o"));
    let st = Command::new(clang())
        .args(["-flto=thin", "-O2", "-c"])
        .arg(&c)
        .arg("-o")
        .arg(&o)
        .status()
        .unwrap();
    assert!(st.success());
    o
}

fn link_and_run(dir: &Path, inputs: &[&str]) -> String {
    let exe = dir.join("prog");
    let out = Command::new(clang())
        .args(["-flto=thin", "-fuse-ld=lld"])
        .arg(format!("--ld-path={}", env!("CARGO_BIN_EXE_yk-ld")))
        .args(inputs)
        .arg("-o")
        .arg(&exe)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "link failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().unwrap();
    assert!(run.status.success());
    String::from_utf8(run.stdout).unwrap()
}

#[test]
fn thin_objects_are_merged() {
    let dir = tempfile::tempdir().unwrap();
    compile(dir.path(), "main", MAIN);
    compile(dir.path(), "f", F);
    assert_eq!(link_and_run(dir.path(), &["main.o", "f.o"]), "42\n");
}

#[test]
fn thin_archive_members_are_merged() {
    let dir = tempfile::tempdir().unwrap();
    compile(dir.path(), "main", MAIN);
    let f = compile(dir.path(), "f", F);
    let ar = config::llvm_bindir().unwrap().join("llvm-ar");
    let st = Command::new(ar)
        .arg("rcs")
        .arg(dir.path().join("libf.a"))
        .arg(&f)
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(link_and_run(dir.path(), &["main.o", "-L.", "-lf"]), "42\n");
}
