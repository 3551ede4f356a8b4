//! The routing pipeline: what SER's `route{}` block did for the seed, as typed Rust
//! (ARCHITECTURE.md steps 5–7). The proxy core hands up every new request that no Route
//! entry sends past us ([`RoutingRequest`]); [`Router::decide`] answers it:
//!
//! 1. Authentication ([`crate::authorize`]): REGISTER with 401, requests from local
//!    users with 407, as `[auth]` says.
//! 2. REGISTER for one of our domains: the registrar (RFC 3261 §10.3).
//! 3. A telephone number (`tel:`, or `user=phone`) becomes the SIP URI ENUM gives it,
//!    when it has one (RFC 6116).
//! 4. A request for a user of one of our domains: a location lookup, forked by q; 404
//!    for an unknown user, 480 for a known one with no binding.
//! 5. A request for another domain: the relay policy (`[routing] relay`, 403 for whoever
//!    may not), then RFC 3263 through DNS ([`Outbound`]).
//! 6. Anything else (the server itself): [`default_decision`].
//!
//! Deciding may wait for the database (write-through and db-only modes); the proxy's
//! server transaction absorbs retransmissions meanwhile.

use crate::authorize::{Authorizer, Outcome};
use crate::config::RelayPolicy;
use crate::outbound::Outbound;
use crate::subscriber_cache::Subscribers;
use crate::unavailable::database_unavailable;
use ipnet::IpNet;
use registrar::forking::targets;
use registrar::{Aor, LocationService, LocationStore, Reach, unix_seconds};
use sip_core::LocalDomains;
use sip_core::proxy::nat::{self, NatConfig};
use sip_core::proxy::{Decision, Destination, Reply, RoutingRequest, default_decision};
use sip_msg::{Host, Method, Uri};
use std::sync::Arc;
use std::time::SystemTime;

/// The routing policy and the services it uses.
pub struct Router<S> {
    location: Arc<LocationService<S>>,
    subscribers: Subscribers,
    auth: Option<Authorizer>,
    domains: LocalDomains,
    relay: Relay,
    outbound: Outbound,
    nat: NatConfig,
}

/// Who may reach other domains through us.
#[derive(Debug, Clone)]
pub struct Relay {
    /// The policy.
    pub policy: RelayPolicy,
    /// Sources that may always relay (`[auth] trusted`: the other domain's router, a
    /// gateway).
    pub trusted: Vec<IpNet>,
}

impl<S: LocationStore> Router<S> {
    /// A router over `location` and the subscriber table of `subscribers`, serving
    /// `domains`; `auth` is `None` when authentication is off; requests for other
    /// domains go out through `outbound` when `relay` allows.
    pub fn new(
        location: Arc<LocationService<S>>,
        subscribers: Subscribers,
        auth: Option<Authorizer>,
        domains: LocalDomains,
        relay: Relay,
        outbound: Outbound,
        nat: NatConfig,
    ) -> Self {
        Router {
            location,
            subscribers,
            auth,
            domains,
            relay,
            outbound,
            nat,
        }
    }

    /// The subscriber table, through its cache.
    pub fn subscribers(&self) -> &Subscribers {
        &self.subscribers
    }

    /// Routing to other domains (its blocklist learns from failed branches).
    pub fn outbound(&self) -> &Outbound {
        &self.outbound
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
        let mut authenticated = false;
        // Requests for the server itself (OPTIONS pings) are answered without a
        // challenge; a REGISTER is always checked.
        if let Some(auth) = &self.auth
            && (register || req.destination != Destination::Server)
        {
            let is_local = |h: &Host<'_>| self.domains.contains_host(h);
            match auth
                .check(msg, req.from.remote.ip(), &self.subscribers, is_local, now)
                .await
            {
                Outcome::NotRequired => {}
                Outcome::Authenticated => authenticated = true,
                Outcome::Answer(d) => return d,
            }
        }
        if register && local {
            return self.register(req, now).await;
        }
        let number = self.enum_number(req);
        let enum_uri = match &number {
            Some(n) => self.outbound.enum_uri(n).await,
            None => None,
        };
        let target_is_local = match &enum_uri {
            Some(uri) => Uri::parse(uri)
                .ok()
                .and_then(|u| u.as_sip().map(|s| self.domains.contains_host(&s.host)))
                .unwrap_or(false),
            None => req.destination == Destination::LocalDomain,
        };
        if target_is_local {
            let uri = enum_uri.as_deref().or(msg.request_uri_str()).unwrap_or("");
            return self.to_local_user(uri, now).await;
        }
        if enum_uri.is_none() && req.destination != Destination::Foreign {
            return default_decision(req, false);
        }
        if enum_uri.is_none() && msg.request_uri().is_some_and(|u| matches!(u, Uri::Tel(_))) {
            return reply(404, "Number Not Found");
        }
        if !self.may_relay(req, authenticated) {
            tracing::debug!(
                "{} from {}: relaying to another domain denied",
                msg.method_str().unwrap_or("?"),
                req.from.remote
            );
            return reply(403, "Relaying Denied");
        }
        self.outbound.relay(req, enum_uri).await
    }

    /// The telephone number of a `tel:` Request-URI, or of a SIP one with `user=phone`,
    /// for ENUM.
    fn enum_number(&self, req: &RoutingRequest) -> Option<String> {
        if req.message.count(sip_msg::HeaderName::Route) > 0 {
            return None;
        }
        match req.message.request_uri()? {
            Uri::Tel(tel) if tel.is_global() => Some(tel.digits()),
            Uri::Sip(sip)
                if sip
                    .user_param()
                    .is_some_and(|u| u.eq_ignore_ascii_case("phone")) =>
            {
                let user = sip.user?;
                let number = user.split(';').next().unwrap_or(user);
                number.starts_with('+').then(|| number.to_owned())
            }
            _ => None,
        }
    }

    /// Whether `req` may go to another domain through us (`[routing] relay`).
    fn may_relay(&self, req: &RoutingRequest, authenticated: bool) -> bool {
        let source = req.from.remote.ip();
        let trusted = self.relay.trusted.iter().any(|net| net.contains(&source));
        match self.relay.policy {
            RelayPolicy::Open => true,
            _ if authenticated || trusted => true,
            RelayPolicy::LocalFrom => req
                .message
                .from()
                .ok()
                .and_then(|f| f.uri.as_sip().map(|s| self.domains.contains_host(&s.host)))
                .unwrap_or(false),
            RelayPolicy::Authenticated => false,
        }
    }

    async fn register(&self, req: &RoutingRequest, now: SystemTime) -> Decision {
        let msg = &req.message;
        let reach = Reach {
            transport: req.from.transport,
            remote: req.from.remote,
            local: req.from.local,
            nat: nat::behind_nat(msg, req.from, &self.nat),
        };
        match self.location.respond(msg, &self.domains, reach, now).await {
            Ok(reply) => Decision::Reply(reply),
            Err(e) => {
                tracing::error!("REGISTER from {} not saved: {e}", req.from.remote);
                database_unavailable("Location Database Unavailable")
            }
        }
    }

    async fn to_local_user(&self, uri: &str, now: SystemTime) -> Decision {
        let Some(aor) = Uri::parse(uri)
            .ok()
            .and_then(|u| u.as_sip().and_then(Aor::from_uri))
        else {
            return reply(404, "Not Found");
        };
        match self.location.lookup(&aor, unix_seconds(now)).await {
            Ok(bindings) if bindings.is_empty() => {
                match self.subscribers.get(aor.user(), aor.domain()).await {
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

fn reply(code: u16, reason: &'static str) -> Decision {
    Decision::Reply(Reply::new(code, reason))
}
