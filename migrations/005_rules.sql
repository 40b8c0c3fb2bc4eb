-- Payment rules: one SQL home. Eligibility, reachability, the current step of a cycle, the amount
-- owed and the reasons a notice is not sent are defined once here and used by generation
-- (src/notifications/generator.ts), the send-time re-check (teltec_begin_attempts below), the
-- bot's /status and the admin page. Every function is a single IMMUTABLE SQL expression, so the
-- planner inlines it: using it costs what writing the expression by hand would.

-- Payment notices are on for active clients, and for suspended ones when the setting says so.
CREATE FUNCTION teltec_payment_eligible(client_estado text, notify_suspended boolean)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT client_estado = 'activo' OR (notify_suspended AND client_estado = 'suspendido')
$$;

-- Why Telegram cannot reach a chat, or NULL when it can: not linked ('sin_telegram'), the client
-- blocked the bot ('blocked'), or what the sender learned (telegram_unreachable: 'deactivated',
-- 'chat_not_found', …).
CREATE FUNCTION teltec_unreachable_reason(chat_id bigint, blocked boolean, unreachable text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN chat_id IS NULL THEN 'sin_telegram' WHEN blocked THEN 'blocked' ELSE unreachable END
$$;

-- A reason that means "this notice could never be delivered" (the row is closed as fallido)
-- rather than "it is no longer true" (cancelado).
CREATE FUNCTION teltec_is_undeliverable(reason text)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT reason IN ('sin_telegram', 'blocked', 'deactivated', 'chat_not_found')
$$;

-- The payment notice a cycle calls for today: the reminder from reminder_days before the due
-- date to the day before it, the overdue notice from the due date on; NULL otherwise.
CREATE FUNCTION teltec_payment_notice_type(due date, today date, reminder_days integer)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN due IS NULL THEN NULL
              WHEN today >= due THEN 'pago_vencido'
              WHEN today >= due - reminder_days THEN 'recordatorio_pago' END
$$;

-- The current step of a cycle: 0 for the reminder and the first overdue notice, then one more
-- every repeat_days after the due date, at most max_notices - 1.
CREATE FUNCTION teltec_payment_step(due date, today date, repeat_days integer, max_notices integer)
RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN today < due THEN 0 ELSE LEAST((today - due) / repeat_days, max_notices - 1) END
$$;

-- NULL when the payment notice (tipo, ciclo, paso) is still the one the client's cycle calls for
-- today; otherwise why not: the cycle was paid ('pago_recibido'), the reminder's due date came
-- ('vencido_antes_de_enviar') or a later overdue step replaced it ('reemplazada').
CREATE FUNCTION teltec_payment_notice_stale(
  tipo text, ciclo date, paso integer, due date, today date, repeat_days integer, max_notices integer
) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN due IS DISTINCT FROM ciclo THEN 'pago_recibido'
    WHEN tipo = 'recordatorio_pago' AND today >= ciclo THEN 'vencido_antes_de_enviar'
    WHEN tipo = 'pago_vencido' AND teltec_payment_step(ciclo, today, repeat_days, max_notices) <> paso
      THEN 'reemplazada'
  END
$$;

-- Cycles due and unpaid by today: 0 before the due date, 1 from it, one more per cycle after it
-- (a month with a fixed billing day, cycle_days otherwise).
CREATE FUNCTION teltec_unpaid_cycles(due date, today date, billing_day integer, cycle_days integer)
RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN due IS NULL OR today < due THEN 0
    WHEN billing_day IS NULL THEN 1 + (today - due) / cycle_days
    ELSE 1 + (extract(year FROM age(today::timestamp, due::timestamp)) * 12
              + extract(month FROM age(today::timestamp, due::timestamp)))::integer
  END
$$;

-- What the client must pay to be up to date: unpaid cycles × plan price, and at least the cycle
-- coming due (a reminder asks for one cycle). A client two cycles behind owes two cycles.
-- NULL without a due date or a plan. This is `monto_adeudado` everywhere (notices, /status, admin).
CREATE FUNCTION teltec_amount_owed(due date, today date, billing_day integer, cycle_days integer, price numeric)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN due IS NULL OR price IS NULL THEN NULL
              ELSE GREATEST(teltec_unpaid_cycles(due, today, billing_day, cycle_days), 1) * price END
$$;

-- The billing state of every client on `today`: due date, payment state, unpaid cycles, amount
-- owed. For /status, the admin page and the call list: filter by client_id (the function is
-- inlined, so the filter reaches the clients table).
CREATE FUNCTION teltec_client_billing(today date, cycle_days integer, reminder_days integer)
RETURNS TABLE (
  client_id integer, vencimiento date, estado_pago text, ciclos_adeudados integer, monto_adeudado numeric
) LANGUAGE sql STABLE AS $$
  SELECT c.id, d.due, teltec_payment_state(d.due, today, reminder_days),
         teltec_unpaid_cycles(d.due, today, c.dia_pago, cycle_days),
         teltec_amount_owed(d.due, today, c.dia_pago, cycle_days, p.precio)
    FROM clients c
    LEFT JOIN plans p ON p.id = c.plan_id
   CROSS JOIN LATERAL (SELECT teltec_due_date(c.fecha_ultimo_pago, c.dia_pago, cycle_days) AS due) d
$$;

-- The send-time re-check (see beginAttempts in src/notifications/outbox.ts), now on the rules
-- above, and returning the amount owed. Its result type changes, so it is dropped and created.
DROP FUNCTION teltec_begin_attempts(bigint[], boolean[], text, timestamptz, float8, date, integer, integer,
                                    integer, boolean);
CREATE FUNCTION teltec_begin_attempts(
  p_ids bigint[], p_counts boolean[], p_worker text, p_now timestamptz, p_lease_ms float8, p_today date,
  p_cycle_days integer, p_repeat_days integer, p_max_notices integer, p_notify_suspended boolean
) RETURNS TABLE (
  id bigint, estado text, motivo text, intentos integer, primer_intento timestamptz, tipo text,
  urgente boolean, mensaje text, datos jsonb, ciclo date, client_id integer, campaign_id integer,
  chat_id bigint, nombre text, plan_id integer, plan text, precio numeric, velocidad integer,
  vencimiento date, campana_mensaje text, campana_plantilla text, monto_adeudado numeric
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
              c.nombre, c.plan_id, p.nombre AS plan, p.precio, p.velocidad_mbps AS velocidad,
              teltec_due_date(c.fecha_ultimo_pago, c.dia_pago, p_cycle_days) AS due,
              cp.estado AS campana_estado, cp.mensaje AS campana_mensaje, cp.plantilla AS campana_plantilla
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
                 AS monto_adeudado
    )
    SELECT * FROM done;
END
$fn$;

-- Outbox indexes, reviewed against the queries that need them (issue 16): every index is written
-- for every new notice, so an index no query needs is pure cost on the hot path.
-- Claims use notifications_claim_idx / notifications_claim_now_idx (both partial on 'pendiente').
DROP INDEX notifications_due_idx;
-- notifications_pending_client_idx stays: without it the claim's "client busy" check reads every
-- row of the client, and the claim rate collapsed as rows churned (measured in the claim bench).
-- Date filters and statistics by creation day: rows are inserted in created_at order, so a BRIN
-- index (a few pages, nearly free to maintain) does the work of the B-tree.
DROP INDEX notifications_created_idx;
CREATE INDEX notifications_created_brin ON notifications USING brin (created_at);
