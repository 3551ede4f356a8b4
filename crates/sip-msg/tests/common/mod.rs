//! Code shared by the integration tests (and, through `#[path]`, by the fuzz target).

pub mod exercise;
pub mod model;
