-- An agent's tokens are found by the agent, not by reading every token of every organisation:
-- replacing a worker's token forgets every one the agent had, in the write's turn.
CREATE INDEX agent_tokens_by_agent ON agent_tokens (tenant_id, agent_id);
