-- WhatsApp Business Cloud API (issue 10): the template registry synced from Meta, which template
-- each notice type is sent with, and the messages clients write to our number.

-- Templates as Meta lists them (GET /{waba_id}/message_templates and the template webhooks).
-- estado is Meta's word (APPROVED, PENDING, REJECTED, PAUSED, DISABLED…): an open set, shown as is.
-- parametros = body parameters ({{1}}…) of the synced text; NULL = not synced yet (a webhook told us).
CREATE TABLE whatsapp_templates (
  nombre          text NOT NULL,
  idioma          text NOT NULL,
  estado          text NOT NULL,
  categoria       text,
  parametros      integer CHECK (parametros >= 0),
  cuerpo          text,
  meta_id         text,
  motivo          text,
  sincronizada_at timestamptz NOT NULL,
  PRIMARY KEY (nombre, idioma)
);

-- The template each notice type goes out with outside the 24 h window, and which of compose's
-- variables fill its body parameters, in order. Editable by staff (API /api/whatsapp/plantillas).
CREATE TABLE whatsapp_template_map (
  tipo            text PRIMARY KEY,
  plantilla       text NOT NULL CHECK (plantilla ~ '^[a-z0-9_]+$' AND length(plantilla) <= 512),
  idioma          text NOT NULL DEFAULT 'es',
  parametros      jsonb NOT NULL DEFAULT '[]'::jsonb,
  actualizado_por text,
  updated_at      timestamptz NOT NULL DEFAULT now()
);
INSERT INTO whatsapp_template_map (tipo, plantilla, idioma, parametros) VALUES
  ('recordatorio_pago', 'recordatorio_pago', 'es', '["nombre", "monto", "fecha_vencimiento", "dias"]'),
  ('pago_vencido', 'pago_vencido', 'es', '["nombre", "monto", "fecha_vencimiento", "dias"]'),
  ('pago_recibido', 'pago_recibido', 'es', '["nombre", "monto", "fecha_pago"]'),
  ('bienvenida', 'bienvenida', 'es', '["nombre", "empresa"]'),
  ('mantenimiento', 'mantenimiento', 'es', '["nombre", "mensaje"]'),
  ('oferta', 'oferta', 'es', '["nombre", "mensaje"]');

-- Messages clients wrote to our number (each opens that client's 24 h service window).
-- wamid is unique: Meta redelivers, a replay records nothing twice.
CREATE TABLE whatsapp_inbound (
  id          bigserial PRIMARY KEY,
  wamid       text NOT NULL UNIQUE,
  telefono    text NOT NULL,
  client_id   integer REFERENCES clients (id) ON DELETE SET NULL,
  tipo        text NOT NULL,
  texto       text,
  recibido_at timestamptz NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX whatsapp_inbound_client_idx ON whatsapp_inbound (client_id, recibido_at);
CREATE INDEX whatsapp_inbound_telefono_idx ON whatsapp_inbound (telefono, recibido_at);

-- The last template sync and the last error the channel saw (Ajustes shows them).
CREATE TABLE whatsapp_state (
  id                  integer PRIMARY KEY CHECK (id = 1),
  sincronizado_at     timestamptz,
  error_sincronizacion text,
  ultimo_error        text,
  ultimo_error_at     timestamptz
);
INSERT INTO whatsapp_state (id) VALUES (1);
