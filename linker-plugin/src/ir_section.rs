//! The `yk_ir` section as yk-ld writes it: the format is the contract crate's
//! ([`yk_abi::ir_section`]), with zlib's CRC-32 from `crc32fast`.

pub use yk_abi::ir_section::{SectionError, FORMAT_VERSION, HEADER_LEN, MAGIC, SECTION};

/// The section holding `bitcode`. Panics on bitcode of 4 GiB or more, which no module
/// reaches (yk-ld checks first).
pub fn wrap(bitcode: &[u8]) -> Vec<u8> {
    yk_abi::ir_section::wrap(bitcode, crc32fast::hash)
}

/// The bitcode in `section`, once its header and checksum have been checked.
pub fn unwrap(section: &[u8]) -> Result<&[u8], SectionError> {
    yk_abi::ir_section::unwrap(section, crc32fast::hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_is_zlibs_crc32() {
        // The CRC-32 (IEEE) check value of "123456789" is 0xcbf43926.
        let s = wrap(b"123456789");
        assert_eq!(&s[12..16], &0xcbf4_3926u32.to_le_bytes());
        assert_eq!(unwrap(&s), Ok(&b"123456789"[..]));
        let mut bad = s.clone();
        bad[HEADER_LEN] ^= 1;
        assert!(matches!(unwrap(&bad), Err(SectionError::Checksum { .. })));
    }
}
