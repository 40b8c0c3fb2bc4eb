-- The outbox's references, checked by the outbox's doors instead of a trigger (issue 16 §1).
--
-- Migration 025 checked a statement's new notices against clients and campaigns in a statement
-- trigger: PostgreSQL then keeps a copy of every new row for it (a transition table) and the
-- check looks each one up, about a tenth of a first generation on PostgreSQL and more on PGlite.
-- The guarantees stay those of the foreign keys, kept where the rows are written
-- (src/notifications/outbox.ts, the only code that inserts notices):
-- * `enqueue` and `enqueueFrom` check the clients and campaigns their statement wrote, in the same
--   statement, with the function below (same error, same constraint names as the foreign keys);
-- * generation checks nothing: every notice it writes takes its client from the row of `clients`
--   the same statement read, and a delete cannot take that client away before the notice is
--   committed (a delete of clients locks the outbox first: 025), or it deletes the notice too.
-- Deleting a client still deletes its notices, a campaign still leaves its notices without it
-- (025's triggers on clients and campaigns), and moving a notice to another client or campaign is
-- still checked row by row (025's update trigger).
DROP TRIGGER notifications_check_refs_insert ON notifications;
DROP FUNCTION teltec_notifications_check_refs();

-- Fails with foreign_key_violation, under the old constraint's name, when one of the clients or
-- campaigns does not exist; true otherwise. VOLATILE: a fresh snapshot, so a delete committed
-- meanwhile is seen (as by 025's trigger).
CREATE FUNCTION teltec_check_notice_refs(p_clients integer[], p_campaigns integer[]) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  v_missing bigint;
BEGIN
  SELECT x INTO v_missing FROM unnest(p_clients) AS x
   WHERE x IS NOT NULL AND NOT EXISTS (SELECT 1 FROM clients c WHERE c.id = x)
   LIMIT 1;
  IF v_missing IS NOT NULL THEN
    RAISE EXCEPTION 'insert or update on table "notifications" violates foreign key constraint "notifications_client_id_fkey"'
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'notifications_client_id_fkey', TABLE = 'notifications',
            DETAIL = format('Key (client_id)=(%s) is not present in table "clients".', v_missing);
  END IF;
  SELECT x INTO v_missing FROM unnest(p_campaigns) AS x
   WHERE x IS NOT NULL AND NOT EXISTS (SELECT 1 FROM campaigns k WHERE k.id = x)
   LIMIT 1;
  IF v_missing IS NOT NULL THEN
    RAISE EXCEPTION 'insert or update on table "notifications" violates foreign key constraint "notifications_campaign_id_fkey"'
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'notifications_campaign_id_fkey', TABLE = 'notifications',
            DETAIL = format('Key (campaign_id)=(%s) is not present in table "campaigns".', v_missing);
  END IF;
  RETURN true;
END
$fn$;
