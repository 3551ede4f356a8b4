//! The digest `response` (RFC 2617 §3.2.2, RFC 7616 §3.4.1, RFC 3261 §22.4), computed
//! over borrowed inputs into a fixed buffer:
//!
//! - `HA1' = H(HA1:nonce:cnonce)` for the `-sess` algorithms, HA1 otherwise;
//! - `HA2 = H(method:uri)` for `qop=auth` or no qop, `H(method:uri:H(body))` for
//!   `qop=auth-int`;
//! - `response = H(HA1':nonce:nc:cnonce:qop:HA2)` with a qop,
//!   `H(HA1':nonce:HA2)` without one (RFC 2069).

use crate::algorithm::{Algorithm, Hasher, h};
use crate::hex::HexBuf;

/// The qop part of the credentials, as the client wrote it (it hashed these texts).
#[derive(Debug, Clone, Copy)]
pub(crate) struct QopInput<'x> {
    /// `auth` or `auth-int` as written.
    pub qop: &'x str,
    /// Whether it is `auth-int`.
    pub integrity: bool,
    /// The 8 hex digits of `nc` as written.
    pub nc: &'x str,
}

/// Everything the response depends on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ResponseInput<'x> {
    pub algorithm: Algorithm,
    pub sess: bool,
    /// HA1 as lower-case hex.
    pub ha1: &'x [u8],
    pub nonce: &'x str,
    pub cnonce: Option<&'x str>,
    pub qop: Option<QopInput<'x>>,
    pub method: &'x str,
    pub uri: &'x str,
    /// The message body; hashed only for `auth-int`.
    pub body: &'x [u8],
}

/// Computes the expected `response` as lower-case hex.
pub(crate) fn response(i: &ResponseInput<'_>) -> HexBuf {
    let alg = i.algorithm;
    let cnonce = i.cnonce.unwrap_or("").as_bytes();
    let sess_ha1;
    let ha1 = if i.sess {
        sess_ha1 = h(alg, &[i.ha1, i.nonce.as_bytes(), cnonce]);
        sess_ha1.as_bytes()
    } else {
        i.ha1
    };
    let ha2 = match i.qop {
        Some(q) if q.integrity => {
            let body = h(alg, &[i.body]);
            h(
                alg,
                &[i.method.as_bytes(), i.uri.as_bytes(), body.as_bytes()],
            )
        }
        _ => h(alg, &[i.method.as_bytes(), i.uri.as_bytes()]),
    };
    let hasher = Hasher::new(alg);
    match i.qop {
        Some(q) => hasher.colon_joined(&[
            ha1,
            i.nonce.as_bytes(),
            q.nc.as_bytes(),
            cnonce,
            q.qop.as_bytes(),
            ha2.as_bytes(),
        ]),
        None => hasher.colon_joined(&[ha1, i.nonce.as_bytes(), ha2.as_bytes()]),
    }
    .finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ha1::ha1;

    const AUTH: QopInput<'static> = QopInput {
        qop: "auth",
        integrity: false,
        nc: "00000001",
    };

    #[test]
    fn rfc2617_section_3_5() {
        // RFC 2617 §3.5: GET /dir/index.html, Mufasa / "Circle Of Life".
        let ha1 = ha1(
            Algorithm::Md5,
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
        );
        let r = response(&ResponseInput {
            algorithm: Algorithm::Md5,
            sess: false,
            ha1: ha1.hex().as_bytes(),
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            cnonce: Some("0a4f113b"),
            qop: Some(AUTH),
            method: "GET",
            uri: "/dir/index.html",
            body: b"",
        });
        assert_eq!(r.as_str(), "6629fae49393a05397450978507c4ef1");
    }

    #[test]
    fn rfc7616_section_3_9_1() {
        // RFC 7616 §3.9.1: the same request with SHA-256 and MD5, "Circle of Life".
        let input = |alg| ResponseInput {
            algorithm: alg,
            sess: false,
            ha1: b"",
            nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            cnonce: Some("f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"),
            qop: Some(AUTH),
            method: "GET",
            uri: "/dir/index.html",
            body: b"",
        };
        let sha = ha1(
            Algorithm::Sha256,
            "Mufasa",
            "http-auth@example.org",
            "Circle of Life",
        );
        let r = response(&ResponseInput {
            ha1: sha.hex().as_bytes(),
            ..input(Algorithm::Sha256)
        });
        assert_eq!(
            r.as_str(),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
        let md5 = ha1(
            Algorithm::Md5,
            "Mufasa",
            "http-auth@example.org",
            "Circle of Life",
        );
        let r = response(&ResponseInput {
            ha1: md5.hex().as_bytes(),
            ..input(Algorithm::Md5)
        });
        assert_eq!(r.as_str(), "8ca523f5e9506fed4657c9700eebdbec");
    }

    /// A SIP REGISTER, computed by hand with python3:
    /// ```text
    /// import hashlib
    /// H = lambda a, s: hashlib.new(a, s.encode()).hexdigest()
    /// ha1 = H(a, "alice:atlanta.example.com:secret")
    /// ha2 = H(a, "REGISTER:sip:atlanta.example.com")
    /// n = "ea9c8e88df84f1cec4341ae6cbe5a359"; cn = "0a4f113b"
    /// H(a, f"{ha1}:{n}:00000001:{cn}:auth:{ha2}")          # qop=auth
    /// H(a, f"{ha1}:{n}:{ha2}")                             # no qop
    /// s = H(a, f"{ha1}:{n}:{cn}")                          # -sess HA1
    /// H(a, f"{s}:{n}:00000001:{cn}:auth:{ha2}")            # -sess, qop=auth
    /// ha2i = H(a, "INVITE:sip:bob@biloxi.example.com:" + H(a, "v=0\r\n"))
    /// H(a, f"{ha1}:{n}:0000000a:{cn}:auth-int:{ha2i}")     # INVITE, auth-int, nc=10
    /// ```
    #[test]
    fn sip_register_by_hand() {
        let cases = [
            (
                Algorithm::Md5,
                [
                    "f99ae030960d20f00f88e2606d261afc",
                    "b5d1b531d99ced033713ffa9ffbcb1a7",
                    "c4bf83f888ec8ec8977a168c77be725e",
                    "d80ec5d492d67feff209a75bfbdf96e7",
                ],
            ),
            (
                Algorithm::Sha256,
                [
                    "8d3001e3a3305f5f754a265dee664aadb78cc9c7f5112ef63c2c93eb70240327",
                    "184209546e83f70adddf9da6309267357b67606bef475f50c0806c42959ead22",
                    "c91f0d69bd702ca4714e8c17352a2dcbaeaaefe9748d8bfdcf9ff9934ab749fe",
                    "0eace6e94c277af2a810076209f4f0c03796b02363cec682d6d33ef26448d2cc",
                ],
            ),
            (
                Algorithm::Sha512_256,
                [
                    "837b121a1032f07852317e04c8d5204c4c97c56fae85021fc61422b5d910a2b0",
                    "85e7db54d3f23e82454b47be4a70d48cbe9c5137871483c54e40dd22461fd7c4",
                    "8783ee8b5d9c258d03502c745c27e34cd39467500e73d2c7b85474e4a442d153",
                    "c9eb053b7540b363e6ee54611b7a76bb7ab1d1270473aa6e88bb8e02a7546d4b",
                ],
            ),
        ];
        for (alg, [auth, no_qop, sess, auth_int]) in cases {
            let ha1 = ha1(alg, "alice", "atlanta.example.com", "secret");
            let base = ResponseInput {
                algorithm: alg,
                sess: false,
                ha1: ha1.hex().as_bytes(),
                nonce: "ea9c8e88df84f1cec4341ae6cbe5a359",
                cnonce: Some("0a4f113b"),
                qop: Some(AUTH),
                method: "REGISTER",
                uri: "sip:atlanta.example.com",
                body: b"ignored without auth-int",
            };
            assert_eq!(response(&base).as_str(), auth, "{alg} auth");
            let r = response(&ResponseInput {
                qop: None,
                cnonce: None,
                ..base
            });
            assert_eq!(r.as_str(), no_qop, "{alg} no qop");
            let r = response(&ResponseInput { sess: true, ..base });
            assert_eq!(r.as_str(), sess, "{alg}-sess");
            let r = response(&ResponseInput {
                qop: Some(QopInput {
                    qop: "auth-int",
                    integrity: true,
                    nc: "0000000a",
                }),
                method: "INVITE",
                uri: "sip:bob@biloxi.example.com",
                body: b"v=0\r\n",
                ..base
            });
            assert_eq!(r.as_str(), auth_int, "{alg} auth-int");
        }
    }
}
