//! The OpenAPI document is generated from the routes, and lists every one of them.

use crate::support::TestServer;

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
    ("get", "/api/v1/projects/{id}/messages"),
    ("post", "/api/v1/projects/{id}/messages"),
    ("get", "/api/v1/projects/{id}/metrics"),
    ("post", "/api/v1/projects/{id}/stop"),
    ("post", "/api/v1/projects/{id}/resume"),
    ("get", "/api/v1/approvals"),
    ("get", "/api/v1/approvals/{id}"),
    ("post", "/api/v1/approvals/{id}/decision"),
    ("post", "/api/v1/stop"),
    ("get", "/api/v1/stops"),
    ("get", "/api/v1/stops/{id}"),
    ("get", "/api/v1/sync"),
    ("get", "/api/v1/events"),
    ("post", "/api/v1/devices"),
    ("delete", "/api/v1/devices/{id}"),
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
    assert_eq!(status, reqwest::StatusCode::OK);
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
        let path = path.replace("{id}", "x_unknown");
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
