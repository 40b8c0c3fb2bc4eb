import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/index.js';
import { completeMany, enqueue, listEnvios } from '../../src/notifications/outbox.js';
import { ingestSmsReport } from '../../src/sms/delivery-reports.js';
import { ingestWebhook, parseWebhook } from '../../src/whatsapp/webhook.js';
import { createTestDb } from '../support/db.js';
import { seedClients } from './support.js';

/**
 * A delivery status that overtakes the send's own commit is parked, and the send's commit replays
 * the parked ones. When the webhook's transaction and the send's commit each look before the other
 * has committed, both miss: the status stayed parked and a late failure never moved its notice on
 * (CI saw it once: a WhatsApp 131026 that never fell back to SMS). The webhook now looks again
 * after its own commit. The interleaving needs two connections at once, so PostgreSQL only (PGlite
 * runs one transaction at a time, where the two cannot interleave).
 */
describe('a status that overtakes the send, both sides committing at once [postgres]', () => {
  const at = new Date('2026-03-10T15:00:00Z');
  let db: Db;
  let clientId: number;
  let seq = 0;

  beforeAll(async () => {
    db = await createTestDb('postgres');
    clientId = (await seedClients(db, [{ nombre: 'Ana' }]))[0]!;
    await db.query(`UPDATE clients SET whatsapp = '593987650001' WHERE id = $1`, [clientId]);
  });
  afterAll(async () => {
    await db?.close();
  });

  /** The same database, whose first transaction runs `hook` (on other connections) just before committing. */
  const committingAfter = (hook: () => Promise<void>): Db => {
    let pending: (() => Promise<void>) | undefined = hook;
    return {
      ...db,
      query: db.query.bind(db),
      transaction: (fn, opts) =>
        db.transaction(async (tx) => {
          const r = await fn(tx);
          const h = pending;
          pending = undefined;
          await h?.();
          return r;
        }, opts),
    };
  };

  /** A notice claimed and sent on `canal` whose send is recorded by `record()` (not yet). */
  async function inFlight(canal: 'whatsapp' | 'sms', proveedorId: string) {
    const [id] = await enqueue(
      db,
      [{ client_id: clientId, tipo: 'manual', mensaje: 'Hola', dedupe_key: `race-${++seq}` }],
      at,
    );
    const { rows } = await db.query<{ id: string }>(`SELECT nextval('notification_envios_id_seq') AS id`);
    const envioId = Number(rows[0]!.id);
    const record = () =>
      completeMany(db, 'w1', [
        {
          kind: 'sent',
          id: id!,
          at,
          messageId: null,
          chatId: null,
          text: 'Hola',
          envio: {
            id: envioId,
            canal,
            destino: '593987650001',
            startedAt: at,
            proveedorId,
            reportsDelivery: true,
          },
        },
      ]);
    return { id: id!, record };
  }
  const envio = async (id: number) => (await listEnvios(db, [id])).get(id)![0]!;

  it('WhatsApp: a failed status parked while the send commits is applied and settled (the client is marked)', async () => {
    const n = await inFlight('whatsapp', 'wamid.race1');
    const body = {
      object: 'whatsapp_business_account',
      entry: [
        {
          id: 'waba',
          changes: [
            {
              field: 'messages',
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: '593990000000', phone_number_id: '1' },
                statuses: [
                  {
                    id: 'wamid.race1',
                    status: 'failed',
                    timestamp: String(at.getTime() / 1000 + 1),
                    recipient_id: '593987650001',
                    errors: [{ code: 131026, title: 'Message undeliverable' }],
                  },
                ],
              },
            },
          ],
        },
      ],
    };
    let overtaken: unknown[] = [];
    // The webhook parks the status; before it commits, the send commits and replays the parking
    // (finding nothing: the parked row is not committed yet).
    const result = await ingestWebhook(
      {
        db: committingAfter(async () => {
          overtaken = await n.record();
        }),
        clock: { now: () => at },
      },
      parseWebhook(body, at),
    );
    expect(overtaken).toEqual([]);
    expect(result.unknown).toEqual(['wamid.race1']);
    expect(await envio(n.id)).toMatchObject({ estado: 'fallido', error_codigo: '131026' });
    expect(result.failed.map((f) => f.proveedorId)).toEqual(['wamid.race1']);
    const c = await db.query<{ whatsapp_inalcanzable: string | null }>(
      'SELECT whatsapp_inalcanzable FROM clients WHERE id = $1',
      [clientId],
    );
    expect(c.rows[0]!.whatsapp_inalcanzable).toContain('131026');
    const parked = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM delivery_status_parked');
    expect(parked.rows[0]!.n).toBe(0);
  });

  it('SMS: a delivery report parked while the send commits is applied ("aplicado")', async () => {
    const n = await inFlight('sms', 'sms-race-2');
    const r = await ingestSmsReport(
      {
        db: committingAfter(async () => {
          await n.record();
        }),
        clock: { now: () => at },
      },
      { id: 'sms-race-2', estado: 'entregado' },
    );
    expect(r).toBe('aplicado');
    expect(await envio(n.id)).toMatchObject({ estado: 'entregado' });
    const s = await db.query<{ estado: string }>('SELECT estado FROM notifications WHERE id = $1', [n.id]);
    expect(s.rows[0]!.estado).toBe('entregado');
  });
});
