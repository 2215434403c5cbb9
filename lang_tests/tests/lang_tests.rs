//! Runs every `lang_tests/tests/*.lua` with lang_tester. Each test has one command, `Run-time`:
//! this executable re-invoked as `__lang_tests_run <test.lua> [exec-args]`, which runs the test
//! under `lua` and `yklua`, compares them and passes the agreed output through (see
//! `lang_tests::run`). Re-invoking ourselves keeps the step a single command, which is what
//! lang_tester checks.

use std::{
    env, fs,
    path::{Path, PathBuf},
    process::{self, Command},
    time::Duration,
};

use lang_tester::LangTester;
use lang_tests::{
    interps::{self, Interpreters},
    run, spec,
};

const RUN_MODE: &str = "__lang_tests_run";

/// Seconds after which an interpreter is killed, unless `LANG_TESTS_TIMEOUT` says otherwise.
/// lang_tester itself never kills a hung test, and CI has a hard time limit.
const DEFAULT_TIMEOUT_SECS: u64 = 300;

/// The environment every test runs in (a test may override any of it with `env-var:`). Only
/// yklua reads these; lua gets them too, which is harmless.
const JIT_ENV: &[(&str, &str)] = &[
    // Low, so that loops of a few dozen iterations are traced.
    ("YK_HOT_THRESHOLD", "5"),
    // Compile traces synchronously, so that a trace is in use as soon as it's compiled and the
    // log is deterministic.
    ("YKD_SERIALISE_COMPILATION", "1"),
    // No compile-time budget: it depends on the machine's speed, and the tests check that
    // traces compile.
    ("YK_COMPILE_BUDGET", "0"),
    // `yk-jit-event:` lines on stderr, which `jit: compiled` checks.
    ("YKD_LOG", "3"),
];

fn main() {
    let args: Vec<String> = env::args().collect();
    let profile_dir = interps::profile_dir_of_current_exe().unwrap_or_else(|e| fail(e));
    let target_dir = profile_dir
        .parent()
        .unwrap_or_else(|| fail("the profile dir has no parent"))
        .to_owned();
    // Fail early and once, rather than in every test, if the interpreters aren't built.
    let interps = Interpreters::find(&target_dir).unwrap_or_else(|e| fail(e));
    if args.get(1).map(String::as_str) == Some(RUN_MODE) {
        let Some(script) = args.get(2) else {
            fail(format!("usage: {RUN_MODE} <test.lua> [args]"));
        };
        process::exit(run_mode(
            &interps,
            &profile_dir,
            Path::new(script),
            &args[3..],
        ));
    }

    let tests_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let tests_dir = fs::canonicalize(&tests_dir).unwrap_or_else(|e| fail(e));
    let filter_dir = tests_dir.clone();
    let exe = env::current_exe().unwrap_or_else(|e| fail(e));
    LangTester::new()
        .test_dir(tests_dir.to_str().expect("test dir is not UTF-8"))
        // Only top-level `*.lua` files are tests: helpers would live in subdirectories.
        .test_path_filter(move |p| {
            p.extension().is_some_and(|e| e == "lua") && p.parent() == Some(filter_dir.as_path())
        })
        .test_extract(|p| {
            let src = fs::read_to_string(p).expect("unreadable test file");
            match spec::parse(&src) {
                Ok((data, _)) => data,
                Err(e) => panic!("{}: {e}", p.display()),
            }
        })
        .test_cmds(move |p| {
            let mut run = Command::new(&exe);
            run.arg(RUN_MODE).arg(p).envs(JIT_ENV.iter().copied());
            vec![("Run-time", run)]
        })
        .run();
}

/// Where yklua's whole stderr (the JIT log included) for test `script` is kept:
/// `target/<profile>/lang_tests/<test name>.yklua.stderr`.
fn jit_log_path(profile_dir: &Path, script: &Path) -> PathBuf {
    let name = script.file_stem().expect("test file has no name");
    let mut file = name.to_os_string();
    file.push(".yklua.stderr");
    profile_dir.join("lang_tests").join(file)
}

fn run_mode(interps: &Interpreters, profile_dir: &Path, script: &Path, args: &[String]) -> i32 {
    let src = fs::read_to_string(script)
        .unwrap_or_else(|e| fail(format!("reading {}: {e}", script.display())));
    let (_, dirs) =
        spec::parse(&src).unwrap_or_else(|e| fail(format!("{}: {e}", script.display())));
    let timeout = match env::var("LANG_TESTS_TIMEOUT") {
        Ok(s) => s
            .parse()
            .unwrap_or_else(|_| fail(format!("LANG_TESTS_TIMEOUT={s:?} is not a number"))),
        Err(_) => DEFAULT_TIMEOUT_SECS,
    };
    run::run_and_compare(
        interps,
        script,
        args,
        dirs.jit,
        &jit_log_path(profile_dir, script),
        Duration::from_secs(timeout),
    )
    .unwrap_or_else(|e| fail(e))
}

fn fail(e: impl std::fmt::Display) -> ! {
    eprintln!("lang_tests: {e:#}");
    process::exit(1);
}
