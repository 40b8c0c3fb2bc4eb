/**
 * WhatsApp sending rate: the adapter's pacing (WHATSAPP_RATE, 6 s per client, concurrency) against
 * the stand-in enforcing Meta's 80 msg/s and the pair rate. Each client gets two notices queued
 * back to back (a reminder and a confirmation), the case the pair rate exists for.
 */
import { createWhatsAppAdapter } from '../src/whatsapp/adapter.js';
import { createWhatsAppClient } from '../src/whatsapp/graph.js';
import { startWhatsAppStandin } from '../src/whatsapp/standin/index.js';

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
