//! What the server does, in plain functions over a [`Write`](crate::write::Write) or the
//! store; the HTTP handlers only parse, call these, and answer.

pub mod agents;
pub mod approvals;
pub mod budget;
pub mod devices;
pub mod messages;
pub mod projects;
pub mod sessions;
pub mod stops;
pub mod sweep;

use crate::error::{ApiError, ApiResult};

/// A new opaque id: a short prefix that says what it names, then a time-ordered UUID.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// Trims `value` and checks its length, naming `field` in the error.
pub fn text_field(field: &str, value: &str, max_chars: usize) -> ApiResult<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ApiError::invalid(format!("`{field}` must not be empty.")));
    }
    if trimmed.chars().count() > max_chars {
        return Err(ApiError::invalid(format!(
            "`{field}` is longer than {max_chars} characters; shorten it."
        )));
    }
    Ok(trimmed.to_owned())
}

pub fn money_field(field: &str, value: f64) -> ApiResult<f64> {
    if !value.is_finite() || value < 0.0 {
        return Err(ApiError::invalid(format!(
            "`{field}` must be a non-negative amount in USD."
        )));
    }
    Ok((value * 100.0).round() / 100.0)
}
