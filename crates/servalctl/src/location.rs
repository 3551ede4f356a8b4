//! The `location` commands: the registrar's bindings as the database holds them.

use crate::db;
use crate::error::CtlError;
use crate::target::Target;
use futures_util::TryStreamExt;
use serval_store::BindingRecord;
use std::io::{BufWriter, Write};
use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in unix seconds.
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// An AOR as the registrar stores it: without a `sip:`/`sips:` scheme, the domain in
/// lower case.
fn normalize_aor(aor: &str) -> String {
    let lower = aor.to_ascii_lowercase();
    let aor = if lower.starts_with("sips:") {
        &aor[5..]
    } else if lower.starts_with("sip:") {
        &aor[4..]
    } else {
        aor
    };
    match aor.rsplit_once('@') {
        Some((user, domain)) => format!("{user}@{}", domain.to_ascii_lowercase()),
        None => aor.to_owned(),
    }
}

/// A q-value in thousandths as written in SIP: `1`, `0.5`, `0.125`.
fn q_text(q: u16) -> String {
    let (whole, frac) = (q / 1000, q % 1000);
    if frac == 0 {
        return whole.to_string();
    }
    let frac = format!("{frac:03}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

/// Seconds left until `expires`: `3600s`, or `expired`.
fn remaining(expires: i64, now: i64) -> String {
    let left = expires.saturating_sub(now);
    if left > 0 {
        format!("{left}s")
    } else {
        "expired".to_owned()
    }
}

/// One line of `location list`: aor, contact, expires, q, received, user agent,
/// separated by tabs, `-` for what is missing.
fn list_line(b: &BindingRecord, now: i64) -> String {
    format!(
        "{}\t{}\t{}\tq={}\t{}\t{}",
        b.aor,
        b.contact,
        remaining(b.expires, now),
        q_text(b.q),
        b.received.as_deref().unwrap_or("-"),
        b.user_agent.as_deref().unwrap_or("-"),
    )
}

/// `location list [--domain D]`: every binding, one line each, streamed in AOR order.
pub async fn list(target: &Target, domain: Option<&str>) -> Result<(), CtlError> {
    let store = db::open(target).await?;
    let now = now();
    let mut out = BufWriter::new(std::io::stdout().lock());
    let result = async {
        let mut rows = std::pin::pin!(store.list_bindings(domain));
        while let Some(b) = rows.try_next().await? {
            writeln!(out, "{}", list_line(&b, now)).map_err(CtlError::output)?;
        }
        out.flush().map_err(CtlError::output)
    }
    .await;
    store.close().await;
    result
}

/// `location show AOR`: every field of each binding of AOR.
pub async fn show(target: &Target, aor: &str) -> Result<(), CtlError> {
    let aor = normalize_aor(aor);
    let store = db::open(target).await?;
    let bindings = store.bindings(&aor).await;
    store.close().await;
    let bindings = bindings?;
    if bindings.is_empty() {
        return Err(CtlError::NotFound(format!("no bindings for {aor}")));
    }
    let now = now();
    let mut text = format!("{aor}\n");
    for b in &bindings {
        let optional = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
        text += &format!("  contact: {}\n", b.contact);
        text += &format!(
            "    expires: {} (at {})\n",
            remaining(b.expires, now),
            b.expires
        );
        text += &format!("    q: {}\n", q_text(b.q));
        text += &format!("    call-id: {}\n", b.call_id);
        text += &format!("    cseq: {}\n", b.cseq);
        text += &format!("    instance: {}\n", optional(&b.instance));
        text += &format!(
            "    reg-id: {}\n",
            b.reg_id.map_or_else(|| "-".to_owned(), |id| id.to_string())
        );
        text += &format!("    path: {}\n", optional(&b.path));
        text += &format!("    received: {}\n", optional(&b.received));
        text += &format!("    socket: {}\n", optional(&b.socket));
        text += &format!("    user-agent: {}\n", optional(&b.user_agent));
        text += &format!("    flags: {}\n", b.flags);
        text += &format!("    last modified: {}\n", b.last_modified);
    }
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(CtlError::output)
}

/// `location del AOR`: removes every binding of AOR.
pub async fn delete(target: &Target, aor: &str) -> Result<(), CtlError> {
    let aor = normalize_aor(aor);
    let store = db::open(target).await?;
    let deleted = store.delete_aor(&aor).await;
    store.close().await;
    match deleted? {
        0 => Err(CtlError::NotFound(format!("no bindings for {aor}"))),
        1 => {
            println!("deleted 1 binding of {aor}");
            Ok(())
        }
        n => {
            println!("deleted {n} bindings of {aor}");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_values() {
        assert_eq!(q_text(1000), "1");
        assert_eq!(q_text(500), "0.5");
        assert_eq!(q_text(125), "0.125");
        assert_eq!(q_text(0), "0");
        assert_eq!(q_text(50), "0.05");
    }

    #[test]
    fn aors_are_normalized() {
        assert_eq!(normalize_aor("sip:alice@Example.COM"), "alice@example.com");
        assert_eq!(normalize_aor("SIPS:Alice@example.com"), "Alice@example.com");
        assert_eq!(normalize_aor("alice@example.com"), "alice@example.com");
    }

    #[test]
    fn expiry_is_relative() {
        assert_eq!(remaining(1100, 1000), "100s");
        assert_eq!(remaining(1000, 1000), "expired");
    }
}
