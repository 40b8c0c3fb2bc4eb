import type { AttemptRow } from './outbox.js';
import { renderPlainText, renderTemplate, type TemplateSet, templateValues } from './templates.js';
import type { EngineSettings, NotificationType } from './types.js';

/** What a channel sends for one outbox row: the final text, and whether it is Telegram HTML. */
export interface ComposedMessage {
  text: string;
  html: boolean;
}

/**
 * Turns a row re-checked at the start of its attempt (the row, its client, plan and campaign)
 * into the text to send. An explicit `mensaje` goes as written (HTML if `datos.formato = 'html'`);
 * otherwise the campaign's saved template or text, or the type's template for the client's plan.
 * Throws when a template cannot be rendered (the dispatcher records it as `mensaje_invalido`).
 */
export function composeRow(
  a: AttemptRow,
  set: TemplateSet,
  today: string,
  settings: EngineSettings,
): ComposedMessage {
  if (a.mensaje !== null) return { text: a.mensaje, html: a.datos?.['formato'] === 'html' };
  const values = templateValues(
    {
      tipo: a.tipo,
      today,
      nombre: a.nombre,
      plan: a.plan,
      velocidad: a.velocidad,
      precio: a.precio,
      vencimiento: a.ciclo ?? a.vencimiento,
      datos: a.datos,
      mensaje: a.campana_mensaje,
    },
    settings,
  );
  if (a.campaign_id !== null && a.campana_plantilla) {
    const tipo = a.campana_plantilla as NotificationType;
    return { text: renderTemplate(set.resolve(tipo, a.plan_id), values), html: true };
  }
  if (a.campaign_id !== null && a.campana_mensaje) {
    return { text: renderPlainText(a.campana_mensaje, values), html: true };
  }
  return { text: renderTemplate(set.resolve(a.tipo, a.plan_id), values), html: true };
}
