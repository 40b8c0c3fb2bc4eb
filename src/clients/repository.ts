import type { Queryable } from '../db/index.js';
import { AppError } from '../errors/index.js';
import type { channelNames, clientStates, paymentStates } from '../vocabulary.js';
import { normalizePhone, toWhatsApp } from './phone.js';

export type ClientEstado = (typeof clientStates.values)[number];
export type PaymentState = (typeof paymentStates.values)[number];
type ChannelName = (typeof channelNames.values)[number];

/** A client as the API shows it. */
export interface ClientView {
  id: number;
  cedula: string;
  nombre: string;
  telefono: string | null;
  /** 5939XXXXXXXX. */
  whatsapp: string | null;
  /** null = automatic (Telegram when linked, else WhatsApp when consented). */
  canal_preferido: ChannelName | null;
  /** The 24-hour service window: free text until then (the client wrote to us). */
  whatsapp_ventana_hasta: string | null;
  /** Why WhatsApp cannot reach this number, until when. */
  whatsapp_inalcanzable: string | null;
  whatsapp_inalcanzable_hasta: string | null;
  email: string | null;
  direccion: string | null;
  sector: string | null;
  plan_id: number | null;
  plan: string | null;
  precio: number | null;
  estado: ClientEstado;
  fecha_ultimo_pago: string | null;
  dia_pago: number | null;
  fecha_vencimiento: string | null;
  estado_pago: PaymentState;
  telegram: {
    vinculado: boolean;
    chat_id: string | null;
    vinculado_en: string | null;
    verificado: boolean;
    estado_vinculo: 'sin_vincular' | 'verificado' | 'pendiente_de_verificar';
    bloqueado: boolean;
    inalcanzable: string | null;
  };
  preferencias: { ofertas: boolean; mantenimiento: boolean };
  creado_en: string;
  actualizado_en: string;
}

export interface ClientInput {
  cedula: string;
  nombre: string;
  telefono?: string | null;
  /** Already normalised (5939XXXXXXXX) by the schema; undefined on creation = telefono if mobile. */
  whatsapp?: string | null;
  canal_preferido?: ChannelName | null;
  email?: string | null;
  direccion?: string | null;
  sector?: string | null;
  plan_id?: number | null;
  estado?: ClientEstado;
  fecha_ultimo_pago?: string | null;
  dia_pago?: number | null;
}

export interface ClientFilters {
  buscar?: string;
  plan?: string;
  plan_id?: number;
  sector?: string;
  estado?: ClientEstado;
  telegram?: 'si' | 'no';
  estado_pago?: PaymentState;
  pagina: number;
  por_pagina: number;
}

/** Billing settings and "today" the payment state is computed against. */
export interface BillingContext {
  today: string;
  cycleDays: number;
  reminderDaysBefore: number;
}

interface ClientRow {
  id: number;
  cedula: string;
  nombre: string;
  telefono: string | null;
  whatsapp: string | null;
  canal_preferido: ChannelName | null;
  whatsapp_ventana_hasta: Date | null;
  whatsapp_inalcanzable: string | null;
  whatsapp_inalcanzable_hasta: Date | null;
  email: string | null;
  direccion: string | null;
  sector: string | null;
  plan_id: number | null;
  plan: string | null;
  precio: number | null;
  estado: ClientEstado;
  fecha_ultimo_pago: string | null;
  dia_pago: number | null;
  fecha_vencimiento: string | null;
  estado_pago: PaymentState;
  chat_id: number | null;
  linked_at: Date | null;
  link_verified: boolean;
  telegram_blocked: boolean;
  telegram_unreachable: string | null;
  pref_ofertas: boolean;
  pref_mantenimiento: boolean;
  created_at: Date;
  updated_at: Date;
  total?: number;
}

/**
 * The columns of a client view (and the stored sort key, for the list's order); $1 = today,
 * $2 = cycle days, $3 = reminder days.
 */
const selectView = `
  SELECT c.id, c.cedula, c.nombre, c.telefono, c.whatsapp, c.canal_preferido, c.whatsapp_ventana_hasta,
         c.whatsapp_inalcanzable, c.whatsapp_inalcanzable_hasta, c.email, c.direccion, c.sector, c.plan_id,
         p.nombre AS plan, p.precio, c.estado, c.fecha_ultimo_pago, c.dia_pago,
         d.due AS fecha_vencimiento, teltec_payment_state(d.due, $1::date, $3) AS estado_pago,
         c.chat_id, c.linked_at, c.link_verified, c.telegram_blocked, c.telegram_unreachable,
         c.pref_ofertas, c.pref_mantenimiento, c.created_at, c.updated_at, c.nombre_orden
    ${clientsFrom(true)}`;

function toView(r: ClientRow): ClientView {
  return {
    id: r.id,
    cedula: r.cedula,
    nombre: r.nombre,
    telefono: r.telefono,
    whatsapp: r.whatsapp,
    canal_preferido: r.canal_preferido,
    whatsapp_ventana_hasta: r.whatsapp_ventana_hasta?.toISOString() ?? null,
    whatsapp_inalcanzable: r.whatsapp_inalcanzable,
    whatsapp_inalcanzable_hasta: r.whatsapp_inalcanzable_hasta?.toISOString() ?? null,
    email: r.email,
    direccion: r.direccion,
    sector: r.sector,
    plan_id: r.plan_id,
    plan: r.plan,
    precio: r.precio,
    estado: r.estado,
    fecha_ultimo_pago: r.fecha_ultimo_pago,
    dia_pago: r.dia_pago,
    fecha_vencimiento: r.fecha_vencimiento,
    estado_pago: r.estado_pago,
    telegram: {
      vinculado: r.chat_id !== null,
      chat_id: r.chat_id === null ? null : String(r.chat_id),
      vinculado_en: r.linked_at?.toISOString() ?? null,
      verificado: r.link_verified,
      estado_vinculo:
        r.chat_id === null ? 'sin_vincular' : r.link_verified ? 'verificado' : 'pendiente_de_verificar',
      bloqueado: r.telegram_blocked,
      inalcanzable: r.telegram_unreachable,
    },
    preferencias: { ofertas: r.pref_ofertas, mantenimiento: r.pref_mantenimiento },
    creado_en: r.created_at.toISOString(),
    actualizado_en: r.updated_at.toISOString(),
  };
}

const editable = [
  'cedula',
  'nombre',
  'telefono',
  'whatsapp',
  'canal_preferido',
  'email',
  'direccion',
  'sector',
  'plan_id',
  'estado',
  'fecha_ultimo_pago',
  'dia_pago',
] as const;

/** The WHERE conditions of a client search; parameters are appended to `params` ($1–$3 are the billing context). */
function filterConditions(f: Omit<ClientFilters, 'pagina' | 'por_pagina'>, params: unknown[]): string[] {
  const where: string[] = [];
  const add = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  if (f.buscar?.trim()) {
    const q = f.buscar.trim();
    // Accents, case and ñ/n ignored on both sides (teltec_fold, migration 008).
    const like = add(`%${q.replace(/[\\%_]/g, (c) => '\\' + c)}%`);
    const digits = q.replace(/\D/g, '');
    // c.nombre_busqueda = teltec_fold(c.nombre), stored (migration 037).
    const parts = [`c.nombre_busqueda LIKE teltec_fold(${like})`];
    if (digits.length >= 3) {
      const d = add(`%${digits.replace(/^0/, '')}%`);
      parts.push(`c.cedula LIKE ${d}`, `c.telefono_norm LIKE ${d}`);
    }
    where.push(`(${parts.join(' OR ')})`);
  }
  if (f.plan_id !== undefined) where.push(`c.plan_id = ${add(f.plan_id)}`);
  if (f.plan) where.push(`teltec_fold(p.nombre) = teltec_fold(${add(f.plan)})`);
  if (f.sector) where.push(`teltec_fold(c.sector) = teltec_fold(${add(f.sector)})`);
  if (f.estado) where.push(`c.estado = ${add(f.estado)}`);
  if (f.telegram === 'si') where.push('c.chat_id IS NOT NULL');
  if (f.telegram === 'no') where.push('c.chat_id IS NULL');
  // d.due: the row's due date, from `clientsFrom(true)` (computed once, so the payment state's
  // function is inlined instead of called per row: 83 ms instead of 534 ms over 100,000 clients).
  if (f.estado_pago) where.push(`teltec_payment_state(d.due, $1::date, $3) = ${add(f.estado_pago)}`);
  return where;
}

/** Whether the conditions of `f` read `d.due` (the FROM must then be `clientsFrom(true)`). */
function readsDueDate(f: Omit<ClientFilters, 'pagina' | 'por_pagina'>): boolean {
  return Boolean(f.estado_pago);
}

/**
 * The FROM of a client search: `c` = clients, `p` = plans and, with `due`, `d.due` = the due date
 * ($2 = cycle days), once per client row (OFFSET 0 keeps it one evaluation). Without a reader of
 * `d.due` it is left out: over 100,000 clients it costs 40-60 ms.
 */
function clientsFrom(due: boolean): string {
  return `FROM clients c LEFT JOIN plans p ON p.id = c.plan_id${
    due
      ? `
          CROSS JOIN LATERAL (SELECT teltec_due_date(c.fecha_ultimo_pago, c.dia_pago, $2) AS due OFFSET 0) d`
      : ''
  }`;
}

/** Repository over a lent Queryable (the database or a transaction). */
export function createClientsRepository(db: Queryable, billing: () => BillingContext) {
  const ctx = () => {
    const b = billing();
    return [b.today, b.cycleDays, b.reminderDaysBefore];
  };

  async function get(id: number): Promise<ClientView | null> {
    const { rows } = await db.query<ClientRow>(`${selectView} WHERE c.id = $4`, [...ctx(), id]);
    return rows[0] ? toView(rows[0]) : null;
  }

  async function getOrThrow(id: number): Promise<ClientView> {
    const c = await get(id);
    if (!c) throw new AppError('NO_ENCONTRADO', `No existe el cliente ${id}.`);
    return c;
  }

  async function* walkValues(
    f: Omit<ClientFilters, 'pagina' | 'por_pagina'>,
    columns: readonly string[],
    pageSize: number,
  ): AsyncGenerator<unknown[][]> {
    // Each row comes back as one JSON array (its stored sort key and id first, for the next
    // page): one field per row for the driver to decode instead of one per column, which on
    // PGlite is most of an export's time.
    let after: { key: string; id: number } | null = null;
    // One "today" for the whole walk: an export that crosses midnight is still one day's file.
    const billingParams = ctx();
    // The first pages are smaller (a quarter, a half, then whole): they run on code not yet
    // optimised, and on PGlite a page blocks this thread while it is read and written out (the
    // first page of 1,000 held /health for 50-110 ms, the later ones for 20-40 ms).
    let size = Math.max(1, Math.floor(pageSize / 4));
    for (;;) {
      const params: unknown[] = [...billingParams];
      const conditions = filterConditions(f, params);
      if (after) {
        params.push(after.key, after.id);
        conditions.push(`(c.nombre_orden, c.id) > ($${params.length - 1}::text, $${params.length}::int)`);
      }
      params.push(size);
      // The due date once per client row (d.due; OFFSET 0 keeps it one evaluation, and equal
      // (last payment, billing day) pairs share it), for the columns that derive from it.
      const { rows } = await db.query<{ r: string }>(
        `SELECT json_build_array(c.nombre_orden, c.id, ${columns.join(', ')})::text AS r
           ${clientsFrom(true)}
          ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''}
          ORDER BY c.nombre_orden, c.id LIMIT $${params.length}`,
        params,
      );
      const page = rows.map((row) => JSON.parse(row.r) as unknown[]);
      if (page.length > 0) yield page.map((values) => values.slice(2));
      if (page.length < size) return;
      const last = page[page.length - 1]!;
      after = { key: last[0] as string, id: last[1] as number };
      size = Math.min(pageSize, size * 2);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  return {
    get,
    getOrThrow,

    async findIdByCedula(cedula: string): Promise<number | null> {
      const { rows } = await db.query<{ id: number }>('SELECT id FROM clients WHERE cedula = $1', [cedula]);
      return rows[0]?.id ?? null;
    },

    /**
     * One page in the list's order, and how many match. The page's ids are found on the sort
     * key's index first and only those rows get the view's columns; the count reads the filter's
     * columns only. Over 100,000 clients on PGlite, through the API: the first page 24-28 ms,
     * the last 56-85 ms (a window count over the whole view took 340 and 1,070 ms, and on PGlite
     * nothing else is answered meanwhile).
     */
    async list(f: ClientFilters): Promise<{ clientes: ClientView[]; total: number }> {
      const params: unknown[] = ctx();
      const conditions = filterConditions(f, params);
      const from = clientsFrom(readsDueDate(f));
      const whereSql = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
      const add = (v: unknown) => {
        params.push(v);
        return `$${params.length}`;
      };
      const limit = add(f.por_pagina);
      const offset = add((f.pagina - 1) * f.por_pagina);
      // The count and the page in one statement (every parameter is read: $1-$3 by the view's
      // columns). The count's row comes even past the last page, with the view's columns null.
      const { rows } = await db.query<ClientRow & { total: number }>(
        `SELECT t.total, v.*
           FROM (SELECT count(*)::int AS total ${from} ${whereSql}) t
           LEFT JOIN (${selectView}
                      WHERE c.id IN (SELECT c.id ${from} ${whereSql}
                                      ORDER BY c.nombre_orden, c.id LIMIT ${limit} OFFSET ${offset})) v ON true
          ORDER BY v.nombre_orden, v.id`,
        params,
      );
      const total = rows[0]?.total ?? 0;
      const page = rows.filter((r) => r.id !== null);
      return { clientes: page.map(toView), total: Number(total) };
    },

    /**
     * Every client matching `f`, in the list's order (name, then id), `pageSize` at a time, each
     * client as the values of `columns` in that order: SQL over `c` = clients, `p` = plans,
     * `d.due` = the due date; $1 today, $2 cycle days, $3 reminder days. Values travel as JSON:
     * text, numbers, booleans and null (format dates and money in SQL).
     * Keyset pages on the stored sort key's index: each page costs the same however deep it is,
     * memory stays flat, and the event loop gets a turn between pages. Exports read this way
     * (issue 16 §2).
     */
    walkValues: (
      f: Omit<ClientFilters, 'pagina' | 'por_pagina'>,
      columns: readonly string[],
      pageSize = 1000,
    ) => walkValues(f, columns, pageSize),

    async create(input: ClientInput): Promise<ClientView> {
      const { rows } = await db.query<{ id: number }>(
        `INSERT INTO clients (cedula, nombre, telefono, telefono_norm, email, direccion, sector, plan_id, estado,
                              fecha_ultimo_pago, dia_pago, whatsapp, canal_preferido)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, COALESCE($9, 'activo'), $10, $11, $12, $13) RETURNING id`,
        [
          input.cedula,
          input.nombre,
          input.telefono ?? null,
          input.telefono ? normalizePhone(input.telefono) : null,
          input.email ?? null,
          input.direccion ?? null,
          input.sector ?? null,
          input.plan_id ?? null,
          input.estado ?? null,
          input.fecha_ultimo_pago ?? null,
          input.dia_pago ?? null,
          input.whatsapp !== undefined ? input.whatsapp : input.telefono ? toWhatsApp(input.telefono) : null,
          input.canal_preferido ?? null,
        ],
      );
      return getOrThrow(rows[0]!.id);
    },

    /** Updates the given fields only (undefined = unchanged, null = cleared). */
    async update(id: number, patch: Partial<ClientInput>): Promise<ClientView> {
      const sets: string[] = [];
      const params: unknown[] = [];
      for (const key of editable) {
        if (patch[key] === undefined) continue;
        params.push(patch[key]);
        sets.push(`${key} = $${params.length}`);
        if (key === 'telefono') {
          params.push(patch.telefono ? normalizePhone(patch.telefono) : null);
          sets.push(`telefono_norm = $${params.length}`);
        }
      }
      if (sets.length > 0) {
        params.push(id);
        const res = await db.query(
          `UPDATE clients SET ${sets.join(', ')}, updated_at = now() WHERE id = $${params.length}`,
          params,
        );
        if (res.rowCount === 0) throw new AppError('NO_ENCONTRADO', `No existe el cliente ${id}.`);
      }
      return getOrThrow(id);
    },

    async remove(id: number): Promise<boolean> {
      const res = await db.query('DELETE FROM clients WHERE id = $1', [id]);
      return res.rowCount > 0;
    },
  };
}

export type ClientsRepository = ReturnType<typeof createClientsRepository>;
