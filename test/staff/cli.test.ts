import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { runCli } from '../../src/cli.js';
import { createManualClock } from '../../src/clock.js';
import { openDatabase } from '../../src/db/index.js';
import { verifyPassword } from '../../src/users/index.js';

it('teltec usuario crear: the password comes from the prompt, never the command line', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'teltec-staff-cli-'));
  process.env.DATA_DIR = dir;
  const lines: string[] = [];
  const out = (l: string) => lines.push(l);
  const clock = createManualClock('2026-03-10T15:00:00Z');
  const prompts: string[] = [];
  const reader = (answer: string) => async (prompt: string) => {
    prompts.push(prompt);
    return answer;
  };
  expect(
    await runCli(['usuario', 'crear', 'dueno', 'admin', 'Dueño', 'del', 'ISP'], out, clock, reader('123456')),
  ).toBe(1);
  expect(lines.at(-1)).toMatch(/al menos 10 caracteres/);
  expect(await runCli(['usuario', 'crear', 'dueno', 'jefe'], out, clock, reader('x'))).toBe(2);
  const clave = 'montaña-rusa-de-cobros';
  expect(
    await runCli(['usuario', 'crear', 'Dueno', 'admin', 'Dueño', 'del', 'ISP'], out, clock, reader(clave)),
  ).toBe(0);
  expect(lines.at(-1)).toBe(
    'Usuario creado: dueno (admin). Ya puede ingresar en la página de administración.',
  );
  expect(prompts.at(-1)).toBe('Clave para Dueno: ');
  expect(lines.join('\n')).not.toContain(clave);
  const db = await openDatabase({ dataDir: dir });
  const { rows } = await db.query<{ nombre: string; password_hash: string }>(
    `SELECT nombre, password_hash FROM users`,
  );
  await db.close();
  expect(rows[0]!.nombre).toBe('Dueño del ISP');
  expect(await verifyPassword(clave, rows[0]!.password_hash)).toBe(true);
}, 120_000);
