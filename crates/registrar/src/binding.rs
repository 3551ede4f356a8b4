//! One registered contact of an address-of-record.

use sip_msg::{SipUri, Transport};
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

/// An address-of-record, `user@domain` with the domain in lower case (the user part is
/// case-sensitive, RFC 3261 §19.1.4). Shared text: copies (in the location table, in
/// changes to store) cost a reference count.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Aor(Arc<str>);

impl Aor {
    /// The AOR of a SIP URI: its user and host; `None` without a user part.
    pub fn from_uri(uri: &SipUri<'_>) -> Option<Aor> {
        let user = uri.user?;
        let mut s = String::with_capacity(user.len() + 1 + 32);
        s.push_str(user);
        s.push('@');
        let domain_at = s.len();
        match uri.host {
            sip_msg::Host::Domain(d) => s.push_str(d),
            host => s.push_str(&host.to_string()),
        }
        s[domain_at..].make_ascii_lowercase();
        Some(Aor(s.into()))
    }

    /// An AOR from its text (as stored).
    pub fn from_text(s: &str) -> Aor {
        match s.rsplit_once('@') {
            Some((user, domain)) => Aor(format!("{user}@{}", domain.to_ascii_lowercase()).into()),
            None => Aor(s.into()),
        }
    }

    /// `user@domain`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The domain part.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }

    /// The user part.
    pub fn user(&self) -> &str {
        self.0.rsplit_once('@').map_or(&self.0, |(u, _)| u)
    }
}

impl fmt::Display for Aor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a REGISTER reached us: what a request to the binding uses to get back to the UA
/// when its Contact is not reachable directly (a NAT, an ephemeral TCP port).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reach {
    /// The transport the REGISTER came over.
    pub transport: Transport,
    /// Its source address and port.
    pub remote: SocketAddr,
    /// Our socket it arrived on.
    pub local: Option<SocketAddr>,
    /// The UA is behind a NAT: requests go to `remote` (through the NAT's mapping),
    /// not to the private address of its Contact (SER's `fix_nated_register`).
    pub nat: bool,
}

impl Reach {
    /// `udp:203.0.113.5:40000`, as stored in the database.
    pub fn remote_text(&self) -> String {
        format!("{}:{}", self.transport.uri_token(), self.remote)
    }

    /// `udp:192.0.2.1:5060`, as stored in the database.
    pub fn local_text(&self) -> Option<String> {
        self.local
            .map(|l| format!("{}:{l}", self.transport.uri_token()))
    }

    /// Reads back what [`Reach::remote_text`] and [`Reach::local_text`] wrote.
    pub fn from_text(remote: &str, local: Option<&str>) -> Option<Reach> {
        let split = |s: &str| -> Option<(Transport, SocketAddr)> {
            let (t, addr) = s.split_once(':')?;
            Some((Transport::from_token(t)?, addr.parse().ok()?))
        };
        let (transport, remote) = split(remote)?;
        Some(Reach {
            transport,
            remote,
            local: local.and_then(split).map(|(_, a)| a),
            nat: false,
        })
    }
}

/// One registered contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The Contact URI as the UA sent it (without the header parameters).
    pub contact: Arc<str>,
    /// When it expires, in Unix seconds.
    pub expires: i64,
    /// Its q value in thousandths (1000 when the UA gave none).
    pub q: u16,
    /// The Call-ID of the REGISTER that made it.
    pub call_id: Arc<str>,
    /// That REGISTER's CSeq number.
    pub cseq: u32,
    /// `+sip.instance` (RFC 5626), without the angle brackets' quotes.
    pub instance: Option<Arc<str>>,
    /// `reg-id` (RFC 5626).
    pub reg_id: Option<u32>,
    /// The Path header values (RFC 3327), in order: Route entries towards the UA.
    pub path: Vec<String>,
    /// Where the REGISTER came from.
    pub reach: Option<Reach>,
    /// The UA's User-Agent header.
    pub user_agent: Option<Arc<str>>,
    /// When it was last written, in Unix seconds.
    pub last_modified: i64,
}

impl Binding {
    /// Seconds left at `now` (0 when expired).
    pub fn remaining(&self, now: i64) -> u32 {
        u32::try_from((self.expires - now).max(0)).unwrap_or(u32::MAX)
    }

    /// Whether it is still valid at `now`.
    pub fn is_live(&self, now: i64) -> bool {
        self.expires > now
    }
}
