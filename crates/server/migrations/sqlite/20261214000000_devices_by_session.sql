-- A device is registered under the sign-in that registered it, and ends with it: signing out
-- (even from a phone that is offline, whose own unregistering never arrives), a reused refresh
-- token, a sign-in pushed out past the most a person keeps, or its expiry. Before, a device
-- belonged to its person, and a phone signed out went on showing the organisation's requests
-- on its lock screen and counting its person as reachable. Devices registered before this
-- belong to no sign-in and stay until the app registers again (at its next start), since
-- tying one to a guessed sign-in could end an on-call's phone with their laptop's.
--
-- One install is one device per organisation, not across them: a registration in another
-- organisation sits beside it (a phone signed in to two, or someone elsewhere who learned the
-- token), where it took the device away and its person silently stopped being paged.
--
-- SQLite changes a table's UNIQUE only by building it again. The queued pushes are built
-- again with it: dropping the old devices would delete them by cascade (foreign keys are on,
-- and cannot be turned off inside the migration's transaction), and renaming the new tables
-- points their references at the new names.
CREATE TABLE devices_new (
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
    seen_at       TEXT,
    session_id    TEXT REFERENCES sessions(id) ON DELETE CASCADE,
    UNIQUE (tenant_id, platform, address)
);
INSERT INTO devices_new (id, tenant_id, user_id, platform, address, registration, created_at,
                         last_push_at, last_error, seen_at)
    SELECT id, tenant_id, user_id, platform, address, registration, created_at,
           last_push_at, last_error, seen_at
    FROM devices;

CREATE TABLE push_queue_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id           TEXT NOT NULL,
    device_id           TEXT NOT NULL REFERENCES devices_new(id) ON DELETE CASCADE,
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
INSERT INTO push_queue_new SELECT * FROM push_queue;
-- Ids go on from where they were, not from the highest one left.
DELETE FROM sqlite_sequence WHERE name = 'push_queue_new';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'push_queue_new', seq FROM sqlite_sequence WHERE name = 'push_queue';

DROP TABLE push_queue;
DROP TABLE devices;
ALTER TABLE devices_new RENAME TO devices;
ALTER TABLE push_queue_new RENAME TO push_queue;
CREATE INDEX devices_by_user ON devices (tenant_id, user_id);
CREATE INDEX devices_by_session ON devices (session_id);
CREATE INDEX push_queue_due ON push_queue (next_attempt_at_ms);
