-- Failed sign-ins by hashed key (address and email, or address alone), shared by every
-- instance so that guesses spread over several instances are counted together.
CREATE TABLE sign_in_failures (
    key TEXT PRIMARY KEY,
    count BIGINT NOT NULL,
    last_ms BIGINT NOT NULL
);
CREATE INDEX sign_in_failures_last ON sign_in_failures (last_ms);
