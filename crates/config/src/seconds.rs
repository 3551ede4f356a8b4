//! Durations as the file gives them, in whole seconds: one check shared by the
//! sections' validations.

use super::ConfigError;
use super::error::Reporter;
use std::time::Duration;
use toml::Spanned;

/// A number of seconds greater than zero, or `default` when absent.
pub(super) fn positive_seconds(
    value: &Option<Spanned<u64>>,
    name: &str,
    default: Duration,
    report: &Reporter<'_>,
) -> Result<Duration, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) if *v.get_ref() == 0 => {
            Err(report.at(v.span(), format!("{name} must be greater than 0 (seconds)")))
        }
        Some(v) => Ok(Duration::from_secs(*v.get_ref())),
    }
}
