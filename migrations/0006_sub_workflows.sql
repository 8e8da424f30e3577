-- Sub-workflows: a run started by a step of another run (engine.subworkflows) has
-- {"source": "workflow", "parent_run": <id>, "parent_step": <step>, "depth": <n>} as
-- its trigger. The parent finds its children by that, and cancelling a run cancels
-- every run it started, and theirs.

CREATE INDEX runs_by_parent ON dw.runs ((trigger->>'parent_run'))
    WHERE trigger->>'source' = 'workflow';

-- The runs a run's steps started, oldest first.
CREATE FUNCTION dw.get_child_runs_v1(p_id uuid)
RETURNS SETOF dw.run_v1
LANGUAGE sql STABLE AS $$
    SELECT v.* FROM dw.run_v1 AS v
    JOIN dw.runs AS r ON r.id = v.id
    WHERE r.trigger->>'source' = 'workflow' AND r.trigger->>'parent_run' = p_id::text
    ORDER BY v.created_at, v.id
$$;

-- dw.request_cancel_v1 for a run and every unfinished run it started, down the tree
-- (at most 16 levels: the engine refuses deeper nesting long before). Returns the run
-- as it now is. v1 stays for engines of the previous release.
CREATE FUNCTION dw.request_cancel_v2(p_id uuid)
RETURNS SETOF dw.run_v1
LANGUAGE plpgsql AS $$
DECLARE
    v_child uuid;
BEGIN
    FOR v_child IN
        WITH RECURSIVE tree(id, depth) AS (
            SELECT r.id, 1 FROM dw.runs AS r
            WHERE r.trigger->>'source' = 'workflow' AND r.trigger->>'parent_run' = p_id::text
            UNION ALL
            SELECT r.id, t.depth + 1 FROM tree AS t
            JOIN dw.runs AS r
              ON r.trigger->>'source' = 'workflow' AND r.trigger->>'parent_run' = t.id::text
            WHERE t.depth < 16
        )
        SELECT t.id FROM tree AS t JOIN dw.runs AS r ON r.id = t.id
        WHERE r.status IN ('queued', 'running')
        ORDER BY t.depth DESC
    LOOP
        PERFORM dw.request_cancel_v1(v_child);
    END LOOP;
    RETURN QUERY SELECT * FROM dw.request_cancel_v1(p_id);
END
$$;
