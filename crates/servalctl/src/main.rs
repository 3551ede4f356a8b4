//! `servalctl`: the Serval admin tool, serctl's heir. It works on the server's data,
//! which it finds from `--db URL` or from the server's config file (`-c FILE`), read by
//! the same loader as the server's (`serval::config`).
//!
//! # Commands
//! - `config check [FILE]`: validate a config file as the server would, and show the
//!   database that servalctl would use with it.

use clap::{Parser, Subcommand};
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Config(ConfigCommand::Check { file }) => {
            check_config(file.or(cli.config), cli.database)
        }
    }
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
            ExitCode::FAILURE
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
