import { randomBytes } from 'node:crypto';
import type { Queryable } from '../db/index.js';

/**
 * Invitations: a one-time token carried by https://t.me/<bot>?start=<token>. Telegram allows
 * 1–64 characters A–Z a–z 0–9 _ - in a start parameter; ours are 22 (128 random bits).
 */
export type InvitationState = 'activa' | 'usada' | 'vencida' | 'revocada';

export interface Invitation {
  id: number;
  clientId: number;
  token: string;
  createdAt: Date;
  expiresAt: Date;
  openedAt: Date | null;
  usedAt: Date | null;
  revokedAt: Date | null;
}

export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

export function newInvitationToken(): string {
  return randomBytes(16).toString('base64url');
}

export function inviteLink(botUsername: string, token: string): string {
  return `https://t.me/${botUsername}?start=${token}`;
}

export function invitationState(inv: Invitation, now: Date): InvitationState {
  if (inv.usedAt) return 'usada';
  if (inv.revokedAt) return 'revocada';
  if (inv.expiresAt.getTime() <= now.getTime()) return 'vencida';
  return 'activa';
}

interface Row {
  id: number;
  client_id: number;
  token: string;
  created_at: Date;
  expires_at: Date;
  opened_at: Date | null;
  used_at: Date | null;
  revoked_at: Date | null;
}

const columns = 'id, client_id, token, created_at, expires_at, opened_at, used_at, revoked_at';
const prefixed = (alias: string) =>
  columns
    .split(', ')
    .map((c) => `${alias}.${c}`)
    .join(', ');

function toInvitation(r: Row): Invitation {
  return {
    id: r.id,
    clientId: r.client_id,
    token: r.token,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    openedAt: r.opened_at,
    usedAt: r.used_at,
    revokedAt: r.revoked_at,
  };
}

export interface UnlinkedFilters {
  sector?: string;
  plan_id?: number;
  estado?: 'activo' | 'suspendido' | 'retirado';
}

/** Invitations over a lent Queryable; `ttlDays` from the INVITE_TTL_DAYS setting. */
export function createInvitationsStore(db: Queryable, opts: { ttlDays: number }) {
  const ttlMs = opts.ttlDays * 86_400_000;

  async function activeFor(clientId: number, now: Date): Promise<Invitation | null> {
    const { rows } = await db.query<Row>(
      `SELECT ${columns} FROM bot_invitations
        WHERE client_id = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2
        ORDER BY created_at DESC, id DESC LIMIT 1`,
      [clientId, now],
    );
    return rows[0] ? toInvitation(rows[0]) : null;
  }

  async function revokeAll(clientId: number, now: Date, actor: string | undefined): Promise<number> {
    const res = await db.query(
      `UPDATE bot_invitations SET revoked_at = $2, revoked_by = $3
        WHERE client_id = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2`,
      [clientId, now, actor ?? null],
    );
    return res.rowCount;
  }

  async function insert(clientId: number, now: Date, actor: string | undefined): Promise<Invitation> {
    const { rows } = await db.query<Row>(
      `INSERT INTO bot_invitations (client_id, token, created_at, expires_at, created_by)
       VALUES ($1, $2, $3, $4, $5) RETURNING ${columns}`,
      [clientId, newInvitationToken(), now, new Date(now.getTime() + ttlMs), actor ?? null],
    );
    return toInvitation(rows[0]!);
  }

  return {
    activeFor,
    revokeAll,

    /** A fresh invitation; the client's earlier unused ones stop working. Run in a transaction. */
    async create(clientId: number, now: Date, actor?: string): Promise<Invitation> {
      await db.query('SELECT id FROM clients WHERE id = $1 FOR UPDATE', [clientId]);
      await revokeAll(clientId, now, actor);
      return insert(clientId, now, actor);
    },

    /** The client's active invitation, created when there is none. Run in a transaction. */
    async ensure(clientId: number, now: Date, actor?: string): Promise<Invitation> {
      await db.query('SELECT id FROM clients WHERE id = $1 FOR UPDATE', [clientId]);
      return (await activeFor(clientId, now)) ?? insert(clientId, now, actor);
    },

    /** The most recent invitation of a client, whatever its state. */
    async latest(clientId: number): Promise<Invitation | null> {
      const { rows } = await db.query<Row>(
        `SELECT ${columns} FROM bot_invitations WHERE client_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1`,
        [clientId],
      );
      return rows[0] ? toInvitation(rows[0]) : null;
    },

    /**
     * The invitation a /start payload names: its own token, or the token of one of its channel
     * links (an SMS, e-mail or WhatsApp invitation; `linkId` then says which).
     */
    async byToken(token: string): Promise<(Invitation & { linkId: number | null }) | null> {
      if (!TOKEN_PATTERN.test(token)) return null;
      const { rows } = await db.query<Row & { link_id: string | null }>(
        `SELECT ${columns}, NULL::bigint AS link_id FROM bot_invitations WHERE token = $1
         UNION ALL
         SELECT ${prefixed('i')}, l.id AS link_id
           FROM invitation_links l JOIN bot_invitations i ON i.id = l.invitation_id WHERE l.token = $1`,
        [token],
      );
      const r = rows[0];
      return r ? { ...toInvitation(r), linkId: r.link_id === null ? null : Number(r.link_id) } : null;
    },

    /** The funnel's "opened the bot": the first /start carrying the token. */
    async markOpened(id: number, chatId: number, now: Date, linkId?: number | null): Promise<boolean> {
      if (linkId) {
        // The channel link's own first open: the per-channel funnel (invitation-sends.ts).
        await db.query(
          'UPDATE invitation_links SET opened_at = $2, opened_chat_id = $3 WHERE id = $1 AND opened_at IS NULL',
          [linkId, now, chatId],
        );
      }
      const res = await db.query(
        'UPDATE bot_invitations SET opened_at = $2, opened_chat_id = $3 WHERE id = $1 AND opened_at IS NULL',
        [id, now, chatId],
      );
      return res.rowCount > 0;
    },

    /**
     * Set-based: gives every unlinked client matching the filters an active invitation (creating
     * only the missing ones) and returns them all with the client's name, in name order.
     */
    async ensureForUnlinked(
      filters: UnlinkedFilters,
      now: Date,
      actor?: string,
    ): Promise<
      Array<Invitation & { nombre: string; cedula: string; telefono: string | null; sector: string | null }>
    > {
      const where = `c.chat_id IS NULL
          AND ($1::text IS NULL OR lower(c.sector) = lower($1))
          AND ($2::int IS NULL OR c.plan_id = $2)
          AND ($3::text IS NULL OR c.estado = $3)`;
      const params = [filters.sector ?? null, filters.plan_id ?? null, filters.estado ?? null];
      const missing = await db.query<{ id: number }>(
        `SELECT c.id FROM clients c
          WHERE ${where}
            AND NOT EXISTS (SELECT 1 FROM bot_invitations i WHERE i.client_id = c.id AND i.used_at IS NULL
                              AND i.revoked_at IS NULL AND i.expires_at > $4)`,
        [...params, now],
      );
      if (missing.rows.length > 0) {
        const ids = missing.rows.map((r) => r.id);
        await db.query(
          `INSERT INTO bot_invitations (client_id, token, created_at, expires_at, created_by)
           SELECT t.client_id, t.token, $3, $4, $5 FROM unnest($1::int[], $2::text[]) AS t(client_id, token)`,
          [ids, ids.map(() => newInvitationToken()), now, new Date(now.getTime() + ttlMs), actor ?? null],
        );
      }
      const { rows } = await db.query<
        Row & { nombre: string; cedula: string; telefono: string | null; sector: string | null }
      >(
        `SELECT DISTINCT ON (lower(c.nombre), c.id) i.id, i.client_id, i.token, i.created_at, i.expires_at,
                i.opened_at, i.used_at, i.revoked_at, c.nombre, c.cedula, c.telefono, c.sector
           FROM clients c JOIN bot_invitations i ON i.client_id = c.id
          WHERE ${where} AND i.used_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $4
          ORDER BY lower(c.nombre), c.id, i.created_at DESC, i.id DESC`,
        [...params, now],
      );
      return rows.map((r) => ({
        ...toInvitation(r),
        nombre: r.nombre,
        cedula: r.cedula,
        telefono: r.telefono,
        sector: r.sector,
      }));
    },
  };
}

export type InvitationsStore = ReturnType<typeof createInvitationsStore>;
