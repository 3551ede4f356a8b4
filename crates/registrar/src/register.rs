//! REGISTER processing (RFC 3261 §10.3 steps 6–8, RFC 3327, RFC 5626 §6) as a pure
//! function: the request and the AOR's bindings in, the new bindings and the changes to
//! store out, or the refusal to answer. Authentication and the domain check come first
//! (steps 1–5, in the router).

use crate::binding::{Aor, Binding, Reach};
use crate::store::Change;
use sip_core::Reply;
use sip_msg::headers::Contact;
use sip_msg::{Message, Uri};
use std::sync::Arc;

/// The registrar's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrarConfig {
    /// Expiry when the UA gives none (seconds).
    pub default_expires: u32,
    /// Shorter registrations are refused with 423 and this Min-Expires.
    pub min_expires: u32,
    /// Longer registrations are shortened to this.
    pub max_expires: u32,
    /// Most bindings one AOR may hold (0: no limit).
    pub max_contacts: usize,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        RegistrarConfig {
            default_expires: 3600,
            min_expires: 60,
            max_expires: 86_400,
            max_contacts: 16,
        }
    }
}

/// What a REGISTER does to an AOR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The AOR's live bindings once the request is applied.
    pub bindings: Vec<Binding>,
    /// What to write to the database (empty for a query).
    pub changes: Vec<Change>,
}

/// Plans the REGISTER `req` for `aor`, whose bindings are `current`, received over
/// `reach` at `now` (Unix seconds).
pub fn plan(
    req: &Message,
    aor: &Aor,
    current: &[Binding],
    reach: Reach,
    now: i64,
    cfg: &RegistrarConfig,
) -> Result<Plan, Reply> {
    let call_id = req
        .call_id()
        .map_err(|_| Reply::new(400, "Missing Call-ID"))?;
    let cseq = req
        .cseq()
        .map_err(|_| Reply::new(400, "Malformed CSeq"))?
        .seq;
    let header_expires = req
        .expires()
        .map_err(|_| Reply::new(400, "Malformed Expires header"))?;
    let contacts: Vec<Contact<'_>> = req
        .contacts()
        .collect::<Result<_, _>>()
        .map_err(|_| Reply::new(400, "Malformed Contact header"))?;
    let mut bindings: Vec<Binding> = current.iter().filter(|b| b.is_live(now)).cloned().collect();
    let mut changes = Vec::new();
    // An older request of the same registration (same Call-ID, lower CSeq) must not undo
    // a newer one (§10.3 step 7). The same CSeq is the same request again (a
    // retransmission that outlived its transaction, or a second node in db-only mode):
    // applying it again changes nothing, so it is not refused.
    let out_of_order = |b: &Binding| &*b.call_id == call_id && cseq < b.cseq;

    if contacts.iter().any(|c| matches!(c, Contact::Star)) {
        if contacts.len() != 1 || header_expires != Some(0) {
            return Err(Reply::new(
                400,
                "Contact: * needs Expires: 0 and no other Contact",
            ));
        }
        if bindings.iter().any(out_of_order) {
            return Err(Reply::new(400, "CSeq Out of Order"));
        }
        changes.extend(
            bindings
                .drain(..)
                .map(|b| Change::Delete(aor.clone(), b.contact)),
        );
        return Ok(Plan { bindings, changes });
    }

    let path: Vec<String> = req
        .list(sip_msg::HeaderName::Path)
        .map(str::to_owned)
        .collect();
    let user_agent: Option<Arc<str>> = req.user_agent().map(Arc::from);
    let call_id: Arc<str> = Arc::from(call_id);
    for contact in &contacts {
        let Contact::Addr(addr) = contact else {
            continue;
        };
        let requested = addr
            .expires()
            .or(header_expires)
            .unwrap_or(cfg.default_expires);
        if requested != 0 && requested < cfg.min_expires {
            return Err(Reply::new(423, "Interval Too Brief")
                .header("Min-Expires", cfg.min_expires.to_string()));
        }
        let expires = requested.min(cfg.max_expires);
        let instance: Option<Arc<str>> = addr.instance().map(|i| Arc::from(&*i));
        let reg_id = addr.reg_id();
        let same = |b: &Binding| match (&instance, &b.instance) {
            // RFC 5626 §6: one binding per instance and reg-id (RFC 5627: per instance).
            (Some(i), Some(bi)) => i == bi && reg_id == b.reg_id,
            _ => same_contact(&b.contact, addr.uri),
        };
        if let Some(pos) = bindings.iter().position(same) {
            if out_of_order(&bindings[pos]) {
                return Err(Reply::new(400, "CSeq Out of Order"));
            }
            let old = bindings.remove(pos);
            if &*old.contact != addr.uri.as_str() || expires == 0 {
                changes.push(Change::Delete(aor.clone(), old.contact));
            }
        }
        if expires == 0 {
            continue;
        }
        let binding = Binding {
            contact: Arc::from(addr.uri.as_str()),
            expires: now + i64::from(expires),
            q: addr.q().unwrap_or(1000),
            call_id: call_id.clone(),
            cseq,
            instance,
            reg_id,
            path: path.clone(),
            reach: Some(reach),
            user_agent: user_agent.clone(),
            last_modified: now,
        };
        changes.retain(|c| !matches!(c, Change::Save(_, b) if b.contact == binding.contact));
        changes.push(Change::Save(aor.clone(), binding.clone()));
        bindings.push(binding);
    }
    if cfg.max_contacts > 0 && bindings.len() > cfg.max_contacts {
        return Err(Reply::new(403, "Too Many Contacts"));
    }
    Ok(Plan { bindings, changes })
}

/// Whether a stored contact is the Contact URI of a request (RFC 3261 §10.3 step 6
/// compares them with the URI equality of §19.1.4).
fn same_contact(stored: &str, uri: Uri<'_>) -> bool {
    stored == uri.as_str() || Uri::parse(stored).is_ok_and(|s| s.matches(&uri))
}

/// The Contact values of the 200 OK: every binding with the seconds it has left
/// (§10.3 step 8), its q value and its instance and reg-id.
pub fn contact_values(bindings: &[Binding], now: i64) -> Vec<String> {
    bindings
        .iter()
        .map(|b| {
            let mut v = String::with_capacity(b.contact.len() + 24);
            v.push('<');
            v.push_str(&b.contact);
            v.push_str(">;expires=");
            v.push_str(itoa::Buffer::new().format(b.remaining(now)));
            if b.q != 1000 {
                v.push_str(&format!(";q={}", format_q(b.q)));
            }
            if let Some(i) = &b.instance {
                v.push_str(&format!(";+sip.instance=\"<{i}>\""));
            }
            if let Some(r) = b.reg_id {
                v.push_str(&format!(";reg-id={r}"));
            }
            v
        })
        .collect()
}

/// A q value in thousandths as RFC 3261 writes it (`0.5`, `0.125`, `1`).
fn format_q(q: u16) -> String {
    if q >= 1000 {
        return "1".into();
    }
    let s = format!("0.{q:03}");
    s.trim_end_matches('0').to_owned()
}

#[cfg(test)]
mod tests;
