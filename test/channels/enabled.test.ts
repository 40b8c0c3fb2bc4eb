import { expect, it } from 'vitest';
import { recordEnabledChannels } from '../../src/channels/index.js';
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
