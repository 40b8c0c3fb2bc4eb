-- Backups (issue 15): one row per backup attempt, scheduled or by hand. A scheduled slot runs once
-- across instances (unique slot). Resumen and diagnostico read the latest rows.
CREATE TABLE backups (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('scheduled', 'manual')),
  slot timestamptz UNIQUE,
  status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'ok', 'failed')),
  file text,
  bytes bigint,
  error text,
  started_at timestamptz NOT NULL,
  finished_at timestamptz
);
CREATE INDEX backups_started_at ON backups (started_at DESC);
