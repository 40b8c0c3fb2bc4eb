import { expect, it } from 'vitest';
import { receiptWaitsJob } from '../../src/bot/index.js';
import { seedClients } from '../notifications/support.js';
import { describeEachDb } from '../support/db.js';

/**
 * Issue 13 (left by the last session): "Ya pagué" waits older than the step's time (1 h) are read as
 * absent and were never deleted. The nightly housekeeping job deletes them; a fresh one stays.
 */
describeEachDb('housekeeping of "Ya pagué" waits', (ctx) => {
  it('deletes waits older than an hour, keeps the fresh ones', async () => {
    const [a, b] = await seedClients(ctx.db, [{ nombre: 'Ana' }, { nombre: 'Beto' }]);
    const now = new Date('2026-03-10T08:20:00Z');
    await ctx.db.query(
      `INSERT INTO whatsapp_receipt_waits (telefono, client_id, desde) VALUES
         ('593987650201', $1, $3::timestamptz - interval '3 days'),
         ('593987650202', $2, $3::timestamptz - interval '61 minutes'),
         ('593987650203', $2, $3::timestamptz - interval '10 minutes')`,
      [a, b, now],
    );
    const job = receiptWaitsJob();
    expect(job.internal).toBe(true);
    expect(await job.run(ctx.db, { slot: now, now })).toEqual({ borradas: 2 });
    const { rows } = await ctx.db.query<{ telefono: string }>(
      'SELECT telefono FROM whatsapp_receipt_waits ORDER BY telefono',
    );
    expect(rows.map((r) => r.telefono)).toEqual(['593987650203']);
  });
});
