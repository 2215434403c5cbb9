//! The leading comment block of a C test: lang_tester's test data plus this harness's own
//! top-level keys (see `c_tests/README.md`).

use anyhow::{bail, Result};

/// The harness's own keys, which lang_tester doesn't know and therefore never sees.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Directives {
    /// `extra-files:` further C sources compiled and linked with the test, relative to the
    /// test's directory.
    pub extra_files: Vec<String>,
    /// `extra-archive:` C sources compiled to objects (bitcode in the JIT build) and put in one
    /// static archive that the test links against.
    pub extra_archive: Vec<String>,
    /// `cflags:` extra compiler flags for both builds.
    pub cflags: Vec<String>,
    /// `plain-cflags:` extra compiler flags for the plain (baseline) build only.
    pub plain_cflags: Vec<String>,
}

/// Split a C test's source into (lang_tester's test data, the harness's directives).
///
/// The comment block is the run of `//` lines at the start of the file (blank lines before it
/// are skipped). A line at the block's outermost indentation that starts with one of our keys
/// is a directive; all other lines are passed to lang_tester unchanged (minus the `//`). Each
/// directive may be given several times; its values are whitespace separated.
pub fn parse(src: &str) -> Result<(String, Directives)> {
    let block: Vec<&str> = src
        .lines()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| l.starts_with("//"))
        .map(|l| &l["//".len()..])
        .collect();
    let indent_of = |l: &str| l.len() - l.trim_start().len();
    let top = block
        .iter()
        .find(|l| !l.trim().is_empty())
        .map(|l| indent_of(l))
        .unwrap_or(0);
    let mut dirs = Directives::default();
    let mut data = Vec::new();
    for line in block {
        let trimmed = line.trim_start();
        let directive = if indent_of(line) == top {
            trimmed.split_once(':').and_then(|(key, val)| {
                let field = match key {
                    "extra-files" => &mut dirs.extra_files,
                    "extra-archive" => &mut dirs.extra_archive,
                    "cflags" => &mut dirs.cflags,
                    "plain-cflags" => &mut dirs.plain_cflags,
                    _ => return None,
                };
                Some((field, key, val))
            })
        } else {
            None
        };
        match directive {
            Some((field, key, val)) => {
                let vals: Vec<String> = val.split_whitespace().map(str::to_owned).collect();
                if vals.is_empty() {
                    bail!("`{key}:` needs at least one value");
                }
                field.extend(vals);
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
        let src =
            "\n// extra-files: a.c b.c\n// Run-time:\n//   stdout:\n//     cflags: not a key\n\
                   // extra-files: c.c\n// plain-cflags: -DX\n#include <stdio.h>\n// later: x\n";
        let (data, dirs) = parse(src).unwrap();
        assert_eq!(data, " Run-time:\n   stdout:\n     cflags: not a key");
        assert_eq!(dirs.extra_files, ["a.c", "b.c", "c.c"]);
        assert_eq!(dirs.plain_cflags, ["-DX"]);
        assert!(dirs.extra_archive.is_empty() && dirs.cflags.is_empty());
    }

    #[test]
    fn no_comment_block_is_empty() {
        let (data, dirs) = parse("int main(void) { return 0; } // x: y\n").unwrap();
        assert!(data.is_empty());
        assert_eq!(dirs, Directives::default());
    }

    #[test]
    fn directive_needs_a_value() {
        assert!(parse("// cflags:\n").is_err());
    }
}
