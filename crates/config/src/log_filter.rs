//! Log levels and filters (`[log] level`): a level name, or a tracing filter such as
//! `info,sip_transport=debug`.

use tracing_subscriber::EnvFilter;

/// The level names accepted on their own.
const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// Why a string is not a log level or filter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown log level `{0}` (expected off, error, warn, info, debug, trace, or a filter such as `info,sip_transport=debug`)"
)]
pub struct LogFilterError(String);

/// Checks a log level or filter; returns it as given.
pub fn parse_log_filter(text: &str) -> Result<String, LogFilterError> {
    let is_level = LEVELS.iter().any(|level| level.eq_ignore_ascii_case(text));
    let is_filter = (text.contains('=') || text.contains(',')) && EnvFilter::try_new(text).is_ok();
    if is_level || is_filter {
        Ok(text.to_owned())
    } else {
        Err(LogFilterError(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::parse_log_filter;

    #[test]
    fn levels_and_filters() {
        assert!(parse_log_filter("debug").is_ok());
        assert!(parse_log_filter("WARN").is_ok());
        assert!(parse_log_filter("info,sip_transport=trace").is_ok());
        assert!(parse_log_filter("verbose").is_err());
        assert!(parse_log_filter("sip_transport=loud").is_err());
    }
}
