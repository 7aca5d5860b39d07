//! What the server does, in plain functions over a [`Write`](crate::write::Write) or the
//! store; the HTTP handlers only parse, call these, and answer.

pub mod agents;
pub mod approvals;
pub mod ask_again;
pub mod budget;
pub mod devices;
pub mod escalation;
pub mod messages;
pub mod oncall;
pub mod projects;
pub mod sessions;
pub mod stops;
pub mod sweep;
pub mod tenant;

use crate::error::{ApiError, ApiResult};

/// A new opaque id: a short prefix that says what it names, then a time-ordered UUID.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// Checks `value`'s length as sent (the bound the API's document states), then trims it,
/// naming `field` in the error.
pub fn text_field(field: &str, value: &str, max_chars: usize) -> ApiResult<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ApiError::invalid(format!("`{field}` must not be empty.")));
    }
    if value.chars().count() > max_chars {
        return Err(ApiError::invalid(format!(
            "`{field}` is longer than {max_chars} characters; shorten it."
        )));
    }
    Ok(trimmed.to_owned())
}

/// The largest amount of money the server takes: a trillion dollars is no project's budget,
/// and every amount below it survives rounding to cents.
pub const MAX_MONEY_USD: f64 = 1e12;

/// An amount in USD, rounded to cents; refused unless it is finite and within the cap, as sent
/// (so -0.001 is refused, not rounded to zero) and once rounded.
pub fn money_field(field: &str, value: f64) -> ApiResult<f64> {
    let cents = (value * 100.0).round() / 100.0;
    let within = |amount: f64| amount.is_finite() && (0.0..=MAX_MONEY_USD).contains(&amount);
    if !within(value) || !within(cents) {
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
    fn bounds_hold_for_the_value_as_sent() {
        assert!(money_field("budget_usd", -0.001).is_err());
        assert!(money_field("budget_usd", MAX_MONEY_USD + 0.001).is_err());
        assert!(text_field("name", &format!("{} ", "a".repeat(120)), 120).is_err());
        assert_eq!(text_field("name", " a ", 120).ok().as_deref(), Some("a"));
        assert!(text_field("name", "   ", 120).is_err());
    }

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
