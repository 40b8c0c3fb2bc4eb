import net from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of a real server, to drive network faults in tests:
 * - `pass`: bytes flow both ways.
 * - `refuse`: the port is closed (ECONNREFUSED) and open connections are reset.
 * - `stall`: connections stay open but nothing flows (held bytes flow again on `pass`).
 * - `drop`: the network silently loses the open connections for good (no FIN, no RST, no data:
 *   they never recover); new connections accepted meanwhile are black holes too.
 */
export type ProxyMode = 'pass' | 'refuse' | 'stall' | 'drop';

interface Pair {
  client: net.Socket;
  upstream?: net.Socket;
  dead: boolean;
  /** Bytes held while stalled, per direction. */
  toUpstream: Buffer[];
  toClient: Buffer[];
}

export interface TcpProxy {
  readonly port: number;
  /** `url` with its host and port replaced by the proxy's. */
  urlFor(url: string): string;
  mode(m: ProxyMode): Promise<void>;
  readonly current: ProxyMode;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let mode: ProxyMode = 'pass';
  const pairs = new Set<Pair>();

  const flush = (p: Pair) => {
    if (p.dead || !p.upstream) return;
    for (const b of p.toUpstream.splice(0)) p.upstream.write(b);
    for (const b of p.toClient.splice(0)) p.client.write(b);
  };

  const connectUpstream = (p: Pair) => {
    const up = net.connect(target.port, target.host);
    p.upstream = up;
    up.on('data', (b) => {
      if (p.dead) return;
      if (mode === 'stall' || p.toClient.length) p.toClient.push(b);
      else p.client.write(b);
    });
    up.on('connect', () => {
      if (mode !== 'stall') flush(p);
    });
    up.on('error', () => p.client.destroy());
    up.on('close', () => {
      if (!p.dead) p.client.end();
    });
  };

  const onConnection = (client: net.Socket) => {
    const p: Pair = { client, dead: mode === 'drop', toUpstream: [], toClient: [] };
    pairs.add(p);
    client.on('error', () => {});
    client.on('close', () => {
      pairs.delete(p);
      if (!p.dead) p.upstream?.destroy();
    });
    client.on('data', (b) => {
      if (p.dead) return;
      if (mode === 'stall' || !p.upstream || p.upstream.connecting || p.toUpstream.length)
        p.toUpstream.push(b);
      else p.upstream.write(b);
    });
    if (!p.dead) connectUpstream(p);
  };

  let server = net.createServer(onConnection);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  let listening = true;

  const closeServer = () =>
    new Promise<void>((r) => {
      listening = false;
      server.close(() => r());
    });

  return {
    port,
    get current() {
      return mode;
    },
    urlFor(url) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    async mode(m) {
      const was = mode;
      mode = m;
      if (m === 'refuse') {
        for (const p of pairs) {
          p.dead = true;
          p.upstream?.destroy();
          p.client.resetAndDestroy();
        }
        pairs.clear();
        if (listening) await closeServer();
        return;
      }
      if (!listening) {
        server = net.createServer(onConnection);
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, '127.0.0.1', () => resolve());
        });
        listening = true;
      }
      if (m === 'drop') {
        for (const p of pairs) {
          // The server side goes away; the client side is kept open and silent forever.
          p.dead = true;
          p.upstream?.destroy();
        }
      }
      if (m === 'pass' && was === 'stall') for (const p of pairs) flush(p);
    },
    async close() {
      for (const p of pairs) {
        p.upstream?.destroy();
        p.client.destroy();
      }
      pairs.clear();
      if (listening) await closeServer();
    },
  };
}
