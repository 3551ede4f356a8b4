//! How every command opens the database, and the `db` commands: `init`, `migrate`,
//! `backup`, `restore`.

use crate::error::CtlError;
use crate::progress::{self, CountLines};
use crate::target::Target;
use serval_store::{BackupCounts, Store, StoreError};
use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

/// Connects to the target's database (reading through its read-only login when one is
/// configured) with the schema this program needs. A database without any schema is
/// given it, as the server does at start (an SQLite file is created), and a note on
/// stderr says so; a schema of another version is an error that says what to do.
pub async fn open(target: &Target) -> Result<Store, CtlError> {
    let store = connect(target).await?;
    if store.schema_version().await? == 0 {
        let report = store.migrate().await?;
        eprintln!(
            "created the Serval schema (version {}) in {}",
            report.to, target.url
        );
    } else {
        store.check_schema().await?;
    }
    Ok(store)
}

/// Whether the database may hold data already: false only for an SQLite file that
/// is not there yet (connecting would create it).
pub fn may_exist(target: &Target) -> bool {
    let Some(path) = target.url.sqlite_path().and_then(Path::to_str) else {
        return true;
    };
    let file = path.split_once('?').map_or(path, |(file, _)| file);
    Path::new(file).exists()
}

/// Connects, whatever the schema.
async fn connect(target: &Target) -> Result<Store, CtlError> {
    let read_only = target.read_only.as_ref().map(|url| url.as_str());
    Ok(Store::connect_split(target.url.as_str(), read_only).await?)
}

/// `db init`: creates the database's schema, or brings it up to date.
pub async fn init(target: &Target) -> Result<(), CtlError> {
    let url = &target.url;
    let store = connect(target).await?;
    let report = store.migrate().await?;
    store.close().await;
    match report.from {
        0 => println!("{url}: schema created (version {})", report.to),
        from if from == report.to => {
            println!("{url}: schema is up to date (version {from})");
        }
        from => println!(
            "{url}: schema migrated from version {from} to {}",
            report.to
        ),
    }
    Ok(())
}

/// `db migrate`: applies the migrations the schema lacks (all of them to a new
/// database); prints `from → to`.
pub async fn migrate(target: &Target) -> Result<(), CtlError> {
    let store = connect(target).await?;
    let report = store.migrate().await?;
    store.close().await;
    if report.changed() {
        println!("schema version {} → {}", report.from, report.to);
    } else {
        println!(
            "schema version {} → {} (up to date)",
            report.from, report.to
        );
    }
    Ok(())
}

/// `db backup FILE`: every subscriber and binding, as JSON lines, to FILE (`-`:
/// stdout). A file appears only once complete (written beside it, then renamed).
pub async fn backup(target: &Target, file: &Path) -> Result<(), CtlError> {
    let store = open(target).await?;
    let shown = file.display().to_string();
    let rows = progress::counter("rows");
    let counts = if file == Path::new("-") {
        let out = CountLines::new(std::io::stdout().lock(), rows.clone());
        let counts = store.backup(out).await?;
        std::io::stdout().flush().map_err(CtlError::output)?;
        counts
    } else {
        let partial = partial_name(file);
        let failed = |source| CtlError::File {
            path: shown.clone(),
            source,
        };
        let out = File::create(&partial).map_err(failed)?;
        let counts = match store.backup(CountLines::new(&out, rows.clone())).await {
            Ok(counts) => counts,
            Err(err) => {
                let _ = std::fs::remove_file(&partial);
                return Err(err.into());
            }
        };
        out.sync_all().map_err(failed)?;
        std::fs::rename(&partial, file).map_err(failed)?;
        counts
    };
    rows.finish_and_clear();
    store.close().await;
    let summary = format!("backed up {} to {shown}", counted(counts));
    if file == Path::new("-") {
        eprintln!("{summary}");
    } else {
        println!("{summary}");
    }
    Ok(())
}

/// `db restore FILE`: replaces the subscribers and bindings with a backup's (`-`:
/// stdin), all or nothing.
pub async fn restore(target: &Target, file: &Path) -> Result<(), CtlError> {
    let store = open(target).await?;
    let shown = file.display().to_string();
    let (result, bar) = if file == Path::new("-") {
        let bar = progress::counter("bytes");
        let input = BufReader::new(bar.wrap_read(std::io::stdin().lock()));
        (store.restore(input).await, bar)
    } else {
        let input = File::open(file).map_err(|source| CtlError::File {
            path: shown.clone(),
            source,
        })?;
        let len = input.metadata().map_or(0, |m| m.len());
        let bar = progress::bytes(len);
        (
            store.restore(BufReader::new(bar.wrap_read(input))).await,
            bar,
        )
    };
    bar.finish_and_clear();
    store.close().await;
    let counts = result.map_err(|err| match err {
        StoreError::Backup { line, reason } => CtlError::Input {
            path: shown.clone(),
            line,
            reason,
        },
        StoreError::Io(source) => CtlError::File {
            path: shown.clone(),
            source,
        },
        other => other.into(),
    })?;
    println!("restored {} from {shown}", counted(counts));
    Ok(())
}

/// `3 subscribers and 1 binding`.
fn counted(counts: BackupCounts) -> String {
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "{} and {}",
        plural(counts.subscribers, "subscriber", "subscribers"),
        plural(counts.bindings, "binding", "bindings")
    )
}

/// `FILE.partial`, where a backup is written before it is complete.
fn partial_name(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}
