//! The answer of every layer whose database does not answer (subscribers for the
//! authorizer, bindings for the router): 500 with Retry-After, so that the client tries
//! again soon instead of taking the failure for a verdict.

use sip_core::proxy::{Decision, Reply};

/// 500 `reason` with Retry-After: 5.
pub fn database_unavailable(reason: &'static str) -> Decision {
    Decision::Reply(Reply::new(500, reason).header("Retry-After", "5"))
}
