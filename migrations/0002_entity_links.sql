-- Entity links: which record in one system corresponds to which in another
-- (a Monday item <-> a tracker task, later Confluence pages). A link is stored once,
-- in a canonical direction, and found from either end.

CREATE TABLE dw.entity_links (
    system_a   text NOT NULL CHECK (system_a ~ '^[a-z][a-z0-9_]*$'),
    id_a       text NOT NULL CHECK (id_a <> ''),
    system_b   text NOT NULL CHECK (system_b ~ '^[a-z][a-z0-9_]*$'),
    id_b       text NOT NULL CHECK (id_b <> ''),
    data       jsonb NOT NULL DEFAULT '{}',
    run_id     uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- One counterpart per record and system: an item has at most one tracker task.
    PRIMARY KEY (system_a, id_a, system_b),
    CHECK ((system_a, id_a) < (system_b, id_b))
);
CREATE UNIQUE INDEX entity_links_by_b ON dw.entity_links (system_b, id_b, system_a);

-- Link two records (either order); re-linking a record to a new counterpart in the
-- same system moves the link. Returns the link as stored.
CREATE FUNCTION dw.put_entity_link_v1(
    p_system text, p_id text, p_other_system text, p_other_id text, p_data jsonb, p_run_id uuid
)
RETURNS TABLE (
    system text, id text, other_system text, other_id text, data jsonb, run_id uuid,
    created_at timestamptz, updated_at timestamptz
)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_swap boolean := (p_system, p_id) > (p_other_system, p_other_id);
    v_a text := CASE WHEN v_swap THEN p_other_system ELSE p_system END;
    v_ida text := CASE WHEN v_swap THEN p_other_id ELSE p_id END;
    v_b text := CASE WHEN v_swap THEN p_system ELSE p_other_system END;
    v_idb text := CASE WHEN v_swap THEN p_id ELSE p_other_id END;
BEGIN
    IF p_system = p_other_system THEN
        RAISE EXCEPTION 'a link joins two different systems, got % twice', p_system
            USING ERRCODE = 'check_violation';
    END IF;
    -- A record's previous counterpart in the other system is replaced, from both ends.
    DELETE FROM dw.entity_links AS l
    WHERE (l.system_a = v_a AND l.id_a = v_ida AND l.system_b = v_b AND l.id_b <> v_idb)
       OR (l.system_b = v_b AND l.id_b = v_idb AND l.system_a = v_a AND l.id_a <> v_ida);
    INSERT INTO dw.entity_links AS l (system_a, id_a, system_b, id_b, data, run_id)
    VALUES (v_a, v_ida, v_b, v_idb, coalesce(p_data, '{}'), p_run_id)
    ON CONFLICT (system_a, id_a, system_b) DO UPDATE
        SET data = excluded.data, run_id = excluded.run_id, updated_at = now();
    RETURN QUERY SELECT * FROM dw.get_entity_links_v1(p_system, p_id) AS g
        WHERE g.other_system = p_other_system;
END
$$;

-- The links of one record, seen from that record.
CREATE FUNCTION dw.get_entity_links_v1(p_system text, p_id text)
RETURNS TABLE (
    system text, id text, other_system text, other_id text, data jsonb, run_id uuid,
    created_at timestamptz, updated_at timestamptz
)
LANGUAGE sql STABLE AS $$
    SELECT l.system_a, l.id_a, l.system_b, l.id_b, l.data, l.run_id, l.created_at, l.updated_at
    FROM dw.entity_links AS l WHERE l.system_a = p_system AND l.id_a = p_id
    UNION ALL
    SELECT l.system_b, l.id_b, l.system_a, l.id_a, l.data, l.run_id, l.created_at, l.updated_at
    FROM dw.entity_links AS l WHERE l.system_b = p_system AND l.id_b = p_id
    ORDER BY 3, 4
$$;
