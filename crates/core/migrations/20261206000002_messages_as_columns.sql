-- A message is kept as its columns, without a JSON copy. `data` held every field a second time,
-- the body included, so a chat message (most of what a cold sync writes) was about twice the
-- bytes to encrypt and write to the WAL as the row needs: a cold sync wrote ~18 % fewer events a
-- second with it (docs/benchmarks.md, eighteenth session). Reads build the message from these
-- columns (`crates/core/src/store/messages.rs`, `MessageRow`), whose writes set every column:
-- the default below exists only because SQLite adds a NOT NULL column with one. `title` stays
-- the author's name: the search index reads `title` and `body` from this table by name.
ALTER TABLE messages ADD COLUMN author_kind TEXT NOT NULL DEFAULT 'agent';
ALTER TABLE messages ADD COLUMN author_id TEXT;
UPDATE messages SET
    author_kind = coalesce(json_extract(data, '$.author_kind'), 'agent'),
    author_id = json_extract(data, '$.author_id');
ALTER TABLE messages DROP COLUMN data;
