//! The program generator of `cargo xtask fuzz-c`: random, always-terminating programs for
//! the register machine of `c_tests/fuzz/interp.c`.
//!
//! A program is a tree ([`Program`]: a main body and a few functions, each a list of
//! [`Stmt`]s) lowered to the interpreter's text format ([`Program::lower`]): straight-line
//! instructions, counted loops, ifs, switches (an indirect jump through a table), breaks out
//! of the innermost loop and calls. The reducer
//! ([`edit`]) works on the tree, so that whatever it deletes the program still terminates.
//!
//! Termination: every loop counts a register of its own down from an iteration count fixed
//! when it is generated, and no other instruction writes that register (data instructions
//! write registers 0 to 15 only; the loop counters are 16 to 31: main's loops 16 + depth,
//! function `i`'s loops 20 + 3i + depth); function `i` calls only functions `j > i`, so calls
//! nest at most [`MAX_FUNCS`] deep; and the generator keeps an estimate of the instructions
//! each loop nest and the whole program run, refusing loops and calls above its limits.
//!
//! For the JIT: the loops at the top run [`HOT_ITERS`] times, enough for a low hot threshold
//! to trace and compile them and for guards to fail often enough to get side traces; the
//! conditions of ifs and breaks mostly compare a loop counter with a constant or test its
//! bits, so that they change direction as the loop goes on; operands come from a pool of
//! arithmetic corner cases (0, -1, `i64::MIN`, `i64::MAX`, shift counts 63, 64, ...).

use std::fmt::Write;

/// Data registers (written by data instructions): 0 to `DATA_REGS - 1`.
const DATA_REGS: i64 = 16;
/// The first loop-counter register of main's loops.
const MAIN_COUNTERS: i64 = 16;
/// Loop nesting in main (its counters are 16 to 19).
const MAIN_DEPTH: usize = 4;
/// Loop nesting in a function (function `i`'s counters are `20 + 3i` to `22 + 3i`).
const FUNC_DEPTH: usize = 3;
/// The most functions a program has.
const MAX_FUNCS: usize = 4;
/// The most instructions (estimated) a loop nest or a call may run.
const NEST_LIMIT: u64 = 20_000;
/// The most instructions (estimated) a whole program may run.
const PROGRAM_LIMIT: u64 = 150_000;
/// The deepest nesting of loops and ifs.
const MAX_NEST: usize = 4;
/// Iterations of a loop at the top of main or of a function.
const HOT_ITERS: (i64, i64) = (20, 300);

/// A straight-line instruction: mnemonic and operands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Ins {
    pub(crate) op: &'static str,
    pub(crate) a: i64,
    pub(crate) b: i64,
    pub(crate) c: i64,
}

/// The jump of a condition (taken when the condition holds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Jump {
    Zero(i64),
    NonZero(i64),
    Less(i64, i64),
    Equal(i64, i64),
}

/// A condition: instructions computing its operands, then its jump.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Cond {
    pub(crate) setup: Vec<Ins>,
    pub(crate) jump: Jump,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Stmt {
    Ins(Ins),
    /// A loop counting `reg` down from `iters`: tested at the bottom (`JNZ` back) or at the
    /// top (`JZ` out, `JMP` back).
    Loop {
        reg: i64,
        iters: i64,
        top_tested: bool,
        body: Vec<Stmt>,
    },
    If {
        cond: Cond,
        then: Vec<Stmt>,
        els: Vec<Stmt>,
    },
    /// Leave the innermost loop when `cond` holds (a no-op outside loops).
    Break(Cond),
    /// Run case `reg mod cases.len()` (an indirect jump through a table of jumps).
    Switch {
        reg: i64,
        cases: Vec<Vec<Stmt>>,
    },
    Call(usize),
}

/// A program: main's body and the functions' bodies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Program {
    pub(crate) main: Vec<Stmt>,
    pub(crate) funcs: Vec<Vec<Stmt>>,
}

/// The program of `seed`.
pub(crate) fn generate(seed: u64) -> Program {
    Gen {
        rng: fastrand::Rng::with_seed(seed),
        counter_base: 0,
        depth: 0,
        nest: 0,
        work: 1,
        cost: 0,
        nfuncs: 0,
        func_cost: Vec::new(),
        callable_from: 0,
    }
    .program()
}

struct Gen {
    rng: fastrand::Rng,
    /// The first loop-counter register of the body being generated.
    counter_base: i64,
    /// Loop nesting depth in the body being generated.
    depth: usize,
    /// Nesting of loops and ifs.
    nest: usize,
    /// The product of the enclosing loops' iteration counts.
    work: u64,
    /// Estimated instructions run by the body being generated.
    cost: u64,
    nfuncs: usize,
    /// Estimated instructions of one call of each function.
    func_cost: Vec<u64>,
    /// The functions the body being generated may call: this one and those above.
    callable_from: usize,
}

impl Gen {
    fn program(mut self) -> Program {
        self.nfuncs = self.rng.usize(0..=MAX_FUNCS);
        // Functions are generated last first, so that each knows its callees' costs.
        let mut funcs = vec![Vec::new(); self.nfuncs];
        self.func_cost = vec![0; self.nfuncs];
        for i in (0..self.nfuncs).rev() {
            self.counter_base = 20 + 3 * i as i64;
            self.callable_from = i + 1;
            self.cost = 0;
            self.work = 1;
            self.depth = 0;
            let n = self.rng.usize(1..=5);
            funcs[i] = self.body(n, FUNC_DEPTH);
            self.func_cost[i] = self.cost + 1;
        }
        self.counter_base = MAIN_COUNTERS;
        self.callable_from = 0;
        self.cost = 0;
        self.work = 1;
        self.depth = 0;
        let mut main: Vec<Stmt> = (0..self.rng.usize(3..=8))
            .map(|_| {
                let (a, b) = (self.rng.i64(0..DATA_REGS), self.imm());
                Stmt::Ins(ins("LI", a, b, 0))
            })
            .collect();
        let n = self.rng.usize(3..=8);
        main.extend(self.body(n, MAIN_DEPTH));
        Program { main, funcs }
    }

    /// Up to `n` statements (fewer when the work limits are reached).
    fn body(&mut self, n: usize, max_depth: usize) -> Vec<Stmt> {
        (0..n).filter_map(|_| self.stmt(max_depth)).collect()
    }

    fn count(&mut self, n: u64) {
        self.cost = self.cost.saturating_add(n.saturating_mul(self.work));
    }

    fn stmt(&mut self, max_depth: usize) -> Option<Stmt> {
        // At the top of main and of functions mostly loops (the hot code); inside them a mix.
        let (p_loop, p_if, p_break, p_call) = if self.nest == 0 {
            (70, 8, 0, 10)
        } else {
            (22, 15, 7, 10)
        };
        let r = self.rng.u32(0..100);
        let can_nest = self.nest < MAX_NEST;
        if r < p_loop && can_nest && self.depth < max_depth {
            self.loop_stmt(max_depth)
        } else if r >= p_loop && r < p_loop + p_if && can_nest && self.rng.u32(0..3) == 0 {
            // A switch on a loop counter (or a data register), 2 to 4 cases.
            let reg = self.src();
            let n = self.rng.usize(2..=4);
            self.count(n as u64 + 2);
            self.nest += 1;
            let cases = (0..n)
                .map(|_| {
                    let k = self.rng.usize(0..=2);
                    self.body(k, max_depth)
                })
                .collect();
            self.nest -= 1;
            Some(Stmt::Switch { reg, cases })
        } else if r >= p_loop && r < p_loop + p_if && can_nest {
            let cond = self.cond();
            self.count(cond.setup.len() as u64 + 1);
            self.nest += 1;
            let nt = self.rng.usize(1..=3);
            let then = self.body(nt, max_depth);
            let ne = self.rng.usize(0..=2);
            let els = self.body(ne, max_depth);
            self.nest -= 1;
            Some(Stmt::If { cond, then, els })
        } else if r >= p_loop + p_if && r < p_loop + p_if + p_break && self.depth > 0 {
            let cond = self.cond();
            self.count(cond.setup.len() as u64 + 1);
            Some(Stmt::Break(cond))
        } else if r >= p_loop + p_if + p_break
            && r < p_loop + p_if + p_break + p_call
            && self.callable_from < self.nfuncs
        {
            let f = self.rng.usize(self.callable_from..self.nfuncs);
            let c = self.func_cost[f].saturating_mul(self.work);
            if c > NEST_LIMIT || self.cost + c > PROGRAM_LIMIT {
                return Some(Stmt::Ins(self.data_ins()));
            }
            self.count(self.func_cost[f] + 2);
            Some(Stmt::Call(f))
        } else {
            self.count(1);
            Some(Stmt::Ins(self.data_ins()))
        }
    }

    fn loop_stmt(&mut self, max_depth: usize) -> Option<Stmt> {
        let iters = if self.depth == 0 {
            self.rng.i64(HOT_ITERS.0..=HOT_ITERS.1)
        } else {
            *[1, 2, 3, 5, 8, 13, 30]
                .get(self.rng.usize(0..7))
                .expect("in range")
        };
        let w = self.work.saturating_mul(iters as u64);
        // A loop with a body of a few instructions at least must fit.
        if w.saturating_mul(4) > NEST_LIMIT || self.cost + w * 4 > PROGRAM_LIMIT {
            self.count(1);
            return Some(Stmt::Ins(self.data_ins()));
        }
        let reg = self.counter_base + self.depth as i64;
        let saved = self.work;
        self.work = w;
        self.depth += 1;
        self.nest += 1;
        self.count(3);
        let n = self.rng.usize(2..=7);
        let body = self.body(n, max_depth);
        self.depth -= 1;
        self.nest -= 1;
        self.work = saved;
        Some(Stmt::Loop {
            reg,
            iters,
            top_tested: self.rng.bool(),
            body,
        })
    }

    /// A register to read: mostly data registers, sometimes the counter of an enclosing loop.
    fn src(&mut self) -> i64 {
        if self.depth > 0 && self.rng.u32(0..4) == 0 {
            self.counter_base + self.rng.i64(0..self.depth as i64)
        } else {
            self.rng.i64(0..DATA_REGS)
        }
    }

    fn dst(&mut self) -> i64 {
        self.rng.i64(0..DATA_REGS)
    }

    /// An immediate: mostly arithmetic corner cases and small numbers.
    fn imm(&mut self) -> i64 {
        const CORNERS: &[i64] = &[
            0,
            1,
            -1,
            2,
            -2,
            3,
            7,
            31,
            32,
            63,
            64,
            65,
            -63,
            -64,
            255,
            i32::MAX as i64,
            i32::MIN as i64,
            1 << 32,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
            i64::MAX - 1,
        ];
        match self.rng.u32(0..10) {
            0..=4 => CORNERS[self.rng.usize(0..CORNERS.len())],
            5..=8 => self.rng.i64(-100..=100),
            _ => self.rng.i64(..),
        }
    }

    fn data_ins(&mut self) -> Ins {
        const THREE: &[&str] = &[
            "ADD", "SUB", "MUL", "DIV", "MOD", "AND", "OR", "XOR", "SHL", "SHR", "SAR", "LT", "LE",
            "EQ", "NE", "ULT", "MIX",
        ];
        match self.rng.u32(0..100) {
            0..=44 => {
                let op = THREE[self.rng.usize(0..THREE.len())];
                let (a, b, c) = (self.dst(), self.src(), self.src());
                ins(op, a, b, c)
            }
            45..=54 => {
                let op = if self.rng.bool() { "ADDI" } else { "MULI" };
                let (a, b, c) = (self.dst(), self.src(), self.imm());
                ins(op, a, b, c)
            }
            55..=62 => {
                let (a, b) = (self.dst(), self.imm());
                ins("LI", a, b, 0)
            }
            63..=68 => {
                let op = ["MOV", "NEG", "NOT"][self.rng.usize(0..3)];
                let (a, b) = (self.dst(), self.src());
                ins(op, a, b, 0)
            }
            69..=78 => {
                let (a, b, c) = (self.dst(), self.src(), self.rng.i64(-8..72));
                ins("LD", a, b, c)
            }
            79..=90 => {
                let (a, b, c) = (self.src(), self.src(), self.rng.i64(-8..72));
                ins("ST", a, b, c)
            }
            91..=94 => {
                let a = self.src();
                ins("PRINT", a, 0, 0)
            }
            _ => {
                let a = self.dst();
                ins("PROM", a, 0, 0)
            }
        }
    }

    /// A condition; inside loops mostly one on a loop counter, which changes direction as
    /// the loop goes on.
    fn cond(&mut self) -> Cond {
        let t = self.dst();
        if self.depth > 0 && self.rng.u32(0..4) != 0 {
            let ctr = self.counter_base + self.rng.i64(0..self.depth as i64);
            match self.rng.u32(0..3) {
                // ctr < k (or k < ctr): flips once, when the counter passes k.
                0 => {
                    let k = self.rng.i64(0..=HOT_ITERS.1);
                    let jump = if self.rng.bool() {
                        Jump::Less(ctr, t)
                    } else {
                        Jump::Less(t, ctr)
                    };
                    Cond {
                        setup: vec![ins("LI", t, k, 0)],
                        jump,
                    }
                }
                // A bit pattern of the counter: flips periodically.
                1 => {
                    let m = [1, 2, 3, 4, 7, 8, 15, 16][self.rng.usize(0..8)];
                    let k = self.rng.i64(0..=m);
                    Cond {
                        setup: vec![ins("LI", t, m, 0), ins("AND", t, ctr, t)],
                        jump: if k == 0 {
                            Jump::Zero(t)
                        } else {
                            Jump::NonZero(t)
                        },
                    }
                }
                // ctr % m == k.
                _ => {
                    let m = self.rng.i64(2..=9);
                    let k = self.rng.i64(0..m);
                    let u = (t + 1) % DATA_REGS;
                    Cond {
                        setup: vec![
                            ins("LI", t, m, 0),
                            ins("MOD", t, ctr, t),
                            ins("LI", u, k, 0),
                        ],
                        jump: Jump::Equal(t, u),
                    }
                }
            }
        } else {
            let (x, y) = (self.src(), self.src());
            let jump = match self.rng.u32(0..4) {
                0 => Jump::Zero(x),
                1 => Jump::NonZero(x),
                2 => Jump::Less(x, y),
                _ => Jump::Equal(x, y),
            };
            Cond {
                setup: Vec::new(),
                jump,
            }
        }
    }
}

fn ins(op: &'static str, a: i64, b: i64, c: i64) -> Ins {
    Ins { op, a, b, c }
}

/// The lowering of a program to instructions, with jump targets patched in afterwards.
struct Lower {
    code: Vec<(Ins, String)>,
    /// For each enclosing loop, the jumps to patch with its end.
    breaks: Vec<Vec<usize>>,
    /// Where each function starts, and the `CALL`s to patch with it.
    calls: Vec<(usize, usize)>,
}

impl Lower {
    fn emit(&mut self, i: Ins, comment: String) -> usize {
        self.code.push((i, comment));
        self.code.len() - 1
    }

    /// A jump to a target not yet known: patched with [`Lower::patch`].
    fn cond_jump(&mut self, c: &Cond, comment: &str) -> usize {
        for s in &c.setup {
            self.emit(s.clone(), String::new());
        }
        let i = match c.jump {
            Jump::Zero(r) => ins("JZ", r, -1, 0),
            Jump::NonZero(r) => ins("JNZ", r, -1, 0),
            Jump::Less(x, y) => ins("JLT", x, y, -1),
            Jump::Equal(x, y) => ins("JEQ", x, y, -1),
        };
        self.emit(i, comment.into())
    }

    /// Points the jump at `at` to `target`.
    fn patch(&mut self, at: usize, target: usize) {
        let i = &mut self.code[at].0;
        let t = target as i64;
        match i.op {
            "JMP" | "CALL" => i.a = t,
            "JZ" | "JNZ" => i.b = t,
            "JLT" | "JEQ" => i.c = t,
            op => unreachable!("patching {op}"),
        }
    }

    fn body(&mut self, b: &[Stmt]) {
        for s in b {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &Stmt) {
        match s {
            Stmt::Ins(i) => {
                self.emit(i.clone(), String::new());
            }
            Stmt::Loop {
                reg,
                iters,
                top_tested,
                body,
            } => {
                self.emit(ins("LI", *reg, *iters, 0), format!("loop r{reg} x{iters}"));
                let top = self.code.len();
                self.breaks.push(Vec::new());
                let exit = top_tested.then(|| self.emit(ins("JZ", *reg, -1, 0), String::new()));
                self.body(body);
                self.emit(ins("ADDI", *reg, *reg, -1), String::new());
                if exit.is_some() {
                    self.emit(ins("JMP", top as i64, 0, 0), "back".into());
                } else {
                    self.emit(ins("JNZ", *reg, top as i64, 0), "back".into());
                }
                let end = self.code.len();
                for j in self.breaks.pop().expect("pushed").into_iter().chain(exit) {
                    self.patch(j, end);
                }
            }
            Stmt::If { cond, then, els } => {
                let j = self.cond_jump(cond, "if");
                self.body(els);
                let skip = self.emit(ins("JMP", -1, 0, 0), "endif".into());
                let t = self.code.len();
                self.patch(j, t);
                self.body(then);
                let end = self.code.len();
                self.patch(skip, end);
            }
            Stmt::Break(cond) => {
                if !self.breaks.is_empty() {
                    let j = self.cond_jump(cond, "break");
                    self.breaks.last_mut().expect("not empty").push(j);
                }
            }
            Stmt::Switch { reg, cases } => {
                let n = cases.len() as i64;
                let table = self.code.len() as i64 + 1;
                self.emit(ins("JIDX", *reg, table, n), "switch".into());
                let jumps: Vec<usize> = (0..n)
                    .map(|_| self.emit(ins("JMP", -1, 0, 0), String::new()))
                    .collect();
                let mut ends = Vec::new();
                for (j, case) in jumps.into_iter().zip(cases) {
                    let start = self.code.len();
                    self.patch(j, start);
                    self.body(case);
                    ends.push(self.emit(ins("JMP", -1, 0, 0), "endcase".into()));
                }
                let end = self.code.len();
                for j in ends {
                    self.patch(j, end);
                }
            }
            Stmt::Call(f) => {
                let at = self.emit(ins("CALL", -1, 0, 0), format!("call f{f}"));
                self.calls.push((at, *f));
            }
        }
    }
}

impl Program {
    /// The program in the interpreter's text format: a jump over the functions, the
    /// functions (each ending with `RET`), then main (ending with `HALT`).
    pub(crate) fn lower(&self) -> String {
        let mut l = Lower {
            code: Vec::new(),
            breaks: Vec::new(),
            calls: Vec::new(),
        };
        let jmain = l.emit(ins("JMP", -1, 0, 0), "to main".into());
        let mut starts = Vec::new();
        for (i, f) in self.funcs.iter().enumerate() {
            let n = l.code.len();
            starts.push(n);
            l.body(f);
            l.emit(ins("RET", 0, 0, 0), String::new());
            l.code[n].1 = format!("f{i}{}", prefix_sep(&l.code[n].1));
        }
        let main = l.code.len();
        l.patch(jmain, main);
        l.body(&self.main);
        l.emit(ins("HALT", 0, 0, 0), String::new());
        l.code[main].1 = format!("main{}", prefix_sep(&l.code[main].1));
        for (at, f) in std::mem::take(&mut l.calls) {
            l.patch(at, starts[f]);
        }
        let mut out =
            String::from("# Generated by `cargo xtask fuzz-c` (xtask/src/fuzz/cgen.rs).\n");
        for (pc, (i, comment)) in l.code.iter().enumerate() {
            let text = format!("{} {} {} {}", i.op, i.a, i.b, i.c);
            let _ = write!(out, "{text:<40} # {pc}");
            if !comment.is_empty() {
                let _ = write!(out, " {comment}");
            }
            out.push('\n');
        }
        out
    }

    /// Number of statements (at any depth).
    pub(crate) fn size(&self) -> usize {
        fn n(b: &[Stmt]) -> usize {
            b.iter()
                .map(|s| {
                    1 + match s {
                        Stmt::Loop { body, .. } => n(body),
                        Stmt::If { then, els, .. } => n(then) + n(els),
                        Stmt::Switch { cases, .. } => cases.iter().map(|c| n(c)).sum(),
                        _ => 0,
                    }
                })
                .sum()
        }
        n(&self.main) + self.funcs.iter().map(|f| n(f)).sum::<usize>()
    }
}

fn prefix_sep(s: &str) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!(": {s}")
    }
}

/// The `k`-th simplification of `p` (in a fixed order: for each statement of main and of
/// each function, outermost and earliest first: delete it; for a loop, replace it by its
/// body, or halve its iterations; for an if, replace it by either branch; then the same
/// inside it), or `None` if there are fewer than `k + 1`.
pub(crate) fn edit(p: &Program, k: usize) -> Option<Program> {
    let mut p = p.clone();
    let mut k = k;
    if edit_body(&mut p.main, &mut k) {
        return Some(p);
    }
    for f in &mut p.funcs {
        if edit_body(f, &mut k) {
            return Some(p);
        }
    }
    None
}

/// Applies edit `*k` inside `b` if there is one (returning true); else subtracts the
/// number of edits `b` has from `*k`.
fn edit_body(b: &mut Vec<Stmt>, k: &mut usize) -> bool {
    let mut i = 0;
    while i < b.len() {
        // Delete the statement.
        if *k == 0 {
            b.remove(i);
            return true;
        }
        *k -= 1;
        let replacement: Option<Vec<Stmt>> = match &mut b[i] {
            Stmt::Loop { body, iters, .. } => {
                if *k == 0 {
                    Some(body.clone())
                } else {
                    *k -= 1;
                    if *iters > 1 {
                        if *k == 0 {
                            *iters /= 2;
                            return true;
                        }
                        *k -= 1;
                    }
                    if edit_body(body, k) {
                        return true;
                    }
                    None
                }
            }
            Stmt::If { then, els, .. } => {
                if *k < 2 {
                    Some(if *k == 0 { then.clone() } else { els.clone() })
                } else {
                    *k -= 2;
                    if edit_body(then, k) || edit_body(els, k) {
                        return true;
                    }
                    None
                }
            }
            Stmt::Switch { cases, .. } => {
                if *k < cases.len() {
                    Some(cases[*k].clone())
                } else {
                    *k -= cases.len();
                    for c in cases.iter_mut() {
                        if edit_body(c, k) {
                            return true;
                        }
                    }
                    None
                }
            }
            _ => None,
        };
        if let Some(r) = replacement {
            b.splice(i..=i, r);
            return true;
        }
        i += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_deterministic_and_end_with_halt() {
        for seed in 0..200 {
            let p = generate(seed);
            assert_eq!(p, generate(seed));
            let text = p.lower();
            let last = text.lines().last().unwrap();
            assert!(last.starts_with("HALT"), "seed {seed}: {last}");
        }
    }

    #[test]
    fn data_instructions_never_write_loop_counters() {
        fn check(b: &[Stmt]) {
            for s in b {
                match s {
                    Stmt::Ins(i) if i.op != "ST" && i.op != "PRINT" => {
                        assert!(i.a < DATA_REGS, "{i:?}")
                    }
                    Stmt::Loop { body, reg, .. } => {
                        assert!(*reg >= DATA_REGS);
                        check(body)
                    }
                    Stmt::If { cond, then, els } => {
                        cond.setup.iter().for_each(|i| assert!(i.a < DATA_REGS));
                        check(then);
                        check(els)
                    }
                    Stmt::Break(c) => c.setup.iter().for_each(|i| assert!(i.a < DATA_REGS)),
                    Stmt::Switch { cases, .. } => cases.iter().for_each(|c| check(c)),
                    _ => (),
                }
            }
        }
        for seed in 0..200 {
            let p = generate(seed);
            check(&p.main);
            p.funcs.iter().for_each(|f| check(f));
        }
    }

    #[test]
    fn every_edit_makes_the_program_smaller_or_cheaper() {
        let p = generate(7);
        let mut k = 0;
        while let Some(q) = edit(&p, k) {
            assert_ne!(q, p, "edit {k}");
            assert!(q.size() <= p.size(), "edit {k}");
            k += 1;
        }
        assert!(k > p.size(), "{k} edits for {} statements", p.size());
    }
}
