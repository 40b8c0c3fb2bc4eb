import { expect, it } from 'vitest';
import { recordEnabledChannels } from '../../src/channels/index.js';
import { generatePaymentNotices, toEngineSettings } from '../../src/notifications/index.js';
import { testConfig } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';

// Reach counts only the channels this deployment has (migration 019): a mobile on file is not
// "reachable by SMS" while no SMS gateway is configured.
describeEachDb('enabled channels in the reach rules', (ctx) => {
  it('a channel not configured reads canal_no_configurado; without the record every channel counts', async () => {
    await ctx.db.query(
      `INSERT INTO clients (cedula, nombre, telefono, telefono_norm, email)
       VALUES ($1, 'Rosa Vera', '0991234567', '593991234567', 'rosa@correo.ec')`,
      [cedulaFor(9301)],
    );
    const reasons = async () =>
      (
        await ctx.db.query<{ r: Record<string, string | null>; alcanzable: boolean }>(
          `SELECT teltec_channel_reasons(c, now(), false) AS r, teltec_reachable(c, now(), false) AS alcanzable
             FROM clients c WHERE c.cedula = $1`,
          [cedulaFor(9301)],
        )
      ).rows[0]!;
    const before = await reasons();
    expect(before.r.sms).toBeNull();
    expect(before.r.email).toBeNull();
    expect(before.alcanzable).toBe(true);

    await recordEnabledChannels(ctx.db, ['telegram', 'whatsapp'], new Date('2026-03-10T15:00:00Z'));
    const after = await reasons();
    expect(after.r.sms).toBe('canal_no_configurado');
    expect(after.r.email).toBe('canal_no_configurado');
    expect(after.r.telegram).not.toBeNull(); // not linked: its own reason, not this one
    expect(after.alcanzable).toBe(false);

    await recordEnabledChannels(ctx.db, ['telegram', 'sms'], new Date('2026-03-10T15:00:00Z'));
    const withSms = await reasons();
    expect(withSms.r.sms).toBeNull();
    expect(withSms.r.whatsapp).toBe('canal_no_configurado');
    expect(withSms.alcanzable).toBe(true);
  });
});

// Generation reads the enabled channels once per statement and passes them in (migration 025):
// the same verdicts as the per-client rule above, including "no channel enabled at all".
describeEachDb('enabled channels in generation', (ctx) => {
  it('a client reachable only by SMS gets its notice while SMS is enabled, and counts as sin_canal otherwise', async () => {
    await ctx.db.exec('TRUNCATE notifications, clients RESTART IDENTITY CASCADE');
    await ctx.db.exec("DELETE FROM settings WHERE key = 'canales.activos'");
    await ctx.db.query(
      `INSERT INTO clients (cedula, nombre, telefono, telefono_norm, fecha_ultimo_pago)
       VALUES ($1, 'Rosa Vera', '0991234567', '593991234567', '2026-02-13')`, // due 2026-03-15
      [cedulaFor(9401)],
    );
    const s = toEngineSettings(testConfig());
    const generate = async (day: string) =>
      (await generatePaymentNotices(ctx.db, s, { today: day, now: new Date(`${day}T13:00:00Z`) })).por_tipo
        .recordatorio_pago;
    const at = new Date('2026-03-10T12:00:00Z');
    await recordEnabledChannels(ctx.db, [], at);
    expect(await generate('2026-03-10')).toMatchObject({ creadas: 0, sin_canal: 1 });
    await recordEnabledChannels(ctx.db, ['telegram', 'whatsapp', 'email'], at);
    expect(await generate('2026-03-11')).toMatchObject({ creadas: 0, sin_canal: 1 });
    await recordEnabledChannels(ctx.db, ['telegram', 'sms'], at);
    expect(await generate('2026-03-12')).toMatchObject({ creadas: 1, sin_canal: 0 });
    // The per-client rule (the re-check's) agrees with what generation used.
    const { rows } = await ctx.db.query<{ a: boolean; b: boolean }>(
      `SELECT teltec_reachable(c, NULL, false) AS a, teltec_reachable(c, NULL, false, ARRAY['telegram']) AS b
         FROM clients c`,
    );
    expect(rows).toEqual([{ a: true, b: false }]);
  });
});
