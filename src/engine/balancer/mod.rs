//! (in progress)

pub mod health;
pub mod policy;
