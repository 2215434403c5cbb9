//! Running one Lua test under both interpreters and comparing them: stdout, exit status and
//! stderr (minus yklua's `yk-jit-event:` log lines) must agree, and yklua's log must show what
//! the test's `jit:` key demands.

use std::{
    io::{Read, Write},
    os::unix::process::{CommandExt, ExitStatusExt},
    path::Path,
    process::Command,
    time::Duration,
};

use anyhow::{Context, Result};

use crate::{interps::Interpreters, spec::JitExpectation};
use c_tests::run::{describe, reraise, same_status};
pub use c_tests::run::{run_with_timeout, RunOutput};

/// The prefix of the JIT's event log lines (`YKD_LOG=3`), which only yklua writes.
pub const JIT_EVENT_PREFIX: &str = "yk-jit-event: ";

/// The command that runs `script` with `args` under interpreter `exe`, the way a user would:
/// `lua <file name> args...`, from the script's directory, so that error messages and `arg[0]`
/// name the file as `<name>.lua` rather than by an absolute path that depends on the checkout.
/// Both interpreters get `argv[0] = "lua"`, so a message prefixed with the program name is the
/// same for both.
pub fn lua_command(exe: &Path, script: &Path, args: &[String]) -> Result<Command> {
    let dir = script
        .parent()
        .with_context(|| format!("{} has no parent dir", script.display()))?;
    let name = script
        .file_name()
        .with_context(|| format!("{} has no file name", script.display()))?;
    let mut cmd = Command::new(exe);
    cmd.arg0("lua").arg(name).args(args).current_dir(dir);
    Ok(cmd)
}

/// `stderr` without the JIT's event lines: what the Lua program itself (and the interpreter's
/// error reporting) wrote.
pub fn strip_jit_events(stderr: &str) -> String {
    stderr
        .split_inclusive('\n')
        .filter(|l| !l.starts_with(JIT_EVENT_PREFIX))
        .collect()
}

/// The events of `expect` that never appear in the JIT log `stderr` (an event line may carry a
/// ` @ <location>` suffix).
pub fn missing_events(stderr: &str, expect: JitExpectation) -> Vec<&'static str> {
    expect
        .required_events()
        .iter()
        .copied()
        .filter(|ev| {
            !stderr.lines().any(|l| {
                l.strip_prefix(JIT_EVENT_PREFIX).is_some_and(|rest| {
                    rest == *ev || rest.strip_prefix(ev).is_some_and(|r| r.starts_with(" @ "))
                })
            })
        })
        .collect()
}

/// The `trace-aborted` reasons in the JIT log `stderr`, in order, without location suffixes.
pub fn abort_reasons(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter_map(|l| {
            l.strip_prefix(JIT_EVENT_PREFIX)?
                .strip_prefix("trace-aborted: ")
        })
        .map(|r| r.split(" @ ").next().unwrap_or(r))
        .collect()
}

/// `items` as "a (x3); b (x1)": each distinct item once, in order of first appearance.
fn count_distinct(items: &[&str]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for item in items {
        match counts.iter_mut().find(|(i, _)| i == item) {
            Some((_, n)) => *n += 1,
            None => counts.push((item, 1)),
        }
    }
    counts
        .iter()
        .map(|(i, n)| format!("{i} (x{n})"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Everything that is wrong about a pair of runs, one finding per entry; empty if `lua` and
/// `yklua` agree and yklua's log shows what `jit` demands.
pub fn compare(plain: &RunOutput, jit: &RunOutput, expect: Option<JitExpectation>) -> Vec<String> {
    let mut problems = Vec::new();
    if !same_status(plain.status, jit.status) {
        problems.push(format!(
            "exit status differs: lua {}, yklua {}",
            describe(plain.status),
            describe(jit.status)
        ));
    }
    let (p_out, j_out) = (
        String::from_utf8_lossy(&plain.stdout),
        String::from_utf8_lossy(&jit.stdout),
    );
    if p_out != j_out {
        problems.push(format!("stdout differs\n{}", line_diff(&p_out, &j_out)));
    }
    let jit_err = String::from_utf8_lossy(&jit.stderr);
    let p_err = String::from_utf8_lossy(&plain.stderr);
    let j_err = strip_jit_events(&jit_err);
    if p_err != j_err {
        problems.push(format!(
            "stderr differs (ignoring `{}` lines)\n{}",
            JIT_EVENT_PREFIX.trim_end(),
            line_diff(&p_err, &j_err)
        ));
    }
    if let Some(expect) = expect {
        let missing = missing_events(&jit_err, expect);
        if !missing.is_empty() {
            let aborts = abort_reasons(&jit_err);
            problems.push(format!(
                "`jit: compiled`: yklua's log lacks {}{}",
                missing
                    .iter()
                    .map(|e| format!("`{JIT_EVENT_PREFIX}{e}`"))
                    .collect::<Vec<_>>()
                    .join(" and "),
                if aborts.is_empty() {
                    String::new()
                } else {
                    format!("; traces aborted: {}", count_distinct(&aborts))
                }
            ));
        }
    }
    problems
}

/// A line-by-line comparison of two outputs (see [`c_tests::run::line_diff`]).
pub fn line_diff(plain: &str, jit: &str) -> String {
    format!(
        "  (lua: {} lines, yklua: {} lines)\n{}",
        plain.lines().count(),
        jit.lines().count(),
        c_tests::run::line_diff(("lua", plain), ("yklua", jit))
    )
}

/// Run `script` under `lua` and then `yklua` with the same arguments, stdin and environment
/// (ours), and write yklua's whole stderr to `jit_log` for later inspection. If they agree
/// (see [`compare`]), pass the common stdout, the common stderr (without JIT events) and the
/// common exit status through as our own, so that lang_tester checks the expectations against
/// them. Otherwise replace stdout by a one-line verdict, so that any `stdout:` expectation
/// fails, print the findings and both stderrs on stderr, and exit with 1. Returns the exit code
/// to use.
pub fn run_and_compare(
    interps: &Interpreters,
    script: &Path,
    args: &[String],
    expect: Option<JitExpectation>,
    jit_log: &Path,
    timeout: Duration,
) -> Result<i32> {
    let mut stdin = Vec::new();
    std::io::stdin().read_to_end(&mut stdin)?;
    let plain = run_with_timeout(
        &mut lua_command(&interps.lua, script, args)?,
        &stdin,
        timeout,
    )?;
    let jit = run_with_timeout(
        &mut lua_command(&interps.yklua, script, args)?,
        &stdin,
        timeout,
    )?;
    if let Some(dir) = jit_log.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(jit_log, &jit.stderr)
        .with_context(|| format!("writing {}", jit_log.display()))?;

    let problems = compare(&plain, &jit, expect);
    if problems.is_empty() {
        std::io::stdout().write_all(&plain.stdout)?;
        std::io::stderr().write_all(&plain.stderr)?;
        let status = plain.status.expect("same status implies both finished");
        return Ok(match (status.code(), status.signal()) {
            (Some(code), _) => code,
            (None, Some(sig)) => reraise(sig),
            (None, None) => 1,
        });
    }
    println!("lang_tests: lua and yklua disagree, or the JIT did not run (see stderr)");
    let mut report = String::from("lang_tests: the test failed:\n");
    for p in &problems {
        report.push_str(&format!("* {p}\n"));
    }
    report.push_str(&format!(
        "---- lua stderr ----\n{}\n---- yklua stderr (whole log in {}) ----\n{}\n",
        String::from_utf8_lossy(&plain.stderr),
        jit_log.display(),
        tail(&String::from_utf8_lossy(&jit.stderr), 40)
    ));
    eprint!("{report}");
    Ok(1)
}

/// The last `n` lines of `s`, with a note of how many were left out.
fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    if lines.len() <= n {
        return s.to_owned();
    }
    format!(
        "({} earlier lines left out)\n{}",
        lines.len() - n,
        lines[lines.len() - n..].join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(code: i32, stdout: &str, stderr: &str) -> RunOutput {
        RunOutput {
            status: Some(std::process::ExitStatus::from_raw(code << 8)),
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }

    const LOG: &str = "yk-jit-event: start-tracing\nyk-jit-event: stop-tracing\n\
                       yk-jit-event: trace-compiled @ loop\nyk-jit-event: enter-jit-code\n";

    #[test]
    fn agreeing_runs_pass() {
        let p = out(1, "a\n", "lua: x.lua:1: boom\n");
        let j = out(1, "a\n", &format!("{LOG}lua: x.lua:1: boom\n"));
        assert!(compare(&p, &j, Some(JitExpectation::Compiled)).is_empty());
    }

    #[test]
    fn each_disagreement_is_found() {
        let p = out(0, "a\nb\n", "");
        let j = out(1, "a\nc\n", "yk-warning: w\n");
        let problems = compare(&p, &j, None);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("exit status differs"));
        assert!(problems[1].contains("line 2:\n    lua:   \"b\"\n    yklua: \"c\""));
        assert!(problems[2].contains("yk-warning: w"));
    }

    #[test]
    fn jit_compiled_needs_both_events() {
        let p = out(0, "", "");
        let j = out(
            0,
            "",
            "yk-jit-event: start-tracing\nyk-jit-event: trace-aborted: unsupported: x @ l\n\
             yk-jit-event: trace-compiled-ish\n",
        );
        let problems = compare(&p, &j, Some(JitExpectation::Compiled));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0]
            .contains("lacks `yk-jit-event: trace-compiled` and `yk-jit-event: enter-jit-code`;"));
        assert!(problems[0].ends_with("traces aborted: unsupported: x (x1)"));
        // Without the key nothing is asserted about the log.
        assert!(compare(&p, &j, None).is_empty());
    }

    #[test]
    fn abort_reasons_are_counted() {
        let log = "yk-jit-event: trace-aborted: a @ l1\nyk-jit-event: trace-aborted: b\n\
                   yk-jit-event: trace-aborted: a @ l2\n";
        assert_eq!(abort_reasons(log), ["a", "b", "a"]);
        assert_eq!(count_distinct(&abort_reasons(log)), "a (x2); b (x1)");
    }

    #[test]
    fn strips_only_jit_event_lines() {
        assert_eq!(
            strip_jit_events("yk-jit-event: deoptimise\nerr\nyk-jit-events\n"),
            "err\nyk-jit-events\n"
        );
        assert_eq!(missing_events(LOG, JitExpectation::Compiled), [""; 0]);
    }

    #[test]
    fn lua_command_runs_the_file_by_name_from_its_dir() {
        let cmd = lua_command(
            Path::new("/x/lua"),
            Path::new("/tmp/t.lua"),
            &["a b".into()],
        )
        .unwrap();
        assert_eq!(cmd.get_program(), "/x/lua");
        assert_eq!(cmd.get_current_dir(), Some(Path::new("/tmp")));
        assert_eq!(cmd.get_args().collect::<Vec<_>>(), ["t.lua", "a b"]);
    }
}
