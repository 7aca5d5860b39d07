-- The search index is written once, at the end of each write transaction, not row by row.
-- FTS5 flushes its pending terms to a new index segment at every statement savepoint, and every
-- multi-row upsert inside a transaction opens one: a transaction of 10,000 events wrote ~75 small
-- segments that automerge then merged again (9.5 % of a cold sync's time, profiled). Now the
-- triggers only note which rows' indexed text is out of date, in a queue per table, and every
-- write transaction ends with `INSERT INTO index_fts_queues VALUES (NULL)` (`WriteTx::commit`,
-- crates/core/src/store/write_tx.rs), which brings the index up to date in one statement just
-- before it commits. Nothing committed is ever out of date.
--
-- A queue row says what the index holds for that rowid: `indexed = 0`, nothing (the row was
-- added in this transaction); `indexed = 1`, the row's text as it was when the transaction began
-- (`old_title`, `old_body`), which the index must delete by exactly those values. The first
-- change to a row in a transaction writes its queue row; later changes find it and leave it, so
-- a row inserted, changed and deleted again, or a rowid reused after a delete, still ends right.
-- Rows of these tables are never written with REPLACE (`INSERT OR REPLACE`, `UPDATE OR
-- REPLACE`): it deletes the row it replaces without firing the delete trigger, and the index would
-- keep that row's text. Upserts are `INSERT … ON CONFLICT DO UPDATE`, which fires the update trigger.

CREATE TABLE projects_fts_queue (
    row       INTEGER PRIMARY KEY,
    indexed   INTEGER NOT NULL,
    old_title TEXT,
    old_body  TEXT
);
DROP TRIGGER projects_fts_insert;
DROP TRIGGER projects_fts_delete;
DROP TRIGGER projects_fts_update;
CREATE TRIGGER projects_fts_insert AFTER INSERT ON projects BEGIN
    INSERT INTO projects_fts_queue (row, indexed) VALUES (new.rowid, 0) ON CONFLICT DO NOTHING;
END;
CREATE TRIGGER projects_fts_delete AFTER DELETE ON projects BEGIN
    INSERT INTO projects_fts_queue (row, indexed, old_title, old_body) VALUES (old.rowid, 1, old.title, old.body) ON CONFLICT DO NOTHING;
END;
CREATE TRIGGER projects_fts_update AFTER UPDATE OF title, body ON projects
WHEN old.title IS NOT new.title OR old.body IS NOT new.body BEGIN
    INSERT INTO projects_fts_queue (row, indexed, old_title, old_body) VALUES (old.rowid, 1, old.title, old.body) ON CONFLICT DO NOTHING;
END;

CREATE TABLE tasks_fts_queue (
    row       INTEGER PRIMARY KEY,
    indexed   INTEGER NOT NULL,
    old_title TEXT,
    old_body  TEXT
);
DROP TRIGGER tasks_fts_insert;
DROP TRIGGER tasks_fts_delete;
DROP TRIGGER tasks_fts_update;
CREATE TRIGGER tasks_fts_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO tasks_fts_queue (row, indexed) VALUES (new.rowid, 0) ON CONFLICT DO NOTHING;
END;
CREATE TRIGGER tasks_fts_delete AFTER DELETE ON tasks BEGIN
    INSERT INTO tasks_fts_queue (row, indexed, old_title, old_body) VALUES (old.rowid, 1, old.title, old.body) ON CONFLICT DO NOTHING;
END;
CREATE TRIGGER tasks_fts_update AFTER UPDATE OF title, body ON tasks
WHEN old.title IS NOT new.title OR old.body IS NOT new.body BEGIN
    INSERT INTO tasks_fts_queue (row, indexed, old_title, old_body) VALUES (old.rowid, 1, old.title, old.body) ON CONFLICT DO NOTHING;
END;

CREATE TABLE approvals_fts_queue (
    row       INTEGER PRIMARY KEY,
    indexed   INTEGER NOT NULL,
    old_title TEXT,
    old_body  TEXT
);
DROP TRIGGER approvals_fts_insert;
DROP TRIGGER approvals_fts_delete;
DROP TRIGGER approvals_fts_update;
CREATE TRIGGER approvals_fts_insert AFTER INSERT ON approvals BEGIN
    INSERT INTO approvals_fts_queue (row, indexed) VALUES (new.rowid, 0) ON CONFLICT DO NOTHING;
END;
CREATE TRIGGER approvals_fts_delete AFTER DELETE ON approvals BEGIN
    INSERT INTO approvals_fts_queue (row, indexed, old_title, old_body) VALUES (old.rowid, 1, old.title, old.body) ON CONFLICT DO NOTHING;
END;
CREATE TRIGGER approvals_fts_update AFTER UPDATE OF title, body ON approvals
WHEN old.title IS NOT new.title OR old.body IS NOT new.body BEGIN
    INSERT INTO approvals_fts_queue (row, indexed, old_title, old_body) VALUES (old.rowid, 1, old.title, old.body) ON CONFLICT DO NOTHING;
END;

CREATE TABLE messages_fts_queue (
    row       INTEGER PRIMARY KEY,
    indexed   INTEGER NOT NULL,
    old_title TEXT,
    old_body  TEXT
);
DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_delete;
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts_queue (row, indexed) VALUES (new.rowid, 0) ON CONFLICT DO NOTHING;
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts_queue (row, indexed, old_title, old_body) VALUES (old.rowid, 1, old.title, old.body) ON CONFLICT DO NOTHING;
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF title, body ON messages
WHEN old.title IS NOT new.title OR old.body IS NOT new.body BEGIN
    INSERT INTO messages_fts_queue (row, indexed, old_title, old_body) VALUES (old.rowid, 1, old.title, old.body) ON CONFLICT DO NOTHING;
END;

-- Inserting into this view indexes every queue's rows and empties it: the old text deleted from
-- the index by the values it was indexed with, the rows' text now added (a row deleted since has
-- none). A view with INSTEAD OF triggers, so that it is one statement (one round trip, one FTS5
-- savepoint) that stores nothing; a trigger per table, so that a search table whose queue is
-- empty is not opened at all.
CREATE VIEW index_fts_queues AS SELECT NULL AS unused;
CREATE TRIGGER index_projects_fts_queue INSTEAD OF INSERT ON index_fts_queues
WHEN EXISTS (SELECT 1 FROM projects_fts_queue) BEGIN
    INSERT INTO projects_fts (projects_fts, rowid, title, body)
        SELECT 'delete', row, old_title, old_body FROM projects_fts_queue WHERE indexed = 1;
    INSERT INTO projects_fts (rowid, title, body)
        SELECT t.rowid, t.title, t.body FROM projects_fts_queue q JOIN projects t ON t.rowid = q.row;
    DELETE FROM projects_fts_queue;
END;
CREATE TRIGGER index_tasks_fts_queue INSTEAD OF INSERT ON index_fts_queues
WHEN EXISTS (SELECT 1 FROM tasks_fts_queue) BEGIN
    INSERT INTO tasks_fts (tasks_fts, rowid, title, body)
        SELECT 'delete', row, old_title, old_body FROM tasks_fts_queue WHERE indexed = 1;
    INSERT INTO tasks_fts (rowid, title, body)
        SELECT t.rowid, t.title, t.body FROM tasks_fts_queue q JOIN tasks t ON t.rowid = q.row;
    DELETE FROM tasks_fts_queue;
END;
CREATE TRIGGER index_approvals_fts_queue INSTEAD OF INSERT ON index_fts_queues
WHEN EXISTS (SELECT 1 FROM approvals_fts_queue) BEGIN
    INSERT INTO approvals_fts (approvals_fts, rowid, title, body)
        SELECT 'delete', row, old_title, old_body FROM approvals_fts_queue WHERE indexed = 1;
    INSERT INTO approvals_fts (rowid, title, body)
        SELECT t.rowid, t.title, t.body FROM approvals_fts_queue q JOIN approvals t ON t.rowid = q.row;
    DELETE FROM approvals_fts_queue;
END;
CREATE TRIGGER index_messages_fts_queue INSTEAD OF INSERT ON index_fts_queues
WHEN EXISTS (SELECT 1 FROM messages_fts_queue) BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, title, body)
        SELECT 'delete', row, old_title, old_body FROM messages_fts_queue WHERE indexed = 1;
    INSERT INTO messages_fts (rowid, title, body)
        SELECT t.rowid, t.title, t.body FROM messages_fts_queue q JOIN messages t ON t.rowid = q.row;
    DELETE FROM messages_fts_queue;
END;
