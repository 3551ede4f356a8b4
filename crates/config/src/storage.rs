//! `[registrar] storage`: where bindings live (SER's usrloc `db_mode`), by the names the
//! config file uses. What each mode does is the registrar's (`registrar::StorageMode`);
//! the server maps one onto the other.

use std::fmt;
use std::str::FromStr;

/// Where bindings live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StorageMode {
    /// `memory`: in memory only; lost at restart.
    Memory,
    /// `write-through`: in memory and in the database, written before the 200 OK.
    #[default]
    WriteThrough,
    /// `write-back`: in memory, written to the database on a timer and at shutdown.
    WriteBack,
    /// `db-only`: in the database only.
    DbOnly,
}

impl StorageMode {
    /// Every mode, in the order of [`StorageMode::NAMES`].
    pub const ALL: [StorageMode; 4] = [
        StorageMode::Memory,
        StorageMode::WriteThrough,
        StorageMode::WriteBack,
        StorageMode::DbOnly,
    ];

    /// The names the config file uses.
    pub const NAMES: [&'static str; 4] = ["memory", "write-through", "write-back", "db-only"];

    fn name(self) -> &'static str {
        let i = StorageMode::ALL
            .iter()
            .position(|m| *m == self)
            .unwrap_or_default();
        StorageMode::NAMES[i]
    }
}

impl FromStr for StorageMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        StorageMode::NAMES
            .iter()
            .position(|name| *name == s)
            .map(|i| StorageMode::ALL[i])
            .ok_or_else(|| {
                format!(
                    "unknown storage mode `{s}` (expected {})",
                    StorageMode::NAMES.join(", ")
                )
            })
    }
}

impl fmt::Display for StorageMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_listed() {
        for mode in StorageMode::ALL {
            assert_eq!(mode.to_string().parse(), Ok(mode));
        }
        let err = "db_mode".parse::<StorageMode>().expect_err("unknown");
        assert!(err.contains("write-back"), "{err}");
    }
}
