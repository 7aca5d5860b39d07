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

/// The largest amount of money the server takes: a trillion dollars is no project's budget,
/// and every amount below it survives rounding to cents.
pub const MAX_MONEY_USD: f64 = 1e12;

/// An amount in USD, rounded to cents; refused unless it is finite and within the cap.
pub fn money_field(field: &str, value: f64) -> ApiResult<f64> {
    let cents = (value * 100.0).round() / 100.0;
    if !cents.is_finite() || !(0.0..=MAX_MONEY_USD).contains(&cents) {
        return Err(ApiError::invalid(format!(
            "`{field}` must be an amount in USD between 0 and {MAX_MONEY_USD:.0}."
        )));
    }
    Ok(cents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_rounded_to_cents_and_refused_when_it_cannot_be_stored() {
        assert_eq!(money_field("budget_usd", 12.345).ok(), Some(12.35));
        assert_eq!(money_field("budget_usd", 0.0).ok(), Some(0.0));
        for hostile in [
            1.7e308,
            f64::MAX,
            f64::INFINITY,
            f64::NAN,
            -0.01,
            1e12 + 1.0,
        ] {
            assert!(
                money_field("budget_usd", hostile).is_err(),
                "{hostile} must be refused"
            );
        }
    }
}
