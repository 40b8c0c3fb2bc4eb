-- Whether one channel reaches a client now: the part of 028's `teltec_reachable` for one channel
-- (a channel left out of the enabled ones reaches nobody; `p_enabled` NULL = every channel counts).
-- `teltec_reachable` is now these four parts joined by OR, so the rule is written once. Called with
-- a constant channel, the planner inlines it and keeps only that channel's branch (generation's
-- planning: +0.1 ms). The forms agree for every mix of channels, marks and consents
-- (test/notifications/reachability-forms.test.ts).
--
-- Issue 16: the Resumen's reach card counted clients by channel through `teltec_channel_reasons`,
-- whose JSON, and the enabled channels it reads, were built again for each of the card's counts
-- (7.3 s for 100,000 clients on PGlite, during which the embedded database answers nothing else).
-- Read once per client through these parts: 0.1 s.
CREATE FUNCTION teltec_channel_reaches(c clients, p_now timestamptz, p_marketing boolean, p_enabled text[],
                                       p_canal text)
RETURNS boolean LANGUAGE sql STABLE AS $fn$
  SELECT (p_enabled IS NULL OR p_canal = ANY(p_enabled)) AND CASE p_canal
    WHEN 'telegram' THEN teltec_unreachable_reason(c.chat_id, c.telegram_blocked, c.telegram_unreachable) IS NULL
    WHEN 'whatsapp' THEN teltec_whatsapp_reason(c, p_now, p_marketing) IS NULL
    WHEN 'sms' THEN teltec_sms_reason(c, p_now, p_marketing) IS NULL
    WHEN 'email' THEN teltec_email_reason(c, p_now, p_marketing) IS NULL
    ELSE false
  END
$fn$;

CREATE OR REPLACE FUNCTION teltec_reachable(c clients, p_now timestamptz, p_marketing boolean, p_enabled text[])
RETURNS boolean LANGUAGE sql STABLE AS $fn$
  SELECT teltec_channel_reaches(c, p_now, p_marketing, p_enabled, 'telegram')
      OR teltec_channel_reaches(c, p_now, p_marketing, p_enabled, 'whatsapp')
      OR teltec_channel_reaches(c, p_now, p_marketing, p_enabled, 'sms')
      OR teltec_channel_reaches(c, p_now, p_marketing, p_enabled, 'email')
$fn$;
