-- Generation at the bare-SQL line, continued (issue 16 §1).

-- Reachability as a boolean, without building a jsonb per client. Each channel's rule gets its own
-- function — the bodies are those of migrations 013 (WhatsApp) and 017 (SMS, e-mail), unchanged —
-- and both forms are built from them: the reasons per channel (013/017's functions, restated on
-- them below, so 019 and 025 keep reading them) and "some channel can reach the client"
-- (`teltec_reachable`, which generation asks of every client in a notice window without a usable
-- Telegram chat: an OR of four NULL tests instead of a jsonb built, concatenated twice and searched
-- with a JSON path). A channel's rule changes in its function, and both forms follow.
-- test/notifications/reachability-forms.test.ts keeps the two forms in step.
CREATE FUNCTION teltec_whatsapp_reason(c clients, p_now timestamptz, p_marketing boolean) RETURNS text
LANGUAGE sql STABLE AS $fn$
  SELECT CASE
    WHEN c.whatsapp IS NULL THEN 'sin_whatsapp'
    WHEN c.whatsapp_inalcanzable IS NOT NULL
         AND (p_now IS NULL OR c.whatsapp_inalcanzable_hasta IS NULL OR c.whatsapp_inalcanzable_hasta > p_now)
      THEN 'whatsapp_inalcanzable'
    WHEN NOT teltec_consent(c.id, 'whatsapp', CASE WHEN p_marketing THEN 'marketing' ELSE 'servicio' END)
      THEN 'sin_consentimiento'
  END
$fn$;

CREATE FUNCTION teltec_sms_reason(c clients, p_now timestamptz, p_marketing boolean) RETURNS text
LANGUAGE sql STABLE AS $fn$
  SELECT CASE
    WHEN c.telefono_norm IS NULL OR c.telefono_norm !~ '^5939[0-9]{8}$' THEN 'sin_celular'
    WHEN c.sms_inalcanzable IS NOT NULL
         AND (p_now IS NULL OR c.sms_inalcanzable_hasta IS NULL OR c.sms_inalcanzable_hasta > p_now)
      THEN 'sms_inalcanzable'
    WHEN p_marketing AND NOT teltec_consent(c.id, 'sms', 'marketing') THEN 'sin_consentimiento'
    WHEN NOT teltec_consent_or(c.id, 'sms', 'servicio', true) THEN 'sin_consentimiento'
  END
$fn$;

CREATE FUNCTION teltec_email_reason(c clients, p_now timestamptz, p_marketing boolean) RETURNS text
LANGUAGE sql STABLE AS $fn$
  SELECT CASE
    WHEN c.email IS NULL OR c.email !~ '^[^@\s]+@[^@\s]+$' THEN 'sin_email'
    WHEN c.email_inalcanzable IS NOT NULL
         AND (p_now IS NULL OR c.email_inalcanzable_hasta IS NULL OR c.email_inalcanzable_hasta > p_now)
      THEN 'email_inalcanzable'
    WHEN p_marketing AND NOT teltec_consent(c.id, 'email', 'marketing') THEN 'sin_consentimiento'
    WHEN NOT teltec_consent_or(c.id, 'email', 'servicio', true) THEN 'sin_consentimiento'
  END
$fn$;

-- 013's and 017's reasons (latest definitions: 013 and 017, renamed by 017 and 019), on the
-- functions above. Same results.
CREATE OR REPLACE FUNCTION teltec_channel_reasons_013(c clients, p_now timestamptz, p_marketing boolean) RETURNS jsonb
LANGUAGE sql STABLE AS $fn$
  SELECT jsonb_build_object(
    'telegram', teltec_unreachable_reason(c.chat_id, c.telegram_blocked, c.telegram_unreachable),
    'whatsapp', teltec_whatsapp_reason(c, p_now, p_marketing))
$fn$;

CREATE OR REPLACE FUNCTION teltec_channel_reasons_017(c clients, p_now timestamptz, p_marketing boolean) RETURNS jsonb
LANGUAGE sql STABLE AS $fn$
  SELECT teltec_channel_reasons_013(c, p_now, p_marketing) || jsonb_build_object(
    'sms', teltec_sms_reason(c, p_now, p_marketing),
    'email', teltec_email_reason(c, p_now, p_marketing))
$fn$;

-- 025's `teltec_reachable` with the enabled channels (a channel left out cannot reach anybody;
-- `p_enabled` NULL = every channel counts), as one expression the planner inlines. The consent
-- look-ups run only for a client with a WhatsApp number, a mobile or an address on file.
CREATE OR REPLACE FUNCTION teltec_reachable(c clients, p_now timestamptz, p_marketing boolean, p_enabled text[])
RETURNS boolean LANGUAGE sql STABLE AS $fn$
  SELECT ((p_enabled IS NULL OR 'telegram' = ANY(p_enabled))
           AND teltec_unreachable_reason(c.chat_id, c.telegram_blocked, c.telegram_unreachable) IS NULL)
      OR ((p_enabled IS NULL OR 'whatsapp' = ANY(p_enabled)) AND teltec_whatsapp_reason(c, p_now, p_marketing) IS NULL)
      OR ((p_enabled IS NULL OR 'sms' = ANY(p_enabled)) AND teltec_sms_reason(c, p_now, p_marketing) IS NULL)
      OR ((p_enabled IS NULL OR 'email' = ANY(p_enabled)) AND teltec_email_reason(c, p_now, p_marketing) IS NULL)
$fn$;

-- The dedupe key is an identifier: compared byte by byte (the "C" collation) rather than by the
-- database's language rules. Equality is the same (a key equals only itself, as before), so the
-- unique index keeps the same rows; each insert's and each look-up's comparisons get cheaper
-- (generation writes and probes this index once per notice). No query orders by the key.
ALTER TABLE notifications ALTER COLUMN dedupe_key TYPE text COLLATE "C";
