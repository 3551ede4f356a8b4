//! [`CtlError`]: why a command failed, as the one line `servalctl: …` the user sees.

use serval_store::StoreError;

/// A failed command.
#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    /// The config file is invalid (the message names file, line and column).
    #[error("{0}")]
    Config(#[from] serval_config::ConfigError),
    /// The database refused, failed, or could not be reached.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A value given is wrong (an address, a domain not served, a password): nothing
    /// was changed.
    #[error("{0}")]
    Invalid(String),
    /// What the command was to act on is not there.
    #[error("{0}")]
    NotFound(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    File {
        /// The file (`-` for stdin or stdout).
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A line of an input file is wrong.
    #[error("{path}:{line}: {reason}")]
    Input {
        /// The file.
        path: String,
        /// The line, from 1.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// Standard output was closed (`servalctl user list | head`): stop quietly.
    #[error("standard output closed")]
    Closed,
}

impl CtlError {
    /// A write to standard output failed.
    pub fn output(err: std::io::Error) -> CtlError {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            CtlError::Closed
        } else {
            CtlError::File {
                path: "-".to_owned(),
                source: err,
            }
        }
    }
}
