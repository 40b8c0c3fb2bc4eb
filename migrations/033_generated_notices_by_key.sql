-- Issue 16 §1: a generated payment notice waiting in the queue is found by its key, not by a
-- second index. Generation writes tens of thousands of notices at once, each into every outbox
-- index that covers it; the client index was one more than an outbox needs for them, because
-- their dedupe key already names their client: `tipo:client:D[:step]`.
--
-- * `clave_generada`: the row's dedupe key is the generator's (`tipo:client_id:…`, one of the
--   three payment types). Only generation sets it (src/notifications/generator.ts).
-- * The client index leaves out such a row while it is pending and not claimed: it enters the
--   index when claimed (the claim's update writes every index anyway: a full page leaves no room
--   for a heap-only update), sent, failed or cancelled. The claim's "client busy" check reads
--   claimed rows (`locked_until >= now` implies `locked_until IS NOT NULL`): always in the index.
-- * Every other look-up of a client's notices goes through `teltec_client_notice_ids`: the index
--   for the rows it covers, and the dedupe key's range `tipo:client:` for the rest.
ALTER TABLE notifications ADD COLUMN clave_generada boolean NOT NULL DEFAULT false;

DROP INDEX notifications_client_state_idx;
CREATE INDEX notifications_client_state_idx ON notifications (client_id, estado)
  WHERE estado <> 'pendiente' OR locked_until IS NOT NULL OR NOT clave_generada;

-- Every notice of one client (any state), by id. The first branch repeats the index's predicate so
-- the planner reads the index; the second reads the dedupe index (collation "C": a byte range per
-- payment type generation makes) for the pending, unclaimed generated notices. Its ranges are read
-- first (OFFSET 0) and the rest checked on what they found: the planner could otherwise reach those
-- rows through the claim index, every pending row of every client.
CREATE FUNCTION teltec_client_notice_ids(p_client integer) RETURNS SETOF bigint
LANGUAGE sql STABLE AS $fn$
  SELECT n.id FROM notifications n
   WHERE n.client_id = p_client
     AND (n.estado <> 'pendiente' OR n.locked_until IS NOT NULL OR NOT n.clave_generada)
  UNION ALL
  SELECT k.id
    FROM (SELECT n.id, n.client_id, n.estado, n.locked_until, n.clave_generada
            FROM unnest(ARRAY['recordatorio_pago', 'pago_vencido', 'aviso_suspension']) AS t(tipo)
            JOIN notifications n
              ON n.dedupe_key >= (t.tipo || ':' || p_client::text || ':') COLLATE "C"
             AND n.dedupe_key < (t.tipo || ':' || p_client::text || ';') COLLATE "C"
          OFFSET 0) k
   WHERE k.client_id = p_client AND k.estado = 'pendiente' AND k.locked_until IS NULL AND k.clave_generada
$fn$;

-- 025's cascade on delete, through the same door.
CREATE OR REPLACE FUNCTION teltec_clients_delete_notifications() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  LOCK TABLE notifications IN SHARE ROW EXCLUSIVE MODE;
  DELETE FROM notifications n
   WHERE n.id IN (SELECT teltec_client_notice_ids(g.id) FROM gone g);
  RETURN NULL;
END
$fn$;
