import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { classifyWhatsAppFailure } from '../../src/whatsapp/classify.js';
import { createWhatsAppClient, type WhatsAppClient } from '../../src/whatsapp/graph.js';
import { verifyWebhookSignature } from '../../src/whatsapp/signature.js';
import { startWhatsAppStandin, type WhatsAppStandin } from '../../src/whatsapp/standin/index.js';
import { parseWebhook } from '../../src/whatsapp/webhook.js';

/** A webhook receiver on 127.0.0.1 that checks every signature like the service does. */
async function startReceiver(secret: () => string) {
  const bodies: { json: unknown; signed: boolean }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const signed = verifyWebhookSignature(secret(), raw, req.headers['x-hub-signature-256'] as string);
      bodies.push({ json: JSON.parse(raw.toString()), signed });
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return {
    url,
    bodies,
    statuses: () => bodies.flatMap((b) => parseWebhook(b.json, new Date()).statuses),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('WhatsApp Cloud API client against the stand-in (issue 10 §3, §9)', () => {
  let standin: WhatsAppStandin;
  let client: WhatsAppClient;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const to = (n: number) => `5939${String(n).padStart(8, '0')}`;

  beforeAll(async () => {
    receiver = await startReceiver(() => standin.appSecret);
    standin = await startWhatsAppStandin({
      webhookUrl: receiver.url,
      pairIntervalMs: 6000,
      ratePerSecond: 1000,
    });
    client = createWhatsAppClient({
      token: standin.token,
      phoneNumberId: standin.phoneNumberId,
      businessAccountId: standin.businessAccountId,
      apiRoot: standin.url,
      apiVersion: 'v23.0',
    });
  });
  afterAll(async () => {
    await standin.close();
    await receiver.close();
  });
  afterEach(() => standin.clearFaults());

  it('a template goes out with a wamid; signed statuses sent → delivered → read follow', async () => {
    const r = await client.sendTemplate(to(1), {
      name: 'recordatorio_pago',
      language: 'es',
      params: ['Ana', '$25,00', '30/11/2026', '5'],
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.providerId).toMatch(/^wamid\./);
    await standin.idle();
    const mine = receiver.statuses().filter((s) => s.wamid === r.providerId);
    expect(mine.map((s) => s.estado)).toEqual(['enviado', 'entregado', 'leido']);
    expect(receiver.bodies.every((b) => b.signed)).toBe(true);
    expect(standin.thread(to(1))[0]?.text).toContain(
      'Hola Ana, le recordamos que el pago de su servicio de internet por $25,00',
    );
  });

  // Separate POSTs a few ms apart could overtake each other on a busy machine (the test above once
  // read sent, read, delivered): a message's next status waits until the webhook answered the last.
  it("one message's statuses are POSTed one after another, each once the last was answered", async () => {
    const arrivals: { estado: string; at: number }[] = [];
    let deliveredAnsweredAt = Number.POSITIVE_INFINITY;
    const slow: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const statuses = parseWebhook(JSON.parse(Buffer.concat(chunks).toString()), new Date()).statuses;
        for (const st of statuses) arrivals.push({ estado: st.estado, at: performance.now() });
        // The webhook takes its time over "delivered".
        const hold = statuses.some((st) => st.estado === 'entregado') ? 150 : 0;
        setTimeout(() => {
          if (hold) deliveredAnsweredAt = performance.now();
          res.writeHead(200).end('{}');
        }, hold);
      });
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    const own = await startWhatsAppStandin({
      webhookUrl: `http://127.0.0.1:${(slow.address() as AddressInfo).port}/hook`,
      statusDelaysMs: { sent: 0, delivered: 0, read: 0 },
    });
    try {
      const c = createWhatsAppClient({
        token: own.token,
        phoneNumberId: own.phoneNumberId,
        businessAccountId: own.businessAccountId,
        apiRoot: own.url,
        apiVersion: 'v23.0',
      });
      const r = await c.sendTemplate(to(9), {
        name: 'recordatorio_pago',
        language: 'es',
        params: ['Ana', '$25,00', '30/11/2026', '5'],
      });
      expect(r.ok).toBe(true);
      await own.idle();
      expect(arrivals.map((a) => a.estado)).toEqual(['enviado', 'entregado', 'leido']);
      expect(arrivals[2]!.at).toBeGreaterThanOrEqual(deliveredAnsweredAt);
    } finally {
      await own.close();
      await new Promise<void>((r) => slow.close(() => r()));
    }
  });

  it('free text: inside the window it is delivered; outside, accepted then failed 131047 by webhook', async () => {
    await standin.clientSends(to(2), 'Hola');
    const inside = await client.sendText(to(2), 'Respuesta dentro de la ventana');
    const outside = await client.sendText(to(3), 'Texto fuera de la ventana');
    expect(inside.ok && outside.ok).toBe(true);
    await standin.idle();
    const byId = (id: string) => receiver.statuses().filter((s) => s.wamid === id);
    if (!inside.ok || !outside.ok) return;
    expect(byId(inside.providerId).at(-1)?.estado).toBe('leido');
    const failed = byId(outside.providerId);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      estado: 'fallido',
      failure: { code: '131047' },
      verdict: { action: 'template' },
    });
  });

  it('template mistakes come back as Graph errors the classifier fails with a Spanish reason', async () => {
    const cases = [
      [{ name: 'recordatorio_pago', language: 'es', params: ['Ana'] }, '132000'],
      [{ name: 'no_existe', language: 'es', params: [] }, '132001'],
      [{ name: 'recordatorio_pago', language: 'en', params: [] }, '132001'],
      [{ name: 'pago_recibido', language: 'es', params: ['Ana', '', 'x'] }, '131008'],
    ] as const;
    for (const [t, code] of cases) {
      const r = await client.sendTemplate(to(4), { ...t, params: [...t.params] });
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      expect(r.failure.code).toBe(code);
      expect(r.failure.httpStatus).toBe(400);
      expect(classifyWhatsAppFailure(r.failure).action).toBe('fail');
    }
    await standin.setTemplate(
      { name: 'oferta', language: 'es', status: 'PAUSED', category: 'MARKETING', body: 'Hola {{1}}, {{2}}' },
      { notify: false },
    );
    const paused = await client.sendTemplate(to(5), { name: 'oferta', language: 'es', params: ['Ana', 'x'] });
    expect(!paused.ok && paused.failure.code).toBe('132015');
  });

  it('pair rate: a second message to the same number within 6 s is 131056 (retry ≥ 6 s)', async () => {
    const t = { name: 'bienvenida', language: 'es', params: ['Ana', 'TelTec'] };
    expect((await client.sendTemplate(to(6), t)).ok).toBe(true);
    const second = await client.sendTemplate(to(6), t);
    expect(second.ok).toBe(false);
    if (second.ok) return;
    expect(second.failure.code).toBe('131056');
    expect(classifyWhatsAppFailure(second.failure)).toMatchObject({ action: 'retry', minDelayMs: 6000 });
  });

  it('injected errors per recipient, now or by webhook; 131026 marks the client unreachable', async () => {
    standin.failRecipient(to(7), { code: 131026 });
    const now = await client.sendTemplate(to(7), { name: 'bienvenida', language: 'es', params: ['A', 'B'] });
    expect(!now.ok && classifyWhatsAppFailure(now.failure)).toMatchObject({
      action: 'fail',
      unreachable: { days: 30 },
    });
    standin.failRecipient(to(8), { code: 131050, mode: 'status' });
    const later = await client.sendTemplate(to(8), {
      name: 'bienvenida',
      language: 'es',
      params: ['A', 'B'],
    });
    expect(later.ok).toBe(true);
    await standin.idle();
    const s = receiver.statuses().find((x) => later.ok && x.wamid === later.providerId);
    expect(s).toMatchObject({ estado: 'fallido', verdict: { action: 'fail', optOut: 'marketing' } });
  });

  it('a wrong token is 190 → stop, and the token never appears in the failure', async () => {
    const bad = createWhatsAppClient({
      token: `${standin.token}x`,
      phoneNumberId: standin.phoneNumberId,
      apiRoot: standin.url,
      apiVersion: 'v23.0',
    });
    const r = await bad.sendText(to(9), 'x');
    expect(!r.ok && r.failure.code).toBe('190');
    expect(!r.ok && classifyWhatsAppFailure(r.failure).action).toBe('stop');
    expect(JSON.stringify(r)).not.toContain(standin.token);
  });

  it('network errors are their own kind (retry)', async () => {
    const dead = createWhatsAppClient({
      token: standin.token,
      phoneNumberId: standin.phoneNumberId,
      apiRoot: 'http://127.0.0.1:1',
      apiVersion: 'v23.0',
      timeoutMs: 2000,
    });
    const r = await dead.sendText(to(10), 'x');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.failure.network).toBe(true);
    expect(classifyWhatsAppFailure(r.failure).action).toBe('retry');
  });

  it('lists templates across pages and reads the number', async () => {
    for (let i = 0; i < 130; i++) {
      await standin.setTemplate(
        { name: `extra_${i}`, language: 'es', status: 'APPROVED', category: 'UTILITY', body: 'Hola {{1}}' },
        { notify: false },
      );
    }
    const r = await client.listTemplates();
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.length).toBe(standin.templates().length);
    expect(r.value.find((t) => t.name === 'pago_vencido')?.status).toBe('APPROVED');
    for (let i = 0; i < 130; i++) standin.removeTemplate(`extra_${i}`, 'es');
    const n = await client.phoneNumber();
    expect(n.ok && n.value.quality_rating).toBe('GREEN');
  });
});

describe('WhatsApp stand-in limits (issue 10 §4, §9)', () => {
  it('enforces the global rate with 130429 (a pause for the whole channel)', async () => {
    const standin = await startWhatsAppStandin({ ratePerSecond: 5, burst: 1, pairIntervalMs: 0 });
    const client = createWhatsAppClient({
      token: standin.token,
      phoneNumberId: standin.phoneNumberId,
      apiRoot: standin.url,
      apiVersion: 'v23.0',
    });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        client.sendTemplate(`59399000${String(i).padStart(4, '0')}`, {
          name: 'bienvenida',
          language: 'es',
          params: ['A', 'B'],
        }),
      ),
    );
    const limited = results.filter((r) => !r.ok && r.failure.code === '130429');
    expect(limited.length).toBeGreaterThan(0);
    expect(!limited[0]!.ok && classifyWhatsAppFailure(limited[0]!.failure).action).toBe('pause');
    await standin.close();
  });

  it('enforces the daily tier of unique business-initiated users (131048), not inside the window', async () => {
    const standin = await startWhatsAppStandin({ dailyLimit: 2, pairIntervalMs: 0 });
    const client = createWhatsAppClient({
      token: standin.token,
      phoneNumberId: standin.phoneNumberId,
      apiRoot: standin.url,
      apiVersion: 'v23.0',
    });
    const t = { name: 'bienvenida', language: 'es', params: ['A', 'B'] };
    expect((await client.sendTemplate('593990000001', t)).ok).toBe(true);
    expect((await client.sendTemplate('593990000002', t)).ok).toBe(true);
    expect((await client.sendTemplate('593990000001', t)).ok).toBe(true); // same user: not a new one
    const third = await client.sendTemplate('593990000003', t);
    expect(!third.ok && third.failure.code).toBe('131048');
    await standin.clientSends('593990000004', 'hola');
    expect((await client.sendTemplate('593990000004', t)).ok).toBe(true); // inside the window
    await standin.close();
  });
});
