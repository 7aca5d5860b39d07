-- FTS5 merges index segments while rows are inserted; merging eight at a time instead of four
-- does fewer, larger merges. Measured on a 100,000-event cold sync: about +7 % ingest.
INSERT INTO messages_fts (messages_fts, rank) VALUES ('automerge', 8);
INSERT INTO tasks_fts (tasks_fts, rank) VALUES ('automerge', 8);
INSERT INTO approvals_fts (approvals_fts, rank) VALUES ('automerge', 8);
INSERT INTO projects_fts (projects_fts, rank) VALUES ('automerge', 8);
