-- The outbox keeps each request as the typed endpoint value it will be sent as (`request`,
-- JSON tagged by `endpoint`). Rows queued by an older build are converted here, so nothing
-- waiting is lost by the upgrade; `method`, `path` and `body` stay for people reading the table.
ALTER TABLE outbox ADD COLUMN request TEXT;

UPDATE outbox SET request = json_object('endpoint', 'decide', 'approval_id', approval_id, 'body', json(body))
 WHERE request IS NULL AND kind = 'decision';
UPDATE outbox SET request = json_object('endpoint', 'post_message', 'project_id', project_id, 'body', json(body))
 WHERE request IS NULL AND kind = 'message';
UPDATE outbox SET request = json_object('endpoint', 'stop_project', 'project_id', project_id, 'body', json(body))
 WHERE request IS NULL AND kind = 'stop' AND project_id IS NOT NULL;
UPDATE outbox SET request = json_object('endpoint', 'stop_all', 'body', json(body))
 WHERE request IS NULL AND kind = 'stop' AND project_id IS NULL;
UPDATE outbox SET request = json_object('endpoint', 'resume_project', 'project_id', project_id)
 WHERE request IS NULL AND kind = 'resume';
