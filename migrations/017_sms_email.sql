-- SMS and e-mail (issue 11).

-- A notice's SMS text (GSM-7, at most 160 characters once rendered) and e-mail subject, per type
-- and optionally per plan. NULL = the Spanish default (src/notifications/channel-texts.ts). The
-- e-mail body is the notice's own template (`templates`).
CREATE TABLE channel_templates (
  id            serial PRIMARY KEY,
  tipo          text NOT NULL CHECK (tipo IN ('recordatorio_pago', 'pago_vencido', 'mantenimiento', 'oferta',
                  'bienvenida', 'manual', 'pago_recibido')),
  plan_id       integer REFERENCES plans (id) ON DELETE CASCADE,
  sms           text,
  email_asunto  text,
  updated_by    text,
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX channel_templates_tipo_plan_key ON channel_templates (tipo, COALESCE(plan_id, 0));

-- Why SMS / e-mail cannot reach a client (set by the sender: a permanent SMTP rejection, a
-- gateway that refuses the number), and until when (NULL = until the address changes). Same
-- shape as WhatsApp's columns (013). A new address clears the mark.
ALTER TABLE clients ADD COLUMN sms_inalcanzable text;
ALTER TABLE clients ADD COLUMN sms_inalcanzable_hasta timestamptz;
ALTER TABLE clients ADD COLUMN email_inalcanzable text;
ALTER TABLE clients ADD COLUMN email_inalcanzable_hasta timestamptz;

CREATE FUNCTION teltec_clear_channel_unreachable() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  IF NEW.email IS DISTINCT FROM OLD.email THEN
    NEW.email_inalcanzable := NULL;
    NEW.email_inalcanzable_hasta := NULL;
  END IF;
  IF NEW.telefono_norm IS DISTINCT FROM OLD.telefono_norm THEN
    NEW.sms_inalcanzable := NULL;
    NEW.sms_inalcanzable_hasta := NULL;
  END IF;
  RETURN NEW;
END
$fn$;
CREATE TRIGGER clients_clear_channel_unreachable BEFORE UPDATE OF email, telefono_norm ON clients
  FOR EACH ROW EXECUTE FUNCTION teltec_clear_channel_unreachable();

-- Reachability per channel (013's `teltec_channel_reasons`, the one SQL home) gains 'sms' and
-- 'email'. 013's function is kept under another name and extended, so its own rules stay in 013.
-- Service notices by SMS / e-mail need a mobile / an address on file that is not marked
-- unreachable and no revocation in the ledger (the contract's contact data); marketing needs an
-- explicit grant in the ledger.
ALTER FUNCTION teltec_channel_reasons(clients, timestamptz, boolean) RENAME TO teltec_channel_reasons_013;

-- The current consent, or `p_default` when the ledger has no row for it.
CREATE FUNCTION teltec_consent_or(p_client integer, p_canal text, p_categoria text, p_default boolean)
RETURNS boolean LANGUAGE sql STABLE AS $fn$
  SELECT COALESCE((SELECT k.otorgado FROM consents k
                    WHERE k.client_id = p_client AND k.canal = p_canal AND k.categoria = p_categoria
                    ORDER BY k.created_at DESC, k.id DESC LIMIT 1), p_default)
$fn$;

CREATE FUNCTION teltec_channel_reasons(c clients, p_now timestamptz, p_marketing boolean) RETURNS jsonb
LANGUAGE sql STABLE AS $fn$
  SELECT teltec_channel_reasons_013(c, p_now, p_marketing) || jsonb_build_object(
    'sms', CASE
      WHEN c.telefono_norm IS NULL OR c.telefono_norm !~ '^5939[0-9]{8}$' THEN 'sin_celular'
      WHEN c.sms_inalcanzable IS NOT NULL
           AND (p_now IS NULL OR c.sms_inalcanzable_hasta IS NULL OR c.sms_inalcanzable_hasta > p_now)
        THEN 'sms_inalcanzable'
      WHEN p_marketing AND NOT teltec_consent(c.id, 'sms', 'marketing') THEN 'sin_consentimiento'
      WHEN NOT teltec_consent_or(c.id, 'sms', 'servicio', true) THEN 'sin_consentimiento'
    END,
    'email', CASE
      WHEN c.email IS NULL OR c.email !~ '^[^@\s]+@[^@\s]+$' THEN 'sin_email'
      WHEN c.email_inalcanzable IS NOT NULL
           AND (p_now IS NULL OR c.email_inalcanzable_hasta IS NULL OR c.email_inalcanzable_hasta > p_now)
        THEN 'email_inalcanzable'
      WHEN p_marketing AND NOT teltec_consent(c.id, 'email', 'marketing') THEN 'sin_consentimiento'
      WHEN NOT teltec_consent_or(c.id, 'email', 'servicio', true) THEN 'sin_consentimiento'
    END)
$fn$;
