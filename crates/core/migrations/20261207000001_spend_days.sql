-- The project screen's spend per day and agent, added to as costs arrive: it grouped every cost
-- the project ever recorded on each read (a busy project records tens of thousands a day), and
-- nothing else read the costs kept one by one.
CREATE TABLE spend_days (
    project_id TEXT NOT NULL,
    day        TEXT NOT NULL,
    agent_id   TEXT NOT NULL,
    cost_usd   REAL NOT NULL,
    tokens     INTEGER NOT NULL,
    PRIMARY KEY (project_id, day, agent_id)
) WITHOUT ROWID;

INSERT INTO spend_days (project_id, day, agent_id, cost_usd, tokens)
SELECT project_id, substr(at, 1, 10), agent_id, SUM(cost_usd), SUM(tokens)
FROM costs GROUP BY project_id, substr(at, 1, 10), agent_id;

DROP TABLE costs;
