-- Staff alerts (issue 15 §5): incidents, the staff chats that receive them, one-time link codes,
-- and the messages waiting to go to staff (alerts and the daily digest).

-- One row per incident. At most one open incident per key: raising it again while open only
-- records it (no new message) unless its level rises; clearing closes it (one message).
CREATE TABLE staff_alerts (
  id            bigserial PRIMARY KEY,
  clave         text NOT NULL,
  nivel         integer NOT NULL DEFAULT 1,
  titulo        text NOT NULL,
  detalle       text NOT NULL DEFAULT '',
  estado        text NOT NULL DEFAULT 'activa' CHECK (estado IN ('activa', 'resuelta')),
  abierta_en    timestamptz NOT NULL,
  vista_en      timestamptz NOT NULL,
  resuelta_en   timestamptz,
  avisos        integer NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX staff_alerts_open_idx ON staff_alerts (clave) WHERE estado = 'activa';
CREATE INDEX staff_alerts_recent_idx ON staff_alerts (abierta_en DESC);

-- Telegram chats of staff that receive alerts (linked with /staff CODE).
CREATE TABLE staff_chats (
  chat_id       bigint PRIMARY KEY,
  nombre        text NOT NULL DEFAULT '',
  vinculado_en  timestamptz NOT NULL
);

-- One-time codes shown in Ajustes; stored as a hash, valid for a short time, used once.
CREATE TABLE staff_link_codes (
  codigo_hash   text PRIMARY KEY,
  expira_en     timestamptz NOT NULL,
  usado_en      timestamptz,
  chat_id       bigint
);

-- Messages to staff chats, sent by the alert monitor (a small outbox of its own).
CREATE TABLE staff_messages (
  id            bigserial PRIMARY KEY,
  texto         text NOT NULL,
  creado_en     timestamptz NOT NULL,
  enviado_en    timestamptz,
  intentos      integer NOT NULL DEFAULT 0,
  ultimo_error  text
);
CREATE INDEX staff_messages_pending_idx ON staff_messages (id) WHERE enviado_en IS NULL;
