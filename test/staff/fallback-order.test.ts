import { afterAll, beforeAll, expect, it } from 'vitest';
import { createManualClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config.js';
import { createEmailChannel, createEmailSender, type EmailSender } from '../../src/email/index.js';
import type { App } from '../../src/http/types.js';
import { fallbackRule, storedFallbackRules } from '../../src/notifications/fallback-policy.js';
import { createDispatcher } from '../../src/notifications/index.js';
import { enqueue } from '../../src/notifications/outbox.js';
import { createSettingsProvider } from '../../src/settings/index.js';
import { smsChannelFromConfig } from '../../src/sms/index.js';
import { type SmsGatewayStandin, startSmsGatewayStandin } from '../../src/sms/standin.js';
import { silent } from '../notifications/support.js';
import { testConfig } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';
import { type SmtpStandin, startSmtpStandin } from '../support/smtp-standin.js';
import { buildStaffApp, seedUser } from './support.js';

/** Issue 11 §3: the fallback order is set in Ajustes (default FALLBACK_ORDER), validated, audited, live. */
describeEachDb('fallback order in Ajustes', (ctx) => {
  // Tuesday 10:00 in Guayaquil: inside SEND_WINDOW and SMS_WINDOW.
  const clock = createManualClock('2026-03-10T15:00:00Z');
  let app: App;
  let admin: Awaited<ReturnType<typeof seedUser>>;
  let sms: SmsGatewayStandin;
  let smtp: SmtpStandin;
  let mailer: EmailSender;

  beforeAll(async () => {
    ({ app } = await buildStaffApp(ctx.db, { clock }));
    admin = await seedUser(ctx.db, 'jefa', 'admin');
    sms = await startSmsGatewayStandin();
    smtp = await startSmtpStandin();
    mailer = createEmailSender({ smtpUrl: smtp.url, from: 'TelTec <avisos@teltec.test>', dkim: null });
  });
  afterAll(async () => {
    await app?.close();
    mailer?.close();
    await Promise.all([sms?.close(), smtp?.close()]);
  });

  const patch = (orden: unknown) =>
    app.inject({
      method: 'PATCH',
      url: '/api/ajustes',
      headers: admin.bearer,
      payload: { respaldo: { orden } },
    });

  it('shows FALLBACK_ORDER as the default; refuses a repeated or unknown channel in Spanish and changes nothing', async () => {
    const shown = await app.inject({ url: '/api/ajustes', headers: admin.bearer });
    expect(shown.json().respaldo.orden).toEqual(['telegram', 'whatsapp', 'sms', 'email']);
    for (const [orden, message] of [
      [['sms', 'email', 'sms'], /una sola vez/],
      [['fax'], /telegram, whatsapp, sms o email/],
      [[], /al menos un canal/],
    ] as const) {
      const res = await patch(orden);
      expect(res.statusCode, JSON.stringify(orden)).toBe(422);
      expect(res.json().error.code).toBe('VALIDACION');
      expect(res.json().error.mensaje).toMatch(message);
    }
    expect((await ctx.db.query(`SELECT 1 FROM settings WHERE key LIKE 'ajustes.respaldo%'`)).rows).toEqual(
      [],
    );
  });

  it('a new order is audited and applies to the next notice without a restart', async () => {
    const provider = createSettingsProvider({ db: ctx.db, config: testConfig(), clock, ttlMs: 0 });
    const config = parseConfig({ SMS_GATEWAY_URL: sms.sendUrl, DATA_DIR: '/tmp/teltec-test-unused' });
    const dispatcher = createDispatcher({
      db: ctx.db,
      clock,
      logger: silent,
      settings: await provider.engine(),
      getSettings: () => provider.engine(),
      extraChannels: [
        smsChannelFromConfig(config)!,
        createEmailChannel({
          sender: mailer,
          ratePerSecond: 100,
          unsubscribeUrl: (id) => `http://127.0.0.1/baja/correo?c=${id}&t=x`,
          empresa: () => 'TelTec',
        }),
      ],
      options: { ratePerSecond: 1000, perChatPerSecond: 50, concurrency: 4, maxAttempts: 6, idleMs: 20 },
    });
    try {
      const { rows } = await ctx.db.query<{ id: number }>(
        `INSERT INTO clients (cedula, nombre, telefono_norm, email)
         VALUES ($1, 'Ana', '593991234567', 'ana@correo.test'), ($2, 'Luis', '593997654321', 'luis@correo.test')
         RETURNING id`,
        [cedulaFor(41), cedulaFor(42)],
      );
      const [ana, luis] = rows.map((r) => r.id);
      const send = async (clientId: number) => {
        const [id] = await enqueue(
          ctx.db,
          [{ client_id: clientId, tipo: 'manual', mensaje: 'Corte programado el jueves' }],
          clock.now(),
        );
        await dispatcher.runOnce();
        return (
          await ctx.db.query<{ canal: string; estado: string }>(
            'SELECT canal, estado FROM notifications WHERE id = $1',
            [id],
          )
        ).rows[0];
      };
      // The default order: SMS before e-mail.
      expect(await send(ana!)).toEqual({ canal: 'sms', estado: 'enviado' });

      const res = await patch(['email', 'sms', 'telegram']);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().respaldo.orden).toEqual(['email', 'sms', 'telegram']);
      const audit = await ctx.db.query<{ detalles: { cambios: unknown[] } }>(
        `SELECT detalles FROM audit_log WHERE accion = 'ajustes.cambiar' ORDER BY id DESC LIMIT 1`,
      );
      expect(audit.rows[0]!.detalles.cambios).toEqual([
        {
          campo: 'respaldo.orden',
          antes: ['telegram', 'whatsapp', 'sms', 'email'],
          despues: ['email', 'sms', 'telegram'],
        },
      ]);
      // Same dispatcher, no restart: e-mail first now.
      expect(await send(luis!)).toEqual({ canal: 'email', estado: 'enviado' });
      expect(sms.inbox('593997654321')).toHaveLength(0);
      expect(smtp.mails.filter((m) => m.to.includes('luis@correo.test'))).toHaveLength(1);
    } finally {
      await dispatcher.stop({ drainMs: 1000 });
    }
  });

  it("the rule per kind of notice: the issue's defaults, a bad value refused in Spanish, a change audited and read by the late-failure paths", async () => {
    const shown = (await app.inject({ url: '/api/ajustes', headers: admin.bearer })).json();
    expect(shown.respaldo.reglas).toMatchObject({
      pago_vencido: 'must_deliver',
      aviso_suspension: 'must_deliver',
      servicio_suspendido: 'must_deliver',
      recordatorio_pago: 'one_fallback',
      pago_recibido: 'one_fallback',
      mantenimiento: 'one_fallback',
      oferta: 'no_fallback',
    });
    expect(shown.respaldo.reglas).not.toHaveProperty('invitacion');
    const set = (reglas: unknown) =>
      app.inject({
        method: 'PATCH',
        url: '/api/ajustes',
        headers: admin.bearer,
        payload: { respaldo: { reglas } },
      });
    for (const reglas of [{ pago_vencido: 'siempre' }, { invitacion: 'must_deliver' }]) {
      const bad = await set(reglas);
      expect(bad.statusCode, JSON.stringify(reglas)).toBe(422);
      expect(bad.json().error.code).toBe('VALIDACION');
    }
    expect((await set({ pago_vencido: 'siempre' })).json().error.mensaje).toMatch(/must_deliver/);
    expect(await storedFallbackRules(ctx.db)).toEqual({});

    const ok = await set({ recordatorio_pago: 'must_deliver' });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().respaldo.reglas).toMatchObject({
      recordatorio_pago: 'must_deliver',
      oferta: 'no_fallback',
    });
    const audit = await ctx.db.query<{ detalles: { cambios: unknown[] } }>(
      `SELECT detalles FROM audit_log WHERE accion = 'ajustes.cambiar' ORDER BY id DESC LIMIT 1`,
    );
    expect(audit.rows[0]!.detalles.cambios).toEqual([
      { campo: 'respaldo.reglas.recordatorio_pago', antes: 'one_fallback', despues: 'must_deliver' },
    ]);
    // What the webhook and delivery-report paths read inside their transaction, and the engine's view.
    const rules = await storedFallbackRules(ctx.db);
    expect(rules).toEqual({ recordatorio_pago: 'must_deliver' });
    expect(fallbackRule('recordatorio_pago', false, rules)).toBe('must_deliver');
    expect(fallbackRule('oferta', false, rules)).toBe('no_fallback');
    const provider = createSettingsProvider({ db: ctx.db, config: testConfig(), clock, ttlMs: 0 });
    expect((await provider.engine()).fallbackRules).toMatchObject({ recordatorio_pago: 'must_deliver' });
  });
});
