import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ADMIN_CSP } from '../../admin/index.js';
import {
  cachedBotUsername,
  createInvitationsStore,
  type Invitation,
  invitationState,
  inviteLink,
  qrPng,
  qrSvg,
  verifyLinkByStaff,
} from '../../bot/index.js';
import {
  createInvitationSend,
  getInvitationSend,
  invitationChannels,
  invitationFunnel,
  listInvitationSends,
  previewInvitationSend,
} from '../../bot/invitation-sends.js';
import { AppError } from '../../errors/index.js';
import { toCsvCell } from '../../lib/index.js';
import { cancelCampaign, fingerprintOf, withIdempotencyKey } from '../../notifications/index.js';
import { localDate } from '../../time.js';
import { audit } from '../audit.js';
import { errorResponses, errorSchema, idParams } from '../schemas.js';
import type { ApiDeps } from '../types.js';
import { campaignSchema } from '../views.js';

const tags = ['invitaciones'];

const invitationSchema = z.object({
  id: z.number(),
  cliente_id: z.number(),
  enlace: z.string(),
  token: z.string(),
  estado: z.enum(['activa', 'usada', 'vencida', 'revocada']),
  creada_en: z.string(),
  expira_en: z.string(),
  abierta_en: z.string().nullable(),
  usada_en: z.string().nullable(),
  revocada_en: z.string().nullable(),
  qr_png: z.string(),
  qr_svg: z.string(),
});

const unlinkedQuery = z.object({
  sector: z.string().trim().min(1).max(100).optional(),
  plan_id: z.coerce.number().int().positive().optional(),
  estado: z.enum(['activo', 'suspendido', 'retirado']).optional(),
});

const botErrors = { 503: errorSchema };

const canalSchema = z.enum(invitationChannels);

const sendBody = z.object({
  canal: canalSchema.describe('Canal de la invitación: sms, email o whatsapp (plantilla aprobada)'),
  sector: z.string().trim().min(1).max(100).optional(),
  plan_id: z.number().int().positive().optional(),
  estado: z.enum(['activo', 'suspendido', 'retirado']).optional(),
  cliente_ids: z
    .array(z.number().int().positive())
    .min(1)
    .max(20_000)
    .optional()
    .describe('Solo estos clientes (de los que no tienen Telegram); sin él, todos los del filtro'),
  nombre: z.string().trim().min(1).max(200).optional(),
});

const sampleSchema = z.object({
  cliente_id: z.number(),
  nombre: z.string(),
  canal: canalSchema,
  enlace: z.string(),
  enlace_de_ejemplo: z.boolean(),
  motivo: z.string().nullable(),
  texto: z.string(),
  longitud: z.number().optional(),
  asunto: z.string().optional(),
  html: z.string().optional(),
  plantilla: z.string().nullable().optional(),
  parametros: z.array(z.string()).optional(),
});

const previewSchema = z.object({
  canal: canalSchema,
  sin_telegram: z.number(),
  audiencia: z.number(),
  excluidos: z.record(z.string(), z.number()),
  por_canal: z.object({ sms: z.number(), email: z.number(), whatsapp: z.number() }),
  muestra: z.array(sampleSchema),
});

const funnelSchema = z.array(
  z.object({
    canal: canalSchema,
    enviadas: z.number(),
    abrieron_el_bot: z.number(),
    vinculados: z.number(),
    tasa_apertura: z.number().nullable(),
    tasa_vinculacion: z.number().nullable(),
  }),
);

const sendSchema = campaignSchema.extend({ canal: canalSchema });

const idempotencyHeader = z.looseObject({
  'idempotency-key': z.string().trim().min(1).max(200).optional(),
});

/**
 * The bot's @username (needed in every link), answered at once — never waiting on Telegram: what
 * getMe said, else TELEGRAM_BOT_USERNAME, else what getMe said on an earlier start (stored).
 */
async function botUsername(deps: ApiDeps): Promise<string> {
  const bot = deps.bot;
  if (!bot) throw new AppError('BOT_NO_CONFIGURADO');
  const name = bot.username() ?? deps.config.bot.username ?? (await cachedBotUsername(deps.db, bot.botId));
  if (!name) throw new AppError('BOT_NO_INICIADO');
  return name;
}

function view(inv: Invitation, username: string, now: Date) {
  const base = `/api/clientes/${inv.clientId}/invitacion`;
  return {
    id: inv.id,
    cliente_id: inv.clientId,
    enlace: inviteLink(username, inv.token),
    token: inv.token,
    estado: invitationState(inv, now),
    creada_en: inv.createdAt.toISOString(),
    expira_en: inv.expiresAt.toISOString(),
    abierta_en: inv.openedAt?.toISOString() ?? null,
    usada_en: inv.usedAt?.toISOString() ?? null,
    revocada_en: inv.revokedAt?.toISOString() ?? null,
    qr_png: `${base}/qr.png`,
    qr_svg: `${base}/qr.svg`,
  };
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * Invitations to the bot: one per client (link + QR), and in bulk for every unlinked client
 * (CSV of links, printable page of QR codes). Getting them is idempotent: a client keeps the
 * same active invitation until it is used, expires, is revoked or replaced with POST.
 */
export const invitationsRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const ttlDays = deps.config.inviteTtlDays;

  async function ensureFor(clientId: number, actor: string | undefined): Promise<Invitation> {
    return deps.db.transaction(async (tx) => {
      const exists = await tx.query('SELECT 1 FROM clients WHERE id = $1', [clientId]);
      if (exists.rows.length === 0) throw new AppError('NO_ENCONTRADO', `No existe el cliente ${clientId}.`);
      return createInvitationsStore(tx, { ttlDays }).ensure(clientId, deps.clock.now(), actor);
    });
  }

  app.get(
    '/api/clientes/:id/invitacion',
    {
      schema: {
        tags,
        summary: 'Invitación al bot de un cliente (enlace t.me y QR); se crea si no tiene una activa',
        params: idParams,
        response: { 200: invitationSchema, ...errorResponses, ...botErrors },
      },
    },
    async (request) => {
      const username = await botUsername(deps);
      const inv = await ensureFor(request.params.id, request.actor);
      return view(inv, username, deps.clock.now());
    },
  );

  app.post(
    '/api/clientes/:id/invitacion',
    {
      schema: {
        tags,
        summary: 'Crear una invitación nueva (las anteriores sin usar dejan de valer)',
        params: idParams,
        response: { 201: invitationSchema, ...errorResponses, ...botErrors },
      },
    },
    async (request, reply) => {
      const username = await botUsername(deps);
      const id = request.params.id;
      const inv = await deps.db.transaction(async (tx) => {
        const exists = await tx.query('SELECT 1 FROM clients WHERE id = $1', [id]);
        if (exists.rows.length === 0) throw new AppError('NO_ENCONTRADO', `No existe el cliente ${id}.`);
        const created = await createInvitationsStore(tx, { ttlDays }).create(
          id,
          deps.clock.now(),
          request.actor,
        );
        await audit(tx, { actor: request.actor, accion: 'invitacion.crear', objeto: `cliente:${id}` });
        return created;
      });
      return reply.status(201).send(view(inv, username, deps.clock.now()));
    },
  );

  app.delete(
    '/api/clientes/:id/invitacion',
    {
      schema: {
        tags,
        summary: 'Revocar las invitaciones sin usar de un cliente',
        params: idParams,
        response: { 200: z.object({ ok: z.literal(true), revocadas: z.number() }), ...errorResponses },
      },
    },
    async (request) => {
      const id = request.params.id;
      const revocadas = await deps.db.transaction(async (tx) => {
        const exists = await tx.query('SELECT 1 FROM clients WHERE id = $1', [id]);
        if (exists.rows.length === 0) throw new AppError('NO_ENCONTRADO', `No existe el cliente ${id}.`);
        const n = await createInvitationsStore(tx, { ttlDays }).revokeAll(
          id,
          deps.clock.now(),
          request.actor,
        );
        await audit(tx, {
          actor: request.actor,
          accion: 'invitacion.revocar',
          objeto: `cliente:${id}`,
          detalles: { revocadas: n },
        });
        return n;
      });
      return { ok: true as const, revocadas };
    },
  );

  app.post(
    '/api/clientes/:id/verificar-vinculo',
    {
      schema: {
        tags,
        summary: 'Confirmar que el chat vinculado es del cliente (el personal lo comprobó)',
        description:
          'Un chat vinculado solo con la cédula queda «pendiente de verificar» y no recibe datos de cobro. ' +
          'Con esta confirmación (un clic en la ficha del cliente) recibe avisos y /status completos.',
        params: idParams,
        response: {
          200: z.object({ ok: z.literal(true), resultado: z.enum(['verificado', 'ya_verificado']) }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const id = request.params.id;
      const resultado = await deps.db.transaction(async (tx) => {
        const r = await verifyLinkByStaff(tx, { clientId: id, now: deps.clock.now() });
        if (r === 'cliente_no_existe') throw new AppError('NO_ENCONTRADO', `No existe el cliente ${id}.`);
        if (r === 'sin_vinculo') throw new AppError('VINCULO_INEXISTENTE');
        if (r === 'verificado') {
          await audit(tx, {
            actor: request.actor,
            accion: 'telegram.verificar_vinculo',
            objeto: `cliente:${id}`,
          });
        }
        return r;
      });
      return { ok: true as const, resultado };
    },
  );

  for (const format of ['png', 'svg'] as const) {
    app.get(
      `/api/clientes/:id/invitacion/qr.${format}`,
      {
        schema: {
          tags,
          summary: `Código QR (${format.toUpperCase()}) de la invitación activa del cliente`,
          params: idParams,
        },
      },
      async (request, reply) => {
        const username = await botUsername(deps);
        const inv = await ensureFor(request.params.id, request.actor);
        const link = inviteLink(username, inv.token);
        reply.header('cache-control', 'no-store');
        if (format === 'png') return reply.type('image/png').send(await qrPng(link));
        return reply.type('image/svg+xml; charset=utf-8').send(await qrSvg(link));
      },
    );
  }

  app.get(
    '/api/invitaciones/enlaces.csv',
    {
      schema: {
        tags,
        summary: 'CSV con el enlace de invitación de cada cliente sin Telegram (crea los que falten)',
        querystring: unlinkedQuery,
      },
    },
    async (request, reply) => {
      const username = await botUsername(deps);
      const now = deps.clock.now();
      const rows = await deps.db.transaction((tx) =>
        createInvitationsStore(tx, { ttlDays }).ensureForUnlinked(request.query, now, request.actor),
      );
      const header = ['cliente_id', 'cedula', 'nombre', 'telefono', 'sector', 'enlace', 'expira_en'];
      const lines = [header.join(',')];
      for (const r of rows) {
        lines.push(
          [
            r.clientId,
            r.cedula,
            r.nombre,
            r.telefono,
            r.sector,
            inviteLink(username, r.token),
            r.expiresAt.toISOString(),
          ]
            .map(toCsvCell)
            .join(','),
        );
      }
      const day = localDate(now, deps.config.timeZone);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="invitaciones-${day}.csv"`)
        .send('\uFEFF' + lines.join('\r\n') + '\r\n');
    },
  );

  app.get(
    '/api/invitaciones/imprimir',
    {
      schema: {
        tags,
        summary: 'Página imprimible con el QR y el nombre de cada cliente sin Telegram (crea los que falten)',
        querystring: unlinkedQuery.extend({
          pagina: z.coerce.number().int().min(1).default(1),
          por_pagina: z.coerce.number().int().min(1).max(1000).default(300),
        }),
      },
    },
    async (request, reply) => {
      const username = await botUsername(deps);
      const now = deps.clock.now();
      const { pagina, por_pagina, ...filters } = request.query;
      const all = await deps.db.transaction((tx) =>
        createInvitationsStore(tx, { ttlDays }).ensureForUnlinked(filters, now, request.actor),
      );
      const rows = all.slice((pagina - 1) * por_pagina, pagina * por_pagina);
      const empresa = escapeHtml(deps.settings!.company().nombre);
      const cards: string[] = [];
      for (const r of rows) {
        const link = inviteLink(username, r.token);
        cards.push(
          `<figure class="card">${await qrSvg(link)}<figcaption><strong>${escapeHtml(r.nombre)}</strong>` +
            `<span>Escanee con la cámara para recibir sus avisos de ${empresa} por Telegram.</span>` +
            `<small>${escapeHtml(link)}</small>` +
            `<small>Válido hasta ${localDate(r.expiresAt, deps.config.timeZone)}</small></figcaption></figure>`,
        );
      }
      const html = `<!doctype html>
<html lang="es"><head><meta charset="utf-8"><title>Invitaciones a Telegram – ${empresa}</title>
<link rel="stylesheet" href="/assets/invitaciones-imprimir.css"></head>
<body><header><h1>Invitaciones a Telegram – ${empresa}</h1>
<p>${all.length} clientes sin Telegram${rows.length < all.length ? `; página ${pagina} (${rows.length})` : ''}. Recorte cada tarjeta o imprima esta página.</p></header>
<main class="grid">
${cards.join('\n')}
</main></body></html>`;
      return reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .header('content-security-policy', ADMIN_CSP)
        .send(html);
    },
  );

  // ------------------------------------------------------------------ invitations by SMS, e-mail, WhatsApp

  const sendInput = (b: z.infer<typeof sendBody>) => ({
    canal: b.canal,
    filtros: {
      ...(b.sector && { sector: b.sector }),
      ...(b.plan_id !== undefined && { plan_id: b.plan_id }),
      ...(b.estado && { estado: b.estado }),
    },
    clienteIds: b.cliente_ids,
    nombre: b.nombre,
  });

  app.post(
    '/api/invitaciones/envios/vista-previa',
    {
      schema: {
        tags,
        summary: 'Vista previa de un envío de invitaciones: a cuántos llega por el canal y cómo se lee',
        description:
          'No crea nada. `audiencia`: clientes sin Telegram de la selección que el canal alcanza ahora; ' +
          '`excluidos`: los demás por motivo (sin_celular, sin_email, sin_whatsapp, sin_consentimiento, ' +
          'canal_no_configurado, ya_en_cola…); `por_canal`: a cuántos llegaría cada canal; `muestra`: ' +
          'el mensaje de los primeros clientes tal como lo recibirán.',
        body: sendBody,
        response: { 200: previewSchema, ...errorResponses, ...botErrors },
      },
    },
    async (request) => {
      const username = await botUsername(deps);
      const now = deps.clock.now();
      const preview = await previewInvitationSend(deps.db, sendInput(request.body), {
        botUsername: username,
        settings: await deps.settings!.engine(),
        today: localDate(now, deps.config.timeZone),
        now,
      });
      return preview;
    },
  );

  app.post(
    '/api/invitaciones/envios',
    {
      schema: {
        tags,
        summary: 'Enviar a los clientes sin Telegram su enlace de invitación por SMS, correo o WhatsApp',
        description:
          'Un envío masivo ligado a un canal: cada cliente de la audiencia recibe una sola vez su enlace ' +
          'personal de un solo uso (el de su invitación activa, o una nueva). Al enviarse se comprueba de ' +
          'nuevo: si el cliente ya se vinculó o la invitación se usó, venció o fue revocada, no sale. ' +
          'Progreso en GET /api/invitaciones/envios/{id}; cancelar con POST …/cancelar. ' +
          'Con Idempotency-Key, repetir la solicitud devuelve el primer resultado.',
        headers: idempotencyHeader,
        body: sendBody,
        response: { 201: sendSchema, ...errorResponses, ...botErrors },
      },
    },
    async (request, reply) => {
      const username = await botUsername(deps);
      const now = deps.clock.now();
      const b = request.body;
      const key = request.headers['idempotency-key'];
      const answer = await withIdempotencyKey(
        deps.db,
        key ? { scope: 'invitaciones', key, fingerprint: fingerprintOf(b) } : undefined,
        async (tx) => {
          const envio = await createInvitationSend(tx, sendInput(b), {
            now,
            today: localDate(now, deps.config.timeZone),
            botUsername: username,
            ttlDays,
            actor: request.actor,
            idempotencyKey: key,
          });
          await audit(tx, {
            actor: request.actor,
            accion: 'invitacion.envio',
            objeto: `campana:${envio.id}`,
            detalles: { canal: b.canal, total: envio.total },
          });
          return { status: 201, body: envio };
        },
      );
      if (answer.replayed) reply.header('idempotent-replayed', 'true');
      return reply.status(201).send(answer.body);
    },
  );

  app.get(
    '/api/invitaciones/envios',
    {
      schema: {
        tags,
        summary: 'Envíos de invitaciones, del más reciente al más antiguo, con su progreso',
        querystring: z.object({ limite: z.coerce.number().int().min(1).max(100).default(20) }),
        response: { 200: z.object({ envios: z.array(sendSchema) }), ...errorResponses },
      },
    },
    async (request) => ({ envios: await listInvitationSends(deps.db, request.query.limite) }),
  );

  app.get(
    '/api/invitaciones/envios/:id',
    {
      schema: {
        tags,
        summary: 'Progreso de un envío de invitaciones y su embudo (enviadas → abrieron el bot → vinculados)',
        params: idParams,
        response: { 200: sendSchema.extend({ embudo: funnelSchema }), ...errorResponses },
      },
    },
    async (request) => {
      const envio = await getInvitationSend(deps.db, request.params.id);
      if (!envio) {
        throw new AppError('NO_ENCONTRADO', `No existe el envío de invitaciones ${request.params.id}.`);
      }
      const embudo = (await invitationFunnel(deps.db, envio.id)).filter((f) => f.canal === envio.canal);
      return { ...envio, embudo };
    },
  );

  app.post(
    '/api/invitaciones/envios/:id/cancelar',
    {
      schema: {
        tags,
        summary: 'Cancelar un envío de invitaciones en curso: lo que no salió aún ya no sale',
        params: idParams,
        response: { 200: sendSchema, ...errorResponses },
      },
    },
    async (request) => {
      const id = request.params.id;
      return deps.db.transaction(async (tx) => {
        const envio = await getInvitationSend(tx, id);
        if (!envio) throw new AppError('NO_ENCONTRADO', `No existe el envío de invitaciones ${id}.`);
        const view = await cancelCampaign(tx, id, deps.clock.now());
        await audit(tx, {
          actor: request.actor,
          accion: 'invitacion.envio_cancelar',
          objeto: `campana:${id}`,
          detalles: { canceladas: view.progreso.canceladas, enviadas: view.progreso.enviadas },
        });
        return { ...view, canal: envio.canal };
      });
    },
  );

  app.get(
    '/api/invitaciones/embudo',
    {
      schema: {
        tags,
        summary: 'Embudo de las invitaciones por canal: enviadas → abrieron el bot → vinculados',
        description:
          'Enviadas: invitaciones que salieron por el canal. Abrieron el bot: enlaces de ese canal abiertos ' +
          'con /start. Vinculados: la invitación se usó desde el chat que abrió el enlace de ese canal. ' +
          'Con `campana_id`, solo ese envío.',
        querystring: z.object({ campana_id: z.coerce.number().int().positive().optional() }),
        response: { 200: z.object({ canales: funnelSchema }), ...errorResponses },
      },
    },
    async (request) => ({ canales: await invitationFunnel(deps.db, request.query.campana_id) }),
  );
};
