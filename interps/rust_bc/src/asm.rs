//! The program format: one instruction per line, `#` starts a comment,
//! `name:` defines a label. Registers are `r0` .. `r7`.
//!
//! ```text
//! set rA imm     rA = imm            add rA rB   rA += rB
//! mov rA rB      rA = rB             sub rA rB   rA -= rB
//! addi rA imm    rA += imm           mul rA rB   rA *= rB
//! andi rA imm    rA &= imm           shri rA imm rA >>= imm (arithmetic)
//! jmp L          goto L              jz rA L     if rA == 0 goto L
//! jnz rA L       if rA != 0 goto L   jlt rA rB L if rA < rB goto L
//! print rA       print rA and a newline
//! halt           stop
//! ```

use std::collections::HashMap;

/// The number of registers.
pub const NREGS: usize = 8;

/// An operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Set,
    Mov,
    Add,
    Sub,
    Mul,
    Addi,
    Andi,
    Shri,
    Jmp,
    Jz,
    Jnz,
    Jlt,
    Print,
    Halt,
}

/// One instruction: registers `a` and `b`, and an immediate (a constant or a
/// jump target).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub op: Op,
    pub a: u8,
    pub b: u8,
    pub imm: i64,
}

impl Insn {
    /// The jump target, if this is a jump.
    pub fn target(&self) -> Option<usize> {
        matches!(self.op, Op::Jmp | Op::Jz | Op::Jnz | Op::Jlt).then_some(self.imm as usize)
    }
}

/// What each operation's operands are.
#[derive(Clone, Copy)]
enum Shape {
    NoOperands,
    Reg,
    RegReg,
    RegImm,
    Label,
    RegLabel,
    RegRegLabel,
}

fn op_of(name: &str) -> Option<(Op, Shape)> {
    Some(match name {
        "set" => (Op::Set, Shape::RegImm),
        "mov" => (Op::Mov, Shape::RegReg),
        "add" => (Op::Add, Shape::RegReg),
        "sub" => (Op::Sub, Shape::RegReg),
        "mul" => (Op::Mul, Shape::RegReg),
        "addi" => (Op::Addi, Shape::RegImm),
        "andi" => (Op::Andi, Shape::RegImm),
        "shri" => (Op::Shri, Shape::RegImm),
        "jmp" => (Op::Jmp, Shape::Label),
        "jz" => (Op::Jz, Shape::RegLabel),
        "jnz" => (Op::Jnz, Shape::RegLabel),
        "jlt" => (Op::Jlt, Shape::RegRegLabel),
        "print" => (Op::Print, Shape::Reg),
        "halt" => (Op::Halt, Shape::NoOperands),
        _ => return None,
    })
}

fn reg(s: &str) -> Result<u8, String> {
    s.strip_prefix('r')
        .and_then(|n| n.parse::<u8>().ok())
        .filter(|&n| usize::from(n) < NREGS)
        .ok_or_else(|| format!("`{s}` is not a register (r0 .. r{})", NREGS - 1))
}

/// Parses a program. Errors are `line: message`.
pub fn parse(text: &str) -> Result<Vec<Insn>, String> {
    let mut labels = HashMap::new();
    // (line, insn, label to resolve)
    let mut insns: Vec<(usize, Insn, Option<String>)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let n = n + 1;
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(l) = line.strip_suffix(':') {
            if l.is_empty() || l.contains(char::is_whitespace) {
                return Err(format!("{n}: bad label `{line}`"));
            }
            if labels.insert(l.to_owned(), insns.len()).is_some() {
                return Err(format!("{n}: label `{l}` defined twice"));
            }
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let (op, shape) =
            op_of(words[0]).ok_or(format!("{n}: unknown operation `{}`", words[0]))?;
        let args = &words[1..];
        let want = match shape {
            Shape::NoOperands => 0,
            Shape::Reg | Shape::Label => 1,
            Shape::RegReg | Shape::RegImm | Shape::RegLabel => 2,
            Shape::RegRegLabel => 3,
        };
        if args.len() != want {
            return Err(format!(
                "{n}: `{}` takes {want} operand(s), not {}",
                words[0],
                args.len()
            ));
        }
        let mut insn = Insn {
            op,
            a: 0,
            b: 0,
            imm: 0,
        };
        let mut label = None;
        let e = |m: String| format!("{n}: {m}");
        match shape {
            Shape::NoOperands => {}
            Shape::Reg => insn.a = reg(args[0]).map_err(e)?,
            Shape::RegReg => {
                insn.a = reg(args[0]).map_err(e)?;
                insn.b = reg(args[1]).map_err(e)?;
            }
            Shape::RegImm => {
                insn.a = reg(args[0]).map_err(e)?;
                insn.imm = args[1]
                    .parse()
                    .map_err(|_| format!("{n}: `{}` is not an integer", args[1]))?;
            }
            Shape::Label => label = Some(args[0]),
            Shape::RegLabel => {
                insn.a = reg(args[0]).map_err(e)?;
                label = Some(args[1]);
            }
            Shape::RegRegLabel => {
                insn.a = reg(args[0]).map_err(e)?;
                insn.b = reg(args[1]).map_err(e)?;
                label = Some(args[2]);
            }
        }
        insns.push((n, insn, label.map(str::to_owned)));
    }
    let last = insns.last().map(|(_, i, _)| i.op);
    if !matches!(last, Some(Op::Halt | Op::Jmp)) {
        return Err(format!(
            "{}: the program must end with `halt` or `jmp`",
            insns.last().map_or(1, |(n, _, _)| *n)
        ));
    }
    insns
        .into_iter()
        .map(|(n, mut insn, label)| {
            if let Some(l) = label {
                let t = labels
                    .get(&l)
                    .ok_or(format!("{n}: undefined label `{l}`"))?;
                insn.imm = *t as i64;
            }
            Ok(insn)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_resolve() {
        let p = parse("top:\n  addi r1 1\n  jlt r1 r0 top\n  halt\n").unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(p[1].target(), Some(0));
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            parse("\nfoo r1\n").unwrap_err(),
            "2: unknown operation `foo`"
        );
        assert_eq!(
            parse("jmp nowhere\n").unwrap_err(),
            "1: undefined label `nowhere`"
        );
        assert!(parse("set r9 1\nhalt\n")
            .unwrap_err()
            .starts_with("1: `r9`"));
        assert!(parse("set r1 1\n").unwrap_err().contains("must end with"));
    }
}
