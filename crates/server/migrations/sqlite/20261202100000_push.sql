-- Push (protocol v1.1). Devices register in their platform's own form: the old table held
-- only `ios`/`android`/`desktop` tokens that no push service could be sent to, so it starts over.
DROP TABLE devices;
CREATE TABLE devices (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    user_id       TEXT NOT NULL REFERENCES users(id),
    platform      TEXT NOT NULL,
    -- The APNs/FCM token, or the Web Push endpoint: one install, whoever signs in on it.
    address       TEXT NOT NULL,
    -- The registration as sent (keys, APNs environment), JSON.
    registration  TEXT NOT NULL,
    created_at    TEXT NOT NULL,
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

-- How far the push dispatcher has read each tenant's log. Tenants that exist now start at
-- their head, so an upgrade does not push history.
CREATE TABLE push_cursors (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
    seq       INTEGER NOT NULL
);
INSERT INTO push_cursors (tenant_id, seq) SELECT id, head_seq FROM tenants;

-- The last state the dispatcher saw of each resource that can cause a push (an approval's,
-- agent's or stop's status, a project's budget state), so it pushes transitions, not repeats.
CREATE TABLE push_states (
    tenant_id   TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    state       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, resource_id)
) WITHOUT ROWID;

-- Pushes waiting for their push service. One per device and collapse key: a newer push about
-- the same thing (an approval's resolution) replaces one not yet sent.
CREATE TABLE push_queue (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id           TEXT NOT NULL,
    device_id           TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    collapse_key        TEXT NOT NULL,
    payload             TEXT NOT NULL,
    urgent              INTEGER NOT NULL,
    -- After this the push is no use (the approval expired): it is dropped, not sent.
    expires_at_ms       INTEGER NOT NULL,
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms  INTEGER NOT NULL,
    -- Raised when a newer push replaces this one, so an attempt in flight settles only its own.
    version             INTEGER NOT NULL DEFAULT 1,
    committed_at_ms     INTEGER NOT NULL,
    UNIQUE (device_id, collapse_key)
);
CREATE INDEX push_queue_due ON push_queue (next_attempt_at_ms);
