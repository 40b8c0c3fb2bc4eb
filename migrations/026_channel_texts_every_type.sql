-- 021 widened channel_templates.tipo to the suspension and reactivation notices; 023 then declared the
-- CHECK again from 017's list plus 'invitacion', so they were refused once more. Every notice type
-- may have its own SMS text and e-mail subject: the same list as notifications.tipo.
ALTER TABLE channel_templates DROP CONSTRAINT channel_templates_tipo_check;
ALTER TABLE channel_templates ADD CONSTRAINT channel_templates_tipo_check CHECK (tipo IN (
  'recordatorio_pago', 'pago_vencido', 'mantenimiento', 'oferta', 'bienvenida', 'manual', 'pago_recibido',
  'aviso_suspension', 'servicio_suspendido', 'servicio_reactivado', 'invitacion'));
