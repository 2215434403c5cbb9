//! The AOT passes run by `yk-ld` on the merged module, in order.

use crate::{annotations, cp_fast_path, ctrlpoint, embed, fast, own_code, swt};
use anyhow::{bail, Result};
use std::path::Path;
use yk_llvm::Module;

/// What the passes did, for `YKLD_VERBOSE` and tests.
#[derive(Debug, Default)]
pub struct Summary {
    /// Functions holding a control point.
    pub control_points: Vec<String>,
    /// Blocks given a software-tracing hook.
    pub instrumented_blocks: usize,
    /// Size of the embedded IR in bytes.
    pub ir_bytes: usize,
    /// Control points given an inline fast path ([`cp_fast_path`]).
    pub fast_paths: usize,
    /// Functions left alone as not the interpreter's own code ([`own_code`]).
    pub foreign_functions: usize,
    /// Functions given an uninstrumented fast clone ([`fast`]).
    pub fast_clones: usize,
    /// Interpreter functions given a recording continuation ([`fast`]).
    pub resumes: usize,
}

/// Rewrites `m` in place; see DESIGN.md "The pipeline", step 2 and 3.
pub fn rewrite(m: &Module) -> Result<Summary> {
    let control_points = ctrlpoint::transform(m)?;
    if control_points.is_empty() {
        // No control point: no JIT, the binary is linked as it is.
        return Ok(Summary::default());
    }
    m.verify()?;
    // Code compiled into the binary that is not the interpreter's (a Rust
    // interpreter's runtime and library crates) is neither instrumented nor
    // inlined into traces.
    let foreign = own_code::foreign_functions(m, &control_points);
    annotations::mark_outline(m, &foreign);
    let ann = annotations::read(m);
    // Indices in the embedded IR are positions in these lists.
    let funcs = m.functions();
    let globals = m.globals();
    let ir = m.to_bitcode_line_tables()?;
    if u32::try_from(ir.len()).is_err() {
        bail!(
            "the module's bitcode is {} bytes: the yk_ir section holds less than 4 GiB",
            ir.len()
        );
    }
    // `yk_disjoint` is a fact for the trace builder (the embedded IR just
    // taken keeps its calls); the running code needs none of it.
    swt::erase_disjoints(m);
    let (flag, flag_addr) = embed::add_swt_flag(m);
    // Uninstrumented copies of the traceable functions, run while the
    // thread is not recording.
    let cp_fns: Vec<_> = control_points
        .iter()
        .filter_map(|n| m.function(n))
        .collect();
    let clones = fast::clone(m, &funcs, &foreign, &cp_fns, flag)?;
    // The fast clones' control points get their inline fast path before
    // they are optimised (the runtime call is then on a cold path).
    let fast_clone_paths = cp_fast_path::add_to(m, &clones.cp_calls)?;
    fast::optimise(m, &clones, &ann)?;
    let instrumented_blocks = swt::instrument(
        m,
        &funcs,
        &ann,
        flag,
        &foreign,
        &clones.resumes,
        &clones.hookless(),
    );
    fast::add_entry_dispatch(m, &clones, flag);
    // Only in the running binary (the embedded IR is already taken): skip
    // the runtime call where it would do nothing.
    let fast_paths = fast_clone_paths + cp_fast_path::add(m)?;
    embed::embed(m, &ir, &funcs, &globals, flag_addr);
    // The final link's LTO step runs at -O0 (the module is already
    // optimised), which doesn't inline: inline the hooks here.
    m.run_passes("always-inline")?;
    if let (Err(e), Some(p)) = (m.verify(), std::env::var_os("YKLD_DUMP_BAD_MODULE")) {
        let _ = std::fs::write(p, m.to_text());
        return Err(e);
    }
    m.verify()?;
    Ok(Summary {
        control_points,
        instrumented_blocks,
        ir_bytes: ir.len(),
        fast_paths,
        foreign_functions: foreign.len(),
        fast_clones: clones.fast.len(),
        resumes: clones.resumes.len(),
    })
}

/// Reads bitcode from `input`, rewrites it and writes it to `output`.
pub fn rewrite_file(input: &Path, output: &Path) -> Result<Summary> {
    let m = Module::parse_file(input)?;
    let s = rewrite(&m)?;
    if std::env::var_os("YKLD_VERBOSE").is_some() {
        eprintln!("yk-ld: {s:?}");
    }
    m.write_file(output)?;
    Ok(s)
}
