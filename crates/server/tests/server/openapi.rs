//! The OpenAPI document is generated from the routes, and lists every one of them.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{project_id, TestServer, LAUNCH, SPRING};

const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/me"),
    ("get", "/api/v1/projects"),
    ("post", "/api/v1/projects"),
    ("get", "/api/v1/projects/{id}"),
    ("patch", "/api/v1/projects/{id}"),
    ("post", "/api/v1/projects/{id}/agents"),
    ("post", "/api/v1/projects/{id}/agents/{agent_id}/token"),
    ("get", "/api/v1/projects/{id}/messages"),
    ("post", "/api/v1/projects/{id}/messages"),
    ("get", "/api/v1/projects/{id}/metrics"),
    ("post", "/api/v1/projects/{id}/stop"),
    ("post", "/api/v1/projects/{id}/resume"),
    ("get", "/api/v1/approvals"),
    ("get", "/api/v1/approvals/{id}"),
    ("post", "/api/v1/approvals/{id}/decision"),
    ("post", "/api/v1/approvals/{id}/ack"),
    ("post", "/api/v1/approvals/{id}/ask-again"),
    ("get", "/api/v1/oncall"),
    ("put", "/api/v1/oncall/schedule"),
    ("post", "/api/v1/oncall/overrides"),
    ("delete", "/api/v1/oncall/overrides/{id}"),
    ("get", "/api/v1/escalation-policy"),
    ("put", "/api/v1/escalation-policy"),
    ("post", "/api/v1/stop"),
    ("get", "/api/v1/stops"),
    ("get", "/api/v1/stops/{id}"),
    ("get", "/api/v1/sync"),
    ("get", "/api/v1/events"),
    ("post", "/api/v1/devices"),
    ("get", "/api/v1/devices"),
    ("delete", "/api/v1/devices/{id}"),
    ("get", "/api/v1/push/vapid-public-key"),
    ("get", "/api/v1/me/notification-settings"),
    ("put", "/api/v1/me/notification-settings"),
    ("get", "/api/v1/tenant/settings"),
    ("put", "/api/v1/tenant/settings"),
    ("post", "/api/v1/agent/heartbeat"),
    ("post", "/api/v1/agent/approvals"),
    ("get", "/api/v1/agent/approvals/{id}"),
    ("post", "/api/v1/agent/messages"),
    ("post", "/api/v1/agent/tasks"),
    ("post", "/api/v1/agent/stop-ack"),
    ("get", "/api/v1/agent/control"),
];

#[tokio::test]
async fn the_document_lists_every_route_and_nothing_else() {
    let server = TestServer::start().await;
    let (status, document) = server.anonymous().get("/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let mut listed: Vec<(String, String)> = document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("item")
                .keys()
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect();
    listed.sort();
    let mut expected: Vec<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    expected.sort();
    assert_eq!(listed, expected);
    // Every listed route is really served: none answers the router's own 404 or 405.
    let api = server.login("viewer@acme.test").await;
    for (method, path) in ROUTES {
        let path = unknown_ids(path);
        let (status, body) = api
            .method(method.to_uppercase().parse().expect("method"), &path)
            .await;
        let unrouted = body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no such route") || m.contains("does not take"));
        assert!(
            !unrouted,
            "{method} {path} is in the document but not served ({status})"
        );
    }
}

/// The route with an unknown id in each of its parameters.
fn unknown_ids(path: &str) -> String {
    path.replace("{id}", "x_unknown")
        .replace("{agent_id}", "x_unknown")
}

/// Routes anyone may call; every other route names the token it takes.
const PUBLIC: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/refresh"),
    ("get", "/api/v1/push/vapid-public-key"),
];

async fn document(server: &TestServer) -> Value {
    let (status, document) = server.anonymous().get("/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    document
}

fn operation<'a>(document: &'a Value, method: &str, path: &str) -> &'a Value {
    let op = &document["paths"][path][method];
    assert!(op.is_object(), "{method} {path} is not in the document");
    op
}

fn query_parameter<'a>(op: &'a Value, name: &str) -> &'a Value {
    op["parameters"]
        .as_array()
        .and_then(|params| {
            params
                .iter()
                .find(|p| p["name"] == name && p["in"] == "query")
        })
        .unwrap_or_else(|| panic!("no query parameter {name}"))
}

fn property<'a>(document: &'a Value, schema: &str, field: &str) -> &'a Value {
    let found = &document["components"]["schemas"][schema]["properties"][field];
    assert!(found.is_object(), "{schema}.{field} is not in the document");
    found
}

#[tokio::test]
async fn the_document_states_who_may_call_each_route_and_the_server_agrees() {
    let server = TestServer::start().await;
    let document = document(&server).await;
    let anonymous = server.anonymous();
    for (method, path) in ROUTES {
        let op = operation(&document, method, path);
        let security = &op["security"];
        if PUBLIC.contains(&(*method, *path)) {
            assert!(security.is_null(), "{method} {path} is public: {security}");
            continue;
        }
        let scheme = if path.starts_with("/api/v1/agent/") {
            "agent_token"
        } else {
            "bearer"
        };
        let schemes: Vec<&str> = security
            .as_array()
            .unwrap_or_else(|| panic!("{method} {path} states no security"))
            .iter()
            .flat_map(|requirement| requirement.as_object().expect("requirement").keys())
            .map(String::as_str)
            .collect();
        assert!(
            schemes.contains(&scheme),
            "{method} {path} takes {scheme}: {schemes:?}"
        );
        for status in ["401", "403"] {
            assert!(
                op["responses"][status].is_object(),
                "{method} {path} does not list {status}"
            );
        }
        // The server agrees: without a token, the route answers 401 as the document says.
        let (status, body) = anonymous
            .method(
                method.to_uppercase().parse().expect("method"),
                &unknown_ids(path),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {body}");
    }
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["agent_token"]["scheme"], "bearer");
}

#[tokio::test]
async fn every_error_answer_is_listed_with_the_error_body() {
    let server = TestServer::start().await;
    let document = document(&server).await;
    for (method, path) in ROUTES {
        let op = operation(&document, method, path);
        let responses = op["responses"].as_object().expect("responses");
        for (status, response) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{method} {path} {status}"
                );
            }
        }
        let takes_body = op["requestBody"].is_object();
        if takes_body {
            for status in ["400", "408", "413"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} takes a body but omits {status}"
                );
            }
        }
        let takes_id = path.contains("{id}");
        if takes_id {
            assert!(
                responses.contains_key("404"),
                "{method} {path} takes an id but omits 404"
            );
        }
        let is_mutation = *method != "get"
            && !PUBLIC.contains(&(*method, *path))
            && *path != "/api/v1/auth/logout";
        if is_mutation {
            let key = op["parameters"]
                .as_array()
                .and_then(|params| params.iter().find(|p| p["name"] == "Idempotency-Key"));
            assert!(
                key.is_some_and(|k| k["in"] == "header"),
                "{method} {path} omits Idempotency-Key"
            );
            // A keyed request's body is read to fingerprint it, even where no body is taken.
            for status in ["400", "408", "413", "422"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} takes an Idempotency-Key but omits {status}"
                );
            }
        }
    }
    let too_many = &operation(&document, "post", "/api/v1/auth/login")["responses"]["429"];
    assert!(too_many["headers"]["Retry-After"].is_object(), "{too_many}");
}

/// Writes that must never wait behind a writer's quota: the emergency stop, a stop's
/// acknowledgement, and signing out.
const NEVER_HELD_BACK: &[&str] = &[
    "/api/v1/stop",
    "/api/v1/projects/{id}/stop",
    "/api/v1/agent/stop-ack",
    "/api/v1/auth/logout",
];

#[tokio::test]
async fn every_write_a_quota_holds_back_lists_429_and_no_other_does() {
    let server = TestServer::start().await;
    let document = document(&server).await;
    for (method, path) in ROUTES {
        if *method == "get" || PUBLIC.contains(&(*method, *path)) {
            continue;
        }
        let responses = &operation(&document, method, path)["responses"];
        if NEVER_HELD_BACK.contains(path) {
            assert!(
                responses["429"].is_null(),
                "{method} {path} is never held back"
            );
        } else {
            assert!(
                responses["429"]["headers"]["Retry-After"].is_object(),
                "{method} {path} is counted by its writer's quota but omits 429"
            );
        }
    }
}

#[tokio::test]
async fn the_document_states_the_bounds_the_server_enforces() {
    let server = TestServer::start().await;
    let document = document(&server).await;

    let metrics = operation(&document, "get", "/api/v1/projects/{id}/metrics");
    assert_eq!(
        query_parameter(metrics, "bucket")["schema"]["enum"],
        json!(["hour", "day"])
    );
    let messages = operation(&document, "get", "/api/v1/projects/{id}/messages");
    let limit = &query_parameter(messages, "limit")["schema"];
    assert_eq!(
        (limit["minimum"].as_i64(), limit["maximum"].as_i64()),
        (Some(1), Some(200))
    );
    let sync = operation(&document, "get", "/api/v1/sync");
    let limit = &query_parameter(sync, "limit")["schema"];
    assert_eq!(
        (limit["minimum"].as_i64(), limit["maximum"].as_i64()),
        (Some(1), Some(1000))
    );
    assert_eq!(query_parameter(sync, "since")["schema"]["minimum"], 0);

    for (schema, field) in [
        ("LoginRequest", "email"),
        ("CreateProjectRequest", "name"),
        ("CreateAgentRequest", "model"),
        ("PostMessageRequest", "body"),
        ("AgentMessageRequest", "body"),
        ("RequestApproval", "kind"),
        ("RequestApproval", "title"),
    ] {
        assert_eq!(
            property(&document, schema, field)["minLength"],
            1,
            "{schema}.{field}"
        );
    }
    let progress = property(&document, "UpsertTaskRequest", "progress");
    assert_eq!(
        (progress["minimum"].as_i64(), progress["maximum"].as_i64()),
        (Some(0), Some(100))
    );
    let expiry = property(&document, "RequestApproval", "expires_in_s");
    assert_eq!(
        (expiry["minimum"].as_i64(), expiry["maximum"].as_i64()),
        (Some(10), Some(604_800))
    );
    let cost = property(&document, "HeartbeatRequest", "cost_usd");
    assert_eq!(
        (cost["minimum"].as_f64(), cost["maximum"].as_f64()),
        (Some(0.0), Some(10_000.0))
    );
    assert_eq!(
        property(&document, "CreateProjectRequest", "budget_usd")["minimum"],
        0
    );
    assert_eq!(
        property(&document, "RequestApproval", "payload")["type"],
        "object"
    );

    // The server refuses what the document rules out.
    let owner = server.login("owner@acme.test").await;
    let spring = project_id(&owner, SPRING).await;
    for path in [
        format!("/api/v1/projects/{spring}/metrics?bucket=week"),
        format!("/api/v1/projects/{spring}/messages?limit=201"),
        "/api/v1/sync?since=-1".to_owned(),
        "/api/v1/sync?since=0&limit=0".to_owned(),
    ] {
        let (status, body) = owner.get(&path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
    }
    // A body is an object: serde alone would take a struct written as an array.
    let (status, body) = owner
        .patch(&format!("/api/v1/projects/{spring}"), json!([]))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = server
        .agent("Quill")
        .post(
            "/api/v1/agent/approvals",
            json!({"kind": "publish_ad", "title": "x", "payload": [1, 2], "risk": "low", "expires_in_s": 60}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

/// The API fuzzer sent `muted_projects` with an id twice: the document said `uniqueItems`, and
/// the server, which reads a set, kept it once and answered 200. The document now says what the
/// server does. Later it sent one id 1,001 times: the set held one, so the count was checked
/// after the duplicates were folded and `maxItems` was not kept. It is counted as sent now.
#[tokio::test]
async fn a_set_in_a_body_is_documented_as_the_server_reads_it() {
    let server = TestServer::start().await;
    let document = document(&server).await;
    let muted = property(&document, "NotificationPrefs", "muted_projects");
    assert_eq!(muted["type"], "array", "{muted}");
    assert_eq!(muted["maxItems"], 1000, "{muted}");
    assert!(muted.get("uniqueItems").is_none(), "{muted}");

    let oncall = server.login("oncall@acme.test").await;
    let (status, saved) = oncall
        .put(
            "/api/v1/me/notification-settings",
            json!({"enabled": true, "muted_projects": ["prj_a", "prj_b", "prj_a"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["muted_projects"], json!(["prj_a", "prj_b"]));

    let (status, refusal) = oncall
        .put(
            "/api/v1/me/notification-settings",
            json!({"enabled": true, "muted_projects": vec!["prj_a"; 1001]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refusal}");
    let message = refusal["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("`muted_projects` names 1001 projects; at most 1000"),
        "{message}"
    );
    let (_, kept) = oncall.get("/api/v1/me/notification-settings").await;
    assert_eq!(
        kept["muted_projects"],
        json!(["prj_a", "prj_b"]),
        "nothing saved"
    );

    let (status, saved) = oncall
        .put(
            "/api/v1/me/notification-settings",
            json!({"enabled": true, "muted_projects": vec!["prj_c"; 1000]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["muted_projects"], json!(["prj_c"]));
}

#[tokio::test]
async fn stop_and_logout_bodies_are_optional_as_the_document_says() {
    let server = TestServer::start().await;
    let document = document(&server).await;
    for (method, path) in [
        ("post", "/api/v1/projects/{id}/stop"),
        ("post", "/api/v1/stop"),
        ("post", "/api/v1/auth/logout"),
    ] {
        let body = &operation(&document, method, path)["requestBody"];
        assert!(body.is_object(), "{method} {path} documents its body");
        assert_ne!(
            body["required"], true,
            "{method} {path}: the body is optional"
        );
    }
    let oncall = server.login("oncall@acme.test").await;
    let spring = project_id(&oncall, SPRING).await;
    let (status, body) = oncall
        .post_raw(
            &format!("/api/v1/projects/{spring}/stop"),
            "application/json",
            Vec::new(),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "no body: {body}");
    let launch = project_id(&oncall, LAUNCH).await;
    let (status, body) = oncall
        .post_raw(
            &format!("/api/v1/projects/{launch}/stop"),
            "application/json",
            b"null".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "a null body: {body}");
    let (status, body) = oncall
        .post_raw("/api/v1/auth/logout", "application/json", b"null".to_vec())
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

/// The client's endpoint types (`spartex_api::endpoints`) name routes this server serves, with
/// the method it serves them with: the paths are written twice (the routes' attributes and the
/// descriptors), and this holds the two together.
#[tokio::test]
async fn every_endpoint_the_clients_call_is_served_with_its_method() {
    use spartex_api::endpoints::*;
    use spartex_api::{Endpoint, Method};

    fn route<E: Endpoint>(endpoint: &E) -> (Method, String) {
        (E::METHOD, endpoint.path())
    }
    let id = || "ID".to_owned();
    let stop = || spartex_api::StopRequest::default();
    let called = [
        route(&Login {
            body: spartex_api::LoginRequest {
                email: String::new(),
                password: String::new(),
            },
        }),
        route(&Refresh {
            body: spartex_api::RefreshRequest {
                refresh_token: String::new(),
            },
        }),
        route(&Logout {
            body: spartex_api::LogoutRequest::default(),
        }),
        route(&GetMe {}),
        route(&ListProjects {}),
        route(&GetProject { project_id: id() }),
        route(&ListMessages {
            project_id: id(),
            limit: 1,
        }),
        route(&PostMessage {
            project_id: id(),
            body: spartex_api::PostMessageRequest {
                body: String::new(),
                agent_id: None,
                client_msg_id: None,
            },
        }),
        route(&ListApprovals {}),
        route(&Decide {
            approval_id: id(),
            body: spartex_api::DecisionRequest {
                decision: spartex_api::Decision::Approve,
                comment: None,
                seen_version: 1,
            },
        }),
        route(&StopProject {
            project_id: id(),
            body: stop(),
        }),
        route(&StopAll { body: stop() }),
        route(&ResumeProject { project_id: id() }),
        route(&ListStops {}),
        route(&Sync {
            since: 0,
            since_at: None,
            limit: 1,
        }),
        route(&RegisterDevice {
            body: spartex_api::RegisterDeviceRequest::Fcm {
                push_token: String::new(),
            },
        }),
        route(&ListDevices {}),
        route(&UnregisterDevice { device_id: id() }),
        route(&GetVapidPublicKey {}),
        route(&GetNotificationSettings {}),
        route(&PutNotificationSettings {
            body: spartex_api::NotificationPrefs::default(),
        }),
    ];
    let server = TestServer::start().await;
    let (_, document) = server.anonymous().get("/api/v1/openapi.json").await;
    let paths = document["paths"].as_object().expect("paths");
    for (method, path) in called {
        let template = path.replace("/ID", "/{id}");
        let served = paths
            .get(&template)
            .and_then(|operations| operations.get(method.as_str().to_lowercase()));
        assert!(
            served.is_some(),
            "{} {template}: the clients call it, the server does not serve it",
            method.as_str()
        );
    }
}
