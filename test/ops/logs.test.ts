import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatLogLine, resolveLogFormat, textDestination } from '../../src/log-text.js';
import { createLogger } from '../../src/logger.js';
import { startupSummary } from '../../src/ops/startup-summary.js';
import { testConfig } from '../support/app.js';
import { spawnService } from '../support/process.js';
import { freePort } from './support.js';

describe('logs for people', () => {
  it('LOG_FORMAT=auto: readable at a terminal, JSON into a pipe; explicit settings win', () => {
    expect(resolveLogFormat('auto', true)).toBe('texto');
    expect(resolveLogFormat('auto', undefined)).toBe('json');
    expect(resolveLogFormat('json', true)).toBe('json');
    expect(resolveLogFormat('texto', false)).toBe('texto');
    expect(testConfig({ LOG_FORMAT: 'texto' }).logFormat).toBe('texto');
    expect(() => testConfig({ LOG_FORMAT: 'bonito' })).toThrow(/LOG_FORMAT/);
  });

  it('one readable line per event, with the same masking and redaction as JSON', () => {
    const out: string[] = [];
    const sink = { write: (s: string) => out.push(s) } as unknown as NodeJS.WritableStream;
    const logger = createLogger({ level: 'info', destination: textDestination(sink) });
    logger.info({ cedula: '1710034065', clientes: 3 }, 'cliente vinculado');
    logger.warn({ token: 'un-secreto-cualquiera' }, 'token rechazado');
    logger.error({ err: new Error('se cayó') }, 'falló el envío');
    expect(out[0]).toMatch(/^\d\d:\d\d:\d\d INFO {2}cliente vinculado {2}cedula=17\*{6}65 clientes=3\n$/);
    expect(out[1]).toMatch(/AVISO token rechazado {2}token=<redactado>\n$/);
    expect(out[2]).toMatch(/ERROR falló el envío\n {4}Error: se cayó\n {4}at /);
    expect(out.join('')).not.toMatch(/"level"|1710034065|un-secreto/);
    expect(formatLogLine('not json')).toBe('not json');
  });

  it('the first line says mode, database, channels, public URL and the admin page, without secrets', () => {
    const config = testConfig({
      DATABASE_URL: 'postgres://teltec:s3creta@db.interna:5432/teltec',
      TELEGRAM_BOT_TOKEN: '123456:TEST-TOKEN-standin',
      PUBLIC_URL: 'https://notificaciones.teltec.ec',
    });
    const s = startupSummary({
      config,
      address: 'http://127.0.0.1:8000',
      sandbox: false,
      dbKind: 'postgres',
      channels: ['telegram', 'whatsapp', 'sms', 'email'],
    });
    expect(s.message).toBe(
      'Modo producción · PostgreSQL en db.interna:5432/teltec · canales: Telegram por webhook, WhatsApp, SMS, Correo electrónico · ' +
        'URL pública: https://notificaciones.teltec.ec · administración en https://notificaciones.teltec.ec/',
    );
    expect(JSON.stringify(s)).not.toContain('s3creta');
  });

  it('the real service with LOG_FORMAT=texto starts with readable lines that say where everything is', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'teltec-logs-'));
    const port = await freePort();
    const svc = spawnService({ DATA_DIR: dir, PORT: String(port), LOG_FORMAT: 'texto', BACKUP_TIME: 'no' });
    try {
      const line = await svc.waitFor(/Modo sandbox/, 120_000);
      expect(line).toMatch(
        new RegExp(
          `^\\d\\d:\\d\\d:\\d\\d INFO  Modo sandbox · base embebida \\(PGlite\\) en ${dir}/? · ` +
            'canales: Telegram simulado, WhatsApp simulado, SMS simulado, Correo electrónico simulado · ' +
            `URL pública: ninguna \\(sin PUBLIC_URL\\) · administración en http://127\\.0\\.0\\.1:${port}/`,
        ),
      );
      expect(svc.output()).not.toMatch(/^\{"level"/m);
    } finally {
      svc.child.kill('SIGTERM');
      await svc.exit;
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
