-- The client cache of one account. Resources are kept as their wire JSON (`data`) beside the
-- columns that reads filter on; `version` guards every upsert so replays change nothing.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE projects (
    id         TEXT PRIMARY KEY,
    version    INTEGER NOT NULL,
    name       TEXT NOT NULL,
    status     TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    -- The newest of updated_at and the project's latest message, kept on apply for the dashboard.
    last_activity TEXT NOT NULL DEFAULT '',
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    data       TEXT NOT NULL
);

CREATE TABLE agents (
    id         TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    version    INTEGER NOT NULL,
    status     TEXT NOT NULL,
    data       TEXT NOT NULL
);
CREATE INDEX agents_by_project ON agents (project_id, status);

CREATE TABLE tasks (
    id         TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    version    INTEGER NOT NULL,
    status     TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    data       TEXT NOT NULL
);
CREATE INDEX tasks_by_project ON tasks (project_id, updated_at);

CREATE TABLE approvals (
    id             TEXT PRIMARY KEY,
    project_id     TEXT NOT NULL,
    version        INTEGER NOT NULL,
    status         TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    title          TEXT NOT NULL,
    body           TEXT NOT NULL,
    data           TEXT NOT NULL,
    -- `approve` or `reject` while a decision made here waits in the outbox.
    local_decision TEXT
);
CREATE INDEX approvals_by_status ON approvals (status, project_id);

CREATE TABLE messages (
    id            TEXT PRIMARY KEY,
    project_id    TEXT NOT NULL,
    agent_id      TEXT,
    created_at    TEXT NOT NULL,
    client_msg_id TEXT,
    -- 1 for a message written here that waits in the outbox.
    pending       INTEGER NOT NULL DEFAULT 0,
    title         TEXT NOT NULL,
    body          TEXT NOT NULL,
    data          TEXT NOT NULL
);
CREATE INDEX messages_by_project ON messages (project_id, created_at);
CREATE INDEX messages_by_client_id ON messages (client_msg_id) WHERE client_msg_id IS NOT NULL;

CREATE TABLE costs (
    seq        INTEGER PRIMARY KEY,
    project_id TEXT NOT NULL,
    agent_id   TEXT NOT NULL,
    at         TEXT NOT NULL,
    tokens     INTEGER NOT NULL,
    cost_usd   REAL NOT NULL
);
CREATE INDEX costs_by_project ON costs (project_id, at);

CREATE TABLE stops (
    id           TEXT PRIMARY KEY,
    project_id   TEXT,
    version      INTEGER NOT NULL,
    status       TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    data         TEXT NOT NULL
);

-- Actions taken here, waiting to reach the server; delivered in priority order with their key.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,
    priority        INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    method          TEXT NOT NULL,
    path            TEXT NOT NULL,
    body            TEXT NOT NULL,
    label           TEXT NOT NULL,
    approval_id     TEXT,
    project_id      TEXT,
    client_msg_id   TEXT,
    created_at      TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT
);

-- What became of queued actions, for the user to see.
CREATE TABLE outcomes (
    id   INTEGER PRIMARY KEY,
    at   TEXT NOT NULL,
    data TEXT NOT NULL
);

-- Full-text search over projects, tasks, approvals and messages (external content, kept by triggers).
CREATE VIRTUAL TABLE projects_fts USING fts5 (title, body, content = 'projects', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE tasks_fts USING fts5 (title, body, content = 'tasks', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE approvals_fts USING fts5 (title, body, content = 'approvals', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE messages_fts USING fts5 (title, body, content = 'messages', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 2');

CREATE TRIGGER projects_fts_insert AFTER INSERT ON projects BEGIN
    INSERT INTO projects_fts (rowid, title, body) VALUES (new.rowid, new.title, new.body);
END;
CREATE TRIGGER projects_fts_delete AFTER DELETE ON projects BEGIN
    INSERT INTO projects_fts (projects_fts, rowid, title, body) VALUES ('delete', old.rowid, old.title, old.body);
END;
CREATE TRIGGER projects_fts_update AFTER UPDATE OF title, body ON projects BEGIN
    INSERT INTO projects_fts (projects_fts, rowid, title, body) VALUES ('delete', old.rowid, old.title, old.body);
    INSERT INTO projects_fts (rowid, title, body) VALUES (new.rowid, new.title, new.body);
END;

CREATE TRIGGER tasks_fts_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO tasks_fts (rowid, title, body) VALUES (new.rowid, new.title, new.body);
END;
CREATE TRIGGER tasks_fts_delete AFTER DELETE ON tasks BEGIN
    INSERT INTO tasks_fts (tasks_fts, rowid, title, body) VALUES ('delete', old.rowid, old.title, old.body);
END;
CREATE TRIGGER tasks_fts_update AFTER UPDATE OF title, body ON tasks BEGIN
    INSERT INTO tasks_fts (tasks_fts, rowid, title, body) VALUES ('delete', old.rowid, old.title, old.body);
    INSERT INTO tasks_fts (rowid, title, body) VALUES (new.rowid, new.title, new.body);
END;

CREATE TRIGGER approvals_fts_insert AFTER INSERT ON approvals BEGIN
    INSERT INTO approvals_fts (rowid, title, body) VALUES (new.rowid, new.title, new.body);
END;
CREATE TRIGGER approvals_fts_delete AFTER DELETE ON approvals BEGIN
    INSERT INTO approvals_fts (approvals_fts, rowid, title, body) VALUES ('delete', old.rowid, old.title, old.body);
END;
CREATE TRIGGER approvals_fts_update AFTER UPDATE OF title, body ON approvals BEGIN
    INSERT INTO approvals_fts (approvals_fts, rowid, title, body) VALUES ('delete', old.rowid, old.title, old.body);
    INSERT INTO approvals_fts (rowid, title, body) VALUES (new.rowid, new.title, new.body);
END;

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, title, body) VALUES (new.rowid, new.title, new.body);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, title, body) VALUES ('delete', old.rowid, old.title, old.body);
END;

-- Events this build could not read (a newer or broken server). Kept, never silently dropped.
CREATE TABLE rejected_events (
    seq   INTEGER PRIMARY KEY,
    kind  TEXT NOT NULL,
    error TEXT NOT NULL,
    raw   TEXT NOT NULL
);
