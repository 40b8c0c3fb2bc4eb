-- Generation probes only the notices that may exist (issue 16 §1).
--
-- Generation leaves out a candidate whose dedupe key exists with one probe of the dedupe index per
-- candidate (the re-runs of a day then create nothing at little cost). A notice can exist only if
-- a generation ran on or after the first day the rules call for it: a candidate whose first day
-- comes after the last day generation ran for cannot exist, and is not probed. On a first run
-- (nothing generated yet) that is every candidate; on a daily run, the reminders and overdue steps
-- whose window opened today. Anything else that writes such a key (a broken promise's notice, a
-- change of the rules' settings that moves a window later) only makes the statement meet the
-- unique index: it then runs again with ON CONFLICT DO NOTHING (src/notifications/outbox.ts).

-- The first day the rules call for the payment notice (type, cycle, step) under these settings:
-- the reminder from reminder_days before the due date (005), overdue step k from k × repeat_days
-- after it (005: the last step stays), the pre-suspension notice from notice_days before the
-- suspension date (016).
CREATE FUNCTION teltec_payment_notice_since(
  tipo text, due date, paso integer, reminder_days integer, repeat_days integer, suspension_days integer,
  notice_days integer
) RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE tipo
    WHEN 'recordatorio_pago' THEN due - reminder_days
    WHEN 'pago_vencido' THEN due + paso * repeat_days
    WHEN 'aviso_suspension' THEN teltec_suspension_date(due, suspension_days) - notice_days
  END
$fn$;

-- The latest day (the provider's date) generation ran for; no row: never. A database that has
-- payment notices already starts two days after the newest one was created (later than any local
-- date of that moment, whatever the time zones of the server and the provider).
CREATE TABLE generation_runs (
  id         boolean PRIMARY KEY DEFAULT true CHECK (id),
  ultimo_dia date NOT NULL
);
INSERT INTO generation_runs (ultimo_dia)
SELECT max(created_at)::date + 2 FROM notifications
 WHERE tipo IN ('recordatorio_pago', 'pago_vencido', 'aviso_suspension')
HAVING count(*) > 0;
