//! Users, sessions and refresh tokens as both stores read them, and whether a session may
//! still be used.

use spartex_api::User;

pub struct UserCredentials {
    pub user: User,
    pub tenant_id: String,
    pub password_hash: String,
}

/// A session that may be used, and whose it is now: its person as the database has them at
/// this moment (their role, their organisation), not as the access token said at sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    /// Its last refresh token's expiry, in ms since the epoch.
    pub until_ms: i64,
    pub user_id: String,
    pub tenant_id: String,
    pub role: spartex_api::Role,
    pub email: String,
    pub name: String,
}

/// A session's row as both stores read it: (user, the session's organisation, the person's
/// organisation now, role, email, name, the last refresh token's expiry).
pub(super) type SessionRow = (String, String, String, String, String, String, Option<i64>);

/// A user as both stores read one: `(id, email, name, role)`; a role this server does not
/// know leaves the user out, as signing in refuses it.
pub(super) type UserRow = (String, String, String, String);

pub(super) fn users_of(rows: Vec<UserRow>) -> Vec<User> {
    rows.into_iter()
        .filter_map(|(id, email, name, role)| {
            Some(User {
                id,
                email,
                name,
                role: role.parse().ok()?,
            })
        })
        .collect()
}

/// What a live session's row says, if it may be used: it has a refresh token left, and its
/// person is still of the organisation they signed in to, with a role this server knows.
pub(super) fn live_session_of(row: SessionRow) -> Option<LiveSession> {
    let (user_id, tenant_id, user_tenant_id, role, email, name, until_ms) = row;
    if tenant_id != user_tenant_id {
        return None;
    }
    Some(LiveSession {
        until_ms: until_ms?,
        user_id,
        tenant_id,
        role: role.parse().ok()?,
        email,
        name,
    })
}

pub struct RefreshTokenRow {
    pub session_id: String,
    pub tenant_id: String,
    pub user_id: String,
    pub expires_at_ms: i64,
    /// When it was exchanged for its successor.
    pub used_at_ms: Option<i64>,
    pub session_revoked: bool,
}
