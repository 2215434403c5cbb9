//! The dispatch loop, with its control point.

use crate::asm::{Insn, Op, NREGS};
use std::io::Write;
use ykrt::{Location, MT};

/// One location per instruction: a counting one for loop headers (targets of
/// backward jumps), the null location (never traced, and skipped inline by
/// the control point) for the rest.
pub fn locations(prog: &[Insn]) -> Vec<Location> {
    let mut header = vec![false; prog.len()];
    for (pc, insn) in prog.iter().enumerate() {
        if let Some(t) = insn.target().filter(|&t| t <= pc) {
            header[t] = true;
        }
    }
    header
        .into_iter()
        .map(|h| if h { Location::new() } else { Location::null() })
        .collect()
}

/// Runs `prog` from its first instruction. `locs` comes from [`locations`].
// Never inlined into `main`: the control point's function is the unit the
// trace builder works on, and it should be just the loop.
#[inline(never)]
pub fn run(
    mt: &MT,
    prog: &[Insn],
    locs: &[Location],
    regs: &mut [i64; NREGS],
    out: &mut impl Write,
) -> Result<(), String> {
    let mut pc = 0;
    loop {
        mt.control_point(&locs[pc]);
        let insn = prog[pc];
        let (a, b) = (usize::from(insn.a), usize::from(insn.b));
        pc += 1;
        match insn.op {
            Op::Set => regs[a] = insn.imm,
            Op::Mov => regs[a] = regs[b],
            Op::Add => regs[a] = regs[a].wrapping_add(regs[b]),
            Op::Sub => regs[a] = regs[a].wrapping_sub(regs[b]),
            Op::Mul => regs[a] = regs[a].wrapping_mul(regs[b]),
            Op::Addi => regs[a] = regs[a].wrapping_add(insn.imm),
            Op::Andi => regs[a] &= insn.imm,
            Op::Shri => regs[a] >>= insn.imm & 63,
            Op::Jmp => pc = insn.imm as usize,
            Op::Jz => {
                if regs[a] == 0 {
                    pc = insn.imm as usize
                }
            }
            Op::Jnz => {
                if regs[a] != 0 {
                    pc = insn.imm as usize
                }
            }
            Op::Jlt => {
                if regs[a] < regs[b] {
                    pc = insn.imm as usize
                }
            }
            Op::Print => writeln!(out, "{}", regs[a]).map_err(|e| format!("writing: {e}"))?,
            Op::Halt => return Ok(()),
        }
    }
}
