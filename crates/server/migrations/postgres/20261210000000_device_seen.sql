-- When the install last registered (the app registers at every start): a phone seen lately
-- counts as reachable for the escalation ladder, as one registered lately does. RFC 3339.
ALTER TABLE devices ADD COLUMN seen_at TEXT;
