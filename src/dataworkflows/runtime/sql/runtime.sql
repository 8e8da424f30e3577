-- lock_wait --
SELECT set_config('lock_timeout', %(timeout)s, false)

-- lock --
SELECT pg_advisory_lock(%(key)s)

-- unlock --
SELECT pg_advisory_unlock(%(key)s)

-- tracking_exists --
SELECT to_regprocedure('dw.applied_migrations_v1()') IS NOT NULL

-- applied --
SELECT name, checksum, applied_at, duration_ms FROM dw.applied_migrations_v1()

-- record --
SELECT dw.record_migration_v1(%(name)s, %(checksum)s, %(duration_ms)s)

-- ping --
SELECT 1
