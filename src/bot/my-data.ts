import { createClientsRepository, currentConsents } from '../clients/index.js';
import { formatDate } from '../notifications/format.js';
import { localDate } from '../time.js';
import { channelNames, consentCategories, consentSources } from '../vocabulary.js';
import type { StatusDeps } from './status.js';
import { localMobile } from './whatsapp-optin.js';

/**
 * "/misdatos" on Telegram and "MIS DATOS" on WhatsApp (issue 11 §4, LOPDP): what the provider
 * holds about the client and what they agreed to, channel by channel. Only ever built for a
 * verified asker (their own verified chat, or their own WhatsApp number on file). Plain text.
 */
export async function clientDataText(d: StatusDeps, clientId: number): Promise<string | null> {
  const today = localDate(d.clock.now(), d.config.timeZone);
  const { cycleDays, reminderDaysBefore } = d.config.engine;
  const c = await createClientsRepository(d.db, () => ({ today, cycleDays, reminderDaysBefore })).get(
    clientId,
  );
  if (!c) return null;
  const extra = await d.db.query<{ whatsapp: string | null; avisos: number }>(
    `SELECT c.whatsapp, (SELECT count(*)::int FROM teltec_client_notice_ids(c.id)) AS avisos
       FROM clients c WHERE c.id = $1`,
    [clientId],
  );
  const wa = extra.rows[0]?.whatsapp ?? null;
  const consents = await currentConsents(d.db, clientId);
  const v = (x: string | null | undefined) => (x?.trim() ? x : '—');
  const company = d.company?.() ?? d.config.company;
  const lines = [
    `🗂️ Sus datos en ${company.nombre}`,
    '',
    `Nombre: ${c.nombre}`,
    `Cédula: ${c.cedula}`,
    `Teléfono: ${v(c.telefono)}`,
    `WhatsApp: ${wa ? localMobile(wa) : '—'}`,
    `Correo: ${v(c.email)}`,
    `Dirección: ${v(c.direccion)}`,
    `Sector: ${v(c.sector)}`,
    `Plan: ${v(c.plan)}`,
    `Cliente desde: ${formatDate(c.creado_en.slice(0, 10))}`,
    `Telegram: ${c.telegram.vinculado ? `vinculado${c.telegram.vinculado_en ? ` desde el ${formatDate(c.telegram.vinculado_en.slice(0, 10))}` : ''}` : 'no vinculado'}`,
    `Ofertas: ${c.preferencias.ofertas ? 'sí' : 'no'} · Avisos de mantenimiento: ${c.preferencias.mantenimiento ? 'sí' : 'no'}`,
    `Avisos que le hemos enviado o programado: ${extra.rows[0]?.avisos ?? 0}`,
    '',
    '✅ Lo que usted autorizó:',
  ];
  if (consents.length === 0) lines.push('• Nada registrado todavía.');
  for (const k of consents) {
    lines.push(
      `• ${channelNames.label(k.canal)}, ${consentCategories.label(k.categoria).toLowerCase()}: ` +
        `${k.otorgado ? 'sí' : 'no'} (desde el ${formatDate(localDate(new Date(k.created_at), d.config.timeZone))}, ` +
        `${consentSources.label(k.fuente).toLowerCase()})`,
    );
  }
  lines.push(
    '',
    'Usamos estos datos solo para su servicio y sus avisos. Para corregirlos o pedir que los borremos, ' +
      `comuníquese con ${company.nombre}${company.telefono ? ` (${company.telefono})` : ''}.`,
  );
  return lines.join('\n');
}
