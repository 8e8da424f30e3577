-- The journal's batches: plain inserts for new step attempts, and no foreign key check
-- per run event.
--
-- A step attempt's row is almost always new (a short attempt is written once, when it
-- ends), yet dw.write_batch_v1 wrote every row as an upsert. PostgreSQL's upsert first
-- probes the primary key for a conflict, then inserts speculatively and confirms: a
-- second index descent and a WAL record of its own per row, about a tenth of
-- PostgreSQL's CPU per step at W2 (bench/README.md, "PostgreSQL's CPU per step,
-- again"). A plain INSERT checks the key while it inserts. So a batch is now inserted
-- plainly, in a sub-transaction; only a batch that meets a row already there (the end
-- of a long attempt whose progress row was written, a row closed on resume, a batch
-- written again after its answer was lost) is rolled back to that point and written as
-- before, as an upsert.
--
-- The foreign key from dw.run_events to dw.runs checked, for each event inserted,
-- that its run exists and took a KEY SHARE lock on the run's row (a change to the
-- run's tuple and a WAL record per event; three events per run). Every insert of an
-- event reads or locks its run in the same statement or function, as 0013 found for
-- step attempts; retention deletes a run's events itself, as the cascade did.

ALTER TABLE dw.run_events DROP CONSTRAINT run_events_run_id_fkey;

-- A batch's step attempts for the runs in p_held, one row per attempt: when the start
-- and the end of an attempt arrive in one batch, the end (a statement cannot write one
-- row twice). Inlined by the planner into the statements that read it.
CREATE FUNCTION dw.batch_attempts_v1(
    p_run_ids uuid[], p_step_ids text[], p_iterations integer[], p_attempts integer[],
    p_actions text[], p_aggregates boolean[], p_redacted boolean[], p_statuses text[],
    p_inputs text[], p_outputs text[], p_errors text[], p_queued_at timestamptz[],
    p_started_at timestamptz[], p_finished_at timestamptz[], p_held uuid[]
)
RETURNS TABLE (
    run_id uuid, step_id text, iteration integer, attempt integer, action text,
    aggregate boolean, redacted boolean, status text, input json, output json,
    error jsonb, queued_at timestamptz, started_at timestamptz, finished_at timestamptz
)
LANGUAGE sql STABLE AS $$
    SELECT DISTINCT ON (b.run_id, b.step_id, b.iteration, b.attempt)
           b.run_id, b.step_id, b.iteration, b.attempt, b.action, b.aggregate, b.redacted,
           b.status, b.input::json, b.output::json, b.error::jsonb, b.queued_at, b.started_at,
           b.finished_at
    FROM unnest(
        p_run_ids, p_step_ids, p_iterations, p_attempts, p_actions, p_aggregates,
        p_redacted, p_statuses, p_inputs, p_outputs, p_errors, p_queued_at, p_started_at,
        p_finished_at
    ) AS b(
        run_id, step_id, iteration, attempt, action, aggregate, redacted, status, input,
        output, error, queued_at, started_at, finished_at
    )
    -- Joins, not = ANY(array): batches hold hundreds of runs.
    JOIN unnest(p_held) AS h(id) ON h.id = b.run_id
    ORDER BY b.run_id, b.step_id, b.iteration, b.attempt, (b.status = 'running')
$$;

CREATE OR REPLACE FUNCTION dw.write_batch_v1(
    p_engine text,
    -- step attempts
    p_run_ids uuid[], p_step_ids text[], p_iterations integer[], p_attempts integer[],
    p_actions text[], p_aggregates boolean[], p_redacted boolean[], p_statuses text[],
    p_inputs text[],
    p_outputs text[], p_errors text[], p_queued_at timestamptz[], p_started_at timestamptz[],
    p_finished_at timestamptz[],
    -- finished runs
    p_finish_ids uuid[], p_finish_statuses text[], p_finish_outputs text[],
    p_finish_errors text[],
    -- events
    p_event_run_ids uuid[], p_event_kinds text[], p_event_details text[]
)
RETURNS TABLE (lost_run_id uuid)
LANGUAGE plpgsql AS $$
DECLARE
    v_ids uuid[];
    v_held uuid[];
BEGIN
    SELECT coalesce(array_agg(DISTINCT x.id), '{}') INTO v_ids FROM (
        SELECT unnest(p_run_ids) UNION ALL SELECT unnest(p_finish_ids)
        UNION ALL SELECT unnest(p_event_run_ids)
    ) AS x(id);

    PERFORM 1 FROM dw.engines AS e
    WHERE e.id = p_engine AND e.lease_expires_at > now()
    FOR KEY SHARE;
    IF FOUND THEN
        -- By primary key, so the cost follows the batch, not the runs in flight. The
        -- CTE leaves the planner no other index: given owner and status in one WHERE,
        -- it may take runs_running_by_owner and test every run of the engine against
        -- the whole batch.
        WITH batch AS MATERIALIZED (
            SELECT r.id, r.owner, r.status FROM dw.runs AS r WHERE r.id = ANY(v_ids)
        )
        SELECT coalesce(array_agg(b.id), '{}') INTO v_held FROM batch AS b
        WHERE b.owner = p_engine AND b.status = 'running';
    ELSE
        v_held := '{}';
    END IF;

    -- A step attempt's row is almost always new: a short attempt is written once, when
    -- it ends. A plain INSERT checks the primary key as it inserts; an upsert probes the
    -- index first and then inserts speculatively (a second descent and a WAL record of
    -- its own). So the batch is inserted plainly, and only a batch that meets a row
    -- already there (a long attempt's progress row, a closed row, a batch retried after
    -- a lost answer) is written again as an upsert: the sub-transaction rolls the plain
    -- attempt back first.
    -- (A batch of finished runs or events alone opens no sub-transaction.)
    IF cardinality(p_run_ids) > 0 AND cardinality(v_held) > 0 THEN
        BEGIN
            INSERT INTO dw.step_attempts (
                run_id, step_id, iteration, attempt, action, aggregate, redacted, status,
                input, output, error, queued_at, started_at, finished_at
            )
            SELECT b.run_id, b.step_id, b.iteration, b.attempt, b.action, b.aggregate,
                   b.redacted, b.status, b.input, b.output, b.error, b.queued_at,
                   b.started_at, b.finished_at
            FROM dw.batch_attempts_v1(
                p_run_ids, p_step_ids, p_iterations, p_attempts, p_actions, p_aggregates,
                p_redacted, p_statuses, p_inputs, p_outputs, p_errors, p_queued_at,
                p_started_at, p_finished_at, v_held
            ) AS b;
        EXCEPTION WHEN unique_violation THEN
            INSERT INTO dw.step_attempts AS s (
                run_id, step_id, iteration, attempt, action, aggregate, redacted, status,
                input, output, error, queued_at, started_at, finished_at
            )
            SELECT b.run_id, b.step_id, b.iteration, b.attempt, b.action, b.aggregate,
                   b.redacted, b.status, b.input, b.output, b.error, b.queued_at,
                   b.started_at, b.finished_at
            FROM dw.batch_attempts_v1(
                p_run_ids, p_step_ids, p_iterations, p_attempts, p_actions, p_aggregates,
                p_redacted, p_statuses, p_inputs, p_outputs, p_errors, p_queued_at,
                p_started_at, p_finished_at, v_held
            ) AS b
            ON CONFLICT (run_id, step_id, iteration, attempt) DO UPDATE
                SET status = excluded.status,
                    input = coalesce(excluded.input, s.input),
                    output = excluded.output,
                    redacted = excluded.redacted,
                    error = excluded.error,
                    finished_at = excluded.finished_at
                -- A completed attempt is final; a late 'running' row must not reopen it.
                WHERE s.status = 'running';
        END;
    END IF;

    INSERT INTO dw.run_events (run_id, kind, detail)
    SELECT e.run_id, e.kind, coalesce(e.detail::jsonb, '{}')
    FROM unnest(p_event_run_ids, p_event_kinds, p_event_details) AS e(run_id, kind, detail)
    JOIN unnest(v_held) AS h(id) ON h.id = e.run_id;

    WITH finished AS (
        UPDATE dw.runs AS r
        SET status = b.status, output = b.output::jsonb, error = b.error::jsonb,
            finished_at = now(), owner = NULL
        FROM unnest(p_finish_ids, p_finish_statuses, p_finish_outputs, p_finish_errors)
            AS b(id, status, output, error)
        JOIN unnest(v_held) AS h(id) ON h.id = b.id
        WHERE r.id = b.id
        RETURNING r.id, r.status, r.error
    )
    INSERT INTO dw.run_events (run_id, kind, detail)
    SELECT f.id, 'finished',
           jsonb_strip_nulls(jsonb_build_object('status', f.status, 'error', f.error->'code'))
    FROM finished AS f;

    RETURN QUERY SELECT x.id FROM unnest(v_ids) AS x(id)
        EXCEPT SELECT h.id FROM unnest(v_held) AS h(id);
END
$$;

-- As in 0013, and a doomed run's events are deleted with it.
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
    ), events AS (
        DELETE FROM dw.run_events AS e USING doomed AS x WHERE e.run_id = x.id
    )
    DELETE FROM dw.runs AS r USING doomed AS x WHERE r.id = x.id;
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    UPDATE dw.retention
        SET pruned_before = greatest(coalesce(pruned_before, p_before), p_before);
    RETURN v_deleted;
END;
$$;
