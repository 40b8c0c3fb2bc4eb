import { readAdminToken } from '../admin-token.js';
import type { Config } from '../config.js';

/** The running service could not answer the CLI (not running, other address, token refused). */
export class ServiceUnreachableError extends Error {
  override name = 'ServiceUnreachableError';
}

/** Where the CLI finds the running service: the same HOST/PORT (a wildcard host means this machine). */
export function serviceBaseUrl(config: Pick<Config, 'host' | 'port'>): string {
  const host =
    config.host === '0.0.0.0' || config.host === ''
      ? '127.0.0.1'
      : config.host === '::'
        ? '::1'
        : config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;
}

/**
 * Asks the running service (which holds the embedded database) with the admin token: ADMIN_TOKEN,
 * or the token file the service created in DATA_DIR. Resolves with a 2xx response only.
 */
export async function askService(
  config: Pick<Config, 'host' | 'port' | 'adminToken' | 'dataDir'>,
  route: string,
  timeoutMs = 120_000,
): Promise<Response> {
  const base = serviceBaseUrl(config);
  const token = readAdminToken(config.adminToken, config.dataDir);
  if (!token) {
    throw new ServiceUnreachableError(
      `No hay token de administración (ni ADMIN_TOKEN ni ${config.dataDir}/admin-token) para pedírselo al servicio.`,
    );
  }
  let res: Response;
  try {
    res = await fetch(base + route, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new ServiceUnreachableError(
      `La base embebida está en uso por el servicio, pero no responde en ${base} (${code}). ` +
        'Use el mismo PORT, HOST y DATA_DIR que el servicio, o deténgalo.',
    );
  }
  if (res.status === 401) {
    throw new ServiceUnreachableError(
      `El servicio en ${base} no aceptó el token de administración: use el mismo ADMIN_TOKEN o DATA_DIR que el servicio.`,
    );
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: { mensaje?: string } };
    throw new ServiceUnreachableError(
      `El servicio en ${base} respondió ${res.status}: ${body.error?.mensaje ?? res.statusText}`,
    );
  }
  return res;
}
