-- The project's own thread (messages with no agent) is read by itself, the newest first. Without
-- an index of its own the read walked every message of the project, the agents' threads
-- included, to find them. Partial: only the project threads' messages are in it, so the agents'
-- chatter (most of a cold sync's messages) costs it nothing to write.
CREATE INDEX messages_in_project_threads ON messages (project_id, created_at) WHERE agent_id IS NULL;
