-- The payment loop on WhatsApp (issue 13 §1–§2) and issue 10's leftovers.

-- Quick-reply buttons of a synced template (Meta's BUTTONS component, QUICK_REPLY only): the
-- payment notices' payloads ("Ya pagué", "Pagaré el…", "Cómo pagar") ride on them, in order.
-- NULL = not known yet (synced before this column existed, or learnt from a webhook): no payloads.
ALTER TABLE whatsapp_templates ADD COLUMN botones integer CHECK (botones IS NULL OR botones >= 0);

-- A WhatsApp number that pressed "Ya pagué" and whose receipt (image or PDF) is awaited. The row
-- names the client the number belongs to at that moment; it goes when the receipt arrives, is
-- cancelled, or grows stale (the code reads rows older than the step's time-to-live as absent).
CREATE TABLE whatsapp_receipt_waits (
  telefono   text PRIMARY KEY,
  client_id  integer NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  desde      timestamptz NOT NULL
);

-- Default template mappings of the payment-loop notices (issue 13 §6), like 014's for the others.
-- A deployment that already mapped them keeps its own.
INSERT INTO whatsapp_template_map (tipo, plantilla, idioma, parametros) VALUES
  ('aviso_suspension', 'aviso_suspension', 'es', '["nombre", "monto", "fecha_vencimiento", "fecha_suspension"]'),
  ('servicio_suspendido', 'servicio_suspendido', 'es', '["nombre", "empresa", "monto"]'),
  ('servicio_reactivado', 'servicio_reactivado', 'es', '["nombre", "empresa", "fecha_vencimiento"]')
ON CONFLICT (tipo) DO NOTHING;
