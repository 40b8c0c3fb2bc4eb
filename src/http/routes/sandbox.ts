import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createClientsRepository, toWhatsApp } from '../../clients/index.js';
import { AppError } from '../../errors/index.js';
import type { Sandbox } from '../../sandbox/index.js';
import { billingContext } from '../billing.js';
import { errorResponses, idParams } from '../schemas.js';
import type { ApiDeps } from '../types.js';

const tags = ['sandbox'];

const buttonSchema = z.object({
  texto: z.string(),
  data: z.string().optional(),
  url: z.string().optional(),
  contacto: z.boolean().optional(),
});

const conversationSchema = z.object({
  chat_id: z.number(),
  version: z.number(),
  mensajes: z.array(
    z.object({
      id: z.string(),
      de: z.enum(['bot', 'cliente', 'sistema']),
      message_id: z.number().nullable(),
      texto: z.string(),
      entidades: z.array(
        z.object({
          type: z.string(),
          offset: z.number(),
          length: z.number(),
          url: z.string().optional(),
          language: z.string().optional(),
        }),
      ),
      botones: z.array(z.array(buttonSchema)).nullable(),
      fecha: z.string(),
      editado: z.boolean(),
    }),
  ),
  teclado: z.array(z.array(buttonSchema)).nullable(),
});

const whatsappThreadSchema = z.object({
  numero: z.string(),
  version: z.number(),
  ventana_hasta: z.string().nullable(),
  mensajes: z.array(
    z.object({
      id: z.string(),
      de: z.enum(['empresa', 'cliente']),
      texto: z.string(),
      fecha: z.string(),
      estado: z.string().nullable(),
    }),
  ),
});

const inboxesSchema = z.object({
  cliente_id: z.number(),
  nombre: z.string(),
  /** null: the client has no mobile, or SMS is a real gateway (SMS_GATEWAY_URL). */
  sms: z
    .object({
      numero: z.string(),
      mensajes: z.array(z.object({ id: z.string(), texto: z.string(), fecha: z.string() })),
    })
    .nullable(),
  /** null: no e-mail on file, or e-mail is real (SMTP_URL) or not installed. */
  correo: z
    .object({
      direccion: z.string(),
      correos: z.array(
        z.object({
          id: z.string(),
          de: z.string(),
          asunto: z.string(),
          texto: z.string(),
          fecha: z.string(),
        }),
      ),
    })
    .nullable(),
});

/** A client's WhatsApp number as the stand-in knows it: any Ecuadorian mobile form → 5939XXXXXXXX. */
const phoneParams = z.object({
  numero: z
    .string()
    .transform((v) => toWhatsApp(v))
    .refine((v): v is string => v !== null, 'debe ser un celular de Ecuador, por ejemplo 0987654321'),
});

const chatParams = z.object({
  // Positive: the sandbox plays private chats. At most 15 digits, like every chat id we accept.
  chatId: z.coerce.number().int().positive().max(999_999_999_999_999),
});
const nombre = z.string().trim().max(64).optional();

/**
 * The sandbox chat page's API: act as a client in a stand-in chat and read what the bot sent there.
 * Behind the admin token like everything else. Without the sandbox (a real bot token is set) every
 * action answers 409: a made-up user must never reach the real Telegram.
 */
export const sandboxRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  // Long polls end at once when the server closes, so a stop never waits for them.
  const closing = new AbortController();
  app.addHook('preClose', async () => closing.abort());

  const active = (): Sandbox => {
    if (!deps.sandbox) {
      throw new AppError(
        'CONFLICTO',
        'El modo sandbox no está activo: el servicio usa un bot de Telegram real (TELEGRAM_BOT_TOKEN).',
      );
    }
    return deps.sandbox;
  };

  const phones = () => {
    const p = active().phones;
    if (!p) {
      throw new AppError(
        'CONFLICTO',
        'WhatsApp no está simulado: el servicio usa un número real de WhatsApp (WHATSAPP_TOKEN).',
      );
    }
    return p;
  };

  app.get(
    '/api/sandbox/whatsapp/:numero',
    {
      schema: {
        tags,
        summary: 'Conversación de WhatsApp de un número en el sandbox (espera cambios con version y esperar)',
        params: phoneParams,
        querystring: z.object({
          version: z.coerce.number().int().min(0).optional(),
          esperar: z.coerce.number().int().min(0).max(25).default(0),
        }),
        response: { 200: whatsappThreadSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const p = phones();
      const { numero } = request.params;
      const { version, esperar } = request.query;
      if (version !== undefined && esperar > 0) {
        const signal = AbortSignal.any([closing.signal, abortOnClose(reply.raw)]);
        await p.waitForChange(numero, version, esperar * 1000, signal);
      }
      return p.thread(numero);
    },
  );

  app.post(
    '/api/sandbox/whatsapp/:numero/mensajes',
    {
      schema: {
        tags,
        summary: 'Escribir por WhatsApp como el cliente (ESTADO, SI, BAJA, MIS DATOS o cualquier texto)',
        params: phoneParams,
        body: z.object({ texto: z.string().trim().min(1, 'escriba un mensaje').max(4096) }),
        response: { 200: whatsappThreadSchema, ...errorResponses },
      },
    },
    async (request) => {
      const p = phones();
      await p.send(request.params.numero, request.body.texto);
      return p.thread(request.params.numero);
    },
  );

  const clients = createClientsRepository(deps.db, billingContext(deps));
  app.get(
    '/api/sandbox/clientes/:id/bandejas',
    {
      schema: {
        tags,
        summary: 'Bandeja de SMS y buzón de correo de un cliente en el sandbox (lo que le llegó)',
        params: idParams,
        response: { 200: inboxesSchema, ...errorResponses },
      },
    },
    async (request) => inboxesOf(await clients.getOrThrow(request.params.id)),
  );

  app.post(
    '/api/sandbox/clientes/:id/sms',
    {
      schema: {
        tags,
        summary: 'Responder por SMS como el cliente (SALIR da de baja el SMS), por la pasarela simulada',
        params: idParams,
        body: z.object({ texto: z.string().trim().min(1, 'escriba un mensaje').max(480) }),
        response: {
          200: inboxesSchema.extend({ resultado: z.enum(['baja', 'ignorado', 'desconocido']) }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const sandbox = active();
      if (!sandbox.clientSms) {
        throw new AppError(
          'CONFLICTO',
          'El SMS no está simulado: el servicio usa una pasarela real (SMS_GATEWAY_URL).',
        );
      }
      const c = await clients.getOrThrow(request.params.id);
      const mobile = mobileOf(c);
      if (!mobile) {
        throw new AppError('CONFLICTO', 'El cliente no tiene celular registrado: no puede escribir por SMS.');
      }
      // Through the simulated gateway to POST /api/sms/entrante, with its secret, as a real SMS.
      const answer = await sandbox.clientSms(mobile, request.body.texto);
      if (answer.status !== 200) {
        request.log.error(
          { status: answer.status },
          'la pasarela SMS simulada no pudo entregar el SMS del cliente',
        );
        throw new AppError(
          'CONFLICTO',
          'El servicio no aceptó el SMS del cliente: vea el registro del servicio.',
        );
      }
      const { resultado } = JSON.parse(answer.body) as { resultado: 'baja' | 'ignorado' | 'desconocido' };
      return { ...inboxesOf(c), resultado };
    },
  );

  /** The client's mobile in the form the SMS gateway uses, or null without one. */
  const mobileOf = (c: { telefono: string | null }) => (c.telefono ? toWhatsApp(c.telefono) : null);

  function inboxesOf(c: { id: number; nombre: string; telefono: string | null; email: string | null }) {
    const { inboxes } = active();
    const mobile = mobileOf(c);
    return {
      cliente_id: c.id,
      nombre: c.nombre,
      sms: mobile ? inboxes.smsInbox(mobile) : null,
      correo: c.email ? inboxes.mailbox(c.email) : null,
    };
  }

  app.get(
    '/api/sandbox',
    {
      schema: {
        tags,
        summary: 'Estado del modo sandbox (Telegram simulado)',
        response: {
          200: z.object({
            activo: z.boolean(),
            bot: z.object({ username: z.string(), nombre: z.string() }).nullable(),
            /** WhatsApp simulated too (no WHATSAPP_TOKEN): the page shows the client's WhatsApp phone. */
            whatsapp: z.boolean(),
            /** SMS and e-mail simulated too (issue 11 §7): the page shows inboxes and mailboxes. */
            sms: z.boolean(),
            correo: z.boolean(),
          }),
        },
      },
    },
    async () => ({
      activo: deps.sandbox !== undefined,
      bot: deps.sandbox?.bot ?? null,
      whatsapp: deps.sandbox?.phones !== undefined,
      sms: deps.sandbox?.inboxes.sms ?? false,
      correo: deps.sandbox?.inboxes.correo ?? false,
    }),
  );

  app.get(
    '/api/sandbox/chats/:chatId',
    {
      schema: {
        tags,
        summary: 'Conversación de un chat del sandbox (espera cambios con version y esperar)',
        params: chatParams,
        querystring: z.object({
          version: z.coerce.number().int().min(0).optional(),
          esperar: z.coerce.number().int().min(0).max(25).default(0),
        }),
        response: { 200: conversationSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const sandbox = active();
      const { chatId } = request.params;
      const { version, esperar } = request.query;
      if (version !== undefined && esperar > 0) {
        const signal = AbortSignal.any([closing.signal, abortOnClose(reply.raw)]);
        await sandbox.chats.waitForChange(chatId, version, esperar * 1000, signal);
      }
      return sandbox.chats.conversation(chatId);
    },
  );

  app.post(
    '/api/sandbox/chats/:chatId/mensajes',
    {
      schema: {
        tags,
        summary: 'Escribir en el chat como el cliente (texto o /comando)',
        params: chatParams,
        body: z.object({ texto: z.string().trim().min(1, 'escriba un mensaje').max(4096), nombre }),
        response: { 200: conversationSchema, ...errorResponses },
      },
    },
    async (request) => {
      const sandbox = active();
      await sandbox.chats.sendText(request.params.chatId, request.body.texto, request.body.nombre);
      return sandbox.chats.conversation(request.params.chatId);
    },
  );

  app.post(
    '/api/sandbox/chats/:chatId/contacto',
    {
      schema: {
        tags,
        summary: 'Compartir el contacto (teléfono) del cliente con el bot',
        params: chatParams,
        body: z.object({
          telefono: z
            .string()
            .trim()
            .regex(/^\+?[\d\s()-]{6,20}$/, 'escriba un número de teléfono, por ejemplo 0987654321'),
          nombre,
        }),
        response: { 200: conversationSchema, ...errorResponses },
      },
    },
    async (request) => {
      const sandbox = active();
      await sandbox.chats.shareContact(request.params.chatId, request.body.telefono, request.body.nombre);
      return sandbox.chats.conversation(request.params.chatId);
    },
  );

  app.post(
    '/api/sandbox/chats/:chatId/archivo',
    {
      // A receipt photo or PDF, base64 in JSON (the sandbox takes up to 3 MB; Telegram up to 10 MB).
      bodyLimit: 5 * 1024 * 1024,
      schema: {
        tags,
        summary: 'Enviar una foto o un archivo como el cliente (por ejemplo, el comprobante de pago)',
        params: chatParams,
        body: z.object({
          nombre_archivo: z.string().trim().min(1).max(120),
          tipo: z.string().trim().max(100).default('application/octet-stream'),
          contenido_base64: z.string().min(1).max(4_200_000, 'el archivo de prueba puede pesar hasta 3 MB'),
          nombre,
        }),
        response: { 200: conversationSchema, ...errorResponses },
      },
    },
    async (request) => {
      const sandbox = active();
      const bytes = Buffer.from(request.body.contenido_base64, 'base64');
      await sandbox.chats.sendFile(
        request.params.chatId,
        { bytes, name: request.body.nombre_archivo, mime: request.body.tipo },
        request.body.nombre,
      );
      return sandbox.chats.conversation(request.params.chatId);
    },
  );

  app.post(
    '/api/sandbox/chats/:chatId/botones',
    {
      schema: {
        tags,
        summary: 'Tocar un botón de un mensaje del bot',
        params: chatParams,
        body: z.object({
          data: z.string().min(1).max(64),
          message_id: z.number().int().positive(),
          nombre,
        }),
        response: { 200: conversationSchema, ...errorResponses },
      },
    },
    async (request) => {
      const sandbox = active();
      const { data, message_id } = request.body;
      await sandbox.chats.press(request.params.chatId, data, message_id, request.body.nombre);
      return sandbox.chats.conversation(request.params.chatId);
    },
  );
};

/** Aborts when the client hangs up (a closed tab must not keep a long poll waiting). */
function abortOnClose(res: ServerResponse): AbortSignal {
  const ac = new AbortController();
  res.once('close', () => ac.abort());
  return ac.signal;
}
