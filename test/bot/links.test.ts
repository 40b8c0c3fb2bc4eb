import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';
import { repoRoot } from '../support/process.js';
import { type BotHarness, clientRow, nextId, seedClient, startBotHarness } from './support.js';

/** The link module owns every change to a client's chat link (issue 9 §2). */
describeEachDb('link module', (ctx) => {
  let h: BotHarness;
  beforeAll(async () => {
    h = await startBotHarness(ctx.db, { mode: 'polling' });
  });
  afterAll(async () => {
    await h?.close();
  });
  const fresh = () => {
    const n = nextId();
    return { cedula: cedulaFor(60_000 + n), chatId: 860_000 + n };
  };
  const setChat = (cliente_id: number, chat_id: number | null) =>
    h.app.inject({
      method: 'POST',
      url: '/api/notificaciones/actualizar-chat-id/',
      headers: auth,
      payload: { cliente_id, chat_id },
    });
  const events = async (clientId: number) =>
    (
      await ctx.db.query<{ tipo: string; chat_id: string; detalles: Record<string, unknown> }>(
        'SELECT tipo, chat_id::text, detalles FROM bot_events WHERE client_id = $1 ORDER BY id',
        [clientId],
      )
    ).rows;

  it('actualizar-chat-id goes through the link module: event, chat state, audit; unverified', async () => {
    const { cedula, chatId } = fresh();
    const c = await seedClient(ctx.db, cedula);
    // The chat was half-way through registering someone else: a link by hand resets it.
    await ctx.db.query(
      `INSERT INTO bot_chats (chat_id, estado, client_id, first_seen_at, updated_at)
       VALUES ($1, 'esperando_contacto', $2, now(), now())`,
      [chatId, c.id],
    );
    const res = await setChat(c.id, chatId);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().cliente.telegram).toMatchObject({
      vinculado: true,
      chat_id: String(chatId),
      estado_vinculo: 'pendiente_de_verificar',
    });
    expect(await events(c.id)).toEqual([
      {
        tipo: 'vinculado',
        chat_id: String(chatId),
        detalles: { verificado: false, metodo: 'manual', movido: false },
      },
    ]);
    const chat = await ctx.db.query<{ estado: string }>('SELECT estado FROM bot_chats WHERE chat_id = $1', [
      chatId,
    ]);
    expect(chat.rows[0]!.estado).toBe('inicio');
    // Same chat again: nothing new happens.
    expect((await setChat(c.id, chatId)).statusCode).toBe(200);
    expect(await events(c.id)).toHaveLength(1);
    // Unlink by hand.
    expect((await setChat(c.id, null)).json().cliente.telegram).toMatchObject({
      vinculado: false,
      estado_vinculo: 'sin_vincular',
    });
    expect((await events(c.id)).at(-1)).toMatchObject({
      tipo: 'desvinculado',
      chat_id: String(chatId),
      detalles: { motivo: 'manual' },
    });
    expect(await clientRow(ctx.db, c.id)).toMatchObject({ chat_id: null, link_verified: false });
    const audited = await ctx.db.query<{ detalles: unknown }>(
      `SELECT detalles FROM audit_log WHERE accion = 'telegram.actualizar_chat_id' AND objeto = $1 ORDER BY id`,
      [`cliente:${c.id}`],
    );
    expect(audited.rows.map((r) => r.detalles)).toEqual([
      { chat_id: chatId },
      { chat_id: chatId },
      { chat_id: null },
    ]);
  });

  it('moving a client to another chat by hand records both sides; a chat held by another is refused', async () => {
    const a = fresh();
    const b = fresh();
    const ca = await seedClient(ctx.db, a.cedula);
    const cb = await seedClient(ctx.db, b.cedula);
    await setChat(ca.id, a.chatId);
    await setChat(cb.id, b.chatId);
    const taken = await setChat(ca.id, b.chatId);
    expect(taken.statusCode).toBe(409);
    expect(taken.json().error.code).toBe('CHAT_ID_DUPLICADO');
    expect((await clientRow(ctx.db, cb.id)).chat_id).toBe(b.chatId);
    const other = fresh().chatId;
    expect((await setChat(ca.id, other)).statusCode).toBe(200);
    expect((await events(ca.id)).slice(-2)).toEqual([
      {
        tipo: 'vinculado',
        chat_id: String(other),
        detalles: { verificado: false, metodo: 'manual', movido: true },
      },
      {
        tipo: 'desvinculado',
        chat_id: String(a.chatId),
        detalles: { motivo: 'cuenta_vinculada_a_otro_chat' },
      },
    ]);
    const missing = await setChat(999_999, other);
    expect(missing.statusCode).toBe(404);
  });
});

describe('link columns have one owner', () => {
  const LINK_COLUMNS = [
    'chat_id',
    'linked_at',
    'link_verified',
    'telegram_user_id',
    'telegram_username',
    'telegram_blocked',
    'telegram_unreachable',
  ];
  const OWNER = 'src/bot/links.ts';
  /**
   * The dispatcher's verdict "Telegram says this chat is closed" is delivery state (issue 9 §4
   * puts reachability with the rules): the outbox may set the unreachable/blocked marks, nothing else.
   */
  const DELIVERY_VERDICT = {
    file: 'src/notifications/outbox.ts',
    columns: ['telegram_unreachable', 'telegram_blocked'],
  };

  function files(dir: string): string[] {
    return readdirSync(dir).flatMap((f) => {
      const p = path.join(dir, f);
      return statSync(p).isDirectory() ? files(p) : /\.(ts|sql)$/.test(f) ? [p] : [];
    });
  }

  it(`only ${OWNER} writes chat_id, link_verified or telegram_* in an UPDATE of clients`, () => {
    const offenders: string[] = [];
    for (const file of [...files(path.join(repoRoot, 'src')), ...files(path.join(repoRoot, 'migrations'))]) {
      const rel = path.relative(repoRoot, file);
      if (rel === OWNER) continue;
      const text = readFileSync(file, 'utf8');
      // Every UPDATE of clients: its SET list runs until WHERE / FROM / RETURNING.
      for (const m of text.matchAll(
        /UPDATE\s+clients\b(?:\s+\w+)?\s+SET\s+([\s\S]*?)(?:\bWHERE\b|\bFROM\b|\bRETURNING\b|`|;)/gi,
      )) {
        const set = m[1]!;
        const written = LINK_COLUMNS.filter((col) => new RegExp(`(^|[\\s,.])${col}\\s*=`).test(set));
        const allowed = rel === DELIVERY_VERDICT.file ? DELIVERY_VERDICT.columns : [];
        const bad = written.filter((col) => !allowed.includes(col));
        if (bad.length > 0) offenders.push(`${rel}: ${bad.join(', ')}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('the owner really is where those UPDATEs live (the scan sees them)', () => {
    const text = readFileSync(path.join(repoRoot, OWNER), 'utf8');
    expect(text.match(/UPDATE\s+clients\b(?:\s+\w+)?\s+SET/gi)?.length).toBeGreaterThanOrEqual(4);
  });
});
