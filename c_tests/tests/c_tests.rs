//! Runs every `c_tests/tests/*.c` with lang_tester. Each test has two commands:
//!
//! * `Compiler`: this executable re-invoked as `__c_tests_build <test.c> <out dir>`, which
//!   builds the JIT and the plain binary (see `c_tests::compile`);
//! * `Run-time`: this executable re-invoked as `__c_tests_run <out dir> [exec-args]`, which
//!   runs both and compares them (see `c_tests::run`).
//!
//! Re-invoking ourselves keeps each step a single command, which is what lang_tester checks.

use std::{
    env, fs,
    path::{Path, PathBuf},
    process::{self, Command},
};

use c_tests::{compile, run, spec, toolchain};
use lang_tester::LangTester;

const BUILD_MODE: &str = "__c_tests_build";
const RUN_MODE: &str = "__c_tests_run";

fn main() {
    let args: Vec<String> = env::args().collect();
    let profile_dir = toolchain::profile_dir_of_current_exe().unwrap_or_else(|e| fail(e));
    match args.get(1).map(String::as_str) {
        Some(BUILD_MODE) => process::exit(build_mode(&profile_dir, &args[2..])),
        Some(RUN_MODE) => match run::run_and_compare(Path::new(&args[2]), &args[3..]) {
            Ok(code) => process::exit(code),
            Err(e) => fail(e),
        },
        _ => (),
    }

    // Build (or bring up to date) yk-config, yk-ld and libykcapi for our own profile once,
    // before any test uses them.
    if env::var_os("C_TESTS_NO_TOOLCHAIN_BUILD").is_none() {
        toolchain::build_toolchain(&profile_dir).unwrap_or_else(|e| fail(e));
    }
    // Fail early and once, rather than in every test, if yk-config is unusable.
    toolchain::Toolchain::find(&profile_dir).unwrap_or_else(|e| fail(e));

    let tests_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let tests_dir = fs::canonicalize(&tests_dir).unwrap_or_else(|e| fail(e));
    let out_root = profile_dir.join("c_tests");
    let filter_dir = tests_dir.clone();
    let exe = env::current_exe().unwrap_or_else(|e| fail(e));
    LangTester::new()
        .test_dir(tests_dir.to_str().expect("test dir is not UTF-8"))
        // Only top-level `*.c` files are tests: helpers live in subdirectories.
        .test_path_filter(move |p| {
            p.extension().is_some_and(|e| e == "c") && p.parent() == Some(filter_dir.as_path())
        })
        .test_extract(|p| {
            let src = fs::read_to_string(p).expect("unreadable test file");
            match spec::parse(&src) {
                Ok((data, _)) => data,
                Err(e) => panic!("{}: {e}", p.display()),
            }
        })
        .test_cmds(move |p| {
            let out_dir = out_dir(&out_root, p);
            let mut build = Command::new(&exe);
            build.arg(BUILD_MODE).arg(p).arg(&out_dir);
            let mut run = Command::new(&exe);
            // Compile traces synchronously, so that the order of JIT log lines is
            // deterministic, and with no compile-time budget (which depends on the
            // machine's speed); a test may override these with `env-var:`.
            run.arg(RUN_MODE)
                .arg(&out_dir)
                .env("YKD_SERIALISE_COMPILATION", "1")
                .env("YK_COMPILE_BUDGET", "0");
            vec![("Compiler", build), ("Run-time", run)]
        })
        .run();
}

/// Where the binaries of test `p` go: `target/<profile>/c_tests/<test name>/`, kept after the
/// run so that a failing binary can be rerun by hand.
fn out_dir(out_root: &Path, p: &Path) -> PathBuf {
    out_root.join(p.file_stem().expect("test file has no name"))
}

fn build_mode(profile_dir: &Path, args: &[String]) -> i32 {
    let [test, out_dir] = args else {
        fail(format!("usage: {BUILD_MODE} <test.c> <out dir>"));
    };
    let result = toolchain::Toolchain::find(profile_dir)
        .and_then(|tc| compile::build(&tc, Path::new(test), Path::new(out_dir)));
    match result {
        Ok(()) => 0,
        // The failing tool's output has already been passed through.
        Err(e) => match e.downcast_ref::<compile::StepFailed>() {
            Some(f) => f.code,
            None => fail(e),
        },
    }
}

fn fail(e: impl std::fmt::Display) -> ! {
    eprintln!("c_tests: {e:#}");
    process::exit(1);
}
