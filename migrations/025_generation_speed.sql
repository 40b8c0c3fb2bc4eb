-- Generation at the bare-SQL line (issue 16 §1).

-- Reachability with the enabled channels given by the caller (read once per statement), so a
-- set-based statement neither reads the settings row per client and channel nor aggregates a
-- jsonb per client. The rules stay those of migrations 013/017 (`teltec_channel_reasons_017`) and
-- 019 (a channel left out reads 'canal_no_configurado'); `p_enabled` NULL = every channel counts
-- (no 'canales.activos' row, as in 019). Single expressions with no sub-queries: the planner
-- inlines them.
CREATE FUNCTION teltec_channel_reasons(c clients, p_now timestamptz, p_marketing boolean, p_enabled text[])
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
  SELECT teltec_channel_reasons_017(c, p_now, p_marketing)
         || (jsonb_build_object('telegram', 'canal_no_configurado', 'whatsapp', 'canal_no_configurado',
                                'sms', 'canal_no_configurado', 'email', 'canal_no_configurado')
             - COALESCE(p_enabled, ARRAY['telegram', 'whatsapp', 'sms', 'email']))
$fn$;

CREATE FUNCTION teltec_reachable(c clients, p_now timestamptz, p_marketing boolean, p_enabled text[])
RETURNS boolean LANGUAGE sql STABLE AS $fn$
  SELECT jsonb_path_exists(teltec_channel_reasons(c, p_now, p_marketing, p_enabled), '$.* ? (@ == null)')
$fn$;

-- The channels this deployment sends on ('canales.activos', written at start), NULL without the row.
CREATE FUNCTION teltec_enabled_channels() RETURNS text[] LANGUAGE sql STABLE AS $fn$
  SELECT ARRAY(SELECT jsonb_array_elements_text(s.value)) FROM settings s WHERE s.key = 'canales.activos'
$fn$;

-- 019's functions on the ones above (same results; the settings row is read once per call).
CREATE OR REPLACE FUNCTION teltec_channel_reasons(c clients, p_now timestamptz, p_marketing boolean) RETURNS jsonb
LANGUAGE sql STABLE AS $fn$
  SELECT teltec_channel_reasons(c, p_now, p_marketing, teltec_enabled_channels())
$fn$;

CREATE OR REPLACE FUNCTION teltec_reachable(c clients, p_now timestamptz, p_marketing boolean) RETURNS boolean
LANGUAGE sql STABLE AS $fn$
  SELECT teltec_reachable(c, p_now, p_marketing, teltec_enabled_channels())
$fn$;

-- The outbox's references, checked once per statement instead of once per row. A foreign key
-- checks each new notice by itself (a trigger, a look-up and a row lock per notice: about a
-- quarter of a generation's time); these triggers keep the same guarantees set-based:
-- * a statement that writes a notice for a client or campaign that does not exist fails with
--   foreign_key_violation under the old constraint's name (one anti-join over its new rows, on a
--   fresh snapshot: a delete committed meanwhile is seen);
-- * deleting a client deletes its notices (ON DELETE CASCADE), deleting a campaign keeps its
--   notices without it (ON DELETE SET NULL). The delete first takes a SHARE ROW EXCLUSIVE lock on
--   the outbox: it waits for every transaction writing notices to end, so it sees their rows, and
--   writers wait for it. Deletes are rare (staff); writes are the hot path and lock no client row.
ALTER TABLE notifications DROP CONSTRAINT notifications_client_id_fkey;
ALTER TABLE notifications DROP CONSTRAINT notifications_campaign_id_fkey;

CREATE FUNCTION teltec_notifications_check_refs() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  v_missing bigint;
BEGIN
  SELECT a.client_id INTO v_missing FROM added a
   WHERE a.client_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM clients c WHERE c.id = a.client_id)
   LIMIT 1;
  IF v_missing IS NOT NULL THEN
    RAISE EXCEPTION 'insert or update on table "notifications" violates foreign key constraint "notifications_client_id_fkey"'
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'notifications_client_id_fkey', TABLE = 'notifications',
            DETAIL = format('Key (client_id)=(%s) is not present in table "clients".', v_missing);
  END IF;
  SELECT a.campaign_id INTO v_missing FROM added a
   WHERE a.campaign_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM campaigns k WHERE k.id = a.campaign_id)
   LIMIT 1;
  IF v_missing IS NOT NULL THEN
    RAISE EXCEPTION 'insert or update on table "notifications" violates foreign key constraint "notifications_campaign_id_fkey"'
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'notifications_campaign_id_fkey', TABLE = 'notifications',
            DETAIL = format('Key (campaign_id)=(%s) is not present in table "campaigns".', v_missing);
  END IF;
  RETURN NULL;
END
$fn$;
CREATE TRIGGER notifications_check_refs_insert AFTER INSERT ON notifications
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION teltec_notifications_check_refs();

-- A notice moved to another client or campaign (nothing does it today): the same check, per row.
CREATE FUNCTION teltec_notifications_check_row_refs() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF NEW.client_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM clients c WHERE c.id = NEW.client_id) THEN
    RAISE EXCEPTION 'insert or update on table "notifications" violates foreign key constraint "notifications_client_id_fkey"'
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'notifications_client_id_fkey', TABLE = 'notifications';
  END IF;
  IF NEW.campaign_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM campaigns k WHERE k.id = NEW.campaign_id) THEN
    RAISE EXCEPTION 'insert or update on table "notifications" violates foreign key constraint "notifications_campaign_id_fkey"'
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'notifications_campaign_id_fkey', TABLE = 'notifications';
  END IF;
  RETURN NULL;
END
$fn$;
CREATE TRIGGER notifications_check_refs_update AFTER UPDATE OF client_id, campaign_id ON notifications
  FOR EACH ROW
  WHEN (NEW.client_id IS DISTINCT FROM OLD.client_id OR NEW.campaign_id IS DISTINCT FROM OLD.campaign_id)
  EXECUTE FUNCTION teltec_notifications_check_row_refs();

CREATE FUNCTION teltec_clients_delete_notifications() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  LOCK TABLE notifications IN SHARE ROW EXCLUSIVE MODE;
  DELETE FROM notifications n WHERE n.client_id IN (SELECT g.id FROM gone g);
  RETURN NULL;
END
$fn$;
CREATE TRIGGER clients_delete_notifications AFTER DELETE ON clients
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION teltec_clients_delete_notifications();

CREATE FUNCTION teltec_campaigns_release_notifications() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  LOCK TABLE notifications IN SHARE ROW EXCLUSIVE MODE;
  UPDATE notifications n SET campaign_id = NULL WHERE n.campaign_id IN (SELECT g.id FROM gone g);
  RETURN NULL;
END
$fn$;
CREATE TRIGGER campaigns_release_notifications AFTER DELETE ON campaigns
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION teltec_campaigns_release_notifications();

-- Outbox indexes against the queries that need them (005 began the review): every index on the
-- outbox is written for every new notice.
-- * The cycle index served only the conversion figures, which read sent notices: it becomes
--   partial on sent rows, written when a notice is sent (an update that already writes every
--   index) instead of when it is created.
-- * One index by client and state replaces two by client (all rows by creation; pending rows by
--   cycle): a client's pending rows (the claim's "client busy" check, payment cancels, replaced
--   steps) are the range (client_id, 'pendiente'); a client's history and the cascade on delete
--   read the prefix client_id (a few dozen rows a year, sorted when listed).
-- Kept: the primary key, the dedupe key, the claim indexes (partial on 'pendiente'), the sent-time
-- index and the creation BRIN (written on send / nearly free).
DROP INDEX notifications_cycle_idx;
CREATE INDEX notifications_sent_cycle_idx ON notifications (ciclo, client_id) WHERE sent_at IS NOT NULL AND ciclo IS NOT NULL;
DROP INDEX notifications_client_idx;
DROP INDEX notifications_pending_client_idx;
CREATE INDEX notifications_client_state_idx ON notifications (client_id, estado);

-- The consent and pause look-ups are one index probe each, and the rules call them only in the
-- rare branches (no Telegram; a pause in force): their default cost (100 operators) made the
-- planner price generation high enough to JIT-compile it, which costs more than it saves there.
ALTER FUNCTION teltec_consent(integer, text, text) COST 5;
ALTER FUNCTION teltec_consent_or(integer, text, text, boolean) COST 5;
ALTER FUNCTION teltec_notice_pause(integer, date, date) COST 5;
