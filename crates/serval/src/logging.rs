//! Log output to stderr through `tracing`. The level comes from, in order: `RUST_LOG`,
//! `-v` / `-vv`, the config file's `[log] level`, and `info`.

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `verbose` counts `-v` flags.
pub fn init(verbose: u8, configured: Option<&str>) {
    let filter = from_environment().unwrap_or_else(|| {
        let level = match verbose {
            0 => configured.unwrap_or("info"),
            1 => "debug",
            _ => "trace",
        };
        EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"))
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// The filter `RUST_LOG` sets, when it is set and valid (a warning on stderr otherwise,
/// as the subscriber is not installed yet).
fn from_environment() -> Option<EnvFilter> {
    let value = std::env::var(EnvFilter::DEFAULT_ENV).ok()?;
    if value.trim().is_empty() {
        return None;
    }
    match EnvFilter::try_new(&value) {
        Ok(filter) => Some(filter),
        Err(err) => {
            eprintln!("serval: ignoring RUST_LOG={value}: {err}");
            None
        }
    }
}
