//! Checks on values before they are written, and on integers read back: the same
//! rules on every back end, whatever each would do on its own (truncate, refuse, keep).

use crate::StoreError;

/// `value` fits a column of `max` characters and holds no NUL (PostgreSQL can't).
pub(crate) fn text(field: &'static str, value: &str, max: usize) -> Result<(), StoreError> {
    // Most values are ASCII: the byte length bounds the character count.
    if value.len() > max {
        let len = value.chars().count();
        if len > max {
            return Err(StoreError::TooLong { field, len, max });
        }
    }
    if value.contains('\0') {
        return Err(StoreError::Nul { field });
    }
    Ok(())
}

/// As [`text`], for a nullable column.
pub(crate) fn opt_text(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<(), StoreError> {
    value.map_or(Ok(()), |v| text(field, v, max))
}

/// An integer column read back into a narrower Rust type.
pub(crate) fn int<T: TryFrom<i64>>(column: &'static str, value: i64) -> Result<T, StoreError> {
    T::try_from(value).map_err(|_| StoreError::OutOfRange { column, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_characters() {
        assert!(text("f", "abc", 3).is_ok());
        assert!(text("f", "ééé", 3).is_ok(), "6 bytes, 3 characters");
        assert!(matches!(
            text("f", "abcd", 3),
            Err(StoreError::TooLong {
                field: "f",
                len: 4,
                max: 3
            })
        ));
        assert!(matches!(text("f", "a\0", 3), Err(StoreError::Nul { .. })));
        assert!(opt_text("f", None, 0).is_ok());
    }

    #[test]
    fn integers_in_range() {
        assert_eq!(int::<u16>("q", 1000).ok(), Some(1000));
        assert!(matches!(
            int::<u16>("q", -1),
            Err(StoreError::OutOfRange {
                column: "q",
                value: -1
            })
        ));
    }
}
