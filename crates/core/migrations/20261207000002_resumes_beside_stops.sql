-- A resume goes in the order it was taken with the stops beside it (priority 0): those queued by
-- an older build, waiting as it is updated, too.
UPDATE outbox SET priority = 0 WHERE kind = 'resume';
