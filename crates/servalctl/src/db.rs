//! How every command opens the database, and the `db` commands: `init`, `migrate`,
//! `backup`, `restore`.

use crate::error::CtlError;
use serval::config::DatabaseUrl;
use serval_store::{BackupCounts, Store, StoreError};
use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

/// What a command needs of the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Only to reach it (an SQLite file is created).
    Reach,
    /// The current schema, with the data in it (an SQLite file must exist).
    Schema,
}

/// Connects to `url`. For [`Need::Schema`], a missing SQLite file or schema is an
/// error that says to run `servalctl db init`, and a schema of another version one
/// that says what to do; no file is created.
pub async fn open(url: &DatabaseUrl, need: Need) -> Result<Store, CtlError> {
    if need == Need::Schema
        && let Some(path) = sqlite_file(url)
        && !path.exists()
    {
        return Err(CtlError::NoDatabase(path));
    }
    let store = Store::connect(url.as_str()).await?;
    if need == Need::Schema {
        store.check_schema().await?;
    }
    Ok(store)
}

/// The file of an SQLite URL, without its `?options`.
fn sqlite_file(url: &DatabaseUrl) -> Option<PathBuf> {
    let path = url.sqlite_path()?.to_str()?;
    let path = path.split_once('?').map_or(path, |(file, _)| file);
    Some(PathBuf::from(path))
}

/// `db init`: creates the database's schema, or brings it up to date.
pub async fn init(url: &DatabaseUrl) -> Result<(), CtlError> {
    let store = open(url, Need::Reach).await?;
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

/// `db migrate`: applies the migrations the schema lacks; prints `from → to`.
pub async fn migrate(url: &DatabaseUrl) -> Result<(), CtlError> {
    if let Some(path) = sqlite_file(url).filter(|path| !path.exists()) {
        return Err(CtlError::NoDatabase(path));
    }
    let store = open(url, Need::Reach).await?;
    if store.schema_version().await? == 0 {
        return Err(StoreError::NoSchema.into());
    }
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
pub async fn backup(url: &DatabaseUrl, file: &Path) -> Result<(), CtlError> {
    let store = open(url, Need::Schema).await?;
    let shown = file.display().to_string();
    let counts = if file == Path::new("-") {
        let counts = store.backup(std::io::stdout().lock()).await?;
        std::io::stdout().flush().map_err(CtlError::output)?;
        counts
    } else {
        let partial = partial_name(file);
        let failed = |source| CtlError::File {
            path: shown.clone(),
            source,
        };
        let out = File::create(&partial).map_err(failed)?;
        let counts = match store.backup(&out).await {
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
pub async fn restore(url: &DatabaseUrl, file: &Path) -> Result<(), CtlError> {
    let store = open(url, Need::Schema).await?;
    let shown = file.display().to_string();
    let result = if file == Path::new("-") {
        store.restore(std::io::stdin().lock()).await
    } else {
        let input = File::open(file).map_err(|source| CtlError::File {
            path: shown.clone(),
            source,
        })?;
        store.restore(BufReader::new(input)).await
    };
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
