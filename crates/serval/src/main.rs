//! `serval`: the SIP server. See `serval --help` and README.md.

use clap::Parser;
use serval::cli::Cli;
use serval::config::Config;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref(), cli.overrides()) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::FAILURE;
        }
    };
    if cli.check_config {
        match &cli.config {
            Some(path) => println!("{}: configuration is valid", path.display()),
            None => println!("configuration is valid (defaults and command-line options)"),
        }
        return ExitCode::SUCCESS;
    }
    serval::logging::init(cli.verbose, config.log_level.as_deref());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("serval: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serval::server::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("serval: {err}");
            ExitCode::FAILURE
        }
    }
}
