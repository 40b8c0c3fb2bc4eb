import { cedulaCheckDigit } from '../clients/cedula.js';
import { normalizePhone } from '../clients/phone.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../logger.js';
import { localDate } from '../time.js';

/**
 * Demo data for the sandbox (or DEMO=1): plans, sectors and clients whose payment dates are spread
 * over the billing cycle, so the first generation already finds reminders and overdue notices.
 *
 * Invariant: demo data is only ever written into a database with no clients at all. The check and
 * the inserts run in one transaction that holds a lock on `clients`, so two processes starting at
 * once on one PostgreSQL seed once.
 */

export const DEMO_PLANS = [
  { nombre: 'Hogar 30', velocidad_mbps: 30, precio: 20 },
  { nombre: 'Hogar 60', velocidad_mbps: 60, precio: 25 },
  { nombre: 'Hogar 100', velocidad_mbps: 100, precio: 30 },
  { nombre: 'Empresa 200', velocidad_mbps: 200, precio: 55 },
] as const;

export const DEMO_SECTORS = [
  'Centro',
  'La Floresta',
  'Cumbayá',
  'Conocoto',
  'Carcelén',
  'Quitumbe',
  'El Inca',
] as const;

/**
 * First chat id of the demo clients linked in the sandbox. 15 digits: far above any real Telegram
 * user id today, and still accepted wherever a chat id is validated (at most 15 digits).
 */
export const DEMO_CHAT_ID_BASE = 900_000_000_000_000;

const FIRST_NAMES = [
  'María',
  'José',
  'Luis',
  'Ana',
  'Carlos',
  'Gabriela',
  'Jorge',
  'Verónica',
  'Diego',
  'Paola',
  'Andrés',
  'Daniela',
  'Fernando',
  'Mónica',
  'Santiago',
  'Lucía',
  'Patricio',
  'Carmen',
  'Esteban',
  'Rosa',
];
const SURNAMES = [
  'Pérez',
  'Guamán',
  'Andrade',
  'Cevallos',
  'Zambrano',
  'Villacís',
  'Morales',
  'Chiriboga',
  'Quishpe',
  'Salazar',
  'Ortiz',
  'Tapia',
  'Cárdenas',
  'Mena',
  'Paredes',
  'Espinoza',
  'Yánez',
  'Loor',
];
const STREETS = [
  'Av. 10 de Agosto',
  'Av. Amazonas',
  'Calle García Moreno',
  'Av. Maldonado',
  'Calle Sucre',
  'Av. Eloy Alfaro',
  'Calle Rocafuerte',
  'Av. De la Prensa',
];

export interface DemoClient {
  cedula: string;
  nombre: string;
  telefono: string | null;
  email: string | null;
  direccion: string;
  sector: string;
  plan: string;
  estado: 'activo' | 'suspendido' | 'retirado';
  fecha_ultimo_pago: string | null;
  dia_pago: number | null;
  /** Set only when linking is asked for (sandbox mode): a chat in the stand-in. */
  chat_id: number | null;
  link_verified: boolean;
  telegram_blocked: boolean;
}

/** A small seeded PRNG (mulberry32): the same demo data every time. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function addDays(isoDate: string, days: number): string {
  const d = new Date(isoDate + 'T00:00:00Z');
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

function plainAscii(s: string): string {
  return s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();
}

/**
 * `count` demo clients as of `today` (YYYY-MM-DD). Pure and deterministic. With `link`, about a third
 * get a stand-in chat (one of them has blocked the bot); without it nobody is linked, because a made-up
 * chat id must never reach the real Telegram.
 */
export function buildDemoClients(
  today: string,
  opts: { count?: number; cycleDays?: number; link?: boolean; seed?: number } = {},
): DemoClient[] {
  const count = opts.count ?? 80;
  const cycle = opts.cycleDays ?? 30;
  const rnd = prng(opts.seed ?? 2026);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(rnd() * 10)).join('');
  const cedulas = new Set<string>();
  const out: DemoClient[] = [];
  for (let i = 0; i < count; i++) {
    let cedula: string;
    do {
      const province = String(1 + Math.floor(rnd() * 24)).padStart(2, '0');
      const first9 = province + String(Math.floor(rnd() * 6)) + digits(6);
      cedula = first9 + cedulaCheckDigit(first9);
    } while (cedulas.has(cedula));
    cedulas.add(cedula);

    const first = pick(FIRST_NAMES);
    const surname1 = pick(SURNAMES);
    const surname2 = pick(SURNAMES);
    // Every 11th client has no phone on file: the bot links them on the cédula alone (unverified).
    const telefono = i % 11 === 5 ? null : `09${6 + Math.floor(rnd() * 4)}${digits(7)}`;
    const estado = i % 27 === 13 ? 'retirado' : i % 19 === 7 ? 'suspendido' : 'activo';

    // Payment dates spread over the cycle and a bit beyond: about half up to date, a sixth inside the
    // reminder window, a third overdue; a few without a date, some with a fixed billing day.
    let fecha_ultimo_pago: string | null;
    let dia_pago: number | null = null;
    if (i % 23 === 22) {
      fecha_ultimo_pago = null;
    } else if (i % 10 === 3) {
      dia_pago = [5, 10, 15, 20, 25][i % 5]!;
      const daysAgo = Math.floor(rnd() * (cycle + 10));
      fecha_ultimo_pago = addDays(today, -daysAgo);
    } else {
      const bucket = rnd();
      const daysAgo =
        bucket < 0.5
          ? Math.floor(rnd() * (cycle - 6))
          : bucket < 0.68
            ? cycle - 5 + Math.floor(rnd() * 5)
            : cycle + Math.floor(rnd() * 16);
      fecha_ultimo_pago = addDays(today, -daysAgo);
    }

    const linked = opts.link === true && estado !== 'retirado' && i % 3 === 0;
    out.push({
      cedula,
      nombre: `${first} ${surname1} ${surname2}`,
      telefono,
      email: i % 2 === 0 ? `${plainAscii(first)}.${plainAscii(surname1)}${i}@correo.ec` : null,
      direccion: `${pick(STREETS)} N${10 + Math.floor(rnd() * 80)}-${10 + Math.floor(rnd() * 90)}`,
      sector: DEMO_SECTORS[i % DEMO_SECTORS.length]!,
      plan: DEMO_PLANS[i % 7 === 6 ? 3 : i % 3]!.nombre,
      estado,
      fecha_ultimo_pago,
      dia_pago,
      chat_id: linked ? DEMO_CHAT_ID_BASE + i : null,
      link_verified: linked && telefono !== null,
      telegram_blocked: linked && i === 33,
    });
  }
  return out;
}

export type SeedResult = { created: number; skipped?: undefined } | { created: 0; skipped: 'hay_clientes' };

/**
 * Writes the demo plans, clients and their last two payments, unless the database already has a client.
 * Set-based: one INSERT per table, whatever the count.
 */
export async function seedDemoData(
  db: Pick<Db, 'transaction'>,
  opts: { today: string; cycleDays?: number; link: boolean; count?: number },
): Promise<SeedResult> {
  const clients = buildDemoClients(opts.today, {
    count: opts.count,
    cycleDays: opts.cycleDays,
    link: opts.link,
  });
  return db.transaction(async (tx) => {
    // Blocks concurrent writers of clients until commit: the emptiness check stays true.
    await tx.query('LOCK TABLE clients IN SHARE ROW EXCLUSIVE MODE');
    const { rows } = await tx.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM clients) AS any');
    if (rows[0]?.any) return { created: 0, skipped: 'hay_clientes' as const };

    await tx.query(
      `INSERT INTO plans (nombre, velocidad_mbps, precio)
       SELECT * FROM unnest($1::text[], $2::int[], $3::numeric[])
       ON CONFLICT (lower(nombre)) DO NOTHING`,
      [
        DEMO_PLANS.map((p) => p.nombre),
        DEMO_PLANS.map((p) => p.velocidad_mbps),
        DEMO_PLANS.map((p) => p.precio),
      ],
    );
    const col = <K extends keyof DemoClient>(k: K) => clients.map((c) => c[k]);
    const inserted = await tx.query(
      `INSERT INTO clients (cedula, nombre, telefono, telefono_norm, email, direccion, sector, plan_id, estado,
                            fecha_ultimo_pago, dia_pago, chat_id, linked_at, link_verified, telegram_blocked,
                            whatsapp)
       SELECT d.cedula, d.nombre, d.telefono, d.telefono_norm, d.email, d.direccion, d.sector, p.id, d.estado,
              d.fecha_ultimo_pago, d.dia_pago, d.chat_id,
              CASE WHEN d.chat_id IS NULL THEN NULL ELSE now() END, d.link_verified, d.telegram_blocked,
              -- A mobile on file is the WhatsApp number (issue 10 §7).
              CASE WHEN d.telefono_norm ~ '^5939[0-9]{8}$' THEN d.telefono_norm END
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                     $8::text[], $9::text[], $10::date[], $11::int[], $12::bigint[], $13::bool[], $14::bool[])
              AS d(cedula, nombre, telefono, telefono_norm, email, direccion, sector, plan, estado,
                   fecha_ultimo_pago, dia_pago, chat_id, link_verified, telegram_blocked)
         JOIN plans p ON lower(p.nombre) = lower(d.plan)`,
      [
        col('cedula'),
        col('nombre'),
        col('telefono'),
        clients.map((c) => (c.telefono ? normalizePhone(c.telefono) : null)),
        col('email'),
        col('direccion'),
        col('sector'),
        col('plan'),
        col('estado'),
        col('fecha_ultimo_pago'),
        col('dia_pago'),
        col('chat_id'),
        col('link_verified'),
        col('telegram_blocked'),
      ],
    );
    // The last payment and the one before it, so a client's page has a history.
    await tx.query(
      `INSERT INTO payments (client_id, monto, fecha, referencia, created_by)
       SELECT c.id, p.precio, c.fecha_ultimo_pago - (k * $2::int), 'DEMO-' || c.id || '-' || (2 - k), 'demo'
         FROM clients c JOIN plans p ON p.id = c.plan_id CROSS JOIN generate_series(0, 1) AS k
        WHERE c.fecha_ultimo_pago IS NOT NULL AND c.cedula = ANY($1::text[])`,
      [col('cedula'), opts.cycleDays ?? 30],
    );
    return { created: inserted.rowCount };
  });
}

/**
 * At start-up: demo data in sandbox mode or with DEMO=1, only into an empty database. Demo clients
 * are linked to stand-in chats only in sandbox mode (never with a real bot token).
 */
export async function seedDemoOnStart(deps: {
  db: Pick<Db, 'transaction'>;
  config: Config;
  clock: Clock;
  logger: Logger;
  sandbox: boolean;
}): Promise<SeedResult | null> {
  const { config, logger } = deps;
  if (!deps.sandbox && !config.demo) return null;
  const result = await seedDemoData(deps.db, {
    today: localDate(deps.clock.now(), config.timeZone),
    cycleDays: config.engine.cycleDays,
    link: deps.sandbox,
  });
  if (result.skipped) {
    logger.info('Datos de demostración: la base ya tiene clientes, no se agrega nada.');
  } else {
    logger.info(
      { clientes: result.created },
      `Datos de demostración: se crearon ${result.created} clientes de prueba con planes, sectores y fechas de pago.`,
    );
  }
  return result;
}
