//! The OpenAPI document's frame; paths are added by the routers that serve them.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Spartex API",
        version = "1",
        description = "The wire contract between Spartex clients, agent workers and the server. \
                       Every non-2xx answer carries `{\"error\": {\"code\", \"message\", \"details\"}}`; \
                       every mutation accepts an `Idempotency-Key` header."
    ),
    modifiers(&BearerAuth),
    components(schemas(spartex_api::ErrorBody, spartex_api::Event, spartex_api::AgentControl)),
    tags(
        (name = "auth"), (name = "projects"), (name = "approvals"), (name = "chat"),
        (name = "emergency stop"), (name = "sync"), (name = "devices"), (name = "agent workers")
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
                    .bearer_format("JWT or sat_ agent token")
                    .build(),
            ),
        );
    }
}
