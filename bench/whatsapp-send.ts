/**
 * WhatsApp sending rate: the adapter's pacing (WHATSAPP_RATE, 6 s per client, concurrency) against
 * the stand-in enforcing Meta's 80 msg/s and the pair rate. Each client gets two notices queued
 * back to back (a reminder and a confirmation), the case the pair rate exists for.
 */
import { pino } from 'pino';
import { createChannelRegistry } from '../src/channels/index.js';
import { recordConsents } from '../src/clients/consents.js';
import { createShiftedClock } from '../src/clock.js';
import { parseConfig } from '../src/config.js';
import { createDispatcher } from '../src/notifications/dispatcher.js';
import { enqueue } from '../src/notifications/outbox.js';
import { toEngineSettings } from '../src/notifications/types.js';
import { createWhatsAppAdapter } from '../src/whatsapp/adapter.js';
import { createWhatsAppClient } from '../src/whatsapp/graph.js';
import { startWhatsAppStandin } from '../src/whatsapp/standin/index.js';
import { openBenchDb, seedWhatsAppClients } from './whatsapp.js';

export interface SendBenchResult {
  sent: number;
  recipients: number;
  seconds: number;
  /** The tail: after the last first notice, only second notices waiting for their client's 6.5 s. */
  pairWaitSeconds: number;
  perSecond: number;
  percent: number;
  throughputErrors: number;
  pairErrors: number;
  note: string;
}

export async function runSendBench(
  _database: 'pglite' | 'postgres',
  opts: { rate: number; sends: number },
): Promise<SendBenchResult> {
  const standin = await startWhatsAppStandin({ ratePerSecond: 80, pairIntervalMs: 6000, dailyLimit: 0 });
  try {
    const client = createWhatsAppClient({
      token: standin.token,
      phoneNumberId: standin.phoneNumberId,
      apiRoot: standin.url,
      apiVersion: 'v23.0',
    });
    const adapter = createWhatsAppAdapter({ client, ratePerSecond: opts.rate, dailyLimit: 1_000_000 });
    const pacing = adapter.pacing();
    const recipients = Math.ceil(opts.sends / 2);
    const queue = Array.from({ length: opts.sends }, (_, i) => ({
      to: `5939${String(10_000_000 + Math.floor(i / 2)).slice(-8)}`,
      tipo: i % 2 === 0 ? 'recordatorio_pago' : 'pago_recibido',
    }));
    const slotMs = 1000 / pacing.ratePerSecond;
    const nextFor = new Map<string, number>();
    let nextSlot = performance.now();
    let inFlight = 0;
    let sent = 0;
    // Until the last client's first notice leaves, some notice is always allowed to go: the rate
    // over that span is the sustained rate. After it only second notices remain, each waiting for
    // its client's 6.5 s — the pair rate working, not the pacer.
    let firstsLeft = Math.ceil(opts.sends / 2);
    let steadyEnd = 0;
    let steadySent = 0;
    const signal = new AbortController().signal;
    const t0 = performance.now();
    let last = t0;
    await new Promise<void>((resolve) => {
      const pump = () => {
        const now = performance.now();
        while (queue.length && inFlight < pacing.concurrency && nextSlot <= now) {
          // The first queued notice whose client may receive now (pair rate), else wait.
          const idx = queue.findIndex((q) => (nextFor.get(q.to) ?? 0) <= now);
          if (idx < 0) break;
          const q = queue.splice(idx, 1)[0]!;
          const isFirst = q.tipo === 'recordatorio_pago';
          nextFor.set(q.to, now + pacing.perRecipientIntervalMs);
          // A late timer may catch up a few slots (never a burst the stand-in's 80/s would refuse).
          nextSlot = Math.max(nextSlot + slotMs, now - 3 * slotMs);
          inFlight++;
          const template =
            q.tipo === 'recordatorio_pago'
              ? { name: 'recordatorio_pago', language: 'es', params: ['Ana', '$25,00', '30/11/2026', '5'] }
              : { name: 'pago_recibido', language: 'es', params: ['Ana', '$25,00', '28/11/2026'] };
          void adapter
            .send({
              notificationId: 0,
              envioId: 0,
              clientId: null,
              tipo: q.tipo,
              to: q.to,
              composed: { text: '', html: false, template },
              marketing: false,
              signal,
            })
            .then((r) => {
              inFlight--;
              if (r.ok) sent++;
              if (steadyEnd === 0 && r.ok) steadySent++;
              if (isFirst && --firstsLeft === 0) steadyEnd = performance.now();
              last = performance.now();
              if (queue.length === 0 && inFlight === 0) resolve();
            });
        }
        if (queue.length || inFlight)
          setTimeout(pump, Math.max(1, Math.min(slotMs, nextSlot - performance.now())));
      };
      pump();
    });
    const seconds = (last - t0) / 1000;
    const perSecond = Math.round((steadySent / ((steadyEnd - t0) / 1000)) * 10) / 10;
    return {
      sent,
      recipients,
      seconds: Math.round(seconds * 10) / 10,
      pairWaitSeconds: Math.round((last - steadyEnd) / 100) / 10,
      perSecond,
      percent: Math.round((perSecond / opts.rate) * 1000) / 10,
      throughputErrors: standin.errorCounts.get(130429) ?? 0,
      pairErrors: standin.errorCounts.get(131056) ?? 0,
      note: 'ritmo del adaptador (pacing) sin el despachador',
    };
  } finally {
    await standin.close();
  }
}

/**
 * The same workload through the real dispatcher on a real database: notices queued in the outbox,
 * the channel policy picks WhatsApp (consent, window open), the dispatcher's per-channel gates pace
 * it (channel_pacer slots, recipient turns in channel_recipients). Rates from the stand-in's clock.
 */
export async function runDispatchSendBench(
  database: 'pglite' | 'postgres',
  opts: { rate: number; sends: number },
): Promise<SendBenchResult> {
  const standin = await startWhatsAppStandin({ ratePerSecond: 80, pairIntervalMs: 6000, dailyLimit: 0 });
  const { db, cleanup } = await openBenchDb(database);
  // Business time that runs like the real one (the recipient turns are kept in it).
  const clock = createShiftedClock('2026-03-10T15:00:00Z');
  try {
    const recipients = Math.ceil(opts.sends / 2);
    const clients = await seedWhatsAppClients(db, recipients);
    await db.query(`UPDATE clients SET whatsapp_ventana_hasta = $1 WHERE id = ANY($2::int[])`, [
      new Date(clock.now().getTime() + 20 * 3600_000),
      clients,
    ]);
    await recordConsents(
      db,
      clients.map((id) => ({
        clientId: id,
        canal: 'whatsapp' as const,
        categoria: 'servicio' as const,
        otorgado: true,
        fuente: 'contrato' as const,
        at: clock.now(),
      })),
    );
    const numbers = (
      await db.query<{ whatsapp: string }>(
        'SELECT whatsapp FROM clients WHERE id = ANY($1::int[]) ORDER BY id',
        [clients],
      )
    ).rows.map((r) => r.whatsapp);
    for (const n of numbers) await standin.clientSends(n, 'hola');
    // Two notices per client, back to back in the queue: the pair rate must space them.
    await enqueue(
      db,
      Array.from({ length: opts.sends }, (_, i) => ({
        client_id: clients[Math.floor(i / 2)]!,
        tipo: 'manual' as const,
        mensaje: i % 2 === 0 ? 'Primer aviso de prueba' : 'Segundo aviso de prueba',
        urgente: true,
        dedupe_key: `bench:wa:${i}`,
      })),
      clock.now(),
    );
    const client = createWhatsAppClient({
      token: standin.token,
      phoneNumberId: standin.phoneNumberId,
      apiRoot: standin.url,
      apiVersion: 'v23.0',
    });
    const adapter = createWhatsAppAdapter({ client, ratePerSecond: opts.rate, dailyLimit: 1_000_000 });
    const config = parseConfig({ DATA_DIR: '/tmp/teltec-bench-unused' });
    const dispatcher = createDispatcher({
      db,
      channels: createChannelRegistry([adapter]),
      clock,
      logger: pino({ level: 'silent' }),
      settings: toEngineSettings(config),
      options: { ratePerSecond: 1000, perChatPerSecond: 1, concurrency: 16, maxAttempts: 6, idleMs: 50 },
    });
    const abort = new AbortController();
    const t0 = Date.now();
    const running = dispatcher.run(abort.signal);
    const deadline = t0 + Math.max(60_000, (opts.sends / opts.rate) * 3000);
    while (standin.messages.length < opts.sends && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
    abort.abort();
    await dispatcher.stop({ drainMs: 5000 });
    await running;
    const msgs = standin.messages;
    // The dispatcher sends every client's first notice, then the second ones as their 6.5 s pass:
    // work is always available, so the rate over the whole run is the sustained rate.
    const start = msgs[0]?.at ?? t0;
    const end = msgs.at(-1)?.at ?? start;
    const perSecond = Math.round(((msgs.length - 1) / Math.max(0.001, (end - start) / 1000)) * 10) / 10;
    const lastFirst = (() => {
      const seen = new Set<string>();
      let at = start;
      for (const m of msgs) {
        if (seen.has(m.to)) continue;
        seen.add(m.to);
        at = m.at;
      }
      return at;
    })();
    return {
      sent: msgs.length,
      recipients,
      seconds: Math.round((end - start) / 100) / 10,
      pairWaitSeconds: Math.round((end - lastFirst) / 100) / 10,
      perSecond,
      percent: Math.round((perSecond / opts.rate) * 1000) / 10,
      throughputErrors: standin.errorCounts.get(130429) ?? 0,
      pairErrors: standin.errorCounts.get(131056) ?? 0,
      note: `despachador real sobre ${database}`,
    };
  } finally {
    await standin.close();
    await cleanup();
  }
}
