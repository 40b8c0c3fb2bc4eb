/**
 * The stand-in's HTTP side: a real node:http server answering `GET|POST /bot<token>/<method>` with Bot API
 * JSON envelopes. Every answer is `{ ok: true, result }` or `{ ok: false, error_code, description,
 * parameters? }` with the same HTTP status. The token is never logged or echoed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StandinCore } from './core.js';
import { ApiError, badRequest, serverError, unauthorized } from './errors.js';
import { faultError } from './faults.js';
import { chatIdOf, METHODS, type Params } from './methods.js';
import type { Standin, StandinOptions } from './types.js';
import { sleep } from './util.js';

const MAX_BODY_BYTES = 1024 * 1024;
const PATH = /^\/bot([^/]*)\/([^/]+)\/?$/;
/** File downloads: `GET /file/bot<token>/<file_path>`, as on api.telegram.org. */
const FILE_PATH = /^\/file\/bot([^/]*)\/(.+)$/;

/** Starts a stand-in listening on opts.host:opts.port (default 127.0.0.1 and a random free port). */
export async function startStandin(opts: StandinOptions = {}): Promise<Standin> {
  const standin = new StandinServer(opts);
  await standin.listen(opts.host ?? '127.0.0.1', opts.port ?? 0);
  return standin;
}

class StandinServer extends StandinCore implements Standin {
  private readonly server: Server;
  private address = '';
  private closing: Promise<void> | undefined;

  constructor(opts: StandinOptions) {
    super(opts);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => res.destroy());
    });
    // Idle keep-alive connections stay open as on api.telegram.org, not Node's 5 s. grammY's client
    // (node-fetch over an http.Agent that keeps sockets alive) does not read the Keep-Alive hint: a
    // call that picks up an idle socket just as the server closes it fails with "socket hang up"
    // (in CI, once in a few runs: a bot reply retried after its lease instead of sent).
    this.server.keepAliveTimeout = 60_000;
  }

  get url(): string {
    return this.address;
  }

  async listen(host: string, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const { port: actual } = this.server.address() as AddressInfo;
    this.address = `http://${host.includes(':') ? `[${host}]` : host}:${actual}`;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.shutdown();
      // Let the long polls that just ended write their (empty) answers before the sockets go.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        this.server.closeAllConnections();
      });
    })();
    return this.closing;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const url = new URL(req.url ?? '/', 'http://standin.invalid');
    const download = FILE_PATH.exec(url.pathname);
    if (download) {
      req.resume();
      const file =
        safeDecode(download[1] ?? '') === this.token
          ? this.files.byFilePath(safeDecode(download[2] ?? ''))
          : undefined;
      this.recordCall({ method: 'file', params: {}, at, status: file ? 200 : 404 });
      if (!file) {
        sendJson(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.bytes.length });
      res.end(file.bytes);
      return;
    }
    const path = PATH.exec(url.pathname);
    if (!path) {
      req.resume();
      sendJson(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
      return;
    }
    const token = safeDecode(path[1] ?? '');
    const requested = path[2] ?? '';
    const method = METHODS.get(requested.toLowerCase());
    const methodName = method?.name ?? requested;

    // Aborted when the client hangs up before the answer (e.g. an aborted long poll).
    const clientGone = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) clientGone.abort();
    });

    let params: Params = {};
    let status: number;
    let body: Record<string, unknown>;
    try {
      const raw = await readBody(req);
      if (this.latencyMs > 0) await sleep(this.latencyMs, this.lifetime.signal);
      if (token !== this.token) throw unauthorized();
      params = parseParams(url.searchParams, raw, req.headers['content-type']);
      if (!method) throw new ApiError(404, 'Not Found: method not found');

      const fault = this.faults.take(methodName, chatIdOf(params));
      if (fault?.kind === 'slow') await sleep(fault.ms, this.lifetime.signal);
      if (fault?.kind === 'drop') {
        this.recordCall({ method: methodName, params, at, status: 0 });
        req.socket.destroy();
        return;
      }
      if (fault?.kind === 'echo_url') {
        const path = fault.encoded ? (req.url ?? '').replace(/:/g, '%3A') : (req.url ?? '');
        const echoed = `POST https://api.telegram.org${path}`;
        throw fault.status === 400
          ? new ApiError(400, `Bad Request: chat not found (${echoed})`)
          : new ApiError(fault.status ?? 502, `Bad Gateway: upstream error for ${echoed}`);
      }
      const error = fault && faultError(fault);
      if (error) throw error;

      const answer = await method.handler({ core: this, params, clientGone: clientGone.signal });
      status = 200;
      body = {
        ok: true,
        result: answer.result,
        ...(answer.description && { description: answer.description }),
      };
    } catch (thrown) {
      if (this.closed || clientGone.signal.aborted) {
        // Nobody is waiting for this answer any more.
        this.recordCall({ method: methodName, params, at, status: 0 });
        res.destroy();
        return;
      }
      const error = thrown instanceof ApiError ? thrown : serverError(500);
      status = error.status;
      body = {
        ok: false,
        error_code: error.status,
        description: error.description,
        ...(error.parameters && { parameters: error.parameters }),
      };
    }
    // Recorded before answering: once the client has the answer, the call is in `calls`.
    this.recordCall({ method: methodName, params, at, status });
    sendJson(res, status, body);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed || res.headersSent) return;
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new ApiError(413, 'Request Entity Too Large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Query string parameters, overridden by the body's (JSON or x-www-form-urlencoded). */
function parseParams(query: URLSearchParams, raw: Buffer, contentType: string | undefined): Params {
  const params: Params = {};
  const assign = (entries: Iterable<[string, unknown]>) => {
    for (const [key, value] of entries) if (key !== '__proto__') params[key] = value;
  };
  assign(query.entries());
  if (raw.length === 0) return params;
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') {
    assign(new URLSearchParams(raw.toString('utf8')).entries());
  } else if (type === 'multipart/form-data') {
    throw badRequest('multipart/form-data is not supported by the stand-in');
  } else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch {
      throw badRequest("can't parse JSON request body");
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw badRequest('the JSON request body must be an object');
    }
    assign(Object.entries(parsed));
  }
  return params;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
