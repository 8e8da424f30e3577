-- put_workflow_version --
SELECT version, created, created_at
FROM dw.put_workflow_version_v1(%(name)s, %(description)s, %(definition)s, %(source)s, %(checksum)s)

-- list_workflows --
SELECT name, latest_version, description, created_at, updated_at FROM dw.list_workflows_v1()

-- get_workflow_versions --
SELECT version, description, checksum, created_at FROM dw.get_workflow_versions_v1(%(name)s)

-- get_workflow_version --
SELECT name, version, description, definition, source, checksum, created_at
FROM dw.get_workflow_version_v1(%(name)s, %(version)s)

-- create_runs --
SELECT * FROM dw.create_runs_v2(
    %(ids)b::uuid[], %(workflow_names)b::text[], %(workflow_versions)b::integer[],
    %(inputs)b::text[], %(triggers)b::text[], %(idempotency_keys)b::text[],
    %(timeouts)b::double precision[], %(engines)b::text[], %(request_hashes)b::text[]
)

-- get_run --
SELECT * FROM dw.get_run_v1(%(id)s)

-- list_runs --
SELECT * FROM dw.list_runs_v2(
    %(workflow_name)s, %(status)s, %(trigger)s, %(text)s, %(created_from)s, %(created_to)s,
    %(after_created_at)s, %(after_id)s, %(limit)s
)

-- get_step_attempts --
SELECT step_id, iteration, attempt, action, aggregate, redacted, status, input, output,
       error, queued_at, started_at, finished_at
FROM dw.get_step_attempts_v1(%(run_id)s)

-- get_run_events --
SELECT id, at, kind, detail FROM dw.get_run_events_v1(%(run_id)s)

-- request_cancel --
SELECT * FROM dw.request_cancel_v3(%(id)s)

-- signal_run --
SELECT accepted, woke, status FROM dw.signal_run_v1(%(id)s, %(name)s, %(payload)s)

-- take_signal --
SELECT id, payload, sent_at FROM dw.take_signal_v1(%(id)s, %(name)s, %(taker)s)

-- suspend_run --
SELECT dw.suspend_run_v1(%(engine)s, %(id)s, %(wake_at)s, %(signal)s) AS status

-- wake_runs --
SELECT dw.wake_runs_v1(%(limit)s) AS woken

-- next_wake --
SELECT dw.next_wake_v1() AS wake_at

-- prune_runs --
SELECT dw.prune_runs_v1(%(before)s, %(limit)s) AS deleted

-- history_since --
SELECT dw.history_since_v1() AS since

-- count_unfinished_runs --
SELECT queued, running, waiting FROM dw.count_unfinished_runs_v1()

-- get_child_runs --
SELECT * FROM dw.get_child_runs_v1(%(id)s)

-- retry_run --
SELECT * FROM dw.retry_run_v1(%(id)s)

-- heartbeat_engine --
SELECT cancel_requested
FROM dw.heartbeat_engine_v1(%(engine)s, %(lease_seconds)s, %(host)s, %(pid)s, %(version)s)

-- release_engine --
SELECT dw.release_engine_v1(%(engine)s)

-- release_runs --
SELECT dw.release_runs_v1(%(engine)s, %(ids)s::uuid[])

-- put_entity_link --
SELECT * FROM dw.put_entity_link_v1(
    %(system)s, %(id)s, %(other_system)s, %(other_id)s, %(data)s, %(run_id)s
)

-- get_entity_links --
SELECT * FROM dw.get_entity_links_v1(%(system)s, %(id)s)

-- get_run_links --
SELECT * FROM dw.get_run_links_v1(%(run_id)s)

-- claim_runs --
SELECT id, workflow_name, workflow_version, inputs, deadline_at, claim_count, previous_engine
FROM dw.claim_runs_v1(%(engine)s, %(limit)s)

-- write_batch --
-- Arrays go in binary (the b placeholders): PostgreSQL parses only the JSON values.
SELECT lost_run_id FROM dw.write_batch_v1(
    %(engine)s,
    %(run_ids)b::uuid[], %(step_ids)b::text[], %(iterations)b::integer[],
    %(attempts)b::integer[], %(actions)b::text[], %(aggregates)b::boolean[],
    %(redacted)b::boolean[],
    %(statuses)b::text[], %(inputs)b::text[], %(outputs)b::text[], %(errors)b::text[],
    %(queued_at)b::timestamptz[], %(started_at)b::timestamptz[],
    %(finished_at)b::timestamptz[],
    %(finish_ids)b::uuid[], %(finish_statuses)b::text[], %(finish_outputs)b::text[],
    %(finish_errors)b::text[],
    %(event_run_ids)b::uuid[], %(event_kinds)b::text[], %(event_details)b::text[]
)

-- listen_runs --
LISTEN dw_runs
