-- Upserts set `title` and `body` on every update (a task's progress, a project's spend), and an
-- `AFTER UPDATE OF title, body` trigger fires whenever those columns are assigned, changed or
-- not: each update deleted and re-added the row in the full-text index. Re-index only when the
-- text changed.
DROP TRIGGER projects_fts_update;
CREATE TRIGGER projects_fts_update AFTER UPDATE OF title, body ON projects
WHEN old.title IS NOT new.title OR old.body IS NOT new.body BEGIN
    INSERT INTO projects_fts (projects_fts, rowid, title, body) VALUES ('delete', old.rowid, old.title, old.body);
    INSERT INTO projects_fts (rowid, title, body) VALUES (new.rowid, new.title, new.body);
END;

DROP TRIGGER tasks_fts_update;
CREATE TRIGGER tasks_fts_update AFTER UPDATE OF title, body ON tasks
WHEN old.title IS NOT new.title OR old.body IS NOT new.body BEGIN
    INSERT INTO tasks_fts (tasks_fts, rowid, title, body) VALUES ('delete', old.rowid, old.title, old.body);
    INSERT INTO tasks_fts (rowid, title, body) VALUES (new.rowid, new.title, new.body);
END;

DROP TRIGGER approvals_fts_update;
CREATE TRIGGER approvals_fts_update AFTER UPDATE OF title, body ON approvals
WHEN old.title IS NOT new.title OR old.body IS NOT new.body BEGIN
    INSERT INTO approvals_fts (approvals_fts, rowid, title, body) VALUES ('delete', old.rowid, old.title, old.body);
    INSERT INTO approvals_fts (rowid, title, body) VALUES (new.rowid, new.title, new.body);
END;
