import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultTemplates } from '../../src/notifications/templates.js';
import { auth } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';
import {
  BASE_NOW,
  type BotHarness,
  clientRow,
  nextId,
  seedClient,
  startBotHarness,
  type Transport,
} from './support.js';

/**
 * Every conversation path, typed as a client would type it, against the Bot API stand-in: once
 * through long polling and once through the real webhook route, on PGlite and on PostgreSQL.
 */
describeEachDb('bot conversation', (ctx) => {
  for (const mode of ['polling', 'webhook'] as const satisfies Transport[]) {
    describe(mode, () => {
      let h: BotHarness;
      /** A fresh cédula and private chat for each test: tests share the database. */
      const fresh = () => {
        const n = nextId() + (mode === 'webhook' ? 5000 : 0);
        return { cedula: cedulaFor(n), chatId: 700_000 + n, n };
      };
      const texts = (msgs: { text: string }[]) => msgs.map((m) => m.text).join('\n---\n');
      beforeAll(async () => {
        h = await startBotHarness(ctx.db, { mode });
      });
      afterAll(async () => {
        await h?.close();
      });
      afterEach(() => {
        h.clock.set(BASE_NOW);
      });

      it('/start asks for the cédula; the matching contact links the chat and queues the welcome', async () => {
        const { cedula, chatId } = fresh();
        const c = await seedClient(ctx.db, cedula, { nombre: 'Ana Torres', telefono: '0987000001' });
        const u = h.user({ chatId, firstName: 'Ana', username: 'anat' });
        expect(await h.say(u, '/start')).toContain('escriba su número de cédula');
        const ask = await h.act(u, (x) => x.send(cedula));
        expect(ask).toHaveLength(1);
        expect(ask[0]!.text).toContain('Compartir mi número');
        expect(JSON.stringify(ask[0]!.reply_markup)).toContain('"request_contact":true');
        const done = await h.act(u, (x) => x.shareContact('593987000001'));
        expect(done[0]!.text).toContain('✅ ¡Listo, Ana Torres!');
        expect(done[0]!.reply_markup).toEqual({ remove_keyboard: true });
        expect(await clientRow(ctx.db, c.id)).toMatchObject({
          chat_id: chatId,
          link_verified: true,
          telegram_user_id: chatId,
        });
        const welcome = await ctx.db.query<{
          tipo: string;
          mensaje: string;
          urgente: boolean;
          dedupe_key: string;
        }>(`SELECT tipo, mensaje, urgente, dedupe_key FROM notifications WHERE client_id = $1`, [c.id]);
        expect(welcome.rows).toHaveLength(1);
        expect(welcome.rows[0]).toMatchObject({ tipo: 'bienvenida', urgente: true });
        // Queued without text: the dispatcher composes it from the editable 'bienvenida' template.
        expect(welcome.rows[0]!.mensaje).toBeNull();
        expect(welcome.rows[0]!.dedupe_key).toMatch(new RegExp(`^bienvenida:${c.id}:\\d+$`));
        const tg = await ctx.db.query<{ telegram_username: string }>(
          'SELECT telegram_username FROM clients WHERE id = $1',
          [c.id],
        );
        expect(tg.rows[0]!.telegram_username).toBe('anat');
      });

      it('linking says the commands once: the welcome lists them, the reply does not repeat them', async () => {
        const { cedula, chatId } = fresh();
        const c = await seedClient(ctx.db, cedula, { telefono: '0987000009' });
        const u = h.user({ chatId });
        await h.say(u, cedula);
        const reply = await h.act(u, (x) => x.shareContact('0987000009')).then(texts);
        expect(reply).toContain('quedó vinculado');
        const welcome = await ctx.db.query<{ mensaje: string | null }>(
          `SELECT mensaje FROM notifications WHERE client_id = $1 AND tipo = 'bienvenida'`,
          [c.id],
        );
        expect(welcome.rows[0]!.mensaje).toBeNull(); // the 'bienvenida' template, composed when sent
        const lists = (t: string) =>
          ['/status', '/preferencias', '/help', '/contact', '/baja'].filter((k) => t.includes(k));
        expect(lists(defaultTemplates.bienvenida).length).toBeGreaterThan(0);
        expect(lists(reply)).toEqual([]);
      });

      it('explains precisely what is wrong with a badly typed cédula, and counts no attempt', async () => {
        const { chatId } = fresh();
        const u = h.user({ chatId });
        await h.say(u, '/start');
        expect(await h.say(u, 'mi cédula')).toContain('solo puede tener números');
        expect(await h.say(u, '17143071')).toContain('debe tener 10 dígitos');
        expect(await h.say(u, '9914307103')).toContain('código de provincia');
        expect(await h.say(u, '1784307103')).toContain('tercer dígito');
        expect(await h.say(u, '1714307104')).toContain('verificador');
        expect(await h.say(u, '171430710-3 ')).toContain('Compartir mi número'); // separators are fine
        // Only the well-formed cédula was looked up (and counts against this user).
        const n = await ctx.db.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM bot_cedula_lookups WHERE chat_id = $1',
          [chatId],
        );
        expect(n.rows[0]!.n).toBe(1);
      });

      it('an unknown cédula is answered exactly like a client with a phone: a stranger cannot tell them apart', async () => {
        const real = fresh();
        await seedClient(ctx.db, real.cedula, { nombre: 'Julia Paz', telefono: '0987000077' });
        const unknown = fresh();
        const run = async (chatId: number, cedula: string) => {
          const u = h.user({ chatId });
          const steps = [
            await h.act(u, (x) => x.send('/start')),
            await h.act(u, (x) => x.send(cedula)),
            await h.act(u, (x) => x.send('no sé')),
            await h.act(u, (x) => x.shareContact('0999999999')), // the stranger's own phone
            await h.act(u, (x) => x.shareContact('0999999999', { userId: 4_242_424 })),
          ];
          return steps.map((msgs) => msgs.map((m) => ({ text: m.text, markup: m.reply_markup })));
        };
        const a = await run(real.chatId, real.cedula);
        const b = await run(unknown.chatId, unknown.cedula);
        expect(b).toEqual(a);
        expect(JSON.stringify(a)).not.toContain('Julia');
        expect(a[3]![0]!.text).toContain('no coincide con el que tenemos registrado');
        expect(a[3]![0]!.text).toContain('le quedan 4 intentos');
        // Both cost the same: one lookup and one failed attempt.
        for (const chatId of [real.chatId, unknown.chatId]) {
          const r = await ctx.db.query<{ lookups: number; failures: number }>(
            `SELECT (SELECT count(*)::int FROM bot_cedula_lookups WHERE chat_id = $1) AS lookups,
                    (SELECT count(*)::int FROM bot_failed_attempts WHERE chat_id = $1) AS failures`,
            [chatId],
          );
          expect(r.rows[0]).toEqual({ lookups: 1, failures: 2 });
        }
      });

      it('refuses a contact that is not the sender’s own, and a different number', async () => {
        const { cedula, chatId } = fresh();
        const c = await seedClient(ctx.db, cedula, { nombre: 'Luis Mora', telefono: '0987000002' });
        const u = h.user({ chatId });
        await h.say(u, '/start');
        await h.say(u, cedula);
        const foreign = await h.act(u, (x) => x.shareContact('0987000002', { userId: 424242 }));
        expect(texts(foreign)).toContain('Ese contacto no es el suyo');
        const noUser = await h.act(u, (x) => x.shareContact('0987000002', { userId: null }));
        expect(texts(noUser)).toContain('Ese contacto no es el suyo');
        const other = await h.act(u, (x) => x.shareContact('0987999999'));
        expect(texts(other)).toContain('no coincide con el que tenemos registrado');
        expect(texts(other)).toContain('le quedan 2 intentos');
        for (const m of [...foreign, ...noUser, ...other]) expect(m.text).not.toContain('Luis');
        expect((await clientRow(ctx.db, c.id)).chat_id).toBeNull();
        // Typing the number instead of sharing it does not count and is answered with the button.
        expect(await h.say(u, 'mi número es el de siempre')).toContain('toque el botón');
      });

      for (const [form, shared] of [
        ['09…', '0987000111'],
        ['+593 9…', '+593 98 700 0111'],
        ['5939…', '593987000111'],
      ] as const) {
        it(`accepts the number on file shared in the form ${form}`, async () => {
          const { cedula, chatId } = fresh();
          // The file holds it in another form each time: the forms are the same number.
          const onFile = form === '09…' ? '+593987000111' : '098 700 0111';
          const c = await seedClient(ctx.db, cedula, { telefono: onFile });
          const u = h.user({ chatId });
          await h.say(u, '/start');
          await h.say(u, cedula);
          expect(await h.act(u, (x) => x.shareContact(shared)).then(texts)).toContain(
            'Este chat quedó vinculado',
          );
          expect((await clientRow(ctx.db, c.id)).chat_id).toBe(chatId);
          // Lets the next form reuse the same number on another client.
          await ctx.db.query(`UPDATE clients SET telefono = NULL, telefono_norm = NULL WHERE id = $1`, [
            c.id,
          ]);
        });
      }

      it('links on the cédula alone when no phone is on file, marked unverified', async () => {
        const { cedula, chatId } = fresh();
        const c = await seedClient(ctx.db, cedula, { nombre: 'Rosa Díaz', telefono: null });
        const u = h.user({ chatId });
        await h.say(u, '/start');
        const answer = await h.say(u, cedula);
        expect(answer).toContain('¡Listo, Rosa Díaz!');
        expect(answer).toContain('registre su número de celular');
        expect(await clientRow(ctx.db, c.id)).toMatchObject({ chat_id: chatId, link_verified: false });
        const stats = await h.app.inject({
          url: '/api/notificaciones/telegram/estadisticas/',
          headers: auth,
        });
        expect(stats.json().sin_verificar).toBeGreaterThanOrEqual(1);
      });

      it('takes a cédula typed without /start (the old flow)', async () => {
        const { cedula, chatId } = fresh();
        await seedClient(ctx.db, cedula, { telefono: null });
        const u = h.user({ chatId });
        expect(await h.say(u, cedula)).toContain('Este chat quedó vinculado');
      });

      it('allows 5 failed attempts per chat per hour, then asks to wait', async () => {
        const { chatId } = fresh();
        const known = fresh();
        await seedClient(ctx.db, known.cedula, { telefono: null });
        const u = h.user({ chatId });
        await h.say(u, '/start');
        for (let i = 0; i < 5; i++) {
          expect(await h.say(u, cedulaFor(90_000 + fresh().n))).toContain('Compartir mi número');
          expect(await h.act(u, (x) => x.shareContact('0999999999')).then(texts)).toContain('no coincide');
          h.clock.advance(60_000);
        }
        const wait = await h.say(u, known.cedula);
        expect(wait).toContain('máximo de 5 intentos');
        expect(wait).toMatch(/en 5[0-9] minutos/);
        // A contact does not get through either, nor an invitation link.
        expect(await h.say(u, '/start AAAAAAAAAAAAAAAAAAAAAA')).toContain('máximo de 5 intentos');
        h.clock.advance(56 * 60_000);
        expect(await h.say(u, known.cedula)).toContain('Este chat quedó vinculado');
      });

      it('moves a linked cédula to a new chat only after the contact check, and tells the old chat', async () => {
        const { cedula, chatId } = fresh();
        const c = await seedClient(ctx.db, cedula, { nombre: 'Pedro Vera', telefono: '0987000003' });
        const oldChat = h.user({ chatId });
        await h.say(oldChat, cedula);
        await h.act(oldChat, (x) => x.shareContact('0987000003'));
        expect((await clientRow(ctx.db, c.id)).chat_id).toBe(chatId);

        const intruder = h.user({ chatId: fresh().chatId });
        await h.say(intruder, '/start');
        const ask = await h.say(intruder, cedula);
        expect(ask).toContain('Compartir mi número');
        expect(ask).not.toContain('Pedro');
        await h.act(intruder, (x) => x.shareContact('0987111111'));
        expect((await clientRow(ctx.db, c.id)).chat_id).toBe(chatId);

        const newPhone = h.user({ chatId: fresh().chatId });
        await h.say(newPhone, cedula);
        const before = h.standin.sentTo(chatId).length;
        expect(await h.act(newPhone, (x) => x.shareContact('+593987000003')).then(texts)).toContain(
          'Pedro Vera',
        );
        expect((await clientRow(ctx.db, c.id)).chat_id).toBe(newPhone.chatId);
        const told = h.standin.sentTo(chatId).slice(before);
        expect(told).toHaveLength(1);
        expect(told[0]!.text).toContain('se vinculó a otro chat de Telegram');
      });

      it('does not move a linked cédula without a phone on file', async () => {
        const { cedula, chatId } = fresh();
        const c = await seedClient(ctx.db, cedula, { telefono: null });
        await h.say(h.user({ chatId }), cedula);
        const other = h.user({ chatId: fresh().chatId });
        expect(await h.say(other, cedula)).toContain('ya está vinculada a otro chat');
        expect((await clientRow(ctx.db, c.id)).chat_id).toBe(chatId);
      });

      it('re-links a chat to another cédula, unlinking the first client', async () => {
        const a = fresh();
        const b = fresh();
        const ca = await seedClient(ctx.db, a.cedula, { nombre: 'Primera Cuenta', telefono: null });
        const cb = await seedClient(ctx.db, b.cedula, { nombre: 'Segunda Cuenta', telefono: null });
        const u = h.user({ chatId: a.chatId });
        await h.say(u, a.cedula);
        expect(await h.say(u, '/start')).toContain('ya está vinculado a la cuenta de Primera Cuenta');
        expect(await h.say(u, a.cedula)).toContain('ya está vinculado a esa cédula');
        await h.say(u, '/start');
        const answer = await h.say(u, b.cedula);
        expect(answer).toContain('Segunda Cuenta');
        expect(answer).toContain('dejó de recibir los avisos de la cuenta que tenía vinculada antes');
        expect((await clientRow(ctx.db, ca.id)).chat_id).toBeNull();
        expect((await clientRow(ctx.db, cb.id)).chat_id).toBe(a.chatId);
      });

      it('cancels a started registration', async () => {
        const { cedula, chatId } = fresh();
        await seedClient(ctx.db, cedula);
        const u = h.user({ chatId });
        await h.say(u, '/start');
        await h.say(u, cedula);
        expect(await h.say(u, 'Cancelar')).toContain('cancelado');
        expect(await h.act(u, (x) => x.shareContact('0987654321')).then(texts)).toContain(
          'no necesito su contacto',
        );
      });

      describe('invitations', () => {
        async function invite(clientId: number) {
          const res = await h.app.inject({ url: `/api/clientes/${clientId}/invitacion`, headers: auth });
          expect(res.statusCode, res.body).toBe(200);
          return res.json() as { token: string; enlace: string; id: number };
        }

        it('a valid token links at once, verified, and cannot be used again', async () => {
          const { cedula, chatId } = fresh();
          const c = await seedClient(ctx.db, cedula, { nombre: 'Julia Paz' });
          const inv = await invite(c.id);
          expect(inv.enlace).toBe(`https://t.me/${h.standin.botInfo.username}?start=${inv.token}`);
          const u = h.user({ chatId });
          const answer = await h.act(u, (x) => x.command('start', inv.token)).then(texts);
          expect(answer).toContain('¡Listo, Julia Paz!');
          expect(await clientRow(ctx.db, c.id)).toMatchObject({ chat_id: chatId, link_verified: true });
          expect(await h.act(u, (x) => x.command('start', inv.token)).then(texts)).toContain(
            'ya está vinculado a esa cédula',
          );
          const other = h.user({ chatId: fresh().chatId });
          const used = await h.act(other, (x) => x.command('start', inv.token)).then(texts);
          expect(used).toContain('ya fue usado');
          expect(used).not.toContain('Julia');
          expect((await clientRow(ctx.db, c.id)).chat_id).toBe(chatId);
        });

        it('an expired, a revoked and an unknown token fall back to the cédula', async () => {
          const { cedula, chatId } = fresh();
          const c = await seedClient(ctx.db, cedula, { telefono: null });
          const old = await invite(c.id);
          h.clock.advance(31 * 86_400_000);
          const u = h.user({ chatId });
          expect(await h.act(u, (x) => x.command('start', old.token)).then(texts)).toContain('ya venció');
          const revoked = await invite(c.id);
          expect(revoked.token).not.toBe(old.token);
          const del = await h.app.inject({
            method: 'DELETE',
            url: `/api/clientes/${c.id}/invitacion`,
            headers: auth,
          });
          expect(del.json()).toEqual({ ok: true, revocadas: 1 });
          expect(await h.act(u, (x) => x.command('start', revoked.token)).then(texts)).toContain(
            'fue anulado',
          );
          const unknown = await h.act(u, (x) => x.command('start', 'ZZZZZZZZZZZZZZZZZZZZZZ')).then(texts);
          expect(unknown).toContain('no es válido');
          expect(unknown).toContain('Escriba su número de cédula');
          expect((await clientRow(ctx.db, c.id)).chat_id).toBeNull();
          // The fallback works: the cédula links.
          expect(await h.say(u, cedula)).toContain('quedó vinculado');
        });

        it('a token for an account linked elsewhere still needs the contact check', async () => {
          const { cedula, chatId } = fresh();
          const c = await seedClient(ctx.db, cedula, { telefono: '0987000004' });
          const first = h.user({ chatId });
          await h.say(first, cedula);
          await h.act(first, (x) => x.shareContact('0987000004'));
          const inv = await invite(c.id);
          const second = h.user({ chatId: fresh().chatId });
          expect(await h.act(second, (x) => x.command('start', inv.token)).then(texts)).toContain(
            'Compartir mi número',
          );
          await h.act(second, (x) => x.shareContact('0987000004'));
          expect((await clientRow(ctx.db, c.id)).chat_id).toBe(second.chatId);
          const row = await ctx.db.query<{ used_chat_id: number }>(
            'SELECT used_chat_id FROM bot_invitations WHERE id = $1',
            [inv.id],
          );
          expect(row.rows[0]!.used_chat_id).toBe(second.chatId);
        });
      });

      describe('self-service', () => {
        async function linked(c: Parameters<typeof seedClient>[2]) {
          const { cedula, chatId } = fresh();
          const client = await seedClient(ctx.db, cedula, { ...c, telefono: null });
          const u = h.user({ chatId });
          await h.say(u, cedula);
          // Linked by cédula alone: staff confirm the chat, so /status may show billing data.
          const ok = await h.app.inject({
            method: 'POST',
            url: `/api/clientes/${client.id}/verificar-vinculo`,
            headers: auth,
          });
          expect(ok.json()).toEqual({ ok: true, resultado: 'verificado' });
          return { u, client };
        }

        it('an unverified link (cédula alone) gets no billing data until staff confirm it', async () => {
          const { cedula, chatId } = fresh();
          const client = await seedClient(ctx.db, cedula, {
            telefono: null,
            fecha_ultimo_pago: '2026-01-01',
          });
          const u = h.user({ chatId });
          await h.say(u, cedula);
          const view = await h.app.inject({ url: `/api/clientes/${client.id}`, headers: auth });
          expect(view.json().telegram).toMatchObject({
            vinculado: true,
            verificado: false,
            estado_vinculo: 'pendiente_de_verificar',
          });
          const s = await h.say(u, '/status');
          expect(s).toContain('escríbanos o verifique su número');
          for (const secret of ['Hogar 50', '$', '/2026', 'vencido', 'María'])
            expect(s).not.toContain(secret);
          const confirm = () =>
            h.app.inject({
              method: 'POST',
              url: `/api/clientes/${client.id}/verificar-vinculo`,
              headers: auth,
            });
          expect((await confirm()).json()).toEqual({ ok: true, resultado: 'verificado' });
          expect((await confirm()).json()).toEqual({ ok: true, resultado: 'ya_verificado' });
          const audited = await ctx.db.query(
            `SELECT 1 FROM audit_log WHERE accion = 'telegram.verificar_vinculo' AND objeto = $1`,
            [`cliente:${client.id}`],
          );
          expect(audited.rows).toHaveLength(1);
          const ev = await ctx.db.query(
            `SELECT 1 FROM bot_events WHERE tipo = 'vinculo_verificado' AND client_id = $1`,
            [client.id],
          );
          expect(ev.rows).toHaveLength(1);
          expect(
            (await h.app.inject({ url: `/api/clientes/${client.id}`, headers: auth })).json().telegram,
          ).toMatchObject({ verificado: true, estado_vinculo: 'verificado' });
          expect(await h.say(u, '/status')).toContain('Plan: Hogar 50');
          const unlinked = await seedClient(ctx.db, fresh().cedula, { telefono: null });
          const none = await h.app.inject({
            method: 'POST',
            url: `/api/clientes/${unlinked.id}/verificar-vinculo`,
            headers: auth,
          });
          expect(none.statusCode).toBe(409);
          expect(none.json().error.code).toBe('VINCULO_INEXISTENTE');
        });

        it('UNVERIFIED_LINK_FULL_NOTICES=1 restores the full /status for unverified links', async () => {
          const { cedula, chatId } = fresh();
          await seedClient(ctx.db, cedula, { telefono: null });
          const u = h.user({ chatId });
          await h.say(u, cedula);
          h.config.bot.unverifiedFullNotices = true;
          try {
            expect(await h.say(u, '/status')).toContain('Plan: Hogar 50');
          } finally {
            h.config.bot.unverifiedFullNotices = false;
          }
        });

        it('/status before linking says how to link and shows nothing else', async () => {
          const u = h.user({ chatId: fresh().chatId });
          const answer = await h.say(u, '/status');
          expect(answer).toContain('todavía no está vinculado');
          expect(await h.say(u, '/preferencias')).toContain('todavía no está vinculado');
          expect(await h.say(u, '/baja')).toContain('todavía no está vinculado');
        });

        it('/status for a client who paid: days left and the next amount', async () => {
          const { u } = await linked({ nombre: 'Al Día', fecha_ultimo_pago: '2026-03-01' });
          const s = await h.say(u, '/status');
          expect(s).toContain('Al Día');
          expect(s).toContain('Plan: Hogar 50 ($25,00 al mes)');
          expect(s).toContain('Servicio: 🟢 activo');
          expect(s).toContain('Último pago: 01/03/2026');
          expect(s).toContain('Próximo vencimiento: 31/03/2026');
          expect(s).toContain('faltan 21 días');
          expect(s).toContain('Valor a pagar: $0,00 (próximo pago: $25,00)');
        });

        it('/status for a client whose payment is due soon', async () => {
          const { u } = await linked({ fecha_ultimo_pago: '2026-02-12' });
          const s = await h.say(u, '/estado');
          expect(s).toContain('Próximo vencimiento: 14/03/2026');
          expect(s).toContain('vence en 4 días');
          expect(s).toContain('Valor a pagar: $25,00');
        });

        it('/status for overdue clients (one and two cycles) and a suspended one', async () => {
          const { u } = await linked({ fecha_ultimo_pago: '2026-02-01' });
          const s = await h.say(u, '/status');
          expect(s).toContain('Pago vencido hace 7 días');
          expect(s).toContain('Valor a pagar: $25,00');
          const two = await linked({ fecha_ultimo_pago: '2026-01-01', estado: 'suspendido' });
          const s2 = await h.say(two.u, '/status');
          expect(s2).toContain('Pago vencido hace 38 días');
          expect(s2).toContain('Valor a pagar: $50,00');
          expect(s2).toContain('Servicio: 🔴 suspendido');
          const none = await linked({ fecha_ultimo_pago: null });
          expect(await h.say(none.u, '/status')).toContain('No tenemos registrado su último pago');
        });

        it('/help, /contact, unknown text and commands', async () => {
          const { u } = await linked({});
          expect(await h.say(u, '/help')).toContain('/preferencias');
          const contact = await h.say(u, '/contact');
          expect(contact).toContain('02 234 5678');
          expect(contact).toContain('https://wa.me/593991234567');
          expect(contact).toContain('atencion@teltec.ec');
          expect(contact).toContain('Av. Amazonas');
          expect(await h.say(u, 'hola, ¿cómo están?')).toContain('Recibimos su mensaje');
          expect(await h.say(u, '/foo')).toContain('No entendí');
          const stranger = h.user({ chatId: fresh().chatId });
          expect(await h.say(stranger, 'hola')).toContain('envíe /start');
        });

        it('/preferencias toggles offers and maintenance with buttons; payment notices stay on', async () => {
          const { u, client } = await linked({});
          const menu = await h.act(u, (x) => x.send('/preferencias'));
          expect(menu[0]!.text).toContain('Avisos de pago: siempre activos');
          expect(JSON.stringify(menu[0]!.reply_markup)).toContain('pref:ofertas:0');
          const calls = h.standin.calls.length;
          const edited = await h.act(u, (x) => x.press('pref:ofertas:0'));
          expect(edited[0]!.method).toBe('editMessageText');
          expect(edited[0]!.text).toContain('Ofertas y promociones: 🔕 no');
          expect(JSON.stringify(edited[0]!.reply_markup)).toContain('pref:ofertas:1');
          const answered = h.standin.calls.slice(calls).find((c) => c.method === 'answerCallbackQuery');
          expect(answered?.params.text).toBe('Ofertas desactivadas');
          await h.act(u, (x) => x.press('pref:mantenimiento:0'));
          expect(await clientRow(ctx.db, client.id)).toMatchObject({
            pref_ofertas: false,
            pref_mantenimiento: false,
          });
          // Pressing a stale button again changes nothing and still answers.
          await h.act(u, (x) => x.press('pref:mantenimiento:0'));
          await h.act(u, (x) => x.press('pref:ofertas:1'));
          expect(await clientRow(ctx.db, client.id)).toMatchObject({
            pref_ofertas: true,
            pref_mantenimiento: false,
          });
          // Another chat pressing the same button data changes nothing for this client.
          const stranger = h.user({ chatId: fresh().chatId });
          await h.say(stranger, '/status');
          const strangerCalls = h.standin.calls.length;
          await h.act(stranger, (x) => x.press('pref:ofertas:0'));
          expect(
            h.standin.calls.slice(strangerCalls).find((c) => c.method === 'answerCallbackQuery')?.params.text,
          ).toContain('todavía no está vinculado');
          expect((await clientRow(ctx.db, client.id)).pref_ofertas).toBe(true);
          const before = h.standin.calls.length;
          await h.act(u, (x) => x.press('algo:raro'));
          const unknown = h.standin.calls.slice(before).find((c) => c.method === 'answerCallbackQuery');
          expect(unknown?.params.text).toBe('Esta opción ya no está disponible.');
        });

        it('/baja unlinks only after the confirmation button', async () => {
          const { u, client } = await linked({});
          expect(await h.say(u, '/baja')).toContain('¿Quiere dejar de recibir');
          await h.act(u, (x) => x.press('baja:no'));
          expect((await clientRow(ctx.db, client.id)).chat_id).toBe(u.chatId);
          await h.say(u, '/baja');
          const done = await h.act(u, (x) => x.press('baja:si'));
          expect(done[0]!.text).toContain('ya no está vinculado');
          expect((await clientRow(ctx.db, client.id)).chat_id).toBeNull();
          // Once unlinked, the chat sees nothing of the client any more.
          expect(await h.say(u, '/status')).toContain('todavía no está vinculado');
        });

        it('blocking and unblocking the bot, and /start again, update the client', async () => {
          const { u, client } = await linked({});
          await h.act(u, (x) => x.block());
          expect((await clientRow(ctx.db, client.id)).telegram_blocked).toBe(true);
          await h.act(u, (x) => x.unblock());
          expect((await clientRow(ctx.db, client.id)).telegram_blocked).toBe(false);
          // The block was recorded (the dispatcher also marked the chat unreachable), then the person
          // writes /start again without Telegram sending a member update first.
          await ctx.db.query(
            `UPDATE clients SET telegram_blocked = true, telegram_unreachable = 'blocked' WHERE id = $1`,
            [client.id],
          );
          await h.say(u, '/start');
          const row = await ctx.db.query<{ telegram_blocked: boolean; telegram_unreachable: string | null }>(
            'SELECT telegram_blocked, telegram_unreachable FROM clients WHERE id = $1',
            [client.id],
          );
          expect(row.rows[0]).toEqual({ telegram_blocked: false, telegram_unreachable: null });
          const ev = await ctx.db.query<{ tipo: string }>(
            `SELECT tipo FROM bot_events WHERE client_id = $1 AND tipo IN ('bloqueado', 'desbloqueado') ORDER BY id`,
            [client.id],
          );
          expect(ev.rows.map((r) => r.tipo)).toEqual(['bloqueado', 'desbloqueado', 'desbloqueado']);
        });
      });

      it('in a group it says it works in private chats only and does nothing else', async () => {
        const { cedula } = fresh();
        const c = await seedClient(ctx.db, cedula, { telefono: null });
        const group = h.user({ chatId: -(800_000 + nextId()), chatType: 'group' });
        const answer = await h.say(group, '/start');
        expect(answer).toContain('solo atiendo en chats privados');
        expect(answer).toContain(`https://t.me/${h.standin.botInfo.username}`);
        expect(await h.say(group, cedula)).toBe('');
        expect(await h.say(group, '/status')).toContain('solo atiendo en chats privados');
        expect((await clientRow(ctx.db, c.id)).chat_id).toBeNull();
        const chats = await ctx.db.query('SELECT 1 FROM bot_chats WHERE chat_id = $1', [group.chatId]);
        expect(chats.rowCount).toBe(0);
      });

      it('handles a duplicated update once, and survives a malformed one', async () => {
        const u = h.user({ chatId: fresh().chatId });
        const updateId = 50_000_000 + nextId();
        const update = {
          update_id: updateId,
          message: {
            message_id: 1,
            date: 1_773_000_000,
            chat: { id: u.chatId, type: 'private', first_name: 'Dup' },
            from: { id: u.chatId, is_bot: false, first_name: 'Dup' },
            text: '/help',
            entities: [{ type: 'bot_command', offset: 0, length: 5 }],
          },
        };
        const before = h.standin.sentTo(u.chatId).length;
        await h.standin.pushUpdate(update);
        await h.standin.pushUpdate(update);
        await h.settle();
        expect(h.standin.sentTo(u.chatId).length - before).toBe(1);
        await h.standin.pushUpdate({ update_id: updateId + 1, message: { chat: 'nada', text: 42 } });
        await h.standin.pushUpdate({
          update_id: updateId + 2,
          message: { message_id: 1, chat: { id: u.chatId, type: 'private' } },
        });
        await h.settle();
        const rows = await ctx.db.query<{ update_id: number; estado: string }>(
          'SELECT update_id, estado FROM bot_updates WHERE update_id >= $1 AND update_id <= $2 ORDER BY update_id',
          [updateId, updateId + 2],
        );
        expect(rows.rows.map((r) => r.estado)).toEqual(['procesado', 'procesado', 'procesado']);
        expect(await h.say(u, '/help')).toContain('/status');
      });
    });
  }
});
