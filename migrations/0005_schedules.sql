-- Schedules: a workflow started on a cron calendar (dataworkflows.engine.schedules).
--
-- Every engine fires the schedules that are due; a tick's run has the tick as its
-- idempotency key, so two engines firing the same tick make one run. next_fire_at only
-- moves forward by compare-and-set (advance_schedule_v1), from the value it was read at.

CREATE TABLE dw.schedules (
    name            text PRIMARY KEY,
    workflow_name   text NOT NULL,
    cron            text NOT NULL,
    timezone        text NOT NULL,
    inputs          jsonb NOT NULL DEFAULT '{}',
    missed          text NOT NULL CHECK (missed IN ('skip', 'once', 'each')),
    missed_limit    integer NOT NULL CHECK (missed_limit BETWEEN 1 AND 100),
    description     text NOT NULL DEFAULT '',
    paused          boolean NOT NULL DEFAULT false,
    source          text NOT NULL CHECK (source IN ('file', 'api')),
    checksum        text NOT NULL,
    next_fire_at    timestamptz NOT NULL,
    last_tick_at    timestamptz,
    last_run_id     uuid,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX schedules_due ON dw.schedules (next_fire_at) WHERE NOT paused;

-- Create or replace a schedule. p_paused NULL keeps the paused state (new: unpaused).
-- The same declaration again (same checksum) keeps the schedule's next fire time, so a
-- restart that re-reads schedules.yaml neither skips nor repeats a tick.
CREATE FUNCTION dw.put_schedule_v1(
    p_name text, p_workflow_name text, p_cron text, p_timezone text, p_inputs jsonb,
    p_missed text, p_missed_limit integer, p_description text, p_paused boolean,
    p_source text, p_checksum text, p_next_fire_at timestamptz
)
RETURNS TABLE (created boolean, changed boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_checksum text;
    v_paused boolean;
BEGIN
    -- Two engines starting at once declare the same schedules: one inserts, the other
    -- finds the row (locked until the first commits) and compares.
    INSERT INTO dw.schedules (
        name, workflow_name, cron, timezone, inputs, missed, missed_limit, description,
        paused, source, checksum, next_fire_at
    ) VALUES (
        p_name, p_workflow_name, p_cron, p_timezone, p_inputs, p_missed, p_missed_limit,
        p_description, coalesce(p_paused, false), p_source, p_checksum, p_next_fire_at
    )
    ON CONFLICT (name) DO NOTHING;
    IF FOUND THEN
        PERFORM pg_notify('dw_runs', 'schedules');
        RETURN QUERY SELECT true, true;
        RETURN;
    END IF;
    SELECT s.checksum, s.paused INTO v_checksum, v_paused
    FROM dw.schedules AS s WHERE s.name = p_name FOR UPDATE;
    IF v_checksum = p_checksum THEN
        IF p_paused IS NOT NULL AND p_paused <> v_paused THEN
            UPDATE dw.schedules AS s
            SET paused = p_paused, updated_at = now(),
                next_fire_at = CASE WHEN p_paused THEN s.next_fire_at ELSE p_next_fire_at END
            WHERE s.name = p_name;
            PERFORM pg_notify('dw_runs', 'schedules');
            RETURN QUERY SELECT false, true;
            RETURN;
        END IF;
        RETURN QUERY SELECT false, false;
        RETURN;
    END IF;
    UPDATE dw.schedules AS s
    SET workflow_name = p_workflow_name, cron = p_cron, timezone = p_timezone,
        inputs = p_inputs, missed = p_missed, missed_limit = p_missed_limit,
        description = p_description, paused = coalesce(p_paused, s.paused),
        source = p_source, checksum = p_checksum, next_fire_at = p_next_fire_at,
        last_error = NULL, updated_at = now()
    WHERE s.name = p_name;
    PERFORM pg_notify('dw_runs', 'schedules');
    RETURN QUERY SELECT false, true;
END
$$;

CREATE VIEW dw.schedule_v1 AS
    SELECT s.name, s.workflow_name, s.cron, s.timezone, s.inputs, s.missed, s.missed_limit,
           s.description, s.paused, s.source, s.checksum, s.next_fire_at, s.last_tick_at,
           s.last_run_id, s.last_error, s.created_at, s.updated_at
    FROM dw.schedules AS s;

CREATE FUNCTION dw.list_schedules_v1(p_workflow_name text)
RETURNS SETOF dw.schedule_v1
LANGUAGE sql STABLE AS $$
    SELECT v.* FROM dw.schedule_v1 AS v
    WHERE p_workflow_name IS NULL OR v.workflow_name = p_workflow_name
    ORDER BY v.name
$$;

CREATE FUNCTION dw.get_schedule_v1(p_name text)
RETURNS SETOF dw.schedule_v1
LANGUAGE sql STABLE AS $$
    SELECT v.* FROM dw.schedule_v1 AS v WHERE v.name = p_name
$$;

-- Pause, or resume from p_next_fire_at (ticks while paused are not run).
CREATE FUNCTION dw.set_schedule_paused_v1(
    p_name text, p_paused boolean, p_next_fire_at timestamptz
)
RETURNS SETOF dw.schedule_v1
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE dw.schedules AS s
    SET paused = p_paused, updated_at = now(),
        next_fire_at = CASE WHEN p_paused THEN s.next_fire_at ELSE p_next_fire_at END
    WHERE s.name = p_name AND s.paused <> p_paused;
    IF FOUND THEN
        PERFORM pg_notify('dw_runs', 'schedules');
    END IF;
    RETURN QUERY SELECT v.* FROM dw.schedule_v1 AS v WHERE v.name = p_name;
END
$$;

CREATE FUNCTION dw.delete_schedule_v1(p_name text)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM dw.schedules AS s WHERE s.name = p_name;
    IF FOUND THEN
        PERFORM pg_notify('dw_runs', 'schedules');
        RETURN true;
    END IF;
    RETURN false;
END
$$;

-- The unpaused schedules whose next fire time has come, earliest first.
CREATE FUNCTION dw.due_schedules_v1(p_now timestamptz, p_limit integer)
RETURNS SETOF dw.schedule_v1
LANGUAGE sql STABLE AS $$
    SELECT v.* FROM dw.schedule_v1 AS v
    WHERE NOT v.paused AND v.next_fire_at <= p_now
    ORDER BY v.next_fire_at
    LIMIT least(greatest(p_limit, 1), 1000)
$$;

-- When the next unpaused schedule is due (NULL: none).
CREATE FUNCTION dw.next_schedule_due_v1()
RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT min(s.next_fire_at) FROM dw.schedules AS s WHERE NOT s.paused
$$;

-- Move a schedule on after firing, if no other engine did first (compare-and-set on
-- the next fire time it was read with). Returns whether this call moved it.
CREATE FUNCTION dw.advance_schedule_v1(
    p_name text, p_expected timestamptz, p_next_fire_at timestamptz,
    p_last_tick_at timestamptz, p_last_run_id uuid, p_last_error text
)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE dw.schedules AS s
    SET next_fire_at = p_next_fire_at,
        last_tick_at = coalesce(p_last_tick_at, s.last_tick_at),
        last_run_id = coalesce(p_last_run_id, s.last_run_id),
        last_error = p_last_error
    WHERE s.name = p_name AND s.next_fire_at = p_expected;
    RETURN FOUND;
END
$$;

-- Analytics: how each run was started (README "Analytics"). source is 'api', 'slack',
-- 'schedule', 'workflow'...; schedule and tick (ISO 8601, UTC) are set for scheduled
-- runs, parent_run for sub-workflows.
CREATE VIEW dw.run_triggers AS
    SELECT r.id AS run_id, r.workflow_name, r.status, r.created_at,
           coalesce(r.trigger->>'source', 'api') AS source,
           r.trigger->>'schedule' AS schedule,
           r.trigger->>'tick' AS tick,
           CASE WHEN r.trigger->>'source' = 'workflow' THEN r.trigger->>'parent_run' END
               AS parent_run,
           r.trigger->>'user' AS user_id
    FROM dw.runs AS r;
