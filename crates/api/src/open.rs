//! Reading enums a newer server may add values to.
//!
//! A resource's status, risk or role is read through [`lenient`]: a value this build does not
//! know becomes the enum's `Unknown`, so an older app still shows the approval (and raises it,
//! an unknown risk as critical) where a strict read would drop the whole resource, or fail a
//! whole snapshot list.
//! Requests stay strict: their own enum fields have no `deserialize_with`, and a type a request
//! shares with an answer (the on-call schedule, the escalation policy) is read [`strictly`] by
//! the server, so `Unknown` is never taken from a request.

use std::borrow::Cow;
use std::cell::Cell;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

use crate::UnknownValue;

/// An enum with an `Unknown` value for what a newer server sent.
pub trait Open: FromStr<Err = UnknownValue> + Copy {
    const UNKNOWN: Self;
}

thread_local! {
    static STRICT: Cell<bool> = const { Cell::new(false) };
}

/// Runs `read` (a deserialization, which serde does on one thread) with every lenient field
/// refusing values it does not know, naming the ones it does: how the server reads requests.
pub fn strictly<R>(read: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            STRICT.set(self.0);
        }
    }
    let _restore = Restore(STRICT.replace(true));
    read()
}

/// `text` as a known value, or `Unknown`: for a value kept outside JSON (a cache's column).
pub fn or_unknown<T: Open>(text: &str) -> T {
    text.parse().unwrap_or(T::UNKNOWN)
}

fn read<T: Open, E: serde::de::Error>(text: &str) -> Result<T, E> {
    match text.parse() {
        Ok(known) => Ok(known),
        Err(unknown) if STRICT.get() => Err(E::custom(unknown)),
        Err(_) => Ok(T::UNKNOWN),
    }
}

/// Reads a known value as itself and any other string as `Unknown`.
pub fn lenient<'de, D: Deserializer<'de>, T: Open>(deserializer: D) -> Result<T, D::Error> {
    read(&Cow::<str>::deserialize(deserializer)?)
}

/// [`lenient`] for a field that may be null.
pub fn lenient_option<'de, D: Deserializer<'de>, T: Open>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    Option::<Cow<str>>::deserialize(deserializer)?
        .map(|text| read(&text))
        .transpose()
}

/// [`lenient`] for a list: each value this build does not know is `Unknown`.
pub fn lenient_vec<'de, D: Deserializer<'de>, T: Open>(
    deserializer: D,
) -> Result<Vec<T>, D::Error> {
    Vec::<Cow<str>>::deserialize(deserializer)?
        .iter()
        .map(|text| read(text))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use crate::{ApprovalStatus, Risk};

    #[derive(Deserialize)]
    struct Resource {
        #[serde(deserialize_with = "super::lenient")]
        risk: Risk,
        #[serde(default, deserialize_with = "super::lenient_option")]
        status: Option<ApprovalStatus>,
    }

    #[test]
    fn a_value_this_build_does_not_know_reads_as_unknown() {
        let read: Resource =
            serde_json::from_str(r#"{"risk":"catastrophic","status":"escalated"}"#).expect("reads");
        assert_eq!(read.risk, Risk::Unknown);
        assert_eq!(read.status, Some(ApprovalStatus::Unknown));
        let read: Resource =
            serde_json::from_str(r#"{"risk":"high","status":null}"#).expect("reads");
        assert_eq!(read.risk, Risk::High);
        assert_eq!(read.status, None);
        let read: Resource = serde_json::from_str(r#"{"risk":"high"}"#).expect("reads");
        assert_eq!(
            read.status, None,
            "a field left out is None, as serde's own Option is"
        );
    }

    #[test]
    fn read_strictly_a_value_this_build_does_not_know_is_refused_by_name() {
        let refused = super::strictly(|| {
            serde_json::from_str::<Resource>(r#"{"risk":"catastrophic"}"#)
                .err()
                .map(|e| e.to_string())
        })
        .expect("refused");
        assert!(
            refused.contains("`catastrophic` is not a known Risk: use low, medium, high, critical"),
            "{refused}"
        );
        let read: Resource =
            serde_json::from_str(r#"{"risk":"catastrophic"}"#).expect("lenient again afterwards");
        assert_eq!(read.risk, Risk::Unknown);
    }

    #[test]
    fn resources_without_their_optional_open_fields_still_read() {
        let by: crate::DecidedBy =
            serde_json::from_str(r#"{"id":"usr_1","name":"Dana","email":null}"#).expect("reads");
        assert_eq!(by.role, None);
    }

    #[test]
    fn a_value_that_is_not_a_string_is_still_an_error() {
        assert!(serde_json::from_str::<Resource>(r#"{"risk":3}"#).is_err());
    }

    #[test]
    fn strict_reads_refuse_unknown_values_and_unknown_itself() {
        assert!(serde_json::from_str::<Risk>(r#""catastrophic""#).is_err());
        assert!(serde_json::from_str::<Risk>(r#""unknown""#).is_err());
        assert!("unknown".parse::<Risk>().is_err());
        assert_eq!(
            serde_json::to_string(&Risk::Unknown).expect("writes"),
            r#""unknown""#
        );
        assert!(!Risk::ALL.contains(&Risk::Unknown));
    }
}
