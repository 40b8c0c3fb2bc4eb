-- The payment loop in the chat, part B (issue 13 §5–§8): suspension and reactivation notices, the
-- staff inbox of free text the clients write, and what the conversion metrics read.

-- New notice types: before a suspension, on it, on reactivation (src/vocabulary.ts lists them).
ALTER TABLE notifications DROP CONSTRAINT notifications_tipo_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_tipo_check CHECK (tipo IN (
  'recordatorio_pago', 'pago_vencido', 'mantenimiento', 'oferta', 'bienvenida', 'manual', 'pago_recibido',
  'aviso_suspension', 'servicio_suspendido', 'servicio_reactivado'));
ALTER TABLE templates DROP CONSTRAINT templates_tipo_check;
ALTER TABLE templates ADD CONSTRAINT templates_tipo_check CHECK (tipo IN (
  'recordatorio_pago', 'pago_vencido', 'mantenimiento', 'oferta', 'bienvenida', 'manual', 'pago_recibido',
  'aviso_suspension', 'servicio_suspendido', 'servicio_reactivado'));

-- Payment rules (the one SQL home, with migration 005): the provider suspends suspension_days after
-- the due date; the pre-suspension notice is due from notice_days before that date until it comes
-- (so a missed daily run catches up), never when notice_days is 0.
CREATE FUNCTION teltec_suspension_date(due date, suspension_days integer)
RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT due + suspension_days
$$;

CREATE FUNCTION teltec_suspension_notice_due(due date, today date, suspension_days integer, notice_days integer)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT due IS NOT NULL AND notice_days > 0
     AND today >= teltec_suspension_date(due, suspension_days) - notice_days
     AND today < teltec_suspension_date(due, suspension_days)
$$;

-- Free text clients write to the bot that no command or flow took ("no tengo internet desde
-- ayer"), and staff answers: the "Mensajes" inbox. An incoming message from a chat not linked to a
-- client keeps the chat only; one from a link not verified is stored, but its client's data is not
-- shown to the chat. An answer is queued through the outbox (notification_id) on the channel the
-- message came from.
CREATE TABLE client_messages (
  id               bigserial PRIMARY KEY,
  client_id        integer REFERENCES clients (id) ON DELETE CASCADE,
  canal            text NOT NULL DEFAULT 'telegram',
  chat_id          bigint,
  direccion        text NOT NULL CHECK (direccion IN ('entrante', 'saliente')),
  texto            text NOT NULL,
  -- Incoming: 'nuevo' until staff answer or archive it. Outgoing: NULL.
  estado           text CHECK (estado IN ('nuevo', 'respondido', 'archivado')),
  -- The chat's link was verified when the message came (incoming).
  vinculo_verificado boolean,
  -- What brought it, unique per provider ('telegram:<bot id>:<update id>', a WhatsApp message id):
  -- a redelivered update stores nothing twice.
  origen           text UNIQUE,
  -- Outgoing: the message answered, who wrote the answer, its outbox row.
  responde_a       bigint REFERENCES client_messages (id) ON DELETE SET NULL,
  autor            text,
  notification_id  bigint REFERENCES notifications (id) ON DELETE SET NULL,
  created_at       timestamptz NOT NULL,
  CHECK ((direccion = 'entrante') = (estado IS NOT NULL))
);
CREATE INDEX client_messages_new_idx ON client_messages (created_at) WHERE estado = 'nuevo';
CREATE INDEX client_messages_client_idx ON client_messages (client_id, created_at DESC);
CREATE INDEX client_messages_chat_idx ON client_messages (chat_id, created_at DESC);

-- Conversion metrics read payment notices by cycle and the payments after them.
CREATE INDEX notifications_cycle_idx ON notifications (ciclo, tipo) WHERE ciclo IS NOT NULL;
