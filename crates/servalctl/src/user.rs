//! The `user` commands: subscribers and their credentials.
//!
//! The digest HA1s are computed here with the realm equal to the domain, as SER's
//! `calculate_ha1` did: `MD5(user:domain:password)` and `SHA-256(user:domain:password)`
//! in lower-case hex. The plain password is kept only when asked (`--store-password`).

use crate::db;
use crate::error::CtlError;
use crate::password::PasswordInput;
use crate::progress;
use crate::target::Target;
use futures_util::TryStreamExt;
use serval_store::{StoreError, Subscriber};
use sip_auth::Algorithm;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

/// The two digest HA1s of `user` in `realm`: (MD5, SHA-256), lower-case hex.
/// (`sip-auth` computes them, as the server does.)
pub fn ha1_pair(user: &str, realm: &str, password: &str) -> (String, String) {
    let ha1 = |alg| {
        sip_auth::ha1(alg, user, realm, password)
            .as_str()
            .to_owned()
    };
    (ha1(Algorithm::Md5), ha1(Algorithm::Sha256))
}

/// `USER@DOMAIN` split, the domain in lower case; the reason when it is not one.
pub fn parse_address(text: &str) -> Result<(String, String), String> {
    let Some((user, domain)) = text.split_once('@') else {
        return Err(format!("`{text}` is not USER@DOMAIN"));
    };
    check_user(user).map_err(|reason| format!("`{text}`: {reason}"))?;
    check_domain(domain).map_err(|reason| format!("`{text}`: {reason}"))?;
    Ok((user.to_owned(), domain.to_ascii_lowercase()))
}

/// A user name as a SIP URI's user part can carry it.
fn check_user(user: &str) -> Result<(), String> {
    if user.is_empty() {
        return Err("the user name is empty".to_owned());
    }
    match user
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, ':' | '@'))
    {
        Some(c) => Err(format!("the user name contains {c:?}")),
        None => Ok(()),
    }
}

/// A domain name (or address literal).
fn check_domain(domain: &str) -> Result<(), String> {
    if domain.is_empty() {
        return Err("the domain is empty".to_owned());
    }
    match domain
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || *c == '@')
    {
        Some(c) => Err(format!("the domain contains {c:?}")),
        None => Ok(()),
    }
}

/// The subscriber `user@domain` with `password`'s HA1s, keeping the password itself
/// when `store_password`.
fn subscriber(
    user: String,
    domain: String,
    password: &str,
    email: Option<String>,
    store_password: bool,
) -> Subscriber {
    let (ha1, ha1_sha256) = ha1_pair(&user, &domain, password);
    Subscriber {
        username: user,
        domain,
        password: store_password.then(|| password.to_owned()),
        ha1: Some(ha1),
        ha1_sha256: Some(ha1_sha256),
        email,
    }
}

/// `user add USER@DOMAIN [PASSWORD | --password-stdin] [--email ADDR]
/// [--store-password]`. The address, its domain and that the user is new are checked
/// before the password is asked for; a failure changes nothing.
pub async fn add(
    target: &Target,
    address: &str,
    password_input: PasswordInput,
    email: Option<String>,
    store_password: bool,
) -> Result<(), CtlError> {
    let (user, domain) = parse_address(address).map_err(CtlError::Invalid)?;
    target.check_served(&domain)?;
    // A new SQLite file can't hold the user: ask first, so that a closed prompt
    // leaves no file behind.
    let password = if db::may_exist(target) {
        None
    } else {
        Some(password_input.read(&format!("{user}@{domain}"))?)
    };
    let store = db::open(target).await?;
    let result = async {
        if store.subscriber(&user, &domain).await?.is_some() {
            return Err(StoreError::AlreadyExists {
                user: user.clone(),
                domain: domain.clone(),
            }
            .into());
        }
        let password = match password {
            Some(password) => password,
            None => password_input.read(&format!("{user}@{domain}"))?,
        };
        let s = subscriber(user, domain, &password, email, store_password);
        store.add_subscriber(&s).await?;
        Ok::<_, CtlError>(s)
    }
    .await;
    store.close().await;
    let s = result?;
    println!("added {}@{}", s.username, s.domain);
    Ok(())
}

/// `user del USER@DOMAIN`.
pub async fn delete(target: &Target, address: &str) -> Result<(), CtlError> {
    let (user, domain) = parse_address(address).map_err(CtlError::Invalid)?;
    let store = db::open(target).await?;
    let deleted = store.delete_subscriber(&user, &domain).await;
    store.close().await;
    if !deleted? {
        return Err(CtlError::NotFound(format!("no subscriber {user}@{domain}")));
    }
    println!("deleted {user}@{domain}");
    Ok(())
}

/// `user passwd USER@DOMAIN [PASSWORD | --password-stdin] [--store-password]`: new
/// HA1s; the plain password is kept when asked or when the old one was kept. The
/// subscriber must exist before the password is asked for.
pub async fn passwd(
    target: &Target,
    address: &str,
    password: PasswordInput,
    store_password: bool,
) -> Result<(), CtlError> {
    let (user, domain) = parse_address(address).map_err(CtlError::Invalid)?;
    let store = db::open(target).await?;
    let result = async {
        let Some(old) = store.subscriber(&user, &domain).await? else {
            return Err(CtlError::NotFound(format!("no subscriber {user}@{domain}")));
        };
        let password = password.read(&format!("{user}@{domain}"))?;
        let keep = store_password || old.password.is_some();
        let (ha1, ha1_sha256) = ha1_pair(&user, &domain, &password);
        let changed = store
            .update_credentials(
                &user,
                &domain,
                keep.then_some(password.as_str()),
                &ha1,
                &ha1_sha256,
            )
            .await?;
        if changed {
            Ok::<_, CtlError>(())
        } else {
            Err(CtlError::NotFound(format!("no subscriber {user}@{domain}")))
        }
    }
    .await;
    store.close().await;
    result?;
    println!("password changed for {user}@{domain}");
    Ok(())
}

/// `user list [--domain D]`: one `USER@DOMAIN` a line (a tab and the e-mail address
/// when there is one), streamed.
pub async fn list(target: &Target, domain: Option<&str>) -> Result<(), CtlError> {
    let store = db::open(target).await?;
    let domain = domain.map(str::to_ascii_lowercase);
    let mut out = BufWriter::new(std::io::stdout().lock());
    let result = async {
        let mut rows = std::pin::pin!(store.subscribers(domain.as_deref()));
        while let Some(s) = rows.try_next().await? {
            match &s.email {
                Some(email) => writeln!(out, "{}@{}\t{email}", s.username, s.domain),
                None => writeln!(out, "{}@{}", s.username, s.domain),
            }
            .map_err(CtlError::output)?;
        }
        out.flush().map_err(CtlError::output)
    }
    .await;
    store.close().await;
    result
}

/// One row of an import file.
struct Row {
    user: String,
    domain: String,
    password: String,
    email: Option<String>,
}

/// Reads one CSV record: `Ok(None)` for the optional header line.
fn parse_record(record: &csv::StringRecord, first: bool) -> Result<Option<Row>, String> {
    let field = |i: usize| record.get(i).unwrap_or_default();
    if first
        && matches!(field(0).to_ascii_lowercase().as_str(), "user" | "username")
        && field(1).eq_ignore_ascii_case("domain")
    {
        return Ok(None);
    }
    if !(3..=4).contains(&record.len()) {
        return Err(format!(
            "{} fields, expected user,domain,password[,email]",
            record.len()
        ));
    }
    check_user(field(0))?;
    check_domain(field(1))?;
    if field(2).is_empty() {
        return Err("the password is empty".to_owned());
    }
    let email = Some(field(3)).filter(|e| !e.is_empty()).map(str::to_owned);
    Ok(Some(Row {
        user: field(0).to_owned(),
        domain: field(1).to_ascii_lowercase(),
        password: field(2).to_owned(),
        email,
    }))
}

/// The records of an import file with their line numbers; the `Err` of a record
/// names its line.
fn records(data: &[u8]) -> impl Iterator<Item = (u64, Result<Option<Row>, String>)> + '_ {
    let reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(data);
    let mut lines = Lines {
        data,
        offset: 0,
        line: 1,
    };
    reader
        .into_records()
        .enumerate()
        .map(move |(i, record)| match record {
            Ok(record) => {
                let line = lines.at(record.position());
                (line, parse_record(&record, i == 0))
            }
            Err(err) => {
                let line = lines.at(err.position());
                (line, Err(csv_reason(&err)))
            }
        })
}

/// Line numbers of records, counted from their byte offsets. (The csv crate's own line
/// numbers count from where it began reading, before the blank lines it skipped.)
struct Lines<'a> {
    data: &'a [u8],
    /// Newlines before `offset` are counted in `line`.
    offset: usize,
    line: u64,
}

impl Lines<'_> {
    /// The line of a record read from `position` (the first line after any blank
    /// ones). Positions only grow.
    fn at(&mut self, position: Option<&csv::Position>) -> u64 {
        let Some(position) = position else {
            return self.line;
        };
        let mut start = usize::try_from(position.byte()).unwrap_or(usize::MAX);
        while matches!(self.data.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        let start = start.min(self.data.len());
        if let Some(skipped) = self.data.get(self.offset..start) {
            let newlines = skipped.iter().filter(|&&b| b == b'\n').count();
            self.line += newlines as u64;
            self.offset = start;
        }
        self.line
    }
}

/// A CSV error's reason, without the position the message already starts with.
fn csv_reason(err: &csv::Error) -> String {
    match err.kind() {
        csv::ErrorKind::Utf8 { err, .. } => format!("not UTF-8 ({err})"),
        _ => err.to_string(),
    }
}

/// `user import FILE [--store-password]`: CSV `user,domain,password[,email]` (a header
/// line is recognised and skipped, empty lines too). The whole file is
/// checked first, so a bad line imports nothing; then every row is added in one
/// transaction.
pub async fn import(target: &Target, file: &Path, store_password: bool) -> Result<(), CtlError> {
    let shown = file.display().to_string();
    let data = read_input(file).map_err(|source| CtlError::File {
        path: shown.clone(),
        source,
    })?;
    let mut count = 0u64;
    for (line, record) in records(&data) {
        match record {
            Ok(Some(row)) => {
                if let Err(CtlError::Invalid(reason)) = target.check_served(&row.domain) {
                    return Err(CtlError::Input {
                        path: shown,
                        line,
                        reason: format!("{}@{}: {reason}", row.user, row.domain),
                    });
                }
                count += 1;
            }
            Ok(None) => {}
            Err(reason) => {
                return Err(CtlError::Input {
                    path: shown,
                    line,
                    reason,
                });
            }
        }
    }
    let store = db::open(target).await?;
    let bar = progress::bar(count, "subscribers");
    let rows = records(&data).filter_map(|(_, record)| {
        let row = record.ok().flatten()?;
        Some(subscriber(
            row.user,
            row.domain,
            &row.password,
            row.email,
            store_password,
        ))
    });
    let result = store.import_subscribers(rows.inspect(|_| bar.inc(1))).await;
    bar.finish_and_clear();
    store.close().await;
    match result {
        Ok(added) => {
            println!("imported {added} subscribers from {shown}");
            debug_assert_eq!(added, count);
            Ok(())
        }
        Err(StoreError::AlreadyExists { user, domain }) => {
            Err(already_there(&data, &shown, &user, &domain))
        }
        Err(err) => Err(err.into()),
    }
}

/// The error for `user@domain` refused by an import: twice in the file, or already
/// a subscriber; with its line.
fn already_there(data: &[u8], path: &str, user: &str, domain: &str) -> CtlError {
    let mut lines = records(data).filter_map(|(line, record)| {
        let row = record.ok().flatten()?;
        (row.user == user && row.domain == domain).then_some(line)
    });
    let first = lines.next().unwrap_or(0);
    let (line, reason) = match lines.next() {
        Some(second) => (
            second,
            format!(
                "{user}@{domain} is in the file twice (first on line {first}); nothing imported"
            ),
        ),
        None => (
            first,
            format!("subscriber {user}@{domain} already exists; nothing imported"),
        ),
    };
    CtlError::Input {
        path: path.to_owned(),
        line,
        reason,
    }
}

/// The whole of `file` (`-`: stdin).
fn read_input(file: &Path) -> std::io::Result<Vec<u8>> {
    if file == Path::new("-") {
        let mut data = Vec::new();
        std::io::stdin().lock().read_to_end(&mut data)?;
        Ok(data)
    } else {
        std::fs::read(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ha1_is_md5_and_sha256_of_user_realm_password() {
        let (md5, sha256) = ha1_pair("alice", "example.com", "secret");
        assert_eq!(md5, "b1726872c344b6dc8365b774f8fd6412");
        assert_eq!(
            sha256,
            "ed8925b20f9a77b8f8f8d5f8e4467fe32b866f7208ab9e4b20595e9821a0fdee"
        );
    }

    #[test]
    fn addresses() {
        assert_eq!(
            parse_address("Alice@Example.COM"),
            Ok(("Alice".to_owned(), "example.com".to_owned()))
        );
        for bad in [
            "alice",
            "@example.com",
            "alice@",
            "al ice@example.com",
            "a:b@c",
            "a@b@c",
        ] {
            assert!(parse_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn import_records_and_their_lines() {
        let data = b"user,domain,password,email\n\
                     alice, Example.com ,secret\n\
                     \n\
                     \"bob\",example.com,\"pa,ss\",bob@mail.test\n\
                     carol,example.com\n";
        let parsed: Vec<(u64, Result<Option<String>, String>)> = records(data)
            .map(|(line, r)| {
                (
                    line,
                    r.map(|row| {
                        row.map(|r| format!("{}@{} {} {:?}", r.user, r.domain, r.password, r.email))
                    }),
                )
            })
            .collect();
        assert_eq!(
            parsed,
            vec![
                (1, Ok(None)),
                (2, Ok(Some("alice@example.com secret None".to_owned()))),
                (
                    4,
                    Ok(Some(
                        "bob@example.com pa,ss Some(\"bob@mail.test\")".to_owned()
                    ))
                ),
                (
                    5,
                    Err("2 fields, expected user,domain,password[,email]".to_owned())
                ),
            ]
        );
    }
}
