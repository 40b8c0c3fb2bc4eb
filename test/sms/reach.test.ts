import { expect, it } from 'vitest';
import { recordConsent } from '../../src/clients/consents.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';

/** teltec_channel_reasons (013, extended by 017): SMS and e-mail keys. */
describeEachDb('reachability by SMS and e-mail', (ctx) => {
  const reasons = async (id: number, marketing = false) =>
    (
      await ctx.db.query<{ r: Record<string, string | null> }>(
        `SELECT teltec_channel_reasons(c, $2::timestamptz, $3) AS r FROM clients c WHERE c.id = $1`,
        [id, '2026-03-10T15:00:00Z', marketing],
      )
    ).rows[0]!.r;

  it('a mobile on file is SMS, an address is e-mail; marks, revocations and marketing consent count', async () => {
    const { rows } = await ctx.db.query<{ id: number }>(
      `INSERT INTO clients (cedula, nombre, telefono_norm, email) VALUES
         ($1, 'Con todo', '593991234567', 'ana@cliente.test'),
         ($2, 'Fijo sin correo', '59322345678', NULL) RETURNING id`,
      [cedulaFor(11), cedulaFor(12)],
    );
    const [all, fixed] = rows.map((r) => r.id) as [number, number];
    expect(await reasons(all)).toMatchObject({ sms: null, email: null, telegram: 'sin_telegram' });
    expect(await reasons(fixed)).toMatchObject({ sms: 'sin_celular', email: 'sin_email' });
    // Marketing needs a grant in the ledger.
    expect(await reasons(all, true)).toMatchObject({
      sms: 'sin_consentimiento',
      email: 'sin_consentimiento',
    });
    const at = new Date('2026-03-01T12:00:00Z');
    await recordConsent(ctx.db, {
      clientId: all,
      canal: 'email',
      categoria: 'marketing',
      otorgado: true,
      fuente: 'formulario',
      at,
    });
    expect(await reasons(all, true)).toMatchObject({ email: null, sms: 'sin_consentimiento' });
    // A revoked service consent closes the channel.
    await recordConsent(ctx.db, {
      clientId: all,
      canal: 'sms',
      categoria: 'servicio',
      otorgado: false,
      fuente: 'sms',
      at,
    });
    expect((await reasons(all)).sms).toBe('sin_consentimiento');
    // Unreachable marks, cleared by a new address.
    await ctx.db.query(`UPDATE clients SET email_inalcanzable = 'smtp_permanente' WHERE id = $1`, [all]);
    expect((await reasons(all)).email).toBe('email_inalcanzable');
    await ctx.db.query(`UPDATE clients SET email = 'ana.nueva@cliente.test' WHERE id = $1`, [all]);
    expect((await reasons(all)).email).toBeNull();
    const r = await ctx.db.query<{ ok: boolean }>(
      'SELECT teltec_reachable(c, NULL, false) AS ok FROM clients c WHERE id = $1',
      [fixed],
    );
    expect(r.rows[0]!.ok).toBe(false);
  });
});
