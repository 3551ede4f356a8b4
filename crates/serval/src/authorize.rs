//! Who must prove who they are, and checking that they did: the seed's
//! `www_authorize` for REGISTER and `proxy_authorize` for requests from local users,
//! with the subscriber table as the source of HA1s (SER's `auth_db`).
//!
//! - REGISTER to one of our domains: 401 / WWW-Authenticate, realm = the AOR's domain.
//! - Any other challenged method whose From is a user of one of our domains: 407 /
//!   Proxy-Authenticate, realm = the From domain. Requests from other domains are not
//!   challenged here (they may only reach local users: the relay policy).
//! - Trusted sources (the other domain's router) are never challenged.
//! - The authenticated user must be the one the request speaks for: To for REGISTER
//!   (SER's `check_to`), From for the rest (`check_from`); else 403.
//!
//! An unknown user and a wrong password get the same 403 after the same work
//! (`sip-auth` hashes against a dummy HA1), so answers do not tell which users exist.

use crate::config;
use crate::subscriber_cache::Subscribers;
use crate::unavailable::database_unavailable;
use ipnet::IpNet;
use sip_auth::{Algorithm, Authenticator, DigestConfig, Ha1, Kind, Secret, Verdict};
use sip_core::proxy::{Decision, Reply};
use sip_msg::{Host, Message, Method, Uri};
use std::net::IpAddr;
use std::time::SystemTime;

/// The outcome of [`Authorizer::check`].
pub enum Outcome {
    /// No challenge needed (method not challenged, trusted source, foreign From).
    NotRequired,
    /// The user proved to be `user@realm`.
    Authenticated,
    /// Answer this (401, 407, 400, 403, 500).
    Answer(Decision),
}

/// The authentication policy and machinery.
pub struct Authorizer {
    digest: Authenticator,
    methods: Vec<String>,
    trusted: Vec<IpNet>,
}

impl Authorizer {
    /// From the `[auth]` config; `None` when authentication is off.
    pub fn new(cfg: &config::Auth) -> Result<Option<Authorizer>, sip_auth::Error> {
        if !cfg.enabled {
            return Ok(None);
        }
        let secret = match cfg.secret {
            Some(bytes) => Secret::from_bytes(bytes),
            None => Secret::random()?,
        };
        let algorithms = cfg
            .algorithms
            .iter()
            .filter_map(|a| Algorithm::parse(a).map(|(alg, _)| alg))
            .collect();
        let digest = Authenticator::new(
            DigestConfig {
                algorithms,
                offer: cfg.challenges,
                nonce_lifetime: cfg.nonce_lifetime,
                check_uri: cfg.check_digest_uri,
                ..DigestConfig::default()
            },
            secret,
        );
        Ok(Some(Authorizer {
            digest,
            methods: cfg.methods.clone(),
            trusted: cfg.trusted.clone(),
        }))
    }

    /// Forgets nonce counts of expired nonces.
    pub fn purge(&self, now: SystemTime) {
        self.digest.purge(now);
    }

    fn challenged(&self, msg: &Message, source: IpAddr) -> bool {
        let method = msg.method_str().unwrap_or("");
        !matches!(msg.method(), Some(Method::Ack | Method::Cancel))
            && self.methods.iter().any(|m| m.eq_ignore_ascii_case(method))
            && !self.trusted.iter().any(|net| net.contains(&source))
    }

    /// Checks `msg` from `source`. `is_local` tells which domains are ours.
    pub async fn check(
        &self,
        msg: &Message,
        source: IpAddr,
        store: &Subscribers,
        is_local: impl Fn(&Host<'_>) -> bool,
        now: SystemTime,
    ) -> Outcome {
        if !self.challenged(msg, source) {
            return Outcome::NotRequired;
        }
        let register = msg.method() == Some(Method::Register);
        let (kind, identity) = if register {
            (Kind::Www, msg.to())
        } else {
            (Kind::Proxy, msg.from())
        };
        let Ok(identity) = identity else {
            return answer(400, "Malformed From or To header");
        };
        let Some(uri) = identity.uri.as_sip() else {
            return Outcome::NotRequired;
        };
        if !is_local(&uri.host) {
            return Outcome::NotRequired;
        }
        // The realm and subscriber domain: the host in lower case, IPv6 in brackets.
        let realm = uri.host.to_string().to_ascii_lowercase();
        let creds = match self.digest.credentials(msg, kind, &realm) {
            None => {
                let asked = self.digest.asked_algorithm(msg, kind, &realm);
                return self.challenge(kind, &realm, false, asked, now);
            }
            Some(Err(m)) => return answer(400, m.reason()),
            Some(Ok(c)) => c,
        };
        let ha1 = match subscriber_ha1(store, creds.username(), &realm, creds.algorithm()).await {
            Ok(ha1) => ha1,
            Err(e) => {
                tracing::error!(
                    "subscriber lookup for {}@{realm} failed: {e}",
                    creds.username()
                );
                return Outcome::Answer(database_unavailable("Subscriber Database Unavailable"));
            }
        };
        // A digest uri naming this server without a user (SIPp's `sip:HOST:PORT`, the
        // address it sends to) is taken as well as the Request-URI.
        let names_this_server = |uri: &Uri<'_>| {
            uri.as_sip()
                .is_some_and(|sip| sip.user.is_none() && is_local(&sip.host))
        };
        match self
            .digest
            .verify_at_server(msg, &creds, ha1.as_ref(), now, names_this_server)
        {
            Verdict::Authorized => {
                let speaks_for = uri.user.is_some_and(|u| u == creds.username());
                if speaks_for {
                    Outcome::Authenticated
                } else {
                    answer(403, "Credentials Do Not Match the Identity")
                }
            }
            Verdict::Stale => self.challenge(kind, &realm, true, Some(creds.algorithm()), now),
            Verdict::Rejected => answer(403, "Forbidden"),
            Verdict::Malformed(m) => answer(400, m.reason()),
        }
    }

    fn challenge(
        &self,
        kind: Kind,
        realm: &str,
        stale: bool,
        asked: Option<Algorithm>,
        now: SystemTime,
    ) -> Outcome {
        let (reason, header) = match kind {
            Kind::Www => ("Unauthorized", "WWW-Authenticate"),
            Kind::Proxy => ("Proxy Authentication Required", "Proxy-Authenticate"),
        };
        let mut reply = Reply::new(kind.status(), reason);
        for c in self.digest.challenges(realm, stale, asked, now) {
            reply = reply.header(header, c);
        }
        Outcome::Answer(Decision::Reply(reply))
    }
}

fn answer(code: u16, reason: &'static str) -> Outcome {
    Outcome::Answer(Decision::Reply(Reply::new(code, reason)))
}

/// The subscriber's HA1 for `algorithm`: stored, or computed from a stored plain
/// password (the seed's `calculate_ha1`). `None` for an unknown user.
async fn subscriber_ha1(
    store: &Subscribers,
    user: &str,
    realm: &str,
    algorithm: Algorithm,
) -> Result<Option<Ha1>, serval_store::StoreError> {
    let Some(s) = store.get(user, realm).await? else {
        return Ok(None);
    };
    let stored = match algorithm {
        Algorithm::Md5 => s.ha1.as_deref(),
        Algorithm::Sha256 => s.ha1_sha256.as_deref(),
        // No column for it: computed from a plain password only.
        _ => None,
    };
    if let Some(ha1) = stored.and_then(|hex| Ha1::from_hex(algorithm, hex).ok()) {
        return Ok(Some(ha1));
    }
    Ok(s.password
        .as_deref()
        .map(|p| sip_auth::ha1(algorithm, user, realm, p)))
}
