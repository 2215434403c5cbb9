//! The `Run-time` step of a C test: run the plain and the JIT binary on the same arguments,
//! environment and stdin, and insist that their stdout and exit status agree.

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

/// Seconds after which a test binary is killed, unless `C_TESTS_TIMEOUT` says otherwise.
/// lang_tester itself never kills a hung test, and CI has a hard time limit.
const DEFAULT_TIMEOUT_SECS: u64 = 300;

/// What one run of a binary produced.
#[derive(Debug)]
pub struct RunOutput {
    /// How it ended; `None` if it was killed for running too long.
    pub status: Option<ExitStatus>,
    /// Everything it wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr.
    pub stderr: Vec<u8>,
}

/// How often [`run_with_timeout`] tries to start a binary that is "busy" (`ETXTBSY`).
const BUSY_TRIES: u32 = 50;

/// Run `cmd` with `stdin` as its input, collecting its output; kill it after `timeout`.
///
/// A binary a test has just written (e.g. `bad_ir_section`'s damaged copies) can fail to
/// start with `ETXTBSY` although the test closed it: another test thread of the same process
/// that forks meanwhile holds a copy of the write descriptor until its child execs (the
/// descriptor is close-on-exec, not close-on-fork). That lasts microseconds, so the start is
/// retried (`BUSY_TRIES` times, 10 ms apart); any other error, or a binary still busy
/// after that, is returned.
///
/// The binary runs in a process group of its own, killed whole once it has exited or timed
/// out: a process it left running in the background (the official Lua suite's `main.lua`
/// starts interpreters in an endless loop with `&` and signals them, and leaves one running
/// when it fails) would otherwise hold the output pipes open, and reading them would never
/// end.
pub fn run_with_timeout(cmd: &mut Command, stdin: &[u8], timeout: Duration) -> Result<RunOutput> {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut tries = 0;
    let mut child = loop {
        match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries + 1 < BUSY_TRIES => {
                tries += 1;
                thread::sleep(Duration::from_millis(10));
            }
            r => break r.with_context(|| format!("running {cmd:?}"))?,
        }
    };
    // Feed and drain the pipes on their own threads so that a child blocked on a full pipe
    // can't deadlock us while we wait for it.
    let mut child_stdin = child.stdin.take().context("no stdin pipe")?;
    let input = stdin.to_owned();
    // A child that exits without reading its input makes this write fail: that is fine.
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
    // SAFETY: kill(2) of the child's process group (its id is the child's pid, the group
    // still exists while any process in it is left, so the id names no other group).
    unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
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

/// How a run ended, for messages.
pub fn describe(status: Option<ExitStatus>) -> String {
    match status {
        Some(s) => s.to_string(),
        None => "killed after the time limit".to_owned(),
    }
}

/// Whether two runs ended the same way (same exit code or same signal; neither timed out).
pub fn same_status(a: Option<ExitStatus>, b: Option<ExitStatus>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.code() == b.code() && a.signal() == b.signal(),
        _ => false,
    }
}

/// Run `out_dir/plain` and `out_dir/jit` with `args` and our own stdin and environment. If
/// stdout and exit status agree, pass the JIT binary's stdout, stderr and exit status through
/// as our own (so lang_tester checks the JIT run). Otherwise replace stdout by a one-line
/// verdict, so that any `stdout:` expectation fails, print the difference on stderr, and exit
/// with 1. Returns the exit code to use.
pub fn run_and_compare(out_dir: &Path, args: &[String]) -> Result<i32> {
    let timeout = std::env::var("C_TESTS_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_TIMEOUT_SECS);
    let timeout = Duration::from_secs(timeout);
    let mut stdin = Vec::new();
    std::io::stdin().read_to_end(&mut stdin)?;
    let run =
        |exe: &str| run_with_timeout(Command::new(out_dir.join(exe)).args(args), &stdin, timeout);
    let plain = run(crate::compile::PLAIN_EXE)?;
    let jit = run(crate::compile::JIT_EXE)?;

    if same_status(plain.status, jit.status) && plain.stdout == jit.stdout {
        std::io::stdout().write_all(&jit.stdout)?;
        std::io::stderr().write_all(&jit.stderr)?;
        let status = jit.status.expect("same_status implies both finished");
        return Ok(match (status.code(), status.signal()) {
            (Some(code), _) => code,
            (None, Some(sig)) => reraise(sig),
            (None, None) => 1,
        });
    }

    println!("c_tests: the plain and the JIT build disagree (see stderr)");
    let mut report = String::new();
    report.push_str(&format!(
        "c_tests: plain and JIT builds disagree\n  plain exit status: {}\n  JIT exit status:   {}\n",
        describe(plain.status),
        describe(jit.status)
    ));
    if plain.stdout != jit.stdout {
        report.push_str(&stdout_diff(
            &String::from_utf8_lossy(&plain.stdout),
            &String::from_utf8_lossy(&jit.stdout),
        ));
    }
    report.push_str(&format!(
        "---- plain stderr ----\n{}\n---- JIT stderr ----\n{}\n",
        String::from_utf8_lossy(&plain.stderr),
        String::from_utf8_lossy(&jit.stderr)
    ));
    eprint!("{report}");
    Ok(1)
}

/// Die by signal `sig`, as the program under test did, so that `status: signal` expectations
/// work.
pub fn reraise(sig: i32) -> i32 {
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

/// A line-by-line comparison of two outputs: at most 20 differing lines, with line numbers.
pub fn stdout_diff(plain: &str, jit: &str) -> String {
    format!(
        "---- stdout differs (plain: {} lines, JIT: {} lines) ----\n{}",
        plain.lines().count(),
        jit.lines().count(),
        line_diff(("plain", plain), ("JIT", jit))
    )
}

/// The differing lines of two labelled outputs, `(label, text)`: at most 20, each with its
/// line number and both versions.
pub fn line_diff(left: (&str, &str), right: (&str, &str)) -> String {
    const MAX_SHOWN: usize = 20;
    let width = left.0.len().max(right.0.len()) + 1;
    let (l, r): (Vec<&str>, Vec<&str>) = (left.1.lines().collect(), right.1.lines().collect());
    let mut out = String::new();
    let mut shown = 0;
    for i in 0..l.len().max(r.len()) {
        let (a, b) = (l.get(i), r.get(i));
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
            "  line {}:\n    {:width$} {}\n    {:width$} {}\n",
            i + 1,
            format!("{}:", left.0),
            show(a),
            format!("{}:", right.0),
            show(b)
        ));
    }
    if shown == 0 {
        // Same lines, so the difference is in line endings or a trailing newline.
        out.push_str("  (the outputs differ only in line endings)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_names_the_differing_lines() {
        let d = stdout_diff("a\nb\nc\n", "a\nx\n");
        assert!(d.contains("plain: 3 lines, JIT: 2 lines"));
        assert!(d.contains("line 2:\n    plain: \"b\"\n    JIT:   \"x\""));
        assert!(d.contains("line 3:\n    plain: \"c\"\n    JIT:   <no line>"));
        assert!(!d.contains("line 1:"));
    }

    /// A process the binary leaves running in the background (holding its stdout) does not
    /// keep the run from ending: it is killed with the binary's process group. (Without that,
    /// reading the output waits for the sleeper.)
    #[test]
    fn background_processes_left_behind_are_killed() {
        let mut sh = Command::new("/bin/sh");
        sh.args(["-c", "sleep 60 & echo started"]);
        let t = std::time::Instant::now();
        let r = run_with_timeout(&mut sh, b"", Duration::from_secs(30)).unwrap();
        assert!(r.status.unwrap().success());
        assert_eq!(r.stdout, b"started\n");
        assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    }

    #[test]
    fn timeout_kills() {
        let mut cmd = Command::new("/bin/sleep");
        cmd.arg("10");
        let r = run_with_timeout(&mut cmd, b"", Duration::from_millis(100)).unwrap();
        assert!(r.status.is_none());
    }

    #[test]
    fn passes_stdin_and_args() {
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", "cat; echo \"$0\"", "arg"]);
        let r = run_with_timeout(&mut cmd, b"in\n", Duration::from_secs(10)).unwrap();
        assert!(r.status.unwrap().success());
        assert_eq!(r.stdout, b"in\narg\n");
    }

    #[test]
    fn collects_stderr_and_exit_status() {
        let mut sh = Command::new("/bin/sh");
        sh.args(["-c", "cat; echo err >&2; exit 3"]);
        let r = run_with_timeout(&mut sh, b"in\n", Duration::from_secs(10)).unwrap();
        assert_eq!(r.status.unwrap().code(), Some(3));
        assert_eq!(
            (&r.stdout[..], &r.stderr[..]),
            (&b"in\n"[..], &b"err\n"[..])
        );
    }
}
