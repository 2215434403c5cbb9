//! Run-time configuration, read from the environment once per `MT`.
//!
//! Every variable is parsed strictly: a malformed value is an error naming the
//! variable, never a silent default, because a typo in (say) `YK_HOT_THRESHOLD`
//! would otherwise make a benchmark or a test measure the wrong thing.

use std::{fmt, path::PathBuf};

/// Default hot threshold. Large enough that start-up code and short loops never pay
/// for a recording, small enough that real loops are compiled early. A prime, so
/// that it does not resonate with the round iteration counts loops in test and
/// benchmark programs tend to have (a threshold of 100 in a loop of 100 iterations
/// would start tracing on the exit path).
pub const DEFAULT_HOT_THRESHOLD: u32 = 131;

/// Default number of failures of one guard before a side trace is recorded from
/// it. Each failure runs the (slow) blackhole, so a guard that keeps failing is
/// worth a side trace soon.
pub const DEFAULT_SIDETRACE_THRESHOLD: u32 = 5;

/// Default limit on the number of blocks in one recording (root or side),
/// checked while recording, so that nothing too long is built. A block
/// becomes about 6-7 trace IR instructions, so this is about 4,500 of them
/// (LuaJIT's limit is 4,000 IR instructions). Longer paths (on yklua, a
/// loop body that calls several methods, each inlined) compiled in tens of
/// milliseconds and seldom ran to their end: on the project's Lua programs
/// the limit halved compile time and made the object-oriented ones 1.3-2x
/// faster, and the longest traces that win (`nbody`'s) fit. (It was 650
/// until yklua's recording version passed one more block per bytecode, for
/// its fast code, 11% more on a simple loop; on the suite 720 then did
/// better than 650: docs/trace-compiler.md, "With the JIT off", and "Trace
/// length" there.)
pub const DEFAULT_TRACE_MAX_LEN: usize = 720;

/// The default `YKD_LOG` level: errors and warnings only.
pub const DEFAULT_LOG_LEVEL: u8 = 1;

/// Which too-long recordings are truncated rather than aborted
/// (`YKD_TRUNCATE`, [`Config::truncate`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Truncate {
    /// None.
    Never,
    /// A side trace's recording at a guard that kept failing after its
    /// first recording was too long.
    Retried,
    /// Every one, root or side.
    Always,
}

/// A malformed environment variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The variable's name.
    pub var: &'static str,
    /// Its value as found (lossily converted if it was not UTF-8).
    pub value: String,
    /// What was expected.
    pub expected: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid value {:?} for environment variable {}: expected {}",
            self.value, self.var, self.expected
        )
    }
}

impl std::error::Error for ConfigError {}

/// Where a log goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogDest {
    /// Standard error.
    Stderr,
    /// A file, truncated when first opened by this process.
    File(PathBuf),
}

/// Which tracer to use (`YKD_TRACER`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TracerKind {
    /// The software tracer (default).
    Swt,
    /// Intel PT (not built yet: falls back to swt with a warning).
    Hwt,
}

/// The IR dumps and debugging outputs selectable with `YKD_LOG_IR`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IrLogSelection {
    /// `aot`: the embedded module, once, when it is loaded.
    pub aot: bool,
    /// `jit-pre-opt`: each trace's module before optimisation.
    pub jit_pre_opt: bool,
    /// `jit-post-opt`: each trace's module after optimisation.
    pub jit_post_opt: bool,
    /// `trace-blocks`: each completed recording, one block per line.
    pub trace_blocks: bool,
    /// `trace-ir`: each trace's trace IR after the forward optimiser and
    /// after the backward pass.
    pub trace_ir: bool,
    /// `jit-stitched`: a root trace's module recompiled with its side
    /// traces stitched in, after the stitching pipeline (`jit::stitch`).
    pub jit_stitched: bool,
}

/// Everything the environment can set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `YK_HOT_THRESHOLD`.
    pub hot_threshold: u32,
    /// `YK_SIDETRACE_THRESHOLD`.
    pub sidetrace_threshold: u32,
    /// False when `YK_JITC=none`: nothing is counted or traced.
    pub jit_enabled: bool,
    /// `YKD_SERIALISE_COMPILATION=1`: compile on the recording thread.
    pub serialise_compilation: bool,
    /// `YKD_TRACER`, as requested.
    pub tracer: TracerKind,
    /// `YKD_TRACE_MAX_LEN`: blocks in one recording before it is aborted.
    pub trace_max_len: usize,
    /// `YKD_LOG` level (0 off, 1 errors/warnings, 3 JIT events, 4 every execution).
    pub log_level: u8,
    /// `YKD_LOG` destination.
    pub log_dest: LogDest,
    /// `YKD_LOG_IR` selection.
    pub log_ir: IrLogSelection,
    /// `YKD_LOG_IR` destination.
    pub log_ir_dest: LogDest,
    /// `YKD_LOG_STATS` destination, if stats are wanted.
    pub log_stats: Option<LogDest>,
    /// `YKD_INNER_LOOPS_FIRST` (default `1`): a root recording that reaches
    /// another loop's location defers to it or ends at its trace (see
    /// `MT::passing_location`); `0` records through other loops, unrolling
    /// them (for measuring what linking traces buys).
    pub inner_loops_first: bool,
    /// `YKD_CUT_CALLS` (default `0`): `1` cuts a recording that grows too
    /// long at the call that took most of it, if the interpreter gives
    /// hints (see `crate::trace::entries`); `0` aborts it as too long. Off by
    /// default: on the Lua benchmarks the traces it makes don't yet run
    /// faster than the interpreter (docs/trace-compiler.md, "Cutting
    /// too-long recordings at calls").
    pub cut_calls: bool,
    /// `YKD_TRUNCATE` (`0`, `1` (default) or `2`): which recordings that
    /// grow past `YKD_TRACE_MAX_LEN` are stopped there and compiled up to
    /// the last control point they passed, ending there (a root trace as a
    /// linear one), rather than aborted as too long: `1` a side trace's
    /// second recording, at a guard that keeps failing after its first was
    /// too long (`guard::TRUNCATE_AFTER`); `2` every one (for measuring:
    /// slower on the Lua benchmarks); `0` none. A cut at a call
    /// (`YKD_CUT_CALLS=1`) is tried first.
    pub truncate: Truncate,
    /// `YKD_CODEGEN_OPT` (0 to 3, default 1): LLVM's code generation level
    /// for traces (for measuring).
    pub codegen_opt: u8,
    /// `YK_COMPILE_BUDGET` (percent, default 15; 0 is no limit): no new
    /// recording starts while the time spent compiling traces exceeds this
    /// share of the process's CPU time (after a first allowance of
    /// [`COMPILE_BUDGET_GRACE_MS`]), so that a program whose traces are
    /// expensive to compile is never much slower than the interpreter; the
    /// budget grows as the program runs.
    pub compile_budget: u32,
    /// `YKD_COMPILE_GRACE_MS` (default [`COMPILE_BUDGET_GRACE_MS`]): the
    /// compile time allowed before [`Config::compile_budget`] applies (for
    /// measuring warm-up).
    pub compile_grace_ms: u64,
}

/// Compile time every process may spend before [`Config::compile_budget`]
/// applies (so that short programs get their first traces).
pub const COMPILE_BUDGET_GRACE_MS: u64 = 100;

/// Default [`Config::compile_budget`].
pub const DEFAULT_COMPILE_BUDGET: u32 = 15;

impl Default for Config {
    fn default() -> Self {
        Config {
            hot_threshold: DEFAULT_HOT_THRESHOLD,
            sidetrace_threshold: DEFAULT_SIDETRACE_THRESHOLD,
            jit_enabled: true,
            serialise_compilation: false,
            tracer: TracerKind::Swt,
            trace_max_len: DEFAULT_TRACE_MAX_LEN,
            log_level: DEFAULT_LOG_LEVEL,
            log_dest: LogDest::Stderr,
            log_ir: IrLogSelection::default(),
            log_ir_dest: LogDest::Stderr,
            log_stats: None,
            inner_loops_first: true,
            cut_calls: false,
            truncate: Truncate::Retried,
            codegen_opt: 1,
            compile_budget: DEFAULT_COMPILE_BUDGET,
            compile_grace_ms: COMPILE_BUDGET_GRACE_MS,
        }
    }
}

impl Config {
    /// Read the configuration from the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| {
            std::env::var_os(name).map(|v| match v.into_string() {
                Ok(s) => Ok(s),
                Err(v) => Err(v.to_string_lossy().into_owned()),
            })
        })
    }

    /// Read the configuration through `lookup`, which returns `None` for an unset
    /// variable, `Some(Ok(value))`, or `Some(Err(lossy value))` for one that is not
    /// UTF-8. (Tests use this instead of mutating the process environment.)
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<Result<String, String>>,
    ) -> Result<Config, ConfigError> {
        let get = |var: &'static str, expected: &str| -> Result<Option<String>, ConfigError> {
            match lookup(var) {
                None => Ok(None),
                Some(Ok(s)) => Ok(Some(s)),
                Some(Err(value)) => Err(ConfigError {
                    var,
                    value,
                    expected: format!("{expected} (in UTF-8)"),
                }),
            }
        };
        let mut c = Config::default();

        const INT: &str = "a non-negative integer below 2^32";
        if let Some(v) = get("YK_HOT_THRESHOLD", INT)? {
            c.hot_threshold = parse_num(&v).ok_or_else(|| err("YK_HOT_THRESHOLD", &v, INT))?;
        }
        if let Some(v) = get("YK_SIDETRACE_THRESHOLD", INT)? {
            c.sidetrace_threshold =
                parse_num(&v).ok_or_else(|| err("YK_SIDETRACE_THRESHOLD", &v, INT))?;
        }
        const JITC: &str = "`none` (no JIT) or `llvm`";
        if let Some(v) = get("YK_JITC", JITC)? {
            c.jit_enabled = match v.as_str() {
                "none" => false,
                "llvm" => true,
                _ => return Err(err("YK_JITC", &v, JITC)),
            };
        }
        const BOOL: &str = "`0` or `1`";
        if let Some(v) = get("YKD_SERIALISE_COMPILATION", BOOL)? {
            c.serialise_compilation = match v.as_str() {
                "0" => false,
                "1" => true,
                _ => return Err(err("YKD_SERIALISE_COMPILATION", &v, BOOL)),
            };
        }
        if let Some(v) = get("YKD_INNER_LOOPS_FIRST", BOOL)? {
            c.inner_loops_first = match v.as_str() {
                "0" => false,
                "1" => true,
                _ => return Err(err("YKD_INNER_LOOPS_FIRST", &v, BOOL)),
            };
        }
        if let Some(v) = get("YKD_CUT_CALLS", BOOL)? {
            c.cut_calls = match v.as_str() {
                "0" => false,
                "1" => true,
                _ => return Err(err("YKD_CUT_CALLS", &v, BOOL)),
            };
        }
        const TRUNC: &str = "0, 1 or 2";
        if let Some(v) = get("YKD_TRUNCATE", TRUNC)? {
            c.truncate = match v.as_str() {
                "0" => Truncate::Never,
                "1" => Truncate::Retried,
                "2" => Truncate::Always,
                _ => return Err(err("YKD_TRUNCATE", &v, TRUNC)),
            };
        }
        const PERCENT: &str = "a percentage from 0 (no limit) to 100";
        if let Some(v) = get("YK_COMPILE_BUDGET", PERCENT)? {
            c.compile_budget = parse_num::<u32>(&v)
                .filter(|p| *p <= 100)
                .ok_or_else(|| err("YK_COMPILE_BUDGET", &v, PERCENT))?;
        }
        const MS: &str = "a number of milliseconds";
        if let Some(v) = get("YKD_COMPILE_GRACE_MS", MS)? {
            c.compile_grace_ms =
                parse_num::<u64>(&v).ok_or_else(|| err("YKD_COMPILE_GRACE_MS", &v, MS))?;
        }
        const OPT: &str = "0, 1, 2 or 3";
        if let Some(v) = get("YKD_CODEGEN_OPT", OPT)? {
            c.codegen_opt = parse_num::<u8>(&v)
                .filter(|l| *l <= 3)
                .ok_or_else(|| err("YKD_CODEGEN_OPT", &v, OPT))?;
        }
        const TRACER: &str = "`swt` or `hwt`";
        if let Some(v) = get("YKD_TRACER", TRACER)? {
            c.tracer = match v.as_str() {
                "swt" => TracerKind::Swt,
                "hwt" => TracerKind::Hwt,
                _ => return Err(err("YKD_TRACER", &v, TRACER)),
            };
        }
        const LEN: &str = "a positive integer";
        if let Some(v) = get("YKD_TRACE_MAX_LEN", LEN)? {
            c.trace_max_len = parse_num::<usize>(&v)
                .filter(|n| *n > 0)
                .ok_or_else(|| err("YKD_TRACE_MAX_LEN", &v, LEN))?;
        }
        const LOG: &str = "`[file:]level` with level 0 to 4";
        if let Some(v) = get("YKD_LOG", LOG)? {
            let (dest, level) = split_dest(&v);
            c.log_level = parse_num::<u8>(level)
                .filter(|l| *l <= 4)
                .ok_or_else(|| err("YKD_LOG", &v, LOG))?;
            c.log_dest = dest.ok_or_else(|| err("YKD_LOG", &v, LOG))?;
        }
        const LOG_IR: &str =
            "`[file:]item,...` with items from aot, jit-pre-opt, jit-post-opt, jit-stitched, \
             trace-blocks, trace-ir";
        if let Some(v) = get("YKD_LOG_IR", LOG_IR)? {
            let (dest, items) = split_dest(&v);
            c.log_ir_dest = dest.ok_or_else(|| err("YKD_LOG_IR", &v, LOG_IR))?;
            for item in items.split(',') {
                match item {
                    "aot" => c.log_ir.aot = true,
                    "jit-pre-opt" => c.log_ir.jit_pre_opt = true,
                    "jit-post-opt" => c.log_ir.jit_post_opt = true,
                    "trace-blocks" => c.log_ir.trace_blocks = true,
                    "trace-ir" => c.log_ir.trace_ir = true,
                    "jit-stitched" => c.log_ir.jit_stitched = true,
                    _ => return Err(err("YKD_LOG_IR", &v, LOG_IR)),
                }
            }
        }
        const STATS: &str = "a file name, or `-` for stderr";
        if let Some(v) = get("YKD_LOG_STATS", STATS)? {
            c.log_stats = Some(match v.as_str() {
                "" => return Err(err("YKD_LOG_STATS", &v, STATS)),
                "-" => LogDest::Stderr,
                _ => LogDest::File(PathBuf::from(v)),
            });
        }
        Ok(c)
    }
}

fn err(var: &'static str, value: &str, expected: &str) -> ConfigError {
    ConfigError {
        var,
        value: value.to_owned(),
        expected: expected.to_owned(),
    }
}

/// Strict decimal parsing: no sign, no spaces, no empty string.
fn parse_num<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Split `[file:]rest` at the last `:` (file names may contain colons, the rest
/// never does). `None` as the destination means an empty file name.
fn split_dest(v: &str) -> (Option<LogDest>, &str) {
    match v.rsplit_once(':') {
        None => (Some(LogDest::Stderr), v),
        Some(("", rest)) => (None, rest),
        Some(("-", rest)) => (Some(LogDest::Stderr), rest),
        Some((file, rest)) => (Some(LogDest::File(PathBuf::from(file))), rest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| m.get(k).cloned().map(Ok))
    }

    #[test]
    fn defaults() {
        assert_eq!(parse(&[]).unwrap(), Config::default());
        assert_eq!(Config::default().hot_threshold, 131);
    }

    #[test]
    fn all_set() {
        let c = parse(&[
            ("YK_HOT_THRESHOLD", "0"),
            ("YK_SIDETRACE_THRESHOLD", "12"),
            ("YK_JITC", "none"),
            ("YKD_SERIALISE_COMPILATION", "1"),
            ("YKD_TRACER", "hwt"),
            ("YKD_TRACE_MAX_LEN", "10"),
            ("YKD_LOG", "/tmp/a:b.log:3"),
            ("YKD_LOG_IR", "aot,trace-blocks,jit-post-opt"),
            ("YKD_LOG_STATS", "-"),
            ("YKD_INNER_LOOPS_FIRST", "0"),
            ("YKD_CUT_CALLS", "1"),
            ("YKD_TRUNCATE", "2"),
            ("YKD_CODEGEN_OPT", "0"),
            ("YK_COMPILE_BUDGET", "0"),
        ])
        .unwrap();
        assert_eq!(c.truncate, Truncate::Always);
        assert_eq!(
            parse(&[("YKD_TRUNCATE", "0")]).unwrap().truncate,
            Truncate::Never
        );
        assert_eq!(Config::default().truncate, Truncate::Retried);
        assert_eq!(c.compile_budget, 0);
        assert!(!c.inner_loops_first);
        assert!(c.cut_calls);
        assert_eq!(c.codegen_opt, 0);
        assert_eq!(c.hot_threshold, 0);
        assert_eq!(c.sidetrace_threshold, 12);
        assert!(!c.jit_enabled);
        assert!(c.serialise_compilation);
        assert_eq!(c.tracer, TracerKind::Hwt);
        assert_eq!(c.trace_max_len, 10);
        assert_eq!(c.log_level, 3);
        assert_eq!(c.log_dest, LogDest::File("/tmp/a:b.log".into()));
        assert_eq!(
            c.log_ir,
            IrLogSelection {
                aot: true,
                jit_pre_opt: false,
                jit_post_opt: true,
                trace_blocks: true,
                trace_ir: false,
                jit_stitched: false,
            }
        );
        assert_eq!(c.log_ir_dest, LogDest::Stderr);
        assert_eq!(c.log_stats, Some(LogDest::Stderr));
        let c = parse(&[("YKD_LOG_IR", "ir.txt:aot"), ("YKD_LOG_STATS", "s.json")]).unwrap();
        assert_eq!(c.log_ir_dest, LogDest::File("ir.txt".into()));
        assert_eq!(c.log_stats, Some(LogDest::File("s.json".into())));
    }

    #[test]
    fn malformed_values_name_the_variable() {
        for (var, val) in [
            ("YK_HOT_THRESHOLD", "abc"),
            ("YK_HOT_THRESHOLD", "-1"),
            ("YK_HOT_THRESHOLD", ""),
            ("YK_HOT_THRESHOLD", " 5"),
            ("YK_HOT_THRESHOLD", "99999999999"),
            ("YK_SIDETRACE_THRESHOLD", "1.5"),
            ("YK_JITC", "yes"),
            ("YKD_SERIALISE_COMPILATION", "true"),
            ("YKD_TRACER", "pt"),
            ("YKD_TRACE_MAX_LEN", "0"),
            ("YKD_LOG", "5"),
            ("YKD_LOG", "f.log:"),
            ("YKD_LOG", ":3"),
            ("YKD_LOG_IR", "aot,llvm"),
            ("YKD_LOG_IR", ""),
            ("YKD_LOG_STATS", ""),
            ("YKD_INNER_LOOPS_FIRST", "yes"),
            ("YKD_CUT_CALLS", "2"),
            ("YKD_TRUNCATE", "3"),
            ("YKD_CODEGEN_OPT", "4"),
            ("YKD_CODEGEN_OPT", "O2"),
            ("YK_COMPILE_BUDGET", "101"),
            ("YK_COMPILE_BUDGET", "25%"),
        ] {
            let e = parse(&[(var, val)]).unwrap_err();
            assert_eq!(e.var, var);
            assert_eq!(e.value, val);
            assert!(e.to_string().contains(var), "{e}");
        }
    }

    #[test]
    fn non_utf8_is_an_error() {
        let e =
            Config::from_lookup(|k| (k == "YKD_LOG").then(|| Err("\u{fffd}".into()))).unwrap_err();
        assert_eq!(e.var, "YKD_LOG");
    }
}
