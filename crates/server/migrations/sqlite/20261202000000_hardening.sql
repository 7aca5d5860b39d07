-- An Idempotency-Key is kept with a hash of the request it answered, so the same key sent
-- with another body is refused instead of silently answered with the first change's result.
ALTER TABLE idempotency_keys ADD COLUMN request_hash TEXT;

-- A session ends when its last refresh token expires; finding that needs tokens by session.
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id, expires_at_ms);
