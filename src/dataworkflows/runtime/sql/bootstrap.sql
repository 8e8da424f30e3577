-- The migration runner's own bookkeeping, created before any numbered migration.
-- Idempotent, and run under the runner's advisory lock.
CREATE SCHEMA IF NOT EXISTS dw;

CREATE TABLE IF NOT EXISTS dw.schema_migrations (
    name        text PRIMARY KEY,
    checksum    text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
    applied_at  timestamptz NOT NULL DEFAULT now(),
    duration_ms integer NOT NULL CHECK (duration_ms >= 0)
);

CREATE OR REPLACE FUNCTION dw.applied_migrations_v1()
RETURNS TABLE (name text, checksum text, applied_at timestamptz, duration_ms integer)
LANGUAGE sql STABLE AS $$
    SELECT m.name, m.checksum, m.applied_at, m.duration_ms
    FROM dw.schema_migrations AS m
    ORDER BY m.name
$$;

CREATE OR REPLACE FUNCTION dw.record_migration_v1(p_name text, p_checksum text, p_duration_ms integer)
RETURNS void
LANGUAGE sql AS $$
    INSERT INTO dw.schema_migrations (name, checksum, duration_ms)
    VALUES (p_name, p_checksum, p_duration_ms)
$$;
