//! The routing pipeline: what SER's `route{}` block did for the seed, as typed Rust
//! (ARCHITECTURE.md steps 5–7). The proxy core hands up every new request that no Route
//! entry sends past us ([`RoutingRequest`]); [`Router::decide`] answers it:
//!
//! 1. Authentication ([`crate::authorize`]): REGISTER with 401, requests from local
//!    users with 407, as `[auth]` says.
//! 2. REGISTER for one of our domains: the registrar (RFC 3261 §10.3).
//! 3. A request for a user of one of our domains: a location lookup, forked by q; 404
//!    for an unknown user, 480 for a known one with no binding.
//! 4. Anything else: the relay policy ([`default_decision`]).
//!
//! Deciding may wait for the database (write-through and db-only modes); the proxy's
//! server transaction absorbs retransmissions meanwhile.

use crate::authorize::{Authorizer, Outcome};
use registrar::forking::targets;
use registrar::register::contact_values;
use registrar::service::RegisterError;
use registrar::{Aor, LocationService, LocationStore, Reach};
use serval_store::Store;
use sip_core::proxy::{Decision, Destination, Reply, RoutingRequest, default_decision};
use sip_msg::{Host, Message, Method};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The routing policy and the services it uses.
pub struct Router<S> {
    location: Arc<LocationService<S>>,
    subscribers: Store,
    auth: Option<Authorizer>,
    domains: Vec<String>,
    relay_ip_literals: bool,
}

impl<S: LocationStore> Router<S> {
    /// A router over `location` and the subscriber table of `subscribers`, serving
    /// `domains`; `auth` is `None` when authentication is off.
    pub fn new(
        location: Arc<LocationService<S>>,
        subscribers: Store,
        auth: Option<Authorizer>,
        domains: Vec<String>,
        relay_ip_literals: bool,
    ) -> Self {
        Router {
            location,
            subscribers,
            auth,
            domains,
            relay_ip_literals,
        }
    }

    /// The authenticator, for its periodic purge.
    pub fn authorizer(&self) -> Option<&Authorizer> {
        self.auth.as_ref()
    }

    /// Decides what to do with `req`.
    pub async fn decide(&self, req: &RoutingRequest, now: SystemTime) -> Decision {
        let msg = &req.message;
        let local = req.destination != Destination::Foreign;
        let register = msg.method() == Some(Method::Register);
        // Requests for the server itself (OPTIONS pings) are answered without a
        // challenge; a REGISTER is always checked.
        if let Some(auth) = &self.auth
            && (register || req.destination != Destination::Server)
        {
            let is_local = |h: &Host<'_>| self.is_local_domain(h);
            match auth
                .check(msg, req.from.remote.ip(), &self.subscribers, is_local, now)
                .await
            {
                Outcome::NotRequired | Outcome::Authenticated => {}
                Outcome::Answer(d) => return d,
            }
        }
        match msg.method() {
            Some(Method::Register) if local => self.register(req, now).await,
            _ if req.destination == Destination::LocalDomain => self.to_local_user(msg, now).await,
            _ => default_decision(req, self.relay_ip_literals),
        }
    }

    fn is_local_domain(&self, host: &Host<'_>) -> bool {
        let text = host.to_string();
        self.domains.iter().any(|d| d.eq_ignore_ascii_case(&text))
    }

    async fn register(&self, req: &RoutingRequest, now: SystemTime) -> Decision {
        let msg = &req.message;
        let Ok(to) = msg.to() else {
            return reply(400, "Malformed To header");
        };
        let Some(uri) = to.uri.as_sip() else {
            return reply(404, "Not Found");
        };
        if !self.is_local_domain(&uri.host) {
            // §10.3 step 3: the AOR is not one of the domain's.
            return reply(404, "Not Found");
        }
        let Some(aor) = Aor::from_uri(uri) else {
            return reply(400, "No user in To URI");
        };
        let reach = Reach {
            transport: req.from.transport,
            remote: req.from.remote,
            local: req.from.local,
        };
        let unix = unix_seconds(now);
        match self.location.register(msg, &aor, reach, unix).await {
            Ok(bindings) => {
                tracing::debug!("REGISTER {aor}: {} bindings", bindings.len());
                let mut ok = Reply::new(200, "OK");
                for c in contact_values(&bindings, unix) {
                    ok = ok.header("Contact", c);
                }
                if msg
                    .supported()
                    .flatten()
                    .any(|t| t.eq_ignore_ascii_case("path"))
                {
                    for p in msg.list(sip_msg::HeaderName::Path) {
                        ok = ok.header("Path", p);
                    }
                }
                Decision::Reply(ok.header("Date", httpdate::fmt_http_date(now)))
            }
            Err(RegisterError::Refused(r)) => {
                let mut out = Reply::new(r.code, r.reason);
                if let Some(min) = r.min_expires {
                    out = out.header("Min-Expires", min.to_string());
                }
                Decision::Reply(out)
            }
            Err(RegisterError::Store(e)) => {
                tracing::error!("REGISTER for {aor} not saved: {e}");
                database_unavailable("Location Database Unavailable")
            }
        }
    }

    async fn to_local_user(&self, msg: &Message, now: SystemTime) -> Decision {
        let Some(aor) = msg
            .request_uri()
            .and_then(|u| u.as_sip().and_then(Aor::from_uri))
        else {
            return reply(404, "Not Found");
        };
        match self.location.lookup(&aor, unix_seconds(now)).await {
            Ok(bindings) if bindings.is_empty() => {
                match self.subscribers.subscriber(aor.user(), aor.domain()).await {
                    Ok(Some(_)) => reply(480, "Temporarily Unavailable"),
                    Ok(None) => reply(404, "Not Found"),
                    Err(e) => {
                        tracing::error!("subscriber lookup for {aor} failed: {e}");
                        reply(404, "Not Found")
                    }
                }
            }
            Ok(bindings) => Decision::Relay(targets(&bindings)),
            Err(e) => {
                tracing::error!("location lookup for {aor} failed: {e}");
                database_unavailable("Location Database Unavailable")
            }
        }
    }
}

/// 500 with Retry-After: the database did not answer; the client may try again soon.
pub fn database_unavailable(reason: &'static str) -> Decision {
    Decision::Reply(Reply::new(500, reason).header("Retry-After", "5"))
}

fn reply(code: u16, reason: &'static str) -> Decision {
    Decision::Reply(Reply::new(code, reason))
}

/// Seconds since the Unix epoch.
pub fn unix_seconds(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
