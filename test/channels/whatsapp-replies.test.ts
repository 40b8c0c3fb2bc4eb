import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectWhatsAppReplies, whatsappKeyword } from '../../src/bot/index.js';
import { createManualClock } from '../../src/clock.js';
import { buildApi } from '../../src/http/app.js';
import type { App } from '../../src/http/types.js';
import { createWhatsAppService } from '../../src/whatsapp/service.js';
import { startWhatsAppStandin, type WhatsAppStandin } from '../../src/whatsapp/standin/index.js';
import { seedClients } from '../notifications/support.js';
import { auth, TEST_ADMIN_TOKEN, testConfig } from '../support/app.js';
import { describeEachDb } from '../support/db.js';

// Issue 10 §7 / issue 11 §4: a client writes on WhatsApp (through the Cloud API stand-in, signed
// webhooks, the real app) and the service answers ESTADO, MIS DATOS, BAJA and the opt-in "SI".
const POLL = { timeout: 10_000 };

it('keywords ignore accents, case and marks; anything else is not a keyword', () => {
  expect(
    ['Sí.', ' si ', 'ACEPTO', 'sí, acepto', 'estado', 'Estado?', 'mis datos', 'BAJA!'].map(whatsappKeyword),
  ).toEqual(['acepto', 'acepto', 'acepto', 'acepto', 'estado', 'estado', 'misdatos', 'baja']);
  expect(['hola', 'si claro que no', '', null, 'estado de cuenta'].map(whatsappKeyword)).toEqual([
    null,
    null,
    null,
    null,
    null,
  ]);
});

describeEachDb('WhatsApp replies: ESTADO, MIS DATOS, BAJA and the opt-in', (ctx) => {
  let standin: WhatsAppStandin;
  let app: App;
  let clientId: number;
  const clock = createManualClock('2026-03-10T15:00:00Z');
  const number = '593987650077';

  /** The client writes; resolves with the service's answers to that message (text of each). */
  async function say(text: string, from = number): Promise<string[]> {
    const before = standin.thread(from).filter((e) => e.direction === 'out').length;
    await standin.clientSends(from, text);
    await standin.idle();
    await expect
      .poll(() => standin.thread(from).filter((e) => e.direction === 'out').length, POLL)
      .toBeGreaterThan(before);
    return standin
      .thread(from)
      .filter((e) => e.direction === 'out')
      .slice(before)
      .map((e) => e.text ?? '');
  }
  const consents = async () =>
    (
      await ctx.db.query<{
        categoria: string;
        otorgado: boolean;
        fuente: string;
        evidencia: string;
        registrado_por: string;
      }>(
        `SELECT categoria, otorgado, fuente, evidencia, registrado_por FROM consents WHERE client_id = $1 ORDER BY id`,
        [clientId],
      )
    ).rows;
  const whatsappReason = async () =>
    (
      await ctx.db.query<{ why: string | null }>(
        `SELECT teltec_channel_reasons(c, $2::timestamptz, false)->>'whatsapp' AS why FROM clients c WHERE id = $1`,
        [clientId, clock.now()],
      )
    ).rows[0]!.why;

  beforeAll(async () => {
    standin = await startWhatsAppStandin({ pairIntervalMs: 0 });
    const config = testConfig({
      WHATSAPP_TOKEN: standin.token,
      WHATSAPP_PHONE_NUMBER_ID: standin.phoneNumberId,
      WHATSAPP_BUSINESS_ACCOUNT_ID: standin.businessAccountId,
      WHATSAPP_APP_SECRET: standin.appSecret,
      WHATSAPP_VERIFY_TOKEN: 'verificacion-de-prueba-123',
      WHATSAPP_API_ROOT: standin.url,
      EMPRESA_NOMBRE: 'TelTec',
      EMPRESA_TELEFONO: '022345678',
    });
    const logger = pino({ level: 'silent' });
    const service = createWhatsAppService({
      db: ctx.db,
      config: config.whatsapp as typeof config.whatsapp & { token: string; phoneNumberId: string },
      clock,
      logger,
    });
    // Wired as main.ts wires it.
    connectWhatsAppReplies(service, { db: ctx.db, config, clock, logger });
    app = await buildApi({
      db: ctx.db,
      config,
      logger,
      clock,
      adminTokens: [{ name: 'admin', token: TEST_ADMIN_TOKEN }],
      whatsapp: service,
    });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    standin.setWebhookUrl(`${address}/api/whatsapp/webhook`);
    clientId = (await seedClients(ctx.db, [{ nombre: 'Rosa Quishpe', pago: '2026-02-20' }]))[0]!;
    await ctx.db.query('UPDATE clients SET whatsapp = $2 WHERE id = $1', [clientId, number]);
  });
  afterAll(async () => {
    // Webhooks in flight first (their answers call the stand-in back), then the app, then the stand-in.
    await standin.idle();
    await app.close();
    await standin.close();
  }, 120_000);

  it('a client who never answered is asked once per message; no consent = no business-initiated WhatsApp', async () => {
    expect(await whatsappReason()).toBe('sin_consentimiento');
    const [question] = await say('Buenas tardes');
    expect(question).toContain('¿Desea recibir sus avisos de pago y del servicio por WhatsApp');
    expect(question).toContain('098 765 0077');
    expect(question).toContain('*SI*');
    expect(await consents()).toEqual([]);
  });

  it('"Sí" records service consent with source whatsapp and the message as evidence', async () => {
    const [answer] = await say('Sí');
    expect(answer).toContain('desde ahora recibirá sus avisos por WhatsApp');
    const rows = await consents();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      categoria: 'servicio',
      otorgado: true,
      fuente: 'whatsapp',
      registrado_por: 'cliente',
    });
    expect(rows[0]!.evidencia).toContain(`WhatsApp ${number}`);
    expect(rows[0]!.evidencia).toContain('«Sí»');
    // The channel policy now lets the business write first; the API and Resumen say so.
    expect(await whatsappReason()).toBeNull();
    const api = (
      await app.inject({ url: `/api/clientes/${clientId}/consentimientos`, headers: auth })
    ).json();
    expect(api.actuales).toMatchObject([
      { canal: 'whatsapp', categoria: 'servicio', otorgado: true, fuente: 'whatsapp' },
    ]);
    // Saying it again records nothing new.
    expect((await say('ACEPTO'))[0]).toContain('Ya recibe sus avisos por WhatsApp');
    expect(await consents()).toHaveLength(1);
    // Once answered, ordinary messages are left to staff: no automatic answer.
    const outBefore = standin.thread(number).filter((e) => e.direction === 'out').length;
    await standin.clientSends(number, 'Tengo una consulta sobre mi factura');
    await standin.idle();
    await new Promise((r) => setTimeout(r, 300));
    expect(standin.thread(number).filter((e) => e.direction === 'out')).toHaveLength(outBefore);
  });

  it('ESTADO answers the /status text from the number on file; an unknown number learns nothing', async () => {
    const [status] = await say('estado');
    expect(status).toContain('Estado de su servicio – Rosa Quishpe');
    expect(status).toContain('Último pago: 20/02/2026');
    const [stranger] = await say('ESTADO', '593999000111');
    expect(stranger).toContain('no está registrado');
    expect(stranger).not.toContain('Rosa');
    // Nothing but a keyword gets an answer from an unknown number.
    await standin.clientSends('593999000111', 'hola');
    await standin.idle();
    await new Promise((r) => setTimeout(r, 300));
    expect(standin.thread('593999000111').filter((e) => e.direction === 'out')).toHaveLength(1);
  });

  it('MIS DATOS shows what the provider holds and the consents', async () => {
    const [data] = await say('Mis datos');
    expect(data).toContain('Sus datos en TelTec');
    expect(data).toContain('Nombre: Rosa Quishpe');
    expect(data).toContain('WhatsApp: 098 765 0077');
    expect(data).toMatch(/WhatsApp, avisos del servicio: sí \(desde el .*respuesta por whatsapp\)/);
    expect(data).toContain('022345678');
  });

  it('BAJA revokes service and offers on WhatsApp; the channel policy stops writing first', async () => {
    const [bye] = await say('BAJA');
    expect(bye).toContain('ya no le enviaremos avisos ni ofertas');
    const rows = await consents();
    expect(
      rows
        .slice(-2)
        .map((r) => `${r.categoria}:${r.otorgado}:${r.fuente}`)
        .sort(),
    ).toEqual(['marketing:false:whatsapp', 'servicio:false:whatsapp']);
    expect(await whatsappReason()).toBe('sin_consentimiento');
    // Answered (no): not asked again.
    const outBefore = standin.thread(number).filter((e) => e.direction === 'out').length;
    await standin.clientSends(number, 'gracias');
    await standin.idle();
    await new Promise((r) => setTimeout(r, 300));
    expect(standin.thread(number).filter((e) => e.direction === 'out')).toHaveLength(outBefore);
    // "SI" brings it back.
    expect((await say('si'))[0]).toContain('desde ahora recibirá');
    expect(await whatsappReason()).toBeNull();
  });
});
