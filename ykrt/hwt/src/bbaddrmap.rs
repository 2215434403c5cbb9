//! Mapping code addresses to LLVM machine basic blocks with the
//! `.llvm_bb_addr_map` section.
//!
//! The section is emitted by `clang -fbasic-block-address-map`, or under LTO by
//! `-Wl,--lto-basic-block-address-map` (which our link driver passes). It is
//! not loaded into memory, so it is read from the ELF file. Format (version 5,
//! LLVM 22; checked against `llvm-readobj-22 --bb-addr-map` by the tests), one
//! entry per function:
//!
//! ```text
//! u8 version (5), u16 features
//! [ULEB number of ranges]                  if features.MultiBBRange
//! per range: u64 base address, ULEB number of blocks, then per block:
//!   ULEB id, ULEB offset (from the previous block's end, or the range base),
//!   [ULEB n, n x ULEB call-site end offset deltas]  if CallsiteEndOffsets
//!   ULEB size (from the last call-site end, or the block start),
//!   ULEB metadata,
//!   [u64 hash]                             if BBHash
//! PGO data (function entry count; per block frequency and successor
//! probabilities) if the PGO features are set.
//! ```
//!
//! # What is and is not mapped
//!
//! A lookup yields (function address, machine block id). Machine block ids are
//! *not* the block indices of the embedded IR: ids `0..N-1` are the blocks of
//! the *instrumented* module as instruction selection sees them (after
//! CodeGenPrepare, and with about three blocks per embedded-IR block from the
//! inlined swt hook), and blocks that codegen adds (switch lowering, etc.) get
//! ids `>= N`. So ids are machine-block ids only; the translation to
//! embedded-IR blocks is [crate::irmap]'s, which uses this section for the
//! functions' exact block (and so instruction) boundaries and reads the swt
//! hooks' arguments from the code. Code outside the map (libraries,
//! functions built without the map, padding) maps to [TraceItem::Unmappable].

use crate::flow::Block;
use anyhow::{bail, Context, Result};
use gimli::{EndianSlice, LittleEndian, Reader};
use object::{Object, ObjectSection};

/// The supported format version.
pub const VERSION: u8 = 5;

const F_FUNC_ENTRY_COUNT: u16 = 1 << 0;
const F_BB_FREQ: u16 = 1 << 1;
const F_BR_PROB: u16 = 1 << 2;
const F_MULTI_BB_RANGE: u16 = 1 << 3;
const F_OMIT_BB_ENTRIES: u16 = 1 << 4;
const F_CALLSITE_END_OFFSETS: u16 = 1 << 5;
const F_BB_HASH: u16 = 1 << 6;
const F_POST_LINK_CFG: u16 = 1 << 7;

/// One machine basic block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BbEntry {
    /// The machine block id.
    pub id: u32,
    /// Start, relative to the range's base address.
    pub offset: u32,
    /// Size in bytes.
    pub size: u32,
    /// Metadata bits (1: has return, 2: has tail call, 4: EH pad, 8: can fall
    /// through, 16: has indirect branch).
    pub metadata: u32,
    /// Ends of call instructions, relative to the block start.
    pub callsite_ends: Vec<u32>,
}

/// A contiguous range of a function's blocks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BbRange {
    /// Link-time address of the range.
    pub base: u64,
    /// Its blocks in address order.
    pub blocks: Vec<BbEntry>,
}

/// The blocks of one function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuncMap {
    /// Link-time address of the function (the first range's base).
    pub addr: u64,
    /// Its ranges (one unless built with basic-block sections).
    pub ranges: Vec<BbRange>,
}

fn uleb(r: &mut EndianSlice<LittleEndian>) -> Result<u64> {
    Ok(r.read_uleb128()?)
}

fn uleb32(r: &mut EndianSlice<LittleEndian>, what: &str) -> Result<u32> {
    let v = uleb(r)?;
    u32::try_from(v).with_context(|| format!("{what} {v:#x} does not fit 32 bits"))
}

/// Parse a whole `.llvm_bb_addr_map` section of a linked (non-relocatable)
/// file.
pub fn parse_section(data: &[u8]) -> Result<Vec<FuncMap>> {
    let mut r = EndianSlice::new(data, LittleEndian);
    let mut funcs = Vec::new();
    while !r.is_empty() {
        let at = data.len() - r.len();
        let f = parse_func(&mut r)
            .with_context(|| format!("malformed .llvm_bb_addr_map entry at offset {at:#x}"))?;
        funcs.push(f);
    }
    Ok(funcs)
}

fn parse_func(r: &mut EndianSlice<LittleEndian>) -> Result<FuncMap> {
    let version = r.read_u8()?;
    if version != VERSION {
        bail!("version {version} (only version {VERSION}, as LLVM 22 emits, is supported)");
    }
    let features = r.read_u16()?;
    if features & !0xff != 0 {
        bail!("unknown feature bits {features:#x}");
    }
    if features & F_OMIT_BB_ENTRIES != 0 {
        bail!("the OmitBBEntries feature is set: the map has no block entries");
    }
    if features & F_POST_LINK_CFG != 0 {
        bail!("the PostLinkCfg feature is not supported");
    }
    let nranges = if features & F_MULTI_BB_RANGE != 0 {
        uleb(r)?
    } else {
        1
    };
    let mut ranges = Vec::new();
    let mut nblocks_total = 0usize;
    for _ in 0..nranges {
        let base = r.read_u64()?;
        let n = uleb(r)?;
        let mut blocks = Vec::new();
        let mut prev_end = 0u32;
        for _ in 0..n {
            let id = uleb32(r, "block id")?;
            let offset = prev_end
                .checked_add(uleb32(r, "block offset")?)
                .context("block offset overflows")?;
            let mut callsite_ends = Vec::new();
            let mut last = 0u32;
            if features & F_CALLSITE_END_OFFSETS != 0 {
                let ncs = uleb(r)?;
                for _ in 0..ncs {
                    last = last
                        .checked_add(uleb32(r, "call-site offset")?)
                        .context("call-site offset overflows")?;
                    callsite_ends.push(last);
                }
            }
            let size = last
                .checked_add(uleb32(r, "block size")?)
                .context("block size overflows")?;
            let metadata = uleb32(r, "block metadata")?;
            if metadata & !0x1f != 0 {
                bail!("block {id}: unknown metadata bits {metadata:#x}");
            }
            if features & F_BB_HASH != 0 {
                r.read_u64()?;
            }
            prev_end = offset.checked_add(size).context("block end overflows")?;
            blocks.push(BbEntry {
                id,
                offset,
                size,
                metadata,
                callsite_ends,
            });
        }
        nblocks_total += blocks.len();
        ranges.push(BbRange { base, blocks });
    }
    // PGO analysis data carries nothing the mapping needs; skip it exactly.
    if features & F_FUNC_ENTRY_COUNT != 0 {
        uleb(r)?;
    }
    if features & (F_BB_FREQ | F_BR_PROB) != 0 {
        for _ in 0..nblocks_total {
            if features & F_BB_FREQ != 0 {
                uleb(r)?;
            }
            if features & F_BR_PROB != 0 {
                let nsucc = uleb(r)?;
                for _ in 0..nsucc {
                    uleb(r)?;
                    uleb(r)?;
                }
            }
        }
    }
    let addr = ranges.first().map(|r| r.base).context("no ranges")?;
    Ok(FuncMap { addr, ranges })
}

/// A machine block found by address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MachineBlock {
    /// Link-time address of the function.
    pub func: u64,
    /// Machine block id within it.
    pub id: u32,
}

/// One element of a mapped trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TraceItem {
    /// Execution entered this machine block at its start.
    Block(MachineBlock),
    /// Code the map does not describe (consecutive runs are merged).
    Unmappable,
}

/// Address -> machine block lookup over all functions of a binary.
pub struct BlockMap {
    /// `(start, end, block)`, sorted by start, non-overlapping.
    index: Vec<(u64, u64, MachineBlock)>,
    funcs: Vec<FuncMap>,
}

impl BlockMap {
    /// Build the lookup from parsed entries.
    pub fn new(funcs: Vec<FuncMap>) -> Result<Self> {
        let mut index = Vec::new();
        for f in &funcs {
            for r in &f.ranges {
                for b in &r.blocks {
                    let start = r.base + u64::from(b.offset);
                    let end = start + u64::from(b.size);
                    if end > start {
                        index.push((
                            start,
                            end,
                            MachineBlock {
                                func: f.addr,
                                id: b.id,
                            },
                        ));
                    }
                }
            }
        }
        index.sort_unstable_by_key(|e| e.0);
        for w in index.windows(2) {
            if w[0].1 > w[1].0 {
                bail!(
                    "blocks overlap: {:#x}..{:#x} and {:#x}..{:#x}",
                    w[0].0,
                    w[0].1,
                    w[1].0,
                    w[1].1
                );
            }
        }
        Ok(BlockMap { index, funcs })
    }

    /// Read the map from an ELF file's bytes.
    pub fn from_elf(bytes: &[u8]) -> Result<Self> {
        let obj = object::File::parse(bytes).context("parsing the ELF file")?;
        if obj.kind() == object::ObjectKind::Relocatable {
            bail!("a relocatable object's .llvm_bb_addr_map needs relocating; use a linked binary");
        }
        let sec = obj
            .section_by_name(".llvm_bb_addr_map")
            .context("the binary has no .llvm_bb_addr_map section (was it linked with --lto-basic-block-address-map?)")?;
        let data = sec.data().context("reading .llvm_bb_addr_map")?;
        Self::new(parse_section(data)?)
    }

    /// The parsed functions.
    pub fn funcs(&self) -> &[FuncMap] {
        &self.funcs
    }

    /// Index of the block containing `addr`, if any.
    fn find(&self, addr: u64) -> Option<usize> {
        let i = self.index.partition_point(|e| e.0 <= addr).checked_sub(1)?;
        (addr < self.index[i].1).then_some(i)
    }

    /// The machine block containing link-time address `addr`.
    pub fn lookup(&self, addr: u64) -> Option<MachineBlock> {
        self.find(addr).map(|i| self.index[i].2)
    }

    /// Map decoded blocks (run-time addresses; `bias` is the binary's load
    /// bias) to the machine blocks they entered.
    ///
    /// A decoded block covers one or more machine blocks (fall-through does
    /// not end a decoded block). A machine block is emitted when execution
    /// reaches its start; a decoded block that starts inside a machine block
    /// (the return site after a call) continues that block and emits nothing
    /// for it. Unmappable code becomes one [TraceItem::Unmappable] per run.
    pub fn map_blocks(&self, blocks: &[Block], bias: u64) -> Vec<TraceItem> {
        let mut out = Vec::new();
        let unmappable = |out: &mut Vec<TraceItem>| {
            if out.last() != Some(&TraceItem::Unmappable) {
                out.push(TraceItem::Unmappable);
            }
        };
        for b in blocks {
            let start = b.start.wrapping_sub(bias);
            let end = b.end.wrapping_sub(bias);
            let mut i = match self.find(start) {
                Some(i) => {
                    if self.index[i].0 == start {
                        out.push(TraceItem::Block(self.index[i].2));
                    }
                    i + 1
                }
                None => {
                    unmappable(&mut out);
                    self.index.partition_point(|e| e.0 <= start)
                }
            };
            // Machine blocks reached by falling through.
            while i < self.index.len() && self.index[i].0 < end {
                out.push(TraceItem::Block(self.index[i].2));
                i += 1;
            }
        }
        out
    }
}

/// The load bias of the main executable in this process (0 for a non-PIE).
pub fn main_exe_load_bias() -> u64 {
    unsafe extern "C" fn first(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        data: *mut libc::c_void,
    ) -> libc::c_int {
        // SAFETY: called by dl_iterate_phdr with a valid info; data is our u64.
        unsafe { *data.cast::<u64>() = (*info).dlpi_addr };
        1 // The main program is reported first: stop.
    }
    let mut bias = 0u64;
    // SAFETY: the callback writes only to `bias`.
    unsafe { libc::dl_iterate_phdr(Some(first), (&mut bias as *mut u64).cast()) };
    bias
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(bytes: &mut Vec<u8>, features: u16, base: u64, blocks: &[(u8, u8, u8)]) {
        bytes.push(VERSION);
        bytes.extend(features.to_le_bytes());
        bytes.extend(base.to_le_bytes());
        bytes.push(blocks.len() as u8);
        for &(id, off, size) in blocks {
            bytes.extend([id, off, size, 8]);
        }
    }

    fn two_funcs() -> BlockMap {
        let mut s = vec![];
        // f at 0x1000: bb0 0x1000..0x1008, bb1 0x1008..0x1010, bb3 0x1014..0x1020.
        entry(&mut s, 0, 0x1000, &[(0, 0, 8), (1, 0, 8), (3, 4, 12)]);
        // g at 0x2000: bb0 0x2000..0x2010.
        entry(&mut s, 0, 0x2000, &[(0, 0, 16)]);
        BlockMap::new(parse_section(&s).unwrap()).unwrap()
    }

    #[test]
    fn lookup() {
        let m = two_funcs();
        let mb = |func, id| Some(MachineBlock { func, id });
        assert_eq!(m.lookup(0x1000), mb(0x1000, 0));
        assert_eq!(m.lookup(0x1007), mb(0x1000, 0));
        assert_eq!(m.lookup(0x1008), mb(0x1000, 1));
        assert_eq!(m.lookup(0x1010), None, "alignment padding");
        assert_eq!(m.lookup(0x1014), mb(0x1000, 3));
        assert_eq!(m.lookup(0x1020), None);
        assert_eq!(m.lookup(0x200f), mb(0x2000, 0));
        assert_eq!(m.lookup(0xfff), None);
    }

    #[test]
    fn mapping_decoded_blocks() {
        let m = two_funcs();
        let b = |start, end| Block { start, end };
        let mb = |func, id| TraceItem::Block(MachineBlock { func, id });
        let bias = 0x5555_0000_0000;
        let trace = [
            // Enter f, fall through bb0 into bb1 and call g from bb1.
            b(0x1000, 0x100c),
            b(0x2000, 0x2010),
            // Return into the middle of bb1: a continuation.
            b(0x100c, 0x1010),
            // Call into a library twice, then jump to bb3.
            b(0x9000, 0x9010),
            b(0x9100, 0x9110),
            b(0x1014, 0x1020),
        ]
        .map(|x| Block {
            start: x.start + bias,
            end: x.end + bias,
        });
        assert_eq!(
            m.map_blocks(&trace, bias),
            [
                mb(0x1000, 0),
                mb(0x1000, 1),
                mb(0x2000, 0),
                TraceItem::Unmappable,
                mb(0x1000, 3)
            ]
        );
    }

    #[test]
    fn malformed_sections_are_errors() {
        let mut s = vec![];
        entry(&mut s, 0, 0x1000, &[(0, 0, 8)]);
        // Wrong version.
        let mut v4 = s.clone();
        v4[0] = 4;
        let e = parse_section(&v4).unwrap_err();
        assert!(format!("{e:#}").contains("version 4"), "{e:#}");
        // Truncated.
        assert!(parse_section(&s[..s.len() - 1]).is_err());
        // Unsupported features.
        let mut omit = s.clone();
        omit[1] = F_OMIT_BB_ENTRIES as u8;
        assert!(parse_section(&omit).is_err());
        // Overlapping blocks.
        let mut o = vec![];
        entry(&mut o, 0, 0x1000, &[(0, 0, 8)]);
        entry(&mut o, 0, 0x1004, &[(0, 0, 8)]);
        assert!(BlockMap::new(parse_section(&o).unwrap()).is_err());
    }

    #[test]
    fn load_bias_is_page_aligned() {
        assert_eq!(main_exe_load_bias() % 4096, 0);
    }
}
