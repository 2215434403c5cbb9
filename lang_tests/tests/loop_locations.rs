//! yklua's locations are on the targets of jumps back (yk.patch, `luaF_initlocs`), because its
//! fast code passes the control point only after a jump back: each kind of Lua loop (numeric
//! `for`, generic `for`, `while`, `repeat`) must still get a trace, entered from the
//! interpreter, and named after the loop's line: a `for` loop's location is its body's first
//! instruction, named after the `for` line; a `while` loop's is its test's, on the `while`
//! line; a `repeat` loop's is its body's first, on that line. The program's output is lua's.

use std::{fs, time::Duration};

use lang_tests::{
    interps::{profile_dir_of_current_exe, Interpreters},
    run::{compare, lua_command, run_with_timeout},
    spec::JitExpectation,
};

/// One loop of each kind, each hot on its own (`YK_HOT_THRESHOLD=5`), at the lines
/// [`LOOP_LINES`] name.
const PROGRAM: &str = "\
local acc = 0
for i = 1, 100 do
  acc = acc + i
end
local t = {}
for i = 1, 100 do t['k' .. i] = i end
for k, v in pairs(t) do
  acc = acc + v
end
local i = 0
while i < 100 do
  i = i + 1; acc = acc + i
end
repeat
  i = i - 1; acc = acc - i
until i == 0
print(acc)
";

/// The lines of the loops' locations: two numeric `for`s, the generic `for`, the `while`, and
/// the first line of the `repeat` loop's body.
const LOOP_LINES: [u32; 5] = [2, 6, 7, 11, 15];

#[test]
fn every_kind_of_loop_is_traced_at_its_line() {
    let profile = profile_dir_of_current_exe().expect("no profile dir");
    let interps = Interpreters::find(profile.parent().expect("no target dir"))
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = std::env::temp_dir().join(format!("yk-loop-locations-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let script = dir.join("loops.lua");
    fs::write(&script, PROGRAM).unwrap();
    let timeout = Duration::from_secs(120);
    let plain = run_with_timeout(
        &mut lua_command(&interps.lua, &script, &[]).unwrap(),
        &[],
        timeout,
    )
    .unwrap();
    let mut jit_cmd = lua_command(&interps.yklua, &script, &[]).unwrap();
    jit_cmd
        .env("YK_HOT_THRESHOLD", "5")
        .env("YKD_SERIALISE_COMPILATION", "1")
        .env("YK_COMPILE_BUDGET", "0")
        .env("YKD_LOG", "3");
    let jit = run_with_timeout(&mut jit_cmd, &[], timeout).unwrap();
    let _ = fs::remove_dir_all(&dir);
    assert!(
        plain.status.is_some_and(|s| s.success()),
        "{}",
        String::from_utf8_lossy(&plain.stderr)
    );
    let problems = compare(&plain, &jit, Some(JitExpectation::Compiled));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let log = String::from_utf8_lossy(&jit.stderr);
    for line in LOOP_LINES {
        for event in ["trace-compiled", "enter-jit-code"] {
            let want = format!("yk-jit-event: {event} @ loops.lua:{line}\n");
            assert!(log.contains(&want), "no `{}` in:\n{log}", want.trim());
        }
    }
    // No location anywhere else.
    for l in log.lines().filter(|l| l.contains("start-tracing @ ")) {
        let line: u32 = l.rsplit(':').next().unwrap().parse().unwrap();
        assert!(LOOP_LINES.contains(&line), "{l}");
    }
}
