-- The journal's batches without a foreign key check per step.
--
-- dw.write_batch_v1 writes a step attempt only for a run this engine holds: it joins
-- the batch with dw.runs by id, owner and status, under the engine's lease. The
-- foreign key from dw.step_attempts to dw.runs then checked the same again for every
-- row it inserted, and took a KEY SHARE lock on the run's row each time (a change to
-- the run's tuple and a WAL record per step). That was about a sixth of PostgreSQL's
-- CPU per step at W2 (bench/README.md, "PostgreSQL's CPU per step"). The constraint
-- goes; the one thing its ON DELETE CASCADE did, retention now does itself.

ALTER TABLE dw.step_attempts DROP CONSTRAINT step_attempts_run_id_fkey;

-- As in 0011, and a doomed run's step attempts are deleted with it.
CREATE OR REPLACE FUNCTION dw.prune_runs_v1(p_before timestamptz, p_limit integer)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_deleted integer;
BEGIN
    WITH doomed AS (
        SELECT r.id, r.created_at, r.workflow_name, r.status, r.started_at, r.finished_at
        FROM dw.runs AS r
        WHERE r.created_at < p_before AND r.status IN ('succeeded', 'failed', 'cancelled')
        ORDER BY r.created_at
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    ), counted AS (
        INSERT INTO dw.run_days AS d
            (day, workflow_name, status, runs, timed_runs, total_duration_ms)
        SELECT date_trunc('day', x.created_at), x.workflow_name, x.status, count(*),
               count(x.finished_at - x.started_at),
               coalesce(sum(extract(epoch FROM (x.finished_at - x.started_at)) * 1000), 0)
        FROM doomed AS x
        GROUP BY 1, 2, 3
        ON CONFLICT (day, workflow_name, status) DO UPDATE
            SET runs = d.runs + EXCLUDED.runs,
                timed_runs = d.timed_runs + EXCLUDED.timed_runs,
                total_duration_ms = d.total_duration_ms + EXCLUDED.total_duration_ms
    ), attempts AS (
        DELETE FROM dw.step_attempts AS s USING doomed AS x WHERE s.run_id = x.id
    )
    DELETE FROM dw.runs AS r USING doomed AS x WHERE r.id = x.id;
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    UPDATE dw.retention
        SET pruned_before = greatest(coalesce(pruned_before, p_before), p_before);
    RETURN v_deleted;
END;
$$;
