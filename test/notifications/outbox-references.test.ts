import { beforeEach, expect, it } from 'vitest';
import { enqueue, enqueueFrom } from '../../src/notifications/index.js';
import { describeEachDb } from '../support/db.js';
import { seedClients } from './support.js';

// The outbox's references to clients and campaigns are checked once per statement (migration 025
// replaced the two foreign keys, which checked and locked row by row; since 031 the outbox's doors
// check them in their own statements, and generation, which reads each client it writes for, skips it). The guarantees stay those
// of the foreign keys: no notice for a client or campaign that does not exist, a deleted client
// takes its notices with it, a deleted campaign leaves its notices without a campaign.
const now = new Date('2026-03-10T15:00:00Z');

describeEachDb('outbox references', (ctx) => {
  beforeEach(async () => {
    await ctx.db.exec('TRUNCATE notifications, campaigns, clients RESTART IDENTITY CASCADE');
  });

  async function campaign(): Promise<number> {
    const { rows } = await ctx.db.query<{ id: number }>(
      `INSERT INTO campaigns (nombre, tipo, mensaje) VALUES ('Corte programado', 'mantenimiento', 'Aviso') RETURNING id`,
    );
    return rows[0]!.id;
  }

  const count = async () =>
    (await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM notifications')).rows[0]!.n;

  it('a notice for a client or a campaign that does not exist is refused and nothing is queued', async () => {
    const [a] = await seedClients(ctx.db, [{ nombre: 'Ana' }]);
    const k = await campaign();
    const refused = (rows: Parameters<typeof enqueue>[1]) =>
      enqueue(ctx.db, rows, now).then(
        () => null,
        (e: { code?: string; message?: string }) => e,
      );
    const noClient = await refused([
      { client_id: a!, tipo: 'manual', mensaje: 'Hola' },
      { client_id: a! + 1000, tipo: 'manual', mensaje: 'Hola' },
    ]);
    expect(noClient?.code).toBe('23503');
    expect(noClient?.message).toContain('notifications_client_id_fkey');
    const noCampaign = await refused([{ client_id: a!, tipo: 'mantenimiento', campaign_id: k + 1000 }]);
    expect(noCampaign?.code).toBe('23503');
    expect(noCampaign?.message).toContain('notifications_campaign_id_fkey');
    expect(await count()).toBe(0);
    // Moving a notice to a client that does not exist is refused too.
    const [id] = await enqueue(
      ctx.db,
      [{ client_id: a!, tipo: 'manual', mensaje: 'Hola', campaign_id: k }],
      now,
    );
    await expect(
      ctx.db.query('UPDATE notifications SET client_id = $2 WHERE id = $1', [id, a! + 1000]),
    ).rejects.toMatchObject({ code: '23503' });
    expect(await count()).toBe(1);
  });

  it('a set-based enqueue for a client or campaign that does not exist is refused and queues nothing', async () => {
    const [a] = await seedClients(ctx.db, [{ nombre: 'Ana' }]);
    const k = await campaign();
    const from = (clients: number[], campaignId: number) =>
      enqueueFrom(ctx.db, {
        source: `SELECT t.id AS client_id, 'mantenimiento'::text AS tipo, $2::int AS campaign_id,
                        'prueba:' || t.id AS dedupe_key
                   FROM unnest($1::int[]) AS t(id)`,
        params: [clients, campaignId],
        columns: ['client_id', 'tipo', 'campaign_id', 'dedupe_key'],
        now,
      }).then(
        (rows) => rows,
        (e: { code?: string; message?: string }) => e,
      );
    const noClient = await from([a!, a! + 1000], k);
    expect(noClient).toMatchObject({ code: '23503' });
    expect((noClient as { message: string }).message).toContain('notifications_client_id_fkey');
    const noCampaign = await from([a!], k + 1000);
    expect(noCampaign).toMatchObject({ code: '23503' });
    expect((noCampaign as { message: string }).message).toContain('notifications_campaign_id_fkey');
    expect(await count()).toBe(0);
    expect(await from([a!], k)).toEqual([{ creadas: 1 }]);
    expect(await count()).toBe(1);
  });

  it('deleting a client deletes its notices; deleting a campaign keeps its notices without it', async () => {
    const [a, b] = await seedClients(ctx.db, [{ nombre: 'Ana' }, { nombre: 'Beto' }]);
    const k = await campaign();
    await enqueue(
      ctx.db,
      [
        { client_id: a!, tipo: 'mantenimiento', campaign_id: k },
        { client_id: b!, tipo: 'mantenimiento', campaign_id: k },
        { client_id: a!, tipo: 'manual', mensaje: 'Hola' },
      ],
      now,
    );
    await ctx.db.query('DELETE FROM clients WHERE id = $1', [a]);
    const left = async () =>
      (
        await ctx.db.query<{ client_id: number; campaign_id: number | null }>(
          'SELECT client_id, campaign_id FROM notifications ORDER BY id',
        )
      ).rows;
    expect(await left()).toEqual([{ client_id: b!, campaign_id: k }]);
    await ctx.db.query('DELETE FROM campaigns WHERE id = $1', [k]);
    expect(await left()).toEqual([{ client_id: b!, campaign_id: null }]);
  });
});
