-- Notification engine: outbox columns and claim indexes, templates, scheduler runs, the shared
-- send pacer, and request fingerprints for idempotency keys.

-- Step of a payment notice inside its cycle (0 = reminder or first overdue notice, 1, 2 … the
-- overdue repeats). The dedupe key carries it too; the column lets the sender re-check that the
-- step is still the current one.
ALTER TABLE notifications ADD COLUMN paso smallint;
-- Time of the first send attempt: retries stop 24 hours after it.
ALTER TABLE notifications ADD COLUMN primer_intento timestamptz;

-- Claim order: urgent first, then by due time. Rows outside the send window wait, so a second,
-- small index serves the claims made outside the window (urgent rows and welcomes only).
CREATE INDEX notifications_claim_idx ON notifications (urgente DESC, proximo_intento, id)
  WHERE estado = 'pendiente';
CREATE INDEX notifications_claim_now_idx ON notifications (proximo_intento, id)
  WHERE estado = 'pendiente' AND (urgente OR tipo = 'bienvenida');
-- Pending rows of one client: payment cancels, per-chat exclusion in the claim.
CREATE INDEX notifications_pending_client_idx ON notifications (client_id, ciclo)
  WHERE estado = 'pendiente';
-- Statistics by day and sent time.
CREATE INDEX notifications_sent_idx ON notifications (sent_at) WHERE sent_at IS NOT NULL;

-- Message templates edited by staff. The Spanish defaults live in the code
-- (src/notifications/templates.ts); a row here overrides one type, for every plan (plan_id NULL)
-- or for one plan.
CREATE TABLE templates (
  id          serial PRIMARY KEY,
  tipo        text NOT NULL CHECK (tipo IN ('recordatorio_pago', 'pago_vencido', 'mantenimiento', 'oferta',
                'bienvenida', 'manual', 'pago_recibido')),
  plan_id     integer REFERENCES plans (id) ON DELETE CASCADE,
  texto       text NOT NULL,
  updated_by  text,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX templates_tipo_plan_key ON templates (tipo, COALESCE(plan_id, 0));

-- One row per scheduled job run: the (job, slot) key is what makes a slot run once across all
-- instances, and what the catch-up after downtime looks at.
CREATE TABLE job_runs (
  job          text NOT NULL,
  slot         text NOT NULL,
  instance     text NOT NULL,
  started_at   timestamptz NOT NULL,
  finished_at  timestamptz NOT NULL,
  resultado    jsonb NOT NULL DEFAULT '{}'::jsonb,
  PRIMARY KEY (job, slot)
);

-- The global send pacer shared by every instance on one database: each instance reserves send
-- slots (epoch milliseconds) from here, so together they stay under SEND_RATE. A 429 from
-- Telegram pushes next_slot_ms forward and so pauses every instance.
CREATE TABLE dispatch_pacer (
  id            smallint PRIMARY KEY CHECK (id = 1),
  next_slot_ms  double precision NOT NULL DEFAULT 0
);
INSERT INTO dispatch_pacer (id) VALUES (1);

-- A replay with the same Idempotency-Key but another body is refused, not answered with the
-- first result.
ALTER TABLE idempotency_keys ADD COLUMN fingerprint text;

-- Who was left out of a campaign and why (no Telegram, blocked, opted out), for its report.
ALTER TABLE campaigns ADD COLUMN excluidos jsonb NOT NULL DEFAULT '{}'::jsonb;
