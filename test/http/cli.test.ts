import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.js';
import { cedulaFor } from '../support/fixtures.js';

describe('CLI', () => {
  it('migrates, imports a CSV reporting bad lines, and prints statistics', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'teltec-cli-'));
    process.env.DATA_DIR = dir;
    const lines: string[] = [];
    const out = (l: string) => lines.push(l);
    expect(await runCli(['migrate'], out)).toBe(0);
    expect(lines.at(-1)).toMatch(/^Migraciones aplicadas: 1(, \d+)*$/);
    expect(await runCli(['migrate'], out)).toBe(0);
    expect(lines.at(-1)).toBe('La base de datos ya está al día.');
    const csv = path.join(dir, 'c.csv');
    writeFileSync(csv, `cedula,nombre\n${cedulaFor(1)},Ana Uno\n123,Malo\n${cedulaFor(2)},Beto Dos\n`);
    expect(await runCli(['importar', csv], out)).toBe(1);
    expect(lines).toContain('Creados: 2. Actualizados: 0. Con errores: 1.');
    expect(lines.at(-1)).toMatch(/línea 3: cedula/);
    expect(await runCli(['estadisticas'], out)).toBe(0);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ total_clientes: 2, con_telegram: 0 });
    expect(await runCli(['volar'], out)).toBe(2);
  });
});
