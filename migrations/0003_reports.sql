-- Status reports: versioned report templates, the project registry, and every report
-- made (its rendered outputs and the data it was made from), so that the next report
-- of a project can say what changed since this one.
--
-- Conventions as in 0001: application code calls only the dw.*_vN functions below,
-- with bound parameters (src/dataworkflows/reports/sql/reports.sql).

-- Templates ---------------------------------------------------------------------------

-- A template's format follows from the last dot-segment of its name (the application
-- derives it; the check keeps the two in step): project-status.slack -> slack,
-- .confluence -> confluence, .md -> markdown, .html -> html, anything else -> text.
CREATE TABLE dw.templates (
    name           text PRIMARY KEY
        CHECK (name ~ '^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$' AND length(name) <= 128),
    format         text NOT NULL
        CHECK (format IN ('slack', 'confluence', 'markdown', 'html', 'text')),
    latest_version integer NOT NULL CHECK (latest_version >= 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE dw.template_versions (
    template_name text NOT NULL REFERENCES dw.templates (name),
    version       integer NOT NULL CHECK (version > 0),
    source        text NOT NULL,
    checksum      text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (template_name, version)
);

-- Store a template's source. Unchanged (same checksum as the latest version): the
-- latest version, created = false. Changed: the next version. With p_skip_known (used
-- for shipped templates on every start), a source equal to ANY earlier version is not
-- stored again either: an operator's newer version registered through the API stays
-- the latest instead of being replaced by the shipped file at each restart.
CREATE FUNCTION dw.put_template_v1(
    p_name text, p_format text, p_source text, p_checksum text, p_skip_known boolean
)
RETURNS TABLE (version integer, created boolean, created_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_latest integer;
    v_format text;
    v_existing dw.template_versions%ROWTYPE;
BEGIN
    INSERT INTO dw.templates AS t (name, format, latest_version) VALUES (p_name, p_format, 0)
    ON CONFLICT (name) DO NOTHING;
    -- Serialises concurrent registrations of one template.
    SELECT t.latest_version, t.format INTO v_latest, v_format
    FROM dw.templates AS t WHERE t.name = p_name FOR UPDATE;
    IF v_format <> p_format THEN
        RAISE EXCEPTION 'template % has format %, not %', p_name, v_format, p_format
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT * INTO v_existing FROM dw.template_versions AS tv
    WHERE tv.template_name = p_name
      AND tv.checksum = p_checksum
      AND (tv.version = v_latest OR p_skip_known)
    ORDER BY tv.version DESC
    LIMIT 1;
    IF FOUND THEN
        RETURN QUERY SELECT v_existing.version, false, v_existing.created_at;
        RETURN;
    END IF;
    INSERT INTO dw.template_versions AS tv (template_name, version, source, checksum)
    VALUES (p_name, v_latest + 1, p_source, p_checksum);
    UPDATE dw.templates AS t SET latest_version = v_latest + 1, updated_at = now()
    WHERE t.name = p_name;
    RETURN QUERY SELECT v_latest + 1, true, now();
END
$$;

-- One version of a template; the latest when p_version is NULL. No row: unknown.
CREATE FUNCTION dw.get_template_v1(p_name text, p_version integer DEFAULT NULL)
RETURNS TABLE (
    name text, version integer, format text, source text, checksum text,
    created_at timestamptz
)
LANGUAGE sql STABLE AS $$
    SELECT tv.template_name, tv.version, t.format, tv.source, tv.checksum, tv.created_at
    FROM dw.template_versions AS tv
    JOIN dw.templates AS t ON t.name = tv.template_name
    WHERE tv.template_name = p_name
      AND tv.version = coalesce(p_version, t.latest_version)
$$;

CREATE FUNCTION dw.list_templates_v1()
RETURNS TABLE (
    name text, format text, latest_version integer, created_at timestamptz,
    updated_at timestamptz
)
LANGUAGE sql STABLE AS $$
    SELECT t.name, t.format, t.latest_version, t.created_at, t.updated_at
    FROM dw.templates AS t
    WHERE t.latest_version > 0
    ORDER BY t.name
$$;

CREATE FUNCTION dw.get_template_versions_v1(p_name text)
RETURNS TABLE (version integer, checksum text, created_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT tv.version, tv.checksum, tv.created_at
    FROM dw.template_versions AS tv
    WHERE tv.template_name = p_name
    ORDER BY tv.version
$$;

-- Projects ----------------------------------------------------------------------------

-- The project registry: how a project maps to each system.
-- * monday_board_ids: the project's boards; their items are its work items.
-- * tracker_ref_prefixes: the tracker has no tags or projects, so a tracker task belongs
--   to the project when its external_ref is "monday:<item id>" of an item on one of
--   the project's boards (made by monday-to-tracker), or starts with one of these
--   prefixes (tasks filed directly in the tracker, e.g. "apollo:").
-- * confluence_space_key, outlook_mailbox (a user id or UPN whose calendar holds the
--   project's meetings), slack_channel_id (where reports are posted).
-- * settings: per-project report options (status_map, column ids, links, time zone,
--   health thresholds): see dataworkflows.reports.
-- source says who wrote the row last: 'shipped' rows follow workflows/projects.yaml at
-- each start; once changed through the API ('api') the file no longer overwrites them.
CREATE TABLE dw.projects (
    key                  text PRIMARY KEY CHECK (key ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    name                 text NOT NULL CHECK (name <> '' AND length(name) <= 200),
    monday_board_ids     text[] NOT NULL DEFAULT '{}',
    tracker_ref_prefixes text[] NOT NULL DEFAULT '{}',
    confluence_space_key text,
    outlook_mailbox      text,
    slack_channel_id     text,
    settings             jsonb NOT NULL DEFAULT '{}',
    source               text NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'shipped')),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

-- The shape project-returning functions answer with.
CREATE VIEW dw.project_v1 AS
    SELECT p.key, p.name, p.monday_board_ids, p.tracker_ref_prefixes, p.confluence_space_key,
           p.outlook_mailbox, p.slack_channel_id, p.settings, p.source, p.created_at,
           p.updated_at
    FROM dw.projects AS p;

-- Create or replace a project. A 'shipped' write leaves a project last written through
-- the API alone (applied = false). changed: whether anything differs from before.
CREATE FUNCTION dw.put_project_v1(
    p_key text, p_name text, p_monday_board_ids text[], p_tracker_ref_prefixes text[],
    p_confluence_space_key text, p_outlook_mailbox text, p_slack_channel_id text,
    p_settings jsonb, p_source text
)
RETURNS TABLE (
    created boolean, changed boolean, applied boolean,
    key text, name text, monday_board_ids text[], tracker_ref_prefixes text[],
    confluence_space_key text, outlook_mailbox text, slack_channel_id text, settings jsonb,
    source text, created_at timestamptz, updated_at timestamptz
)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_old dw.projects%ROWTYPE;
    v_created boolean := false;
    v_changed boolean := false;
    v_applied boolean := true;
BEGIN
    SELECT * INTO v_old FROM dw.projects AS p WHERE p.key = p_key FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO dw.projects AS p (
            key, name, monday_board_ids, tracker_ref_prefixes, confluence_space_key,
            outlook_mailbox, slack_channel_id, settings, source
        ) VALUES (
            p_key, p_name, coalesce(p_monday_board_ids, '{}'),
            coalesce(p_tracker_ref_prefixes, '{}'), p_confluence_space_key, p_outlook_mailbox,
            p_slack_channel_id, coalesce(p_settings, '{}'), p_source
        );
        v_created := true;
        v_changed := true;
    ELSIF p_source = 'shipped' AND v_old.source = 'api' THEN
        v_applied := false;
    ELSE
        v_changed := (v_old.name, v_old.monday_board_ids, v_old.tracker_ref_prefixes,
                      v_old.confluence_space_key, v_old.outlook_mailbox, v_old.slack_channel_id,
                      v_old.settings)
            IS DISTINCT FROM
                     (p_name, coalesce(p_monday_board_ids, '{}'),
                      coalesce(p_tracker_ref_prefixes, '{}'), p_confluence_space_key,
                      p_outlook_mailbox, p_slack_channel_id, coalesce(p_settings, '{}'));
        IF v_changed OR v_old.source <> p_source THEN
            UPDATE dw.projects AS p
            SET name = p_name,
                monday_board_ids = coalesce(p_monday_board_ids, '{}'),
                tracker_ref_prefixes = coalesce(p_tracker_ref_prefixes, '{}'),
                confluence_space_key = p_confluence_space_key,
                outlook_mailbox = p_outlook_mailbox,
                slack_channel_id = p_slack_channel_id,
                settings = coalesce(p_settings, '{}'),
                source = p_source,
                updated_at = CASE WHEN v_changed THEN now() ELSE p.updated_at END
            WHERE p.key = p_key;
        END IF;
    END IF;
    RETURN QUERY SELECT v_created, v_changed, v_applied, v.*
        FROM dw.project_v1 AS v WHERE v.key = p_key;
END
$$;

-- A project by key, ignoring case. No row: unknown.
CREATE FUNCTION dw.get_project_v1(p_key text)
RETURNS SETOF dw.project_v1
LANGUAGE sql STABLE AS $$
    SELECT v.* FROM dw.project_v1 AS v WHERE v.key = lower(p_key)
$$;

CREATE FUNCTION dw.list_projects_v1()
RETURNS SETOF dw.project_v1
LANGUAGE sql STABLE AS $$
    SELECT v.* FROM dw.project_v1 AS v ORDER BY v.key
$$;

-- Projects a person may mean by p_text (a Slack command's argument): rank 1 the key,
-- 2 the whole name, 3 a key or name containing the text; all ignoring case. Plain
-- text search (strpos), not a pattern: the text comes from users.
CREATE FUNCTION dw.find_projects_v1(p_text text)
RETURNS TABLE (
    rank integer, key text, name text, monday_board_ids text[], tracker_ref_prefixes text[],
    confluence_space_key text, outlook_mailbox text, slack_channel_id text, settings jsonb,
    source text, created_at timestamptz, updated_at timestamptz
)
LANGUAGE sql STABLE AS $$
    SELECT m.rank, v.*
    FROM dw.project_v1 AS v
    CROSS JOIN LATERAL (
        SELECT CASE
            WHEN v.key = lower(btrim(p_text)) THEN 1
            WHEN lower(v.name) = lower(btrim(p_text)) THEN 2
            WHEN strpos(v.key, lower(btrim(p_text))) > 0
              OR strpos(lower(v.name), lower(btrim(p_text))) > 0 THEN 3
        END AS rank
    ) AS m
    WHERE m.rank IS NOT NULL AND btrim(p_text) <> ''
    ORDER BY m.rank, v.key
$$;

-- Reports -----------------------------------------------------------------------------

-- One row per report made. outputs: the renderings by format ({"slack": {...},
-- "confluence": {...}}); snapshot: the normalised data it was made from (what the next
-- report compares with); summary and changes as the templates saw them.
CREATE TABLE dw.reports (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project         text NOT NULL REFERENCES dw.projects (key),
    created_at      timestamptz NOT NULL DEFAULT now(),
    run_id          uuid,
    -- The saving step's idempotency key: a retried save returns the report it made.
    idempotency_key text UNIQUE,
    outputs         jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(outputs) = 'object'),
    snapshot        jsonb NOT NULL DEFAULT '{}',
    summary         jsonb NOT NULL DEFAULT '{}',
    changes         jsonb NOT NULL DEFAULT '{}'
);
-- The latest report of a project, and a project's reports newest first.
CREATE INDEX reports_by_project ON dw.reports (project, created_at DESC, id DESC);
CREATE INDEX reports_by_time ON dw.reports (created_at DESC, id DESC);

CREATE VIEW dw.report_v1 AS
    SELECT r.id, r.project, r.created_at, r.run_id, r.outputs, r.snapshot, r.summary,
           r.changes
    FROM dw.reports AS r;

-- Store a report. A repeated idempotency key returns the report stored the first
-- time (created = false) instead of storing another.
CREATE FUNCTION dw.save_report_v1(
    p_project text, p_run_id uuid, p_idempotency_key text, p_outputs jsonb,
    p_snapshot jsonb, p_summary jsonb, p_changes jsonb
)
RETURNS TABLE (
    created boolean, id uuid, project text, created_at timestamptz, run_id uuid,
    outputs jsonb, snapshot jsonb, summary jsonb, changes jsonb
)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_id uuid;
BEGIN
    INSERT INTO dw.reports AS r
        (project, run_id, idempotency_key, outputs, snapshot, summary, changes)
    VALUES (
        p_project, p_run_id, p_idempotency_key, coalesce(p_outputs, '{}'),
        coalesce(p_snapshot, '{}'), coalesce(p_summary, '{}'), coalesce(p_changes, '{}')
    )
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING r.id INTO v_id;
    IF v_id IS NOT NULL THEN
        RETURN QUERY SELECT true, v.* FROM dw.report_v1 AS v WHERE v.id = v_id;
    ELSE
        RETURN QUERY SELECT false, v.* FROM dw.report_v1 AS v
            JOIN dw.reports AS r ON r.id = v.id
            WHERE r.idempotency_key = p_idempotency_key;
    END IF;
END
$$;

-- The newest report of a project (what the next one compares with). No row: none yet.
CREATE FUNCTION dw.get_latest_report_v1(p_project text)
RETURNS SETOF dw.report_v1
LANGUAGE sql STABLE AS $$
    SELECT v.* FROM dw.report_v1 AS v
    WHERE v.project = lower(p_project)
    ORDER BY v.created_at DESC, v.id DESC
    LIMIT 1
$$;

CREATE FUNCTION dw.get_report_v1(p_id uuid)
RETURNS SETOF dw.report_v1
LANGUAGE sql STABLE AS $$
    SELECT v.* FROM dw.report_v1 AS v WHERE v.id = p_id
$$;

-- Newest first, optionally of one project, keyset-paged: pass the (created_at, id) of
-- the last row seen. Headlines only (health and counts, the formats rendered).
CREATE FUNCTION dw.list_reports_v1(
    p_project text, p_after_created_at timestamptz, p_after_id uuid, p_limit integer
)
RETURNS TABLE (
    id uuid, project text, created_at timestamptz, run_id uuid, health jsonb, counts jsonb,
    formats text[]
)
LANGUAGE sql STABLE AS $$
    SELECT r.id, r.project, r.created_at, r.run_id, r.summary -> 'health',
           r.summary -> 'counts',
           ARRAY(SELECT jsonb_object_keys(r.outputs) ORDER BY 1)
    FROM dw.reports AS r
    WHERE (p_project IS NULL OR r.project = lower(p_project))
      AND (p_after_created_at IS NULL OR (r.created_at, r.id) < (p_after_created_at, p_after_id))
    ORDER BY r.created_at DESC, r.id DESC
    LIMIT least(greatest(p_limit, 1), 1000)
$$;
