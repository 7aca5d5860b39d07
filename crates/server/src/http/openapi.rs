//! The OpenAPI document's frame; paths are added by the routers that serve them.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Spartex API",
        version = "1",
        description = "The wire contract between Spartex clients, agent workers and the server. \
                       Every non-2xx answer carries `{\"error\": {\"code\", \"message\", \"details\"}}`; \
                       every mutation accepts an `Idempotency-Key` header. People send their access \
                       token as `bearer`; agent workers send their `sat_` token as `agent_token`, which \
                       reaches only `/api/v1/agent/*`."
    ),
    modifiers(&BearerAuth),
    components(schemas(spartex_api::ErrorBody, spartex_api::Event, spartex_api::AgentControl)),
    tags(
        (name = "auth"), (name = "projects"), (name = "approvals"), (name = "chat"),
        (name = "emergency stop"), (name = "sync"), (name = "devices"), (name = "on call"), (name = "agent workers")
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A person's access token, from `POST /api/v1/auth/login`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "agent_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("sat_…")
                    .description(Some(
                        "An agent worker's token, shown once when the agent is added.",
                    ))
                    .build(),
            ),
        );
        // Only for the event socket, for clients that cannot set headers on a WebSocket.
        components.add_security_scheme(
            "access_token_query",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "access_token",
                "The access token, for WebSocket clients that cannot set headers. Never logged.",
            ))),
        );
    }
}
