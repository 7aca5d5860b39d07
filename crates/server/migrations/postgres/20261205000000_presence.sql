-- Who each server instance holds event sockets of, so the escalation ladder on any instance
-- counts a person whose app is connected to another. An instance's rows count while its
-- heartbeat (`seen_at_ms`, every 10 s) is recent, and go with it when it withdraws or is
-- forgotten an hour after its last heartbeat.
CREATE TABLE presence_instances (
    instance_id TEXT PRIMARY KEY,
    seen_at_ms BIGINT NOT NULL
);
CREATE TABLE presence (
    instance_id TEXT NOT NULL REFERENCES presence_instances (instance_id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (instance_id, tenant_id, user_id)
);
CREATE INDEX presence_by_tenant ON presence (tenant_id);
