//! What many operations share in the OpenAPI document: the error answers each extractor and
//! service can give, the `{id}` path parameter and the `Idempotency-Key` header. A handler's
//! annotation names the sets that match its extractors (`SignedIn` for `UserPrincipal`,
//! `JsonBody` for `ApiJson`, `Idempotent` for `Mutation`, ...), so the document lists every
//! status the server can really answer without repeating forty times what each one means.

use std::collections::BTreeMap;

use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoParams, IntoResponses};

/// `{id}` in a path. An unknown id, or another organisation's, answers 404.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // read by the document only; handlers take `Path<String>`
pub struct IdPath {
    /// The resource's id, as the server gave it.
    #[param(min_length = 1)]
    id: String,
}

/// The header that makes a mutation safe to retry.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // read by the document only; the `Mutation` extractor reads the header
pub struct IdempotencyKey {
    /// A fresh key (a UUID) per distinct change: a repeat within 24 h answers the stored
    /// response; the same key on another route or with another body is 422
    /// `idempotency_key_reused`.
    #[param(
        rename = "Idempotency-Key",
        required = false,
        min_length = 1,
        max_length = 200
    )]
    idempotency_key: String,
}

/// What each error status means on this API, with the codes it carries.
fn description(status: u16) -> &'static str {
    match status {
        400 => "`bad_request`: a body, query parameter or header that does not parse or fit; the message names the field.",
        401 => "Not signed in: `unauthenticated` (no token, a bad one, or a revoked session), `token_expired`, \
                `invalid_credentials`, `refresh_token_reused`.",
        403 => "`forbidden`: the caller's role is too low, or the token is of the other kind \
                (agent tokens reach only `/api/v1/agent/*`, people's tokens never do).",
        404 => "`not_found`: no such id in the caller's organisation (another organisation's id answers the same).",
        408 => "`request_timeout`: the request body did not arrive in time.",
        409 => "The state changed under the caller: `approval_already_decided`, `approval_changed`, \
                `agent_stopped`, `project_stopped`; `details` holds the current state.",
        410 => "`approval_expired`: the approval expired before this decision; `details` holds it.",
        413 => "`payload_too_large`: the body is over the server's limit (`--max-body-bytes`).",
        422 => "Well-formed but refused: `validation_failed` (the message names the field and its bounds), \
                `idempotency_key_reused`, `reserved_kind`.",
        429 => "`rate_limited`: too many attempts, or writes faster than the caller's write quota; \
                wait `Retry-After` seconds.",
        503 => "`unavailable`: the server cannot keep anything now (its database's disk is full, \
                or its database cannot be reached); nothing was changed and nothing is kept under \
                the Idempotency-Key, so retry the same request after `Retry-After` seconds.",
        _ => "An error.",
    }
}

fn error_answer(status: u16) -> (String, RefOr<Response>) {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorBody")))
        .build();
    let mut response = ResponseBuilder::new()
        .description(description(status))
        .content("application/json", content);
    if status == 429 || status == 503 {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(0)),
                )
                .description(Some("Seconds to wait before trying again."))
                .build(),
        );
    }
    (status.to_string(), response.build().into())
}

/// Declares a unit type per set of error answers, for `responses(...)` in `#[utoipa::path]`.
macro_rules! error_answers {
    ($($(#[$doc:meta])* $name:ident => [$($status:literal),+];)+) => {$(
        $(#[$doc])*
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                [$($status),+].into_iter().map(error_answer).collect()
            }
        }
    )+};
}

error_answers! {
    /// `UserPrincipal`: a person's access token is missing, bad, expired or revoked (401);
    /// an agent token, or a role too low for the action (403). The database out of reach
    /// (503), as for any route that reads it.
    SignedIn => [401, 403, 503];
    /// `AgentPrincipal`: the agent token is missing or unknown (401); a person's token (403);
    /// the database out of reach (503).
    AgentOnly => [401, 403, 503];
    /// `ApiJson` and optional bodies: malformed (400), slow (408) or oversized (413).
    JsonBody => [400, 408, 413];
    /// `ApiQuery`, and WebSocket routes called without an upgrade: 400.
    BadInput => [400];
    /// `Mutation`: a malformed `Idempotency-Key` (400), or one reused for another change (422).
    /// A keyed request's body is read to fingerprint it, so it can also be slow (408) or too
    /// large (413) on routes that take no body. Any write can meet a full disk (503).
    Idempotent => [400, 408, 413, 422, 503];
    NotFound => [404];
    Conflict => [409];
    Gone => [410];
    /// A value out of its bounds, named in the message.
    Invalid => [422];
    /// Too many attempts (429): sign-ins, and an agent's or a person's writes past their
    /// write quota (never the emergency stop, a stop's acknowledgement or signing out); the
    /// database out of reach (503).
    Throttled => [429, 503];
    /// Routes that need no sign-in but read the database: out of reach (503).
    Unreachable => [503];
}
