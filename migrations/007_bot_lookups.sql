-- Issue 12 §1: every cédula lookup by the bot, so that enumeration costs something and shows.
-- resultado: 'consultada' (answered, counts against the user and the hourly budget),
-- 'completada' (the lookup ended in a verified link: it no longer counts), 'limite_usuario' /
-- 'limite_global' (refused without looking the cédula up). No cédula is stored; client_id only
-- for a hit, so that finishing the verification can release that one lookup.
CREATE TABLE bot_cedula_lookups (
  id         bigserial PRIMARY KEY,
  at         timestamptz NOT NULL,
  user_key   bigint NOT NULL,
  chat_id    bigint NOT NULL,
  client_id  integer REFERENCES clients (id) ON DELETE SET NULL,
  resultado  text NOT NULL
);
CREATE INDEX bot_cedula_lookups_at_idx ON bot_cedula_lookups (at, resultado);
CREATE INDEX bot_cedula_lookups_user_idx ON bot_cedula_lookups (user_key, at);

-- Issue 12 §7: the bot's identity as Telegram last told it (getMe), so that invitation links can be
-- built at once even while Telegram is unreachable.
CREATE TABLE bot_identity (
  bot_id      bigint PRIMARY KEY,
  username    text NOT NULL,
  first_name  text,
  updated_at  timestamptz NOT NULL
);
