//! Stateless nonces that any node holding the same [`Secret`] can check.
//!
//! A nonce is the unpadded base64url (RFC 4648 §5) of 32 bytes:
//!
//! ```text
//! issued (8 bytes, big-endian unix seconds) || salt (8 bytes) || tag (16 bytes)
//! tag = first 16 bytes of HMAC-SHA256(secret, issued || salt || algorithm id || realm)
//! ```
//!
//! so it is 43 characters of `[A-Za-z0-9_-]`, which need no escaping in a quoted
//! string. The salt is a per-process counter that starts at a random value, so two
//! challenges issued in the same second differ. Binding the realm and the algorithm
//! means a nonce is only good for the challenge it was sent in. Checking recomputes the
//! tag (compared in constant time) and the age; no state is kept for a nonce until a
//! request that uses it has been authenticated (see [`replay`](crate::replay)).

use crate::algorithm::Algorithm;
use crate::secret::Secret;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::sync::atomic::{AtomicU64, Ordering};
use subtle::ConstantTimeEq;

/// The length of a nonce's text.
pub(crate) const NONCE_LEN: usize = 43;
const RAW_LEN: usize = 32;
/// How far in the future a nonce's issue time may be: the clocks of the nodes of a
/// cluster may differ a little.
pub(crate) const MAX_CLOCK_SKEW_SECS: u64 = 10;

/// The part of a nonce that identifies it for the nonce-count tracker.
pub(crate) type Tag = [u8; 16];

/// What a nonce turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NonceCheck {
    /// Issued by us (or a node with our secret) for this realm and algorithm, and
    /// still young enough.
    Valid {
        /// Issue time, unix seconds.
        issued: u64,
        /// Its MAC tag, unique per nonce.
        tag: Tag,
    },
    /// Ours, but older than the lifetime.
    Expired,
    /// Not ours: bad encoding, another secret, realm or algorithm, or tampered with,
    /// or issued in the future.
    Invalid,
}

/// Issues and checks nonces.
pub(crate) struct NonceKeys {
    /// The MAC keyed with the secret, cloned for each use (saves rehashing the key).
    mac: Hmac<Sha256>,
    salt: AtomicU64,
}

impl NonceKeys {
    pub(crate) fn new(secret: &Secret) -> NonceKeys {
        // A key shorter than the hash's block is zero-padded by HMAC (RFC 2104 §2), so
        // padding it here gives the same MAC without a fallible call.
        let mut key = hmac::digest::Key::<Hmac<Sha256>>::default();
        key[..32].copy_from_slice(secret.as_bytes());
        let mac = <Hmac<Sha256> as KeyInit>::new(&key);
        NonceKeys {
            mac,
            // Without OS randomness the nonces stay unique per node thanks to the
            // counter; only nodes sharing a secret could then issue the same one.
            salt: AtomicU64::new(getrandom::u64().unwrap_or(0)),
        }
    }

    /// The MAC keyed with the secret, for other derived values.
    pub(crate) fn mac(&self) -> Hmac<Sha256> {
        self.mac.clone()
    }

    fn tag(&self, head: &[u8; 16], realm: &str, algorithm: Algorithm) -> Tag {
        let mut mac = self.mac.clone();
        mac.update(head);
        mac.update(&[algorithm.id()]);
        mac.update(realm.as_bytes());
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; 16];
        tag.copy_from_slice(&full[..16]);
        tag
    }

    /// A new nonce for a challenge in `realm` with `algorithm`.
    pub(crate) fn issue(&self, now: u64, realm: &str, algorithm: Algorithm) -> Nonce {
        let salt = self.salt.fetch_add(1, Ordering::Relaxed);
        let mut raw = [0u8; RAW_LEN];
        raw[..8].copy_from_slice(&now.to_be_bytes());
        raw[8..16].copy_from_slice(&salt.to_be_bytes());
        let mut head = [0u8; 16];
        head.copy_from_slice(&raw[..16]);
        raw[16..].copy_from_slice(&self.tag(&head, realm, algorithm));
        let mut text = [0u8; NONCE_LEN];
        base64url_encode(&raw, &mut text);
        Nonce(text)
    }

    /// Checks a nonce received in credentials for `realm` and `algorithm`.
    pub(crate) fn check(
        &self,
        nonce: &str,
        realm: &str,
        algorithm: Algorithm,
        now: u64,
        lifetime: u64,
    ) -> NonceCheck {
        let mut raw = [0u8; RAW_LEN];
        if nonce.len() != NONCE_LEN || base64url_decode(nonce.as_bytes(), &mut raw).is_none() {
            return NonceCheck::Invalid;
        }
        let mut head = [0u8; 16];
        head.copy_from_slice(&raw[..16]);
        let mut tag = [0u8; 16];
        tag.copy_from_slice(&raw[16..]);
        let expected = self.tag(&head, realm, algorithm);
        if !bool::from(expected.ct_eq(&tag)) {
            return NonceCheck::Invalid;
        }
        let mut issued = [0u8; 8];
        issued.copy_from_slice(&raw[..8]);
        let issued = u64::from_be_bytes(issued);
        if issued > now.saturating_add(MAX_CLOCK_SKEW_SECS) {
            NonceCheck::Invalid
        } else if now.saturating_sub(issued) > lifetime {
            NonceCheck::Expired
        } else {
            NonceCheck::Valid { issued, tag }
        }
    }
}

/// A nonce's text.
#[derive(Clone, Copy)]
pub(crate) struct Nonce([u8; NONCE_LEN]);

impl Nonce {
    pub(crate) fn as_str(&self) -> &str {
        // Only base64url characters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Unpadded base64url of `input` into `out`, which must be exactly long enough.
fn base64url_encode(input: &[u8], out: &mut [u8]) {
    let mut o = out.iter_mut();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            if let Some(dst) = o.next() {
                *dst = B64[((n >> (18 - 6 * i)) & 0x3f) as usize];
            }
        }
    }
}

fn b64_value(c: u8) -> Option<u32> {
    Some(u32::from(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return None,
    }))
}

/// Decodes unpadded base64url into exactly `out.len()` bytes; `None` on a bad
/// character, a wrong length, or non-zero unused bits (so each byte string has exactly
/// one accepted text).
fn base64url_decode(input: &[u8], out: &mut [u8]) -> Option<()> {
    if input.len() != (out.len() * 4).div_ceil(3) {
        return None;
    }
    let mut o = out.iter_mut();
    for chunk in input.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= b64_value(c)? << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        let full = chunk.len() - 1;
        if bytes[1 + full..].iter().any(|&b| b != 0) {
            return None;
        }
        for &b in &bytes[1..1 + full] {
            *o.next()? = b;
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> NonceKeys {
        NonceKeys::new(&Secret::from_bytes([7; 32]))
    }

    #[test]
    fn base64url_vectors() {
        // RFC 4648 §10 vectors, in the url alphabet without padding.
        for (plain, enc) in [
            (&b"f"[..], "Zg"),
            (b"fo", "Zm8"),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg"),
            (b"fooba", "Zm9vYmE"),
            (b"foobar", "Zm9vYmFy"),
            (b"\xfb\xff\xfe", "-__-"),
        ] {
            let mut out = vec![0u8; enc.len()];
            base64url_encode(plain, &mut out);
            assert_eq!(out, enc.as_bytes());
            let mut back = vec![0u8; plain.len()];
            assert_eq!(base64url_decode(enc.as_bytes(), &mut back), Some(()));
            assert_eq!(back, plain);
        }
        let mut two = [0u8; 2];
        assert!(base64url_decode(b"Zm8", &mut two).is_some());
        assert!(
            base64url_decode(b"Zm9", &mut two).is_none(),
            "unused bits set"
        );
        assert!(
            base64url_decode(b"Zm/", &mut two).is_none(),
            "not url alphabet"
        );
        assert!(base64url_decode(b"Zm9v", &mut two).is_none(), "length");
    }

    #[test]
    fn issue_and_check() {
        let k = keys();
        let n = k.issue(1000, "example.com", Algorithm::Sha256);
        let s = n.as_str();
        assert_eq!(s.len(), NONCE_LEN);
        assert!(
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        let ok = k.check(s, "example.com", Algorithm::Sha256, 1000 + 300, 300);
        assert!(matches!(ok, NonceCheck::Valid { issued: 1000, .. }));
        assert_eq!(
            k.check(s, "example.com", Algorithm::Sha256, 1301, 300),
            NonceCheck::Expired
        );
        assert_eq!(
            k.check(
                s,
                "example.com",
                Algorithm::Sha256,
                1000 - MAX_CLOCK_SKEW_SECS - 1,
                300
            ),
            NonceCheck::Invalid,
            "from the future"
        );
        assert!(matches!(
            k.check(
                s,
                "example.com",
                Algorithm::Sha256,
                1000 - MAX_CLOCK_SKEW_SECS,
                300
            ),
            NonceCheck::Valid { .. }
        ));
        assert_eq!(
            k.check(s, "example.org", Algorithm::Sha256, 1000, 300),
            NonceCheck::Invalid,
            "other realm"
        );
        assert_eq!(
            k.check(s, "example.com", Algorithm::Md5, 1000, 300),
            NonceCheck::Invalid,
            "other algorithm"
        );
        let other = NonceKeys::new(&Secret::from_bytes([8; 32]));
        assert_eq!(
            other.check(s, "example.com", Algorithm::Sha256, 1000, 300),
            NonceCheck::Invalid,
            "other secret"
        );
        assert_eq!(
            k.check(&s[1..], "example.com", Algorithm::Sha256, 1000, 300),
            NonceCheck::Invalid
        );
    }

    #[test]
    fn every_single_character_change_is_caught() {
        let k = keys();
        let n = k.issue(5000, "r", Algorithm::Md5);
        let s = n.as_str();
        for i in 0..NONCE_LEN {
            for &c in B64 {
                if s.as_bytes()[i] == c {
                    continue;
                }
                let mut t = s.as_bytes().to_vec();
                t[i] = c;
                let t = String::from_utf8(t).expect("ascii");
                assert_eq!(
                    k.check(&t, "r", Algorithm::Md5, 5000, 300),
                    NonceCheck::Invalid,
                    "{t}"
                );
            }
        }
    }

    #[test]
    fn nonces_differ() {
        let k = keys();
        let a = k.issue(1, "r", Algorithm::Md5);
        let b = k.issue(1, "r", Algorithm::Md5);
        assert_ne!(a.as_str(), b.as_str());
    }
}
