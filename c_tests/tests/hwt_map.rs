//! The hardware tracer's mapping from machine code to embedded-IR blocks
//! (`hwt::irmap`) on the C tests' binaries, built with the yk toolchain.
//!
//! * `table_on_every_c_test`: for every single-file C test, the table
//!   explains every flag test; its `(function, block)` pairs are exactly the
//!   instrumented blocks of the embedded IR (every block of every defined
//!   function that is not outlined and not the runtime's), each found in the
//!   code of the function of that name; and the machine paths from one check
//!   to the next (direct branches; an indirect jump through the targets of
//!   its own jump table, a function may have several) are edges of the
//!   embedded IR's CFG.
//! * `round_trip`: the software tracer's recordings of real runs are the
//!   ground truth. Each is turned into a machine path through the binary (a
//!   search between consecutive checks), a PT unit's packets for that path are
//!   synthesised with `hwt::encode` (batched TNTs, TIPs for indirect branches
//!   and returns, PSB+, code outside the binary as a stub), decoded with
//!   `hwt::flow` and mapped with `hwt::irmap`: the result must be the
//!   recording, block for block.

use c_tests::toolchain::{self, Toolchain};
use hwt::{
    bbaddrmap::{parse_section, FuncMap},
    encode::{Encoder, IpKind},
    flow::{CodeReader, FlowDecoder},
    irmap::IrMap,
};
use iced_x86::{
    ConditionCode, Decoder, DecoderOptions, FlowControl, Instruction, Mnemonic, OpKind,
};
use object::{Object, ObjectSection, ObjectSegment, ObjectSymbol};
use std::{
    collections::{BTreeMap, BTreeSet, HashMap, HashSet},
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};
use ykrt::aotir::AotIndex;

fn tc() -> &'static Toolchain {
    static TC: OnceLock<Toolchain> = OnceLock::new();
    TC.get_or_init(|| {
        let dir = toolchain::profile_dir_of_current_exe().unwrap();
        if std::env::var_os("C_TESTS_NO_TOOLCHAIN_BUILD").is_none() {
            toolchain::build_toolchain(&dir).unwrap();
        }
        Toolchain::find(&dir).unwrap()
    })
}

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// A C test built with the toolchain.
struct Built {
    name: String,
    exe: PathBuf,
    /// yk-ld's count of instrumented blocks.
    instrumented: usize,
    /// The test's `env-var:` settings.
    env: Vec<(String, String)>,
}

/// Builds single-file test `name` into `target/<profile>/hwt_map/<dir>/`
/// (None if it has extra sources or is not meant to link). Each test of this
/// file builds into its own `dir`: they run in parallel, and one must not
/// relink a binary while the other runs it.
fn build(name: &str, dir: &str) -> Option<Built> {
    let src_path = tests_dir().join(format!("{name}.c"));
    let src = std::fs::read_to_string(&src_path).unwrap();
    let (_, dirs) = c_tests::spec::parse(&src).unwrap();
    if !dirs.extra_files.is_empty() || !dirs.extra_archive.is_empty() {
        return None;
    }
    let tc = tc();
    let out = tc.profile_dir.join("hwt_map").join(dir);
    std::fs::create_dir_all(&out).unwrap();
    let exe = out.join(name);
    let o = Command::new(&tc.cc)
        .args(&tc.cflags)
        .args(&tc.cppflags)
        .args(&dirs.cflags)
        .arg(&src_path)
        .arg("-o")
        .arg(&exe)
        .args(&tc.ldflags)
        .args(&tc.libs)
        .env("YKLD_VERBOSE", "1")
        .output()
        .unwrap();
    if !o.status.success() {
        return None;
    }
    let err = String::from_utf8_lossy(&o.stderr);
    let instrumented = err
        .split("instrumented_blocks: ")
        .nth(1)
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let env = src
        .lines()
        .take_while(|l| l.starts_with("//"))
        .filter_map(|l| l.trim_start_matches('/').trim().strip_prefix("env-var:"))
        .filter_map(|kv| kv.trim().split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Some(Built {
        name: name.to_owned(),
        exe,
        instrumented,
        env,
    })
}

/// A yk binary taken apart: its code, map, embedded IR and symbols.
struct Bin {
    bytes: Vec<u8>,
    map: IrMap,
    funcs: Vec<FuncMap>,
    index: AotIndex,
    /// Defined function symbols: name -> address.
    syms: HashMap<String, u64>,
    /// Executable segments (link-time address, bytes).
    code: Vec<(u64, Vec<u8>)>,
}

impl Bin {
    fn load(exe: &Path) -> Bin {
        let bytes = std::fs::read(exe).unwrap();
        let map = IrMap::from_elf(&bytes).unwrap_or_else(|e| panic!("{}: {e:#}", exe.display()));
        let obj = object::File::parse(&*bytes).unwrap();
        let funcs = parse_section(
            obj.section_by_name(".llvm_bb_addr_map")
                .unwrap()
                .data()
                .unwrap(),
        )
        .unwrap();
        let section = obj.section_by_name("yk_ir").unwrap().data().unwrap();
        let ir = ykrt::aot::ir_section::unwrap(section).unwrap();
        let (index, _) = ykrt::jit::aot_index::read(ir, false).unwrap();
        let syms = obj
            .symbols()
            .filter(|s| s.is_definition() && s.kind() == object::SymbolKind::Text)
            .filter_map(|s| Some((s.name().ok()?.to_owned(), s.address())))
            .collect();
        let code = obj
            .segments()
            .filter(
                |s| matches!(s.flags(), object::SegmentFlags::Elf { p_flags } if p_flags & 1 != 0),
            )
            .map(|s| (s.address(), s.data().unwrap().to_vec()))
            .collect();
        Bin {
            bytes: bytes.clone(),
            map,
            funcs,
            index,
            syms,
            code,
        }
    }

    fn func_of(&self, addr: u64) -> Option<&FuncMap> {
        self.funcs.iter().find(|f| {
            f.ranges.iter().any(|r| {
                let end = r
                    .blocks
                    .iter()
                    .map(|b| r.base + u64::from(b.offset + b.size))
                    .max()
                    .unwrap_or(r.base);
                r.base <= addr && addr < end
            })
        })
    }

    fn insn(&self, addr: u64) -> Option<Instruction> {
        for (base, b) in &self.code {
            if *base <= addr && addr < base + b.len() as u64 {
                let off = (addr - base) as usize;
                let mut d = Decoder::with_ip(64, &b[off..], addr, DecoderOptions::NONE);
                let i = d.decode();
                return (!i.is_invalid()).then_some(i);
            }
        }
        None
    }

    /// Machine-block starts (and whether each can fall through at its end).
    fn block_ends(&self) -> HashMap<u64, bool> {
        let mut m = HashMap::new();
        for f in &self.funcs {
            for r in &f.ranges {
                for b in &r.blocks {
                    m.insert(r.base + u64::from(b.offset + b.size), b.metadata & 8 != 0);
                }
            }
        }
        m
    }

    /// The machine blocks of function `f`: `(start, end)`.
    fn blocks_of(f: &FuncMap) -> impl Iterator<Item = (u64, u64)> + '_ {
        f.ranges.iter().flat_map(|r| {
            r.blocks.iter().map(move |b| {
                let s = r.base + u64::from(b.offset);
                (s, s + u64::from(b.size))
            })
        })
    }

    /// The instructions of machine block `(s, e)`.
    fn block_insns(&self, (s, e): (u64, u64)) -> Vec<Instruction> {
        let mut out = vec![];
        let mut a = s;
        while let Some(i) = self.insn(a).filter(|_| a < e) {
            a = i.next_ip();
            out.push(i);
        }
        out
    }

    /// The 32-bit entries (relative to the table) of the jump table at `t`,
    /// as addresses: `n` of them, or without a bound as many as point to
    /// block starts of `starts`, up to `limit` (the next table). None if a
    /// bounded table has an entry that is not a block start.
    fn table_entries(
        &self,
        t: u64,
        n: Option<u64>,
        limit: u64,
        starts: &HashSet<u64>,
    ) -> Option<Vec<u64>> {
        let obj = object::File::parse(&*self.bytes).unwrap();
        let sec = obj
            .sections()
            .find(|x| x.address() <= t && t < x.address() + x.size())?;
        let d = sec.data().unwrap();
        let mut out = vec![];
        let mut a = t;
        while n.map_or(a < limit, |n| out.len() < n as usize) {
            let off = (a - sec.address()) as usize;
            let e = i32::from_le_bytes(d.get(off..off + 4)?.try_into().unwrap());
            let to = t.wrapping_add(e as i64 as u64);
            if !starts.contains(&to) {
                if n.is_some() {
                    return None;
                }
                break;
            }
            out.push(to);
            a += 4;
        }
        Some(out)
    }

    /// The `lea reg, [rip+table]` jump tables of function `f`: table address
    /// -> the block starts its 32-bit entries (relative to the table) point
    /// to, read up to the first entry that is not a block start of `f` or to
    /// the next address `f` takes (tables of one function are often
    /// adjacent).
    fn jump_tables(&self, f: &FuncMap) -> BTreeMap<u64, Vec<u64>> {
        let starts: HashSet<u64> = Self::blocks_of(f).map(|(s, _)| s).collect();
        let taken: BTreeSet<u64> = Self::blocks_of(f)
            .flat_map(|b| self.block_insns(b))
            .filter(|i| i.mnemonic() == Mnemonic::Lea && i.is_ip_rel_memory_operand())
            .map(|i| i.ip_rel_memory_address())
            .collect();
        taken
            .iter()
            .filter_map(|&t| {
                let limit = taken.range(t + 1..).next().copied().unwrap_or(u64::MAX);
                let v = self.table_entries(t, None, limit, &starts)?;
                (!v.is_empty()).then_some((t, v))
            })
            .collect()
    }

    /// All targets of all jump tables of `f`.
    fn jump_targets(&self, f: &FuncMap) -> BTreeSet<u64> {
        self.jump_tables(f).into_values().flatten().collect()
    }

    /// The targets of indirect jump `j` of function `f` if it is a jump-table
    /// dispatch as LLVM lowers a switch:
    ///
    /// ```text
    /// lea  base, [rip+table]      ; anywhere in f (often hoisted out of a loop)
    /// ...
    /// cmp  idx, n-1 ; ja default  ; the range check (absent if the range is known)
    /// movsxd r, dword ptr [base+idx*4]
    /// add  r, base
    /// jmp  r
    /// ```
    ///
    /// The table is the last `lea base` before `j` in its machine block, else
    /// the only jump table `f` loads into `base`. None when `j` is not of that
    /// form or its table is ambiguous: the walk cannot follow it.
    fn jump_table_targets(&self, f: &FuncMap, j: &Instruction) -> Option<BTreeSet<u64>> {
        if j.op0_kind() != OpKind::Register {
            return None;
        }
        let r = j.op0_register().full_register();
        let block = Self::blocks_of(f).find(|&(s, e)| s <= j.ip() && j.ip() < e)?;
        let insns: Vec<Instruction> = self
            .block_insns(block)
            .into_iter()
            .take_while(|i| i.ip() < j.ip())
            .collect();
        let reg = |i: &Instruction, k: u32| {
            (i.op_kind(k) == OpKind::Register).then(|| i.op_register(k).full_register())
        };
        // add r, base
        let k_add = insns.iter().rposition(|i| reg(i, 0) == Some(r))?;
        let add = &insns[k_add];
        let base = reg(add, 1).filter(|_| add.mnemonic() == Mnemonic::Add)?;
        // movsxd r, dword ptr [base+idx*4]
        let k_ld = insns[..k_add].iter().rposition(|i| reg(i, 0) == Some(r))?;
        let ld = &insns[k_ld];
        if ld.mnemonic() != Mnemonic::Movsxd
            || ld.op1_kind() != OpKind::Memory
            || ld.memory_base().full_register() != base
            || ld.memory_index_scale() != 4
            || ld.memory_displacement64() != 0
        {
            return None;
        }
        let idx = ld.memory_index().full_register();
        // cmp idx, n-1 ; ja default
        let n = insns[..k_ld].windows(2).rev().find_map(|w| {
            (w[0].mnemonic() == Mnemonic::Cmp
                && reg(&w[0], 0) == Some(idx)
                && matches!(
                    w[0].op1_kind(),
                    OpKind::Immediate8
                        | OpKind::Immediate8to32
                        | OpKind::Immediate8to64
                        | OpKind::Immediate32
                        | OpKind::Immediate32to64
                )
                && w[1].condition_code() == ConditionCode::a)
                .then(|| w[0].immediate(1) + 1)
        });
        let leas = |is: &[Instruction]| -> Vec<u64> {
            is.iter()
                .filter(|i| {
                    i.mnemonic() == Mnemonic::Lea
                        && i.is_ip_rel_memory_operand()
                        && reg(i, 0) == Some(base)
                })
                .map(Instruction::ip_rel_memory_address)
                .collect()
        };
        let tables = self.jump_tables(f);
        let t = match leas(&insns).last() {
            Some(&t) => t,
            None => {
                let all: BTreeSet<u64> = Self::blocks_of(f)
                    .flat_map(|b| leas(&self.block_insns(b)))
                    .filter(|t| tables.contains_key(t))
                    .collect();
                if all.len() != 1 {
                    return None;
                }
                *all.first()?
            }
        };
        let starts: HashSet<u64> = Self::blocks_of(f).map(|(s, _)| s).collect();
        let v = match n {
            Some(n) => self.table_entries(t, Some(n), u64::MAX, &starts)?,
            None => tables.get(&t)?.clone(),
        };
        Some(v.into_iter().collect())
    }
}

/// The single-file C tests.
fn c_test_names() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(tests_dir())
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "c").then(|| p.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    v.sort();
    v
}

#[test]
fn table_on_every_c_test() {
    let names = c_test_names();
    let built: Vec<Built> = std::thread::scope(|s| {
        let hs: Vec<_> = names
            .chunks(names.len().div_ceil(2))
            .map(|ch| {
                s.spawn(move || {
                    ch.iter()
                        .filter_map(|n| build(n, "table"))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert!(built.len() >= 20, "only {} tests built", built.len());
    let mut totals = [0usize; 6];
    for b in &built {
        if b.instrumented == 0 {
            // No control point: no hooks, nothing to map.
            let bytes = std::fs::read(&b.exe).unwrap();
            assert!(IrMap::from_elf(&bytes).is_err(), "{}", b.name);
            continue;
        }
        let bin = Bin::load(&b.exe);
        let checks = bin.map.checks();
        // Exactly the instrumented blocks of the embedded IR.
        let got: BTreeSet<(u32, u32)> = checks.iter().map(|c| (c.func, c.block)).collect();
        let want: BTreeSet<(u32, u32)> = bin
            .index
            .funcs
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                !f.is_decl
                    && !f.outline
                    && !f.name.starts_with("__yk")
                    && !f.name.starts_with("yk_")
                    && !f.name.starts_with("llvm.")
            })
            .flat_map(|(i, f)| (0..f.blocks.len() as u32).map(move |b| (i as u32, b)))
            .collect();
        assert_eq!(got, want, "{}: checks vs instrumented blocks", b.name);
        assert_eq!(got.len(), b.instrumented, "{}: yk-ld's count", b.name);
        // Each check is in the code of the function it names, or, for the
        // interpreter function, of its recording continuation (yk-ld's
        // `fast` module): the copy that runs a recording started at its
        // control point.
        for c in checks {
            let name = &bin.index.funcs[c.func as usize].name;
            let f = bin.func_of(c.addr).expect("check outside the map");
            let resume = format!("{name}.__yk_resume");
            assert!(
                bin.syms.get(name) == Some(&f.addr) || bin.syms.get(&resume) == Some(&f.addr),
                "{}: check {c:x?} is not in {name}",
                b.name
            );
        }
        // Machine paths between checks are IR edges.
        let (edges, unknown) = check_edges(&bin, &b.name);
        let dup = checks.len() - got.len();
        println!(
            "{}: {} instrumented blocks, {} checks ({dup} tail-duplicated copies), {} value checks, {} pausing functions, {edges} check-to-check edges verified, {unknown} checks followed by code the walk cannot follow",
            b.name,
            got.len(),
            checks.len(),
            bin.map.value_checks().len(),
            bin.map.pausing_functions().len(),
        );
        for (t, v) in totals.iter_mut().zip([
            1,
            got.len(),
            dup,
            bin.map.pausing_functions().len(),
            edges,
            unknown,
        ]) {
            *t += v;
        }
    }
    println!("totals [binaries, IR blocks, duplicated checks, pausing fns, edges, unfollowed]: {totals:?}");
}

/// From every check, walks the machine code (flag clear) to the next checks
/// of the same function: direct branches, fall-through, jump tables; calls
/// are stepped over. Asserts that each (check -> next check) pair is an edge
/// of the embedded IR. Returns the number of distinct edges verified and of
/// checks whose walk met a return-less exit it could not follow (an indirect
/// jump without a known table, a tail call).
fn check_edges(bin: &Bin, name: &str) -> (usize, usize) {
    let ends = bin.block_ends();
    let mut seen = HashSet::new();
    let mut unknown = 0;
    let mut tables: HashMap<u64, Option<BTreeSet<u64>>> = HashMap::new();
    for c in bin.map.checks() {
        let f = bin.func_of(c.addr).unwrap();
        let j = bin.insn(c.addr).unwrap();
        let first = if c.taken_when_clear {
            j.near_branch_target()
        } else {
            j.next_ip()
        };
        let mut work = vec![first];
        let mut visited = HashSet::new();
        let mut lost = false;
        while let Some(mut a) = work.pop() {
            loop {
                if !visited.insert(a) {
                    break;
                }
                if let Some(n) = bin.map.check_at(a) {
                    let (fi, bi) = (n.func, n.block);
                    assert_eq!(
                        fi, c.func,
                        "{name}: {c:x?} reaches another function's check"
                    );
                    let succs = &bin.index.funcs[c.func as usize].blocks[c.block as usize].succs;
                    assert!(
                        succs.contains(&bi),
                        "{name}: machine path from {c:x?} to {n:x?}, not an IR edge (succs {succs:?})"
                    );
                    seen.insert((c.func, c.block, bi));
                    break;
                }
                let Some(i) = bin.insn(a) else {
                    lost = true;
                    break;
                };
                let next = i.next_ip();
                match i.flow_control() {
                    FlowControl::Next | FlowControl::Call | FlowControl::IndirectCall => {
                        if ends.get(&next) == Some(&false) {
                            break; // e.g. a noreturn call ends the block
                        }
                        a = next;
                    }
                    FlowControl::ConditionalBranch => {
                        work.push(i.near_branch_target());
                        a = next;
                    }
                    FlowControl::UnconditionalBranch => {
                        let t = i.near_branch_target();
                        if bin.func_of(t).map(|g| g.addr) != Some(f.addr) {
                            lost = true; // a tail call
                            break;
                        }
                        a = t;
                    }
                    FlowControl::IndirectBranch => {
                        // Only the targets of this jump's own table: a
                        // function may have several (e.g. two switches).
                        let t = tables
                            .entry(i.ip())
                            .or_insert_with(|| bin.jump_table_targets(f, &i));
                        match t {
                            Some(t) => work.extend(t.iter().copied()),
                            None => lost = true,
                        }
                        break;
                    }
                    FlowControl::Return | FlowControl::Interrupt | FlowControl::Exception => break,
                    _ => {
                        lost = true;
                        break;
                    }
                }
            }
        }
        unknown += usize::from(lost);
    }
    (seen.len(), unknown)
}

// ---------------------------------------------------------------------------
// The round trip.

/// Where code outside the binary (shared libraries, the runtime) is
/// pretended to be: a `ret`.
const LIB: u64 = 0x7f00_0000_0000;
/// The runtime's end of a recording: the ioctl that disables tracing.
const LIB_END: u64 = LIB + 0x10;

/// Code regions for the decoder: the binary's executable segments and the
/// stub library.
struct Regions(Vec<(u64, Vec<u8>)>);

impl CodeReader for Regions {
    fn read_code(&mut self, addr: u64, buf: &mut [u8]) -> usize {
        for (base, b) in &self.0 {
            if *base <= addr && addr < base + b.len() as u64 {
                let off = (addr - base) as usize;
                let n = (b.len() - off).min(buf.len());
                buf[..n].copy_from_slice(&b[off..off + n]);
                return n;
            }
        }
        0
    }
}

fn lib_code() -> (u64, Vec<u8>) {
    let mut b = vec![0xcc; 0x20];
    b[0] = 0xc3; // ret
                 // mov eax, 16; syscall
    b[0x10..0x17].copy_from_slice(&[0xb8, 0x10, 0, 0, 0, 0x0f, 0x05]);
    (LIB, b)
}

/// What the PT unit reports along a path.
#[derive(Clone, Copy, Debug)]
enum Ev {
    Tnt(bool),
    Tip(u64),
}

/// A deterministic PRNG for packet-stream variety.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pct(&mut self, p: u64) -> bool {
        self.next() % 100 < p
    }
}

/// The search state of the path synthesis.
struct Walker<'a> {
    bin: &'a Bin,
    /// Function index -> entry address.
    entries: HashMap<u32, u64>,
    /// Call targets that are the control point (PLT stub or definition).
    cp_stubs: HashSet<u64>,
    /// Indirect jump address -> its candidate targets: its jump table's,
    /// else those of all tables of its function.
    jt: HashMap<u64, Vec<u64>>,
    budget: usize,
}

/// The path state: address, shadow stack, depth at which a pausing function
/// was entered.
#[derive(Clone)]
struct St {
    ip: u64,
    stack: Vec<u64>,
    paused_at: Option<usize>,
}

impl Walker<'_> {
    /// Extends `evs` with a path from `st` to the next check of `target`
    /// (`None`: to a call of the control point), passing no other check
    /// outside pausing calls. `skip_first`: `st.ip` is the previous check,
    /// to be passed with the flag clear.
    fn seg(
        &mut self,
        mut st: St,
        target: Option<(u32, u32)>,
        mut skip_first: bool,
        evs: &mut Vec<Ev>,
        visited: &mut HashSet<(u64, usize, u64)>,
    ) -> Option<St> {
        loop {
            if self.budget == 0 {
                return None;
            }
            self.budget -= 1;
            if st.paused_at.is_some_and(|d| st.stack.len() < d) {
                st.paused_at = None;
            }
            let check = self.bin.map.check_at(st.ip).copied();
            if let (Some(c), false, None) = (check, skip_first, st.paused_at) {
                return (target == Some((c.func, c.block))).then_some(st);
            }
            skip_first = false;
            if st.ip == LIB {
                let r = st.stack.pop()?;
                evs.push(Ev::Tip(r));
                st.ip = r;
                continue;
            }
            let i = self.bin.insn(st.ip)?;
            let next = i.next_ip();
            match i.flow_control() {
                FlowControl::Next => st.ip = next,
                FlowControl::ConditionalBranch => {
                    let forced = if let Some(c) = check {
                        Some(c.taken_when_clear)
                    } else {
                        // Value hooks record (the value bit is set).
                        self.bin
                            .map
                            .value_checks()
                            .iter()
                            .find(|v| v.addr == st.ip)
                            .map(|v| !v.taken_when_clear)
                    };
                    let key = (st.ip, st.stack.len(), st.stack.last().copied().unwrap_or(0));
                    if forced.is_none() && !visited.insert(key) {
                        return None;
                    }
                    let opts: Vec<bool> = match forced {
                        Some(t) => vec![t],
                        None => vec![false, true],
                    };
                    for t in opts {
                        let mut s2 = st.clone();
                        s2.ip = if t { i.near_branch_target() } else { next };
                        let n = evs.len();
                        evs.push(Ev::Tnt(t));
                        if let Some(r) = self.seg(s2, target, false, evs, visited) {
                            return Some(r);
                        }
                        evs.truncate(n);
                    }
                    return None;
                }
                FlowControl::UnconditionalBranch => st.ip = i.near_branch_target(),
                FlowControl::Call => {
                    let t = i.near_branch_target();
                    if target.is_none() && self.cp_stubs.contains(&t) {
                        // The control point: the runtime stops tracing.
                        evs.push(Ev::Tip(LIB_END));
                        return Some(st);
                    }
                    st.stack.push(next);
                    if st.paused_at.is_none() && self.bin.map.pausing_functions().contains(&t) {
                        st.paused_at = Some(st.stack.len());
                    }
                    st.ip = t;
                }
                FlowControl::IndirectBranch | FlowControl::IndirectCall => {
                    let call = i.flow_control() == FlowControl::IndirectCall;
                    let mut cands = vec![];
                    if call {
                        if let Some(&e) = target
                            .filter(|t| t.1 == 0)
                            .and_then(|t| self.entries.get(&t.0))
                        {
                            cands.push(e);
                        }
                        cands.push(LIB);
                    } else if i.is_ip_rel_memory_operand() {
                        // A PLT stub's jump through the GOT: a library.
                        cands.push(LIB);
                    } else if let Some(f) = self.bin.func_of(st.ip) {
                        let bin = self.bin;
                        cands.extend(
                            self.jt
                                .entry(st.ip)
                                .or_insert_with(|| {
                                    bin.jump_table_targets(f, &i)
                                        .unwrap_or_else(|| bin.jump_targets(f))
                                        .into_iter()
                                        .collect()
                                })
                                .iter(),
                        );
                    }
                    let key = (st.ip, st.stack.len(), st.stack.last().copied().unwrap_or(0));
                    if !visited.insert(key) {
                        return None;
                    }
                    for c in cands {
                        let mut s2 = st.clone();
                        if call {
                            s2.stack.push(next);
                        }
                        s2.ip = c;
                        let n = evs.len();
                        evs.push(Ev::Tip(c));
                        if let Some(r) = self.seg(s2, target, false, evs, visited) {
                            return Some(r);
                        }
                        evs.truncate(n);
                    }
                    return None;
                }
                FlowControl::Return => {
                    let r = st.stack.pop()?;
                    evs.push(Ev::Tip(r));
                    st.ip = r;
                }
                _ => return None,
            }
        }
    }
}

/// The PT packets of a path that starts in the runtime (at `LIB`, returning
/// into the interpreter) and ends in it (the disabling syscall at `LIB_END`).
fn packets(evs: &[Ev], rng: &mut Rng) -> Vec<u8> {
    let mut e = Encoder::new();
    e.psb_plus(None);
    e.ip_short(IpKind::TipPge, LIB);
    let mut pending: Vec<bool> = vec![];
    let mut cap = 6;
    let flush = |e: &mut Encoder, pending: &mut Vec<bool>, rng: &mut Rng| {
        if pending.is_empty() {
            return;
        }
        if pending.len() <= 6 && rng.pct(60) {
            e.tnt(pending);
        } else {
            e.tnt_long(pending);
        }
        pending.clear();
    };
    for ev in evs {
        match *ev {
            Ev::Tnt(t) => {
                pending.push(t);
                if pending.len() >= cap {
                    flush(&mut e, &mut pending, rng);
                    cap = 1 + (rng.next() % 47) as usize;
                }
            }
            Ev::Tip(ip) => {
                flush(&mut e, &mut pending, rng);
                if rng.pct(3) {
                    // A periodic PSB+ (tracing on: its FUP is not a branch).
                    e.psb_plus(Some(ip));
                }
                let forms = e.ip_forms(ip);
                let c = forms[(rng.next() % forms.len() as u64) as usize];
                e.ip(IpKind::Tip, ip, c);
            }
        }
    }
    flush(&mut e, &mut pending, rng);
    e.ip(IpKind::TipPgd, 0, hwt::packet::IpCompression::Suppressed);
    e.buf
}

/// A recording `YKD_LOG_IR=trace-blocks` printed: its blocks, `(function
/// name, block)`, and whether it was truncated at the length limit (it then
/// ends in the middle of the path, not at a control point).
struct Rec {
    blocks: Vec<(String, u32)>,
    truncated: bool,
}

/// The recordings `YKD_LOG_IR=trace-blocks` printed.
fn recordings(log: &str) -> Vec<Rec> {
    let mut out = vec![];
    let mut cur: Option<Rec> = None;
    for l in log.lines() {
        if l.contains("Begin trace-blocks") {
            cur = Some(Rec {
                blocks: vec![],
                truncated: false,
            });
        } else if l.contains("End trace-blocks") {
            out.extend(cur.take());
        } else if let Some(c) = cur.as_mut() {
            if let Some(rest) = l.strip_prefix("yk-trace-block: ") {
                let (n, b) = rest.rsplit_once(' ').unwrap();
                c.blocks.push((n.to_owned(), b.parse().unwrap()));
            } else if l == "yk-trace-truncated" {
                c.truncated = true;
            }
        }
    }
    out
}

/// Round-trips every recording of C test `name`; returns how many
/// recordings and blocks, or None for a test that records nothing.
fn round_trip_one(name: &str) -> Option<(usize, usize)> {
    let b = build(name, "round_trip")?;
    if b.instrumented == 0 {
        return None;
    }
    let bin = Bin::load(&b.exe);
    let log = b.exe.with_extension("blocks");
    let _ = std::fs::remove_file(&log);
    // Some tests exit with an error on purpose: only the recordings they
    // logged matter here.
    Command::new(&b.exe)
        .envs(b.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("YKD_LOG_IR", format!("{}:trace-blocks", log.display()))
        .env("YKD_SERIALISE_COMPILATION", "1")
        .env("YK_COMPILE_BUDGET", "0")
        .output()
        .unwrap();
    let recs = recordings(&std::fs::read_to_string(&log).unwrap_or_default());
    if recs.is_empty() {
        return None;
    }

    // Checks, entries and control-point call sites.
    let mut entries = HashMap::new();
    for c in bin.map.checks() {
        if let Some(f) = bin.func_of(c.addr) {
            entries.insert(c.func, f.addr);
        }
    }
    let mut cp_stubs = HashSet::new();
    let mut cp_returns = vec![];
    for f in &bin.funcs {
        for r in &f.ranges {
            for bb in &r.blocks {
                let mut a = r.base + u64::from(bb.offset);
                let end = a + u64::from(bb.size);
                while a < end {
                    let i = bin.insn(a).unwrap();
                    if i.flow_control() == FlowControl::Call && i.op0_kind() == OpKind::NearBranch64
                    {
                        let t = i.near_branch_target();
                        if callee_is(&bin, t, "__ykrt_control_point") {
                            cp_stubs.insert(t);
                            cp_returns.push(i.next_ip());
                        }
                    }
                    a = i.next_ip();
                }
            }
        }
    }
    assert!(!cp_returns.is_empty());
    let mut regions = Regions(bin.code.clone());
    regions.0.push(lib_code());
    let mut dec = FlowDecoder::new(regions);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut w = Walker {
        bin: &bin,
        entries,
        cp_stubs,
        jt: HashMap::new(),
        budget: 0,
    };
    let mut n = 0;
    for rec in &recs {
        if rec.truncated {
            // It ends in the middle of the path, where PT would not stop
            // (a PT recording is aborted at the length limit, never
            // truncated: `MT::stop_tracing`).
            continue;
        }
        let want: Vec<(u32, u32)> = rec
            .blocks
            .iter()
            .map(|(f, bb)| (bin.index.func_idx(f).unwrap(), *bb))
            .collect();
        // The path: from a return out of the control point to the first
        // recorded block, then check to check, then to a control point call.
        let mut path = None;
        for &r in &cp_returns {
            let mut evs = vec![Ev::Tip(r)];
            w.budget = 1 << 20;
            let s = St {
                ip: r,
                stack: vec![],
                paused_at: None,
            };
            if let Some(s) = w.seg(s, Some(want[0]), false, &mut evs, &mut HashSet::new()) {
                path = Some((s, evs));
                break;
            }
        }
        let (mut s, mut evs) = path.unwrap_or_else(|| panic!("{name}: no path to {:?}", want[0]));
        let targets: Vec<Option<(u32, u32)>> =
            want[1..].iter().copied().map(Some).chain([None]).collect();
        for (k, t) in targets.into_iter().enumerate() {
            w.budget = 1 << 20;
            s = w
                .seg(s, t, true, &mut evs, &mut HashSet::new())
                .unwrap_or_else(|| panic!("{name}: no machine path for recorded block {k} {t:?}"));
        }
        let pt = packets(&evs, &mut rng);
        let blocks = dec
            .decode(&pt)
            .unwrap_or_else(|e| panic!("{name}: decoding: {e}"));
        let got = bin.map.map_blocks(&blocks, 0);
        assert_eq!(got, want, "{name}: mapped PT path vs swt recording");
        n += want.len();
    }
    println!(
        "{name}: {} recordings, {n} blocks round-tripped",
        recs.len()
    );
    Some((recs.len(), n))
}

fn callee_is(bin: &Bin, t: u64, name: &str) -> bool {
    if bin.syms.get(name) == Some(&t) {
        return true;
    }
    // A PLT stub: compare its GOT slot's relocation.
    let obj = object::File::parse(&*bin.bytes).unwrap();
    let Some(mut i) = bin.insn(t) else {
        return false;
    };
    if i.code() == iced_x86::Code::Endbr64 {
        i = bin.insn(i.next_ip()).unwrap();
    }
    if !(i.mnemonic() == Mnemonic::Jmp && i.is_ip_rel_memory_operand()) {
        return false;
    }
    let slot = i.ip_rel_memory_address();
    let dynsyms: Vec<_> = obj.dynamic_symbols().collect();
    obj.dynamic_relocations()
        .into_iter()
        .flatten()
        .any(|(off, r)| {
            off == slot
                && matches!(r.target(), object::RelocationTarget::Symbol(si)
                if dynsyms.iter().any(|s| s.index() == si && s.name() == Ok(name)))
        })
}

#[test]
fn round_trip() {
    let (mut total, mut recs) = (0, 0);
    for t in c_test_names() {
        if let Some((r, n)) = round_trip_one(&t) {
            recs += r;
            total += n;
        }
    }
    println!("round trip: {recs} recordings, {total} blocks");
    assert!(recs >= 20, "too few recordings");
}
