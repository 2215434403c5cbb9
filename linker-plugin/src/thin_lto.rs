//! ThinLTO bitcode made regular-LTO bitcode for the first link.
//!
//! yk-ld's first link must produce one merged module (`--plugin-opt=emit-llvm`
//! writes the module of each LTO task to the same file). That holds for
//! regular (full) LTO, which merges every input into one module, but not for
//! ThinLTO, where each input module is its own task. `clang -flto` writes
//! regular-LTO bitcode (module flag `ThinLTO` = 0), but rustc's
//! `-C linker-plugin-lto` writes ThinLTO bitcode (a per-module summary, no
//! such flag), and lld has no switch to treat it as regular LTO. So such
//! inputs are rewritten without their summary (plain bitcode is regular LTO)
//! into yk-ld's temporary directory, and a rewritten archive is passed as
//! `--start-lib <members> --end-lib`, which keeps its lazy semantics.

use crate::link::is_bitcode;
use anyhow::{Context, Result};
use llvm_sys::core::*;
use std::path::Path;
use yk_llvm::Module;

/// Must bitcode module `data` be rewritten: might lld treat it as ThinLTO?
/// Regular-LTO producers (clang `-flto`) say they are with module flag
/// `ThinLTO` = 0; rewriting a module that had no summary anyway is harmless.
pub fn needs_rewrite(data: &[u8], name: &str) -> Result<bool> {
    // Cheap first: no flag name anywhere in the bytes, no flag.
    if !data.windows(7).any(|w| w == b"ThinLTO") {
        return Ok(true);
    }
    let m = Module::parse_bytes(data, name)?;
    // SAFETY: `m` was just parsed and lives to the end of the function (yk-llvm
    // rule 1); the flag name is passed with its length; a null flag is handled,
    // and the value is read as an integer only after `LLVMIsAConstantInt`.
    unsafe {
        let md = LLVMGetModuleFlag(m.m, c"ThinLTO".as_ptr(), 7);
        if md.is_null() {
            return Ok(true);
        }
        let v = LLVMMetadataAsValue(m.ctx, md);
        Ok(LLVMIsAConstantInt(v).is_null() || LLVMConstIntGetZExtValue(v) != 0)
    }
}

/// `data` (a ThinLTO module) as plain bitcode, written to `out`.
fn write_regular(data: &[u8], name: &str, out: &Path) -> Result<()> {
    let m = Module::parse_bytes(data, name)?;
    m.write_file(out)
}

/// What the first link gets in place of input `path` (a bitcode object or
/// an archive with bitcode members), if it holds ThinLTO bitcode; `None`
/// to pass it as it is. `tag` makes the temporary names unique.
pub fn regular_lto_input(path: &Path, tmp: &Path, tag: usize) -> Result<Option<Vec<String>>> {
    let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let name = path.display().to_string();
    if is_bitcode(&data) {
        if !needs_rewrite(&data, &name)? {
            return Ok(None);
        }
        let out = tmp.join(format!("lto{tag}.bc"));
        write_regular(&data, &name, &out)?;
        return Ok(Some(vec![out.to_string_lossy().into_owned()]));
    }
    let ar = object::read::archive::ArchiveFile::parse(&*data)
        .with_context(|| format!("reading archive {}", path.display()))?;
    let mut members = Vec::new();
    let mut any_thin = false;
    for (k, member) in ar.members().enumerate() {
        let member = member?;
        let bytes = member.data(&*data)?;
        let mname = format!("{name}({})", String::from_utf8_lossy(member.name()));
        let out = tmp.join(format!("lto{tag}_{k}.o"));
        if is_bitcode(bytes) {
            if needs_rewrite(bytes, &mname)? {
                any_thin = true;
                write_regular(bytes, &mname, &out)?;
            } else {
                std::fs::write(&out, bytes)?;
            }
        } else if bytes.starts_with(b"\x7fELF") {
            std::fs::write(&out, bytes)?;
        } else {
            // Not an object (an rlib's `lib.rmeta`, a symbol table).
            continue;
        }
        members.push(out.to_string_lossy().into_owned());
    }
    if !any_thin {
        return Ok(None);
    }
    let mut args = vec!["--start-lib".to_owned()];
    args.extend(members);
    args.push("--end-lib".to_owned());
    Ok(Some(args))
}
