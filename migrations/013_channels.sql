-- Channels (issue 10): a notice is one logical row (`notifications`, its dedupe key unchanged);
-- every try of it on a channel is an attempt (`notification_envios`) with its own provider
-- message id, status, error code and times. Delivery states only move forward.

-- Rank of a delivery state: a status only replaces a lower one (webhooks arrive out of order;
-- `entregado` can be skipped; `leido` implies delivered; a delivered message never "fails").
CREATE FUNCTION teltec_envio_rank(p_estado text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT CASE p_estado WHEN 'pendiente' THEN 0 WHEN 'enviado' THEN 1 WHEN 'fallido' THEN 2
                       WHEN 'entregado' THEN 3 WHEN 'leido' THEN 4 ELSE -1 END
$fn$;

-- A notice follows its best attempt: pendiente → enviado → entregado → leido (forward only).
ALTER TABLE notifications DROP CONSTRAINT notifications_estado_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_estado_check
  CHECK (estado IN ('pendiente', 'enviado', 'entregado', 'leido', 'fallido', 'cancelado'));
-- The channel of the notice's latest attempt (telegram until another channel tries it).
ALTER TABLE notifications ADD CONSTRAINT notifications_canal_check
  CHECK (canal IN ('telegram', 'whatsapp', 'sms', 'email'));
ALTER TABLE notifications ADD COLUMN entregado_at timestamptz;
ALTER TABLE notifications ADD COLUMN leido_at timestamptz;

CREATE TABLE notification_envios (
  id               bigserial PRIMARY KEY,
  notification_id  bigint NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
  canal            text NOT NULL CHECK (canal IN ('telegram', 'whatsapp', 'sms', 'email')),
  estado           text NOT NULL DEFAULT 'pendiente'
                     CHECK (estado IN ('pendiente', 'enviado', 'entregado', 'leido', 'fallido')),
  -- Where it went: chat id, 5939XXXXXXXX, e-mail address.
  destino          text,
  -- The provider's message id (Telegram message_id, WhatsApp wamid, SMS id, Message-ID).
  proveedor_id     text,
  -- As a template (WhatsApp outside the 24 h window): its name; NULL for free text.
  plantilla        text,
  error_codigo     text,
  error            text,
  created_at       timestamptz NOT NULL,
  enviado_at       timestamptz,
  entregado_at     timestamptz,
  leido_at         timestamptz,
  fallido_at       timestamptz
);
CREATE UNIQUE INDEX notification_envios_proveedor_idx ON notification_envios (canal, proveedor_id)
  WHERE proveedor_id IS NOT NULL;
CREATE INDEX notification_envios_notification_idx ON notification_envios (notification_id, id);
CREATE INDEX notification_envios_created_idx ON notification_envios (created_at);

-- The attempts of the notices sent before channels existed: one Telegram attempt each.
INSERT INTO notification_envios (notification_id, canal, estado, destino, proveedor_id, created_at, enviado_at)
SELECT n.id, 'telegram', 'enviado', n.chat_id::text,
       CASE WHEN n.chat_id IS NOT NULL AND n.telegram_message_id IS NOT NULL
            THEN n.chat_id::text || ':' || n.telegram_message_id::text END,
       COALESCE(n.sent_at, n.updated_at), COALESCE(n.sent_at, n.updated_at)
  FROM notifications n
 WHERE n.estado = 'enviado';

-- Clients on other channels.
ALTER TABLE clients ADD COLUMN whatsapp text CHECK (whatsapp ~ '^5939[0-9]{8}$');
ALTER TABLE clients ADD COLUMN canal_preferido text CHECK (canal_preferido IN ('telegram', 'whatsapp', 'sms', 'email'));
-- The 24-hour service window: the client wrote to us on WhatsApp (set by inbound messages).
ALTER TABLE clients ADD COLUMN whatsapp_ventana_hasta timestamptz;
-- Why WhatsApp cannot reach this client (set by the sender), until when.
ALTER TABLE clients ADD COLUMN whatsapp_inalcanzable text;
ALTER TABLE clients ADD COLUMN whatsapp_inalcanzable_hasta timestamptz;
CREATE INDEX clients_whatsapp_idx ON clients (whatsapp) WHERE whatsapp IS NOT NULL;
-- A mobile on file is the WhatsApp number until staff say otherwise.
UPDATE clients SET whatsapp = telefono_norm WHERE telefono_norm ~ '^5939[0-9]{8}$' AND whatsapp IS NULL;

-- The consent ledger: rows are only added, never edited. The current consent is the latest row
-- per (client, channel, category) — `teltec_consent`.
CREATE TABLE consents (
  id              bigserial PRIMARY KEY,
  client_id       integer NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  canal           text NOT NULL CHECK (canal IN ('telegram', 'whatsapp', 'sms', 'email')),
  categoria       text NOT NULL CHECK (categoria IN ('servicio', 'marketing')),
  otorgado        boolean NOT NULL,
  fuente          text NOT NULL CHECK (fuente IN ('contrato', 'presencial', 'formulario', 'llamada', 'telegram',
                                                  'whatsapp', 'sms', 'email', 'proveedor', 'importacion')),
  evidencia       text,
  registrado_por  text,
  created_at      timestamptz NOT NULL
);
CREATE INDEX consents_client_idx ON consents (client_id, canal, categoria, created_at DESC, id DESC);

CREATE FUNCTION teltec_consent(p_client integer, p_canal text, p_categoria text) RETURNS boolean
LANGUAGE sql STABLE AS $fn$
  SELECT COALESCE((SELECT k.otorgado FROM consents k
                    WHERE k.client_id = p_client AND k.canal = p_canal AND k.categoria = p_categoria
                    ORDER BY k.created_at DESC, k.id DESC LIMIT 1), false)
$fn$;

-- Per-channel pacing shared by every instance (Telegram keeps `dispatch_pacer`): the channel's
-- next send slot and a pause every instance honours (a rate-limit storm, a halted channel).
CREATE TABLE channel_pacer (
  canal            text PRIMARY KEY CHECK (canal IN ('telegram', 'whatsapp', 'sms', 'email')),
  next_slot_ms     double precision NOT NULL DEFAULT 0,
  paused_until_ms  double precision NOT NULL DEFAULT 0
);
INSERT INTO channel_pacer (canal) VALUES ('telegram'), ('whatsapp'), ('sms'), ('email');

-- Per recipient on a channel: the earliest next send (pair rate, e.g. WhatsApp one message per
-- client every 6 s) and the start of the recipient's current 24 h window (the daily tier of
-- unique recipients counts the windows that started in the last 24 h).
CREATE TABLE channel_recipients (
  canal          text NOT NULL CHECK (canal IN ('telegram', 'whatsapp', 'sms', 'email')),
  destino        text NOT NULL,
  next_ms        double precision NOT NULL DEFAULT 0,
  ventana_desde  timestamptz,
  PRIMARY KEY (canal, destino)
);
CREATE INDEX channel_recipients_window_idx ON channel_recipients (canal, ventana_desde);

-- Delivery statuses about a message the outbox does not know yet: the provider's webhook can
-- arrive before the attempt's provider id is recorded (group commit). They wait here and are
-- applied when the attempt is recorded; housekeeping drops the ones older than 7 days.
CREATE TABLE delivery_status_parked (
  id            bigserial PRIMARY KEY,
  canal         text NOT NULL CHECK (canal IN ('telegram', 'whatsapp', 'sms', 'email')),
  proveedor_id  text NOT NULL,
  estado        text NOT NULL CHECK (teltec_envio_rank(estado) > 0),
  at            timestamptz NOT NULL,
  error_codigo  text,
  error         text,
  received_at   timestamptz NOT NULL
);
CREATE INDEX delivery_status_parked_idx ON delivery_status_parked (canal, proveedor_id);
CREATE INDEX delivery_status_parked_received_idx ON delivery_status_parked (received_at);
