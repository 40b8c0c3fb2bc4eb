import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';
import { type BotHarness, nextId, seedClient, startBotHarness } from './support.js';

// Issue 10 §7: the WhatsApp opt-in asked on Telegram (/preferencias), recorded in the consent
// ledger with source 'telegram' — only for a verified link. Issue 11 §4: /misdatos.
describeEachDb('Telegram: WhatsApp opt-in in /preferencias and /misdatos', (ctx) => {
  let h: BotHarness;
  beforeAll(async () => {
    h = await startBotHarness(ctx.db, { mode: 'polling' });
  });
  afterAll(async () => {
    await h?.close();
  });
  const fresh = () => {
    const n = nextId() + 8000;
    return { cedula: cedulaFor(n), chatId: 910_000 + n };
  };
  const ledger = async (clientId: number) =>
    (
      await ctx.db.query<{ otorgado: boolean; fuente: string; evidencia: string; registrado_por: string }>(
        `SELECT otorgado, fuente, evidencia, registrado_por FROM consents
          WHERE client_id = $1 AND canal = 'whatsapp' AND categoria = 'servicio' ORDER BY id`,
        [clientId],
      )
    ).rows;

  it('a verified chat is asked; "Sí" grants and "No" revokes WhatsApp service notices, each recorded once', async () => {
    const { cedula, chatId } = fresh();
    const client = await seedClient(ctx.db, cedula, { nombre: 'Luis Chicaiza', telefono: '0987000321' });
    const u = h.user({ chatId });
    await h.say(u, cedula);
    await h.act(u, (x) => x.shareContact('593987000321')); // verified by the contact
    const [menu] = await h.act(u, (x) => x.send('/preferencias'));
    expect(menu!.text).toContain('¿Desea recibir sus avisos también por WhatsApp al número 098 700 0321?');
    expect(JSON.stringify(menu!.reply_markup)).toContain('"callback_data":"wa:1"');

    const [yes] = await h.act(u, (x) => x.press('wa:1'));
    expect(yes!.method).toBe('editMessageText');
    expect(yes!.text).toContain('WhatsApp al 098 700 0321: ✅ sí');
    expect(JSON.stringify(yes!.reply_markup)).toContain('"callback_data":"wa:0"');
    let rows = await ledger(client.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ otorgado: true, fuente: 'telegram', registrado_por: 'cliente' });
    expect(rows[0]!.evidencia).toContain(`chat ${chatId}`);
    expect(rows[0]!.evidencia).toContain('593987000321');

    // With WhatsApp consented the client picks where notices go (issue 10 §8).
    expect(yes!.text).toContain('Sus avisos llegan por: Telegram.');
    expect(JSON.stringify(yes!.reply_markup)).toContain('"callback_data":"canal:whatsapp"');
    const [pick] = await h.act(u, (x) => x.press('canal:whatsapp'));
    expect(pick!.text).toContain('Sus avisos llegan por: WhatsApp.');
    expect(JSON.stringify(pick!.reply_markup)).toContain('"callback_data":"canal:telegram"');
    const pref = await ctx.db.query<{ canal_preferido: string }>(
      'SELECT canal_preferido FROM clients WHERE id = $1',
      [client.id],
    );
    expect(pref.rows[0]!.canal_preferido).toBe('whatsapp');
    await h.act(u, (x) => x.press('canal:telegram'));

    // A stale "Sí" button records nothing new; "No" revokes.
    await h.act(u, (x) => x.press('wa:1'));
    expect(await ledger(client.id)).toHaveLength(1);
    await h.act(u, (x) => x.press('wa:0'));
    rows = await ledger(client.id);
    expect(rows.map((r) => r.otorgado)).toEqual([true, false]);

    // /misdatos: what we hold and the consents, to the verified chat.
    const data = await h.say(u, '/misdatos');
    expect(data).toContain('Nombre: Luis Chicaiza');
    expect(data).toContain(`Cédula: ${cedula}`);
    expect(data).toContain('WhatsApp: 098 700 0321');
    expect(data).toMatch(/WhatsApp, avisos del servicio: no \(desde el .*respuesta por telegram\)/);
  });

  it('a chat linked with the cédula alone is never asked, cannot consent and sees no data', async () => {
    const { cedula, chatId } = fresh();
    const client = await seedClient(ctx.db, cedula, { telefono: null });
    await ctx.db.query(`UPDATE clients SET whatsapp = '593987000654' WHERE id = $1`, [client.id]);
    const u = h.user({ chatId });
    await h.say(u, cedula); // no phone on file: linked unverified
    const [menu] = await h.act(u, (x) => x.send('/preferencias'));
    expect(menu!.text).not.toContain('WhatsApp');
    expect(JSON.stringify(menu!.reply_markup)).not.toContain('wa:');
    await h.act(u, (x) => x.press('wa:1'));
    expect(await ledger(client.id)).toEqual([]);
    const data = await h.say(u, '/misdatos');
    expect(data).toContain('todavía no está verificado');
    expect(data).not.toContain(cedula);
  });
});
