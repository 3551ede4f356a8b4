//! Digest algorithms (RFC 7616 §3.2, RFC 8760 §2) and the one place that dispatches
//! a hash computation over them.

use crate::hex::HexBuf;
use md5::Md5;
use sha2::{Digest, Sha256, Sha512_256};
use std::fmt;

/// A digest algorithm. The `-sess` variants (RFC 7616 §3.4.2) use the same hash and
/// are carried as a flag next to it in [`Credentials`](crate::Credentials).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `MD5` (RFC 2617; the default when a challenge or credentials name none).
    Md5,
    /// `SHA-256` (RFC 7616, RFC 8760).
    Sha256,
    /// `SHA-512-256`: SHA-512/256 (RFC 7616, RFC 8760).
    Sha512_256,
}

impl Algorithm {
    /// The token used in challenges and credentials: `MD5`, `SHA-256`, `SHA-512-256`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha512_256 => "SHA-512-256",
        }
    }

    /// Reads an `algorithm` token, case-insensitively; the flag says whether it was a
    /// `-sess` variant (`MD5-sess`, `SHA-256-sess`, `SHA-512-256-sess`).
    pub fn parse(token: &str) -> Option<(Algorithm, bool)> {
        const ALL: [Algorithm; 3] = [Algorithm::Md5, Algorithm::Sha256, Algorithm::Sha512_256];
        let (base, sess) = match token.len().checked_sub(5) {
            Some(i) if token.is_char_boundary(i) && token[i..].eq_ignore_ascii_case("-sess") => {
                (&token[..i], true)
            }
            _ => (token, false),
        };
        ALL.into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(base))
            .map(|a| (a, sess))
    }

    /// How many hex digits a digest of this algorithm has (32 for MD5, 64 otherwise).
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Md5 => 32,
            Algorithm::Sha256 | Algorithm::Sha512_256 => 64,
        }
    }

    /// A byte that identifies the algorithm inside a nonce's MAC.
    pub(crate) fn id(self) -> u8 {
        match self {
            Algorithm::Md5 => 1,
            Algorithm::Sha256 => 2,
            Algorithm::Sha512_256 => 3,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An incremental hash of one of the [`Algorithm`]s, finished as lower-case hex.
pub(crate) enum Hasher {
    Md5(Md5),
    Sha256(Sha256),
    Sha512_256(Sha512_256),
}

impl Hasher {
    pub(crate) fn new(alg: Algorithm) -> Hasher {
        match alg {
            Algorithm::Md5 => Hasher::Md5(Md5::new()),
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Sha512_256 => Hasher::Sha512_256(Sha512_256::new()),
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Md5(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512_256(h) => h.update(data),
        }
    }

    /// Feeds `parts` joined by `:`.
    pub(crate) fn colon_joined(mut self, parts: &[&[u8]]) -> Hasher {
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                self.update(b":");
            }
            self.update(part);
        }
        self
    }

    pub(crate) fn finish(self) -> HexBuf {
        match self {
            Hasher::Md5(h) => HexBuf::encode(&h.finalize()),
            Hasher::Sha256(h) => HexBuf::encode(&h.finalize()),
            Hasher::Sha512_256(h) => HexBuf::encode(&h.finalize()),
        }
    }
}

/// `H(p1:p2:...)` as hex.
pub(crate) fn h(alg: Algorithm, parts: &[&[u8]]) -> HexBuf {
    Hasher::new(alg).colon_joined(parts).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert_eq!(Algorithm::parse("md5"), Some((Algorithm::Md5, false)));
        assert_eq!(Algorithm::parse("MD5-sess"), Some((Algorithm::Md5, true)));
        assert_eq!(
            Algorithm::parse("SHA-256"),
            Some((Algorithm::Sha256, false))
        );
        assert_eq!(
            Algorithm::parse("sha-256-SESS"),
            Some((Algorithm::Sha256, true))
        );
        assert_eq!(
            Algorithm::parse("SHA-512-256"),
            Some((Algorithm::Sha512_256, false))
        );
        assert_eq!(Algorithm::parse("SHA-512"), None);
        assert_eq!(Algorithm::parse("-sess"), None);
        assert_eq!(Algorithm::parse("AKAv1-MD5"), None);
        assert_eq!(Algorithm::parse("é-sess"), None);
    }

    #[test]
    fn hashes() {
        // python3 -c 'import hashlib; print(hashlib.md5(b"a:b").hexdigest())'
        assert_eq!(
            h(Algorithm::Md5, &[b"a", b"b"]).as_str(),
            "d8160c9b3dc20d4e931aeb4f45262155"
        );
        assert_eq!(h(Algorithm::Sha256, &[b""]).as_str().len(), 64);
        assert_eq!(
            h(Algorithm::Sha256, &[b"abc"]).as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            h(Algorithm::Sha512_256, &[b"abc"]).as_str(),
            "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23"
        );
    }
}
