//! `yk-ld`, the link driver clang runs in place of `ld.lld`.
//!
//! 1. `ld.lld` resolves symbols and runs the normal LTO pipeline over all
//!    bitcode inputs, writing the merged module (`--plugin-opt=emit-llvm`).
//! 2. The AOT passes ([`crate::aot`]) rewrite that module.
//! 3. `ld.lld` links again: the rewritten module replaces every bitcode input
//!    and is only code-generated (`--lto-O0`, codegen at the requested level,
//!    with the basic-block address map), native inputs are kept. Bitcode
//!    members of archives were already pulled into the merged module, so the
//!    second link gets only an archive's native members (as `--start-lib`
//!    objects) to keep their lazy semantics without linking anything twice.

use crate::{aot, config, thin_lto};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Options of `ld.lld` that take their value as the next argument.
const TAKES_VALUE: &[&str] = &[
    "-o",
    "-m",
    "-dynamic-linker",
    "--dynamic-linker",
    "-T",
    "--script",
    "-z",
    "-soname",
    "--soname",
    "-h",
    "-rpath",
    "-R",
    "-e",
    "--entry",
    "-u",
    "--undefined",
    "-y",
    "-L",
    "--library-path",
    "-l",
    "--library",
    "-Map",
    "--Map",
    "--version-script",
    "--dynamic-list",
    "-plugin",
    "--plugin",
    "-plugin-opt",
    "--plugin-opt",
    "-mllvm",
    "--sysroot",
    "-a",
    "-b",
    "--format",
    "--defsym",
    "--wrap",
    "--exclude-libs",
    "--hash-style",
    "--build-id",
    "--sort-section",
    "--section-start",
    "-Ttext",
    "-Tdata",
    "-Tbss",
    "--init",
    "--fini",
    "--icf",
    "--threads",
    "--lto-O",
    "--error-limit",
    "-F",
    "-f",
    "--filter",
    "--auxiliary",
];

/// Is `data` LLVM bitcode (raw or in the bitcode wrapper)?
pub fn is_bitcode(data: &[u8]) -> bool {
    data.starts_with(b"BC\xC0\xDE") || data.starts_with(&[0xDE, 0xC0, 0x17, 0x0B])
}

fn is_archive(data: &[u8]) -> bool {
    data.starts_with(b"!<arch>\n")
}

/// Expands `@file` response files (one level is what clang produces).
fn expand_response_files(args: Vec<String>) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for a in args {
        if let Some(f) = a.strip_prefix('@') {
            let text = std::fs::read_to_string(f).with_context(|| format!("reading {a}"))?;
            out.extend(
                text.split_whitespace()
                    .map(|s| s.trim_matches('"').to_owned()),
            );
        } else {
            out.push(a);
        }
    }
    Ok(out)
}

/// What happens to one argument in the second link.
enum Input {
    /// An argument kept as it is.
    Keep,
    /// A bitcode object: dropped (it is inside the merged module).
    Bitcode,
    /// An archive with bitcode members: replaced by its native members.
    MixedArchive(PathBuf),
}

/// Finds `-lname` the way lld does: `libname.so` (unless static) then
/// `libname.a` in each `-L` directory in order.
fn resolve_lib(name: &str, dirs: &[String], static_only: bool) -> Option<PathBuf> {
    let candidates: Vec<String> = if let Some(exact) = name.strip_prefix(':') {
        vec![exact.to_owned()]
    } else if static_only {
        vec![format!("lib{name}.a")]
    } else {
        vec![format!("lib{name}.so"), format!("lib{name}.a")]
    };
    for d in dirs {
        for c in &candidates {
            let p = Path::new(d).join(c);
            if p.exists() {
                return Some(p);
            }
        }
    }
    None
}

fn classify(path: &Path) -> Result<Input> {
    let Ok(data) = std::fs::read(path) else {
        return Ok(Input::Keep);
    };
    if is_bitcode(&data) {
        return Ok(Input::Bitcode);
    }
    if is_archive(&data) {
        let ar = object::read::archive::ArchiveFile::parse(&*data)
            .with_context(|| format!("reading archive {}", path.display()))?;
        for member in ar.members() {
            let member = member?;
            if is_bitcode(member.data(&*data)?) {
                return Ok(Input::MixedArchive(path.to_owned()));
            }
        }
    }
    Ok(Input::Keep)
}

/// Writes the native members of archive `path` into `dir`, returning their paths.
fn native_members(path: &Path, dir: &Path, tag: usize) -> Result<Vec<String>> {
    let data = std::fs::read(path)?;
    let ar = object::read::archive::ArchiveFile::parse(&*data)?;
    let mut out = Vec::new();
    for (k, member) in ar.members().enumerate() {
        let member = member?;
        let bytes = member.data(&*data)?;
        if is_bitcode(bytes) {
            continue;
        }
        let p = dir.join(format!("ar{tag}_{k}.o"));
        std::fs::write(&p, bytes)?;
        out.push(p.to_string_lossy().into_owned());
    }
    Ok(out)
}

fn run_lld(lld: &Path, args: &[String], what: &str) -> Result<()> {
    if std::env::var_os("YKLD_VERBOSE").is_some() {
        eprintln!("yk-ld: {what}: {} {}", lld.display(), args.join(" "));
    }
    let st = Command::new(lld)
        .args(args)
        .status()
        .with_context(|| format!("running {}", lld.display()))?;
    if !st.success() {
        bail!("yk-ld: {what} failed ({st})");
    }
    Ok(())
}

/// Runs the link driver with `ld.lld`'s arguments; returns the exit code.
pub fn main(args: Vec<String>) -> Result<i32> {
    let args = expand_response_files(args)?;
    let lld = config::llvm_bindir()?.join("ld.lld");

    // Scan the arguments: where the output goes, which inputs are bitcode.
    let mut output = None;
    let mut lib_dirs = Vec::new();
    let mut static_only = false;
    let mut passthrough = false;
    let mut kinds = Vec::with_capacity(args.len());
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        let mut kind = Input::Keep;
        match a.as_str() {
            "-r" | "--relocatable" | "-shared" | "--shared" | "--version" | "-v" | "--help" => {
                passthrough = true
            }
            "-static" | "-Bstatic" | "--Bstatic" | "-dn" | "-non_shared" => static_only = true,
            "-Bdynamic" | "--Bdynamic" | "-dy" | "-call_shared" => static_only = false,
            _ => {}
        }
        if a == "-o" || a == "--output" {
            output = args.get(i + 1).cloned();
        } else if let Some(o) = a.strip_prefix("--output=") {
            output = Some(o.to_owned());
        } else if let Some(d) = a.strip_prefix("-L").filter(|d| !d.is_empty()) {
            lib_dirs.push(d.to_owned());
        } else if a == "-L" {
            lib_dirs.extend(args.get(i + 1).cloned());
        }
        if TAKES_VALUE.contains(&a.as_str()) {
            kinds.push(Input::Keep);
            kinds.push(Input::Keep);
            i += 2;
            continue;
        }
        if !a.starts_with('-') {
            kind = classify(Path::new(a))?;
        } else if let Some(name) = a.strip_prefix("-l").filter(|n| !n.is_empty()) {
            if let Some(p) = resolve_lib(name, &lib_dirs, static_only) {
                if let Input::MixedArchive(p) = classify(&p)? {
                    kind = Input::MixedArchive(p);
                }
            }
        }
        kinds.push(kind);
        i += 1;
    }
    kinds.truncate(args.len());
    let has_bitcode = kinds
        .iter()
        .any(|k| matches!(k, Input::Bitcode | Input::MixedArchive(_)));
    if passthrough || !has_bitcode {
        run_lld(&lld, &args, "link")?;
        return Ok(0);
    }
    let Some(output) = output else {
        bail!("yk-ld: no output file (-o) given");
    };

    let tmp = tempfile::Builder::new().prefix("yk-ld").tempdir()?;
    let keep = std::env::var_os("YKLD_SAVE_TEMPS").map(PathBuf::from);
    let merged = tmp.path().join("merged.bc");
    let rewritten = tmp.path().join("rewritten.bc");

    // 1. Symbol resolution and the normal LTO pipeline; the merged module out.
    let mut step1 = Vec::with_capacity(args.len() + 4);
    let mut skip_next = false;
    for (k, a) in args.iter().enumerate() {
        if skip_next {
            skip_next = false;
            continue;
        }
        if a == "-o" || a == "--output" {
            skip_next = true;
            continue;
        }
        if a.starts_with("--output=") {
            continue;
        }
        // ThinLTO bitcode (Rust's) must become regular LTO to be merged.
        let input = match &kinds[k] {
            Input::Bitcode => Some(PathBuf::from(a)),
            Input::MixedArchive(p) => Some(p.clone()),
            Input::Keep => None,
        };
        if let Some(input) = input {
            if let Some(regular) = thin_lto::regular_lto_input(&input, tmp.path(), k)? {
                step1.extend(regular);
                continue;
            }
        }
        step1.push(a.clone());
    }
    step1.push("-o".into());
    step1.push(merged.to_string_lossy().into_owned());
    step1.push("--plugin-opt=emit-llvm".into());
    // Traces are built from this IR: keep it free of vector code, which
    // interpreters rarely benefit from and neither the trace builder nor the
    // blackhole takes. This covers the LTO link; `yk-config --cflags` covers
    // clang's own (pre-link) vectorisers.
    step1.push("--plugin-opt=-vectorize-loops=false".into());
    step1.push("--plugin-opt=-vectorize-slp=false".into());
    run_lld(&lld, &step1, "LTO link")?;

    // 2. The AOT passes.
    aot::rewrite_file(&merged, &rewritten)?;

    // 3. Codegen and the real link.
    let cg_level = args
        .iter()
        .rev()
        .find_map(|a| {
            a.strip_prefix("-plugin-opt=O")
                .or_else(|| a.strip_prefix("--plugin-opt=O"))
                .or_else(|| a.strip_prefix("--lto-O"))
        })
        .unwrap_or("2")
        .to_owned();
    let mut step3 = Vec::with_capacity(args.len() + 4);
    let mut placed = false;
    let mut i = 0;
    let mut ar_tag = 0;
    while i < args.len() {
        let a = &args[i];
        match &kinds[i] {
            Input::Bitcode => {
                if !placed {
                    step3.push(rewritten.to_string_lossy().into_owned());
                    placed = true;
                }
            }
            Input::MixedArchive(p) => {
                let members = native_members(p, tmp.path(), ar_tag)?;
                ar_tag += 1;
                if !members.is_empty() {
                    step3.push("--start-lib".into());
                    step3.extend(members);
                    step3.push("--end-lib".into());
                }
            }
            Input::Keep => {
                let is_opt_level = a.starts_with("-plugin-opt=O")
                    || a.starts_with("--plugin-opt=O")
                    || a.starts_with("--lto-O");
                if !is_opt_level {
                    step3.push(a.clone());
                }
            }
        }
        i += 1;
    }
    if !placed {
        step3.push(rewritten.to_string_lossy().into_owned());
    }
    step3.push("--lto-O0".into());
    step3.push(format!("--lto-CGO{cg_level}"));
    step3.push("--lto-basic-block-address-map".into());
    let r = run_lld(&lld, &step3, "final link");
    if let Some(dir) = keep {
        std::fs::create_dir_all(&dir)?;
        for f in ["merged.bc", "rewritten.bc"] {
            let _ = std::fs::copy(tmp.path().join(f), dir.join(f));
        }
    }
    r?;
    let _ = output;
    Ok(0)
}
