-- The engine's first tables and the stored functions that read and write them.
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

-- Runs ---------------------------------------------------------------------------

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
    deadline_at         timestamptz,
    -- The engine process that executes the run, until lease_expires_at; an engine
    -- renews its leases while alive, so an expired lease means the engine died.
    lease_owner         text,
    lease_expires_at    timestamptz,
    claim_count         integer NOT NULL DEFAULT 0,
    cancel_requested_at timestamptz,
    FOREIGN KEY (workflow_name, workflow_version) REFERENCES dw.workflow_versions,
    CHECK ((status IN ('succeeded', 'failed', 'cancelled')) = (finished_at IS NOT NULL)),
    CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL))
);

CREATE UNIQUE INDEX runs_idempotency_key ON dw.runs (workflow_name, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
-- Claiming looks only at unfinished runs; keep that index small.
CREATE INDEX runs_unfinished ON dw.runs (created_at) WHERE status IN ('queued', 'running');
CREATE INDEX runs_by_time ON dw.runs (created_at DESC, id DESC);
CREATE INDEX runs_by_workflow ON dw.runs (workflow_name, created_at DESC, id DESC);

-- One row per attempt of a step. iteration -1 is the step as a whole; 0..n-1 are the
-- items of a foreach step. A row is written as 'running' when the attempt starts and
-- completed in place when it ends.
CREATE TABLE dw.step_attempts (
    run_id      uuid NOT NULL REFERENCES dw.runs (id) ON DELETE CASCADE,
    step_id     text NOT NULL,
    iteration   integer NOT NULL CHECK (iteration >= -1),
    attempt     integer NOT NULL CHECK (attempt > 0),
    status      text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'skipped')),
    input       jsonb,
    output      jsonb,
    error       jsonb,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    PRIMARY KEY (run_id, step_id, iteration, attempt),
    CHECK ((status = 'running') = (finished_at IS NULL))
);

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

-- Runs: functions ----------------------------------------------------------------

CREATE TYPE dw.run_v1 AS (
    id uuid, workflow_name text, workflow_version integer, status text,
    inputs jsonb, output jsonb, error jsonb, trigger jsonb, idempotency_key text,
    created_at timestamptz, started_at timestamptz, finished_at timestamptz,
    deadline_at timestamptz, lease_owner text, lease_expires_at timestamptz,
    claim_count integer, cancel_requested_at timestamptz
);

-- Create a run, or find the existing one with the same idempotency key
-- (created = false). With p_lease_owner the run starts claimed by that engine
-- (status 'running'), which saves the claim round trip for runs started locally.
CREATE FUNCTION dw.create_run_v1(
    p_id uuid, p_workflow_name text, p_workflow_version integer, p_inputs jsonb,
    p_trigger jsonb, p_idempotency_key text, p_deadline_at timestamptz,
    p_lease_owner text, p_lease_seconds double precision
)
RETURNS TABLE (created boolean, id uuid, status text, created_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_claimed boolean := p_lease_owner IS NOT NULL;
BEGIN
    RETURN QUERY
    INSERT INTO dw.runs AS r (
        id, workflow_name, workflow_version, status, inputs, trigger, idempotency_key,
        deadline_at, started_at, lease_owner, lease_expires_at, claim_count
    )
    VALUES (
        p_id, p_workflow_name, p_workflow_version,
        CASE WHEN v_claimed THEN 'running' ELSE 'queued' END,
        p_inputs, p_trigger, p_idempotency_key, p_deadline_at,
        CASE WHEN v_claimed THEN now() END,
        p_lease_owner,
        CASE WHEN v_claimed THEN now() + make_interval(secs => p_lease_seconds) END,
        CASE WHEN v_claimed THEN 1 ELSE 0 END
    )
    ON CONFLICT (workflow_name, idempotency_key) WHERE idempotency_key IS NOT NULL
    DO NOTHING
    RETURNING true, r.id, r.status, r.created_at;
    IF FOUND THEN
        INSERT INTO dw.run_events (run_id, kind, detail)
        VALUES (p_id, 'created', jsonb_build_object('version', p_workflow_version));
        RETURN;
    END IF;
    RETURN QUERY
    SELECT false, r.id, r.status, r.created_at FROM dw.runs AS r
    WHERE r.workflow_name = p_workflow_name AND r.idempotency_key = p_idempotency_key;
END
$$;

CREATE FUNCTION dw.get_run_v1(p_id uuid)
RETURNS SETOF dw.run_v1
LANGUAGE sql STABLE AS $$
    SELECT r.* FROM dw.runs AS r WHERE r.id = p_id
$$;

-- Newest first, filtered, keyset-paged: pass the (created_at, id) of the last row seen.
CREATE FUNCTION dw.list_runs_v1(
    p_workflow_name text, p_status text, p_created_from timestamptz,
    p_created_to timestamptz, p_after_created_at timestamptz, p_after_id uuid, p_limit integer
)
RETURNS SETOF dw.run_v1
LANGUAGE sql STABLE AS $$
    SELECT r.* FROM dw.runs AS r
    WHERE (p_workflow_name IS NULL OR r.workflow_name = p_workflow_name)
      AND (p_status IS NULL OR r.status = p_status)
      AND (p_created_from IS NULL OR r.created_at >= p_created_from)
      AND (p_created_to IS NULL OR r.created_at < p_created_to)
      AND (p_after_created_at IS NULL OR (r.created_at, r.id) < (p_after_created_at, p_after_id))
    ORDER BY r.created_at DESC, r.id DESC
    LIMIT least(greatest(p_limit, 1), 1000)
$$;

-- Step attempts: functions ---------------------------------------------------------

-- Record (insert or complete) a batch of step attempts, fenced by the run's lease:
-- rows for runs that p_owner no longer holds are dropped, and those run ids are
-- returned so the engine stops executing them. FOR SHARE makes a concurrent claim
-- by another engine wait for this batch, so the new owner reads what was recorded.
CREATE FUNCTION dw.record_step_attempts_v1(p_owner text, p_attempts jsonb)
RETURNS TABLE (lost_run_id uuid)
LANGUAGE sql AS $$
    WITH batch AS (
        -- The start and the end of one attempt may arrive in the same batch: keep
        -- the end (an upsert cannot touch one row twice).
        SELECT DISTINCT ON (x.run_id, x.step_id, x.iteration, x.attempt) x.*
        FROM jsonb_to_recordset(p_attempts) AS x(
            run_id uuid, step_id text, iteration integer, attempt integer, status text,
            input jsonb, output jsonb, error jsonb,
            started_at timestamptz, finished_at timestamptz
        )
        ORDER BY x.run_id, x.step_id, x.iteration, x.attempt, (x.status = 'running')
    ),
    held AS (
        SELECT r.id FROM dw.runs AS r
        WHERE r.id IN (SELECT b.run_id FROM batch AS b)
          AND r.lease_owner = p_owner AND r.status = 'running'
        FOR SHARE
    ),
    written AS (
        INSERT INTO dw.step_attempts AS s (
            run_id, step_id, iteration, attempt, status, input, output, error,
            started_at, finished_at
        )
        SELECT b.run_id, b.step_id, b.iteration, b.attempt, b.status, b.input, b.output,
               b.error, b.started_at, b.finished_at
        FROM batch AS b
        WHERE b.run_id IN (SELECT h.id FROM held AS h)
        ON CONFLICT (run_id, step_id, iteration, attempt) DO UPDATE
            SET status = excluded.status,
                input = coalesce(excluded.input, s.input),
                output = excluded.output,
                error = excluded.error,
                finished_at = excluded.finished_at
            -- A completed attempt is final; a late 'running' row must not reopen it.
            WHERE s.status = 'running'
        RETURNING 1
    )
    SELECT DISTINCT b.run_id FROM batch AS b
    WHERE b.run_id NOT IN (SELECT h.id FROM held AS h)
$$;

CREATE FUNCTION dw.get_step_attempts_v1(p_run_id uuid)
RETURNS TABLE (
    step_id text, iteration integer, attempt integer, status text, input jsonb,
    output jsonb, error jsonb, started_at timestamptz, finished_at timestamptz
)
LANGUAGE sql STABLE AS $$
    SELECT s.step_id, s.iteration, s.attempt, s.status, s.input, s.output, s.error,
           s.started_at, s.finished_at
    FROM dw.step_attempts AS s
    WHERE s.run_id = p_run_id
    ORDER BY s.started_at, s.step_id, s.iteration, s.attempt
$$;

-- Run events: functions ------------------------------------------------------------

CREATE FUNCTION dw.append_run_events_v1(p_events jsonb)
RETURNS integer
LANGUAGE sql AS $$
    WITH inserted AS (
        INSERT INTO dw.run_events (run_id, at, kind, detail)
        SELECT x.run_id, coalesce(x.at, now()), x.kind, coalesce(x.detail, '{}')
        FROM jsonb_to_recordset(p_events) AS x(run_id uuid, at timestamptz, kind text, detail jsonb)
        RETURNING 1
    )
    SELECT count(*)::integer FROM inserted
$$;

CREATE FUNCTION dw.get_run_events_v1(p_run_id uuid)
RETURNS TABLE (id bigint, at timestamptz, kind text, detail jsonb)
LANGUAGE sql STABLE AS $$
    SELECT e.id, e.at, e.kind, e.detail FROM dw.run_events AS e
    WHERE e.run_id = p_run_id
    ORDER BY e.id
$$;
