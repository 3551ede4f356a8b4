//! The server secret that keys the nonce MAC. Every node of a cluster that must accept
//! the others' nonces is given the same secret (as 64 hex digits in the config); a
//! single node can draw a random one at start, at the cost of turning the nonces it
//! issued before a restart stale.

use crate::error::Error;
use crate::hex::HexBuf;
use sha2::{Digest, Sha256};
use std::fmt;

/// 32 secret bytes. `Debug` does not show them.
#[derive(Clone)]
pub struct Secret([u8; 32]);

impl Secret {
    /// A secret from the operating system's random source.
    pub fn random() -> Result<Secret, Error> {
        let mut b = [0u8; 32];
        getrandom::fill(&mut b).map_err(Error::Random)?;
        Ok(Secret(b))
    }

    /// A secret from its bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Secret {
        Secret(bytes)
    }

    /// A secret from 64 hex digits (any case), as a config file gives it.
    pub fn from_hex(s: &str) -> Result<Secret, Error> {
        let s = s.trim();
        let digits = HexBuf::parse(s, 64).ok_or(Error::SecretHex)?;
        let mut b = [0u8; 32];
        for (dst, pair) in b.iter_mut().zip(digits.as_bytes().chunks_exact(2)) {
            *dst = (nibble(pair[0]) << 4) | nibble(pair[1]);
        }
        Ok(Secret(b))
    }

    /// A secret derived from a passphrase of any length (SHA-256 of it), for configs
    /// that give a shared password rather than 64 hex digits.
    pub fn from_passphrase(passphrase: &str) -> Secret {
        Secret(Sha256::digest(passphrase.as_bytes()).into())
    }

    /// The secret as 64 lower-case hex digits (to write a generated one into a config).
    pub fn to_hex(&self) -> String {
        HexBuf::encode(&self.0).as_str().to_owned()
    }

    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// The value of a lower-case hex digit (input already checked).
fn nibble(d: u8) -> u8 {
    match d {
        b'0'..=b'9' => d - b'0',
        _ => d - b'a' + 10,
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let hex = "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff";
        let s = Secret::from_hex(hex).expect("valid");
        assert_eq!(s.as_bytes()[..4], [0x00, 0x11, 0x22, 0x33]);
        assert_eq!(s.as_bytes()[10], 0xaa);
        assert_eq!(s.to_hex(), hex.to_ascii_lowercase());
        assert!(Secret::from_hex(&hex[1..]).is_err());
        assert!(Secret::from_hex(&hex.replace('F', "G")).is_err());
        assert_eq!(format!("{s:?}"), "Secret(..)");
    }

    #[test]
    fn random_and_passphrase() {
        let a = Secret::random().expect("os randomness");
        let b = Secret::random().expect("os randomness");
        assert_ne!(a.as_bytes(), b.as_bytes());
        assert_eq!(
            Secret::from_passphrase("x").as_bytes(),
            Secret::from_passphrase("x").as_bytes()
        );
        assert_ne!(
            Secret::from_passphrase("x").as_bytes(),
            Secret::from_passphrase("y").as_bytes()
        );
    }
}
