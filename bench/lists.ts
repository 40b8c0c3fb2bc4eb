import { pino } from 'pino';
import { createManualClock } from '../src/clock.js';
import { buildApi } from '../src/http/app.js';
import { auth, TEST_ADMIN_TOKEN, testConfig } from '../test/support/app.js';
import { benchDb, fmt, heading, line, seedManyClients } from './engine-support.js';

const NOTICES = 300_000;
const MESSAGES = 50_000;
const CLIENTS = 100_000;
const NOW = '2026-03-31T15:00:00Z';
const GOAL_MS = 100;

/**
 * `npm run bench -- listas`: the admin lists over a long history on PGlite, through the API (the
 * embedded database answers nothing else while one of them runs, so each is a pause for the
 * webhooks and the sender): notifications with 300,000 in the history, the inbox with 50,000
 * incoming messages (two thirds answered), the clients list over 100,000 clients (first and last
 * page, a payment-state filter, a search), and the Resumen's statistics. Median of 5.
 * Goal for a page of a list: ≤ 100 ms, as for /health during an export (issue 16 §2).
 */
export async function run(): Promise<void> {
  heading(
    `Listas con historial largo en PGlite: ${fmt(NOTICES)} notificaciones, ${fmt(MESSAGES)} mensajes, ${fmt(CLIENTS)} clientes (meta por página ≤ ${GOAL_MS} ms)`,
  );
  const db = await benchDb('pglite');
  try {
    await seedManyClients(db, CLIENTS);
    // 90 days of history, in creation order, a tenth failed; the inbox over the same days.
    await db.query(
      `INSERT INTO notifications (client_id, tipo, mensaje, estado, sent_at, proximo_intento, created_at, updated_at)
       SELECT 1 + (i % 10000), 'manual', 'hola', CASE WHEN i % 10 = 0 THEN 'fallido' ELSE 'enviado' END,
              t + interval '1 minute', t, t, t + interval '1 minute'
         FROM generate_series(1, $1::int) i,
              LATERAL (SELECT timestamptz '2026-01-01 05:00Z' + (i::float8 / $1 * 90) * interval '1 day' AS t) x`,
      [NOTICES],
    );
    await db.query(
      `INSERT INTO client_messages (client_id, canal, chat_id, direccion, texto, estado, vinculo_verificado, created_at)
       SELECT 1 + (i % 10000), 'telegram', 1000000000 + (i % 10000), 'entrante', 'hola ' || i,
              CASE WHEN i % 3 = 0 THEN 'nuevo' ELSE 'respondido' END, true,
              timestamptz '2026-01-01 05:00Z' + (i::float8 / $1 * 90) * interval '1 day'
         FROM generate_series(1, $1::int) i`,
      [MESSAGES],
    );
    await db.exec(`INSERT INTO client_messages (client_id, canal, chat_id, direccion, texto, responde_a, autor, created_at)
                   SELECT client_id, canal, chat_id, 'saliente', 'respuesta', id, 'admin', created_at + interval '5 minutes'
                     FROM client_messages WHERE estado = 'respondido'`);
    // As the nightly job leaves them on PGlite (vacuum_pglite).
    await db.exec('VACUUM (ANALYZE) notifications');
    await db.exec('VACUUM (ANALYZE) client_messages');
    const app = await buildApi({
      db,
      config: testConfig(),
      logger: pino({ level: 'silent' }),
      clock: createManualClock(NOW),
      adminTokens: [{ name: 'admin', token: TEST_ADMIN_TOKEN }],
    });
    try {
      const median = async (url: string): Promise<number> => {
        const runs: number[] = [];
        for (let i = 0; i < 5; i++) {
          const t = performance.now();
          const res = await app.inject({ method: 'GET', url, headers: auth });
          if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
          runs.push(performance.now() - t);
        }
        return runs.sort((a, b) => a - b)[2]!;
      };
      const page = async (label: string, url: string) => {
        const ms = await median(url);
        line(label, `${fmt(ms, 1)} ms (meta ≤ ${GOAL_MS} ms) ${ms <= GOAL_MS ? '✓' : '✗'}`);
      };
      await page('Notificaciones: primera página', '/api/notificaciones/');
      await page('Notificaciones: fallidas, primera página', '/api/notificaciones/?estado=fallido');
      await page(
        'Notificaciones: un día de febrero',
        '/api/notificaciones/?desde=2026-02-10&hasta=2026-02-10',
      );
      await page('Mensajes: primera página', '/api/mensajes');
      await page('Mensajes: nuevos, primera página', '/api/mensajes?estado=nuevo');
      // The Resumen's figures: every notice counted by type, 14 days by day, channel and reason.
      await page('Clientes: primera página', '/api/clientes?pagina=1&por_pagina=25');
      await page(
        `Clientes: última página (${fmt(CLIENTS / 25)})`,
        `/api/clientes?pagina=${CLIENTS / 25}&por_pagina=25`,
      );
      await page('Clientes: vencidos, primera página', '/api/clientes?estado_pago=vencido&por_pagina=25');
      await page('Clientes: búsqueda "Cliente 9999"', '/api/clientes?buscar=Cliente%209999&por_pagina=25');
      line(
        'Estadísticas de Telegram, 8 semanas (Resumen; sin meta)',
        `${fmt(await median('/api/notificaciones/telegram/estadisticas/?agrupar=semana&periodos=8'), 1)} ms`,
      );
      line(
        'Estadísticas de 14 días (Resumen; sin meta)',
        `${fmt(await median('/api/notificaciones/estadisticas/?dias=14'), 1)} ms`,
      );
    } finally {
      await app.close();
    }
  } finally {
    await db.close();
  }
}
