import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectWhatsAppReplies } from '../../src/bot/index.js';
import { createChannelRegistry } from '../../src/channels/index.js';
import { recordConsents } from '../../src/clients/consents.js';
import { createManualClock } from '../../src/clock.js';
import { buildApi } from '../../src/http/app.js';
import type { App } from '../../src/http/types.js';
import { compose } from '../../src/notifications/compose.js';
import {
  createDispatcher,
  type Dispatcher,
  type EngineSettings,
  generatePaymentNotices,
  toEngineSettings,
} from '../../src/notifications/index.js';
import { defaultTemplates } from '../../src/notifications/templates.js';
import type { NotificationType } from '../../src/notifications/types.js';
import { createWhatsAppService } from '../../src/whatsapp/service.js';
import {
  type StandinMessage,
  startWhatsAppStandin,
  type WhatsAppStandin,
} from '../../src/whatsapp/standin/index.js';
import { templateResolverFor } from '../../src/whatsapp/templates.js';
import { createPlan, seedClients, settingsFor, silent } from '../notifications/support.js';
import { auth, TEST_ADMIN_TOKEN, testConfig } from '../support/app.js';
import { describeEachDb } from '../support/db.js';

/**
 * Issue 13 §1–§2 on WhatsApp, through the Cloud API stand-in (signed webhooks, the real app, the
 * real dispatcher): payment notices carry the three buttons — quick replies in the template, reply
 * buttons inside the window —; "Ya pagué" + an image → receipt pending → staff approve → exactly
 * one confirmation; "Pagaré el…" records the promise; a forged payload does nothing and is logged;
 * a 12 MB file and an executable renamed .jpg are refused.
 */

const POLL = { timeout: 15_000 };
const JPEG = (seed: number) =>
  Buffer.concat([
    Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]),
    Buffer.from(`JFIF foto ${seed} `.repeat(50)),
  ]);
const EXE = () => Buffer.concat([Buffer.from('MZ\x90\x00\x03\x00\x00\x00'), Buffer.alloc(4000, 7)]);
const BIG = () => Buffer.concat([JPEG(99), Buffer.alloc(12 * 1024 * 1024, 1)]);

describe('Which notices carry the payment buttons', () => {
  it('reminders, overdue notices and the pre-suspension notice; not the other service notices', () => {
    const client = {
      nombre: 'Ana',
      plan_id: null,
      plan: 'Hogar',
      precio: 25,
      velocidad: 50,
      vencimiento: '2026-03-01',
      monto_adeudado: 25,
      link_verified: true,
    };
    const ctx = {
      templates: { resolve: (t: NotificationType) => defaultTemplates[t] },
      today: '2026-03-10',
      settings: settingsFor(),
    };
    const buttonsOf = (tipo: NotificationType) => {
      const r = compose({ id: 7, tipo }, client, ctx, 'telegram');
      return r.ok && r.channel === 'telegram' ? (r.buttons?.flat().map((b) => b.data) ?? []) : null;
    };
    for (const tipo of ['recordatorio_pago', 'pago_vencido', 'aviso_suspension'] as const) {
      expect(buttonsOf(tipo), tipo).toEqual(['pg:y:7', 'pg:p:7', 'pg:c:7']);
    }
    for (const tipo of ['servicio_suspendido', 'servicio_reactivado'] as const) {
      expect(buttonsOf(tipo), tipo).toEqual([]);
    }
  });
});

describe('The stand-in checks the shapes Meta checks', () => {
  let s: WhatsAppStandin;
  beforeAll(async () => {
    s = await startWhatsAppStandin({ pairIntervalMs: 0 });
  });
  afterAll(() => s.close());

  const post = (body: unknown, token = s.token) =>
    fetch(`${s.url}/${s.apiVersion}/${s.phoneNumberId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messaging_product: 'whatsapp', to: '593987650001', ...(body as object) }),
    }).then(async (r) => ({
      status: r.status,
      json: (await r.json()) as { error: { code: number; error_data: { details: string } } },
    }));
  const buttons = (titles: string[]) => ({
    type: 'interactive',
    interactive: {
      type: 'button',
      body: { text: 'Elija' },
      action: { buttons: titles.map((t, i) => ({ type: 'reply', reply: { id: `b${i}`, title: t } })) },
    },
  });
  const template = (components: unknown[]) => ({
    type: 'template',
    template: { name: 'recordatorio_pago', language: { code: 'es' }, components },
  });
  const body = {
    type: 'body',
    parameters: ['Ana', '$25,00', '10/03/2026', '0'].map((text) => ({ type: 'text', text })),
  };
  const quick = (index: string, payload?: string) => ({
    type: 'button',
    sub_type: 'quick_reply',
    index,
    parameters: payload === undefined ? [] : [{ type: 'payload', payload }],
  });

  it('interactive reply buttons: 1 to 3, titles of at most 20 characters, unique', async () => {
    expect((await post(buttons(['Uno', 'Dos', 'Tres']))).status).toBe(200);
    const four = await post(buttons(['Uno', 'Dos', 'Tres', 'Cuatro']));
    expect(four.status).toBe(400);
    expect(four.json.error.code).toBe(131009);
    expect(four.json.error.error_data.details).toContain('buttons count');
    const long = await post(buttons(['Un título de 21 letra']));
    expect(long.json.error).toMatchObject({ code: 131009 });
    expect(long.json.error.error_data.details).toContain('Max length: 20');
    expect((await post(buttons(['Igual', 'Igual']))).json.error.code).toBe(131009);
    expect((await post(buttons([]))).json.error.code).toBe(131009);
  });

  it('template quick-reply parameters: the button must exist and carry one payload', async () => {
    const ok = await post(template([body, quick('0', 'pg:y:1'), quick('1', 'pg:p:1'), quick('2', 'pg:c:1')]));
    expect(ok.status).toBe(200);
    const sent = s.messages.at(-1)!;
    expect(sent.quickReplies).toEqual([
      { text: 'Ya pagué', payload: 'pg:y:1' },
      { text: 'Pagaré el…', payload: 'pg:p:1' },
      { text: 'Cómo pagar', payload: 'pg:c:1' },
    ]);
    const beyond = await post(template([body, quick('3', 'pg:y:1')]));
    expect(beyond.json.error.code).toBe(132000);
    expect(beyond.json.error.error_data.details).toContain('index 3');
    expect((await post(template([body, quick('0')]))).json.error.code).toBe(131008);
    // pago_recibido has no buttons: any button parameter is refused.
    const none = await post({
      type: 'template',
      template: {
        name: 'pago_recibido',
        language: { code: 'es' },
        components: [
          {
            type: 'body',
            parameters: ['Ana', '$25,00', '10/03/2026'].map((text) => ({ type: 'text', text })),
          },
          quick('0', 'x'),
        ],
      },
    });
    expect(none.json.error.code).toBe(132000);
  });

  it('serves a client’s media only with the token: GET /{media-id}, then the URL', async () => {
    const { mediaId } = await s.clientSendsMedia('593987650002', {
      kind: 'image',
      bytes: JPEG(5),
      mime: 'image/jpeg',
    });
    const noToken = await fetch(`${s.url}/${s.apiVersion}/${mediaId}`);
    expect(noToken.status).toBe(401);
    const info = (await (
      await fetch(`${s.url}/${s.apiVersion}/${mediaId}`, { headers: { authorization: `Bearer ${s.token}` } })
    ).json()) as { url: string; file_size: number; mime_type: string; sha256: string };
    expect(info).toMatchObject({ file_size: JPEG(5).length, mime_type: 'image/jpeg' });
    expect((await fetch(info.url)).status).toBe(401);
    expect((await fetch(info.url, { headers: { authorization: 'Bearer otro' } })).status).toBe(401);
    const file = await fetch(info.url, { headers: { authorization: `Bearer ${s.token}` } });
    expect(Buffer.from(await file.arrayBuffer()).equals(JPEG(5))).toBe(true);
  });
});

describeEachDb('Payment loop on WhatsApp (issue 13 §1–§2)', (ctx) => {
  let standin: WhatsAppStandin;
  let app: App;
  let dispatcher: Dispatcher;
  let dataDir: string;
  let planId: number;
  let settings: EngineSettings;
  const clock = createManualClock('2026-03-10T15:00:00Z');
  const logLines: string[] = [];
  let seq = 0;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'teltec-wa-comprobantes-'));
    // The stand-in's clock is the test's: message times and windows follow it.
    standin = await startWhatsAppStandin({ pairIntervalMs: 0, now: () => clock.now().getTime() });
    const config = testConfig({
      DATA_DIR: dataDir,
      WHATSAPP_TOKEN: standin.token,
      WHATSAPP_PHONE_NUMBER_ID: standin.phoneNumberId,
      WHATSAPP_BUSINESS_ACCOUNT_ID: standin.businessAccountId,
      WHATSAPP_APP_SECRET: standin.appSecret,
      WHATSAPP_API_ROOT: standin.url,
      RECEIPT_PAUSE_DAYS: '3',
      PROMISE_GRACE_DAYS: '5',
    });
    // Warnings are kept: a forged button must leave a line.
    const logger = pino({ level: 'warn' }, { write: (line: string) => void logLines.push(line) });
    const service = createWhatsAppService({
      db: ctx.db,
      config: config.whatsapp as typeof config.whatsapp & { token: string; phoneNumberId: string },
      clock,
      logger,
    });
    connectWhatsAppReplies(service, { db: ctx.db, config, clock, logger });
    app = await buildApi({
      db: ctx.db,
      config,
      logger: silent,
      clock,
      adminTokens: [{ name: 'admin', token: TEST_ADMIN_TOKEN }],
      whatsapp: service,
    });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    standin.setWebhookUrl(`${address}/api/whatsapp/webhook`);
    expect(await service.templateSync.runOnce()).toMatchObject({ ok: true });
    settings = toEngineSettings(config);
    dispatcher = createDispatcher({
      db: ctx.db,
      channels: createChannelRegistry([service.adapter]),
      resolveTemplate: templateResolverFor(ctx.db),
      clock,
      logger: silent,
      settings,
      options: { ratePerSecond: 1000, perChatPerSecond: 50, concurrency: 4, maxAttempts: 6, idleMs: 20 },
    });
    planId = await createPlan(ctx.db, `Plan WA pagos ${ctx.kind}`, 25);
  });
  afterAll(async () => {
    await dispatcher.stop({ drainMs: 1000 });
    await standin.idle();
    await app.close();
    await standin.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 120_000);

  const day = (iso: string) => clock.set(`${iso}T15:00:00Z`);

  /** A client on WhatsApp only (consent, number, no Telegram), due on `due`. */
  async function client(due: string) {
    const number = `5939${String(61_000_000 + ++seq + (ctx.kind === 'pglite' ? 0 : 500)).slice(-8)}`;
    const pago = new Date(Date.parse(`${due}T00:00:00Z`) - 30 * 86_400_000).toISOString().slice(0, 10);
    const [id] = await seedClients(ctx.db, [{ nombre: `Cliente WA ${seq}`, pago, planId }]);
    await ctx.db.query('UPDATE clients SET whatsapp = $2 WHERE id = $1', [id, number]);
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
  const outTo = (number: string) => standin.messages.filter((m) => m.to === number);
  /** Generates and sends today's notices; the payment notice that reached `number`. */
  async function noticeTo(number: string, today: string): Promise<StandinMessage> {
    day(today);
    await generatePaymentNotices(ctx.db, settings, { today, now: clock.now() });
    const before = outTo(number).length;
    await dispatcher.runOnce();
    const m = outTo(number).slice(before).at(-1);
    if (!m) throw new Error(`no notice reached ${number}`);
    return m;
  }
  /** Waits for the service's next answer(s) to `number` after `before` messages. */
  async function answersAfter(number: string, before: number): Promise<StandinMessage[]> {
    await expect.poll(() => outTo(number).length, POLL).toBeGreaterThan(before);
    return outTo(number).slice(before);
  }
  /** The client does something; resolves with the service's answer. */
  async function act(number: string, fn: () => Promise<unknown>): Promise<StandinMessage> {
    const before = outTo(number).length;
    await fn();
    const [answer] = await answersAfter(number, before);
    return answer!;
  }
  const receipts = async (clientId: number) =>
    (
      await ctx.db.query<{ id: number; estado: string; tipo_mime: string; chat_id: string | null }>(
        'SELECT id, estado, tipo_mime, chat_id FROM payment_receipts WHERE client_id = $1 ORDER BY id',
        [clientId],
      )
    ).rows;

  it('template quick replies: "Ya pagué" → image → receipt pending → approved once → exactly one confirmation', async () => {
    const c = await client('2026-03-10');
    const notice = await noticeTo(c.number, '2026-03-10');
    // Outside the window: the approved template, its quick replies carrying the notice's payloads.
    // (Due today: the first overdue notice.)
    expect(notice).toMatchObject({ type: 'template', template: { name: 'pago_vencido' } });
    const { rows } = await ctx.db.query<{ id: number }>(
      `SELECT id FROM notifications WHERE client_id = $1 AND tipo = 'pago_vencido'`,
      [c.id],
    );
    const nid = rows[0]!.id;
    expect(notice.quickReplies).toEqual([
      { text: 'Ya pagué', payload: `pg:y:${nid}` },
      { text: 'Pagaré el…', payload: `pg:p:${nid}` },
      { text: 'Cómo pagar', payload: `pg:c:${nid}` },
    ]);

    const how = await act(c.number, () => standin.clientChooses(notice.wamid, 'Cómo pagar'));
    expect(how.rendered).toContain('Para conocer las formas de pago');

    const ask = await act(c.number, () => standin.clientChooses(notice.wamid, 'Ya pagué'));
    expect(ask.rendered).toContain('foto o un PDF');
    const thanks = await act(c.number, () =>
      standin.clientSendsMedia(c.number, { kind: 'image', bytes: JPEG(1), mime: 'image/jpeg' }),
    );
    expect(thanks.rendered).toContain('Recibimos su comprobante');
    const [r] = await receipts(c.id);
    expect(r).toMatchObject({ estado: 'pendiente', tipo_mime: 'image/jpeg', chat_id: null });
    // The pause is open: the next notice is not generated while the receipt is reviewed.
    const paused = await ctx.db.query(
      `SELECT 1 FROM notice_pauses WHERE client_id = $1 AND motivo = 'comprobante' AND ended_at IS NULL`,
      [c.id],
    );
    expect(paused.rows).toHaveLength(1);
    // The file is served to staff as it was sent.
    const archivo = await app.inject({ url: `/api/comprobantes/${r!.id}/archivo`, headers: auth });
    expect(archivo.rawPayload.equals(JPEG(1))).toBe(true);

    // Staff approve (twice): one payment, exactly one confirmation on WhatsApp.
    clock.advance(10 * 60_000);
    const before = outTo(c.number).length;
    const approve = () =>
      app.inject({
        method: 'POST',
        url: `/api/comprobantes/${r!.id}/aprobar`,
        headers: auth,
        payload: { monto: 25, fecha: '2026-03-10', referencia: `WA-${ctx.kind}-1` },
      });
    expect((await approve()).json()).toMatchObject({ nuevo: true, confirmacion: true });
    expect((await approve()).json()).toMatchObject({ nuevo: false });
    await dispatcher.runOnce();
    clock.advance(60_000);
    await dispatcher.runOnce();
    const after = outTo(c.number).slice(before);
    expect(after).toHaveLength(1);
    expect(after[0]!.rendered).toContain('recibimos su pago');
    const pagos = await ctx.db.query('SELECT id FROM payments WHERE client_id = $1', [c.id]);
    expect(pagos.rows).toHaveLength(1);
  });

  it('inside the window: interactive reply buttons; "Pagaré el…" offers the dates and records the promise', async () => {
    const c = await client('2026-03-10');
    day('2026-03-10');
    await act(c.number, () => standin.clientSends(c.number, 'Buenas, ya mismo pago'));
    const notice = await noticeTo(c.number, '2026-03-10');
    expect(notice.type).toBe('interactive');
    expect(notice.interactive!.type).toBe('button');
    expect(notice.interactive!.options.map((o) => o.title)).toEqual([
      '✅ Ya pagué',
      '📅 Pagaré el…',
      '💳 Cómo pagar',
    ]);
    expect(notice.rendered).toContain('regularice su pago');

    const offer = await act(c.number, () => standin.clientChooses(notice.wamid, '📅 Pagaré el…'));
    expect(offer.rendered).toContain('¿Qué día va a pagar?');
    // Due 10/03, grace 5 days: six dates, as a list.
    expect(offer.interactive?.type).toBe('list');
    expect(offer.interactive!.options.map((o) => o.title)).toEqual([
      '10/03/2026',
      '11/03/2026',
      '12/03/2026',
      '13/03/2026',
      '14/03/2026',
      '15/03/2026',
    ]);
    const saved = await act(c.number, () => standin.clientChooses(offer.wamid, '13/03/2026'));
    expect(saved.rendered).toContain('esperamos su pago hasta el 13/03/2026');
    const promises = await ctx.db.query<{ f: string }>(
      'SELECT fecha_prometida::text AS f FROM payment_promises WHERE client_id = $1',
      [c.id],
    );
    expect(promises.rows).toEqual([{ f: '2026-03-13' }]);
    const again = await act(c.number, () => standin.clientChooses(notice.wamid, '📅 Pagaré el…'));
    expect(again.rendered).toContain('Ya nos indicó que pagará el 13/03/2026');
  });

  it('a forged or replayed payload for another client does nothing and is logged', async () => {
    const victim = await client('2026-03-10');
    const notice = await noticeTo(victim.number, '2026-03-10');
    const [payload] = notice.quickReplies!.map((q) => q.payload);
    const intruder = await client('2026-03-10');
    const warnings = () => logLines.filter((l) => l.includes('falsificado')).length;
    const before = warnings();
    const sent = outTo(intruder.number).length;
    // The victim's "Ya pagué" and a date of the victim's notice, from the intruder's number.
    await standin.clientPresses(intruder.number, { payload: payload!, text: 'Ya pagué' });
    await standin.clientTaps(
      intruder.number,
      { id: payload!.replace('pg:y:', 'pg:d:') + ':2026-03-12', title: '12/03/2026' },
      'list',
    );
    // And from a number nobody has.
    await standin.clientPresses('593999999999', { payload: payload!, text: 'Ya pagué' });
    await expect.poll(warnings, POLL).toBe(before + 3);
    await standin.idle();
    expect(outTo(intruder.number)).toHaveLength(sent);
    expect(outTo('593999999999')).toHaveLength(0);
    const waits = await ctx.db.query(
      'SELECT 1 FROM whatsapp_receipt_waits WHERE client_id = ANY($1::int[])',
      [[victim.id, intruder.id]],
    );
    expect(waits.rows).toHaveLength(0);
    const promises = await ctx.db.query('SELECT 1 FROM payment_promises WHERE client_id = ANY($1::int[])', [
      [victim.id, intruder.id],
    ]);
    expect(promises.rows).toHaveLength(0);
    // The intruder's image is not taken as a receipt for anybody.
    const reply = await act(intruder.number, () =>
      standin.clientSendsMedia(intruder.number, { kind: 'image', bytes: JPEG(3), mime: 'image/jpeg' }),
    );
    expect(reply.rendered).toContain('toque «✅ Ya pagué»');
    expect(await receipts(victim.id)).toEqual([]);
    expect(await receipts(intruder.id)).toEqual([]);
  });

  it('a 12 MB file (stated or not) and an executable renamed .jpg are refused', async () => {
    const c = await client('2026-03-10');
    const notice = await noticeTo(c.number, '2026-03-10');
    await act(c.number, () => standin.clientChooses(notice.wamid, 'Ya pagué'));
    // Stated 12 MB: refused before downloading anything.
    let bigId = '';
    const tooBig = await act(c.number, async () => {
      bigId = (await standin.clientSendsMedia(c.number, { kind: 'image', bytes: BIG(), mime: 'image/jpeg' }))
        .mediaId;
    });
    expect(tooBig.rendered).toMatch(/pesa 12,0 MB y el máximo es 10 MB/);
    expect(standin.mediaDownloads).not.toContain(bigId);
    // A 12 MB file whose stated size lies: the download stops past 10 MB.
    const liar = await act(c.number, () =>
      standin.clientSendsMedia(c.number, {
        kind: 'document',
        bytes: BIG(),
        mime: 'application/pdf',
        filename: 'comprobante.pdf',
        statedSize: 2000,
      }),
    );
    expect(liar.rendered).toMatch(/El archivo pesa 10,\d MB y el máximo es 10 MB/);
    // An executable renamed .jpg, claimed as a JPEG image.
    const exe = await act(c.number, () =>
      standin.clientSendsMedia(c.number, {
        kind: 'document',
        bytes: EXE(),
        mime: 'image/jpeg',
        filename: 'foto.jpg',
      }),
    );
    expect(exe.rendered).toContain('Solo aceptamos fotos');
    expect(await receipts(c.id)).toEqual([]);
    // Still waiting for the receipt: a real one is taken.
    const ok = await act(c.number, () =>
      standin.clientSendsMedia(c.number, { kind: 'image', bytes: JPEG(4), mime: 'image/jpeg' }),
    );
    expect(ok.rendered).toContain('Recibimos su comprobante');
    expect(await receipts(c.id)).toHaveLength(1);
  });

  it('an inbox reply to a WhatsApp message goes out on WhatsApp inside the window; after it, a clear 409 with when it closed', async () => {
    const c = await client('2026-04-10');
    clock.set('2026-03-10T15:00:00Z');
    const ack = await act(c.number, () => standin.clientSends(c.number, 'No tengo internet desde ayer'));
    expect(ack.rendered).toContain('Recibimos su mensaje');
    const list = (await app.inject({ url: `/api/mensajes?cliente_id=${c.id}`, headers: auth })).json() as {
      mensajes: { id: number; canal: string; texto: string }[];
    };
    expect(list.mensajes.map((m) => [m.canal, m.texto])).toEqual([
      ['whatsapp', 'No tengo internet desde ayer'],
    ]);
    const answer = (texto: string) =>
      app.inject({
        method: 'POST',
        url: `/api/mensajes/${list.mensajes[0]!.id}/responder`,
        headers: auth,
        payload: { texto },
      });

    clock.advance(2 * 3600_000);
    const ok = await answer('Ya revisamos su línea: reinicie el equipo, por favor.');
    expect(ok.statusCode).toBe(201);
    const before = outTo(c.number).length;
    await dispatcher.runOnce();
    const sent = outTo(c.number).slice(before);
    expect(sent.map((m) => [m.type, m.text])).toEqual([
      ['text', 'Ya revisamos su línea: reinicie el equipo, por favor.'],
    ]);
    const envio = await ctx.db.query<{ canal: string; estado: string }>(
      `SELECT e.canal, n.estado FROM notification_envios e JOIN notifications n ON n.id = e.notification_id
        WHERE n.id = $1`,
      [ok.json().notificacion_id],
    );
    expect(envio.rows).toEqual([
      { canal: 'whatsapp', estado: expect.stringMatching(/enviado|entregado|leido/) },
    ]);
    // Writing to the client from their page takes the same way (no Telegram; wrote on WhatsApp).
    clock.advance(60_000);
    const direct = await app.inject({
      method: 'POST',
      url: `/api/clientes/${c.id}/mensajes`,
      headers: auth,
      payload: { texto: 'Le confirmamos que el técnico pasa mañana.' },
    });
    expect(direct.statusCode, direct.body).toBe(201);
    await dispatcher.runOnce();
    expect(outTo(c.number).at(-1)).toMatchObject({
      type: 'text',
      text: 'Le confirmamos que el técnico pasa mañana.',
    });

    // 25 hours after the client wrote: the window is closed, said with its time; nothing queued.
    clock.set('2026-03-11T16:00:00Z');
    const rows = async () =>
      (await ctx.db.query('SELECT id FROM notifications WHERE client_id = $1', [c.id])).rows.length;
    const queued = await rows();
    const late = await answer('¿Pudo conectarse?');
    expect(late.statusCode).toBe(409);
    expect(late.json().error.code).toBe('WHATSAPP_VENTANA_CERRADA');
    expect(late.json().error.mensaje).toContain('se cerró el 11/03/2026 10:00');
    expect(await rows()).toBe(queued);
  });
});
