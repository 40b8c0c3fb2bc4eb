-- Telegram bot: the update inbox (each update handled once), chat state, failed linking attempts,
-- invitations and the events the adoption funnel is counted from.
-- Every time column the bot's rules depend on is written from the service's clock, not now().

-- The inbox. A row exists once per (bot, update_id): the unique key is what makes a redelivered
-- update, or two copies arriving at the same moment, count once. The webhook answers after the
-- insert; the update is handled afterwards. `claimed_until` is a lease: a row still 'pendiente'
-- whose lease expired (the process died or the database failed mid-way) is claimed again by the
-- sweeper, at most `max attempts` times.
CREATE TABLE bot_updates (
  bot_id         bigint NOT NULL,
  update_id      bigint NOT NULL,
  chat_id        bigint,
  tipo           text NOT NULL,
  -- The update as received (JSON text: jsonb would refuse a \u0000 Telegram may carry).
  payload        text NOT NULL,
  estado         text NOT NULL DEFAULT 'pendiente' CHECK (estado IN ('pendiente', 'procesado', 'fallido')),
  intentos       integer NOT NULL DEFAULT 0,
  ultimo_error   text,
  received_at    timestamptz NOT NULL,
  claimed_until  timestamptz,
  processed_at   timestamptz,
  PRIMARY KEY (bot_id, update_id)
);
CREATE INDEX bot_updates_pending_idx ON bot_updates (claimed_until) WHERE estado = 'pendiente';
CREATE INDEX bot_updates_received_idx ON bot_updates (received_at);

-- One row per private chat that ever wrote to the bot: where its conversation stands.
CREATE TABLE bot_chats (
  chat_id        bigint PRIMARY KEY,
  user_id        bigint,
  -- 'inicio' | 'esperando_cedula' | 'esperando_contacto'
  estado         text NOT NULL DEFAULT 'inicio'
                   CHECK (estado IN ('inicio', 'esperando_cedula', 'esperando_contacto')),
  -- The client whose phone the chat must prove (while 'esperando_contacto'). Never shown to the chat.
  client_id      integer REFERENCES clients (id) ON DELETE SET NULL,
  invitation_id  integer,
  first_seen_at  timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL
);
CREATE INDEX bot_chats_first_seen_idx ON bot_chats (first_seen_at);

-- Failed linking attempts (unknown cédula, someone else's contact, other phone, bad invitation):
-- at most 5 per chat per hour.
CREATE TABLE bot_failed_attempts (
  id       bigserial PRIMARY KEY,
  chat_id  bigint NOT NULL,
  motivo   text NOT NULL,
  at       timestamptz NOT NULL
);
CREATE INDEX bot_failed_attempts_chat_idx ON bot_failed_attempts (chat_id, at DESC);

-- Invitations: a one-time token in https://t.me/<bot>?start=<token>. Active = not used, not
-- revoked, not expired.
CREATE TABLE bot_invitations (
  id              serial PRIMARY KEY,
  client_id       integer NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  token           text NOT NULL UNIQUE CHECK (token ~ '^[A-Za-z0-9_-]{16,64}$'),
  created_at      timestamptz NOT NULL,
  expires_at      timestamptz NOT NULL,
  created_by      text,
  -- First /start with this token (the funnel's "opened the bot").
  opened_at       timestamptz,
  opened_chat_id  bigint,
  used_at         timestamptz,
  used_chat_id    bigint,
  revoked_at      timestamptz,
  revoked_by      text
);
CREATE INDEX bot_invitations_client_idx ON bot_invitations (client_id, created_at DESC);
CREATE INDEX bot_invitations_created_idx ON bot_invitations (created_at);
CREATE INDEX bot_invitations_active_idx ON bot_invitations (client_id)
  WHERE used_at IS NULL AND revoked_at IS NULL;

-- What happened, for the statistics over time: 'chat_nuevo', 'vinculado', 'desvinculado',
-- 'bloqueado', 'desbloqueado', 'intento_fallido'. `detalles` never holds a cédula or a phone.
CREATE TABLE bot_events (
  id         bigserial PRIMARY KEY,
  at         timestamptz NOT NULL,
  tipo       text NOT NULL,
  chat_id    bigint,
  client_id  integer REFERENCES clients (id) ON DELETE SET NULL,
  detalles   jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX bot_events_at_idx ON bot_events (at, tipo);
