// A simulated month on the demo data (issue 13 §7): `npm run simular-mes [-- AAAA-MM-DD [días] [clientes]]`.
// An in-memory database, the demo clients, the injected clock advancing one day at a time, the real
// daily run and dispatcher against the Bot API stand-in; prints the conversion figures.
import { pino } from 'pino';
import { parseConfig } from '../src/config.js';
import { createPgliteDb, migrate } from '../src/db/index.js';
import { toEngineSettings } from '../src/notifications/index.js';
import { conversionLines, simulateMonth } from '../src/sandbox/simulate-month.js';

const [start = '2026-03-01', days = '30', clients = '300'] = process.argv.slice(2);
const db = await createPgliteDb();
await migrate(db);
const settings = toEngineSettings(parseConfig({ DATA_DIR: '/tmp/teltec-simulacion' }));
const result = await simulateMonth({
  db,
  settings,
  logger: pino({ level: 'silent' }),
  start,
  days: Number(days),
  clients: Number(clients),
});
for (const line of conversionLines(result)) console.log(line);
console.log(JSON.stringify(result.conversion, null, 2));
await db.close();
