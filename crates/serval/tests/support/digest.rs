//! A test UA's side of digest authentication (RFC 2617, RFC 7616, RFC 8760), written
//! independently of the server's code: parse a challenge, answer it.

use md5::Md5;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// The parameters of a `Digest ...` challenge, names lower-cased, quotes removed.
pub fn params(value: &str) -> HashMap<String, String> {
    let rest = value
        .trim()
        .strip_prefix("Digest")
        .expect("a Digest challenge")
        .trim();
    let mut out = HashMap::new();
    let bytes = rest.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i] == b',' || bytes[i] == b' ') {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && bytes[i] != b'=' {
            i += 1;
        }
        let name = rest[start..i].trim().to_ascii_lowercase();
        i += 1;
        let value;
        if i < bytes.len() && bytes[i] == b'"' {
            let end = rest[i + 1..].find('"').expect("closing quote") + i + 1;
            value = rest[i + 1..end].to_owned();
            i = end + 1;
        } else {
            let end = rest[i..].find(',').map_or(rest.len(), |e| e + i);
            value = rest[i..end].trim().to_owned();
            i = end;
        }
        if !name.is_empty() {
            out.insert(name, value);
        }
    }
    out
}

/// Lower-case hex of MD5 or SHA-256 (`alg`) of `data`.
pub fn hex_hash(alg: &str, data: &str) -> String {
    let bytes: Vec<u8> = if alg.eq_ignore_ascii_case("SHA-256") {
        Sha256::digest(data.as_bytes()).to_vec()
    } else {
        Md5::digest(data.as_bytes()).to_vec()
    };
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The credentials answering `challenge` for `method` `uri` as `user` / `password`, with
/// nonce count `nc` (qop=auth when offered).
pub fn answer(
    challenge: &str,
    method: &str,
    uri: &str,
    user: &str,
    password: &str,
    nc: u32,
) -> String {
    let p = params(challenge);
    let realm = &p["realm"];
    let nonce = &p["nonce"];
    let alg = p.get("algorithm").map_or("MD5", String::as_str);
    let ha1 = hex_hash(alg, &format!("{user}:{realm}:{password}"));
    let ha2 = hex_hash(alg, &format!("{method}:{uri}"));
    let cnonce = format!("c{nc:x}test");
    let nc_text = format!("{nc:08x}");
    let qop_auth = p
        .get("qop")
        .is_some_and(|q| q.split(',').any(|t| t.trim() == "auth"));
    let (response, qop_part) = if qop_auth {
        (
            hex_hash(alg, &format!("{ha1}:{nonce}:{nc_text}:{cnonce}:auth:{ha2}")),
            format!(", qop=auth, nc={nc_text}, cnonce=\"{cnonce}\""),
        )
    } else {
        (
            hex_hash(alg, &format!("{ha1}:{nonce}:{ha2}")),
            String::new(),
        )
    };
    let opaque = p
        .get("opaque")
        .map(|o| format!(", opaque=\"{o}\""))
        .unwrap_or_default();
    format!(
        "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{response}\", algorithm={alg}{qop_part}{opaque}"
    )
}
