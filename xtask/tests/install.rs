//! `cargo xtask install --prefix DIR`: the installed toolchain works with no repository
//! around. Installs (the debug toolchain, which the test suite has built anyway) into a
//! temporary prefix, builds a small bytecode interpreter in another temporary directory with
//! the installed `yk-config` only, and checks that its loop is traced, compiled and run as
//! native code (the runtime's log and statistics), with the output of a run without the JIT.
//! Also the installed `yklua` and the pkg-config file.

use std::{
    env, fs,
    path::{Path, PathBuf},
    process::{Command, Output},
};

/// A bytecode interpreter: `sum += i` for `i` in `0..n`, with one backward jump, whose target
/// is the loop header (the only non-null location).
const INTERP_C: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <yk.h>

enum { ADD_I, INC_I, JMP_IF_LT, HALT };

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000;
  int prog[] = {ADD_I, INC_I, JMP_IF_LT, HALT};
  YkMT *mt = yk_mt_new(NULL);
  YkLocation locs[4] = {yk_location_new(), yk_location_null(), yk_location_null(),
                        yk_location_null()};
  yk_location_set_debug_str(&locs[0], "loop");
  long sum = 0, i = 0;
  int pc = 0;
  for (;;) {
    yk_mt_control_point(mt, &locs[pc]);
    switch (prog[yk_promote(pc)]) {
    case ADD_I: sum += i; pc++; break;
    case INC_I: i++; pc++; break;
    case JMP_IF_LT: pc = i < n ? 0 : pc + 1; break;
    case HALT: goto done;
    }
  }
done:
  printf("sum = %ld\n", sum);
  for (int k = 0; k < 4; k++)
    yk_location_drop(locs[k]);
  yk_mt_shutdown(mt);
  return 0;
}
"#;

fn scratch(name: &str) -> PathBuf {
    let d = env::temp_dir().join(format!("xtask-install-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn ok(cmd: &mut Command) -> Output {
    let o = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        o.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `prefix/bin/yk-config <opt>`, split into words.
fn yk_config(prefix: &Path, opt: &str) -> Vec<String> {
    let o = ok(Command::new(prefix.join("bin/yk-config")).arg(opt));
    text(&o.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

#[test]
fn installed_toolchain_builds_and_jits_an_interpreter_outside_the_repository() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let prefix = scratch("prefix");
    ok(Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["install", "--debug", "--prefix"])
        .arg(&prefix));
    for f in [
        "bin/yk-config",
        "bin/yk-ld",
        "bin/lua",
        "bin/yklua",
        "lib/libykcapi.so",
        "include/yk.h",
        "lib/pkgconfig/ykcapi.pc",
    ] {
        assert!(prefix.join(f).is_file(), "{f} was not installed");
    }

    // Every path yk-config prints is the prefix's (or LLVM's), none the repository's.
    let repo_s = repo.to_str().unwrap();
    let prefix_s = prefix.to_str().unwrap();
    let cppflags = yk_config(&prefix, "--cppflags");
    let ldflags = yk_config(&prefix, "--ldflags");
    let libs = yk_config(&prefix, "--libs");
    assert_eq!(cppflags, [format!("-I{prefix_s}/include")]);
    assert!(
        ldflags.contains(&format!("--ld-path={prefix_s}/bin/yk-ld")),
        "{ldflags:?}"
    );
    assert!(libs.contains(&format!("-L{prefix_s}/lib")), "{libs:?}");
    // (A path inside the repository: the repository's path followed by `/`, or at the end.
    // Not a bare substring: a clone at /tmp/x would match the prefix /tmp/xtask-install-....)
    let in_repo = format!("{repo_s}/");
    for f in cppflags.iter().chain(&ldflags).chain(&libs) {
        assert!(
            !f.contains(&in_repo) && !f.ends_with(repo_s),
            "yk-config names the repository: {f}"
        );
    }

    // Build the interpreter elsewhere, with the installed yk-config only.
    let work = scratch("interp");
    fs::write(work.join("interp.c"), INTERP_C).unwrap();
    let cc = yk_config(&prefix, "--cc");
    let mut build = Command::new(&cc[0]);
    build
        .current_dir(&work)
        .args(yk_config(&prefix, "--cflags"))
        .args(&cppflags)
        .args(["interp.c", "-o", "interp"])
        .args(&ldflags)
        .args(&libs);
    ok(&mut build);
    let interp = work.join("interp");
    // The interpreter finds the installed runtime, not the build tree's (cargo test puts
    // target/debug in LD_LIBRARY_PATH: take it out).
    let run = |envs: &[(&str, &str)]| {
        let mut c = Command::new(&interp);
        c.arg("1000")
            .env_remove("LD_LIBRARY_PATH")
            .envs(envs.iter().copied());
        for (k, _) in env::vars() {
            if k.starts_with("YK") {
                c.env_remove(k);
            }
        }
        ok(&mut c)
    };
    let plain = run(&[("YK_JITC", "none")]);
    assert_eq!(text(&plain.stdout), "sum = 499500\n");
    let stats = work.join("stats.json");
    let jit = run(&[
        ("YK_HOT_THRESHOLD", "5"),
        ("YK_COMPILE_BUDGET", "0"),
        ("YKD_SERIALISE_COMPILATION", "1"),
        ("YKD_LOG", "3"),
        ("YKD_LOG_STATS", stats.to_str().unwrap()),
    ]);
    assert_eq!(text(&jit.stdout), "sum = 499500\n");
    let log = text(&jit.stderr);
    for ev in [
        "start-tracing @ loop",
        "trace-compiled @ loop",
        "enter-jit-code @ loop",
    ] {
        assert!(
            log.lines().any(|l| l == format!("yk-jit-event: {ev}")),
            "no {ev} in:\n{log}"
        );
    }
    let json = fs::read_to_string(&stats).unwrap();
    assert!(json.contains("\"traces_compiled_ok\": 1,"), "{json}");
    assert!(!json.contains("\"trace_executions\": 0,"), "{json}");

    // The interpreter loads the installed libykcapi (its rpath is the prefix's lib/).
    let ldd = ok(Command::new("ldd")
        .arg(&interp)
        .env_remove("LD_LIBRARY_PATH"));
    assert!(
        text(&ldd.stdout).contains(&format!("libykcapi.so => {prefix_s}/lib/libykcapi.so")),
        "{}",
        text(&ldd.stdout)
    );

    // The installed yklua runs with the installed runtime, and so does its jit module.
    let mut yklua = Command::new(prefix.join("bin/yklua"));
    yklua
        .args(["-e", "print(require('jit').status())"])
        .env_remove("LD_LIBRARY_PATH");
    assert_eq!(text(&ok(&mut yklua).stdout), "true\n");
    let ldd = ok(Command::new("ldd")
        .arg(prefix.join("bin/yklua"))
        .env_remove("LD_LIBRARY_PATH"));
    assert!(
        text(&ldd.stdout).contains(&format!(
            "libykcapi.so => {prefix_s}/bin/../lib/libykcapi.so"
        )),
        "{}",
        text(&ldd.stdout)
    );

    // pkg-config finds the same header and library.
    let pc = ok(Command::new("pkg-config")
        .args(["--cflags", "--libs", "ykcapi"])
        .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig")));
    let pc = text(&pc.stdout);
    assert!(pc.contains("-lykcapi") && pc.contains("/include"), "{pc}");
    let pc_inc = pc
        .split_whitespace()
        .find_map(|w| w.strip_prefix("-I"))
        .expect("no -I from pkg-config");
    assert!(Path::new(pc_inc).join("yk.h").is_file(), "{pc}");

    fs::remove_dir_all(&prefix).unwrap();
    fs::remove_dir_all(&work).unwrap();
}
