//! Reading a push: what a push plugin received, unwrapped from APNs's or FCM's envelope and
//! checked, or the reason it is not a Spartex push.

use serde_json::Value;
use spartex_api::{PushKind, PushPayload};

use super::routes::is_plain_id;

/// Larger than anything a push service carries (APNs and FCM take 4 KB, Web Push a 4 KB
/// record); more is not a Spartex push.
pub const MAX_PUSH_BYTES: usize = 16 * 1024;

/// Why a push was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    #[error("The push is {0} bytes; a Spartex push is a few hundred.")]
    TooLarge(usize),
    #[error("The push is not JSON ({0}).")]
    NotJson(String),
    #[error("The push is version {0} of the payload; this app reads version 1. Update the app.")]
    UnsupportedVersion(u64),
    #[error("The push is of type `{0}`, which this app does not know. Update the app.")]
    UnknownType(String),
    #[error("The push is not a Spartex push: {0}.")]
    Malformed(String),
}

/// Reads what a push plugin received: the payload itself (Web Push), APNs's `userInfo` with the
/// payload under `spartex`, or FCM's data with the whole payload as a JSON string under
/// `payload`. Anything else is refused with the reason, never a panic.
pub fn parse_push(raw: &[u8]) -> Result<PushPayload, PushError> {
    if raw.len() > MAX_PUSH_BYTES {
        return Err(PushError::TooLarge(raw.len()));
    }
    let value: Value =
        serde_json::from_slice(raw).map_err(|e| PushError::NotJson(e.to_string()))?;
    let value = unwrap_envelope(value)?;
    let Value::Object(fields) = &value else {
        return Err(PushError::Malformed("it is not a JSON object".into()));
    };
    let version = match fields.get("v") {
        None => return Err(PushError::Malformed("it has no version `v`".into())),
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| PushError::Malformed(format!("its version `{n}` is not a count")))?,
        // FCM data carries every field as a string.
        Some(Value::String(s)) => s
            .parse()
            .map_err(|_| PushError::Malformed("its version is not a number".into()))?,
        Some(_) => return Err(PushError::Malformed("its version is not a number".into())),
    };
    if version != u64::from(PushPayload::VERSION) {
        return Err(PushError::UnsupportedVersion(version));
    }
    match fields.get("type") {
        Some(Value::String(kind)) => {
            if serde_json::from_value::<PushKind>(Value::String(kind.clone())).is_err() {
                return Err(PushError::UnknownType(kind.chars().take(64).collect()));
            }
        }
        _ => return Err(PushError::Malformed("it has no `type`".into())),
    }
    let payload: PushPayload =
        serde_json::from_value(value).map_err(|e| PushError::Malformed(e.to_string()))?;
    check(&payload)?;
    Ok(payload)
}

/// The payload inside APNs's or FCM's wrapping, or the value itself.
fn unwrap_envelope(value: Value) -> Result<Value, PushError> {
    let Value::Object(fields) = value else {
        return Ok(value);
    };
    if let Some(inner @ Value::Object(_)) = fields.get("spartex") {
        return Ok(inner.clone());
    }
    // FCM: each field as a string beside the whole payload as JSON; the JSON is read.
    match fields.get("payload") {
        Some(Value::String(json)) => serde_json::from_str(json)
            .map_err(|e| PushError::NotJson(format!("its `payload` is not JSON: {e}"))),
        Some(inner @ Value::Object(_)) => Ok(inner.clone()),
        Some(_) => Err(PushError::Malformed(
            "its `payload` is not an object".into(),
        )),
        None => Ok(Value::Object(fields)),
    }
}

fn check(payload: &PushPayload) -> Result<(), PushError> {
    if payload.tenant_id.trim().is_empty() {
        return Err(PushError::Malformed("its `tenant_id` is empty".into()));
    }
    for (field, id) in [
        ("approval_id", &payload.approval_id),
        ("project_id", &payload.project_id),
    ] {
        if id.as_deref().is_some_and(|id| !is_plain_id(id)) {
            return Err(PushError::Malformed(format!("its `{field}` is not an id")));
        }
    }
    let about_an_approval = matches!(
        payload.kind,
        PushKind::ApprovalRequested | PushKind::ApprovalResolved
    );
    if about_an_approval && payload.approval_id.is_none() {
        return Err(PushError::Malformed(format!(
            "`{}` without an `approval_id`",
            payload.kind
        )));
    }
    Ok(())
}
