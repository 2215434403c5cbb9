//! A statement-deleting reducer for the line-structured programs of [`super::gen`].
//!
//! A *unit* is a line together with the lines of the block it opens: the following lines
//! indented deeper and the closing lines (`end`, `end)`, `else`, `elseif ...`, `until ...`)
//! at its own indentation. The reducer deletes units, outermost and earliest first, keeping
//! each deletion after which the program is still interesting (the predicate, which runs
//! it), until a whole pass deletes nothing or the deadline passes.

use std::time::Instant;

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Does `line` continue or close the block of an earlier line?
fn is_closer(line: &str) -> bool {
    let t = line.trim_start();
    let word = |w: &str| {
        t.strip_prefix(w).is_some_and(|r| {
            r.is_empty() || !r.starts_with(|c: char| c.is_alphanumeric() || c == '_')
        })
    };
    word("end") || word("else") || word("elseif") || word("until")
}

/// The end (exclusive) of the unit starting at line `i`.
fn unit_end(lines: &[String], i: usize) -> usize {
    let ind = indent(&lines[i]);
    let mut j = i + 1;
    while j < lines.len()
        && (lines[j].trim().is_empty()
            || indent(&lines[j]) > ind
            || (indent(&lines[j]) == ind && is_closer(&lines[j])))
    {
        j += 1;
    }
    j
}

fn join(lines: &[String]) -> String {
    let mut s = lines.join("\n");
    s.push('\n');
    s
}

/// What a reduction did.
pub(crate) struct Reduced {
    pub(crate) program: String,
    /// Times the predicate ran.
    pub(crate) tests: usize,
    /// Whether it stopped at the deadline rather than at a fixed point.
    pub(crate) timed_out: bool,
}

/// Deletes units of `program` while `interesting` holds of the result (it is assumed to
/// hold of `program`).
pub(crate) fn reduce(
    program: &str,
    deadline: Instant,
    mut interesting: impl FnMut(&str) -> bool,
) -> Reduced {
    let mut lines: Vec<String> = program.lines().map(str::to_owned).collect();
    let mut tests = 0;
    loop {
        let mut progress = false;
        let mut i = 0;
        while i < lines.len() {
            if Instant::now() >= deadline {
                return Reduced {
                    program: join(&lines),
                    tests,
                    timed_out: true,
                };
            }
            if is_closer(&lines[i]) || lines[i].trim().is_empty() {
                i += 1;
                continue;
            }
            let e = unit_end(&lines, i);
            let mut cand = lines[..i].to_vec();
            cand.extend_from_slice(&lines[e..]);
            tests += 1;
            if interesting(&join(&cand)) {
                lines = cand;
                progress = true;
            } else {
                i += 1;
            }
        }
        if !progress {
            return Reduced {
                program: join(&lines),
                tests,
                timed_out: false,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn lines(s: &str) -> Vec<String> {
        s.lines().map(str::to_owned).collect()
    }

    #[test]
    fn units() {
        let p = lines(
            "a\nif x then\n  b\nelseif y then\n  c\nelse\n  d\nend\nrepeat r = r + 1\n  e\nuntil r > 3\nlocal ok = pcall(function()\n  f\nend)\ng",
        );
        assert_eq!(unit_end(&p, 0), 1);
        assert_eq!(unit_end(&p, 1), 8);
        assert_eq!(unit_end(&p, 2), 3);
        assert_eq!(unit_end(&p, 8), 11);
        assert_eq!(unit_end(&p, 11), 14);
        assert_eq!(unit_end(&p, 14), 15);
        assert!(is_closer("  end)"));
        assert!(is_closer("until x"));
        assert!(!is_closer("ending = 1"));
        assert!(!is_closer("elsewhere()"));
    }

    #[test]
    fn keeps_only_what_the_predicate_needs() {
        // Interesting: has the lines "keep" and "for ...", and as many "end"s as
        // openers (a stand-in for "parses").
        let p = "x = 1\nfor i = 1, 2 do\n  y = 2\n  keep\n  if z then\n    w\n  end\nend\nq\n";
        let r = reduce(p, Instant::now() + Duration::from_secs(60), |c| {
            let opens = c
                .lines()
                .filter(|l| l.ends_with(" do") || l.ends_with(" then"))
                .count();
            let ends = c.lines().filter(|l| l.trim() == "end").count();
            c.contains("  keep\n") && c.contains("for i") && opens == ends
        });
        assert_eq!(r.program, "for i = 1, 2 do\n  keep\nend\n");
        assert!(!r.timed_out);
        assert!(r.tests > 0);
    }

    #[test]
    fn stops_at_the_deadline() {
        let r = reduce("a\nb\n", Instant::now(), |_| true);
        assert!(r.timed_out);
        assert_eq!(r.program, "a\nb\n");
    }
}
