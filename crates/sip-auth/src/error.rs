//! Errors of the setup calls: reading a secret or a stored HA1, getting randomness.
//! What a request's credentials can get wrong is [`Malformed`](crate::Malformed), and
//! the outcome of a check is a [`Verdict`](crate::Verdict), not an error.

/// A configuration or storage value that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A secret given as text is not 64 hex digits.
    #[error("the nonce secret must be 64 hexadecimal digits (32 bytes)")]
    SecretHex,
    /// A stored HA1 does not have the length of its algorithm's digest, or is not hex.
    #[error("an HA1 for {algorithm} must be {len} hexadecimal digits")]
    Ha1Hex {
        /// The algorithm the HA1 was read for.
        algorithm: crate::Algorithm,
        /// The expected number of hex digits.
        len: usize,
    },
    /// The operating system gave no randomness for a new secret.
    #[error("no randomness from the operating system: {0}")]
    Random(getrandom::Error),
}
