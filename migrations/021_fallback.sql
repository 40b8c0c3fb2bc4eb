-- Fallback (issue 11 §3), continued.

-- SMS texts and e-mail subjects for every notice type: 017's CHECK predates the issue 13 service
-- notices (src/vocabulary.ts notificationTypes lists them all).
ALTER TABLE channel_templates DROP CONSTRAINT channel_templates_tipo_check;
ALTER TABLE channel_templates ADD CONSTRAINT channel_templates_tipo_check CHECK (tipo IN (
  'recordatorio_pago', 'pago_vencido', 'mantenimiento', 'oferta', 'bienvenida', 'manual', 'pago_recibido',
  'aviso_suspension', 'servicio_suspendido', 'servicio_reactivado'));

-- "No delivery within N minutes" (FALLBACK_NO_DELIVERY_MINUTES): the dispatcher looks for attempts
-- sent but never confirmed on the channels that report delivery, by channel and send time.
CREATE INDEX notification_envios_awaiting_idx ON notification_envios (canal, enviado_at) WHERE estado = 'enviado';
