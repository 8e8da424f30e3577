-- How many runs are not ended, by status, for the engine's dw_runs gauge
-- (engine/metrics.py). Each count reads its status' partial index, not the table.

CREATE FUNCTION dw.count_unfinished_runs_v1()
RETURNS TABLE (queued bigint, running bigint, waiting bigint)
LANGUAGE sql STABLE AS $$
    SELECT (SELECT count(*) FROM dw.runs WHERE status = 'queued'),
           (SELECT count(*) FROM dw.runs WHERE status = 'running'),
           (SELECT count(*) FROM dw.runs WHERE status = 'waiting')
$$;
