//! The trace IR on a real interpreter: `bench/arith_interp.c`, a stack-machine bytecode
//! interpreter (switch dispatch, operand stack in an array indexed by `sp`, the bytecode
//! index promoted), built with the yk toolchain.
//!
//! Its loop must be compiled and run, compute what the interpreter computes with the JIT
//! off, and the optimised trace must be the loop's real work: the dispatch, decoding and
//! operand-stack reads folded away (every push is followed by its pop in the same iteration,
//! so the heap cache forwards each stack read from the write before it), leaving a few dozen
//! instructions of the several hundred the walk appended.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

use c_tests::toolchain;

fn program() -> &'static Path {
    static EXE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let r = EXE.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/arith_interp.c");
        toolchain::build_test_program(&src, "trace_ir", "arith_interp")
            .map_err(|e| format!("{e:#}"))
    });
    match r {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

/// Runs the interpreter for `n` iterations with `env`; returns stdout.
fn run(n: &str, env: &[(&str, &str)]) -> String {
    let out = Command::new(program())
        .arg(n)
        .envs(env.iter().copied())
        .env("YKD_SERIALISE_COMPILATION", "1")
        .env("YK_COMPILE_BUDGET", "0")
        .output()
        .expect("running arith_interp");
    assert!(
        out.status.success(),
        "arith_interp failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The value of `"key": N` in the stats JSON.
fn stat(json: &str, key: &str) -> u64 {
    let pat = format!("\"{key}\": ");
    let at = json
        .find(&pat)
        .unwrap_or_else(|| panic!("no {key} in {json}"))
        + pat.len();
    json[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// The last `trace-ir` section (the optimised trace) of an IR log.
fn last_trace_ir(log: &str) -> &str {
    let begin = "--- Begin trace-ir ---\n";
    let at = log.rfind(begin).expect("no trace-ir section") + begin.len();
    let end = log[at..].find("--- End trace-ir ---").unwrap();
    &log[at..at + end]
}

#[test]
fn arith_loop_through_the_trace_ir() {
    let dir = program().parent().unwrap();
    let ir = dir.join("trace_ir.log");
    let stats = dir.join("stats.json");
    let log_ir = format!("{}:trace-ir", ir.display());
    let tir = run(
        "200000",
        &[
            ("YKD_LOG_IR", &log_ir),
            ("YKD_LOG_STATS", stats.to_str().unwrap()),
        ],
    );
    let off = run("200000", &[("YK_JITC", "none")]);
    assert_eq!(tir, off, "the trace computes something else");

    let stats = fs::read_to_string(&stats).unwrap();
    assert!(stat(&stats, "traces_compiled_ok") >= 1, "{stats}");
    assert!(stat(&stats, "trace_executions") >= 1, "{stats}");
    assert!(
        stat(&stats, "tir_appended") >= 10 * stat(&stats, "tir_backward"),
        "{stats}"
    );

    let log = fs::read_to_string(&ir).unwrap();
    let t = last_trace_ir(&log);
    let body: Vec<&str> = t
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("  jump"))
        .collect();
    // Values defined by (or offset from) a `dyn_ptr_add`: the operand stack's slots (`vars`
    // and the bytecode are indexed by constants once the bytecode is folded).
    let mut stack_ptrs: Vec<String> = Vec::new();
    for l in &body {
        let Some((def, rhs)) = l.trim().split_once(" = ") else {
            continue;
        };
        let from_stack = rhs.starts_with("dyn_ptr_add")
            || (rhs.starts_with("ptr_add")
                && stack_ptrs
                    .iter()
                    .any(|p| rhs.starts_with(&format!("ptr_add {p},"))));
        if from_stack {
            stack_ptrs.push(def.to_owned());
        }
    }
    assert!(!stack_ptrs.is_empty(), "no operand-stack access in:\n{t}");
    let stack_loads: Vec<&&str> = body
        .iter()
        .filter(|l| {
            l.contains(" = load ")
                && stack_ptrs
                    .iter()
                    .any(|p| l.trim_end().ends_with(&format!(" {p}")))
        })
        .collect();
    assert!(
        stack_loads.is_empty(),
        "operand-stack reads left in the loop: {stack_loads:?}\n{t}"
    );
    // The loop's real work: 16 bytecodes (several hundred instructions walked) become a
    // few dozen trace-IR instructions, with a guard for the loop's exit and the interpreter's
    // own checks only.
    assert!(body.len() <= 60, "{} instructions:\n{t}", body.len());
    let guards = body
        .iter()
        .filter(|l| l.trim().starts_with("guard"))
        .count();
    assert!(guards <= 4, "{guards} guards:\n{t}");
    assert!(
        !body
            .iter()
            .any(|l| l.contains("switch") || l.contains(" call ")),
        "dispatch or calls left:\n{t}"
    );
}

/// Tiered code generation: the loop's trace is compiled at tier 0 (natively) first and, once
/// it has run `jit::TIER_UP_ITERS` (300,000) iterations, recompiled at the configured level
/// (a `tier-up` record in the stats' `traces`); the program's output stays the
/// interpreter's. The trace is entered once and loops to the end: it moves to its
/// recompiled code from inside its loop (at its head, through the interpreter's control
/// point: a second trace entry, and no guard failure but the loop's final exit). With
/// `YKD_TIER_UP=0` the trace is compiled once, at the configured level, and entered once.
#[test]
fn hot_trace_is_recompiled_at_the_higher_tier() {
    let dir = program().parent().unwrap();
    let off = run("400000", &[("YK_JITC", "none")]);
    for (tier_up, want) in [(None, true), (Some("0"), false)] {
        let stats = dir.join(format!("stats-tier-{}.json", tier_up.unwrap_or("default")));
        let mut env = vec![("YKD_LOG_STATS", stats.to_str().unwrap())];
        if let Some(t) = tier_up {
            env.push(("YKD_TIER_UP", t));
        }
        let out = run("400000", &env);
        assert_eq!(out, off, "the trace computes something else");
        let stats = fs::read_to_string(&stats).unwrap();
        assert!(stat(&stats, "traces_compiled_ok") >= 1, "{stats}");
        assert_eq!(
            stats.contains("\"kind\": \"tier-up\""),
            want,
            "YKD_TIER_UP={tier_up:?}: {stats}"
        );
        let entries = if want { 2 } else { 1 };
        assert_eq!(stat(&stats, "trace_executions"), entries, "{stats}");
        assert_eq!(stat(&stats, "guard_failures"), 1, "{stats}");
    }
}

/// Side traces are tiered too: `reoptimise_hot_path_changes.c`'s loop changes path half-way,
/// its guard gets a side trace (the second trace compiled) that runs for every iteration
/// from then on, and at its 2,000th run (`YKD_TIER_UP=2000`: the program's loop is short
/// for the default) that side trace is recompiled at the configured level, on the spot
/// (`YKD_DEBUG_COMPILE_TIMES` names each recompilation). The output stays the
/// interpreter's.
#[test]
fn hot_side_trace_is_recompiled_at_the_higher_tier() {
    static EXE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let exe = EXE.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reoptimise_hot_path_changes.c");
        toolchain::build_test_program(&src, "trace_ir", "reoptimise").map_err(|e| format!("{e:#}"))
    });
    let exe = exe.as_ref().unwrap_or_else(|e| panic!("{e}"));
    let run = |env: &[(&str, &str)]| {
        let out = Command::new(exe)
            .envs(env.iter().copied())
            .env("YKD_SERIALISE_COMPILATION", "1")
            .env("YK_COMPILE_BUDGET", "0")
            .env("YK_HOT_THRESHOLD", "3")
            .env("YK_SIDETRACE_THRESHOLD", "2")
            .env("YKD_TIER_UP", "2000")
            .output()
            .expect("running reoptimise");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (off, _) = run(&[("YK_JITC", "none")]);
    let (out, err) = run(&[("YKD_DEBUG_COMPILE_TIMES", "1"), ("YKD_LOG", "3")]);
    assert_eq!(out, off, "the traces compute something else");
    let side = err
        .find("side-trace-compiled")
        .unwrap_or_else(|| panic!("no side trace:\n{err}"));
    assert!(
        err[side..]
            .lines()
            .any(|l| l.starts_with("yk-compile-times: __yk_trace_2:")
                && l.contains("codegen at the hot level")),
        "the side trace (trace 2) was not recompiled:\n{err}"
    );
}

/// A guard's exit stores what the interpreter needs to resume, but not what the guard's
/// failure already tells: the guard's own condition (live at the interpreter's branch) is
/// a constant of the guard's snapshot, so no exit block of the compiled trace stores the
/// `i1` its guard branched on (`tir::opt::forward`, `at_failure`), and the output stays
/// the interpreter's.
#[test]
fn exits_do_not_store_their_guards_condition() {
    let dir = program().parent().unwrap();
    let ir = dir.join("post_opt.log");
    let log_ir = format!("{}:jit-post-opt", ir.display());
    let jit = run("200000", &[("YKD_LOG_IR", &log_ir)]);
    let off = run("200000", &[("YK_JITC", "none")]);
    assert_eq!(jit, off, "the trace computes something else");
    let log = fs::read_to_string(&ir).unwrap();
    assert!(log.contains("define i64 @__yk_trace_"), "no trace:\n{log}");
    // Each guard: `br i1 %c, label %a, label %b` with one of them an `exit_sN` block.
    let mut guards = 0;
    for line in log.lines() {
        let l = line.trim();
        let Some(rest) = l.strip_prefix("br i1 ") else {
            continue;
        };
        let mut parts = rest.split(", ");
        let (Some(cond), Some(a), Some(b)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let b = b.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
        let exit = [a, b.as_str()]
            .into_iter()
            .find_map(|t| t.strip_prefix("label %exit_s"))
            .map(|n| format!("exit_s{n}:"));
        let Some(exit) = exit else { continue };
        guards += 1;
        let at = log.find(&format!("\n{exit}")).expect("the exit block") + 1;
        let block: String = log[at..]
            .lines()
            .skip(1)
            .take_while(|l| !l.is_empty())
            .collect();
        assert!(
            !block.contains(&format!("store i1 {cond},")),
            "{exit} stores its guard's condition {cond}:\n{block}"
        );
    }
    assert!(guards >= 1, "no guard found in:\n{log}");
}
