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

-- ------------------------------------------------------------------------------------------------
-- Which channels can reach a client: the one SQL home of reachability per channel. NULL = the
-- channel may be used; otherwise why not. The channel policy (src/notifications/channel-policy.ts)
-- picks among the usable ones by preference; a notice with none is closed with Telegram's reason.
-- `p_now` NULL: marks with an expiry count as current (housekeeping clears expired ones).
-- Other channels (SMS, e-mail) extend this function (CREATE OR REPLACE, same signature).
CREATE FUNCTION teltec_channel_reasons(c clients, p_now timestamptz, p_marketing boolean) RETURNS jsonb
LANGUAGE sql STABLE AS $fn$
  SELECT jsonb_build_object(
    'telegram', teltec_unreachable_reason(c.chat_id, c.telegram_blocked, c.telegram_unreachable),
    'whatsapp', CASE
      WHEN c.whatsapp IS NULL THEN 'sin_whatsapp'
      WHEN c.whatsapp_inalcanzable IS NOT NULL
           AND (p_now IS NULL OR c.whatsapp_inalcanzable_hasta IS NULL OR c.whatsapp_inalcanzable_hasta > p_now)
        THEN 'whatsapp_inalcanzable'
      WHEN NOT teltec_consent(c.id, 'whatsapp', CASE WHEN p_marketing THEN 'marketing' ELSE 'servicio' END)
        THEN 'sin_consentimiento'
    END)
$fn$;

-- Some channel can reach the client.
CREATE FUNCTION teltec_reachable(c clients, p_now timestamptz, p_marketing boolean) RETURNS boolean
LANGUAGE sql STABLE AS $fn$
  SELECT EXISTS (SELECT 1 FROM jsonb_each(teltec_channel_reasons(c, p_now, p_marketing)) e
                  WHERE jsonb_typeof(e.value) = 'null')
$fn$;

-- The re-check (migration 012) becomes channel-aware: a client is unreachable only when no
-- channel can reach it (then the reason stays Telegram's: sin_telegram, blocked…). The row that
-- goes on carries the client's channel facts for the policy and the id of the attempt it begins.
DROP FUNCTION teltec_begin_attempts(bigint[], boolean[], text, timestamptz, float8, date, integer, integer,
                                    integer, boolean);
CREATE FUNCTION teltec_begin_attempts(
  p_ids bigint[], p_counts boolean[], p_worker text, p_now timestamptz, p_lease_ms float8, p_today date,
  p_cycle_days integer, p_repeat_days integer, p_max_notices integer, p_notify_suspended boolean
) RETURNS TABLE (
  id bigint, estado text, motivo text, intentos integer, primer_intento timestamptz, tipo text,
  urgente boolean, mensaje text, datos jsonb, ciclo date, client_id integer, campaign_id integer,
  chat_id bigint, nombre text, plan_id integer, plan text, precio numeric, velocidad integer,
  vencimiento date, campana_mensaje text, campana_plantilla text, monto_adeudado numeric,
  link_verified boolean, canales jsonb, canal_preferido text, whatsapp text, email text, telefono_norm text,
  whatsapp_ventana_hasta timestamptz, envio_id bigint
) LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
BEGIN
  RETURN QUERY
    WITH req AS (
       SELECT * FROM unnest(p_ids::bigint[], p_counts::boolean[]) AS r(id, count_attempt)
     ), cur AS (
       SELECT n.id, req.count_attempt, n.tipo, n.ciclo, n.paso, n.client_id AS cid,
              c.chat_id AS client_chat, n.chat_id AS row_chat, c.telegram_blocked, c.telegram_unreachable,
              c.estado AS client_estado, c.pref_ofertas, c.pref_mantenimiento, c.dia_pago,
              c.nombre, c.link_verified, c.plan_id, p.nombre AS plan, p.precio, p.velocidad_mbps AS velocidad,
              teltec_due_date(c.fecha_ultimo_pago, c.dia_pago, p_cycle_days) AS due,
              cp.estado AS campana_estado, cp.mensaje AS campana_mensaje, cp.plantilla AS campana_plantilla,
              CASE WHEN c.id IS NOT NULL THEN teltec_channel_reasons(c, p_now, n.tipo = 'oferta') END AS canales,
              c.canal_preferido, c.whatsapp, c.email, c.telefono_norm, c.whatsapp_ventana_hasta
         FROM notifications n
         JOIN req ON req.id = n.id
         LEFT JOIN clients c ON c.id = n.client_id
         LEFT JOIN plans p ON p.id = c.plan_id
         LEFT JOIN campaigns cp ON cp.id = n.campaign_id
        WHERE n.id = ANY(p_ids::bigint[]) AND n.estado = 'pendiente' AND n.locked_by = p_worker
     ), v AS (
       SELECT cur.*, CASE
           WHEN campana_estado = 'cancelada' THEN 'campana_cancelada'
           WHEN tipo IN ('recordatorio_pago', 'pago_vencido')
                AND NOT teltec_payment_eligible(client_estado, p_notify_suspended::boolean)
             THEN 'cliente_' || client_estado
           WHEN tipo IN ('recordatorio_pago', 'pago_vencido')
                AND teltec_payment_notice_stale(tipo, ciclo, paso, due, p_today::date, p_repeat_days::int,
                                                p_max_notices::int) IS NOT NULL
             THEN teltec_payment_notice_stale(tipo, ciclo, paso, due, p_today::date, p_repeat_days::int,
                                              p_max_notices::int)
           WHEN tipo = 'oferta' AND NOT pref_ofertas THEN 'preferencia'
           WHEN tipo = 'mantenimiento' AND NOT pref_mantenimiento THEN 'preferencia'
           WHEN cid IS NOT NULL AND EXISTS (SELECT 1 FROM jsonb_each(canales) e WHERE jsonb_typeof(e.value) = 'null')
             THEN NULL
           WHEN cid IS NOT NULL
             THEN teltec_unreachable_reason(client_chat, telegram_blocked, telegram_unreachable)
           ELSE teltec_unreachable_reason(row_chat, false, NULL)
         END AS why
         FROM cur
     ),
    done AS (
     UPDATE notifications n SET
         estado = CASE WHEN v.why IS NULL THEN 'pendiente'
                       WHEN teltec_is_undeliverable(v.why) THEN 'fallido'
                       ELSE 'cancelado' END,
         motivo = v.why,
         intentos = n.intentos + CASE WHEN v.why IS NULL AND v.count_attempt THEN 1 ELSE 0 END,
         primer_intento = CASE WHEN v.why IS NULL THEN COALESCE(n.primer_intento, p_now) ELSE n.primer_intento END,
         locked_until = CASE WHEN v.why IS NULL THEN p_now::timestamptz + p_lease_ms * interval '1 millisecond' END,
         locked_by = CASE WHEN v.why IS NULL THEN n.locked_by END,
         chat_id = COALESCE(v.client_chat, n.chat_id),
         updated_at = p_now
       FROM v
      WHERE n.id = v.id AND n.estado = 'pendiente' AND n.locked_by = p_worker
     RETURNING n.id, n.estado, n.motivo, n.intentos, n.primer_intento, n.tipo, n.urgente, n.mensaje, n.datos,
               n.ciclo, n.client_id, n.campaign_id, n.chat_id, v.nombre, v.plan_id, v.plan, v.precio,
               v.velocidad, v.due AS vencimiento, v.campana_mensaje, v.campana_plantilla,
               teltec_amount_owed(COALESCE(n.ciclo, v.due), p_today::date, v.dia_pago, p_cycle_days, v.precio)
                 AS monto_adeudado,
               v.link_verified, v.canales, v.canal_preferido, v.whatsapp, v.email, v.telefono_norm,
               v.whatsapp_ventana_hasta,
               CASE WHEN n.estado = 'pendiente' THEN nextval('notification_envios_id_seq') END AS envio_id
    )
    SELECT * FROM done;
END
$fn$;
