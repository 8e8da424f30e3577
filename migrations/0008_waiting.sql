-- Runs that wait: for a named signal, or until a time (dataworkflows.engine.waiting).
--
-- A waiting run is in no engine at all (no task, slot or connection): its state is
-- what is recorded. A signal it waits for, or its wake-up time, queues it again, and
-- the engine that claims it resumes at the waiting step, which then finds the signal
-- (or that its time has come). Signals sent before a run waits for them are kept.

ALTER TABLE dw.runs DROP CONSTRAINT runs_status_check;
ALTER TABLE dw.runs ADD CONSTRAINT runs_status_check
    CHECK (status IN ('queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled'));
ALTER TABLE dw.runs ADD COLUMN wake_at timestamptz;
ALTER TABLE dw.runs ADD COLUMN waiting_for text;
CREATE INDEX runs_waking ON dw.runs (wake_at) WHERE status = 'waiting';

-- A step attempt that began waiting: it ends when the run suspends; the attempt after
-- it is the wait's outcome.
ALTER TABLE dw.step_attempts DROP CONSTRAINT step_attempts_status_check;
ALTER TABLE dw.step_attempts ADD CONSTRAINT step_attempts_status_check
    CHECK (status IN ('running', 'waiting', 'succeeded', 'failed', 'skipped', 'cancelled'));

CREATE OR REPLACE VIEW dw.run_v1 AS
    SELECT r.id, r.workflow_name, r.workflow_version, r.status, r.inputs, r.output,
           r.error, r.trigger, r.idempotency_key, r.created_at, r.started_at,
           r.finished_at, r.timeout_seconds, r.deadline_at, r.owner, r.claim_count,
           r.cancel_requested_at, r.wake_at, r.waiting_for
    FROM dw.runs AS r;

CREATE TABLE dw.run_signals (
    id        bigserial PRIMARY KEY,
    run_id    uuid NOT NULL REFERENCES dw.runs (id) ON DELETE CASCADE,
    name      text NOT NULL,
    payload   jsonb NOT NULL DEFAULT 'null',
    sent_at   timestamptz NOT NULL DEFAULT now(),
    -- The wait step that took it ('<step>'), so that a resumed step finds its own.
    taken_by  text
);
CREATE INDEX run_signals_by_run ON dw.run_signals (run_id, name, id);

-- Send a run a signal. Kept until a wait step takes it; a run waiting for it now is
-- queued again. (accepted, woke, status); no row when there is no such run.
CREATE FUNCTION dw.signal_run_v1(p_run_id uuid, p_name text, p_payload jsonb)
RETURNS TABLE (accepted boolean, woke boolean, status text)
LANGUAGE plpgsql AS $$
DECLARE
    v_status text;
    v_waiting_for text;
BEGIN
    SELECT r.status, r.waiting_for INTO v_status, v_waiting_for
    FROM dw.runs AS r WHERE r.id = p_run_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF v_status IN ('succeeded', 'failed', 'cancelled') THEN
        RETURN QUERY SELECT false, false, v_status;
        RETURN;
    END IF;
    INSERT INTO dw.run_signals (run_id, name, payload) VALUES (p_run_id, p_name, p_payload);
    INSERT INTO dw.run_events (run_id, kind, detail)
    VALUES (p_run_id, 'signalled', jsonb_build_object('signal', p_name));
    IF v_status = 'waiting' AND v_waiting_for = p_name THEN
        UPDATE dw.runs AS r SET status = 'queued', wake_at = NULL, waiting_for = NULL
        WHERE r.id = p_run_id;
        PERFORM pg_notify('dw_runs', 'queued');
        RETURN QUERY SELECT true, true, 'queued'::text;
        RETURN;
    END IF;
    RETURN QUERY SELECT true, false, v_status;
END
$$;

-- The oldest signal called p_name not yet taken by another step (or already taken by
-- p_taker: a resumed step finds its own), marked as taken by p_taker.
CREATE FUNCTION dw.take_signal_v1(p_run_id uuid, p_name text, p_taker text)
RETURNS TABLE (id bigint, payload jsonb, sent_at timestamptz)
LANGUAGE sql AS $$
    UPDATE dw.run_signals AS s SET taken_by = p_taker
    WHERE s.id = (
        SELECT o.id FROM dw.run_signals AS o
        WHERE o.run_id = p_run_id AND o.name = p_name
          AND (o.taken_by IS NULL OR o.taken_by = p_taker)
        ORDER BY (o.taken_by IS NULL), o.id
        LIMIT 1
        FOR UPDATE
    )
    RETURNING s.id, s.payload, s.sent_at
$$;

-- Engine p_engine suspends its run: waiting (for p_signal, until p_wake_at) and in no
-- engine, or queued again at once when the signal it waits for is already there.
-- Returns the run's new status (NULL: the run is not this engine's any more).
CREATE FUNCTION dw.suspend_run_v1(
    p_engine text, p_run_id uuid, p_wake_at timestamptz, p_signal text
)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_status text;
BEGIN
    PERFORM 1 FROM dw.runs AS r
    WHERE r.id = p_run_id AND r.owner = p_engine AND r.status = 'running' FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF p_signal IS NOT NULL AND EXISTS (
        SELECT 1 FROM dw.run_signals AS s
        WHERE s.run_id = p_run_id AND s.name = p_signal AND s.taken_by IS NULL
    ) THEN
        v_status := 'queued';
    ELSE
        v_status := 'waiting';
    END IF;
    UPDATE dw.runs AS r
    SET status = v_status, owner = NULL,
        wake_at = CASE WHEN v_status = 'waiting' THEN p_wake_at END,
        waiting_for = CASE WHEN v_status = 'waiting' THEN p_signal END
    WHERE r.id = p_run_id;
    INSERT INTO dw.run_events (run_id, kind, detail)
    VALUES (p_run_id, 'waiting', jsonb_strip_nulls(jsonb_build_object(
        'signal', p_signal, 'until', p_wake_at, 'engine', p_engine)));
    IF v_status = 'queued' THEN
        PERFORM pg_notify('dw_runs', 'queued');
    ELSIF p_wake_at IS NOT NULL THEN
        PERFORM pg_notify('dw_runs', 'waiting');
    END IF;
    RETURN v_status;
END
$$;

-- Queue the waiting runs whose time has come; how many.
CREATE FUNCTION dw.wake_runs_v1(p_limit integer)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_count integer;
BEGIN
    WITH due AS (
        SELECT r.id FROM dw.runs AS r
        WHERE r.status = 'waiting' AND r.wake_at <= now()
        ORDER BY r.wake_at
        LIMIT least(greatest(p_limit, 1), 10000)
        FOR UPDATE SKIP LOCKED
    ), woken AS (
        UPDATE dw.runs AS r SET status = 'queued', wake_at = NULL, waiting_for = NULL
        FROM due WHERE r.id = due.id
        RETURNING r.id
    ), events AS (
        INSERT INTO dw.run_events (run_id, kind, detail)
        SELECT w.id, 'woken', '{}'::jsonb FROM woken AS w
    )
    SELECT count(*) INTO v_count FROM woken;
    IF v_count > 0 THEN
        PERFORM pg_notify('dw_runs', 'queued');
    END IF;
    RETURN v_count;
END
$$;

-- When the next waiting run wakes (NULL: none waits for a time).
CREATE FUNCTION dw.next_wake_v1()
RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT min(r.wake_at) FROM dw.runs AS r WHERE r.status = 'waiting'
$$;

-- dw.request_cancel_v2, for waiting runs too: a waiting run is cancelled at once (no
-- engine holds it), then the runs it started, down the tree.
CREATE FUNCTION dw.request_cancel_v3(p_id uuid)
RETURNS SETOF dw.run_v1
LANGUAGE plpgsql AS $$
BEGIN
    WITH RECURSIVE tree(id, depth) AS (
        SELECT p_id, 0
        UNION ALL
        SELECT r.id, t.depth + 1 FROM tree AS t
        JOIN dw.runs AS r
          ON r.trigger->>'source' = 'workflow' AND r.trigger->>'parent_run' = t.id::text
        WHERE t.depth < 16
    ), cancelled AS (
        UPDATE dw.runs AS r
        SET status = 'cancelled', finished_at = now(), cancel_requested_at = now(),
            wake_at = NULL, waiting_for = NULL,
            error = jsonb_build_object('code', 'cancelled', 'message', 'cancelled while waiting')
        FROM tree AS t
        WHERE r.id = t.id AND r.status = 'waiting'
        RETURNING r.id
    )
    INSERT INTO dw.run_events (run_id, kind) SELECT c.id, 'cancelled' FROM cancelled AS c;
    RETURN QUERY SELECT * FROM dw.request_cancel_v2(p_id);
END
$$;
