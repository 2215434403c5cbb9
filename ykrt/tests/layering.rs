//! The runtime core uses no LLVM: a check on the sources, so that the
//! layering (docs/architecture.md, "The runtime core and the LLVM
//! compiler") cannot regress without a test failing.
//!
//! Every Rust file of `ykrt/src` is the core's except the LLVM trace
//! compiler (`src/jit/`) and the unit tests' support (`src/testutil.rs`,
//! which builds fixtures with LLVM). A core file may not name an LLVM
//! binding (`llvm_sys`, `yk_llvm`, `inkwell`), not even in a comment, and
//! its code may not reach into the compiler (`crate::jit`, `super::jit`):
//! the compiler is given to the core (`MT::with_compiler`, the embedded IR's
//! reader `aotir::set_reader`, the decoded programs in the guards'
//! descriptions), never fetched by it.

use std::path::{Path, PathBuf};

/// The bindings no core file may name.
const BINDINGS: [&str; 3] = ["llvm_sys", "yk_llvm", "inkwell"];

/// How core code may not refer to the compiler.
const COMPILER_PATHS: [&str; 2] = ["crate::jit", "super::jit"];

/// Every `.rs` file under `dir`, recursively, sorted.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The core's files, relative to `src` (with `/` separators).
fn core_files(src: &Path) -> Vec<(String, String)> {
    let mut all = Vec::new();
    rust_files(src, &mut all);
    all.into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&p).unwrap();
            (rel, text)
        })
        .filter(|(rel, _)| !rel.starts_with("jit/") && rel != "testutil.rs")
        .collect()
}

/// The violations of the rules in one file's `text`: `(line number, what)`.
fn violations(text: &str) -> Vec<(usize, String)> {
    let mut v = Vec::new();
    for (i, line) in text.lines().enumerate() {
        for b in BINDINGS {
            if line.contains(b) {
                v.push((i + 1, format!("names {b}")));
            }
        }
        let code = line.split("//").next().unwrap_or("");
        for c in COMPILER_PATHS {
            if code.contains(c) {
                v.push((i + 1, format!("refers to {c}")));
            }
        }
    }
    v
}

#[test]
fn the_core_uses_no_llvm() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = core_files(&src);
    // The modules the rule is about are among those checked (a walk that
    // found nothing would pass vacuously).
    for m in [
        "mt.rs",
        "location.rs",
        "compile.rs",
        "trace/swt.rs",
        "trace/hw.rs",
        "deopt/mod.rs",
        "deopt/blackhole.rs",
        "deopt/prog.rs",
        "deopt/error.rs",
        "aotir/mod.rs",
        "aotir/check.rs",
    ] {
        assert!(
            files.iter().any(|(rel, _)| rel == m),
            "{m} is not among the core's files: {:?}",
            files.iter().map(|(r, _)| r).collect::<Vec<_>>()
        );
    }
    let mut bad = Vec::new();
    for (rel, text) in &files {
        for (line, what) in violations(text) {
            bad.push(format!("src/{rel}:{line}: {what}"));
        }
    }
    assert!(
        bad.is_empty(),
        "the runtime core must not use LLVM (move the code behind the compiler \
         boundary, into src/jit/):\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_check_sees_llvm_where_it_is() {
    // The check finds what it looks for: the compiler names the binding,
    // and a core file doing what the compiler does would be caught.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let orc = std::fs::read_to_string(src.join("jit/orc.rs")).unwrap();
    assert!(!violations(&orc).is_empty());
    assert_eq!(
        violations("use crate::mt::MT;\n// see crate::jit\nuse crate::jit::decode;\n"),
        [(3, "refers to crate::jit".to_owned())]
    );
    assert_eq!(
        violations("/// Reads yk_llvm::Module\nfn f() {}\n"),
        [(1, "names yk_llvm".to_owned())]
    );
}
