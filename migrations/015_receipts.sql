-- Payment loop in the chat (issue 13 §1–§4): receipts ("comprobantes") sent from the bot and
-- reviewed by staff, promises to pay, and the ONE pause concept both use: while a client has an
-- open pause for a cycle, that cycle's payment notices are neither generated nor sent.

CREATE TABLE payment_receipts (
  id              serial PRIMARY KEY,
  client_id       integer NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  chat_id         bigint,
  -- The client's due date when the receipt arrived: the cycle it pays.
  ciclo           date,
  estado          text NOT NULL DEFAULT 'pendiente' CHECK (estado IN ('pendiente', 'aprobado', 'rechazado')),
  tipo_mime       text NOT NULL,
  tamano          integer NOT NULL CHECK (tamano > 0),
  sha256          text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  -- Relative to DATA_DIR/comprobantes (never a public path); served only through the API.
  archivo         text NOT NULL,
  monto_adeudado  numeric(10, 2),
  payment_id      integer REFERENCES payments (id) ON DELETE SET NULL,
  monto           numeric(10, 2),
  fecha_pago      date,
  referencia      text,
  motivo_rechazo  text,
  revisado_por    text,
  revisado_at     timestamptz,
  created_at      timestamptz NOT NULL,
  -- A resend of the same file by the same client is recognised, not stored twice.
  UNIQUE (client_id, sha256)
);
CREATE INDEX payment_receipts_pending_idx ON payment_receipts (created_at) WHERE estado = 'pendiente';
CREATE INDEX payment_receipts_client_idx ON payment_receipts (client_id, created_at DESC);

CREATE TABLE payment_promises (
  id               serial PRIMARY KEY,
  client_id        integer NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  ciclo            date NOT NULL,
  fecha_prometida  date NOT NULL,
  estado           text NOT NULL DEFAULT 'pendiente' CHECK (estado IN ('pendiente', 'cumplida', 'incumplida')),
  created_at       timestamptz NOT NULL,
  resuelta_at      timestamptz,
  -- One promise per cycle.
  UNIQUE (client_id, ciclo)
);
CREATE INDEX payment_promises_date_idx ON payment_promises (fecha_prometida);

CREATE TABLE notice_pauses (
  id          serial PRIMARY KEY,
  client_id   integer NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  motivo      text NOT NULL CHECK (motivo IN ('comprobante', 'promesa')),
  -- Last day of the pause (inclusive), in the provider's zone.
  hasta       date NOT NULL,
  -- The cycle whose notices pause (NULL: any).
  ciclo       date,
  receipt_id  integer REFERENCES payment_receipts (id) ON DELETE CASCADE,
  promise_id  integer REFERENCES payment_promises (id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL,
  -- Ended before `hasta`: the receipt was reviewed, the cycle was paid.
  ended_at    timestamptz
);
CREATE INDEX notice_pauses_open_idx ON notice_pauses (client_id) WHERE ended_at IS NULL;

-- Why a client's payment notices for cycle `ciclo` pause on `today` ('comprobante' before
-- 'promesa'), or NULL. Part of the payment rules' one SQL home: generation and the send-time
-- re-check both ask it.
CREATE FUNCTION teltec_notice_pause(p_client integer, p_ciclo date, p_today date)
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT np.motivo FROM notice_pauses np
   WHERE np.client_id = p_client AND np.ended_at IS NULL AND np.hasta >= p_today
     AND (np.ciclo IS NULL OR np.ciclo = p_ciclo)
   ORDER BY np.motivo
   LIMIT 1
$$;

-- The chat waits for the receipt after "Ya pagué".
ALTER TABLE bot_chats DROP CONSTRAINT bot_chats_estado_check;
ALTER TABLE bot_chats ADD CONSTRAINT bot_chats_estado_check
  CHECK (estado IN ('inicio', 'esperando_cedula', 'esperando_contacto', 'esperando_comprobante'));

-- The send-time re-check with the pause: a paused payment notice is cancelled ('pausa_comprobante',
-- 'pausa_promesa'). Same statement as migration 013 (channel-aware) otherwise.
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
           WHEN tipo IN ('recordatorio_pago', 'pago_vencido')
                AND teltec_notice_pause(cid, ciclo, p_today::date) IS NOT NULL
             THEN 'pausa_' || teltec_notice_pause(cid, ciclo, p_today::date)
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
         -- A notice cancelled by a pause gives its key back: generation makes it again when the
         -- pause is over (the cancelled row keeps a key of its own).
         dedupe_key = CASE WHEN v.why LIKE 'pausa\_%' THEN n.dedupe_key || ':pausada:' || n.id
                           ELSE n.dedupe_key END,
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
