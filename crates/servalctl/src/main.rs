//! `servalctl`: the Serval admin tool, serctl's heir. It works on the server's data,
//! which it finds from `--db URL`, else from the server's config file (`-c FILE`, else
//! `$SERVAL_CONFIG`, else `/etc/serval/serval.toml` when it exists; read by the same
//! loader as the server's, `serval-config`), else in `sqlite:serval.db`. A database
//! without the schema is given it (an SQLite file is created), as the server does.
//!
//! # Commands
//! - `config check [FILE]`: validate a config file as the server would, and show the
//!   database that servalctl would use with it.
//! - `db init`: create the schema (and an SQLite file), or bring it up to date.
//! - `db migrate`: apply the migrations the schema lacks; prints `from → to`.
//! - `db backup FILE`: every subscriber and binding as portable JSON lines (`-`:
//!   stdout); restores into any back end.
//! - `db restore FILE`: replace the subscribers and bindings with a backup's.
//! - `user add USER@DOMAIN [--password-stdin] [--email ADDR] [--store-password]`: a
//!   subscriber with its MD5 and SHA-256 HA1 (realm = domain); the password is asked
//!   for twice on the terminal, or read from stdin; the plain password is kept only
//!   when asked. With a config file, the domain must be one the server serves.
//! - `user del USER@DOMAIN`, `user passwd USER@DOMAIN [--password-stdin]`.
//! - `user list [--domain D]`: streamed, one `USER@DOMAIN` a line.
//! - `user import FILE`: CSV `user,domain,password[,email]`, all or nothing.
//! - `location list [--domain D]`: the bindings, one a line (aor, contact, seconds
//!   left, q, received, user agent), streamed.
//! - `location show AOR`, `location del AOR`.
//!
//! Failures are one line on stderr, `servalctl: …`, and exit code 1, with nothing
//! changed (2 for a command line clap refuses): an unreachable database is
//! `servalctl: cannot reach database URL: cause`.
//!
//! # Layout
//! - `target`: which config file, database and served domains a command acts on.
//! - `db`: opening the database; the `db` commands.
//! - `user`: the `user` commands, HA1 computation, CSV import.
//! - `password`: the prompt, `--password-stdin`, or the argument.
//! - `location`: the `location` commands.
//! - `progress`: progress bars of long work, on a terminal only.
//! - `error`: `CtlError`, the one line a failure prints.

mod db;
mod error;
mod location;
mod password;
mod progress;
mod target;
mod user;

use clap::{Parser, Subcommand};
use error::CtlError;
use password::PasswordInput;
use serval_config::{Config, DatabaseUrl, Overrides};
use std::path::PathBuf;
use std::process::ExitCode;
use target::Target;

/// Serval admin tool: manage a Serval SIP server's data and configuration.
#[derive(Debug, Parser)]
#[command(name = "servalctl", version)]
struct Cli {
    /// The database (sqlite:PATH, postgres://… or mysql://…); overrides the config file's.
    #[arg(long = "db", value_name = "URL", global = true)]
    database: Option<DatabaseUrl>,

    /// The server's config file, where the database and the served domains are found
    /// [default: $SERVAL_CONFIG, else /etc/serval/serval.toml when it exists; an empty
    /// SERVAL_CONFIG means no config file].
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
    /// Validate a config file (FILE, or the one given with -c, else the default one) and
    /// show the database servalctl would use with it.
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
    /// Add a subscriber; the password is asked for (twice) unless given.
    Add {
        /// The subscriber, USER@DOMAIN (the domain is the digest realm).
        address: String,
        /// The password (visible to other users in the process list: prefer the prompt
        /// or --password-stdin).
        password: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long, conflicts_with = "password")]
        password_stdin: bool,
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
    /// Change a subscriber's password; it is asked for (twice) unless given.
    Passwd {
        /// The subscriber, USER@DOMAIN.
        address: String,
        /// The new password (visible in the process list: prefer the prompt or
        /// --password-stdin).
        password: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long, conflicts_with = "password")]
        password_stdin: bool,
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
            return check_config(file.or(config).or_else(target::default_config), database);
        }
        Command::Db(command) => with_database(config, database, |target| async move {
            match command {
                DbCommand::Init => db::init(&target).await,
                DbCommand::Migrate => db::migrate(&target).await,
                DbCommand::Backup { file } => db::backup(&target, &file).await,
                DbCommand::Restore { file } => db::restore(&target, &file).await,
            }
        }),
        Command::User(command) => with_database(config, database, |target| async move {
            match command {
                UserCommand::Add {
                    address,
                    password,
                    password_stdin,
                    email,
                    store_password,
                } => {
                    let password = PasswordInput::new(password, password_stdin);
                    user::add(&target, &address, password, email, store_password).await
                }
                UserCommand::Del { address } => user::delete(&target, &address).await,
                UserCommand::Passwd {
                    address,
                    password,
                    password_stdin,
                    store_password,
                } => {
                    let password = PasswordInput::new(password, password_stdin);
                    user::passwd(&target, &address, password, store_password).await
                }
                UserCommand::List { domain } => user::list(&target, domain.as_deref()).await,
                UserCommand::Import {
                    file,
                    store_password,
                } => user::import(&target, &file, store_password).await,
            }
        }),
        Command::Location(command) => with_database(config, database, |target| async move {
            match command {
                LocationCommand::List { domain } => {
                    location::list(&target, domain.as_deref()).await
                }
                LocationCommand::Show { aor } => location::show(&target, &aor).await,
                LocationCommand::Del { aor } => location::delete(&target, &aor).await,
            }
        }),
    };
    match result {
        Ok(()) | Err(CtlError::Closed) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("servalctl: {err}");
            ExitCode::FAILURE
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
    F: FnOnce(Target) -> Fut,
    Fut: Future<Output = Result<(), CtlError>>,
{
    let target = Target::resolve(config, database)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| CtlError::File {
            path: "tokio runtime".to_owned(),
            source,
        })?;
    runtime.block_on(command(target))
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
