//! Configuration errors, each pointing at the file, line and column it is about.

use std::fmt;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Why a configuration cannot be used. Its `Display` is what the user sees:
/// `FILE:LINE:COL: reason` when the error is about a place in the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The config file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// The file is not valid TOML, or a value in it is wrong.
    #[error("{}:{location}: {reason}", path.display())]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// Where in the file.
        location: Location,
        /// What is wrong, in words.
        reason: String,
    },
    /// A command-line option contradicts itself or the rest of the configuration.
    #[error("{0}")]
    Options(String),
}

/// A place in a text file, both counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// The line.
    pub line: usize,
    /// The column, in characters.
    pub column: usize,
}

impl Location {
    /// The location of byte `offset` in `source` (clamped to its length).
    pub fn of_offset(source: &str, offset: usize) -> Location {
        let mut offset = offset.min(source.len());
        while !source.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &source[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Location {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Builds errors about places in one config file.
pub(crate) struct Reporter<'a> {
    pub(crate) path: &'a Path,
    pub(crate) source: &'a str,
}

impl Reporter<'_> {
    /// An error about the text at `span`.
    pub(crate) fn at(&self, span: Range<usize>, reason: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_owned(),
            location: Location::of_offset(self.source, span.start),
            reason: reason.into(),
        }
    }

    /// The error for a TOML syntax error, unknown key or wrong type.
    pub(crate) fn toml(&self, error: &toml::de::Error) -> ConfigError {
        let span = error.span().unwrap_or(0..0);
        self.at(span, error.message().trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::Location;

    #[test]
    fn offsets_become_lines_and_columns() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(
            Location::of_offset(text, 0),
            Location { line: 1, column: 1 }
        );
        assert_eq!(
            Location::of_offset(text, 6),
            Location { line: 2, column: 1 }
        );
        // 'é' is two bytes but one column: the space after it is byte 9, column 3.
        assert_eq!(
            Location::of_offset(text, 9),
            Location { line: 2, column: 3 }
        );
        // An offset inside 'é' counts from its start.
        assert_eq!(
            Location::of_offset(text, 8),
            Location { line: 2, column: 2 }
        );
        assert_eq!(Location::of_offset(text, 999).line, 3);
    }
}
