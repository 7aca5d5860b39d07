-- The dispatcher remembered the last state of every request ever made, so the table grew for
-- as long as the server ran. A settled request (approved, rejected, expired, cancelled) makes
-- no push again: the dispatcher now forgets it as it settles, and this forgets those settled
-- before. No other resource has a state of these names (agents, stops and budgets use others).
DELETE FROM push_states WHERE state IN ('approved', 'rejected', 'expired', 'cancelled');
