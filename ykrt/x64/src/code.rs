//! The executable mapping a compiled trace lives in.
//!
//! Owns [`Code`]. Invariants: the bytes are written into an anonymous
//! read-write mapping which is then made read+execute (never writable and
//! executable at once); the mapping lives as long as the `Code` (dropping it
//! unmaps the code: the caller must make sure nothing runs it any more).

use crate::Error;

/// Machine code in an executable mapping of its own.
pub struct Code {
    map: memmap2::Mmap,
    len: usize,
    offsets: Vec<u32>,
}

impl Code {
    /// Maps `bytes` executable; `offsets` are the body instructions' code
    /// offsets (see [`Code::offsets`]).
    pub(crate) fn new(bytes: &[u8], offsets: Vec<u32>) -> Result<Code, Error> {
        let mut m = memmap2::MmapMut::map_anon(bytes.len().max(1))
            .map_err(|e| Error::Map(e.to_string()))?;
        m[..bytes.len()].copy_from_slice(bytes);
        let map = m.make_exec().map_err(|e| Error::Map(e.to_string()))?;
        Ok(Code {
            map,
            len: bytes.len(),
            offsets,
        })
    }

    /// The function's address (its first byte).
    pub fn entry(&self) -> usize {
        self.map.as_ptr() as usize
    }

    /// Bytes of code.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there is no code (never, for a compiled trace).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The code's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.map[..self.len]
    }

    /// Per body instruction, the offset from [`Code::entry`] of its first
    /// byte of code (an instruction that emits no code: the next one's), for
    /// line tables. Empty for a [`crate::side_entry`] stub.
    pub fn offsets(&self) -> &[u32] {
        &self.offsets
    }
}
