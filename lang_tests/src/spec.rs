//! The leading comment block of a Lua test: lang_tester's test data plus this harness's own
//! top-level keys (see `lang_tests/README.md`).

use anyhow::{bail, Result};

/// What a test demands of the JIT in `yklua`, given by the `jit:` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JitExpectation {
    /// `jit: compiled`: yklua's log must show that a trace was compiled
    /// (`yk-jit-event: trace-compiled`) and that compiled code ran
    /// (`yk-jit-event: enter-jit-code`).
    Compiled,
}

impl JitExpectation {
    /// The log events (the text after `yk-jit-event: `) that must each appear at least once.
    pub fn required_events(self) -> &'static [&'static str] {
        match self {
            JitExpectation::Compiled => &["trace-compiled", "enter-jit-code"],
        }
    }
}

/// The harness's own keys, which lang_tester doesn't know and therefore never sees.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Directives {
    /// `jit:` what yklua's JIT log must show; `None` means nothing is asserted.
    pub jit: Option<JitExpectation>,
}

/// The prefix of a Lua line comment.
const COMMENT: &str = "--";

/// Split a Lua test's source into (lang_tester's test data, the harness's directives).
///
/// The comment block is the run of `--` lines at the start of the file (blank lines before it
/// are skipped). A line at the block's outermost indentation of the form `key: value` with one
/// of our keys is a directive; all other lines are passed to lang_tester unchanged (minus the
/// `--`). Bad or repeated directives are errors, so that a typo can't silently drop an
/// assertion.
pub fn parse(src: &str) -> Result<(String, Directives)> {
    let block: Vec<&str> = src
        .lines()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| l.starts_with(COMMENT))
        .map(|l| &l[COMMENT.len()..])
        .collect();
    if block.iter().any(|l| l.starts_with('[')) {
        // `--[[` opens a block comment: its body would not be `--` lines.
        bail!("the test header must be `--` line comments, not a `--[[ ]]` block comment");
    }
    let indent_of = |l: &str| l.len() - l.trim_start().len();
    let top = block
        .iter()
        .find(|l| !l.trim().is_empty())
        .map(|l| indent_of(l))
        .unwrap_or(0);
    let mut dirs = Directives::default();
    let mut data = Vec::new();
    for line in block {
        let directive = if indent_of(line) == top {
            line.trim().split_once(':').filter(|(key, _)| *key == "jit")
        } else {
            None
        };
        match directive {
            Some((key, val)) => {
                if dirs.jit.is_some() {
                    bail!("`{key}:` is given more than once");
                }
                dirs.jit = Some(match val.trim() {
                    "compiled" => JitExpectation::Compiled,
                    v => bail!("unknown `{key}:` value {v:?} (expected `compiled`)"),
                });
            }
            None => data.push(line),
        }
    }
    Ok((data.join("\n"), dirs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_directives_from_test_data() {
        let src = "\n-- jit: compiled\n-- Run-time:\n--   stdout:\n--     jit: not a key\n\
                   --\n--     x\nprint(1) -- jit: y\n";
        let (data, dirs) = parse(src).unwrap();
        assert_eq!(
            data,
            " Run-time:\n   stdout:\n     jit: not a key\n\n     x"
        );
        assert_eq!(dirs.jit, Some(JitExpectation::Compiled));
    }

    #[test]
    fn no_comment_block_is_empty() {
        let (data, dirs) = parse("print(1) -- jit: compiled\n").unwrap();
        assert!(data.is_empty());
        assert_eq!(dirs, Directives::default());
    }

    #[test]
    fn bad_directives_are_errors() {
        assert!(parse("-- jit: sometimes\n").is_err());
        assert!(parse("-- jit: compiled\n-- jit: compiled\n").is_err());
        assert!(parse("--[[ Run-time:\n--]]\n").is_err());
    }

    #[test]
    fn required_events() {
        assert_eq!(
            JitExpectation::Compiled.required_events(),
            ["trace-compiled", "enter-jit-code"]
        );
    }
}
