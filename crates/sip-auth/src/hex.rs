//! Lower-case hexadecimal in fixed-size buffers: digests are at most 32 bytes (64 hex
//! digits), so hashing, parsing and comparing never allocate.

use std::fmt;

/// The longest hex digest we handle (SHA-256, SHA-512/256).
pub(crate) const MAX_HEX: usize = 64;

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Up to [`MAX_HEX`] lower-case hex digits.
#[derive(Clone, Copy)]
pub(crate) struct HexBuf {
    buf: [u8; MAX_HEX],
    len: u8,
}

impl HexBuf {
    /// Encodes up to 32 bytes (more are ignored).
    pub(crate) fn encode(bytes: &[u8]) -> HexBuf {
        let mut buf = [0u8; MAX_HEX];
        let mut len = 0;
        for (pair, b) in buf.chunks_exact_mut(2).zip(bytes) {
            pair[0] = DIGITS[usize::from(b >> 4)];
            pair[1] = DIGITS[usize::from(b & 0x0f)];
            len += 2;
        }
        HexBuf { buf, len }
    }

    /// Reads exactly `len` hex digits in any case and keeps them in lower case; `None`
    /// when the length differs, `len` is too long, or a character is not a hex digit.
    pub(crate) fn parse(s: &str, len: usize) -> Option<HexBuf> {
        if s.len() != len || len > MAX_HEX {
            return None;
        }
        let mut buf = [0u8; MAX_HEX];
        for (dst, &b) in buf.iter_mut().zip(s.as_bytes()) {
            if !b.is_ascii_hexdigit() {
                return None;
            }
            *dst = b.to_ascii_lowercase();
        }
        Some(HexBuf {
            buf,
            len: u8::try_from(len).ok()?,
        })
    }

    /// The first `len` digits (all of them when `len` is longer).
    pub(crate) fn truncated(mut self, len: usize) -> HexBuf {
        if len < usize::from(self.len) {
            self.buf[len..].fill(0);
            self.len = u8::try_from(len).unwrap_or(self.len);
        }
        self
    }

    /// The digits as bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }

    /// The digits as text.
    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII digits and letters are ever stored.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

impl fmt::Debug for HexBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_and_parse() {
        let h = HexBuf::encode(&[0x00, 0x7f, 0xa5, 0xff]);
        assert_eq!(h.as_str(), "007fa5ff");
        let p = HexBuf::parse("007FA5fF", 8).expect("hex");
        assert_eq!(p.as_str(), "007fa5ff");
        assert!(HexBuf::parse("007fa5f", 8).is_none());
        assert!(HexBuf::parse("007fa5fg", 8).is_none());
        assert!(HexBuf::parse(&"0".repeat(66), 66).is_none());
        assert_eq!(h.truncated(4).as_str(), "007f");
        assert_eq!(h.truncated(40).as_str(), "007fa5ff");
        assert_eq!(HexBuf::encode(&[0xab; 40]).as_str().len(), MAX_HEX);
    }
}
