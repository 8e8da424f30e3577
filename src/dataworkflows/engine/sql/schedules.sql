-- put_schedule --
SELECT created, changed FROM dw.put_schedule_v1(
    %(name)s, %(workflow_name)s, %(cron)s, %(timezone)s, %(inputs)s, %(missed)s,
    %(missed_limit)s, %(description)s, %(paused)s, %(source)s, %(checksum)s,
    %(next_fire_at)s
)

-- list_schedules --
SELECT * FROM dw.list_schedules_v1(%(workflow_name)s)

-- get_schedule --
SELECT * FROM dw.get_schedule_v1(%(name)s)

-- set_schedule_paused --
SELECT * FROM dw.set_schedule_paused_v1(%(name)s, %(paused)s, %(next_fire_at)s)

-- delete_schedule --
SELECT dw.delete_schedule_v1(%(name)s) AS deleted

-- due_schedules --
SELECT * FROM dw.due_schedules_v1(%(now)s, %(limit)s)

-- next_schedule_due --
SELECT dw.next_schedule_due_v1() AS due

-- advance_schedule --
SELECT dw.advance_schedule_v1(
    %(name)s, %(expected)s, %(next_fire_at)s, %(last_tick_at)s, %(last_run_id)s,
    %(last_error)s
) AS advanced
