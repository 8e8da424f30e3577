-- Run history retention (engine/retention.py): ended runs older than DW_RUN_RETENTION_DAYS
-- are deleted in small batches, their step attempts, events and signals with them.
-- Before a run goes, it is counted in dw.run_days, so dw.runs_per_day keeps every
-- day's counts and average duration however old; reports keep their own snapshot and
-- need no run. dw.retention says how far back the full history goes.

CREATE TABLE dw.run_days (
    day               timestamptz NOT NULL,
    workflow_name     text NOT NULL,
    status            text NOT NULL,
    runs              bigint NOT NULL,
    timed_runs        bigint NOT NULL,
    total_duration_ms double precision NOT NULL,
    PRIMARY KEY (day, workflow_name, status)
);

CREATE TABLE dw.retention (
    only_row      boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    pruned_before timestamptz
);
INSERT INTO dw.retention (only_row, pruned_before) VALUES (true, NULL);

-- Up to p_limit ended runs created before p_before, oldest first, are counted in
-- dw.run_days and deleted; runs another transaction holds are skipped. The number
-- deleted.
CREATE FUNCTION dw.prune_runs_v1(p_before timestamptz, p_limit integer)
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
    )
    DELETE FROM dw.runs AS r USING doomed AS x WHERE r.id = x.id;
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    UPDATE dw.retention
        SET pruned_before = greatest(coalesce(pruned_before, p_before), p_before);
    RETURN v_deleted;
END;
$$;

CREATE FUNCTION dw.history_since_v1()
RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT pruned_before FROM dw.retention
$$;

-- Every day's runs: those still kept, plus those counted before they were pruned.
CREATE OR REPLACE VIEW dw.runs_per_day AS
    SELECT day, workflow_name, status, sum(runs)::bigint AS runs,
           (sum(total_ms) / nullif(sum(timed), 0))::bigint AS avg_duration_ms
    FROM (
        SELECT date_trunc('day', r.created_at) AS day, r.workflow_name, r.status,
               count(*) AS runs, count(r.finished_at - r.started_at) AS timed,
               coalesce(sum(extract(epoch FROM (r.finished_at - r.started_at)) * 1000), 0)
                   AS total_ms
        FROM dw.runs AS r
        GROUP BY 1, 2, 3
        UNION ALL
        SELECT d.day, d.workflow_name, d.status, d.runs, d.timed_runs, d.total_duration_ms
        FROM dw.run_days AS d
    ) AS all_days
    GROUP BY 1, 2, 3;
