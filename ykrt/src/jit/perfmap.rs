//! perf's JIT symbol map for the native tier 0: with `YKD_PERF_MAP=1`,
//! each trace's native code (and a side trace's entry stub) is listed in
//! `/tmp/perf-<pid>.map`, the file `perf report` reads to name samples in
//! code that no binary on disk holds, as `<start> <size> <name>` with the
//! trace's name and its start location (`__yk_trace_12 @ strings.lua:14`,
//! `__yk_trace_15 (side of 12, guard 3) @ strings.lua:14`).
//!
//! What it owns: the policy ([`enabled`]) and the file's appends
//! ([`record`]). Invariants: a line is written once the code is in place
//! and before the trace is installed (so a sample in it can already be
//! named); lines are whole (one write each, under a lock, to a file opened
//! for appending). The map never forgets: code freed and its address used
//! again by a later trace gets a second line, and perf takes the later
//! one. A write that fails (no `/tmp`, a full disk) is ignored: the map is
//! for someone profiling and must not change what the program does.
//!
//! Not listed: code compiled by LLVM (a hot trace's recompilation, a
//! fallback), whose size ORC does not give; `YKD_PERF_JITDUMP=1` names it
//! (with line tables), at the price of compiling every trace with LLVM.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

/// Is the perf map on (`YKD_PERF_MAP` set to anything but `0`; read once)?
pub fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("YKD_PERF_MAP").is_ok_and(|v| v != "0"))
}

/// The map's path for this process.
pub fn path() -> String {
    format!("/tmp/perf-{}.map", std::process::id())
}

/// The file, opened on first use (`None`: it could not be opened).
static FILE: Mutex<Option<Option<std::fs::File>>> = Mutex::new(None);

/// Lists `len` bytes of code at `start` as `name` (see the module's
/// comment), if the map is on.
pub fn record(start: usize, len: usize, name: &str) {
    if !enabled() || len == 0 {
        return;
    }
    let line = format!("{start:x} {len:x} {name}\n");
    let mut f = FILE.lock().unwrap_or_else(|e| e.into_inner());
    let f = f.get_or_insert_with(|| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path())
            .ok()
    });
    if let Some(f) = f {
        let _ = f.write_all(line.as_bytes());
    }
}
