-- A person's live sessions, newest first: past the most a person may keep, the oldest end.
CREATE INDEX sessions_by_user ON sessions (user_id, created_at_ms) WHERE revoked_at_ms IS NULL;
