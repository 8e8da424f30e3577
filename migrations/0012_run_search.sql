-- The console and GET /v1/runs find runs by what started them (the trigger's source:
-- api, console, schedule, hook, slack, workflow) and by text (a run id's start, the
-- workflow's name, or words of its inputs or error); a run's page lists the records
-- it linked (dw.entity_links.run_id).

-- Newest first, filtered, keyset-paged (as list_runs_v1), also by trigger and text.
-- The text is matched literally (no LIKE wildcards) and case-insensitively.
CREATE FUNCTION dw.list_runs_v2(
    p_workflow_name text, p_status text, p_trigger text, p_text text,
    p_created_from timestamptz, p_created_to timestamptz,
    p_after_created_at timestamptz, p_after_id uuid, p_limit integer
)
RETURNS SETOF dw.run_v1
LANGUAGE sql STABLE AS $$
    WITH pattern AS (
        SELECT '%' || replace(replace(replace(lower(p_text), '\', '\\'), '%', '\%'), '_', '\_')
               || '%' AS p
    )
    SELECT v.* FROM dw.run_v1 AS v, pattern
    WHERE (p_workflow_name IS NULL OR v.workflow_name = p_workflow_name)
      AND (p_status IS NULL OR v.status = p_status)
      AND (p_trigger IS NULL OR v.trigger ->> 'source' = p_trigger)
      AND (p_created_from IS NULL OR v.created_at >= p_created_from)
      AND (p_created_to IS NULL OR v.created_at < p_created_to)
      AND (p_after_created_at IS NULL OR (v.created_at, v.id) < (p_after_created_at, p_after_id))
      AND (p_text IS NULL
           OR starts_with(v.id::text, lower(p_text))
           OR lower(v.workflow_name) LIKE pattern.p
           OR lower(v.inputs::text) LIKE pattern.p
           OR lower(coalesce(v.error ->> 'message', '')) LIKE pattern.p)
    ORDER BY v.created_at DESC, v.id DESC
    LIMIT least(greatest(p_limit, 1), 1000)
$$;

CREATE INDEX entity_links_by_run ON dw.entity_links (run_id) WHERE run_id IS NOT NULL;

-- The links a run wrote (as it last wrote them), oldest first.
CREATE FUNCTION dw.get_run_links_v1(p_run_id uuid)
RETURNS TABLE (
    system text, id text, other_system text, other_id text, data jsonb, run_id uuid,
    created_at timestamptz, updated_at timestamptz
)
LANGUAGE sql STABLE AS $$
    SELECT l.system_a, l.id_a, l.system_b, l.id_b, l.data, l.run_id, l.created_at, l.updated_at
    FROM dw.entity_links AS l WHERE l.run_id = p_run_id
    ORDER BY l.updated_at, l.system_a, l.id_a
    LIMIT 200
$$;
