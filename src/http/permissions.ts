import type { Role } from '../users/index.js';

/**
 * Who may call which route: one table, checked in the `onRequest` hook (before the body is parsed
 * or validated) for every non-public route. Rules match the route's pattern (`/api/clientes/:id`)
 * exactly or, ending in `*`, by prefix (for routes other issues add later). The first matching rule
 * wins; without one, reading (GET) is open to every role and changing anything is for `admin`.
 *
 * - admin: everything.
 * - operador: clients, payments, receipts, inbox, single messages, invitations; reads statistics.
 * - lectura: reads only (not users, tokens of others or the audit log). Ajustes are read by every
 *   page (send window, company); only admins change them.
 */

const ALL: readonly Role[] = ['admin', 'operador', 'lectura'];
const OPERATOR: readonly Role[] = ['admin', 'operador'];
const ADMIN: readonly Role[] = ['admin'];

/** method: one HTTP method, `*` (any) or `W` (any that changes something: not GET/HEAD/OPTIONS). */
type Rule = readonly [method: string, pattern: string, roles: readonly Role[]];

export const PERMISSIONS: readonly Rule[] = [
  // Own session and own API tokens: every signed-in person.
  ['*', '/api/sesion*', ALL],
  ['*', '/api/tokens*', ALL],
  // Admin-only reading.
  ['GET', '/api/usuarios*', ADMIN],
  ['GET', '/api/auditoria*', ADMIN],
  ['GET', '/api/respaldo*', ADMIN],
  // The diagnosis shows file paths, the webhook URL and Telegram's last errors.
  ['GET', '/api/diagnostico*', ADMIN],
  ['GET', '/metrics', ADMIN],
  // Operators: clients and their payments, invitations, receipts, inbox, single messages.
  ['POST', '/api/clientes', OPERATOR],
  ['POST', '/api/clientes/importar', OPERATOR],
  ['PATCH', '/api/clientes/:id', OPERATOR],
  ['POST', '/api/clientes/:id/pagos*', OPERATOR],
  ['POST', '/api/clientes/:id/verificar-vinculo', OPERATOR],
  ['POST', '/api/clientes/:id/mensajes', OPERATOR],
  ['W', '/api/clientes/:id/invitacion*', OPERATOR],
  ['W', '/api/clientes/:id/consentimientos*', OPERATOR],
  ['POST', '/api/notificaciones/actualizar-chat-id/', OPERATOR],
  ['POST', '/api/notificaciones/create/', OPERATOR],
  ['POST', '/api/notificaciones/:id/reintentar', OPERATOR],
  ['POST', '/api/notificaciones/:id/cancelar', OPERATOR],
  ['POST', '/api/plantillas/:tipo/vista-previa', OPERATOR],
  ['W', '/api/comprobantes*', OPERATOR],
  ['W', '/api/bandeja*', OPERATOR],
  ['W', '/api/mensajes*', OPERATOR],
  ['W', '/api/promesas*', OPERATOR],
  // Invitations by SMS, e-mail or WhatsApp are a mass send (they cost): admins, like campaigns.
  ['W', '/api/invitaciones/envios*', ADMIN],
  ['W', '/api/invitaciones*', OPERATOR],
  ['W', '/api/sandbox*', OPERATOR],
  // WhatsApp (issue 10): every role reads the templates; only admins map or sync them.
  ['W', '/api/whatsapp/plantillas*', ADMIN],
  // A real message to a client: staff who write to clients.
  ['POST', '/api/whatsapp/probar', OPERATOR],
];

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

function matches(pattern: string, url: string): boolean {
  return pattern.endsWith('*') ? url.startsWith(pattern.slice(0, -1)) : url === pattern;
}

/** The roles allowed to call `method url` (url = the route's pattern, as registered). */
export function allowedRoles(method: string, url: string): readonly Role[] {
  const m = method.toUpperCase();
  for (const [rm, pattern, roles] of PERMISSIONS) {
    const methodMatches =
      rm === '*' || rm === m || (rm === 'GET' && m === 'HEAD') || (rm === 'W' && !SAFE.has(m));
    if (methodMatches && matches(pattern, url)) return roles;
  }
  return SAFE.has(m) ? ALL : ADMIN;
}

export const isSafeMethod = (method: string) => SAFE.has(method.toUpperCase());
