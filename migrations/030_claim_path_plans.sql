-- The claim path stays as fast after a long run as at its start (issue 16 §3).
--
-- A VACUUM (ANALYZE) of the outbox while its queue is empty (the nightly `vacuum_pglite` job, an
-- autovacuum between two bursts) records no pending row: the partial indexes on 'pendiente' then
-- look empty to the planner until the next ANALYZE, however many rows are queued meanwhile. A
-- statement that looks rows up by id AND says `estado = 'pendiente'` may then be planned as a scan
-- of a whole pending index (once, or once per row) instead of a look-up by primary key: the
-- send-time re-check below did both, and the claim bench fell to a third of its starting rate
-- after the first VACUUM.
--
-- The re-check of migration 023, restated with one change: `cur` looks its rows up by id alone
-- and locks them (FOR NO KEY UPDATE, the lock the UPDATE takes anyway); the state conditions
-- (pending, leased to this worker) are then read on the locked row, its latest version, as the
-- UPDATE's own conditions were, and the UPDATE reaches its rows by id alone. Same results
-- otherwise.
CREATE OR REPLACE FUNCTION teltec_begin_attempts(
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
       SELECT n.id, req.count_attempt, n.tipo, n.ciclo, n.paso, n.client_id AS cid, n.datos AS ndatos,
              c.chat_id AS client_chat, n.chat_id AS row_chat, c.telegram_blocked, c.telegram_unreachable,
              c.estado AS client_estado, c.pref_ofertas, c.pref_mantenimiento, c.dia_pago,
              c.nombre, c.link_verified, c.plan_id, p.nombre AS plan, p.precio, p.velocidad_mbps AS velocidad,
              teltec_due_date(c.fecha_ultimo_pago, c.dia_pago, p_cycle_days) AS due,
              cp.estado AS campana_estado, cp.mensaje AS campana_mensaje, cp.plantilla AS campana_plantilla,
              CASE WHEN c.id IS NULL THEN NULL
                   -- An invitation goes by the one channel staff chose (datos.canal), never another.
                   WHEN n.tipo = 'invitacion' THEN jsonb_build_object(n.datos ->> 'canal', COALESCE(
                     teltec_channel_reasons(c, p_now, false) -> (n.datos ->> 'canal'), '"canal_no_configurado"'::jsonb))
                   ELSE teltec_channel_reasons(c, p_now, n.tipo = 'oferta') END AS canales,
              c.canal_preferido, c.whatsapp, c.email, c.telefono_norm, c.whatsapp_ventana_hasta,
              n.estado AS row_estado, n.locked_by AS row_locked_by
         FROM notifications n
         JOIN req ON req.id = n.id
         LEFT JOIN clients c ON c.id = n.client_id
         LEFT JOIN plans p ON p.id = c.plan_id
         LEFT JOIN campaigns cp ON cp.id = n.campaign_id
        WHERE n.id = ANY(p_ids::bigint[])
          FOR NO KEY UPDATE OF n
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
           WHEN tipo = 'aviso_suspension' AND client_estado <> 'activo' THEN 'cliente_' || client_estado
           WHEN tipo = 'aviso_suspension' AND due IS DISTINCT FROM ciclo THEN 'pago_recibido'
           WHEN tipo = 'aviso_suspension'
                AND p_today::date >= (ndatos ->> 'fecha_suspension')::date THEN 'ya_no_aplica'
           WHEN tipo = 'aviso_suspension' AND teltec_notice_pause(cid, ciclo, p_today::date) IS NOT NULL
             THEN 'pausa_' || teltec_notice_pause(cid, ciclo, p_today::date)
           WHEN tipo = 'invitacion' AND client_chat IS NOT NULL THEN 'ya_vinculado'
           WHEN tipo = 'invitacion' AND NOT EXISTS (
                  SELECT 1 FROM invitation_links l JOIN bot_invitations i ON i.id = l.invitation_id
                   WHERE l.id = (ndatos ->> 'enlace_id')::bigint AND i.client_id = cid AND i.used_at IS NULL
                     AND i.revoked_at IS NULL AND i.expires_at > p_now)
             THEN 'invitacion_no_disponible'
           WHEN tipo = 'invitacion' AND canales -> (ndatos ->> 'canal') <> 'null'::jsonb
             THEN canales ->> (ndatos ->> 'canal')
           WHEN tipo = 'oferta' AND NOT pref_ofertas THEN 'preferencia'
           WHEN tipo = 'mantenimiento' AND NOT pref_mantenimiento THEN 'preferencia'
           WHEN cid IS NOT NULL AND EXISTS (SELECT 1 FROM jsonb_each(canales) e WHERE jsonb_typeof(e.value) = 'null')
             THEN NULL
           WHEN cid IS NOT NULL
             THEN teltec_unreachable_reason(client_chat, telegram_blocked, telegram_unreachable)
           ELSE teltec_unreachable_reason(row_chat, false, NULL)
         END AS why
         FROM cur
        -- Still pending and still ours, on the row as locked.
        WHERE cur.row_estado = 'pendiente' AND cur.row_locked_by = p_worker
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
      WHERE n.id = v.id
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
