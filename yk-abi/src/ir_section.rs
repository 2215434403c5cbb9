//! The format of the `yk_ir` section (docs/abi.md): a 16-byte header, then the bitcode.
//!
//! | bytes  | field                                                        |
//! |--------|--------------------------------------------------------------|
//! | 0..4   | magic `YKIR`                                                 |
//! | 4..8   | format version ([`FORMAT_VERSION`]), little-endian `u32`     |
//! | 8..12  | length of the bitcode in bytes, little-endian `u32`          |
//! | 12..16 | CRC-32 (IEEE, as zlib's) of the bitcode, little-endian `u32` |
//! | 16..   | the bitcode                                                  |
//!
//! yk-ld writes it ([`wrap`]); the runtime checks it once, before any tracing
//! ([`unwrap`]): a section damaged on disk (bytes overwritten, cut short) or written by
//! another version of yk-ld is found before LLVM reads a byte of it, and the program then
//! runs without a JIT. This crate has no dependencies, so both sides pass the CRC-32
//! function ([`Crc32`]; both use the `crc32fast` crate's).

use std::fmt;

/// The name of the section holding the embedded module.
pub const SECTION: &str = "yk_ir";
/// The section's first four bytes.
pub const MAGIC: [u8; 4] = *b"YKIR";
/// The layout of the header and of what follows it.
pub const FORMAT_VERSION: u32 = 1;
/// The header's size; the bitcode starts here.
pub const HEADER_LEN: usize = 16;

/// CRC-32 (IEEE, as zlib's) of a byte string.
pub type Crc32 = fn(&[u8]) -> u32;

/// Why a `yk_ir` section can't be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SectionError {
    /// Shorter than the header.
    TooShort {
        /// The section's length.
        len: usize,
    },
    /// Does not start with [`MAGIC`].
    BadMagic([u8; 4]),
    /// Another version of the format.
    Version {
        /// The version in the header.
        found: u32,
    },
    /// Fewer bytes of bitcode than the header says.
    Truncated {
        /// The length in the header.
        expected: u64,
        /// The bytes after the header.
        found: u64,
    },
    /// More bytes after the header than the header says.
    TrailingBytes {
        /// The length in the header.
        expected: u64,
        /// The bytes after the header.
        found: u64,
    },
    /// The bitcode's checksum is not the one in the header.
    Checksum {
        /// The checksum in the header.
        stored: u32,
        /// The bitcode's.
        computed: u32,
    },
}

impl fmt::Display for SectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SectionError::TooShort { len } => {
                write!(f, "{len} bytes long, shorter than its {HEADER_LEN}-byte header")
            }
            SectionError::BadMagic(m) => {
                write!(f, "not in yk's format: it starts with {m:02x?}, not \"YKIR\"")
            }
            SectionError::Version { found } => write!(
                f,
                "format version {found}, but this runtime reads version {FORMAT_VERSION} \
                 (rebuild the program with this yk-ld)"
            ),
            SectionError::Truncated { expected, found } => write!(
                f,
                "truncated: its header says {expected} bytes of bitcode, it holds {found}"
            ),
            SectionError::TrailingBytes { expected, found } => write!(
                f,
                "longer than its header says: it holds {found} bytes of bitcode, \
                 the header says {expected}"
            ),
            SectionError::Checksum { stored, computed } => write!(
                f,
                "corrupted: the bitcode's CRC-32 is {computed:#010x}, its header says {stored:#010x}"
            ),
        }
    }
}

impl std::error::Error for SectionError {}

/// The section holding `bitcode`. Panics on bitcode of 4 GiB or more, which no module
/// reaches (yk-ld checks first).
pub fn wrap(bitcode: &[u8], crc32: Crc32) -> Vec<u8> {
    let len = u32::try_from(bitcode.len()).expect("bitcode of 4 GiB or more");
    let mut s = Vec::with_capacity(HEADER_LEN + bitcode.len());
    s.extend_from_slice(&MAGIC);
    s.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    s.extend_from_slice(&len.to_le_bytes());
    s.extend_from_slice(&crc32(bitcode).to_le_bytes());
    s.extend_from_slice(bitcode);
    s
}

fn u32_at(s: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(s[at..at + 4].try_into().expect("4 bytes"))
}

/// The bitcode in `section`, once its header and checksum have been checked.
pub fn unwrap(section: &[u8], crc32: Crc32) -> Result<&[u8], SectionError> {
    if section.len() < HEADER_LEN {
        return Err(SectionError::TooShort { len: section.len() });
    }
    let magic: [u8; 4] = section[..4].try_into().expect("4 bytes");
    if magic != MAGIC {
        return Err(SectionError::BadMagic(magic));
    }
    let version = u32_at(section, 4);
    if version != FORMAT_VERSION {
        return Err(SectionError::Version { found: version });
    }
    let expected = u64::from(u32_at(section, 8));
    let bitcode = &section[HEADER_LEN..];
    let found = bitcode.len() as u64;
    if found < expected {
        return Err(SectionError::Truncated { expected, found });
    }
    if found > expected {
        return Err(SectionError::TrailingBytes { expected, found });
    }
    let stored = u32_at(section, 12);
    let computed = crc32(bitcode);
    if stored != computed {
        return Err(SectionError::Checksum { stored, computed });
    }
    Ok(bitcode)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BC: &[u8] = b"BC\xc0\xde some bitcode, or as good as";

    /// A stand-in checksum (the layout does not depend on which): any change of a
    /// byte of `BC` changes it.
    fn sum(b: &[u8]) -> u32 {
        b.iter()
            .fold(17u32, |h, &x| h.wrapping_mul(31).wrapping_add(u32::from(x)))
    }

    fn wrap(b: &[u8]) -> Vec<u8> {
        super::wrap(b, sum)
    }

    fn unwrap(s: &[u8]) -> Result<&[u8], SectionError> {
        super::unwrap(s, sum)
    }

    #[test]
    fn round_trip() {
        let s = wrap(BC);
        assert_eq!(s.len(), HEADER_LEN + BC.len());
        assert_eq!(&s[..4], b"YKIR");
        assert_eq!(unwrap(&s), Ok(BC));
    }

    #[test]
    fn damage_is_named() {
        let s = wrap(BC);
        let mut bad = s.clone();
        bad[HEADER_LEN + 10] ^= 0x55;
        assert!(matches!(unwrap(&bad), Err(SectionError::Checksum { .. })));
        assert!(unwrap(&bad)
            .unwrap_err()
            .to_string()
            .starts_with("corrupted"));
        assert_eq!(
            unwrap(&s[..s.len() - 3]),
            Err(SectionError::Truncated {
                expected: BC.len() as u64,
                found: BC.len() as u64 - 3
            })
        );
        let mut longer = s.clone();
        longer.push(0);
        assert!(matches!(
            unwrap(&longer),
            Err(SectionError::TrailingBytes { .. })
        ));
        let mut v2 = s.clone();
        v2[4] = 2;
        assert_eq!(unwrap(&v2), Err(SectionError::Version { found: 2 }));
        assert_eq!(unwrap(BC), Err(SectionError::BadMagic(*b"BC\xc0\xde")));
        assert_eq!(unwrap(&s[..5]), Err(SectionError::TooShort { len: 5 }));
    }
}
