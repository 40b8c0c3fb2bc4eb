import type { Logger } from 'pino';
import { recordPayment } from '../clients/index.js';
import { createManualClock } from '../clock.js';
import type { Db } from '../db/index.js';
import { formatMoney } from '../notifications/format.js';
import {
  applyPaymentToOutbox,
  type ConversionReport,
  conversionReport,
  createDispatcher,
  type EngineSettings,
  generateUnderLock,
} from '../notifications/index.js';
import { makePromise, settlePromises } from '../receipts/index.js';
import { createTelegramSender } from '../telegram/send.js';
import { startStandin } from '../telegram/standin/index.js';
import { addDays } from '../time.js';
import { seedDemoData } from './demo-data.js';

/**
 * A simulated month on the demo data (issue 13 §7): the injected clock advances one day at a time;
 * each day the real daily run (promises settled, notices generated), the real dispatcher sending
 * to the Bot API stand-in, and clients who answer their notices the way a small provider's clients
 * do — most pay around the reminder, some after the 1st, 2nd or 3rd overdue notice, some promise a
 * date (and most keep it), some never pay. Deterministic (seeded). Then the conversion figures.
 */

/** What a client does about their notices (decided once per client, seeded). */
type Behaviour = 'a_tiempo' | 'aviso_1' | 'aviso_2' | 'aviso_3' | 'promesa' | 'promesa_rota' | 'no_paga';

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function behaviourOf(r: number): Behaviour {
  if (r < 0.5) return 'a_tiempo';
  if (r < 0.65) return 'aviso_1';
  if (r < 0.73) return 'aviso_2';
  if (r < 0.77) return 'aviso_3';
  if (r < 0.84) return 'promesa';
  if (r < 0.87) return 'promesa_rota';
  return 'no_paga';
}

export interface SimulationResult {
  desde: string;
  hasta: string;
  clientes: number;
  enviados: number;
  pagos: number;
  promesas: number;
  conversion: ConversionReport;
}

export async function simulateMonth(opts: {
  db: Db;
  settings: EngineSettings;
  logger: Logger;
  /** First simulated day 'YYYY-MM-DD' (the demo data is built as of this day). */
  start: string;
  days?: number;
  clients?: number;
  seed?: number;
}): Promise<SimulationResult> {
  const days = opts.days ?? 30;
  const s = opts.settings;
  const { db } = opts;
  await seedDemoData(db, { today: opts.start, link: true, count: opts.clients ?? 300 });
  const standin = await startStandin({ token: '424242:SIMULACION-standin' });
  const clock = createManualClock(`${opts.start}T13:00:00Z`);
  const dispatcher = createDispatcher({
    db,
    sender: createTelegramSender({ token: standin.token, apiRoot: standin.url, timeoutMs: 5000 }),
    clock,
    logger: opts.logger,
    settings: s,
    options: { ratePerSecond: 1000, perChatPerSecond: 50, concurrency: 16, maxAttempts: 6, idleMs: 20 },
  });
  const rnd = prng(opts.seed ?? 13);
  const behaviour = new Map<number, Behaviour>();
  const plannedPayments = new Map<string, number[]>();
  const plan = (day: string, clientId: number) => {
    const list = plannedPayments.get(day) ?? [];
    if (!list.includes(clientId)) list.push(clientId);
    plannedPayments.set(day, list);
  };
  let enviados = 0;
  let pagos = 0;
  let promesas = 0;
  try {
    for (let i = 0; i < days; i++) {
      const today = addDays(opts.start, i);
      // 08:00 in the provider's zone: the daily run, then the sends of the morning.
      clock.set(new Date(`${today}T13:00:00Z`));
      const now = clock.now();
      await db.transaction(async (tx) => {
        await settlePromises(tx, s, { today, now });
        await generateUnderLock(tx, s, { today, now });
      });
      for (let pass = 0; pass < 50; pass++) {
        const r = await dispatcher.runOnce();
        enviados += r.enviadas;
        if (r.reclamadas === 0) break;
      }
      // What the clients do about the notices that reached them this morning.
      const { rows: got } = await db.query<{
        client_id: number;
        tipo: string;
        paso: number | null;
        ciclo: string;
      }>(
        `SELECT client_id, tipo, paso, ciclo::text AS ciclo FROM notifications
          WHERE sent_at IS NOT NULL AND (sent_at AT TIME ZONE $2)::date = $1::date
            AND tipo IN ('recordatorio_pago', 'pago_vencido', 'aviso_suspension') AND client_id IS NOT NULL
          ORDER BY client_id, tipo, paso`,
        [today, s.timeZone],
      );
      for (const n of got) {
        const b = behaviour.get(n.client_id) ?? behaviourOf(rnd());
        behaviour.set(n.client_id, b);
        const k = n.tipo === 'pago_vencido' ? (n.paso ?? 0) + 1 : 0;
        if (n.tipo === 'recordatorio_pago' && b === 'a_tiempo') {
          const until = Math.max(
            0,
            Math.min(4, Math.round((Date.parse(n.ciclo) - Date.parse(today)) / 86_400_000)),
          );
          plan(addDays(today, Math.floor(rnd() * (until + 1))), n.client_id);
        } else if (n.tipo === 'pago_vencido' && b === `aviso_${k}`) {
          plan(addDays(today, Math.floor(rnd() * 2)), n.client_id);
        } else if (n.tipo === 'pago_vencido' && k === 1 && (b === 'promesa' || b === 'promesa_rota')) {
          const fecha = addDays(n.ciclo, 1 + Math.floor(rnd() * 4));
          const made = await db.transaction((tx) =>
            makePromise(tx, { clientId: n.client_id, ciclo: n.ciclo, fecha, today, graceDays: 5 }, now),
          );
          if (made.ok) {
            promesas++;
            if (b === 'promesa') plan(fecha, n.client_id);
          }
        } else if (n.tipo === 'aviso_suspension' && b !== 'no_paga' && rnd() < 0.5) {
          plan(today, n.client_id); // the warning of the suspension moves some late payers
        }
      }
      // The payments of the day, through the normal door (recorded, notices cancelled, confirmed).
      clock.set(new Date(`${today}T20:00:00Z`));
      for (const clientId of plannedPayments.get(today) ?? []) {
        const paid = await db.transaction(async (tx) => {
          const owed = await tx.query<{ m: number | null }>(
            'SELECT monto_adeudado::float8 AS m FROM teltec_client_billing($1::date, $2, $3) WHERE client_id = $4',
            [today, s.cycleDays, s.reminderDaysBefore, clientId],
          );
          const monto = owed.rows[0]?.m;
          if (!monto) return false;
          const r = await recordPayment(tx, {
            clientId,
            monto,
            fecha: today,
            today,
            referencia: `SIM-${clientId}-${today}`,
            actor: 'simulacion',
            owed: async () => monto,
            formatMoney,
          });
          await applyPaymentToOutbox(
            tx,
            { clientId, paymentId: r.payment.id, monto, fecha: today },
            s,
            clock.now(),
          );
          return true;
        });
        if (paid) pagos++;
      }
    }
  } finally {
    await dispatcher.stop({ drainMs: 1000 }).catch(() => {});
    await standin.close();
  }
  const hasta = addDays(opts.start, days - 1);
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM clients');
  return {
    desde: opts.start,
    hasta,
    clientes: rows[0]!.n,
    enviados,
    pagos,
    promesas,
    conversion: await conversionReport(db, { desde: opts.start, hasta, timeZone: s.timeZone }),
  };
}

/** The figures in Spanish, one line each (the script prints them). */
export function conversionLines(r: SimulationResult): string[] {
  const c = r.conversion;
  const pct = (n: number) => (c.recordados ? `${Math.round((n / c.recordados) * 1000) / 10} %` : '—');
  return [
    `Simulación del ${r.desde} al ${r.hasta}: ${r.clientes} clientes, ${r.enviados} mensajes enviados, ` +
      `${r.pagos} pagos, ${r.promesas} promesas.`,
    `Ciclos con recordatorio enviado (vencimiento en el periodo): ${c.recordados}; pagaron ${c.pagaron} (${pct(c.pagaron)}).`,
    `  antes del vencimiento: ${c.a_tiempo} (${pct(c.a_tiempo)})`,
    `  tras el 1.er aviso de vencido: ${c.tras_aviso_1} (${pct(c.tras_aviso_1)})`,
    `  tras el 2.º aviso: ${c.tras_aviso_2} (${pct(c.tras_aviso_2)})`,
    `  tras el 3.er aviso: ${c.tras_aviso_3} (${pct(c.tras_aviso_3)})`,
    `  tras una promesa: ${c.tras_promesa} (${pct(c.tras_promesa)})`,
    `  vencido sin aviso previo: ${c.vencido_sin_aviso} (${pct(c.vencido_sin_aviso)})`,
    `  sin pago: ${c.sin_pago} (${pct(c.sin_pago)})`,
    `Mediana de días del recordatorio al pago: ${c.mediana_dias ?? '—'}`,
    `Por canal: ${c.por_canal.map((x) => `${x.canal} ${x.pagaron}/${x.recordados}`).join(', ') || '—'}`,
    `Promesas: ${c.promesas.hechas} (cumplidas ${c.promesas.cumplidas}, incumplidas ${c.promesas.incumplidas}, ` +
      `tasa ${c.promesas.tasa_cumplidas ?? '—'} %). Comprobantes: aprobados ${c.comprobantes.aprobados}, ` +
      `rechazados ${c.comprobantes.rechazados}.`,
  ];
}
