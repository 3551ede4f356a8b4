//! `servalctl`: the Serval admin tool, serctl's heir. It works on the server's data,
//! which it finds from `--db URL`, else from the server's config file (`-c FILE`,
//! `[database] url`, read by the same loader as the server's, `serval::config`), else
//! in `sqlite:serval.db`.
//!
//! # Commands
//! - `config check [FILE]`: validate a config file as the server would, and show the
//!   database that servalctl would use with it.
//! - `db init`: create the schema (and an SQLite file), or bring it up to date.
//! - `db migrate`: apply the migrations the schema lacks; prints `from → to`.
//! - `db backup FILE`: every subscriber and binding as portable JSON lines (`-`:
//!   stdout); restores into any back end.
//! - `db restore FILE`: replace the subscribers and bindings with a backup's.
//! - `user add USER@DOMAIN PASSWORD [--email ADDR] [--store-password]`: a subscriber
//!   with its MD5 and SHA-256 HA1 (realm = domain); the plain password only when asked.
//! - `user del USER@DOMAIN`, `user passwd USER@DOMAIN PASSWORD`.
//! - `user list [--domain D]`: streamed, one `USER@DOMAIN` a line.
//! - `user import FILE`: CSV `user,domain,password[,email]`, all or nothing.
//! - `location list [--domain D]`: the bindings, one a line (aor, contact, seconds
//!   left, q, received, user agent), streamed.
//! - `location show AOR`, `location del AOR`.
//!
//! Failures are one line on stderr, `servalctl: …`, and exit code 1 (2 for a usage
//! error): an unreachable database is `servalctl: cannot reach database URL: cause`;
//! a database without the schema says to run `servalctl db init`.
//!
//! # Layout
//! - `db`: opening the database; the `db` commands.
//! - `user`: the `user` commands, HA1 computation, CSV import.
//! - `location`: the `location` commands.
//! - `error`: `CtlError`, the one line a failure prints.

mod db;
mod error;
mod location;
mod user;

use clap::{Parser, Subcommand};
use error::CtlError;
use serval::config::{Config, DatabaseUrl, Overrides};
use std::path::PathBuf;
use std::process::ExitCode;

/// Serval admin tool: manage a Serval SIP server's data and configuration.
#[derive(Debug, Parser)]
#[command(name = "servalctl", version)]
struct Cli {
    /// The database (sqlite:PATH, postgres://… or mysql://…); overrides the config file's.
    #[arg(long = "db", value_name = "URL", global = true)]
    database: Option<DatabaseUrl>,

    /// The server's config file, where the database is found.
    #[arg(short = 'c', long = "config", value_name = "FILE", global = true)]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The server's configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The database: schema, backup and restore.
    #[command(subcommand)]
    Db(DbCommand),
    /// Subscribers: who may register, with which password.
    #[command(subcommand)]
    User(UserCommand),
    /// Location bindings: where registered users are.
    #[command(subcommand)]
    Location(LocationCommand),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate a config file (FILE, or the one given with -c) and show the database
    /// servalctl would use with it.
    Check {
        /// The config file to check.
        file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Create the schema (an SQLite file too), or bring it up to date.
    Init,
    /// Apply the migrations the schema lacks.
    Migrate,
    /// Write every subscriber and binding to FILE as JSON lines.
    Backup {
        /// The backup file; `-` for stdout.
        file: PathBuf,
    },
    /// Replace the subscribers and bindings with those of a backup.
    Restore {
        /// The backup file; `-` for stdin.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a subscriber.
    Add {
        /// The subscriber, USER@DOMAIN (the domain is the digest realm).
        address: String,
        /// The password.
        password: String,
        /// An e-mail address to keep with it.
        #[arg(long, value_name = "ADDR")]
        email: Option<String>,
        /// Keep the plain password too (otherwise only its hashes).
        #[arg(long)]
        store_password: bool,
    },
    /// Remove a subscriber.
    Del {
        /// The subscriber, USER@DOMAIN.
        address: String,
    },
    /// Change a subscriber's password.
    Passwd {
        /// The subscriber, USER@DOMAIN.
        address: String,
        /// The new password.
        password: String,
        /// Keep the plain password too (it is kept anyway if it was before).
        #[arg(long)]
        store_password: bool,
    },
    /// List the subscribers, one USER@DOMAIN a line (and a tab and the e-mail).
    List {
        /// Only this domain's.
        #[arg(long, value_name = "D")]
        domain: Option<String>,
    },
    /// Add the subscribers of a CSV file: `user,domain,password[,email]`.
    Import {
        /// The CSV file (a header line is optional); `-` for stdin.
        file: PathBuf,
        /// Keep the plain passwords too (otherwise only their hashes).
        #[arg(long)]
        store_password: bool,
    },
}

#[derive(Debug, Subcommand)]
enum LocationCommand {
    /// List the bindings: aor, contact, seconds left, q, received, user agent.
    List {
        /// Only this domain's.
        #[arg(long, value_name = "D")]
        domain: Option<String>,
    },
    /// Show every field of an AOR's bindings.
    Show {
        /// The address-of-record, USER@DOMAIN.
        aor: String,
    },
    /// Remove every binding of an AOR.
    Del {
        /// The address-of-record, USER@DOMAIN.
        aor: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Cli {
        database,
        config,
        command,
    } = cli;
    let result = match command {
        Command::Config(ConfigCommand::Check { file }) => {
            return check_config(file.or(config), database);
        }
        Command::Db(command) => with_database(config, database, |url| async move {
            match command {
                DbCommand::Init => db::init(&url).await,
                DbCommand::Migrate => db::migrate(&url).await,
                DbCommand::Backup { file } => db::backup(&url, &file).await,
                DbCommand::Restore { file } => db::restore(&url, &file).await,
            }
        }),
        Command::User(command) => with_database(config, database, |url| async move {
            match command {
                UserCommand::Add {
                    address,
                    password,
                    email,
                    store_password,
                } => user::add(&url, &address, &password, email, store_password).await,
                UserCommand::Del { address } => user::delete(&url, &address).await,
                UserCommand::Passwd {
                    address,
                    password,
                    store_password,
                } => user::passwd(&url, &address, &password, store_password).await,
                UserCommand::List { domain } => user::list(&url, domain.as_deref()).await,
                UserCommand::Import {
                    file,
                    store_password,
                } => user::import(&url, &file, store_password).await,
            }
        }),
        Command::Location(command) => with_database(config, database, |url| async move {
            match command {
                LocationCommand::List { domain } => location::list(&url, domain.as_deref()).await,
                LocationCommand::Show { aor } => location::show(&url, &aor).await,
                LocationCommand::Del { aor } => location::delete(&url, &aor).await,
            }
        }),
    };
    match result {
        Ok(()) | Err(CtlError::Closed) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("servalctl: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}

/// Runs `command` on the database from `--db`, else the config file's, else the
/// default, in a single-threaded runtime.
fn with_database<F, Fut>(
    config: Option<PathBuf>,
    database: Option<DatabaseUrl>,
    command: F,
) -> Result<(), CtlError>
where
    F: FnOnce(DatabaseUrl) -> Fut,
    Fut: Future<Output = Result<(), CtlError>>,
{
    let overrides = Overrides {
        database,
        ..Overrides::default()
    };
    let url = Config::load(config.as_deref(), overrides)?.database;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| CtlError::File {
            path: "tokio runtime".to_owned(),
            source,
        })?;
    runtime.block_on(command(url))
}

/// `servalctl config check`: prints `FILE: configuration is valid` and the database, or
/// the error with its line and column.
fn check_config(file: Option<PathBuf>, database: Option<DatabaseUrl>) -> ExitCode {
    let Some(file) = file else {
        eprintln!("servalctl config check: no config file (give FILE or -c FILE)");
        return ExitCode::from(2);
    };
    let overrides = Overrides {
        database,
        ..Overrides::default()
    };
    match Config::load(Some(&file), overrides) {
        Ok(config) => {
            println!("{}: configuration is valid", file.display());
            println!("database: {}", config.database);
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{err}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
