-- A pending approval is found by its agent through the lookup key (`pending_of:<agent id>`):
-- how many an agent has waiting is counted from the index, not by reading each request.
UPDATE resources
SET lookup_key = 'pending_of:' || json_extract(data, '$.agent_id')
WHERE kind = 'approval' AND status = 'pending' AND json_extract(data, '$.agent_id') IS NOT NULL;

-- A project's open tasks are read (and counted) by status, not by reading every task it had.
CREATE INDEX resources_by_project_status ON resources (tenant_id, kind, project_id, status);
