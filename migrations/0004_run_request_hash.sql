-- A run remembers a fingerprint of the request that started it, so that reusing an
-- Idempotency-Key with a different request is refused instead of silently answered
-- with the first run. Runs created before this migration have none (and are taken
-- as matching).

ALTER TABLE dw.runs ADD COLUMN request_hash text;

-- dw.create_runs_v1 with each run's request fingerprint, stored with a new run and
-- answered with the run found (new or existing). v1 stays for engines of the
-- previous release during a rolling deploy.
CREATE FUNCTION dw.create_runs_v2(
    p_ids uuid[], p_workflow_names text[], p_workflow_versions integer[], p_inputs text[],
    p_triggers text[], p_idempotency_keys text[], p_timeouts double precision[],
    p_engines text[], p_request_hashes text[]
)
RETURNS TABLE (
    requested_id uuid, created boolean,
    id uuid, workflow_name text, workflow_version integer, status text,
    inputs jsonb, output jsonb, error jsonb, trigger jsonb, idempotency_key text,
    created_at timestamptz, started_at timestamptz, finished_at timestamptz,
    timeout_seconds double precision, deadline_at timestamptz, owner text,
    claim_count integer, cancel_requested_at timestamptz, request_hash text
)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_queued boolean;
BEGIN
    WITH inserted AS (
        INSERT INTO dw.runs AS r (
            id, workflow_name, workflow_version, status, inputs, trigger, idempotency_key,
            timeout_seconds, deadline_at, started_at, owner, claim_count, request_hash
        )
        SELECT b.id, b.workflow_name, b.workflow_version,
               CASE WHEN b.engine IS NULL THEN 'queued' ELSE 'running' END,
               b.inputs::jsonb, b.trigger::jsonb, b.idempotency_key, b.timeout_seconds,
               CASE WHEN b.engine IS NOT NULL
                    THEN now() + make_interval(secs => b.timeout_seconds) END,
               CASE WHEN b.engine IS NOT NULL THEN now() END,
               b.engine,
               CASE WHEN b.engine IS NULL THEN 0 ELSE 1 END,
               b.request_hash
        FROM unnest(
            p_ids, p_workflow_names, p_workflow_versions, p_inputs, p_triggers,
            p_idempotency_keys, p_timeouts, p_engines, p_request_hashes
        ) AS b(id, workflow_name, workflow_version, inputs, trigger, idempotency_key,
               timeout_seconds, engine, request_hash)
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
            SELECT r.id, r.workflow_name, r.workflow_version, r.status, r.inputs, r.output,
                   r.error, r.trigger, r.idempotency_key, r.created_at, r.started_at,
                   r.finished_at, r.timeout_seconds, r.deadline_at, r.owner, r.claim_count,
                   r.cancel_requested_at, r.request_hash
            FROM dw.runs AS r WHERE r.id = b.id
            UNION ALL
            SELECT r.id, r.workflow_name, r.workflow_version, r.status, r.inputs, r.output,
                   r.error, r.trigger, r.idempotency_key, r.created_at, r.started_at,
                   r.finished_at, r.timeout_seconds, r.deadline_at, r.owner, r.claim_count,
                   r.cancel_requested_at, r.request_hash
            FROM dw.runs AS r
            WHERE b.idempotency_key IS NOT NULL AND r.workflow_name = b.workflow_name
              AND r.idempotency_key = b.idempotency_key
            LIMIT 1
        ) AS v;
END
$$;
