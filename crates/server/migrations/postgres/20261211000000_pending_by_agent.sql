-- A pending approval is found by its agent through the lookup key (`pending_of:<agent id>`):
-- how many an agent has waiting is counted from the index, not by reading each request.
-- The id is read from the stored text, not through jsonb, which refuses a document holding
-- `\u0000` (an agent may send one in a payload). The server writes an approval compactly, its
-- fields in order (`id`, `project_id`, `agent_id`, ...), so the match is anchored there: an
-- `agent_id` key inside the payload is never taken for the approval's.
UPDATE resources
SET lookup_key = 'pending_of:'
    || substring(data from '^\{"id":"[^"]*","project_id":"[^"]*","agent_id":"([^"]+)"')
WHERE kind = 'approval' AND status = 'pending'
  AND substring(data from '^\{"id":"[^"]*","project_id":"[^"]*","agent_id":"([^"]+)"') IS NOT NULL;

-- A project's open tasks are read (and counted) by status, not by reading every task it had.
CREATE INDEX resources_by_project_status ON resources (tenant_id, kind, project_id, status);
