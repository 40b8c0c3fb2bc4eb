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
