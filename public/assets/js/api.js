// The one door to the JSON API. The admin token lives in sessionStorage (this tab only, gone when
// the tab closes) and travels only as an Authorization header — never in a URL.

const KEY = 'teltec.token';

// Staff accounts (issue 14): a signed-in person has a server session behind an HttpOnly cookie
// (the page never sees it); `me` is GET /api/sesion's answer and `me.csrf_token` goes with changes.
let me = null;
const HINT = 'teltec.sesion';

export const session = {
  get token() {
    return sessionStorage.getItem(KEY);
  },
  /** Who is signed in (usuario, rol, csrf_token), or null. */
  get me() {
    return me;
  },
  setMe(answer) {
    me = answer;
    // Not a secret: only a hint that this browser may hold a session cookie (asked after a reload).
    if (answer?.via === 'sesion') localStorage.setItem(HINT, '1');
  },
  set(token) {
    sessionStorage.setItem(KEY, token);
  },
  clear() {
    sessionStorage.removeItem(KEY);
    localStorage.removeItem(HINT);
    me = null;
  },
};

/** Asks the service who we are (cookie session or token); null when nobody is signed in. */
export async function loadMe() {
  if (!session.token && !localStorage.getItem(HINT)) return null;
  try {
    me = await api('/api/sesion', { quiet401: true });
  } catch {
    me = null;
    localStorage.removeItem(HINT);
  }
  return me;
}

/** An error answer of the API: `{ error: { code, mensaje, detalles } }`. */
export class ApiError extends Error {
  constructor(status, code, mensaje, detalles) {
    super(mensaje);
    this.status = status;
    this.code = code;
    this.detalles = detalles;
  }
}

/**
 * fetch + Bearer token + JSON. `body` objects go as JSON, strings as they are (with `type`).
 * A 401 ends the session (the page shows the sign-in again).
 */
export async function api(
  path,
  { method = 'GET', body, type, headers = {}, signal, raw = false, quiet401 = false } = {},
) {
  const h = { ...headers };
  const token = session.token;
  if (token) h.authorization = `Bearer ${token}`;
  else if (me?.csrf_token && method !== 'GET') h['x-csrf-token'] = me.csrf_token;
  let payload = body;
  if (body !== undefined && typeof body !== 'string') {
    h['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  } else if (typeof body === 'string') {
    h['content-type'] = type ?? 'text/plain; charset=utf-8';
  }
  let res;
  try {
    res = await fetch(path, { method, headers: h, body: payload, signal });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    throw new ApiError(0, 'SIN_CONEXION', 'No se pudo contactar al servicio. Revise la conexión.');
  }
  if (!res.ok) {
    let e = {};
    try {
      e = (await res.json()).error ?? {};
    } catch {}
    const err = new ApiError(
      res.status,
      e.code ?? `HTTP_${res.status}`,
      e.mensaje ?? `El servicio respondió ${res.status}.`,
      e.detalles,
    );
    if (res.status === 401 && err.code === 'NO_AUTORIZADO' && !quiet401) {
      session.clear();
      window.dispatchEvent(new CustomEvent('teltec:sesion-terminada'));
    }
    throw err;
  }
  if (raw) return res;
  if (res.status === 204) return null;
  const ct = res.headers.get('content-type') ?? '';
  return ct.includes('json') ? res.json() : res.text();
}

/** Builds '?a=1&b=2' from an object, leaving out empty values. */
export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** Checks a token against the API without keeping it. */
export async function checkToken(token) {
  const res = await fetch('/api/sesion', { headers: { authorization: `Bearer ${token}` } });
  // Read the answer to its end: a response left unread keeps its request open.
  await res.arrayBuffer().catch(() => {});
  if (res.status === 401) return false;
  if (!res.ok) throw new ApiError(res.status, `HTTP_${res.status}`, `El servicio respondió ${res.status}.`);
  return true;
}

/** Downloads an API answer as a file (a link cannot carry the Authorization header). */
export async function download(path, fallbackName) {
  const res = await api(path, { raw: true });
  const blob = await res.blob();
  const cd = res.headers.get('content-disposition') ?? '';
  const name = /filename="([^"]+)"/.exec(cd)?.[1] ?? fallbackName;
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
