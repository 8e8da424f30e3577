-- put_template --
SELECT version, created, created_at
FROM dw.put_template_v1(%(name)s, %(format)s, %(source)s, %(checksum)s, %(skip_known)s)

-- get_template --
SELECT name, version, format, source, checksum, created_at
FROM dw.get_template_v1(%(name)s, %(version)s)

-- list_templates --
SELECT name, format, latest_version, created_at, updated_at FROM dw.list_templates_v1()

-- get_template_versions --
SELECT version, checksum, created_at FROM dw.get_template_versions_v1(%(name)s)

-- put_project --
SELECT * FROM dw.put_project_v1(
    %(key)s, %(name)s, %(monday_board_ids)s::text[], %(tracker_ref_prefixes)s::text[],
    %(confluence_space_key)s, %(outlook_mailbox)s, %(slack_channel_id)s, %(settings)s,
    %(source)s
)

-- get_project --
SELECT * FROM dw.get_project_v1(%(key)s)

-- list_projects --
SELECT * FROM dw.list_projects_v1()

-- find_projects --
SELECT * FROM dw.find_projects_v1(%(text)s)

-- save_report --
SELECT * FROM dw.save_report_v1(
    %(project)s, %(run_id)s, %(idempotency_key)s, %(outputs)s, %(snapshot)s, %(summary)s,
    %(changes)s
)

-- get_latest_report --
SELECT * FROM dw.get_latest_report_v1(%(project)s)

-- get_report --
SELECT * FROM dw.get_report_v1(%(id)s)

-- list_reports --
SELECT id, project, created_at, run_id, health, counts, formats
FROM dw.list_reports_v1(%(project)s, %(after_created_at)s, %(after_id)s, %(limit)s)
