import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../errors/index.js';
import {
  createFirstAdmin,
  createSessionStore,
  createUsersRepository,
  MIN_PASSWORD_LENGTH,
  needsSetup,
  passwordProblem,
  signIn,
  type User,
  updateUser,
  verifyPassword,
} from '../../users/index.js';
import { isHttps, SESSION_COOKIE, sessionCookie } from '../access.js';
import { audit } from '../audit.js';
import { errorResponses } from '../schemas.js';
import { userSchema, usuarioField } from '../staff-views.js';
import type { ApiDeps } from '../types.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A public route that opens a session: refused when another site's page posts to it. */
    sameOrigin?: boolean;
  }
}

const whoAmI = z.object({
  usuario: userSchema.nullable(),
  rol: z.enum(['admin', 'operador', 'lectura']),
  via: z.enum(['sesion', 'token', 'admin_token']),
  /** Send it as X-CSRF-Token on every change made with the session cookie. */
  csrf_token: z.string().nullable(),
  token: z.string().nullable(),
});

export const sesionRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const tags = ['sesión'];
  const sessions = createSessionStore(deps.db);
  const publicUrl = deps.config.telegram.publicUrl;

  async function open(request: FastifyRequest, userId: number) {
    const settings = await deps.settings!.get();
    const s = await sessions.open({
      userId,
      ip: request.ip,
      userAgent: request.headers['user-agent'],
      now: deps.clock.now(),
    });
    const cookie = sessionCookie(
      request,
      publicUrl,
      s.secret,
      Math.round(settings.sesion.horas_inactividad * 3600),
    );
    return { cookie, csrf: s.csrfToken };
  }

  app.get(
    '/api/sesion/estado',
    {
      config: { public: true },
      schema: {
        tags,
        summary: 'Si falta crear el primer administrador (código de configuración del registro)',
        security: [],
        response: { 200: z.object({ primer_inicio: z.boolean(), clave_minima: z.number() }) },
      },
    },
    async () => ({ primer_inicio: await needsSetup(deps.db), clave_minima: MIN_PASSWORD_LENGTH }),
  );

  app.post(
    '/api/sesion/primer-admin',
    {
      config: { public: true, sameOrigin: true },
      schema: {
        tags,
        summary: 'Crear el primer administrador con el código de configuración impreso en el registro',
        security: [],
        body: z.strictObject({
          codigo: z.string().trim().min(1, 'escriba el código de configuración').max(40),
          usuario: usuarioField,
          nombre: z.string().trim().min(1, 'escriba el nombre').max(100),
          clave: z.string().max(200),
        }),
        response: { 201: whoAmI, ...errorResponses },
      },
    },
    async (request, reply) => {
      const now = deps.clock.now();
      const user = await createFirstAdmin(deps.db, { ...request.body, now });
      await audit(deps.db, {
        actor: user.usuario,
        accion: 'usuario.crear',
        objeto: `usuario:${user.id}`,
        detalles: { usuario: user.usuario, rol: user.rol, primer_administrador: true },
      });
      request.log.info({ usuario: user.usuario }, 'primer administrador creado');
      const s = await open(request, user.id);
      return reply
        .status(201)
        .header('set-cookie', s.cookie)
        .send({ usuario: user, rol: user.rol, via: 'sesion' as const, csrf_token: s.csrf, token: null });
    },
  );

  app.post(
    '/api/sesion',
    {
      config: { public: true, sameOrigin: true },
      schema: {
        tags,
        summary: 'Ingresar con usuario y clave (abre una sesión con cookie)',
        description:
          'Tras 5 intentos fallidos en 15 minutos (por usuario o por dirección) responde 429 ' +
          'DEMASIADOS_INTENTOS, aunque la clave sea correcta.',
        security: [],
        body: z.strictObject({
          usuario: z.string().trim().min(1, 'escriba su usuario').max(100),
          clave: z.string().min(1, 'escriba su clave').max(200),
        }),
        response: { 200: whoAmI, ...errorResponses },
      },
    },
    async (request, reply) => {
      const now = deps.clock.now();
      let user: User;
      try {
        user = await signIn(deps.db, { ...request.body, ip: request.ip, now });
      } catch (err) {
        if (err instanceof AppError) {
          // The typed user name only: never the password.
          request.log.warn(
            { usuario: request.body.usuario.slice(0, 40), code: err.code },
            'ingreso rechazado',
          );
        }
        throw err;
      }
      const s = await open(request, user.id);
      await audit(deps.db, { actor: user.usuario, accion: 'sesion.ingresar', objeto: `usuario:${user.id}` });
      return reply
        .header('set-cookie', s.cookie)
        .send({ usuario: user, rol: user.rol, via: 'sesion' as const, csrf_token: s.csrf, token: null });
    },
  );

  app.get(
    '/api/sesion',
    {
      schema: {
        tags,
        summary: 'Quién soy: usuario, rol y el csrf_token de la sesión (401 sin sesión)',
        response: { 200: whoAmI, ...errorResponses },
      },
    },
    async (request) => {
      const a = request.staff!;
      return {
        usuario: a.user ?? null,
        rol: a.rol,
        via: a.via,
        csrf_token: a.csrfToken ?? null,
        token: a.via === 'sesion' ? null : (a.tokenNombre ?? null),
      };
    },
  );

  app.delete(
    '/api/sesion',
    {
      schema: { tags, summary: 'Salir (cierra esta sesión)', response: { 204: z.null(), ...errorResponses } },
    },
    async (request, reply) => {
      const a = request.staff!;
      if (a.sessionId) {
        await sessions.close(a.sessionId);
        await audit(deps.db, {
          actor: request.actor,
          accion: 'sesion.salir',
          objeto: `usuario:${a.user!.id}`,
        });
      }
      return reply
        .status(204)
        .header(
          'set-cookie',
          `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${isHttps(request, publicUrl) ? '; Secure' : ''}`,
        )
        .send(null);
    },
  );

  app.delete(
    '/api/sesion/otras',
    {
      schema: {
        tags,
        summary: 'Cerrar mis otras sesiones (otros navegadores o equipos)',
        response: { 200: z.object({ cerradas: z.number() }), ...errorResponses },
      },
    },
    async (request) => {
      const a = request.staff!;
      if (!a.user) return { cerradas: 0 };
      const cerradas = await sessions.closeOthers(a.user.id, a.sessionId);
      await audit(deps.db, {
        actor: request.actor,
        accion: 'sesion.cerrar_otras',
        objeto: `usuario:${a.user.id}`,
        detalles: { cerradas },
      });
      return { cerradas };
    },
  );

  app.patch(
    '/api/sesion/clave',
    {
      schema: {
        tags,
        summary: 'Cambiar mi clave (cierra mis otras sesiones)',
        body: z.strictObject({
          clave_actual: z.string().min(1, 'escriba su clave actual').max(200),
          clave_nueva: z.string().max(200),
        }),
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const a = request.staff!;
      if (!a.user) {
        throw new AppError('SOLICITUD_INVALIDA', 'El ADMIN_TOKEN no tiene clave: ingrese con su usuario.');
      }
      const full = await createUsersRepository(deps.db).findForSignIn(a.user.usuario);
      if (!(await verifyPassword(request.body.clave_actual, full?.password_hash))) {
        throw new AppError('CREDENCIALES_INVALIDAS', 'La clave actual no es correcta.');
      }
      const problem = passwordProblem(request.body.clave_nueva, a.user.usuario);
      if (problem) throw new AppError('CLAVE_DEBIL', problem, [{ campo: 'clave_nueva', mensaje: problem }]);
      await updateUser(deps.db, a.user.id, { clave: request.body.clave_nueva, now: deps.clock.now() });
      // updateUser closed every session; keep this browser signed in with a new one.
      if (a.via === 'sesion') {
        const s = await open(request, a.user.id);
        reply.header('set-cookie', s.cookie);
      }
      await audit(deps.db, {
        actor: request.actor,
        accion: 'usuario.cambiar_clave',
        objeto: `usuario:${a.user.id}`,
      });
      return reply.status(204).send(null);
    },
  );
};
