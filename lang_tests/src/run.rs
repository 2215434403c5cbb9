//! Running one Lua test under both interpreters and comparing them: stdout, exit status and
//! stderr (minus yklua's `yk-jit-event:` log lines) must agree, and yklua's log must show what
//! the test's `jit:` key demands.

use std::{
    io::{Read, Write},
    os::unix::process::{CommandExt, ExitStatusExt},
    path::Path,
    process::{Command, ExitStatus, Stdio},
    thread,
    time::Duration,
};

use anyhow::{Context, Result};
use wait_timeout::ChildExt;

use crate::{interps::Interpreters, spec::JitExpectation};

/// The prefix of the JIT's event log lines (`YKD_LOG=3`), which only yklua writes.
pub const JIT_EVENT_PREFIX: &str = "yk-jit-event: ";

/// What one run of an interpreter produced.
#[derive(Debug)]
pub struct RunOutput {
    /// How it ended; `None` if it was killed for running too long.
    pub status: Option<ExitStatus>,
    /// Everything it wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr.
    pub stderr: Vec<u8>,
}

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

/// Run `cmd` with `stdin` as its input, collecting its output; kill it after `timeout`.
pub fn run_with_timeout(cmd: &mut Command, stdin: &[u8], timeout: Duration) -> Result<RunOutput> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {cmd:?}"))?;
    // Feed and drain the pipes on their own threads so that a child blocked on a full pipe
    // can't deadlock us while we wait for it.
    let mut child_stdin = child.stdin.take().context("no stdin pipe")?;
    let input = stdin.to_owned();
    // A child that exits without reading all its input makes this write fail: that is fine.
    let feeder = thread::spawn(move || child_stdin.write_all(&input).ok());
    let out = drain(child.stdout.take().context("no stdout pipe")?);
    let err = drain(child.stderr.take().context("no stderr pipe")?);
    let status = match child.wait_timeout(timeout)? {
        Some(s) => Some(s),
        None => {
            child.kill().ok();
            child.wait()?;
            None
        }
    };
    feeder.join().ok();
    Ok(RunOutput {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

fn drain<R: Read + Send + 'static>(mut r: R) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        r.read_to_end(&mut buf).ok();
        buf
    })
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

fn describe(status: Option<ExitStatus>) -> String {
    match status {
        Some(s) => s.to_string(),
        None => "killed after the time limit".to_owned(),
    }
}

/// Whether two runs ended the same way (same exit code or same signal; neither timed out).
fn same_status(a: Option<ExitStatus>, b: Option<ExitStatus>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.code() == b.code() && a.signal() == b.signal(),
        _ => false,
    }
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

/// A line-by-line comparison of two outputs: at most 20 differing lines, with line numbers.
pub fn line_diff(plain: &str, jit: &str) -> String {
    const MAX_SHOWN: usize = 20;
    let (p, j): (Vec<&str>, Vec<&str>) = (plain.lines().collect(), jit.lines().collect());
    let mut out = format!("  (lua: {} lines, yklua: {} lines)\n", p.len(), j.len());
    let mut shown = 0;
    for i in 0..p.len().max(j.len()) {
        let (a, b) = (p.get(i), j.get(i));
        if a == b {
            continue;
        }
        if shown == MAX_SHOWN {
            out.push_str("  ... (more differences)\n");
            break;
        }
        shown += 1;
        let show = |l: Option<&&str>| l.map_or("<no line>".to_owned(), |l| format!("{l:?}"));
        out.push_str(&format!(
            "  line {}:\n    lua:   {}\n    yklua: {}\n",
            i + 1,
            show(a),
            show(b)
        ));
    }
    if shown == 0 {
        // Same lines, so the difference is in line endings or a trailing newline.
        out.push_str("  (the outputs differ only in line endings)\n");
    }
    out
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

/// Die by signal `sig`, as both interpreters did, so that `status: signal` expectations work.
fn reraise(sig: i32) -> i32 {
    std::io::stdout().flush().ok();
    std::io::stderr().flush().ok();
    // SAFETY: restoring the default action and raising a signal in our own process; we are
    // about to exit anyway.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
    // Only reached for signals whose default action is not to terminate.
    128 + sig
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(code: i32, stdout: &str, stderr: &str) -> RunOutput {
        RunOutput {
            status: Some(ExitStatus::from_raw(code << 8)),
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

    #[test]
    fn passes_stdin_and_collects_output() {
        let mut sh = Command::new("/bin/sh");
        sh.args(["-c", "cat; echo err >&2; exit 3"]);
        let r = run_with_timeout(&mut sh, b"in\n", Duration::from_secs(10)).unwrap();
        assert_eq!(r.status.unwrap().code(), Some(3));
        assert_eq!(
            (&r.stdout[..], &r.stderr[..]),
            (&b"in\n"[..], &b"err\n"[..])
        );
    }

    #[test]
    fn timeout_kills() {
        let mut cmd = Command::new("/bin/sleep");
        cmd.arg("10");
        let r = run_with_timeout(&mut cmd, b"", Duration::from_millis(100)).unwrap();
        assert!(r.status.is_none());
    }
}
