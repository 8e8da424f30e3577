-- The engine's tables, the stored functions that read and write them, and the
-- analytics views.
--
-- Conventions (see README "Data access"):
-- * Application code calls only dw.*_vN functions, with bound parameters.
-- * A function whose signature or meaning changes gets the next _vN name; the old
--   one is dropped only once no deployed release calls it.
-- * Batches arrive as one jsonb array and are expanded with jsonb_to_recordset, so
--   a whole batch is one round trip and one commit.

-- Workflow definitions -------------------------------------------------------------

CREATE TABLE dw.workflows (
    name           text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    latest_version integer NOT NULL CHECK (latest_version >= 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE dw.workflow_versions (
    workflow_name text NOT NULL REFERENCES dw.workflows (name),
    version       integer NOT NULL CHECK (version > 0),
    description   text NOT NULL DEFAULT '',
    definition    jsonb NOT NULL,
    source        text NOT NULL,
    checksum      text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workflow_name, version)
);

-- Engines and runs -----------------------------------------------------------------

-- One row per engine process (an incarnation: a restarted process is a new row).
-- An engine renews its lease while alive; the runs of an engine whose lease expired
-- may be claimed by any other engine.
CREATE TABLE dw.engines (
    id               text PRIMARY KEY,
    host             text NOT NULL,
    pid              integer NOT NULL,
    version          text NOT NULL,
    started_at       timestamptz NOT NULL DEFAULT now(),
    heartbeat_at     timestamptz NOT NULL DEFAULT now(),
    lease_expires_at timestamptz NOT NULL
);

CREATE TABLE dw.runs (
    id                  uuid PRIMARY KEY,
    workflow_name       text NOT NULL,
    workflow_version    integer NOT NULL,
    status              text NOT NULL
        CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    inputs              jsonb NOT NULL DEFAULT '{}',
    output              jsonb,
    error               jsonb,
    trigger             jsonb NOT NULL DEFAULT '{}',
    idempotency_key     text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    finished_at         timestamptz,
    -- The run's time limit, and the deadline it gives once the run first starts.
    timeout_seconds     double precision CHECK (timeout_seconds > 0),
    deadline_at         timestamptz,
    -- The engine executing the run (while status = 'running').
    owner               text REFERENCES dw.engines (id),
    claim_count         integer NOT NULL DEFAULT 0,
    cancel_requested_at timestamptz,
    FOREIGN KEY (workflow_name, workflow_version) REFERENCES dw.workflow_versions,
    CHECK ((status IN ('succeeded', 'failed', 'cancelled')) = (finished_at IS NOT NULL)),
    CHECK ((status = 'running') = (owner IS NOT NULL))
);

CREATE UNIQUE INDEX runs_idempotency_key ON dw.runs (workflow_name, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX runs_queued ON dw.runs (created_at) WHERE status = 'queued';
CREATE INDEX runs_running_by_owner ON dw.runs (owner) WHERE status = 'running';
CREATE INDEX runs_by_time ON dw.runs (created_at DESC, id DESC);
CREATE INDEX runs_by_workflow ON dw.runs (workflow_name, created_at DESC, id DESC);

-- One row per attempt of a step. iteration -1 is the step as a whole; 0..n-1 are the
-- items of a foreach step, whose whole-step row is a summary (aggregate = true). A
-- short attempt is written once, when it ends; a long one is written as 'running'
-- first and completed in place.
CREATE TABLE dw.step_attempts (
    run_id      uuid NOT NULL REFERENCES dw.runs (id) ON DELETE CASCADE,
    step_id     text NOT NULL,
    iteration   integer NOT NULL CHECK (iteration >= -1),
    attempt     integer NOT NULL CHECK (attempt > 0),
    action      text NOT NULL,
    aggregate   boolean NOT NULL DEFAULT false,
    -- The output had secret values masked, so it is not a faithful result to reuse.
    redacted    boolean NOT NULL DEFAULT false,
    status      text NOT NULL
        CHECK (status IN ('running', 'succeeded', 'failed', 'skipped', 'cancelled')),
    -- json, not jsonb: written on every step and read rarely, so PostgreSQL only
    -- checks the text instead of building a jsonb tree (cast ::jsonb to query it).
    input       json,
    output      json,
    error       jsonb,
    queued_at   timestamptz NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    PRIMARY KEY (run_id, step_id, iteration, attempt),
    CHECK ((status = 'running') = (finished_at IS NULL)),
    CHECK (queued_at <= started_at AND started_at <= coalesce(finished_at, started_at))
);
-- A step's input and output are typically a few KB: keep them in the row instead
-- of moving them to TOAST (an extra insert and WAL record per step).
ALTER TABLE dw.step_attempts SET (toast_tuple_target = 8160);

CREATE TABLE dw.run_events (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id uuid NOT NULL REFERENCES dw.runs (id) ON DELETE CASCADE,
    at     timestamptz NOT NULL DEFAULT now(),
    kind   text NOT NULL CHECK (kind ~ '^[a-z_]+$'),
    detail jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX run_events_by_run ON dw.run_events (run_id, id);

-- Definitions: functions ---------------------------------------------------------

-- Store a definition. An unchanged definition (same checksum as the latest version)
-- returns the latest version with created = false; a changed one gets the next number.
CREATE FUNCTION dw.put_workflow_version_v1(
    p_name text, p_description text, p_definition jsonb, p_source text, p_checksum text
)
RETURNS TABLE (version integer, created boolean, created_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_latest integer;
    v_existing dw.workflow_versions%ROWTYPE;
BEGIN
    INSERT INTO dw.workflows AS w (name, latest_version) VALUES (p_name, 0)
    ON CONFLICT (name) DO NOTHING;
    -- Serialises concurrent registrations of one workflow.
    SELECT w.latest_version INTO v_latest FROM dw.workflows AS w WHERE w.name = p_name FOR UPDATE;
    IF v_latest > 0 THEN
        SELECT * INTO v_existing FROM dw.workflow_versions AS wv
        WHERE wv.workflow_name = p_name AND wv.version = v_latest;
        IF v_existing.checksum = p_checksum THEN
            RETURN QUERY SELECT v_latest, false, v_existing.created_at;
            RETURN;
        END IF;
    END IF;
    INSERT INTO dw.workflow_versions AS wv
        (workflow_name, version, description, definition, source, checksum)
    VALUES (p_name, v_latest + 1, p_description, p_definition, p_source, p_checksum);
    UPDATE dw.workflows AS w SET latest_version = v_latest + 1, updated_at = now()
    WHERE w.name = p_name;
    -- Engines cache the latest version of each workflow; tell them it changed.
    PERFORM pg_notify('dw_runs', 'workflow:' || p_name);
    RETURN QUERY SELECT v_latest + 1, true, now();
END
$$;

CREATE FUNCTION dw.list_workflows_v1()
RETURNS TABLE (
    name text, latest_version integer, description text,
    created_at timestamptz, updated_at timestamptz
)
LANGUAGE sql STABLE AS $$
    SELECT w.name, w.latest_version, wv.description, w.created_at, w.updated_at
    FROM dw.workflows AS w
    JOIN dw.workflow_versions AS wv
      ON wv.workflow_name = w.name AND wv.version = w.latest_version
    ORDER BY w.name
$$;

CREATE FUNCTION dw.get_workflow_versions_v1(p_name text)
RETURNS TABLE (version integer, description text, checksum text, created_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT wv.version, wv.description, wv.checksum, wv.created_at
    FROM dw.workflow_versions AS wv
    WHERE wv.workflow_name = p_name
    ORDER BY wv.version
$$;

-- One version of a definition; the latest when p_version is NULL. No row: unknown.
CREATE FUNCTION dw.get_workflow_version_v1(p_name text, p_version integer DEFAULT NULL)
RETURNS TABLE (
    name text, version integer, description text, definition jsonb, source text,
    checksum text, created_at timestamptz
)
LANGUAGE sql STABLE AS $$
    SELECT wv.workflow_name, wv.version, wv.description, wv.definition, wv.source,
           wv.checksum, wv.created_at
    FROM dw.workflow_versions AS wv
    JOIN dw.workflows AS w ON w.name = wv.workflow_name
    WHERE wv.workflow_name = p_name
      AND wv.version = coalesce(p_version, w.latest_version)
$$;

-- Engines: functions ---------------------------------------------------------------

-- Register or renew an engine's lease. Returns the ids of this engine's runs that
-- were asked to cancel, so a cancel reaches the engine at the latest one beat later.
CREATE FUNCTION dw.heartbeat_engine_v1(
    p_engine text, p_lease_seconds double precision, p_host text, p_pid integer,
    p_version text
)
RETURNS TABLE (cancel_requested uuid)
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dw.engines AS e (id, host, pid, version, lease_expires_at)
    VALUES (p_engine, p_host, p_pid, p_version, now() + make_interval(secs => p_lease_seconds))
    ON CONFLICT (id) DO UPDATE
        SET heartbeat_at = now(),
            lease_expires_at = now() + make_interval(secs => p_lease_seconds);
    RETURN QUERY
        SELECT r.id FROM dw.runs AS r
        WHERE r.owner = p_engine AND r.status = 'running'
          AND r.cancel_requested_at IS NOT NULL;
END
$$;

-- A graceful stop: this engine's unfinished runs go back to the queue at once
-- (nobody waits for the lease to expire) and its lease ends now.
CREATE FUNCTION dw.release_engine_v1(p_engine text)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_released integer;
BEGIN
    WITH released AS (
        UPDATE dw.runs AS r SET status = 'queued', owner = NULL
        WHERE r.owner = p_engine AND r.status = 'running'
        RETURNING r.id
    ), events AS (
        INSERT INTO dw.run_events (run_id, kind, detail)
        SELECT released.id, 'released', jsonb_build_object('engine', p_engine) FROM released
    )
    SELECT count(*) INTO v_released FROM released;
    UPDATE dw.engines AS e SET lease_expires_at = now() WHERE e.id = p_engine;
    IF v_released > 0 THEN
        PERFORM pg_notify('dw_runs', 'queued');
    END IF;
    RETURN v_released;
END
$$;

-- Requeue runs p_engine took but cannot start now (the database failed it while it
-- loaded them); others may take them at once.
CREATE FUNCTION dw.release_runs_v1(p_engine text, p_ids uuid[])
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_released integer;
BEGIN
    WITH released AS (
        UPDATE dw.runs AS r SET status = 'queued', owner = NULL
        WHERE r.id = ANY(p_ids) AND r.owner = p_engine AND r.status = 'running'
        RETURNING r.id
    ), events AS (
        INSERT INTO dw.run_events (run_id, kind, detail)
        SELECT released.id, 'released', jsonb_build_object('engine', p_engine) FROM released
    )
    SELECT count(*) INTO v_released FROM released;
    IF v_released > 0 THEN
        PERFORM pg_notify('dw_runs', 'queued');
    END IF;
    RETURN v_released;
END
$$;

-- Runs: functions ----------------------------------------------------------------

-- The shape run-returning functions answer with (a view is also a row type). The
-- explicit column list keeps it stable when dw.runs gains columns.
CREATE VIEW dw.run_v1 AS
    SELECT r.id, r.workflow_name, r.workflow_version, r.status, r.inputs, r.output,
           r.error, r.trigger, r.idempotency_key, r.created_at, r.started_at,
           r.finished_at, r.timeout_seconds, r.deadline_at, r.owner, r.claim_count,
           r.cancel_requested_at
    FROM dw.runs AS r;

-- Create a batch of runs in one statement. Each run is created, or, when a run of
-- the same workflow already has its idempotency key, that run is returned instead
-- (created = false; also for a key repeated within the batch). A run with an
-- engine starts claimed by it (status 'running'), which saves the claim round trip
-- for runs started locally; the others are queued and engines are told so.
CREATE FUNCTION dw.create_runs_v1(
    p_ids uuid[], p_workflow_names text[], p_workflow_versions integer[], p_inputs text[],
    p_triggers text[], p_idempotency_keys text[], p_timeouts double precision[],
    p_engines text[]
)
RETURNS TABLE (
    requested_id uuid, created boolean,
    id uuid, workflow_name text, workflow_version integer, status text,
    inputs jsonb, output jsonb, error jsonb, trigger jsonb, idempotency_key text,
    created_at timestamptz, started_at timestamptz, finished_at timestamptz,
    timeout_seconds double precision, deadline_at timestamptz, owner text,
    claim_count integer, cancel_requested_at timestamptz
)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_queued boolean;
BEGIN
    WITH inserted AS (
        INSERT INTO dw.runs AS r (
            id, workflow_name, workflow_version, status, inputs, trigger, idempotency_key,
            timeout_seconds, deadline_at, started_at, owner, claim_count
        )
        SELECT b.id, b.workflow_name, b.workflow_version,
               CASE WHEN b.engine IS NULL THEN 'queued' ELSE 'running' END,
               b.inputs::jsonb, b.trigger::jsonb, b.idempotency_key, b.timeout_seconds,
               CASE WHEN b.engine IS NOT NULL
                    THEN now() + make_interval(secs => b.timeout_seconds) END,
               CASE WHEN b.engine IS NOT NULL THEN now() END,
               b.engine,
               CASE WHEN b.engine IS NULL THEN 0 ELSE 1 END
        FROM unnest(
            p_ids, p_workflow_names, p_workflow_versions, p_inputs, p_triggers,
            p_idempotency_keys, p_timeouts, p_engines
        ) AS b(id, workflow_name, workflow_version, inputs, trigger, idempotency_key,
               timeout_seconds, engine)
        ON CONFLICT (workflow_name, idempotency_key) WHERE idempotency_key IS NOT NULL
        DO NOTHING
        RETURNING r.id, r.workflow_version, r.owner
    ), events AS (
        INSERT INTO dw.run_events (run_id, kind, detail)
        SELECT i.id, k.kind,
               CASE k.kind WHEN 'created' THEN jsonb_build_object('version', i.workflow_version)
                           ELSE jsonb_build_object('engine', i.owner) END
        FROM inserted AS i
        CROSS JOIN (VALUES (1, 'created'), (2, 'claimed')) AS k(position, kind)
        WHERE k.kind = 'created' OR i.owner IS NOT NULL
        ORDER BY i.id, k.position
    )
    SELECT bool_or(i.owner IS NULL) INTO v_queued FROM inserted AS i;
    IF v_queued THEN
        PERFORM pg_notify('dw_runs', 'queued');
    END IF;
    RETURN QUERY
        SELECT b.id, v.id = b.id, v.*
        FROM unnest(p_ids, p_workflow_names, p_idempotency_keys)
            AS b(id, workflow_name, idempotency_key)
        CROSS JOIN LATERAL (
            SELECT * FROM dw.run_v1 AS r WHERE r.id = b.id
            UNION ALL
            SELECT * FROM dw.run_v1 AS r
            WHERE b.idempotency_key IS NOT NULL AND r.workflow_name = b.workflow_name
              AND r.idempotency_key = b.idempotency_key
            LIMIT 1
        ) AS v;
END
$$;

-- Claim up to p_limit runs for p_engine: first runs whose engine's lease expired
-- (their engine died), then queued runs, oldest first. SKIP LOCKED lets any number
-- of engines claim at once without waiting for each other or taking the same run.
CREATE FUNCTION dw.claim_runs_v1(p_engine text, p_limit integer)
RETURNS TABLE (
    id uuid, workflow_name text, workflow_version integer, inputs jsonb,
    deadline_at timestamptz, claim_count integer, previous_engine text
)
LANGUAGE sql AS $$
    WITH orphaned AS (
        -- Locking the dead engine's row too: a batch it still writes (it holds the
        -- row FOR KEY SHARE) makes us skip its runs until that batch is committed.
        SELECT r.id, r.owner FROM dw.runs AS r
        JOIN dw.engines AS e ON e.id = r.owner
        WHERE r.status = 'running' AND e.lease_expires_at < now() AND r.owner <> p_engine
        LIMIT p_limit
        FOR UPDATE OF r, e SKIP LOCKED
    ), queued AS (
        SELECT r.id, NULL::text AS owner FROM dw.runs AS r
        WHERE r.status = 'queued'
        ORDER BY r.created_at
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    ), picked AS (
        SELECT * FROM (SELECT * FROM orphaned UNION ALL SELECT * FROM queued) AS both_kinds
        LIMIT p_limit
    ), claimed AS (
        UPDATE dw.runs AS r
        SET status = 'running',
            owner = p_engine,
            claim_count = r.claim_count + 1,
            started_at = coalesce(r.started_at, now()),
            deadline_at = coalesce(r.deadline_at, now() + make_interval(secs => r.timeout_seconds))
        FROM picked
        WHERE r.id = picked.id
        RETURNING r.id, r.workflow_name, r.workflow_version, r.inputs, r.deadline_at,
                  r.claim_count, picked.owner AS previous_engine
    ), events AS (
        INSERT INTO dw.run_events (run_id, kind, detail)
        SELECT c.id,
               CASE WHEN c.previous_engine IS NULL THEN 'claimed' ELSE 'recovered' END,
               jsonb_strip_nulls(jsonb_build_object(
                   'engine', p_engine, 'previous_engine', c.previous_engine))
        FROM claimed AS c
    )
    SELECT * FROM claimed
$$;

CREATE FUNCTION dw.get_run_v1(p_id uuid)
RETURNS SETOF dw.run_v1
LANGUAGE sql STABLE AS $$
    SELECT v.* FROM dw.run_v1 AS v WHERE v.id = p_id
$$;

-- Newest first, filtered, keyset-paged: pass the (created_at, id) of the last row seen.
CREATE FUNCTION dw.list_runs_v1(
    p_workflow_name text, p_status text, p_created_from timestamptz,
    p_created_to timestamptz, p_after_created_at timestamptz, p_after_id uuid, p_limit integer
)
RETURNS SETOF dw.run_v1
LANGUAGE sql STABLE AS $$
    SELECT v.* FROM dw.run_v1 AS v
    WHERE (p_workflow_name IS NULL OR v.workflow_name = p_workflow_name)
      AND (p_status IS NULL OR v.status = p_status)
      AND (p_created_from IS NULL OR v.created_at >= p_created_from)
      AND (p_created_to IS NULL OR v.created_at < p_created_to)
      AND (p_after_created_at IS NULL OR (v.created_at, v.id) < (p_after_created_at, p_after_id))
    ORDER BY v.created_at DESC, v.id DESC
    LIMIT least(greatest(p_limit, 1), 1000)
$$;

-- Ask a run to stop. A queued run is cancelled at once; a running one is flagged and
-- its engine told (it stops between steps). Returns the run as it now is.
CREATE FUNCTION dw.request_cancel_v1(p_id uuid)
RETURNS SETOF dw.run_v1
LANGUAGE plpgsql AS $$
DECLARE
    v_status text;
BEGIN
    SELECT r.status INTO v_status FROM dw.runs AS r WHERE r.id = p_id FOR UPDATE;
    IF v_status = 'queued' THEN
        UPDATE dw.runs AS r SET status = 'cancelled', finished_at = now(),
            cancel_requested_at = now(),
            error = jsonb_build_object('code', 'cancelled', 'message', 'cancelled before it started')
        WHERE r.id = p_id;
        INSERT INTO dw.run_events (run_id, kind) VALUES (p_id, 'cancelled');
    ELSIF v_status = 'running' THEN
        UPDATE dw.runs AS r SET cancel_requested_at = coalesce(r.cancel_requested_at, now())
        WHERE r.id = p_id;
        INSERT INTO dw.run_events (run_id, kind) VALUES (p_id, 'cancel_requested');
        PERFORM pg_notify('dw_runs', 'cancel:' || p_id::text);
    END IF;
    RETURN QUERY SELECT v.* FROM dw.run_v1 AS v WHERE v.id = p_id;
END
$$;

-- Put a failed or cancelled run back in the queue. Its recorded step results stay,
-- so it resumes from the step that did not complete. Returns the run as it now is.
CREATE FUNCTION dw.retry_run_v1(p_id uuid)
RETURNS SETOF dw.run_v1
LANGUAGE plpgsql AS $$
DECLARE
    v_status text;
BEGIN
    SELECT r.status INTO v_status FROM dw.runs AS r WHERE r.id = p_id FOR UPDATE;
    IF v_status IN ('failed', 'cancelled') THEN
        UPDATE dw.runs AS r
        SET status = 'queued', output = NULL, error = NULL, finished_at = NULL,
            cancel_requested_at = NULL, deadline_at = NULL
        WHERE r.id = p_id;
        INSERT INTO dw.run_events (run_id, kind, detail)
        VALUES (p_id, 'retried', jsonb_build_object('previous_status', v_status));
        PERFORM pg_notify('dw_runs', 'queued');
    END IF;
    RETURN QUERY SELECT v.* FROM dw.run_v1 AS v WHERE v.id = p_id;
END
$$;

-- The journal: one call per batch ------------------------------------------------------

-- Record a batch from engine p_engine in one statement (one round trip, one commit):
-- step attempts (inserted, or completed in place), finished runs, and events. Each
-- kind arrives as parallel arrays (sent in binary, so nothing is parsed but the
-- JSON values themselves).
-- Fencing: nothing is written for runs p_engine does not execute (taken over,
-- finished, cancelled) or when its lease has expired; those run ids are returned
-- so the engine stops executing them. The engine's row is held FOR KEY SHARE for
-- the batch: a claim of its runs locks that row FOR UPDATE SKIP LOCKED, so it takes
-- them only after the batch committed, and then reads what the batch wrote.
CREATE FUNCTION dw.write_batch_v1(
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
        -- By primary key: cost follows the batch, not the runs in flight.
        SELECT coalesce(array_agg(r.id), '{}') INTO v_held FROM dw.runs AS r
        WHERE r.id = ANY(v_ids) AND r.owner = p_engine AND r.status = 'running';
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

-- Step attempts and events: reads -------------------------------------------------

CREATE FUNCTION dw.get_step_attempts_v1(p_run_id uuid)
RETURNS TABLE (
    step_id text, iteration integer, attempt integer, action text, aggregate boolean,
    redacted boolean, status text, input json, output json, error jsonb,
    queued_at timestamptz, started_at timestamptz, finished_at timestamptz
)
LANGUAGE sql STABLE AS $$
    SELECT s.step_id, s.iteration, s.attempt, s.action, s.aggregate, s.redacted, s.status,
           s.input, s.output, s.error, s.queued_at, s.started_at, s.finished_at
    FROM dw.step_attempts AS s
    WHERE s.run_id = p_run_id
    ORDER BY s.started_at, s.step_id, s.iteration, s.attempt
$$;

CREATE FUNCTION dw.get_run_events_v1(p_run_id uuid)
RETURNS TABLE (id bigint, at timestamptz, kind text, detail jsonb)
LANGUAGE sql STABLE AS $$
    SELECT e.id, e.at, e.kind, e.detail FROM dw.run_events AS e
    WHERE e.run_id = p_run_id
    ORDER BY e.id
$$;

-- Analytics views (documented in README "Analytics") --------------------------------

-- Runs started per day, per workflow and final status.
CREATE VIEW dw.runs_per_day AS
    SELECT date_trunc('day', r.created_at) AS day, r.workflow_name, r.status,
           count(*) AS runs,
           avg(extract(epoch FROM (r.finished_at - r.started_at)) * 1000)::bigint
               AS avg_duration_ms
    FROM dw.runs AS r
    GROUP BY 1, 2, 3;

-- How long each connector action takes, over finished attempts.
CREATE VIEW dw.step_duration_by_action AS
    SELECT s.action,
           count(*) AS attempts,
           count(*) FILTER (WHERE s.status = 'failed') AS failed,
           percentile_cont(0.50) WITHIN GROUP (ORDER BY d.ms) AS p50_ms,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY d.ms) AS p95_ms,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY d.ms) AS p99_ms,
           max(d.ms) AS max_ms
    FROM dw.step_attempts AS s
    CROSS JOIN LATERAL (
        SELECT extract(epoch FROM (s.finished_at - s.started_at)) * 1000 AS ms
    ) AS d
    WHERE s.status IN ('succeeded', 'failed') AND NOT s.aggregate
    GROUP BY s.action;

-- Why steps fail, most frequent first.
CREATE VIEW dw.failure_reasons AS
    SELECT s.action, s.error->>'code' AS code, s.error->>'message' AS message,
           count(*) AS occurrences, max(s.finished_at) AS last_seen
    FROM dw.step_attempts AS s
    WHERE s.status = 'failed' AND NOT s.aggregate
    GROUP BY 1, 2, 3
    ORDER BY occurrences DESC, last_seen DESC;
