//! Where the UI should go: deep links (`spartex://approvals/{id}`, `spartex://projects/{id}`)
//! and clicks on notifications become a route path the UI understands.

/// The UI route for a deep link, or `None` for a link this app does not handle.
pub fn route_for_link(link: &str) -> Option<String> {
    let url = tauri::Url::parse(link).ok()?;
    if url.scheme() != "spartex" {
        return None;
    }
    let section = url.host_str()?;
    let mut segments = url.path_segments()?.filter(|s| !s.is_empty());
    let id = segments.next()?;
    if segments.next().is_some() || !is_plain_id(id) {
        return None;
    }
    match section {
        "approvals" => Some(approval_route(id)),
        "projects" => Some(project_route(id)),
        _ => None,
    }
}

pub fn approval_route(id: &str) -> String {
    format!("/approvals/{id}")
}

pub fn project_route(id: &str) -> String {
    format!("/projects/{id}")
}

/// Ids are letters, digits, `-` and `_`: nothing that could steer a route elsewhere.
fn is_plain_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_to_approvals_and_projects_become_routes() {
        assert_eq!(
            route_for_link("spartex://approvals/ap_01J9Z").as_deref(),
            Some("/approvals/ap_01J9Z")
        );
        assert_eq!(
            route_for_link("spartex://projects/pr-7/").as_deref(),
            Some("/projects/pr-7")
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for link in [
            "https://approvals/ap_1",
            "spartex://settings/x",
            "spartex://approvals/",
            "spartex://approvals/a/b",
            "spartex://approvals/..%2Fsettings",
            "not a url",
        ] {
            assert_eq!(route_for_link(link), None, "{link}");
        }
    }
}
