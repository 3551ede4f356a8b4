//! The size limits a message is parsed and framed under.

/// Size limits applied while parsing and framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message accepted, headers and body (a larger one gets 513).
    pub max_message: usize,
    /// Largest header section (start line included).
    pub max_header_section: usize,
    /// Most header fields (lines) accepted.
    pub max_headers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message: 65_535,
            max_header_section: 16_384,
            max_headers: 256,
        }
    }
}
