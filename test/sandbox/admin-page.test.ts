import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/http/types.js';
import { publicDir } from '../../src/paths.js';
import { auth, buildTestApp } from '../support/app.js';
import { createTestDb } from '../support/db.js';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)],
  );
}

describe('admin page files', () => {
  let app: App;
  let db: Awaited<ReturnType<typeof createTestDb>>;
  beforeAll(async () => {
    db = await createTestDb('pglite');
    ({ app } = await buildTestApp(db));
  });
  afterAll(async () => {
    await app.close();
    await db.close();
  });

  it('serves the page without a token, with a strict CSP, marked as not in sandbox mode', async () => {
    const res = await app.inject({ url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.body).toContain('data-modo="produccion"');
    expect(res.body).not.toContain('{{');
    expect(res.body).toContain('data-zona="America/Guayaquil"');
    const sandbox = await app.inject({ url: '/sandbox' });
    expect(sandbox.statusCode).toBe(200);
    expect(sandbox.body).toContain('data-modo="produccion"');
  });

  it('serves assets with their type, gzip and a validator; unknown paths and traversal are 404', async () => {
    const js = await app.inject({ url: '/assets/js/app.js', headers: { 'accept-encoding': 'gzip, br' } });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(js.rawPayload).toString()).toBe(
      readFileSync(path.join(publicDir, 'assets/js/app.js'), 'utf8'),
    );
    const again = await app.inject({
      url: '/assets/js/app.js',
      headers: { 'if-none-match': js.headers.etag as string },
    });
    expect(again.statusCode).toBe(304);
    expect((await app.inject({ url: '/assets/app.css' })).headers['content-type']).toBe(
      'text/css; charset=utf-8',
    );
    expect((await app.inject({ url: '/assets/nada.js' })).statusCode).toBe(404);
    // A path that leaves /assets is some other (guarded) route, never a file.
    for (const url of ['/assets/../package.json', '/assets/%2e%2e/package.json', '/index.html']) {
      const res = await app.inject({ url });
      expect([401, 404], url).toContain(res.statusCode);
      expect(res.body).not.toContain('"dependencies"');
    }
  });

  it('the page holds no data: every data request needs the token', async () => {
    expect((await app.inject({ url: '/api/sectores' })).statusCode).toBe(401);
    const ok = await app.inject({ url: '/api/sectores', headers: auth });
    expect(ok.json()).toEqual({ sectores: [] });
  });

  it('all of the page’s JavaScript together stays under 300 KB', () => {
    const js = filesUnder(publicDir).filter((f) => f.endsWith('.js'));
    const total = js.reduce((sum, f) => sum + statSync(f).size, 0);
    console.log(`admin page JavaScript: ${js.length} files, ${(total / 1024).toFixed(1)} KB`);
    expect(total).toBeLessThan(300 * 1024);
  });
});
