import { createClientsRepository } from '../clients/index.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Queryable } from '../db/index.js';
import { daysBetween, localDate } from '../time.js';
import { statusText } from './texts.js';

export interface StatusDeps {
  db: Queryable;
  config: Config;
  clock: Clock;
  /** The company data in effect (Ajustes); default config.company. */
  company?: () => Config['company'];
}

/**
 * The /status answer for one client (Telegram's /status and WhatsApp's "ESTADO" share it). Only
 * ever built for a verified asker: the client's own linked chat, or their own WhatsApp number on
 * file. Null when the client no longer exists.
 */
export async function clientStatusText(d: StatusDeps, clientId: number): Promise<string | null> {
  const today = localDate(d.clock.now(), d.config.timeZone);
  const { cycleDays, reminderDaysBefore } = d.config.engine;
  const repo = createClientsRepository(d.db, () => ({ today, cycleDays, reminderDaysBefore }));
  const c = await repo.get(clientId);
  if (!c) return null;
  const dias = c.fecha_vencimiento ? daysBetween(today, c.fecha_vencimiento) : null;
  // The amount owed has one SQL home (unpaid cycles × plan price), the same in notices and admin.
  const owed = await d.db.query<{ monto: number | null }>(
    `SELECT monto_adeudado::float8 AS monto FROM teltec_client_billing($1::date, $2, $3) WHERE client_id = $4`,
    [today, cycleDays, reminderDaysBefore, c.id],
  );
  const monto = c.estado_pago === 'al_dia' ? c.precio : (owed.rows[0]?.monto ?? null);
  return statusText(
    {
      nombre: c.nombre,
      plan: c.plan,
      precio: c.precio,
      estado: c.estado,
      fechaUltimoPago: c.fecha_ultimo_pago,
      fechaVencimiento: c.fecha_vencimiento,
      estadoPago: c.estado_pago,
      diasRestantes: dias,
      montoPendiente: monto,
    },
    d.company?.() ?? d.config.company,
  );
}
