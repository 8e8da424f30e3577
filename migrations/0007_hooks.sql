-- Webhooks: another system's event starts a workflow (dataworkflows.engine.hooks).
-- A delivery's run has "hook:<name>:<delivery id>" as its idempotency key, so a
-- repeated delivery finds the run the first one started.

CREATE TABLE dw.hooks (
    name          text PRIMARY KEY,
    workflow_name text NOT NULL,
    inputs        jsonb NOT NULL DEFAULT '{}',
    delivery      text NOT NULL,
    verify_kind   text NOT NULL CHECK (verify_kind IN ('hmac', 'bearer')),
    secret        jsonb NOT NULL,
    tolerance_s   double precision NOT NULL,
    description   text NOT NULL DEFAULT '',
    source        text NOT NULL CHECK (source IN ('file', 'api')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Create or replace a hook; whether it is new.
CREATE FUNCTION dw.put_hook_v1(
    p_name text, p_workflow_name text, p_inputs jsonb, p_delivery text, p_verify_kind text,
    p_secret jsonb, p_tolerance_s double precision, p_description text, p_source text
)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dw.hooks AS h (
        name, workflow_name, inputs, delivery, verify_kind, secret, tolerance_s,
        description, source
    ) VALUES (
        p_name, p_workflow_name, p_inputs, p_delivery, p_verify_kind, p_secret,
        p_tolerance_s, p_description, p_source
    )
    ON CONFLICT (name) DO UPDATE
    SET workflow_name = EXCLUDED.workflow_name, inputs = EXCLUDED.inputs,
        delivery = EXCLUDED.delivery, verify_kind = EXCLUDED.verify_kind,
        secret = EXCLUDED.secret, tolerance_s = EXCLUDED.tolerance_s,
        description = EXCLUDED.description, source = EXCLUDED.source, updated_at = now();
    RETURN (SELECT h.created_at = h.updated_at FROM dw.hooks AS h WHERE h.name = p_name);
END
$$;

CREATE VIEW dw.hook_v1 AS
    SELECT h.name, h.workflow_name, h.inputs, h.delivery, h.verify_kind, h.secret,
           h.tolerance_s, h.description, h.source, h.created_at, h.updated_at
    FROM dw.hooks AS h;

CREATE FUNCTION dw.list_hooks_v1()
RETURNS SETOF dw.hook_v1
LANGUAGE sql STABLE AS $$
    SELECT v.* FROM dw.hook_v1 AS v ORDER BY v.name
$$;

CREATE FUNCTION dw.get_hook_v1(p_name text)
RETURNS SETOF dw.hook_v1
LANGUAGE sql STABLE AS $$
    SELECT v.* FROM dw.hook_v1 AS v WHERE v.name = p_name
$$;

CREATE FUNCTION dw.delete_hook_v1(p_name text)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM dw.hooks AS h WHERE h.name = p_name;
    RETURN FOUND;
END
$$;

-- dw.run_triggers with the hook and delivery of runs a webhook started.
CREATE OR REPLACE VIEW dw.run_triggers AS
    SELECT r.id AS run_id, r.workflow_name, r.status, r.created_at,
           coalesce(r.trigger->>'source', 'api') AS source,
           r.trigger->>'schedule' AS schedule,
           r.trigger->>'tick' AS tick,
           CASE WHEN r.trigger->>'source' = 'workflow' THEN r.trigger->>'parent_run' END
               AS parent_run,
           r.trigger->>'user' AS user_id,
           CASE WHEN r.trigger->>'source' = 'hook' THEN r.trigger->>'hook' END AS hook,
           CASE WHEN r.trigger->>'source' = 'hook' THEN r.trigger->>'delivery' END AS delivery
    FROM dw.runs AS r;
