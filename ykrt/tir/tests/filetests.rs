//! Text-in, text-out tests of the optimiser: every `tests/filetests/*.tir`
//! file holds cases
//!
//! ```text
//! ;; case: <name>
//! ;; pass: forward | backward | all        (default: all)
//! ;; mem 0x1000: i64 5, ptr 0x2000        (constant memory, consecutive values)
//! ;; global g3 0x1000                      (where @g3 is)
//! <input trace>
//! ;; expect
//! <expected trace>                         (or: ;; expect-error: guard-always-fails s<N>)
//! ```
//!
//! The expected text is compared after a parse and print, so it may name
//! values freely. `TIR_BLESS=1` rewrites the expected sections with what the
//! optimiser produces (review the diff before committing it).

use std::fs;
use std::path::Path;
use tir::eval::{Memory, RegionKind};
use tir::opt::{backward, forward, OptError};
use tir::text::{parse, print};
use tir::Const;

struct Case {
    name: String,
    pass: String,
    mem: Memory,
    input: String,
    /// Line range of the expected section in the file.
    expect_lines: (usize, usize),
    expect: String,
}

fn parse_mem_line(mem: &mut Memory, rest: &str) {
    let (addr, vals) = rest.split_once(':').expect("mem <addr>: <values>");
    let addr = u64::from_str_radix(addr.trim().trim_start_matches("0x"), 16).expect("hex address");
    let mut bytes = Vec::new();
    for v in vals.split(',') {
        let (ty, lit) = v.trim().split_once(' ').expect("<type> <value>");
        // Parse through a one-line trace so literals mean what they mean in traces.
        let t =
            parse(&format!("trace()\n  exit s0\ns0: [f0 r0 a0={ty} {lit}]\n")).expect("a constant");
        let c = t.snaps.get(tir::SnapId(0)).unwrap().frames[0].live[0]
            .1
            .as_const()
            .unwrap();
        let size = c.ty().size() as usize;
        let bits = match c {
            Const::Ptr(a) => a,
            _ => c.bits().expect("no symbols in memory"),
        };
        bytes.extend_from_slice(&bits.to_le_bytes()[..size]);
    }
    mem.add_region(addr, RegionKind::Const, bytes);
}

fn cases(text: &str) -> Vec<Case> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(name) = lines[i].strip_prefix(";; case:") else {
            i += 1;
            continue;
        };
        let mut c = Case {
            name: name.trim().into(),
            pass: "all".into(),
            mem: Memory::new(),
            input: String::new(),
            expect_lines: (0, 0),
            expect: String::new(),
        };
        i += 1;
        while i < lines.len() && !lines[i].starts_with(";; expect") {
            let l = lines[i];
            if let Some(p) = l.strip_prefix(";; pass:") {
                c.pass = p.trim().into();
            } else if let Some(m) = l.strip_prefix(";; mem") {
                parse_mem_line(&mut c.mem, m);
            } else if let Some(g) = l.strip_prefix(";; global") {
                let mut w = g.split_whitespace();
                let idx: u32 = w.next().unwrap().trim_start_matches('g').parse().unwrap();
                let addr =
                    u64::from_str_radix(w.next().unwrap().trim_start_matches("0x"), 16).unwrap();
                c.mem.place_global(idx, addr);
            } else {
                c.input.push_str(l);
                c.input.push('\n');
            }
            i += 1;
        }
        assert!(i < lines.len(), "case {}: no ';; expect'", c.name);
        let start = i;
        if let Some(e) = lines[i].strip_prefix(";; expect-error:") {
            c.expect = format!("error: {}", e.trim());
            i += 1;
        } else {
            i += 1;
            while i < lines.len() && !lines[i].starts_with(";; case:") {
                c.expect.push_str(lines[i]);
                c.expect.push('\n');
                i += 1;
            }
        }
        c.expect_lines = (start, i);
        out.push(c);
    }
    out
}

fn run_case(c: &Case) -> String {
    let t = parse(&c.input).unwrap_or_else(|e| panic!("case {}: input: {e}", c.name));
    let r = match c.pass.as_str() {
        "forward" => forward::run(&t, &c.mem),
        "backward" => Ok(backward::run(&t)),
        "all" => tir::opt::optimise(&t, &c.mem),
        p => panic!("case {}: unknown pass {p}", c.name),
    };
    match r {
        Ok(t) => {
            let s = print(&t);
            assert_eq!(
                parse(&s).as_ref(),
                Ok(&t),
                "case {}: output doesn't round-trip",
                c.name
            );
            s
        }
        Err(OptError::GuardAlwaysFails { snap }) => {
            format!("error: guard-always-fails s{}", snap.0)
        }
        Err(e) => format!("error: {e}"),
    }
}

fn normalise(c: &Case) -> String {
    if c.expect.starts_with("error:") {
        return c.expect.clone();
    }
    let body: String = c
        .expect
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    print(&parse(&body).unwrap_or_else(|e| panic!("case {}: expected text: {e}", c.name)))
}

#[test]
fn filetests() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/filetests");
    let bless = std::env::var("TIR_BLESS").is_ok();
    let mut failures = Vec::new();
    let mut n = 0;
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "tir"))
    {
        let text = fs::read_to_string(&path).unwrap();
        let cs = cases(&text);
        assert!(!cs.is_empty(), "{}: no cases", path.display());
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        for c in cs.iter().rev() {
            n += 1;
            let got = run_case(c);
            if bless {
                let mut repl = vec![];
                if let Some(e) = got.strip_prefix("error: ") {
                    repl.push(format!(";; expect-error: {e}"));
                } else {
                    repl.push(";; expect".to_string());
                    repl.extend(got.lines().map(String::from));
                    repl.push(String::new());
                }
                lines.splice(c.expect_lines.0..c.expect_lines.1, repl);
            } else if got != normalise(c) {
                failures.push(format!(
                    "{} case {}:\n--- expected\n{}--- got\n{}",
                    path.file_name().unwrap().to_string_lossy(),
                    c.name,
                    normalise(c),
                    got
                ));
            }
        }
        if bless {
            fs::write(&path, lines.join("\n") + "\n").unwrap();
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{n} filetest cases passed");
}
