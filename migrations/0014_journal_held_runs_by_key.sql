-- The journal's check of which runs an engine still holds, by primary key.
--
-- dw.write_batch_v1 looks up the runs of a batch to learn which this engine still
-- holds. Its WHERE named the owner and status as well as the ids, so the planner could
-- (and, with statistics older than the current load, did) read every run of the engine
-- through runs_running_by_owner and compare each with the whole batch: a cost of runs
-- in flight times batch size. At 10,000 runs in flight and a batch of 300 that was about
-- 15 ms of PostgreSQL's time per batch, against 2 ms by primary key (bench/README.md,
-- "The journal's held-runs check"). The function is otherwise unchanged.

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

    INSERT INTO dw.step_attempts AS s (
        run_id, step_id, iteration, attempt, action, aggregate, redacted, status, input,
        output, error, queued_at, started_at, finished_at
    )
    -- The start and the end of one attempt may arrive in the same batch: keep the
    -- end (an upsert cannot touch one row twice).
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
    JOIN unnest(v_held) AS h(id) ON h.id = b.run_id
    ORDER BY b.run_id, b.step_id, b.iteration, b.attempt, (b.status = 'running')
    ON CONFLICT (run_id, step_id, iteration, attempt) DO UPDATE
        SET status = excluded.status,
            input = coalesce(excluded.input, s.input),
            output = excluded.output,
            redacted = excluded.redacted,
            error = excluded.error,
            finished_at = excluded.finished_at
        -- A completed attempt is final; a late 'running' row must not reopen it.
        WHERE s.status = 'running';

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
