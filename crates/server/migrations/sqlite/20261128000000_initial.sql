-- Resources are stored as their wire JSON (`data`) beside the columns that queries filter on,
-- so the stored shape and the wire shape cannot drift apart.

CREATE TABLE server_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE tenants (
    id        TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    slug      TEXT NOT NULL UNIQUE,
    -- The last seq appended to this tenant's log.
    head_seq  INTEGER NOT NULL DEFAULT 0,
    -- Every event with seq <= log_floor has been pruned.
    log_floor INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL
);

-- A session is one refresh-token family: reusing a rotated token revokes the whole family.
CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    user_id       TEXT NOT NULL REFERENCES users(id),
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
);

CREATE TABLE refresh_tokens (
    token_hash    TEXT PRIMARY KEY,
    session_id    TEXT NOT NULL REFERENCES sessions(id),
    expires_at_ms INTEGER NOT NULL,
    used_at_ms    INTEGER
);

CREATE TABLE agent_tokens (
    token_hash TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    agent_id   TEXT NOT NULL
);

CREATE TABLE resources (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    kind       TEXT NOT NULL,
    id         TEXT NOT NULL,
    project_id TEXT,
    status     TEXT,
    -- Orders listings (messages by creation) and holds deadlines (approval expiry, stop force).
    sort_key   TEXT NOT NULL DEFAULT '',
    due_at_ms  INTEGER,
    -- A second key clients choose, e.g. a message's client_msg_id.
    lookup_key TEXT,
    data       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, kind, id)
) WITHOUT ROWID;
CREATE INDEX resources_by_project ON resources (tenant_id, kind, project_id, sort_key);
CREATE INDEX resources_by_status ON resources (kind, status, due_at_ms);
CREATE INDEX resources_by_lookup_key ON resources (tenant_id, kind, lookup_key) WHERE lookup_key IS NOT NULL;

CREATE TABLE events (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    seq        INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    at         TEXT NOT NULL,
    at_ms      INTEGER NOT NULL,
    project_id TEXT,
    data       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
) WITHOUT ROWID;

CREATE TABLE cost_records (
    id         INTEGER PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    project_id TEXT NOT NULL,
    agent_id   TEXT NOT NULL,
    at_s       INTEGER NOT NULL,
    model      TEXT NOT NULL,
    tokens_in  INTEGER NOT NULL,
    tokens_out INTEGER NOT NULL,
    cost_usd   REAL NOT NULL
);
CREATE INDEX cost_records_by_project ON cost_records (tenant_id, project_id, at_s);

CREATE TABLE idempotency_keys (
    principal_id  TEXT NOT NULL,
    key           TEXT NOT NULL,
    method        TEXT NOT NULL,
    path          TEXT NOT NULL,
    status        INTEGER NOT NULL,
    body          TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (principal_id, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at_ms);

CREATE TABLE devices (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    user_id       TEXT NOT NULL REFERENCES users(id),
    platform      TEXT NOT NULL,
    push_token    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    UNIQUE (user_id, push_token)
);
