//! Running one process execution of a benchmark on a VM and parsing what it prints.

use super::{jitstats::JitStats, suite::Benchmark, vm::Vm};
use anyhow::{bail, Context, Result};
use std::{
    io::Read,
    path::Path,
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

/// What one process execution produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Execution {
    /// The in-process iteration times, in seconds, in order.
    pub times: Vec<f64>,
    /// The benchmark's checksum line.
    pub checksum: String,
    /// The wall-clock time of the whole process, in seconds.
    pub wall: f64,
    /// JIT statistics, for VMs that write them.
    pub stats: Option<JitStats>,
}

/// Parse a benchmark's stdout: exactly `iterations` lines `iteration <i> <seconds>` with
/// i = 1, 2, ... then `checksum <text>`, and nothing else.
pub fn parse_output(out: &str, iterations: usize) -> Result<(Vec<f64>, String)> {
    let mut times = Vec::with_capacity(iterations);
    let mut checksum = None;
    for (n, line) in out.lines().enumerate() {
        if checksum.is_some() {
            bail!("line {}: output after the checksum: {line:?}", n + 1);
        }
        if let Some(rest) = line.strip_prefix("iteration ") {
            let mut f = rest.split(' ');
            let (Some(i), Some(t), None) = (f.next(), f.next(), f.next()) else {
                bail!("line {}: malformed iteration line {line:?}", n + 1);
            };
            if i.parse::<usize>().ok() != Some(times.len() + 1) {
                bail!(
                    "line {}: expected iteration {}, got {line:?}",
                    n + 1,
                    times.len() + 1
                );
            }
            match t.parse::<f64>() {
                Ok(t) if t.is_finite() && t >= 0.0 => times.push(t),
                _ => bail!("line {}: bad time in {line:?}", n + 1),
            }
        } else if let Some(c) = line.strip_prefix("checksum ") {
            checksum = Some(c.to_owned());
        } else {
            bail!("line {}: unexpected output {line:?}", n + 1);
        }
    }
    let Some(checksum) = checksum else {
        bail!("no checksum line (after {} iterations)", times.len());
    };
    if times.len() != iterations {
        bail!("{} iterations reported, {iterations} expected", times.len());
    }
    Ok((times, checksum))
}

/// The last few lines of `s`, for error messages.
fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// Run `bench` once on `vm` with `iterations` in-process iterations at `size`, killing it
/// after `timeout`. `stats_file` is where a JIT-stats-writing VM is told to put its stats.
pub fn execute(
    vm: &Vm,
    bench: &Benchmark,
    iterations: usize,
    size: u64,
    timeout: Duration,
    stats_file: &Path,
) -> Result<Execution> {
    let mut cmd = Command::new(&vm.path);
    cmd.arg(&bench.path)
        .arg(iterations.to_string())
        .arg(size.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in &vm.env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    if vm.jit_stats {
        let _ = std::fs::remove_file(stats_file);
        cmd.env("YKD_LOG_STATS", stats_file);
    }
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("could not start {}", vm.path.display()))?;
    // Read both pipes on threads so that neither can fill up and block the child.
    let mut out_pipe = child.stdout.take().expect("piped stdout");
    let mut err_pipe = child.stderr.take().expect("piped stderr");
    let out_reader = thread::spawn(move || {
        let mut s = String::new();
        out_pipe.read_to_string(&mut s).map(|_| s)
    });
    let err_reader = thread::spawn(move || {
        let mut s = String::new();
        err_pipe.read_to_string(&mut s).map(|_| s)
    });
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break st;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            // Say how far it got: a hang at exit (after the checksum) is a different bug
            // from one in the middle of an iteration.
            let out = out_reader
                .join()
                .ok()
                .and_then(|r| r.ok())
                .unwrap_or_default();
            let done = out.lines().filter(|l| l.starts_with("iteration ")).count();
            let checksum = out.lines().any(|l| l.starts_with("checksum "));
            bail!(
                "{} on {} timed out after {}s, having finished {done} of {iterations} \
                 iterations{}",
                bench.name,
                vm.label,
                timeout.as_secs(),
                if checksum {
                    " and printed its checksum (it hung on the way out)"
                } else {
                    ""
                }
            );
        }
        thread::sleep(Duration::from_millis(5));
    };
    let wall = start.elapsed().as_secs_f64();
    let out = out_reader
        .join()
        .expect("stdout reader panicked")
        .context("reading stdout")?;
    let err = err_reader
        .join()
        .expect("stderr reader panicked")
        .context("reading stderr")?;
    if !status.success() {
        bail!(
            "`{} {} {iterations} {size}` failed ({status}); its stderr ends:\n{}",
            vm.path.display(),
            bench.path.display(),
            tail(&err)
        );
    }
    let (times, checksum) = parse_output(&out, iterations).with_context(|| {
        format!(
            "bad output from `{} {} {iterations} {size}`; stderr ends:\n{}",
            vm.path.display(),
            bench.path.display(),
            tail(&err)
        )
    })?;
    let stats = if vm.jit_stats {
        Some(super::jitstats::read(stats_file)?)
    } else {
        None
    };
    Ok(Execution {
        times,
        checksum,
        wall,
        stats,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_good_output() {
        let (t, c) = parse_output("iteration 1 0.5\niteration 2 0.25\nchecksum 42 x\n", 2).unwrap();
        assert_eq!(t, vec![0.5, 0.25]);
        assert_eq!(c, "42 x");
    }

    #[test]
    fn rejects_bad_output() {
        for (bad, n) in [
            ("iteration 1 0.5\n", 1),                         // no checksum
            ("iteration 1 0.5\nchecksum 1\n", 2),             // too few iterations
            ("iteration 2 0.5\nchecksum 1\n", 1),             // wrong number
            ("iteration 1 -1\nchecksum 1\n", 1),              // negative time
            ("iteration 1 nan\nchecksum 1\n", 1),             // not finite
            ("iteration 1 0.5 7\nchecksum 1\n", 1),           // extra field
            ("hello\niteration 1 0.5\nchecksum 1\n", 1),      // stray output
            ("iteration 1 0.5\nchecksum 1\nchecksum 1\n", 1), // after the checksum
        ] {
            assert!(parse_output(bad, n).is_err(), "{bad:?}");
        }
    }

    /// A fake VM: a shell script whose behaviour `body` defines (`$2` is ITERATIONS).
    fn fake_vm(dir: &Path, name: &str, body: &str, jit_stats: bool) -> Vm {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Vm {
            key: "fake",
            label: "fake",
            path,
            env: vec![("YK_JITC", Some("none"))],
            jit_stats,
        }
    }

    #[test]
    fn executes_and_checks_processes() {
        let dir = std::env::temp_dir().join(format!("xtask-bench-runner-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bench = Benchmark {
            name: "b".into(),
            path: dir.join("b.lua"),
            size: 1,
            quick_size: 1,
        };
        let stats = dir.join("stats.json");
        let t = Duration::from_secs(20);
        let loop_body =
            "i=1; while [ $i -le $2 ]; do echo \"iteration $i 0.0$i\"; i=$((i+1)); done";

        // A well-behaved VM that also sees its environment: YK_JITC is set as asked.
        let ok = fake_vm(
            &dir,
            "ok",
            &format!("{loop_body}; echo \"checksum $YK_JITC\""),
            false,
        );
        let e = execute(&ok, &bench, 3, 1, t, &stats).unwrap();
        assert_eq!(e.times, vec![0.01, 0.02, 0.03]);
        assert_eq!(e.checksum, "none");
        assert!(e.stats.is_none());

        // A crash is an error that shows the VM's stderr.
        let crash = fake_vm(
            &dir,
            "crash",
            "echo 'iteration 1 0.1'; echo boom >&2; exit 3",
            false,
        );
        let err = format!(
            "{:#}",
            execute(&crash, &bench, 1, 1, t, &stats).unwrap_err()
        );
        assert!(
            err.contains("boom") && err.contains("exit status: 3"),
            "{err}"
        );

        // A hang is killed at the timeout.
        let hang = fake_vm(&dir, "hang", "echo 'iteration 1 0.1'; exec sleep 30", false);
        let err = format!(
            "{:#}",
            execute(&hang, &bench, 2, 1, Duration::from_millis(300), &stats).unwrap_err()
        );
        assert!(
            err.contains("timed out") && err.contains("finished 1 of 2"),
            "{err}"
        );

        // A JIT VM must write its stats where YKD_LOG_STATS says.
        let jit = fake_vm(
            &dir,
            "jit",
            &format!("{loop_body}; echo 'checksum 1'; echo '{{\"traces_compiled_ok\": 2}}' > \"$YKD_LOG_STATS\""),
            true,
        );
        let e = execute(&jit, &bench, 2, 1, t, &stats).unwrap();
        assert_eq!(e.stats.unwrap().counter("traces_compiled_ok"), Some(2));
        let nostats = fake_vm(
            &dir,
            "nostats",
            &format!("{loop_body}; echo 'checksum 1'"),
            true,
        );
        let err = format!(
            "{:#}",
            execute(&nostats, &bench, 2, 1, t, &stats).unwrap_err()
        );
        assert!(err.contains("no JIT stats"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
