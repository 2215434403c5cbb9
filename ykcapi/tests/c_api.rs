//! Builds tests/c/api.c against yk.h and libykcapi.so with clang-22 and checks
//! its output. Skipped (with a message) when clang-22 is not installed.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// target/<profile>, where cargo put libykcapi.so.
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_owned()
}

fn build(out: &Path) -> bool {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = lib_dir();
    assert!(
        lib.join("libykcapi.so").exists(),
        "no libykcapi.so in {}",
        lib.display()
    );
    let st = match Command::new("clang-22")
        .args(["-std=gnu11", "-Wall", "-Werror", "-o"])
        .arg(out)
        .arg(src.join("tests/c/api.c"))
        .arg("-I")
        .arg(src)
        .arg("-L")
        .arg(&lib)
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .arg("-lykcapi")
        .status()
    {
        Ok(st) => st,
        Err(e) => {
            eprintln!("skipping: cannot run clang-22: {e}");
            return false;
        }
    };
    assert!(st.success(), "clang-22 failed");
    // The "embedded IR" the program registers: one function with one block.
    let bc = out.with_extension("bc");
    let ll = out.with_extension("ll");
    std::fs::write(&ll, "define void @interp() {\n  ret void\n}\n").unwrap();
    assert!(Command::new("llvm-as-22")
        .arg(&ll)
        .arg("-o")
        .arg(&bc)
        .status()
        .unwrap()
        .success());
    // What the program reads: the bitcode as yk-ld embeds it, after the
    // section's header.
    let section = ykrt::aot::ir_section::wrap(&std::fs::read(&bc).unwrap());
    std::fs::write(out.with_extension("yk_ir"), section).unwrap();
    true
}

#[test]
fn c_api() {
    let dir = std::env::temp_dir().join(format!("ykcapi-c-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let exe = dir.join("api");
    if !build(&exe) {
        return;
    }
    let clean = |c: &mut Command| {
        for (k, _) in std::env::vars() {
            if k.starts_with("YK") {
                c.env_remove(k);
            }
        }
    };

    // A malformed variable: NULL plus a message naming it.
    let mut c = Command::new(&exe);
    clean(&mut c);
    let o = c
        .arg("err")
        .env("YK_HOT_THRESHOLD", "lots")
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let s = String::from_utf8(o.stdout).unwrap();
    assert!(s.contains("YK_HOT_THRESHOLD") && s.contains("lots"), "{s}");

    // A loop: traced, no compiler yet, stats written at exit.
    let stats = dir.join("stats.json");
    let mut c = Command::new(&exe);
    clean(&mut c);
    let o = c
        .arg("loop")
        .arg(exe.with_extension("yk_ir"))
        .env("YKD_LOG", "3")
        .env("YKD_LOG_STATS", &stats)
        .env("YKD_LOG_IR", "trace-blocks")
        .env("YKD_SERIALISE_COMPILATION", "1")
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        "acc=128 interpreting=1\n"
    );
    let err = String::from_utf8(o.stderr).unwrap();
    let events: Vec<&str> = err.lines().filter(|l| l.starts_with("yk-jit")).collect();
    assert_eq!(
        events[..2],
        [
            "yk-jit-event: start-tracing @ loop-head",
            "yk-jit-event: stop-tracing @ loop-head",
        ],
        "{err}"
    );
    // The IR registered here is not the binary's, so whether a trace compiler
    // (if one is built in) accepts the recording is not the point: only that the
    // outcome is logged.
    assert_eq!(events.len(), 3, "{err}");
    assert!(
        (events[2].starts_with("yk-jit-event: trace-aborted: ")
            || events[2].starts_with("yk-jit-event: trace-compiled"))
            && events[2].ends_with(" @ loop-head"),
        "{err}"
    );
    assert!(
        err.contains("yk-trace-block: interp 0\nyk-trace-check: ok\n"),
        "{err}"
    );
    let json = std::fs::read_to_string(&stats).unwrap();
    let num = |k: &str| -> u64 {
        let i = json.find(&format!("\"{k}\": ")).expect(k) + k.len() + 4;
        json[i..].split(',').next().unwrap().trim().parse().unwrap()
    };
    assert_eq!(num("traces_recorded_ok"), 1, "{json}");
    assert_eq!(
        num("traces_compiled_ok") + num("traces_compiled_err"),
        1,
        "{json}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
