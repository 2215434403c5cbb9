//! The standalone interpreters as programs: `lua` and `yklua` behave as PUC Lua 5.4.6's own
//! `lua` does (the REPL from a pipe and on a terminal, `-l`, `LUA_INIT`, `-E`; the official
//! suite's `main.lua` is in `official_main.rs`), and yklua's `jit` module and `-jv` trace log
//! do what they say, checked against the runtime's statistics.

use std::{
    env, fs,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use lang_tests::{
    interps::{profile_dir_of_current_exe, Interpreters},
    run::{run_with_timeout, RunOutput},
};

const TIMEOUT: Duration = Duration::from_secs(300);

/// The JIT settings of the Lua tests: loops of a few dozen iterations are traced, and a trace
/// is compiled before execution goes on, so the statistics are deterministic.
const JIT_ENV: &[(&str, &str)] = &[
    ("YK_HOT_THRESHOLD", "5"),
    ("YKD_SERIALISE_COMPILATION", "1"),
    ("YK_COMPILE_BUDGET", "0"),
];

fn interps() -> Interpreters {
    let profile = profile_dir_of_current_exe().expect("no profile dir");
    Interpreters::find(profile.parent().expect("no target dir")).unwrap_or_else(|e| panic!("{e}"))
}

/// Both interpreters, named for messages.
fn both() -> [(&'static str, PathBuf); 2] {
    let i = interps();
    [("lua", i.lua), ("yklua", i.yklua)]
}

/// A scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let d = env::temp_dir().join(format!("lang_tests-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

/// `exe args...` with `argv[0] = "lua"`, `stdin` as its input, no `LUA_INIT`/`YK*` variables
/// from our own environment, plus `envs`.
fn run(exe: &Path, args: &[&str], envs: &[(&str, &str)], stdin: &str, dir: &Path) -> RunOutput {
    let mut cmd = Command::new(exe);
    cmd.arg0("lua").args(args).current_dir(dir);
    for (k, _) in env::vars() {
        if k.starts_with("LUA_") || k.starts_with("YK") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(envs.iter().copied());
    let out = run_with_timeout(&mut cmd, stdin.as_bytes(), TIMEOUT).unwrap();
    assert!(out.status.is_some(), "{cmd:?} timed out");
    out
}

fn stdout(o: &RunOutput) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &RunOutput) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn code(o: &RunOutput) -> Option<i32> {
    o.status.and_then(|s| s.code())
}

#[test]
fn repl_from_a_pipe() {
    let dir = scratch("repl");
    let input = "x = 6*7\n=x\nprint(x+1)\nfor i=1,3 do\nio.write(i)\nend\n\
                 1, nil, 'a'\nerror('boom')\nprint('after')\n";
    // As PUC Lua built with readline: the banner, each prompt followed by the line read
    // (readline echoes it when stdin is not a terminal), values of expressions printed,
    // ">> " for continuation lines, and a newline at the end of input.
    let expected = "Lua 5.4.6  Copyright (C) 1994-2023 Lua.org, PUC-Rio\n\
                    > x = 6*7\n> =x\n42\n> print(x+1)\n43\n\
                    > for i=1,3 do\n>> io.write(i)\n>> end\n123\
                    > 1, nil, 'a'\n1\tnil\ta\n\
                    > error('boom')\n> print('after')\nafter\n> \n";
    for (name, exe) in both() {
        let o = run(&exe, &["-i"], &[], input, &dir);
        assert_eq!(code(&o), Some(0), "{name}: {}", stderr(&o));
        assert_eq!(stdout(&o), expected, "{name}");
        // REPL errors have no program-name prefix.
        assert!(
            stderr(&o).starts_with("stdin:1: boom\nstack traceback:\n"),
            "{name}: {}",
            stderr(&o)
        );
        // Without -i and with a pipe, stdin is run as a script instead.
        let o = run(&exe, &[], &[], "print(1 + 1)\n", &dir);
        assert_eq!(
            (code(&o), stdout(&o)),
            (Some(0), "2\n".to_owned()),
            "{name}"
        );
    }
}

#[test]
fn repl_on_a_terminal() {
    // `script` (util-linux) gives the interpreter a pseudo-terminal: with no arguments it prints
    // the banner and reads lines through readline.
    let dir = scratch("tty");
    for (name, exe) in both() {
        let mut cmd = Command::new("script");
        cmd.args(["-qec", exe.to_str().unwrap(), "/dev/null"])
            .current_dir(&dir)
            .env("TERM", "dumb");
        let o = run_with_timeout(&mut cmd, b"print(20 + 22)\n", TIMEOUT).unwrap();
        let out = stdout(&o).replace('\r', "");
        assert!(
            out.contains("Lua 5.4.6  Copyright") && out.contains("> print(20 + 22)\n42\n"),
            "{name}: {out:?}"
        );
    }
}

#[test]
fn require_options() {
    let dir = scratch("require");
    fs::write(
        dir.join("mod.lua"),
        "print('loading', ...)\nreturn {x = 15}\n",
    )
    .unwrap();
    fs::write(dir.join("prog.lua"), "print(mod.x, m2.x, m2 == mod)\n").unwrap();
    let path = format!("{}/?.lua", dir.display());
    for (name, exe) in both() {
        // -l mod into global mod; -l g=mod into global g (the same module table); in order
        // with -e; then the script.
        let o = run(
            &exe,
            &[
                "-l",
                "mod",
                "-lm2=mod",
                "-e",
                "print(package.loaded.mod == mod)",
                "prog.lua",
            ],
            &[("LUA_PATH", &path)],
            "",
            &dir,
        );
        assert_eq!(code(&o), Some(0), "{name}: {}", stderr(&o));
        assert_eq!(
            stdout(&o),
            format!(
                "loading\tmod\t{}/mod.lua\ntrue\n15\t15\ttrue\n",
                dir.display()
            ),
            "{name}"
        );
        // A missing module: exit status 1, the program name and require's message.
        let o = run(&exe, &["-l", "nosuchmod"], &[("LUA_PATH", &path)], "", &dir);
        assert_eq!(code(&o), Some(1), "{name}");
        assert!(
            stderr(&o).starts_with("lua: module 'nosuchmod' not found:"),
            "{name}: {}",
            stderr(&o)
        );
        let o = run(&exe, &["-l"], &[], "", &dir);
        assert_eq!(code(&o), Some(1), "{name}");
        assert!(
            stderr(&o).starts_with("lua: '-l' needs argument\nusage: lua "),
            "{name}: {}",
            stderr(&o)
        );
    }
}

/// The environment, the arguments and the expected stdout of a `LUA_INIT` case.
type InitCase<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str], &'a str);

#[test]
fn lua_init() {
    let dir = scratch("init");
    fs::write(dir.join("init.lua"), "X = 'from file ' .. #arg\n").unwrap();
    let init_file = format!("@{}/init.lua", dir.display());
    for (name, exe) in both() {
        let cases: &[InitCase] = &[
            // LUA_INIT runs before -e and sees `arg`.
            (
                &[("LUA_INIT", "X = arg[1]")],
                &["-e", "print(X)", "-", "a1"],
                "a1\n",
            ),
            // LUA_INIT_5_4 wins over LUA_INIT.
            (
                &[("LUA_INIT_5_4", "X = 54"), ("LUA_INIT", "X = 1")],
                &["-e", "print(X)"],
                "54\n",
            ),
            // @file runs a file.
            (
                &[("LUA_INIT", &init_file)],
                &["-e", "print(X)"],
                "from file 2\n",
            ),
            // -E ignores it. (#arg: with no script, arg[0] is the interpreter, arg[1..] the options.)
            (&[("LUA_INIT", "X = 1")], &["-E", "-e", "print(X)"], "nil\n"),
        ];
        for (envs, args, want) in cases {
            let o = run(&exe, args, envs, "", &dir);
            assert_eq!(code(&o), Some(0), "{name} {envs:?}: {}", stderr(&o));
            assert_eq!(stdout(&o), *want, "{name} {envs:?} {args:?}");
        }
        let o = run(
            &exe,
            &["-e", "print(1)"],
            &[("LUA_INIT", "error('bad init')")],
            "",
            &dir,
        );
        assert_eq!((code(&o), stdout(&o)), (Some(1), String::new()), "{name}");
        assert!(
            stderr(&o).starts_with("lua: LUA_INIT:1: bad init\n"),
            "{name}: {}",
            stderr(&o)
        );
    }
}

/// A program exercising `jit`, printing the statistics that matter after each step.
const JIT_PROG: &str = r#"
local jit = require "jit"
local function hot(n) local s = 0; for i = 1, n do s = s + i end; return s end
local function other(n) local s = 0; for i = 1, n do s = s + 2 * i end; return s end
local function show(what)
  local s = jit.stats()
  print(what, jit.status(), s.traces_recorded_ok, s.traces_compiled_ok, s.trace_executions,
        s.traces_freed)
end
assert(type(jit.version) == "string" and jit.version:match("^yk %d"))
show("start")
assert(hot(100) == 5050); show("hot")
jit.off()
assert(hot(100) == 5050); assert(other(100) == 10100); show("off")
jit.on()
assert(hot(100) == 5050); show("on")
jit.flush()
assert(hot(100) == 5050); show("flushed")
assert(not pcall(jit.on, print))
"#;

#[test]
fn jit_module() {
    let dir = scratch("jit");
    // Not "jit.lua": the plain lua would find it as the module `jit`.
    fs::write(dir.join("jitprog.lua"), JIT_PROG).unwrap();
    fs::write(
        dir.join("stats.lua"),
        "print(require('jit').status())\nlocal s = 0\nfor i = 1, 100 do s = s + i end\n",
    )
    .unwrap();
    let i = interps();
    let stats_file = dir.join("stats.json");
    let stats_env = format!("{}", stats_file.display());
    let mut envs = JIT_ENV.to_vec();
    envs.push(("YKD_LOG_STATS", &stats_env));
    let o = run(&i.yklua, &["jitprog.lua"], &envs, "", &dir);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    // Columns: status, recorded, compiled, executions, freed. `hot` gets a trace, entered once
    // (it loops inside the trace). Off: neither `hot`'s trace is entered nor is `other` (a new
    // hot loop) recorded. On again: `hot`'s kept trace is entered again. Flushed: `hot`'s trace
    // is dropped (freed) when its loop is next reached, which is then traced afresh.
    assert_eq!(
        stdout(&o),
        "start\ttrue\t0\t0\t0\t0\n\
         hot\ttrue\t1\t1\t1\t0\n\
         off\tfalse\t1\t1\t1\t0\n\
         on\ttrue\t1\t1\t2\t0\n\
         flushed\ttrue\t2\t2\t3\t1\n"
    );
    // The runtime's own statistics file agrees; it is written when the state closes, by
    // which time the second trace has gone too (`lua_close` frees the functions, and
    // dropping their locations frees their traces).
    let json = fs::read_to_string(&stats_file).unwrap();
    for (k, v) in [
        ("traces_compiled_ok", 2),
        ("trace_executions", 3),
        ("traces_freed", 2),
    ] {
        assert!(json.contains(&format!("\"{k}\": {v},")), "{k} in {json}");
    }

    // -joff: nothing is traced at all.
    let o = run(&i.yklua, &["-joff", "stats.lua"], &envs, "", &dir);
    assert_eq!(
        (code(&o), stdout(&o)),
        (Some(0), "false\n".to_owned()),
        "{}",
        stderr(&o)
    );
    let json = fs::read_to_string(&stats_file).unwrap();
    assert!(json.contains("\"traces_recorded_ok\": 0,"), "{json}");
    // YK_JITC=none cannot be turned on.
    let o = run(
        &i.yklua,
        &["-e", "local j = require 'jit'; j.on(); print(j.status())"],
        &[("YK_JITC", "none")],
        "",
        &dir,
    );
    assert_eq!(stdout(&o), "false\n", "{}", stderr(&o));
    // The plain lua has no jit module and no -j options.
    let o = run(
        &i.lua,
        &["-e", "print(pcall(require, 'jit'))"],
        &[],
        "",
        &dir,
    );
    assert!(
        stdout(&o).starts_with("false\tmodule 'jit' not found"),
        "{}",
        stdout(&o)
    );
    let o = run(&i.lua, &["-jv", "stats.lua"], &[], "", &dir);
    assert_eq!(code(&o), Some(1));
    assert!(
        stderr(&o).starts_with("lua: unrecognized option '-jv'\n"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn trace_log_switch() {
    let dir = scratch("jv");
    fs::write(
        dir.join("loops.lua"),
        "local s = 0\nfor i = 1, 100 do s = s + i end\nprint(s)\n",
    )
    .unwrap();
    let i = interps();
    // One line per trace compiled, with the loop's source location; the program's output is
    // unchanged, and no runtime log line appears (YKD_LOG is not set).
    let o = run(&i.yklua, &["-jv", "loops.lua"], JIT_ENV, "", &dir);
    assert_eq!((code(&o), stdout(&o)), (Some(0), "5050\n".to_owned()));
    assert_eq!(stderr(&o), "[TRACE compiled loops.lua:2]\n");
    // An aborted recording (too long for YKD_TRACE_MAX_LEN) says where and why.
    let mut envs = JIT_ENV.to_vec();
    envs.push(("YKD_TRACE_MAX_LEN", "3"));
    let o = run(&i.yklua, &["-jv", "loops.lua"], &envs, "", &dir);
    assert_eq!((code(&o), stdout(&o)), (Some(0), "5050\n".to_owned()));
    let err = stderr(&o);
    assert!(
        err.lines().count() >= 1
            && err
                .lines()
                .all(|l| l.starts_with("[TRACE aborted loops.lua:2 -- ") && l.ends_with(']')),
        "{err}"
    );
    // Without -jv: nothing.
    let o = run(&i.yklua, &["loops.lua"], JIT_ENV, "", &dir);
    assert_eq!(stderr(&o), "");
}

#[test]
fn refused_jit_setting() {
    let dir = scratch("badenv");
    fs::write(dir.join("p.lua"), "print(1)\n").unwrap();
    let i = interps();
    // A JIT setting the runtime refuses stops yklua before it runs anything, with the
    // runtime's message naming the variable, and a last line that does not blame memory.
    for (var, val) in [
        ("YK_HOT_THRESHOLD", "12x"),
        ("YKD_LOG_STATS", ""),
        ("YKLUA_RECURSION", "2"),
    ] {
        let o = run(&i.yklua, &["p.lua"], &[(var, val)], "", &dir);
        assert_eq!((code(&o), stdout(&o)), (Some(1), String::new()), "{var}");
        let err = stderr(&o);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 2, "{var}: {err}");
        assert!(lines[0].contains(var), "{var}: {err}");
        assert!(
            lines[1].ends_with("cannot create state: see the error above (or not enough memory)"),
            "{var}: {err}"
        );
    }
}
