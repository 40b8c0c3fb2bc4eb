import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type ChannelAdapter,
  type ChannelFailure,
  type ChannelMessage,
  type ChannelPacing,
  type ChannelVerdict,
  createChannelRegistry,
  createTelegramChannel,
} from '../../src/channels/index.js';
import { currentConsents, recordConsent } from '../../src/clients/consents.js';
import { createManualClock } from '../../src/clock.js';
import type { Db } from '../../src/db/index.js';
import { chooseChannel } from '../../src/notifications/channel-policy.js';
import { createDispatcher, type Dispatcher } from '../../src/notifications/dispatcher.js';
import {
  applyDeliveryStatuses,
  enqueue,
  listEnvios,
  settleAsyncFailures,
} from '../../src/notifications/outbox.js';
import type { TelegramSender } from '../../src/telegram/send.js';
import type { Standin } from '../../src/telegram/standin/index.js';
import { describeEachDb } from '../support/db.js';
import { createPlan, nextChatId, seedClients, settingsFor, silent, startTestStandin, T0 } from './support.js';

/**
 * A channel adapter for the dispatcher's unit tests: a real ChannelAdapter object (no module
 * mocks) that records what it was asked to send and fails by recipient when told to. End-to-end
 * WhatsApp tests (the Cloud API stand-in) live in test/whatsapp/.
 */
/** Provider ids are unique per channel across the whole file (as Meta's are). */
let wamids = 0;

function fakeWhatsApp(pacing: Partial<ChannelPacing> = {}) {
  const sent: ChannelMessage[] = [];
  const failures = new Map<string, ChannelFailure[]>();
  const verdicts: Record<string, ChannelVerdict> = {
    '131026': {
      action: 'fail',
      reason: 'whatsapp_inalcanzable',
      unreachable: { reason: 'No es usuario de WhatsApp', days: 30 },
    },
    '131050': { action: 'fail', reason: 'baja_marketing', optOut: 'marketing' },
    '131047': { action: 'template', reason: 'fuera_de_ventana' },
    '131056': { action: 'retry', reason: 'par', minDelayMs: 6000 },
  };
  const adapter: ChannelAdapter = {
    name: 'whatsapp',
    reportsDelivery: true,
    pacing: () => ({ ratePerSecond: 100, perRecipientIntervalMs: 6000, concurrency: 4, ...pacing }),
    async send(m) {
      sent.push(m);
      const queued = failures.get(m.to);
      const f = queued?.shift();
      if (f && !(f.code === '131047' && m.composed.template)) return { ok: false, failure: f };
      return { ok: true, providerId: `wamid.${++wamids}` };
    },
    classify: (f) => verdicts[f.code] ?? { action: 'retry', reason: 'desconocido' },
  };
  return {
    adapter,
    sent,
    failNext(to: string, code: string) {
      failures.set(to, [...(failures.get(to) ?? []), { code, message: `error ${code}` }]);
    },
  };
}

describe('channel policy (issue 10 §8)', () => {
  const all = ['telegram', 'whatsapp', 'sms', 'email'] as const;
  it('Telegram when linked, else WhatsApp when usable; the preference wins when usable', () => {
    expect(chooseChannel({ reasons: { telegram: null, whatsapp: null }, preferred: null }, all)).toEqual({
      ok: true,
      canal: 'telegram',
    });
    expect(
      chooseChannel({ reasons: { telegram: 'sin_telegram', whatsapp: null }, preferred: null }, all),
    ).toEqual({ ok: true, canal: 'whatsapp' });
    expect(
      chooseChannel({ reasons: { telegram: null, whatsapp: null }, preferred: 'whatsapp' }, all),
    ).toEqual({
      ok: true,
      canal: 'whatsapp',
    });
    // A preferred channel that cannot reach the client yields to the default order.
    expect(
      chooseChannel(
        { reasons: { telegram: null, whatsapp: 'sin_consentimiento' }, preferred: 'whatsapp' },
        all,
      ),
    ).toEqual({ ok: true, canal: 'telegram' });
  });

  it('a usable channel this process cannot send by does not count; fallback skips tried channels', () => {
    const r = chooseChannel({ reasons: { telegram: 'sin_telegram', whatsapp: null }, preferred: null }, [
      'telegram',
    ]);
    expect(r).toMatchObject({ ok: false, motivo: 'sin_canal' });
    expect(
      chooseChannel({ reasons: { telegram: null, whatsapp: null }, preferred: null }, all, ['telegram']),
    ).toEqual({ ok: true, canal: 'whatsapp' });
  });
});

describeEachDb('channel-aware dispatcher (issue 10 §1, §4, §8)', (ctx) => {
  let standin: Standin;
  let sender: TelegramSender;
  let planId: number;
  const running: Dispatcher[] = [];
  let seq = 0;

  beforeAll(async () => {
    ({ standin, sender } = await startTestStandin());
    planId = await createPlan(ctx.db, 'Plan canales');
  });
  afterAll(async () => {
    for (const d of running) await d.stop({ drainMs: 1000 });
    await standin.close();
  });
  beforeEach(async () => {
    // Every test starts from an empty outbox and fresh pacers.
    await ctx.db.exec(
      `UPDATE notifications SET estado = 'cancelado' WHERE estado = 'pendiente';
       DELETE FROM channel_recipients; UPDATE channel_pacer SET next_slot_ms = 0, paused_until_ms = 0`,
    );
  });

  async function dispatcher(db: Db, wa: ChannelAdapter, clock = createManualClock(T0)) {
    const telegram = createTelegramChannel({
      sender,
      pacing: () => ({ ratePerSecond: 1000, perRecipientIntervalMs: 20, concurrency: 8 }),
    });
    const d = createDispatcher({
      db,
      sender,
      channels: createChannelRegistry([telegram, wa]),
      clock,
      logger: process.env.DBG ? (await import('pino')).pino() : silent,
      settings: settingsFor(),
      options: { ratePerSecond: 1000, perChatPerSecond: 50, concurrency: 8, maxAttempts: 6, idleMs: 20 },
    });
    running.push(d);
    return d;
  }

  /** Clients on WhatsApp (number + service consent), optionally linked to Telegram too. */
  async function waClients(
    n: number,
    o: { linked?: boolean; ventana?: Date | null; preferido?: 'telegram' | 'whatsapp' } = {},
  ) {
    const ids = await seedClients(
      ctx.db,
      Array.from({ length: n }, () => ({
        chatId: o.linked ? nextChatId() : null,
        planId,
        pago: '2026-02-20',
      })),
    );
    const numbers = ids.map((_, i) => `59398${String(1000000 + ++seq * 10 + i).slice(-7)}`);
    await ctx.db.query(
      `UPDATE clients c SET whatsapp = v.w, whatsapp_ventana_hasta = $3, canal_preferido = $4
         FROM unnest($1::int[], $2::text[]) AS v(id, w) WHERE c.id = v.id`,
      [ids, numbers, o.ventana ?? null, o.preferido ?? null],
    );
    for (const id of ids) {
      await recordConsent(ctx.db, {
        clientId: id,
        canal: 'whatsapp',
        categoria: 'servicio',
        otorgado: true,
        fuente: 'contrato',
        at: new Date('2026-01-01T00:00:00Z'),
      });
    }
    return { ids, numbers };
  }
  const queue = (ids: number[], tipo: 'manual' | 'bienvenida' = 'manual', mensaje: string | null = 'Aviso') =>
    enqueue(
      ctx.db,
      ids.map((id) => ({ client_id: id, tipo, mensaje, dedupe_key: `k${++seq}:${id}` })),
      new Date(T0),
    );
  const notice = async (id: number) =>
    (
      await ctx.db.query<{
        estado: string;
        canal: string;
        motivo: string | null;
        ultimo_error: string | null;
        proximo_intento: Date;
        intentos: number;
      }>(
        'SELECT estado, canal, motivo, ultimo_error, proximo_intento, intentos FROM notifications WHERE id = $1',
        [id],
      )
    ).rows[0]!;

  it('routes each notice to its client channel and records one attempt per try', async () => {
    const wa = fakeWhatsApp();
    const { ids: waOnly, numbers } = await waClients(1);
    const { ids: both } = await waClients(1, { linked: true });
    const { ids: prefersWa, numbers: prefNumbers } = await waClients(1, {
      linked: true,
      preferido: 'whatsapp',
    });
    const [n1, n2, n3] = await queue([waOnly[0]!, both[0]!, prefersWa[0]!]);
    const report = await (await dispatcher(ctx.db, wa.adapter)).runOnce();
    expect(report).toMatchObject({ enviadas: 3, fallidas: 0 });
    expect(wa.sent.map((m) => m.to).sort()).toEqual([numbers[0], prefNumbers[0]].sort());
    expect(await notice(n1!)).toMatchObject({ estado: 'enviado', canal: 'whatsapp' });
    expect(await notice(n2!)).toMatchObject({ estado: 'enviado', canal: 'telegram' });
    expect(await notice(n3!)).toMatchObject({ estado: 'enviado', canal: 'whatsapp' });
    const envios = await listEnvios(ctx.db, [n1!, n2!]);
    const wamid = envios.get(n1!)![0]!.proveedor_id!;
    expect(envios.get(n1!)).toEqual([
      expect.objectContaining({
        canal: 'whatsapp',
        estado: 'enviado',
        destino: numbers[0],
        proveedor_id: wamid,
      }),
    ]);
    expect(envios.get(n2!)).toEqual([
      expect.objectContaining({
        canal: 'telegram',
        estado: 'enviado',
        proveedor_id: expect.stringMatching(/^\d+:\d+$/),
      }),
    ]);
    // The channel reports delivery: out of order statuses end read, never back.
    await applyDeliveryStatuses(ctx.db, [
      { canal: 'whatsapp', proveedorId: wamid, estado: 'leido', at: new Date(T0) },
      { canal: 'whatsapp', proveedorId: wamid, estado: 'entregado', at: new Date(T0) },
    ]);
    expect((await notice(n1!)).estado).toBe('leido');
  });

  it('inside the 24 h window free text; outside (or after 131047) the template', async () => {
    const wa = fakeWhatsApp();
    const now = new Date(T0);
    const { ids: wrote } = await waClients(1, { ventana: new Date(now.getTime() + 22 * 3600_000) });
    const { ids: old } = await waClients(1, { ventana: new Date(now.getTime() - 24 * 3600_000) });
    const { ids: stale, numbers: staleNumbers } = await waClients(1, {
      ventana: new Date(now.getTime() + 3600_000),
    });
    wa.failNext(staleNumbers[0]!, '131047'); // Meta says the window is closed after all
    const [a, b, c] = await queue([wrote[0]!, old[0]!, stale[0]!], 'manual', 'Corte programado mañana');
    await (await dispatcher(ctx.db, wa.adapter)).runOnce();
    const byId = new Map(wa.sent.map((m) => [m.notificationId, m]));
    expect(byId.get(a!)!.composed.template).toBeUndefined();
    expect(byId.get(a!)!.composed.text).toBe('Corte programado mañana');
    expect(byId.get(b!)!.composed.template).toMatchObject({ name: 'manual', language: 'es' });
    expect(byId.get(b!)!.composed.template!.params[1]).toBe('Corte programado mañana');
    // 131047: the free text was refused, the same notice went again as a template; two attempts.
    expect(byId.get(c!)!.composed.template).toMatchObject({ name: 'manual' });
    expect(await notice(c!)).toMatchObject({ estado: 'enviado' });
    const tries = (await listEnvios(ctx.db, [c!])).get(c!)!;
    expect(tries.map((t) => [t.estado, t.error_codigo, t.plantilla])).toEqual([
      ['fallido', '131047', null],
      ['enviado', null, 'manual'],
    ]);
  });

  it('131026 fails at once and marks the client for 30 days; 131050 records the opt-out', async () => {
    const wa = fakeWhatsApp();
    const { ids, numbers } = await waClients(2, { ventana: new Date(Date.parse(T0) + 3600_000) });
    wa.failNext(numbers[0]!, '131026');
    wa.failNext(numbers[1]!, '131050');
    const [x, y] = await queue(ids);
    const r = await (await dispatcher(ctx.db, wa.adapter)).runOnce();
    expect(r).toMatchObject({ enviadas: 0, fallidas: 2, reintentos: 0 });
    expect(await notice(x!)).toMatchObject({ estado: 'fallido', motivo: 'whatsapp_inalcanzable' });
    expect(await notice(y!)).toMatchObject({ estado: 'fallido', motivo: 'baja_marketing' });
    const { rows } = await ctx.db.query<{ whatsapp_inalcanzable: string; whatsapp_inalcanzable_hasta: Date }>(
      'SELECT whatsapp_inalcanzable, whatsapp_inalcanzable_hasta FROM clients WHERE id = $1',
      [ids[0]],
    );
    expect(rows[0]!.whatsapp_inalcanzable).toBe('No es usuario de WhatsApp');
    expect(rows[0]!.whatsapp_inalcanzable_hasta.getTime()).toBe(Date.parse(T0) + 30 * 86_400_000);
    const consents = await currentConsents(ctx.db, ids[1]!);
    expect(consents).toContainEqual(
      expect.objectContaining({
        canal: 'whatsapp',
        categoria: 'marketing',
        otorgado: false,
        fuente: 'proveedor',
      }),
    );
    // The next notice to the unreachable client is closed by the re-check (no other channel).
    const [z] = await queue([ids[0]!]);
    await (await dispatcher(ctx.db, wa.adapter)).runOnce();
    expect(await notice(z!)).toMatchObject({ estado: 'fallido' });
    expect(wa.sent).toHaveLength(2);
  });

  it('pair rate: one message per client every 6 s, shared through the database (injected clock)', async () => {
    const wa = fakeWhatsApp();
    const clock = createManualClock(T0);
    const { ids } = await waClients(1, { ventana: new Date(Date.parse(T0) + 3600_000) });
    const [first, second] = await queue([ids[0]!, ids[0]!]);
    await (await dispatcher(ctx.db, wa.adapter, clock)).runOnce();
    expect(wa.sent.filter((m) => m.clientId === ids[0])).toHaveLength(1);
    const waiting = (await notice(first!)).estado === 'pendiente' ? first! : second!;
    const w = await notice(waiting);
    expect(w).toMatchObject({ estado: 'pendiente', intentos: 0 });
    expect(w.proximo_intento.getTime()).toBe(Date.parse(T0) + 6000);
    clock.advance(5999);
    await (await dispatcher(ctx.db, wa.adapter, clock)).runOnce();
    expect(wa.sent.filter((m) => m.clientId === ids[0])).toHaveLength(1);
    clock.advance(1);
    await (await dispatcher(ctx.db, wa.adapter, clock)).runOnce();
    expect(wa.sent.filter((m) => m.clientId === ids[0])).toHaveLength(2);
  });

  it('daily tier: beyond N unique recipients a day, templates wait for the next 24 h window', async () => {
    const wa = fakeWhatsApp({ dailyUniqueRecipients: 2 });
    const clock = createManualClock(T0);
    const { ids } = await waClients(3); // outside the service window: templates
    const queued = await queue(ids);
    const r = await (await dispatcher(ctx.db, wa.adapter, clock)).runOnce();
    expect(r.enviadas).toBe(2);
    const states = await Promise.all(queued.map(notice));
    const waiting = states.filter((s) => s.estado === 'pendiente');
    expect(waiting).toHaveLength(1);
    expect(waiting[0]!.ultimo_error).toMatch(/Límite diario/);
    expect(waiting[0]!.proximo_intento.getTime()).toBe(Date.parse(T0) + 24 * 3600_000 + 1000);
    clock.advance(24 * 3600_000 + 1000);
    expect((await (await dispatcher(ctx.db, wa.adapter, clock)).runOnce()).enviadas).toBe(1);
  });

  it('an asynchronous failure (status webhook) is settled like a synchronous one', async () => {
    const wa = fakeWhatsApp();
    const { ids } = await waClients(2, { ventana: new Date(Date.parse(T0) + 3600_000) });
    const [p, q] = await queue(ids);
    await (await dispatcher(ctx.db, wa.adapter)).runOnce();
    const wamid = (id: number) => wa.sent.find((m) => m.notificationId === id)!;
    const envios = await listEnvios(ctx.db, [p!, q!]);
    const report = await applyDeliveryStatuses(ctx.db, [
      {
        canal: 'whatsapp',
        proveedorId: envios.get(p!)![0]!.proveedor_id!,
        estado: 'fallido',
        at: new Date(T0),
        errorCodigo: '131047',
      },
      {
        canal: 'whatsapp',
        proveedorId: envios.get(q!)![0]!.proveedor_id!,
        estado: 'fallido',
        at: new Date(T0),
        errorCodigo: '131026',
      },
    ]);
    expect(report.failed).toHaveLength(2);
    expect(wamid(p!)).toBeDefined();
    await settleAsyncFailures(
      ctx.db,
      report.failed.map((f) => ({
        ...f,
        verdict: wa.adapter.classify({ code: f.errorCodigo!, message: '' }),
      })),
      new Date(T0),
    );
    expect(await notice(p!)).toMatchObject({ estado: 'pendiente' });
    expect(await notice(q!)).toMatchObject({ estado: 'fallido', motivo: 'whatsapp_inalcanzable' });
    // Back in the queue with forzar_plantilla: the next try (after the pair interval) is a template.
    await (
      await dispatcher(ctx.db, wa.adapter, createManualClock(new Date(Date.parse(T0) + 6000)))
    ).runOnce();
    expect(
      wa.sent.filter((m) => m.notificationId === p).map((m) => m.composed.template?.name ?? null),
    ).toEqual([null, 'manual']);
  });
});
