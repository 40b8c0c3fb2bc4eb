import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { createChannelRegistry } from '../../src/channels/index.js';
import { recordConsents } from '../../src/clients/consents.js';
import { createManualClock } from '../../src/clock.js';
import { buildApi } from '../../src/http/app.js';
import { createDispatcher, type Dispatcher } from '../../src/notifications/dispatcher.js';
import { enqueue } from '../../src/notifications/outbox.js';
import { createWhatsAppAdapter } from '../../src/whatsapp/adapter.js';
import { createWhatsAppClient } from '../../src/whatsapp/graph.js';
import { createWhatsAppService } from '../../src/whatsapp/service.js';
import { startWhatsAppStandin, type WhatsAppStandin } from '../../src/whatsapp/standin/index.js';
import { createTemplateSync, templateResolverFor } from '../../src/whatsapp/templates.js';
import { seedClients, settingsFor, silent, T0 } from '../notifications/support.js';
import { testConfig } from '../support/app.js';
import { describeEachDb } from '../support/db.js';

/**
 * WhatsApp through the real dispatcher (issue 10 "Done when"): window → free text or template,
 * 131026 marks the client and is never retried, a 130429 storm pauses the channel and loses nothing.
 */
describeEachDb('WhatsApp through the dispatcher (issue 10)', (ctx) => {
  const clock = createManualClock(T0);
  let standin: WhatsAppStandin;
  let n = 0;

  async function waClient(opts: { wroteAgoMs?: number } = {}): Promise<{ id: number; number: string }> {
    const number = `5939${String(20_000_000 + ++n).slice(-8)}`;
    const [id] = await seedClients(ctx.db, [{ nombre: `Cliente WA ${n}` }]);
    await ctx.db.query('UPDATE clients SET whatsapp = $2, whatsapp_ventana_hasta = $3 WHERE id = $1', [
      id,
      number,
      opts.wroteAgoMs === undefined
        ? null
        : new Date(clock.now().getTime() - opts.wroteAgoMs + 24 * 3600_000),
    ]);
    await recordConsents(ctx.db, [
      {
        clientId: id!,
        canal: 'whatsapp',
        categoria: 'servicio',
        otorgado: true,
        fuente: 'contrato',
        at: clock.now(),
      },
    ]);
    return { id: id!, number };
  }

  function dispatcher(s: WhatsAppStandin, rate = 100): Dispatcher {
    const client = createWhatsAppClient({
      token: s.token,
      phoneNumberId: s.phoneNumberId,
      apiRoot: s.url,
      apiVersion: 'v23.0',
      timeoutMs: 5000,
    });
    return createDispatcher({
      db: ctx.db,
      channels: createChannelRegistry([
        createWhatsAppAdapter({ client, ratePerSecond: rate, dailyLimit: 1000 }),
      ]),
      resolveTemplate: templateResolverFor(ctx.db),
      clock,
      logger: silent,
      settings: settingsFor(),
      options: { ratePerSecond: 1000, perChatPerSecond: 50, concurrency: 16, maxAttempts: 6, idleMs: 20 },
    });
  }

  const welcome = (clientId: number) =>
    enqueue(
      ctx.db,
      [{ client_id: clientId, tipo: 'bienvenida', dedupe_key: `bienvenida:wa:${clientId}` }],
      clock.now(),
    );

  beforeAll(async () => {
    standin = await startWhatsAppStandin({ pairIntervalMs: 0 });
    const client = createWhatsAppClient({
      token: standin.token,
      phoneNumberId: standin.phoneNumberId,
      businessAccountId: standin.businessAccountId,
      apiRoot: standin.url,
      apiVersion: 'v23.0',
    });
    await createTemplateSync({ db: ctx.db, client, clock, logger: silent }).runOnce();
  });
  afterAll(() => standin.close());
  beforeEach(() => standin.clearFaults());

  it('a client who wrote 2 h ago gets free text; one who wrote 2 days ago gets the approved template', async () => {
    const recent = await waClient({ wroteAgoMs: 2 * 3600_000 });
    const old = await waClient({ wroteAgoMs: 2 * 24 * 3600_000 });
    await standin.clientSends(recent.number, 'hola'); // the stand-in's own window, as Meta's
    await welcome(recent.id);
    await welcome(old.id);
    const r = await dispatcher(standin).runOnce();
    expect(r.enviadas).toBe(2);
    const [toRecent] = standin.messages.filter((m) => m.to === recent.number);
    const [toOld] = standin.messages.filter((m) => m.to === old.number);
    expect(toRecent).toMatchObject({ type: 'text' });
    expect(toRecent!.text).toContain('Cliente WA');
    expect(toOld).toMatchObject({ type: 'template', template: { name: 'bienvenida', language: 'es' } });
    expect(toOld!.template!.params[0]).toContain('Cliente WA');
    const envios = await ctx.db.query<{ estado: string; proveedor_id: string }>(
      `SELECT e.estado, e.proveedor_id FROM notification_envios e JOIN notifications n ON n.id = e.notification_id
        WHERE n.client_id = ANY($1::int[]) ORDER BY e.id`,
      [[recent.id, old.id]],
    );
    expect(envios.rows.map((e) => e.proveedor_id).sort()).toEqual([toRecent!.wamid, toOld!.wamid].sort());
  });

  it('131026 marks the client unreachable on WhatsApp for 30 days and is never retried', async () => {
    const c = await waClient();
    standin.failRecipient(c.number, { code: 131026 });
    const [id] = await welcome(c.id);
    const d = dispatcher(standin);
    const r = await d.runOnce();
    expect(r.fallidas).toBe(1);
    const row = (
      await ctx.db.query<{ estado: string; motivo: string }>(
        'SELECT estado, motivo FROM notifications WHERE id = $1',
        [id],
      )
    ).rows[0]!;
    expect(row).toEqual({ estado: 'fallido', motivo: 'whatsapp_inalcanzable' });
    const client = (
      await ctx.db.query<{ whatsapp_inalcanzable: string; whatsapp_inalcanzable_hasta: Date }>(
        'SELECT whatsapp_inalcanzable, whatsapp_inalcanzable_hasta FROM clients WHERE id = $1',
        [c.id],
      )
    ).rows[0]!;
    expect(client.whatsapp_inalcanzable).toContain('131026');
    expect(client.whatsapp_inalcanzable_hasta.getTime()).toBe(clock.now().getTime() + 30 * 24 * 3600_000);
    const calls = () => standin.calls.filter((x) => x.errorCode === 131026).length;
    const before = calls();
    await welcome(c.id); // same dedupe key: nothing new
    clock.advance(60 * 60_000);
    await d.runOnce();
    expect(calls()).toBe(before);
  });

  it('a 130429 storm pauses the channel and loses nothing', async () => {
    const slow = await startWhatsAppStandin({ ratePerSecond: 4, burst: 1, pairIntervalMs: 0 });
    try {
      const clients = [];
      for (let i = 0; i < 12; i++) clients.push(await waClient({ wroteAgoMs: 3600_000 }));
      for (const c of clients) await slow.clientSends(c.number, 'hola');
      const ids = (await Promise.all(clients.map((c) => welcome(c.id)))).flat();
      const d = dispatcher(slow, 100); // we believe in 100/s, Meta allows 4/s
      const deadline = Date.now() + 40_000;
      let limited = 0;
      while (Date.now() < deadline) {
        const r = await d.runOnce();
        limited += r.limitadas;
        const left = await ctx.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM notifications WHERE id = ANY($1::bigint[]) AND estado = 'pendiente'`,
          [ids],
        );
        if (left.rows[0]!.n === 0) break;
        clock.advance(5000);
        await new Promise((res) => setTimeout(res, 100));
      }
      expect(slow.errorCounts.get(130429) ?? 0).toBeGreaterThan(0);
      const states = await ctx.db.query<{ estado: string; intentos: number }>(
        'SELECT estado, intentos FROM notifications WHERE id = ANY($1::bigint[])',
        [ids],
      );
      expect(states.rows.every((s) => s.estado === 'enviado')).toBe(true);
      // Each client got its message exactly once.
      expect(new Set(slow.messages.map((m) => m.to)).size).toBe(12);
      expect(slow.messages).toHaveLength(12);
      expect(limited).toBeGreaterThan(0);
    } finally {
      await slow.close();
    }
  }, 60_000);

  it('a free text Meta fails later with 131047 (webhook) goes again as the template', async () => {
    // Our database believes the client wrote 2 h ago; WhatsApp does not (no message in its window).
    const c = await waClient({ wroteAgoMs: 2 * 3600_000 });
    const config = testConfig({
      WHATSAPP_TOKEN: standin.token,
      WHATSAPP_PHONE_NUMBER_ID: standin.phoneNumberId,
      WHATSAPP_APP_SECRET: standin.appSecret,
      WHATSAPP_API_ROOT: standin.url,
    });
    const whatsapp = createWhatsAppService({
      db: ctx.db,
      config: config.whatsapp as typeof config.whatsapp & { token: string; phoneNumberId: string },
      clock,
      logger: silent,
    });
    const app = await buildApi({ db: ctx.db, config, logger: silent, clock, adminTokens: [], whatsapp });
    try {
      const address = await app.listen({ port: 0, host: '127.0.0.1' });
      standin.setWebhookUrl(`${address}/api/whatsapp/webhook`);
      const [id] = await welcome(c.id);
      const d = dispatcher(standin);
      expect((await d.runOnce()).enviadas).toBe(1);
      await standin.idle();
      const mine = () => standin.messages.filter((m) => m.to === c.number);
      expect(mine().map((m) => m.type)).toEqual(['text']);
      const back = await ctx.db.query<{ estado: string }>('SELECT estado FROM notifications WHERE id = $1', [
        id,
      ]);
      expect(back.rows[0]!.estado).toBe('pendiente');
      clock.advance(60_000);
      await d.runOnce();
      await standin.idle();
      expect(mine().map((m) => m.type)).toEqual(['text', 'template']);
      expect(mine()[1]!.template!.name).toBe('bienvenida');
      const end = await ctx.db.query<{ estado: string }>('SELECT estado FROM notifications WHERE id = $1', [
        id,
      ]);
      expect(['enviado', 'entregado', 'leido']).toContain(end.rows[0]!.estado);
    } finally {
      standin.setWebhookUrl(undefined);
      await app.close();
    }
  });
});
