//! Mapping executed machine code to embedded-IR blocks, exactly as the
//! software tracer would record them.
//!
//! # Why the swt hooks, not machine block ids
//!
//! `.llvm_bb_addr_map` ids are machine-block creation order, i.e. the blocks
//! of the *instrumented* module after CodeGenPrepare, plus blocks codegen
//! adds ([crate::bbaddrmap]). They say nothing about which embedded-IR block a
//! machine block came from: the instrumented module has about three blocks
//! per embedded-IR block (the hook's test, its out-of-line call, the rest),
//! and codegen duplicates tails (a hook's test is often copied into its
//! predecessors, or into another hook's out-of-line block), splits critical
//! edges and lowers switches into trees and jump tables.
//!
//! The binary itself, however, already carries an exact side table: every
//! instrumented block *j* of function *i* starts with yk-ld's hook
//!
//! ```text
//! test byte ptr fs:[FLAG], 1     ; FLAG_BLOCKS, docs/abi.md
//! jne  record                    ; (or je over it)
//! ...
//! record: mov edi, i; mov esi, j; call __yk_swt_rec_block; jmp back
//! ```
//!
//! and the software tracer records `(i, j)` exactly when such a test
//! executes with the flag set. So this module disassembles every function
//! of the map, finds each flag test with its conditional branch (the
//! *check*), follows the branch's flag-set side to the call of
//! `__yk_swt_rec_block` and reads its constant arguments. A decoded trace
//! (flag clear: the hardware tracer sets only the value bits) is then
//! mapped by listing, in execution order, the checks its blocks ran through:
//! the same `(i, j)` sequence swt would have produced for the same run.
//! Copies of one hook made by tail duplication map to the same pair, and
//! every other machine instruction (codegen's extra blocks, the hook's own
//! out-of-line blocks, code outside the interpreter) maps to nothing, as swt
//! records nothing there.
//!
//! Outlined functions pause the software tracer (they clear the flag on entry
//! and restore it on return); the blocks of callbacks they make are not
//! recorded. Their code is recognised by that store of 0 to the flag, and
//! [IrMap::map_blocks] skips everything between a call of such a function and
//! its return.
//!
//! Building the table fails, rather than guessing, when a flag test cannot be
//! explained (no record call on its flag-set side, non-constant arguments, a
//! second flag): a hook the table misses would silently drop blocks.

use crate::{bbaddrmap, flow::Block};
use anyhow::{bail, Context, Result};
use iced_x86::{
    Code, ConditionCode, Decoder, DecoderOptions, FlowControl, Instruction, InstructionInfoFactory,
    Mnemonic, OpAccess, OpKind, Register,
};
use object::{Object, ObjectSection, ObjectSymbol, ObjectSymbolTable};
use std::collections::HashMap;

/// The runtime function a block hook calls.
pub const REC_BLOCK: &str = "__yk_swt_rec_block";
/// The runtime functions the value hooks call.
pub const REC_VALUES: [&str; 2] = ["__yk_swt_rec_promote", "__yk_swt_rec_idempotent"];

/// One block hook's test in the machine code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Check {
    /// Link-time address of the conditional branch on the flag.
    pub addr: u64,
    /// The embedded-IR function index the hook records.
    pub func: u32,
    /// The embedded-IR block index the hook records.
    pub block: u32,
    /// Whether the branch is taken when the flag is clear (`je` over the
    /// record call) rather than when it is set (`jne` to it).
    pub taken_when_clear: bool,
}

/// A value hook's test (promote or idempotent result).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValueCheck {
    /// Link-time address of the conditional branch on the flag.
    pub addr: u64,
    /// Whether the branch is taken when the flag is clear.
    pub taken_when_clear: bool,
}

/// The machine-code → embedded-IR block table of one binary.
#[derive(Debug)]
pub struct IrMap {
    /// Block checks sorted by address.
    checks: Vec<Check>,
    /// Value checks sorted by address.
    value_checks: Vec<ValueCheck>,
    /// Entry addresses of functions that pause recording, sorted.
    pausing: Vec<u64>,
    /// The flag's `fs:` displacement.
    flag_disp: u64,
}

/// Resolves call targets to names: defined symbols, and PLT stubs through
/// their GOT slot's dynamic relocation.
struct Names<'a> {
    syms: HashMap<u64, String>,
    got: HashMap<u64, String>,
    obj: &'a object::File<'a>,
}

impl<'a> Names<'a> {
    fn new(obj: &'a object::File<'a>) -> Self {
        let mut syms = HashMap::new();
        for s in obj.symbols().chain(obj.dynamic_symbols()) {
            if s.is_definition() && s.kind() == object::SymbolKind::Text {
                if let Ok(n) = s.name() {
                    syms.entry(s.address()).or_insert_with(|| n.to_owned());
                }
            }
        }
        let mut got = HashMap::new();
        if let (Some(rels), Some(dynsyms)) = (obj.dynamic_relocations(), obj.dynamic_symbol_table())
        {
            for (off, r) in rels {
                if let object::RelocationTarget::Symbol(si) = r.target() {
                    if let Some(n) = dynsyms.symbol_by_index(si).ok().and_then(|s| s.name().ok()) {
                        got.insert(off, n.to_owned());
                    }
                }
            }
        }
        Names { syms, got, obj }
    }

    /// The name of the function a call to `addr` reaches.
    fn of(&self, addr: u64) -> Option<&str> {
        if let Some(n) = self.syms.get(&addr) {
            return Some(n);
        }
        // A PLT stub: [endbr64;] [bnd] jmp qword ptr [rip+slot].
        let bytes = code_at(self.obj, addr, 32)?;
        let mut d = Decoder::with_ip(64, &bytes, addr, DecoderOptions::NONE);
        let mut i = d.decode();
        if i.code() == Code::Endbr64 {
            i = d.decode();
        }
        if i.mnemonic() == Mnemonic::Jmp && i.is_ip_rel_memory_operand() {
            return self.got.get(&i.ip_rel_memory_address()).map(String::as_str);
        }
        None
    }
}

/// Up to `n` bytes of the section holding link-time address `addr`.
fn code_at(obj: &object::File, addr: u64, n: u64) -> Option<Vec<u8>> {
    for s in obj.sections() {
        if s.address() <= addr && addr < s.address() + s.size() {
            let d = s.data().ok()?;
            let off = (addr - s.address()) as usize;
            let end = (off + n as usize).min(d.len());
            return Some(d[off..end].to_vec());
        }
    }
    None
}

/// Is `i` a test of a byte at `fs:[disp]` against zero (or a mask)? Returns
/// the displacement.
fn flag_test(i: &Instruction) -> Option<u64> {
    let is_test = match i.code() {
        Code::Cmp_rm8_imm8 => i.immediate8() == 0,
        Code::Test_rm8_imm8 => true,
        _ => false,
    };
    (is_test && fs_byte(i)).then(|| i.memory_displacement64())
}

/// Does `i`'s first operand address `fs:[disp]` with no base or index?
fn fs_byte(i: &Instruction) -> bool {
    i.op0_kind() == OpKind::Memory
        && i.memory_segment() == Register::FS
        && i.memory_base() == Register::None
        && i.memory_index() == Register::None
}

/// Disassembles the code of every function in `map`; returns per function its
/// entry address and instructions in address order.
fn disassemble(
    obj: &object::File,
    map: &[bbaddrmap::FuncMap],
) -> Result<Vec<(u64, Vec<Instruction>)>> {
    let mut out = Vec::new();
    for f in map {
        let mut insns = Vec::new();
        for r in &f.ranges {
            for b in &r.blocks {
                let start = r.base + u64::from(b.offset);
                if b.size == 0 {
                    continue;
                }
                let bytes = code_at(obj, start, u64::from(b.size))
                    .with_context(|| format!("no code for the machine block at {start:#x}"))?;
                let mut d = Decoder::with_ip(64, &bytes, start, DecoderOptions::NONE);
                while d.can_decode() {
                    let i = d.decode();
                    if i.is_invalid() {
                        bail!("invalid instruction at {:#x}", i.ip());
                    }
                    insns.push(i);
                }
            }
        }
        insns.sort_by_key(|i| i.ip());
        out.push((f.addr, insns));
    }
    Ok(out)
}

/// What the flag-set side of a flag test does.
enum Hook {
    Block(u32, u32),
    Value,
}

/// Follows the flag-set side of a flag test from `from` to the first call and
/// classifies the hook by the called function.
fn follow_hook(
    insns: &[Instruction],
    at: &HashMap<u64, usize>,
    names: &Names,
    from: u64,
) -> Result<Hook> {
    let mut info = InstructionInfoFactory::new();
    let mut regs: [Option<u64>; 2] = [None, None]; // edi, esi
    let mut pc = from;
    for _ in 0..64 {
        let &k = at
            .get(&pc)
            .with_context(|| format!("the hook path reaches {pc:#x}, outside the function"))?;
        let i = &insns[k];
        match i.flow_control() {
            FlowControl::Call => {
                let to = i.near_branch_target();
                let name = names.of(to).unwrap_or("");
                if name == REC_BLOCK {
                    let [Some(f), Some(b)] = regs else {
                        bail!("the call of {REC_BLOCK} at {pc:#x} has non-constant arguments");
                    };
                    return Ok(Hook::Block(
                        u32::try_from(f).context("function index")?,
                        u32::try_from(b).context("block index")?,
                    ));
                }
                if REC_VALUES.contains(&name) {
                    return Ok(Hook::Value);
                }
                bail!("the hook path calls {to:#x} ({name:?}) at {pc:#x}, not a record function");
            }
            FlowControl::UnconditionalBranch if i.op0_kind() == OpKind::NearBranch64 => {
                pc = i.near_branch_target();
                continue;
            }
            FlowControl::Next => (),
            _ => bail!(
                "the hook path has a {:?} at {pc:#x} before any record call",
                i.mnemonic()
            ),
        }
        // Track constants loaded into edi/esi; anything else writing them
        // makes them unknown.
        let konst = match (i.code(), i.op0_register()) {
            (Code::Mov_r32_imm32, r) => Some((r, u64::from(i.immediate32()))),
            (Code::Xor_r32_rm32 | Code::Xor_rm32_r32, r)
                if i.op0_kind() == OpKind::Register
                    && i.op1_kind() == OpKind::Register
                    && i.op1_register() == r =>
            {
                Some((r, 0))
            }
            _ => None,
        };
        for u in info.info(i).used_registers() {
            if !matches!(
                u.access(),
                OpAccess::Read | OpAccess::CondRead | OpAccess::None
            ) {
                for (slot, r) in [(0, Register::RDI), (1, Register::RSI)] {
                    if u.register().full_register() == r {
                        regs[slot] = None;
                    }
                }
            }
        }
        if let Some((r, v)) = konst {
            for (slot, reg) in [(0, Register::EDI), (1, Register::ESI)] {
                if r == reg {
                    regs[slot] = Some(v);
                }
            }
        }
        pc = i.next_ip();
    }
    bail!("no record call within 64 instructions of {from:#x}")
}

impl IrMap {
    /// Build the table from a yk-ld-linked ELF executable (with
    /// `.llvm_bb_addr_map`).
    pub fn from_elf(bytes: &[u8]) -> Result<Self> {
        let obj = object::File::parse(bytes).context("parsing the ELF file")?;
        let sec = obj
            .section_by_name(".llvm_bb_addr_map")
            .context("the binary has no .llvm_bb_addr_map section")?;
        let funcs = bbaddrmap::parse_section(sec.data()?)?;
        let names = Names::new(&obj);
        let code = disassemble(&obj, &funcs)?;

        // Pass 1: every byte test of fs:[d] followed by je/jne, explained or
        // not (another thread-local byte of the interpreter looks the same).
        struct Cand {
            jcc: u64,
            disp: u64,
            clear_taken: bool,
            hook: Result<Hook>,
        }
        let mut cands = Vec::new();
        let mut stores: Vec<(u64, u64)> = Vec::new(); // (function, disp) of flag clears
        for (faddr, insns) in &code {
            let at: HashMap<u64, usize> =
                insns.iter().enumerate().map(|(k, i)| (i.ip(), k)).collect();
            for (k, i) in insns.iter().enumerate() {
                if i.code() == Code::Mov_rm8_imm8 && fs_byte(i) && i.immediate8() == 0 {
                    stores.push((*faddr, i.memory_displacement64()));
                }
                let Some(disp) = flag_test(i) else { continue };
                // The branch on the test's flags; the scheduler may put
                // instructions that leave the flags alone in between.
                let Some(j) = insns[k + 1..]
                    .iter()
                    .take(16)
                    .take_while(|x| {
                        x.flow_control() == FlowControl::ConditionalBranch
                            || (x.flow_control() == FlowControl::Next && x.rflags_modified() == 0)
                    })
                    .find(|x| x.flow_control() == FlowControl::ConditionalBranch)
                else {
                    continue;
                };
                let clear_taken = match j.condition_code() {
                    ConditionCode::e => true,
                    ConditionCode::ne => false,
                    _ => continue,
                };
                if j.flow_control() != FlowControl::ConditionalBranch {
                    continue;
                }
                let set_side = if clear_taken {
                    j.next_ip()
                } else {
                    j.near_branch_target()
                };
                cands.push(Cand {
                    jcc: j.ip(),
                    disp,
                    clear_taken,
                    hook: follow_hook(insns, &at, &names, set_side),
                });
            }
        }
        // The flag is the byte the block hooks test.
        let mut disps: Vec<u64> = cands
            .iter()
            .filter(|c| matches!(c.hook, Ok(Hook::Block(..))))
            .map(|c| c.disp)
            .collect();
        disps.sort_unstable();
        disps.dedup();
        let flag_disp = match disps[..] {
            [d] => d,
            [] => match cands.into_iter().find_map(|c| c.hook.err()) {
                Some(e) => bail!("no software-tracing block hook understood: {e:#}"),
                None => bail!("no software-tracing block hooks found (not linked by yk-ld?)"),
            },
            _ => bail!("block hooks test several thread-locals: {disps:x?}"),
        };
        // Pass 2: every test of the flag must be a hook.
        let mut checks = Vec::new();
        let mut value_checks = Vec::new();
        for c in cands.into_iter().filter(|c| c.disp == flag_disp) {
            match c
                .hook
                .with_context(|| format!("the flag test at {:#x}", c.jcc))?
            {
                Hook::Block(func, block) => checks.push(Check {
                    addr: c.jcc,
                    func,
                    block,
                    taken_when_clear: c.clear_taken,
                }),
                Hook::Value => value_checks.push(ValueCheck {
                    addr: c.jcc,
                    taken_when_clear: c.clear_taken,
                }),
            }
        }
        checks.sort_by_key(|c| c.addr);
        value_checks.sort_by_key(|c| c.addr);
        let mut pausing: Vec<u64> = stores
            .into_iter()
            .filter(|&(_, d)| d == flag_disp)
            .map(|(f, _)| f)
            .collect();
        pausing.sort_unstable();
        pausing.dedup();
        Ok(IrMap {
            checks,
            value_checks,
            pausing,
            flag_disp,
        })
    }

    /// The block checks, sorted by address.
    pub fn checks(&self) -> &[Check] {
        &self.checks
    }

    /// The value-hook checks, sorted by address.
    pub fn value_checks(&self) -> &[ValueCheck] {
        &self.value_checks
    }

    /// Entry addresses of the functions that pause recording (outlined
    /// functions), sorted.
    pub fn pausing_functions(&self) -> &[u64] {
        &self.pausing
    }

    /// The flag's thread-pointer-relative offset (`fs:[offset]`).
    pub fn flag_offset(&self) -> i64 {
        self.flag_disp as i64
    }

    /// The block check at link-time address `addr`, if any.
    pub fn check_at(&self, addr: u64) -> Option<&Check> {
        self.checks
            .binary_search_by_key(&addr, |c| c.addr)
            .ok()
            .map(|k| &self.checks[k])
    }

    /// The `(function index, block index)` sequence the software tracer
    /// would have recorded for decoded blocks (run-time addresses; `bias` is
    /// the binary's load bias), with the flag's block bit clear throughout.
    ///
    /// Calls of pausing functions are skipped up to their return, found as
    /// the next block that starts where the calling block ended. (A
    /// `longjmp` out of such a call, or a tail call into one, is not
    /// followed; swt loses its flag in those cases too.)
    pub fn map_blocks(&self, blocks: &[Block], bias: u64) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        self.map_blocks_into(blocks, bias, &mut out);
        out
    }

    /// [IrMap::map_blocks], appending to `out`.
    pub fn map_blocks_into(&self, blocks: &[Block], bias: u64, out: &mut Vec<(u32, u32)>) {
        let mut resume: Vec<u64> = Vec::new();
        let mut prev_end = None;
        for b in blocks {
            let start = b.start.wrapping_sub(bias);
            let end = b.end.wrapping_sub(bias);
            if resume.last() == Some(&start) {
                resume.pop();
            }
            if self.pausing.binary_search(&start).is_ok() {
                if let Some(r) = prev_end {
                    resume.push(r);
                }
            }
            if resume.is_empty() {
                let from = self.checks.partition_point(|c| c.addr < start);
                for c in self.checks[from..].iter().take_while(|c| c.addr < end) {
                    out.push((c.func, c.block));
                }
            }
            prev_end = Some(end);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(checks: &[(u64, u32, u32)], pausing: &[u64]) -> IrMap {
        IrMap {
            checks: checks
                .iter()
                .map(|&(addr, func, block)| Check {
                    addr,
                    func,
                    block,
                    taken_when_clear: false,
                })
                .collect(),
            value_checks: vec![],
            pausing: pausing.to_vec(),
            flag_disp: u64::MAX,
        }
    }

    #[test]
    fn checks_in_execution_order() {
        let m = map(&[(0x1010, 0, 0), (0x1020, 0, 1), (0x1030, 0, 2)], &[]);
        let b = |start, end| Block { start, end };
        let bias = 0x5555_0000_0000;
        let blocks = [b(0x1000, 0x1025), b(0x1030, 0x1031), b(0x1018, 0x1021)]
            .map(|x| b(x.start + bias, x.end + bias));
        assert_eq!(
            m.map_blocks(&blocks, bias),
            [(0, 0), (0, 1), (0, 2), (0, 1)]
        );
    }

    #[test]
    fn pausing_calls_are_skipped() {
        // f calls outlined g (0x2000), which calls back into f's 0x1030.
        let m = map(&[(0x1010, 0, 0), (0x1030, 0, 2), (0x1040, 0, 3)], &[0x2000]);
        let b = |start, end| Block { start, end };
        let blocks = [
            b(0x1000, 0x1015), // check (0, 0), then the call of g
            b(0x2000, 0x2008),
            b(0x1030, 0x1038), // the callback: not recorded
            b(0x2008, 0x2010), // g returns
            b(0x1015, 0x1045), // back in f, through (0, 2) and (0, 3)
        ];
        assert_eq!(m.map_blocks(&blocks, 0), [(0, 0), (0, 2), (0, 3)]);
    }
}
