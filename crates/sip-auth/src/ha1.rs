//! HA1, the password-equivalent a subscriber store keeps: `H(username:realm:password)`
//! in lower-case hex (RFC 7616 §3.4.2; Kamailio's `ha1` / `ha1b` columns), one per
//! algorithm the server offers.

use crate::algorithm::{Algorithm, h};
use crate::error::Error;
use crate::hex::HexBuf;
use std::fmt;

/// A subscriber's HA1 for one algorithm. `Debug` does not show the digits: whoever has
/// them can authenticate as the subscriber in that realm.
#[derive(Clone, Copy)]
pub struct Ha1 {
    algorithm: Algorithm,
    hex: HexBuf,
}

impl Ha1 {
    /// Computes `H(username:realm:password)`.
    pub fn from_password(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> Ha1 {
        Ha1 {
            algorithm,
            hex: h(
                algorithm,
                &[username.as_bytes(), realm.as_bytes(), password.as_bytes()],
            ),
        }
    }

    /// Reads a stored HA1 (hex digits in any case; kept in lower case, which is what
    /// the response is computed over).
    pub fn from_hex(algorithm: Algorithm, hex: &str) -> Result<Ha1, Error> {
        let len = algorithm.hex_len();
        HexBuf::parse(hex.trim(), len)
            .map(|hex| Ha1 { algorithm, hex })
            .ok_or(Error::Ha1Hex { algorithm, len })
    }

    /// The algorithm this HA1 was computed with.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The lower-case hex digits, for storage.
    pub fn as_str(&self) -> &str {
        self.hex.as_str()
    }

    pub(crate) fn hex(&self) -> &HexBuf {
        &self.hex
    }
}

impl fmt::Debug for Ha1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ha1({}, ..)", self.algorithm)
    }
}

/// The HA1 to store for a subscriber: `H(username:realm:password)` with `algorithm`
/// (as Kamailio's `calculate_ha1` does).
pub fn ha1(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> Ha1 {
    Ha1::from_password(algorithm, username, realm, password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // python3 -c 'import hashlib; print(hashlib.md5(b"alice:atlanta.example.com:secret").hexdigest())'
        let m = ha1(Algorithm::Md5, "alice", "atlanta.example.com", "secret");
        assert_eq!(m.as_str(), "817bf6d2bab4a2a73b3eeef60ec517ac");
        let s = ha1(Algorithm::Sha256, "alice", "atlanta.example.com", "secret");
        assert_eq!(
            s.as_str(),
            "c7d10d7dc4095c6e9500f7c687083aac7264a44d8215be34f3a824bd79c146e5"
        );
        let t = ha1(
            Algorithm::Sha512_256,
            "alice",
            "atlanta.example.com",
            "secret",
        );
        assert_eq!(
            t.as_str(),
            "2cb70820a47291f0071cdf126dfe342cfb0ff66fc6941c5433afa401c52d4492"
        );
        assert_eq!(format!("{m:?}"), "Ha1(MD5, ..)");
    }

    #[test]
    fn stored_values() {
        let m = Ha1::from_hex(Algorithm::Md5, "817BF6D2BAB4A2A73B3EEEF60EC517AC").expect("hex");
        assert_eq!(m.as_str(), "817bf6d2bab4a2a73b3eeef60ec517ac");
        assert_eq!(m.algorithm(), Algorithm::Md5);
        assert!(Ha1::from_hex(Algorithm::Sha256, "817bf6d2bab4a2a73b3eeef60ec517ac").is_err());
        assert!(Ha1::from_hex(Algorithm::Md5, "817bf6d2bab4a2a73b3eeef60ec517az").is_err());
    }
}
