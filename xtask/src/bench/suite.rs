//! The benchmark suite: `suite.txt` in the benchmark directory.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// One benchmark program and its sizes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Benchmark {
    /// The name: the program is `<name>.lua`.
    pub name: String,
    /// The program's path.
    pub path: PathBuf,
    /// The size for a normal run.
    pub size: u64,
    /// The size for `--quick`.
    pub quick_size: u64,
}

/// Read `dir/suite.txt` (lines `NAME SIZE QUICK_SIZE`, `#` comments) and check that each
/// program exists.
pub fn load(dir: &Path) -> Result<Vec<Benchmark>> {
    let file = dir.join("suite.txt");
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let benches = parse(&text, dir).with_context(|| format!("in {}", file.display()))?;
    for b in &benches {
        if !b.path.is_file() {
            bail!(
                "{}: benchmark {:?} has no program {}",
                file.display(),
                b.name,
                b.path.display()
            );
        }
    }
    Ok(benches)
}

/// Parse the text of a suite file whose programs live in `dir`.
pub fn parse(text: &str, dir: &Path) -> Result<Vec<Benchmark>> {
    let mut out: Vec<Benchmark> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [name, size, quick] = fields[..] else {
            bail!(
                "line {}: expected `NAME SIZE QUICK_SIZE`, got {line:?}",
                i + 1
            );
        };
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            bail!(
                "line {}: bad benchmark name {name:?} (letters, digits, _ and - only)",
                i + 1
            );
        }
        let num = |s: &str, what: &str| -> Result<u64> {
            match s.parse::<u64>() {
                Ok(v) if v > 0 => Ok(v),
                _ => bail!(
                    "line {}: {what} must be a positive integer, got {s:?}",
                    i + 1
                ),
            }
        };
        if out.iter().any(|b| b.name == name) {
            bail!("line {}: benchmark {name:?} listed twice", i + 1);
        }
        out.push(Benchmark {
            name: name.to_owned(),
            path: dir.join(format!("{name}.lua")),
            size: num(size, "SIZE")?,
            quick_size: num(quick, "QUICK_SIZE")?,
        });
    }
    if out.is_empty() {
        bail!("no benchmarks listed");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_comments() {
        let b = parse(
            "# c\n\nnbody 100 10 # trailing\nsieve\t5 1\n",
            Path::new("/b"),
        )
        .unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].name, "nbody");
        assert_eq!(b[0].path, Path::new("/b/nbody.lua"));
        assert_eq!((b[0].size, b[0].quick_size), (100, 10));
        assert_eq!(b[1].name, "sieve");
    }

    #[test]
    fn rejects_bad_lines() {
        for bad in [
            "x 1",
            "x 1 2 3",
            "x 0 1",
            "x 1 -1",
            "x/y 1 1",
            "a 1 1\na 2 2",
            "# none",
        ] {
            assert!(parse(bad, Path::new(".")).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_projects_suite_loads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../interps/lua/bench");
        let b = load(&dir).unwrap();
        assert!(b.len() >= 12, "{} benchmarks", b.len());
    }
}
