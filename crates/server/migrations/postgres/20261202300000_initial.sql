-- The PostgreSQL schema: the final shape of the SQLite migrations (../sqlite), in one step.
-- Resources and events are stored as their wire JSON (`data`, as text, exactly as SQLite keeps
-- it) beside the columns that queries filter on, so the stored shape and the wire shape cannot
-- drift apart. Keys and sort keys compare byte by byte (COLLATE "C"), as SQLite's do, so
-- listings come out in the same order whatever the database's locale.

CREATE TABLE server_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE tenants (
    id        TEXT COLLATE "C" PRIMARY KEY,
    name      TEXT NOT NULL,
    slug      TEXT NOT NULL UNIQUE,
    -- The last seq appended to this tenant's log. A write holds this row locked (FOR UPDATE)
    -- from its start to its commit: that is the tenant's turn across every server instance.
    head_seq  BIGINT NOT NULL DEFAULT 0,
    -- Every event with seq <= log_floor has been pruned.
    log_floor BIGINT NOT NULL DEFAULT 0,
    -- The owner's tenant-wide settings (spartex_api::TenantSettings) as JSON; NULL is the defaults.
    settings  TEXT
);

CREATE TABLE users (
    id            TEXT COLLATE "C" PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL
);
-- SQLite's `UNIQUE COLLATE NOCASE`: one account per address, whatever its case.
CREATE UNIQUE INDEX users_by_email ON users (lower(email));

-- A session is one refresh-token family: reusing a rotated token revokes the whole family.
CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    user_id       TEXT NOT NULL REFERENCES users(id),
    created_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT
);

CREATE TABLE refresh_tokens (
    token_hash    TEXT PRIMARY KEY,
    session_id    TEXT NOT NULL REFERENCES sessions(id),
    expires_at_ms BIGINT NOT NULL,
    used_at_ms    BIGINT
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id, expires_at_ms);

CREATE TABLE agent_tokens (
    token_hash TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    agent_id   TEXT NOT NULL
);

CREATE TABLE resources (
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    kind       TEXT NOT NULL,
    id         TEXT COLLATE "C" NOT NULL,
    project_id TEXT,
    status     TEXT,
    -- Orders listings (messages by creation) and holds deadlines (approval expiry, stop force).
    sort_key   TEXT COLLATE "C" NOT NULL DEFAULT '',
    due_at_ms  BIGINT,
    -- A second key clients choose, e.g. a message's client_msg_id.
    lookup_key TEXT,
    data       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, kind, id)
);
CREATE INDEX resources_by_project ON resources (tenant_id, kind, project_id, sort_key);
CREATE INDEX resources_by_status ON resources (kind, status, due_at_ms);
CREATE INDEX resources_by_lookup_key ON resources (tenant_id, kind, lookup_key) WHERE lookup_key IS NOT NULL;

CREATE TABLE events (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    seq        BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    at         TEXT NOT NULL,
    at_ms      BIGINT NOT NULL,
    project_id TEXT,
    data       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

CREATE TABLE cost_records (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    project_id TEXT NOT NULL,
    agent_id   TEXT COLLATE "C" NOT NULL,
    at_s       BIGINT NOT NULL,
    model      TEXT NOT NULL,
    tokens_in  BIGINT NOT NULL,
    tokens_out BIGINT NOT NULL,
    cost_usd   DOUBLE PRECISION NOT NULL
);
CREATE INDEX cost_records_by_project ON cost_records (tenant_id, project_id, at_s);

-- An Idempotency-Key is kept with a hash of the request it answered, so the same key sent
-- with another body is refused instead of silently answered with the first change's result.
CREATE TABLE idempotency_keys (
    principal_id  TEXT NOT NULL,
    key           TEXT NOT NULL,
    method        TEXT NOT NULL,
    path          TEXT NOT NULL,
    request_hash  TEXT,
    status        BIGINT NOT NULL,
    body          TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (principal_id, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at_ms);

-- Push (protocol v1.1): devices in their platform's own form.
CREATE TABLE devices (
    id            TEXT COLLATE "C" PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    user_id       TEXT NOT NULL REFERENCES users(id),
    platform      TEXT NOT NULL,
    -- The APNs/FCM token, or the Web Push endpoint: one install, whoever signs in on it.
    address       TEXT NOT NULL,
    -- The registration as sent (keys, APNs environment), JSON.
    registration  TEXT NOT NULL,
    -- RFC 3339 text, as on SQLite: it orders a user's devices.
    created_at    TEXT COLLATE "C" NOT NULL,
    last_push_at  TEXT,
    last_error    TEXT,
    UNIQUE (platform, address)
);
CREATE INDEX devices_by_user ON devices (tenant_id, user_id);

-- What a user asked for in Settings, honoured by pushes while the app is closed.
CREATE TABLE notification_settings (
    user_id   TEXT PRIMARY KEY REFERENCES users(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    data      TEXT NOT NULL
);

-- How far the push dispatcher has read each tenant's log.
CREATE TABLE push_cursors (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
    seq       BIGINT NOT NULL
);

-- The last state the dispatcher saw of each resource that can cause a push.
CREATE TABLE push_states (
    tenant_id   TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    state       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, resource_id)
);

-- Pushes waiting for their push service. One per device and collapse key: a newer push about
-- the same thing (an approval's resolution) replaces one not yet sent.
CREATE TABLE push_queue (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id           TEXT NOT NULL,
    device_id           TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    collapse_key        TEXT NOT NULL,
    payload             TEXT NOT NULL,
    urgent              BOOLEAN NOT NULL,
    -- After this the push is no use (the approval expired): it is dropped, not sent.
    expires_at_ms       BIGINT NOT NULL,
    attempts            BIGINT NOT NULL DEFAULT 0,
    next_attempt_at_ms  BIGINT NOT NULL,
    -- Raised when a newer push replaces this one, so an attempt in flight settles only its own.
    version             BIGINT NOT NULL DEFAULT 1,
    committed_at_ms     BIGINT NOT NULL,
    UNIQUE (device_id, collapse_key)
);
CREATE INDEX push_queue_due ON push_queue (next_attempt_at_ms);
