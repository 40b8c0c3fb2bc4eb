import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, toErrorBody } from '../errors/index.js';
import type { SettingsProvider } from '../settings/index.js';
import {
  createApiTokenStore,
  createSessionStore,
  type Role,
  sameSecret,
  TOKEN_PREFIX,
  type User,
} from '../users/index.js';
import { type AdminToken, matchAdminToken } from './auth.js';
import { allowedRoles, isSafeMethod } from './permissions.js';
import type { ApiDeps, App } from './types.js';

/**
 * Who is calling and whether they may: a browser session (cookie), a personal API token or the
 * ADMIN_TOKEN (both `Authorization: Bearer`). Runs in `onRequest`, so a refused role is 403 before
 * the body is read or validated. Cookie-authenticated changes must come from this service's own
 * page (Origin) and carry the session's CSRF token.
 */

export const SESSION_COOKIE = 'teltec_sesion';

/** The person (or script) behind a request. */
export interface StaffActor {
  via: 'sesion' | 'token' | 'admin_token';
  rol: Role;
  user?: User;
  sessionId?: number;
  csrfToken?: string;
  tokenId?: number;
  tokenNombre?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    staff?: StaffActor;
  }
}

/** The audit log's name for an actor: the user name, "ana (token cron)", or the admin token's name. */
export function actorName(a: StaffActor, adminTokenName = 'admin'): string {
  if (a.via === 'sesion') return a.user!.usuario;
  if (a.via === 'token') return `${a.user!.usuario} (token ${a.tokenNombre})`;
  return adminTokenName;
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return undefined;
}

/** Whether the request's Origin is this service (its Host) or PUBLIC_URL. */
export function isOwnOrigin(request: FastifyRequest, publicUrl: string | undefined): boolean {
  const origin = request.headers.origin;
  if (!origin || origin === 'null') return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (publicUrl && url.origin === new URL(publicUrl).origin) return true;
  return url.host === request.headers.host;
}

/** Secure when served over HTTPS (directly, behind a proxy that says so, or PUBLIC_URL https). */
export function isHttps(request: FastifyRequest, publicUrl: string | undefined): boolean {
  return (
    request.protocol === 'https' ||
    request.headers['x-forwarded-proto'] === 'https' ||
    publicUrl?.startsWith('https://') === true
  );
}

export function sessionCookie(
  request: FastifyRequest,
  publicUrl: string | undefined,
  value: string,
  maxAgeS?: number,
) {
  const parts = [
    `${SESSION_COOKIE}=${value}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    maxAgeS === undefined ? '' : `Max-Age=${maxAgeS}`,
    isHttps(request, publicUrl) ? 'Secure' : '',
  ];
  return parts.filter(Boolean).join('; ');
}

function refuse(reply: FastifyReply, err: AppError) {
  if (err.status === 401) reply.header('www-authenticate', 'Bearer');
  return reply.status(err.status).send(toErrorBody(err));
}

async function identify(
  request: FastifyRequest,
  deps: { adminTokens: readonly AdminToken[]; settings: SettingsProvider } & Pick<ApiDeps, 'db' | 'clock'>,
): Promise<StaffActor | null> {
  const now = deps.clock.now();
  const auth = request.headers.authorization;
  if (auth !== undefined) {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(auth)?.[1] ?? '';
    if (bearer.startsWith(TOKEN_PREFIX)) {
      const t = await createApiTokenStore(deps.db).find(bearer, now);
      return t
        ? { via: 'token', rol: t.user.rol, user: t.user, tokenId: t.tokenId, tokenNombre: t.nombre }
        : null;
    }
    const admin = matchAdminToken(auth, deps.adminTokens);
    return admin ? { via: 'admin_token', rol: 'admin', tokenNombre: admin.name } : null;
  }
  const cookie = readCookie(request.headers.cookie, SESSION_COOKIE);
  if (!cookie) return null;
  const idleMs = (await deps.settings.get()).sesion.horas_inactividad * 3_600_000;
  const s = await createSessionStore(deps.db).find(cookie, now, idleMs);
  return s
    ? { via: 'sesion', rol: s.user.rol, user: s.user, sessionId: s.sessionId, csrfToken: s.csrfToken }
    : null;
}

/** The `onRequest` guard of every non-public route: 401 who, 403 CSRF, 403 role. */
export function registerAccess(
  app: App,
  deps: Pick<ApiDeps, 'db' | 'clock' | 'config' | 'adminTokens'> & { settings: SettingsProvider },
): void {
  const publicUrl = deps.config.telegram.publicUrl;
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config.public) {
      // Public forms that start a session still refuse a foreign page (login CSRF).
      if (
        request.routeOptions.config.sameOrigin &&
        request.headers.origin &&
        !isOwnOrigin(request, publicUrl)
      ) {
        return refuse(reply, new AppError('CSRF_INVALIDO'));
      }
      return;
    }
    const actor = await identify(request, deps);
    if (!actor) return refuse(reply, new AppError('NO_AUTORIZADO'));
    request.staff = actor;
    request.actor = actorName(actor, actor.tokenNombre);
    if (actor.via === 'sesion' && !isSafeMethod(request.method)) {
      const header = request.headers['x-csrf-token'];
      const given = Array.isArray(header) ? header[0] : header;
      if (!isOwnOrigin(request, publicUrl) || !sameSecret(given, actor.csrfToken!)) {
        return refuse(reply, new AppError('CSRF_INVALIDO'));
      }
    }
    const roles = allowedRoles(request.method, request.routeOptions.url ?? '');
    if (!roles.includes(actor.rol)) {
      return refuse(
        reply,
        new AppError(
          'PERMISO_DENEGADO',
          `Su rol (${actor.rol}) no permite esta acción. Pida a un administrador que la haga o que cambie su rol.`,
        ),
      );
    }
  });
}
