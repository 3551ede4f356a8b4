//! The command line of `serval` (its contract is documented in README.md).

use crate::config::{DatabaseUrl, Overrides, parse_domain};
use clap::{ArgAction, Parser};
use sip_transport::ListenSpec;
use std::path::PathBuf;

/// Serval, a SIP server: registrar, location service and stateful proxy.
///
/// Without options it listens on UDP and TCP 0.0.0.0:5060, treats this host's name and
/// addresses as local domains, and keeps its data in SQLite at ./serval.db. Options
/// override the config file.
#[derive(Debug, Parser)]
#[command(name = "serval", version)]
pub struct Cli {
    /// Read the configuration from this TOML file.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Listen on PROTO:ADDR:PORT (udp or tcp; IPv6 as udp:[::1]:5060). Repeatable;
    /// replaces the config file's list.
    #[arg(short = 'l', long = "listen", value_name = "PROTO:ADDR:PORT")]
    pub listen: Vec<ListenSpec>,

    /// A local domain or alias (as SER's alias=). Repeatable; replaces the config
    /// file's list. The host name and addresses are always local.
    #[arg(short = 'd', long = "domain", value_name = "NAME", value_parser = parse_domain)]
    pub domains: Vec<String>,

    /// The database: sqlite:PATH, postgres://USER@HOST/DB or mysql://USER@HOST/DB.
    #[arg(long = "db", value_name = "URL")]
    pub database: Option<DatabaseUrl>,

    /// Validate the configuration and exit: 0 when valid, otherwise print
    /// FILE:LINE:COL: reason and exit 1.
    #[arg(long)]
    pub check_config: bool,

    /// More log output: -v for debug, -vv for trace (RUST_LOG overrides).
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count)]
    pub verbose: u8,
}

impl Cli {
    /// The settings given on the command line that replace the config file's.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            listen: self.listen.clone(),
            domains: self.domains.clone(),
            database: self.database.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::{CommandFactory, Parser};

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn repeatable_options_collect() {
        let cli = Cli::try_parse_from([
            "serval",
            "-l",
            "udp:127.0.0.1:5070",
            "--listen",
            "tcp:[::1]:5070",
            "-d",
            "Example.COM",
            "-d",
            "b.example",
            "--db",
            "sqlite:x.db",
            "-vv",
        ])
        .expect("valid");
        assert_eq!(cli.listen.len(), 2);
        assert_eq!(cli.domains, ["example.com", "b.example"]);
        assert_eq!(cli.verbose, 2);
        assert_eq!(
            cli.database.map(|d| d.as_str().to_owned()).as_deref(),
            Some("sqlite:x.db")
        );
    }

    #[test]
    fn bad_values_are_usage_errors_with_the_reason() {
        for (args, reason) in [
            (["serval", "-l", "udp:0.0.0.0"], "has no port"),
            (["serval", "--db", "redis://x"], "unsupported database URL"),
            (["serval", "-d", "a b"], "invalid domain"),
        ] {
            let err = Cli::try_parse_from(args).expect_err("invalid");
            assert!(err.to_string().contains(reason), "{err}");
        }
    }
}
