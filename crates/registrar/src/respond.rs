//! REGISTER from request to response (RFC 3261 §10.3): the To URI checked against our
//! domains, the AOR's bindings updated by the [`LocationService`], and the response
//! assembled: the 200 with every live Contact and its expiry, Supported, Require:
//! outbound when a flow was registered (RFC 5626 §6), the Path the UA asked to be kept
//! (RFC 3327) and Date; or the refusal. The server only wires it in, with how the
//! request was reached.

use crate::binding::{Aor, Reach};
use crate::register::contact_values;
use crate::service::{LocationService, RegisterError};
use crate::store::{LocationStore, StoreError};
use sip_core::{LocalDomains, Reply};
use sip_msg::headers::Contact;
use sip_msg::{HeaderName, Message};
use std::time::{SystemTime, UNIX_EPOCH};

impl<S: LocationStore> LocationService<S> {
    /// The response to the REGISTER `msg`, reached over `reach`, at `now`, for a server
    /// of `domains`. `Err` only when the database failed (nothing was changed): the
    /// caller answers that (500 with Retry-After) and logs it.
    pub async fn respond(
        &self,
        msg: &Message,
        domains: &LocalDomains,
        reach: Reach,
        now: SystemTime,
    ) -> Result<Reply, StoreError> {
        let Ok(to) = msg.to() else {
            return Ok(Reply::new(400, "Malformed To header"));
        };
        let Some(uri) = to.uri.as_sip() else {
            return Ok(Reply::new(404, "Not Found"));
        };
        if !domains.contains_host(&uri.host) {
            // §10.3 step 3: the AOR is not one of the domain's.
            return Ok(Reply::new(404, "Not Found"));
        }
        let Some(aor) = Aor::from_uri(uri) else {
            return Ok(Reply::new(400, "No user in To URI"));
        };
        let unix = unix_seconds(now);
        let bindings = match self.register(msg, &aor, reach, unix).await {
            Ok(bindings) => bindings,
            Err(RegisterError::Refused(refusal)) => return Ok(refusal),
            Err(RegisterError::Store(e)) => return Err(e),
        };
        tracing::debug!("REGISTER {aor}: {} bindings", bindings.len());
        let mut ok = Reply::new(200, "OK");
        for c in contact_values(&bindings, unix) {
            ok = ok.header("Contact", c);
        }
        ok = ok.header("Supported", sip_core::sanity::SUPPORTED_HEADER);
        if bindings.iter().any(|b| b.reg_id.is_some()) && registers_flow(msg) {
            ok = ok.header("Require", "outbound");
        }
        if msg
            .supported()
            .flatten()
            .any(|t| t.eq_ignore_ascii_case("path"))
        {
            for p in msg.list(HeaderName::Path) {
                ok = ok.header("Path", p);
            }
        }
        Ok(ok.header("Date", http_date(now)))
    }
}

/// Whether a REGISTER registers an RFC 5626 flow: a Contact with `reg-id` and
/// `+sip.instance`.
fn registers_flow(msg: &Message) -> bool {
    msg.contacts().flatten().any(|c| match c {
        Contact::Addr(a) => a.reg_id().is_some() && a.instance().is_some(),
        Contact::Star => false,
    })
}

/// The Date header value for `now` (RFC 3261 §20.17), formatted once a second per
/// thread: every 200 to a REGISTER carries it.
fn http_date(now: SystemTime) -> String {
    thread_local! {
        static LAST: std::cell::RefCell<(i64, String)> = const { std::cell::RefCell::new((i64::MIN, String::new())) };
    }
    let second = unix_seconds(now);
    LAST.with_borrow_mut(|(at, text)| {
        if *at != second {
            *at = second;
            *text = httpdate::fmt_http_date(now);
        }
        text.clone()
    })
}

/// Seconds since the Unix epoch.
pub fn unix_seconds(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
