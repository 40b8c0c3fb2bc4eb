import { pino } from 'pino';
import { type Clock, createManualClock } from '../../src/clock.js';
import type { Db } from '../../src/db/index.js';
import {
  createDispatcher,
  type Dispatcher,
  type DispatcherOptions,
  type EngineMetrics,
  type EngineSettings,
  toEngineSettings,
} from '../../src/notifications/index.js';
import { createTelegramSender, type TelegramSender } from '../../src/telegram/send.js';
import { type StandinOptions, startStandin } from '../../src/telegram/standin/index.js';
import { testConfig } from '../support/app.js';
import { cedulaFor } from '../support/fixtures.js';

export const silent = pino({ level: 'silent' });

/** 10:00 in Guayaquil on a Tuesday: inside the default send window. */
export const T0 = '2026-03-10T15:00:00Z';

export function settingsFor(env: Record<string, string> = {}): EngineSettings {
  return toEngineSettings(testConfig(env));
}

export interface ClientSpec {
  nombre?: string;
  /** 'YYYY-MM-DD' */
  pago?: string | null;
  diaPago?: number | null;
  chatId?: number | null;
  estado?: 'activo' | 'suspendido' | 'retirado';
  sector?: string | null;
  planId?: number | null;
  blocked?: boolean;
  prefOfertas?: boolean;
  prefMantenimiento?: boolean;
  telefono?: string | null;
  /** The chat's link is verified (contact share, invitation, staff): default true when linked. */
  verified?: boolean;
}

/** Cédula sequence numbers: unique within a test file (each file has its own database). */
let nextCedula = 1;

/** Inserts clients in one statement; returns their ids in order. Each call uses fresh cédulas. */
export async function seedClients(db: Db, specs: ClientSpec[]): Promise<number[]> {
  if (specs.length === 0) return [];
  const base = nextCedula;
  nextCedula += specs.length;
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO clients (cedula, nombre, fecha_ultimo_pago, dia_pago, chat_id, estado, sector, plan_id,
                          telegram_blocked, pref_ofertas, pref_mantenimiento, telefono, link_verified)
     SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::int[], $5::bigint[], $6::text[], $7::text[],
                          $8::int[], $9::boolean[], $10::boolean[], $11::boolean[], $12::text[], $13::boolean[])
     RETURNING id`,
    [
      specs.map((_, i) => cedulaFor(base + i)),
      specs.map((s, i) => s.nombre ?? `Cliente ${base + i}`),
      specs.map((s) => s.pago ?? null),
      specs.map((s) => s.diaPago ?? null),
      specs.map((s) => (s.chatId === undefined ? null : s.chatId)),
      specs.map((s) => s.estado ?? 'activo'),
      specs.map((s) => s.sector ?? null),
      specs.map((s) => s.planId ?? null),
      specs.map((s) => s.blocked ?? false),
      specs.map((s) => s.prefOfertas ?? true),
      specs.map((s) => s.prefMantenimiento ?? true),
      specs.map((s) => s.telefono ?? null),
      specs.map((s) => s.verified ?? (s.chatId !== undefined && s.chatId !== null)),
    ],
  );
  return rows.map((r) => r.id);
}

let chatSeq = 0;
/** A fresh Telegram chat id for this test file. */
export function nextChatId(): number {
  chatSeq += 1;
  return 700_000_000 + chatSeq + Math.floor(Math.random() * 1000) * 100_000;
}

export async function createPlan(db: Db, nombre: string, precio = 25, velocidad = 50): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    'INSERT INTO plans (nombre, velocidad_mbps, precio) VALUES ($1, $2, $3) RETURNING id',
    [nombre, velocidad, precio],
  );
  return rows[0]!.id;
}

export async function startTestStandin(opts: StandinOptions = {}) {
  const standin = await startStandin(opts);
  const sender: TelegramSender = createTelegramSender({
    token: standin.token,
    apiRoot: standin.url,
    timeoutMs: 5000,
  });
  return { standin, sender };
}

/** Fast defaults for tests: no pacing to speak of, quick retries; override what a test is about. */
export function testDispatcher(
  db: Db,
  sender: TelegramSender,
  opts: {
    clock?: Clock;
    settings?: EngineSettings;
    metrics?: EngineMetrics;
    options?: Partial<DispatcherOptions>;
  } = {},
): Dispatcher {
  return createDispatcher({
    db,
    sender,
    clock: opts.clock ?? createManualClock(T0),
    logger: silent,
    settings: opts.settings ?? settingsFor(),
    metrics: opts.metrics,
    options: {
      ratePerSecond: 1000,
      perChatPerSecond: 50,
      concurrency: 16,
      maxAttempts: 6,
      idleMs: 20,
      ...opts.options,
    },
  });
}

export async function countByState(db: Db, where = 'true', params: unknown[] = []) {
  const { rows } = await db.query<{ estado: string; n: number }>(
    `SELECT estado, count(*)::int AS n FROM notifications WHERE ${where} GROUP BY estado`,
    params,
  );
  return Object.fromEntries(rows.map((r) => [r.estado, r.n])) as Record<string, number>;
}
