//! What a command acts on: the server's config file (`-c FILE`, else `$SERVAL_CONFIG`,
//! else `/etc/serval/serval.toml` when it exists, as the Debian package installs it;
//! an empty `SERVAL_CONFIG` means no config file), the database it names (or `--db`),
//! and the domains that server serves.

use crate::error::CtlError;
use serval_config::LocalDomains;
use serval_config::{Config, DatabaseUrl, Overrides};
use std::path::PathBuf;

/// Where the packaged server's config file is.
pub const INSTALLED_CONFIG: &str = "/etc/serval/serval.toml";

/// The environment variable naming the config file when `-c` is absent.
pub const CONFIG_VARIABLE: &str = "SERVAL_CONFIG";

/// The config file when `-c` is absent: the one `$SERVAL_CONFIG` names (none when it is
/// empty), else the installed one when it exists.
pub fn default_config() -> Option<PathBuf> {
    match std::env::var_os(CONFIG_VARIABLE) {
        Some(value) => Some(PathBuf::from(value)).filter(|path| !path.as_os_str().is_empty()),
        None => Some(PathBuf::from(INSTALLED_CONFIG)).filter(|path| path.exists()),
    }
}

/// The database and, when a config file is in use, the domains served.
#[derive(Debug, Clone)]
pub struct Target {
    /// The database, with the credentials that write.
    pub url: DatabaseUrl,
    /// The same database with read-only credentials, for lookups and reports.
    pub read_only: Option<DatabaseUrl>,
    /// The config file's domains with this host's names and addresses; `None` without
    /// a config file (the server's `-d` options can't be seen from here).
    served: Option<Served>,
}

#[derive(Debug, Clone)]
struct Served {
    file: PathBuf,
    domains: LocalDomains,
}

impl Target {
    /// From the command line: `config` (`-c`, or `$SERVAL_CONFIG`) and `database`
    /// (`--db`, which wins over the file's).
    pub fn resolve(
        config: Option<PathBuf>,
        database: Option<DatabaseUrl>,
    ) -> Result<Target, CtlError> {
        let file = config.or_else(default_config);
        let overrides = Overrides {
            database,
            ..Overrides::default()
        };
        let loaded = Config::load(file.as_deref(), overrides)?;
        let served = file.map(|file| Served {
            domains: serval_config::local_domains(&loaded.domains, &loaded.listen),
            file,
        });
        Ok(Target {
            url: loaded.database,
            read_only: loaded.database_read_only,
            served,
        })
    }

    /// Refuses a subscriber domain that the server does not serve, naming the file to
    /// add it to. Without a config file every domain is taken.
    pub fn check_served(&self, domain: &str) -> Result<(), CtlError> {
        let Some(served) = &self.served else {
            return Ok(());
        };
        if served.domains.contains(domain) {
            return Ok(());
        }
        Err(CtlError::Invalid(format!(
            "{domain} is not a domain of this server ({}); add it to [server] domains in {}; nothing changed",
            shown(served.domains.names()),
            served.file.display()
        )))
    }
}

/// `it serves a, b, c` or the first few and a count.
fn shown(domains: &[String]) -> String {
    const MAX: usize = 6;
    let mut text = format!("it serves {}", domains[..domains.len().min(MAX)].join(", "));
    if domains.len() > MAX {
        text.push_str(&format!(" and {} more", domains.len() - MAX));
    }
    text
}
