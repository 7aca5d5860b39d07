-- An instance that could not hear the others reads the sign-outs it missed by when they were
-- said; only revoked sessions are indexed.
CREATE INDEX sessions_by_revocation ON sessions (revoked_at_ms) WHERE revoked_at_ms IS NOT NULL;
