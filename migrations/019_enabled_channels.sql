-- Reach counts only the channels this deployment can send on (issue 11). Every instance writes
-- them at start from its configuration (settings key 'canales.activos', a JSON array of channel
-- names): a client with a mobile on file is not "reachable by SMS" while no SMS gateway is set,
-- so campaigns, generation and the call list do not count on a channel that does not exist.
-- Without the row (parts built by hand in tests) every channel counts, as before.
CREATE FUNCTION teltec_channel_enabled(p_canal text) RETURNS boolean LANGUAGE sql STABLE AS $fn$
  SELECT COALESCE((SELECT s.value ? p_canal FROM settings s WHERE s.key = 'canales.activos'), true)
$fn$;

-- 017's function is kept under another name; a channel not enabled reads 'canal_no_configurado'.
ALTER FUNCTION teltec_channel_reasons(clients, timestamptz, boolean) RENAME TO teltec_channel_reasons_017;

CREATE FUNCTION teltec_channel_reasons(c clients, p_now timestamptz, p_marketing boolean) RETURNS jsonb
LANGUAGE sql STABLE AS $fn$
  SELECT COALESCE(jsonb_object_agg(
           e.k, CASE WHEN teltec_channel_enabled(e.k) THEN e.v ELSE to_jsonb('canal_no_configurado'::text) END),
         '{}'::jsonb)
    FROM jsonb_each(teltec_channel_reasons_017(c, p_now, p_marketing)) AS e(k, v)
$fn$;
