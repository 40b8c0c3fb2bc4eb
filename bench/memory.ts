import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPgliteDb, createPostgresDb, type Db, migrate } from '../src/db/index.js';
import { fmt, heading, line, postgresAvailable, postgresUrl, seedManyClients } from './engine-support.js';

const root = path.resolve(import.meta.dirname, '..');
const TOKEN = 'bench-admin-token-0123456789';

function memMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** The seeded data's "today" (see seedManyClients) at 10:00 in Guayaquil: after the 08:00 run. */
const SEED_TODAY = '2026-03-10';
const CLOCK_START = `${SEED_TODAY}T15:00:00Z`;

/** A bare Fastify answering one route: the floor any Node HTTP service stands on, same run. */
async function bareFastifyMb(): Promise<number> {
  const script =
    "const f = require('fastify')(); f.get('/', async () => ({ ok: true }));" +
    "f.listen({ port: 0, host: '127.0.0.1' }).then((a) => console.log(a));";
  const child = spawn(process.execPath, ['-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const address = await new Promise<string>((resolve, reject) => {
      child.stdout!.once('data', (c: Buffer) => resolve(c.toString().trim()));
      child.once('exit', () => reject(new Error('bare Fastify exited')));
    });
    for (let i = 0; i < 20; i++) await fetch(address).then((r) => r.arrayBuffer());
    await new Promise((r) => setTimeout(r, 2000));
    return memMb(child.pid!).rss;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

/** One figure: value, its goal, and the ratio to the bare-Fastify baseline of this run. */
function figure(
  label: string,
  mb: number,
  goalMb: number | undefined,
  baseMb: number,
  /** The high-water mark (VmHWM) so far: which step raised the peak. */
  peakMb?: number,
): void {
  const goal = goalMb === undefined ? '' : `meta ≤ ${fmt(goalMb)} MB ${mb <= goalMb ? '✔' : '✖'}; `;
  const peak = peakMb === undefined ? '' : `; pico hasta aquí ${fmt(peakMb)} MB`;
  line(label, `${fmt(mb)} MB (${goal}${fmt(mb / baseMb, 1)}× Fastify solo${peak})`);
}

/**
 * Memory of the built service holding 100,000 clients: at rest, after the day's generation, and
 * after the heaviest reads staff do (a page of clients, statistics, the CSV export of all).
 * Target: ≤ 512 MB. On PGlite (the database lives inside the process) and on PostgreSQL.
 */
export async function run(): Promise<void> {
  heading('Memoria del servicio con 100.000 clientes');
  execFileSync(process.execPath, [path.join(root, 'scripts', 'build-if-needed.mjs')], { stdio: 'inherit' });
  const kinds: ('pglite' | 'postgres')[] = ['pglite'];
  if (await postgresAvailable()) kinds.push('postgres');
  const only = process.argv.find((a) => a.startsWith('--db='))?.slice('--db='.length);
  if (only === 'pglite' || only === 'postgres') kinds.splice(0, kinds.length, only);
  const base = await bareFastifyMb();
  line('línea base: Fastify solo, una ruta, en reposo', `${fmt(base)} MB RSS`);
  // First start on an empty folder (PGlite): where it settles, against a normal start.
  {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'teltec-mem-first-'));
    try {
      const env = {
        PATH: process.env.PATH ?? '',
        DATA_DIR: dataDir,
        PORT: '0',
        ADMIN_TOKEN: TOKEN,
        LOG_LEVEL: 'info',
        CLOCK_START,
      };
      for (const label of [
        'pglite: primer arranque (carpeta nueva), en reposo',
        'pglite: arranque normal, en reposo',
      ]) {
        const child = spawn(process.execPath, [path.join(root, 'dist', 'src', 'main.js')], {
          env,
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        await new Promise<void>((resolve, reject) => {
          let out = '';
          child.stdout!.on('data', (c: Buffer) => {
            out += c.toString();
            if (out.includes('"address"')) resolve();
          });
          child.once('exit', () => reject(new Error(`exited: ${out}`)));
        });
        await new Promise((r) => setTimeout(r, 3000));
        figure(label, memMb(child.pid!).rss, 300, base);
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  for (const kind of kinds) {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'teltec-mem-'));
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      DATA_DIR: dataDir,
      PORT: '0',
      ADMIN_TOKEN: TOKEN,
      LOG_LEVEL: 'warn',
      // The data is seeded around SEED_TODAY: the service's clock starts there too.
      CLOCK_START,
    };
    let dropDb: (() => Promise<void>) | undefined;
    let db: Db;
    if (kind === 'pglite') {
      db = await createPgliteDb(path.join(dataDir, 'pglite'));
    } else {
      const name = `teltec_mem_${randomBytes(4).toString('hex')}`;
      const admin = await createPostgresDb(postgresUrl, { max: 1 });
      await admin.exec(`CREATE DATABASE ${name}`);
      await admin.close();
      const url = new URL(postgresUrl);
      url.pathname = `/${name}`;
      env.DATABASE_URL = url.toString();
      db = await createPostgresDb(env.DATABASE_URL, { max: 1 });
      dropDb = async () => {
        const a = await createPostgresDb(postgresUrl, { max: 1 });
        await a.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await a.close();
      };
    }
    await migrate(db);
    await seedManyClients(db, 100_000, SEED_TODAY);
    await db.close();

    // LOG_LEVEL=warn: the address comes from the listening line, so ask for info on stdout.
    // BACKUP_TIME=no: the day's missed backup would run one minute after start, in whichever step
    // is then under way; the backup is measured as a step of its own, last.
    const child = spawn(process.execPath, [path.join(root, 'dist', 'src', 'main.js')], {
      env: { ...env, LOG_LEVEL: 'info', BACKUP_TIME: 'no' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const address = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /"address":"([^"]+)"/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once('exit', () => reject(new Error(`exited: ${out}`)));
      });
      child.stdout!.resume();
      const get = async (p: string, method = 'GET') => {
        const r = await fetch(`${address}${p}`, { method, headers: { authorization: `Bearer ${TOKEN}` } });
        const body = Buffer.from(await r.arrayBuffer());
        if (!r.ok) throw new Error(`${method} ${p}: ${r.status}`);
        return body;
      };
      const pending = async () =>
        JSON.parse((await get('/api/notificaciones/estadisticas/')).toString()).notificaciones.pendientes;
      await new Promise((r) => setTimeout(r, 2000));
      // At start the scheduler catches up today's generation if 08:00 has passed; the POST then
      // creates nothing. Either way the day's notices exist after it.
      const rest = memMb(child.pid!);
      const startPending = await pending();
      const report = JSON.parse((await get('/api/notificaciones/generar-automaticas/', 'POST')).toString());
      const gen = memMb(child.pid!);
      const queued = await pending();
      await get('/api/clientes?pagina=2000&por_pagina=50');
      await get('/api/clientes?buscar=Cliente%209999');
      await get('/api/notificaciones/estadisticas/');
      await get('/api/notificaciones/telegram/estadisticas/');
      await get('/api/notificaciones/?por_pagina=100');
      const reads = memMb(child.pid!);
      const campaign = JSON.parse(
        (
          await fetch(`${address}/api/notificaciones/masiva/`, {
            method: 'POST',
            headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
            body: JSON.stringify({ tipo: 'manual', mensaje: 'Aviso general para {nombre}', filtros: {} }),
          }).then((r) => r.text())
        ).toString(),
      );
      const camp = memMb(child.pid!);
      // The dispatcher works through the campaign's rows in the background: let it, then export.
      await new Promise((r) => setTimeout(r, 10_000));
      const sending = memMb(child.pid!);
      const pendingAfterWait = await pending();
      for (let i = 0; i < 3; i++) await get('/api/clientes/exportar');
      const after = memMb(child.pid!);
      const backupBytes = (await get('/api/respaldo')).byteLength;
      const backup = memMb(child.pid!);
      figure(
        `${kind}: en reposo tras arrancar (${fmt(startPending)} avisos ya en cola)`,
        rest.rss,
        kind === 'pglite' ? 300 : undefined,
        base,
        rest.peak,
      );
      figure(
        `${kind}: tras generar (creó ${fmt(report.total_creadas)}; ${fmt(queued)} en cola)`,
        gen.rss,
        undefined,
        base,
        gen.peak,
      );
      figure(`${kind}: tras listas y estadísticas`, reads.rss, undefined, base, reads.peak);
      figure(
        campaign.campana
          ? `${kind}: tras un envío masivo a ${fmt(campaign.campana.total)} clientes`
          : `${kind}: tras un envío masivo RECHAZADO (${campaign.error?.code ?? '?'})`,
        camp.rss,
        undefined,
        base,
        camp.peak,
      );
      figure(
        `${kind}: 10 s después (${fmt(pendingAfterWait)} en cola)`,
        sending.rss,
        undefined,
        base,
        sending.peak,
      );
      figure(`${kind}: tras 3 exportaciones del CSV`, after.rss, undefined, base, after.peak);
      figure(
        `${kind}: tras un respaldo descargado (${fmt(backupBytes / 1e6)} MB)`,
        backup.rss,
        undefined,
        base,
        backup.peak,
      );
      figure(`${kind}: pico de todo el recorrido (VmHWM)`, backup.peak, 512, base);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await dropDb?.();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
