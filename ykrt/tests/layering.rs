//! The runtime's layering, checked on the sources so that it cannot regress
//! without a test failing (docs/architecture.md, "The runtime core and the
//! LLVM compiler" and "Layers"):
//!
//! 1. The runtime core uses no LLVM.
//! 2. The modules of `ykrt` form layers ([`LAYERS`]): a module refers only
//!    to modules of lower layers, so there is no import cycle (none through
//!    the `MT` in particular: nothing below it knows it).
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
        "guard/mod.rs",
        "guard/prog.rs",
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

/// `ykrt`'s top-level modules, bottom layer first. A module may refer
/// (`crate::m`, `use crate::{m, ..}`) only to modules of lower layers; a
/// module missing here fails the test (every module has its place).
const LAYERS: &[&[&str]] = &[
    // Plain services and data.
    &["abort", "config", "reclaim", "aot"],
    // Locations: their state word, claims, the installed trace.
    &["location"],
    &["log"],
    &["stats", "aotir"],
    // What a compiled trace's guards need at run time.
    &["guard"],
    // What flows between the recorder and the compiler.
    &["compile"],
    // The recorder (software and hardware), and the cut function entries.
    &["trace"],
    // The meta-tracer: control point, recording, compile queue, side traces.
    &["mt"],
    // The guard exits and the blackhole; the C ABI.
    &["deopt", "abi"],
    // The LLVM trace compiler.
    &["jit"],
];

/// The top-level modules that the code of one source file refers to through
/// `crate::` paths (grouped `use crate::{a, b::c}` included), with the line
/// of the first reference. Comments and unit tests (after `#[cfg(test)]`)
/// are not looked at.
fn crate_refs(text: &str) -> Vec<(String, usize)> {
    let code: String = text
        .split("#[cfg(test)]")
        .next()
        .unwrap_or("")
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out: Vec<(String, usize)> = Vec::new();
    let mut add = |name: &str, at: usize| {
        let line = code[..at].matches('\n').count() + 1;
        if !name.is_empty() && name != "self" && !out.iter().any(|(n, _)| n == name) {
            out.push((name.to_owned(), line));
        }
    };
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut from = 0;
    while let Some(i) = code[from..].find("crate::") {
        let at = from + i + "crate::".len();
        from = at;
        if code[at..].starts_with('{') {
            // The names at the group's first level.
            let mut depth = 0;
            let mut item_start = at + 1;
            for (k, c) in code[at..].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            add(&ident(&code[item_start..at + k]), at);
                            break;
                        }
                    }
                    ',' if depth == 1 => {
                        add(&ident(&code[item_start..at + k]), at);
                        item_start = at + k + 1;
                    }
                    _ => {}
                }
            }
        } else {
            add(&ident(&code[at..]), at);
        }
    }
    out
}

#[test]
fn modules_refer_only_to_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    rust_files(&src, &mut all);
    let layer = |m: &str| LAYERS.iter().position(|l| l.contains(&m));
    let mut bad = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for p in all {
        let rel = p
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let top = rel
            .split('/')
            .next()
            .unwrap()
            .trim_end_matches(".rs")
            .to_owned();
        // The crate root, the unit tests and their support are not layers.
        if top == "lib" || top == "testutil" || top.ends_with("_tests") || rel.contains("/tests") {
            continue;
        }
        seen.insert(top.clone());
        let Some(own) = layer(&top) else {
            bad.push(format!("src/{rel}: module `{top}` has no layer in LAYERS"));
            continue;
        };
        let text = std::fs::read_to_string(&p).unwrap();
        for (m, line) in crate_refs(&text) {
            if m == top {
                continue;
            }
            match layer(&m) {
                Some(l) if l < own => {}
                Some(_) => bad.push(format!(
                    "src/{rel}:{line}: `{top}` refers to `{m}`, which is not in a lower layer"
                )),
                None => {}
            }
        }
    }
    // Every layer's modules exist (a misspelt name would check nothing).
    for m in LAYERS.iter().flat_map(|l| l.iter()) {
        assert!(
            seen.contains(*m),
            "LAYERS names `{m}`, which is not a module of src/"
        );
    }
    assert!(
        bad.is_empty(),
        "the runtime's modules must refer only to lower layers (see LAYERS):\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_layer_check_sees_references() {
    let refs = |t: &str| {
        crate_refs(t)
            .into_iter()
            .map(|(m, _)| m)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        refs("use crate::{\n    abort::Abort,\n    location::{Failure, State},\n};\nfn f() { crate::mt::MT::new(); }\n"),
        ["abort", "location", "mt"]
    );
    // Comments and unit tests don't count.
    assert!(refs("// crate::mt\n#[cfg(test)]\nmod tests { use crate::mt; }\n").is_empty());
    assert_eq!(
        crate_refs("\n\nuse crate::guard::TraceInfo;\n"),
        [("guard".to_owned(), 3)]
    );
}
