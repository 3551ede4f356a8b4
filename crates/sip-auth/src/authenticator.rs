//! The server side of a digest exchange (RFC 3261 §22.1–§22.4): build the challenges
//! of a 401/407, find the credentials meant for a realm, and judge them.

use crate::algorithm::Algorithm;
use crate::credentials::{Credentials, Fields, Malformed, Qop};
use crate::ha1::Ha1;
use crate::hex::HexBuf;
use crate::nonce::{NonceCheck, NonceKeys};
use crate::replay::NcTracker;
use crate::response::{QopInput, ResponseInput, response};
use crate::secret::Secret;
use hmac::Mac;
use sip_msg::{HeaderName, Message, Uri};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use subtle::{Choice, ConstantTimeEq};

/// Which pair of headers an exchange uses (RFC 3261 §22.2, §22.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A user agent server or registrar: 401, WWW-Authenticate / Authorization.
    Www,
    /// A proxy: 407, Proxy-Authenticate / Proxy-Authorization.
    Proxy,
}

impl Kind {
    /// The status code of the challenge: 401 or 407.
    pub fn status(self) -> u16 {
        match self {
            Kind::Www => 401,
            Kind::Proxy => 407,
        }
    }

    /// The header that carries the challenges.
    pub fn challenge_header(self) -> HeaderName {
        match self {
            Kind::Www => HeaderName::WwwAuthenticate,
            Kind::Proxy => HeaderName::ProxyAuthenticate,
        }
    }

    /// The header that carries the credentials.
    pub fn credentials_header(self) -> HeaderName {
        match self {
            Kind::Www => HeaderName::Authorization,
            Kind::Proxy => HeaderName::ProxyAuthorization,
        }
    }
}

/// Which challenges a 401/407 carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Offer {
    /// One challenge: the algorithm the request asked for (an initial Authorization
    /// with an empty nonce, as IMS phones and pjsip's `auth_initial_empty` send), else
    /// the first of [`DigestConfig::algorithms`]. Every phone takes one challenge;
    /// several break some (baresip 1.0 gives up when any of them is SHA-256, SIPp
    /// reads only the first).
    #[default]
    Preferred,
    /// One challenge per algorithm, in order (RFC 8760 §2.4), unless the request asked
    /// for one.
    All,
}

/// What the authenticator offers and accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestConfig {
    /// The algorithms accepted, in order of preference (RFC 8760 §2.4: the preferred
    /// first). Credentials with another algorithm are malformed. The subscriber store
    /// must have an HA1 for each. Empty is taken as the default, `[Md5, Sha256]`.
    pub algorithms: Vec<Algorithm>,
    /// Which of them a challenge offers (default [`Offer::Preferred`]).
    pub offer: Offer,
    /// How long a nonce is accepted after it was issued (default 300 s).
    pub nonce_lifetime: Duration,
    /// Whether the digest `uri` must designate the Request-URI (default true): equal
    /// text or equivalent URIs by RFC 3261 §19.1.4, or this server itself with
    /// [`Authenticator::verify_at_server`]. Off accepts any uri.
    pub check_uri: bool,
    /// Offer `qop="auth,auth-int"` rather than `qop="auth"` (default false).
    /// `auth-int` is accepted either way: it protects more.
    pub qop_auth_int: bool,
    /// Refuse credentials without a qop (RFC 2069 style, which has no nonce count and
    /// so no replay protection) as malformed (default false: old clients are
    /// accepted, within the nonce lifetime).
    pub require_qop: bool,
    /// The most nonces whose counts are tracked at once (default 2^20, about 64 MiB at
    /// worst). When full, the longest-tracked nonce is dropped and refused from then on.
    pub max_tracked_nonces: usize,
}

impl Default for DigestConfig {
    fn default() -> Self {
        DigestConfig {
            algorithms: vec![Algorithm::Md5, Algorithm::Sha256],
            offer: Offer::Preferred,
            nonce_lifetime: Duration::from_secs(300),
            check_uri: true,
            qop_auth_int: false,
            require_qop: false,
            max_tracked_nonces: 1 << 20,
        }
    }
}

/// The outcome of [`Authenticator::verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Verdict {
    /// The response is right and the nonce is fresh and unused with this count.
    Authorized,
    /// The response is right for the nonce, but the nonce has expired, was issued with
    /// another secret, or this nonce count was used already: the client knows the
    /// password, so challenge again with `stale=true` (RFC 7616 §3.3) and it will
    /// retry without asking its user.
    Stale,
    /// The response is wrong: wrong password, unknown user, or no HA1 for the
    /// credentials' algorithm. Answer 403 (or challenge again, as policy says).
    Rejected,
    /// The credentials cannot be checked: answer 400 with [`Malformed::reason`].
    Malformed(Malformed),
}

/// Issues challenges and checks credentials. `Send + Sync`: share one between worker
/// threads through an `Arc`.
pub struct Authenticator {
    cfg: DigestConfig,
    nonces: NonceKeys,
    tracker: NcTracker,
    /// The HA1 hashed when the user is unknown, so that both cases do the same work.
    dummy_ha1: HexBuf,
}

impl Authenticator {
    /// An authenticator; `secret` keys the nonces (give every node of a cluster the
    /// same one).
    pub fn new(mut cfg: DigestConfig, secret: Secret) -> Authenticator {
        if cfg.algorithms.is_empty() {
            cfg.algorithms = DigestConfig::default().algorithms;
        }
        let nonces = NonceKeys::new(&secret);
        let mut mac = nonces.mac();
        mac.update(b"sip-auth dummy HA1");
        let dummy_ha1 = HexBuf::encode(&mac.finalize().into_bytes());
        Authenticator {
            tracker: NcTracker::new(cfg.max_tracked_nonces),
            cfg,
            nonces,
            dummy_ha1,
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &DigestConfig {
        &self.cfg
    }

    /// The values of the WWW-Authenticate or Proxy-Authenticate headers of a 401/407,
    /// each with its own nonce, e.g. `Digest realm="example.com", nonce="…",
    /// algorithm=MD5, qop="auth"`, with `, stale=true` added when `stale`: the one
    /// `asked` for when it is accepted (see [`Self::asked_algorithm`]; after a stale
    /// nonce, the one the client used), else as [`DigestConfig::offer`] says.
    pub fn challenges(
        &self,
        realm: &str,
        stale: bool,
        asked: Option<Algorithm>,
        now: SystemTime,
    ) -> Vec<String> {
        let algorithms = &self.cfg.algorithms;
        let offered = match asked {
            Some(alg) if algorithms.contains(&alg) => std::slice::from_ref(
                &algorithms[algorithms.iter().position(|&a| a == alg).unwrap_or(0)],
            ),
            _ if self.cfg.offer == Offer::All => algorithms.as_slice(),
            _ => &algorithms[..1],
        };
        offered
            .iter()
            .map(|&alg| {
                let mut s = String::with_capacity(120 + realm.len());
                self.write_challenge(alg, realm, stale, now, &mut s);
                s
            })
            .collect()
    }

    /// Appends one challenge for `algorithm` to `out` (see [`Self::challenges`]).
    pub fn write_challenge(
        &self,
        algorithm: Algorithm,
        realm: &str,
        stale: bool,
        now: SystemTime,
        out: &mut String,
    ) {
        let nonce = self.nonces.issue(unix_secs(now), realm, algorithm);
        out.push_str("Digest realm=\"");
        for c in realm.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push_str("\", nonce=\"");
        out.push_str(nonce.as_str());
        out.push_str("\", algorithm=");
        out.push_str(algorithm.name());
        out.push_str(if self.cfg.qop_auth_int {
            ", qop=\"auth,auth-int\""
        } else {
            ", qop=\"auth\""
        });
        if stale {
            out.push_str(", stale=true");
        }
    }

    /// The Digest credentials for `realm` in the request's Authorization
    /// ([`Kind::Www`]) or Proxy-Authorization ([`Kind::Proxy`]) headers; the first
    /// such value counts. `None`: there are none, so challenge. `Some(Err(_))`: they
    /// are there but cannot be checked (also when a value could not be read and no
    /// other one is for `realm`), so answer 400.
    pub fn credentials<'a>(
        &self,
        req: &'a Message,
        kind: Kind,
        realm: &str,
    ) -> Option<Result<Credentials<'a>, Malformed>> {
        let mut unreadable = false;
        for value in req.credentials(kind == Kind::Proxy) {
            let Ok(value) = value else {
                unreadable = true;
                continue;
            };
            if !value.is_digest() {
                continue;
            }
            let Ok(fields) = Fields::scan(&value) else {
                unreadable = true;
                continue;
            };
            if fields.realm() != Some(realm) || fields.is_initial() {
                continue;
            }
            return Some(
                Credentials::from_fields(fields).and_then(|c| self.admissible(&c).map(|()| c)),
            );
        }
        unreadable.then_some(Err(Malformed::Syntax))
    }

    /// The algorithm that an initial Authorization (or Proxy-Authorization) for
    /// `realm` asks for: credentials with an empty nonce and no response, which name
    /// the user and the algorithm before any challenge (3GPP TS 24.229 §5.1.1.2,
    /// pjsip's `auth_initial_empty` with `auth_initial_algorithm`). Such credentials
    /// are no answer ([`Self::credentials`] skips them); they choose the challenge.
    /// Their realm is `realm`, or one that names no realm: before its first challenge a
    /// UA may not know the realm, and pjsip then sends its credentials' wildcard `*`.
    pub fn asked_algorithm(&self, req: &Message, kind: Kind, realm: &str) -> Option<Algorithm> {
        let for_us =
            |asked: Option<&str>| matches!(asked, None | Some("" | "*")) || asked == Some(realm);
        req.credentials(kind == Kind::Proxy)
            .filter_map(Result::ok)
            .filter(|value| value.is_digest())
            .filter_map(|value| {
                let fields = Fields::scan(&value).ok()?;
                (for_us(fields.realm()) && fields.is_initial())
                    .then(|| fields.algorithm())
                    .flatten()
            })
            .find(|alg| self.cfg.algorithms.contains(alg))
    }

    /// The checks that depend on the configuration.
    fn admissible(&self, creds: &Credentials<'_>) -> Result<(), Malformed> {
        if !self.cfg.algorithms.contains(&creds.algorithm) {
            return Err(Malformed::UnsupportedAlgorithm);
        }
        if self.cfg.require_qop && creds.qop.is_none() {
            return Err(Malformed::MissingQop);
        }
        Ok(())
    }

    /// Judges credentials found in `req` by [`Self::credentials`]. `ha1` is the
    /// subscriber's HA1 for ([`Credentials::username`], [`Credentials::realm`]) and
    /// [`Credentials::algorithm`], `None` when there is no such subscriber.
    ///
    /// The response is computed and compared (in constant time) first, against a dummy
    /// HA1 when the user is unknown, so an unknown user costs the same as a wrong
    /// password and both are [`Verdict::Rejected`]. Only a right response is then
    /// judged on its nonce: expired, not ours, or a nonce count seen before gives
    /// [`Verdict::Stale`]. The count is recorded only then.
    pub fn verify(
        &self,
        req: &Message,
        creds: &Credentials<'_>,
        ha1: Option<&Ha1>,
        now: SystemTime,
    ) -> Verdict {
        self.verify_at_server(req, creds, ha1, now, |_| false)
    }

    /// [`Self::verify`], where a digest `uri` that names this server itself
    /// (`names_this_server` says which URIs do) is accepted as well as one that
    /// designates the Request-URI. Some UAs (SIPp) put the address they send to there.
    /// The response still covers that uri, so a UA that puts its Request-URI there
    /// keeps the binding of its credentials to that Request-URI, and nonce counts
    /// still refuse every replay.
    pub fn verify_at_server(
        &self,
        req: &Message,
        creds: &Credentials<'_>,
        ha1: Option<&Ha1>,
        now: SystemTime,
        names_this_server: impl Fn(&Uri<'_>) -> bool,
    ) -> Verdict {
        let Some(method) = req.method_str() else {
            return Verdict::Malformed(Malformed::NotARequest);
        };
        if let Err(m) = self.admissible(creds) {
            return Verdict::Malformed(m);
        }
        if self.cfg.check_uri
            && !uri_matches(&creds.uri, req.request_uri_str())
            && !Uri::parse(&creds.uri).is_ok_and(|uri| names_this_server(&uri))
        {
            return Verdict::Malformed(Malformed::UriMismatch);
        }
        let now = unix_secs(now);
        let lifetime = self.cfg.nonce_lifetime.as_secs();
        let alg = creds.algorithm;
        let nonce = self
            .nonces
            .check(&creds.nonce, &creds.realm, alg, now, lifetime);

        // From here on, the same work whether the user is known or not.
        let dummy = self.dummy_ha1.truncated(alg.hex_len());
        let (ha1_hex, known) = match ha1 {
            Some(h) if h.algorithm() == alg => (h.hex(), Choice::from(1)),
            _ => (&dummy, Choice::from(0)),
        };
        let expected = response(&ResponseInput {
            algorithm: alg,
            sess: creds.sess,
            ha1: ha1_hex.as_bytes(),
            nonce: &creds.nonce,
            cnonce: creds.cnonce.as_deref(),
            qop: creds.qop.as_ref().map(|q| QopInput {
                qop: &q.qop_text,
                integrity: q.qop == Qop::AuthInt,
                nc: &q.nc_text,
            }),
            method,
            uri: &creds.uri,
            body: req.body(),
        });
        let right = expected.as_bytes().ct_eq(creds.response.as_bytes()) & known;
        if !bool::from(right) {
            return Verdict::Rejected;
        }

        match nonce {
            NonceCheck::Invalid | NonceCheck::Expired => Verdict::Stale,
            NonceCheck::Valid { issued, tag } => match &creds.qop {
                None => Verdict::Authorized,
                Some(q) if self.tracker.accept(tag, issued, q.nc, now, lifetime) => {
                    Verdict::Authorized
                }
                Some(_) => Verdict::Stale,
            },
        }
    }

    /// Forgets the nonce counts of expired nonces. Optional: tracking a new nonce
    /// already makes room in its shard; a housekeeping timer may call this to give the
    /// memory back sooner.
    pub fn purge(&self, now: SystemTime) {
        self.tracker
            .purge(unix_secs(now), self.cfg.nonce_lifetime.as_secs());
    }

    /// How many nonces have their counts tracked (for metrics).
    pub fn tracked_nonces(&self) -> usize {
        self.tracker.len()
    }
}

/// Whether the digest `uri` designates the Request-URI: the same text, or equivalent
/// URIs (RFC 3261 §19.1.4).
fn uri_matches(digest_uri: &str, request_uri: Option<&str>) -> bool {
    let Some(request_uri) = request_uri else {
        return false;
    };
    digest_uri == request_uri
        || matches!(
            (Uri::parse(digest_uri), Uri::parse(request_uri)),
            (Ok(a), Ok(b)) if a.matches(&b)
        )
}

/// `now` as unix seconds (0 before 1970).
fn unix_secs(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
