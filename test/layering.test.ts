import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const srcDir = fileURLToPath(new URL('../src/', import.meta.url));

/** Every module under src/ with the src/ modules it imports (type-only imports count too). */
function importGraph(): Map<string, string[]> {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.name.endsWith('.ts')) files.push(full);
    }
  };
  walk(srcDir);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const source = readFileSync(file, 'utf8');
    const deps: string[] = [];
    for (const m of source.matchAll(
      /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/g,
    )) {
      const target = path.resolve(path.dirname(file), m[1]!).replace(/\.js$/, '.ts');
      deps.push(path.relative(srcDir, target));
    }
    graph.set(path.relative(srcDir, file), deps);
  }
  return graph;
}

/** Strongly connected components with more than one module (or a module importing itself). */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

describe('Dependencies point one way (issue 9 §5)', () => {
  const graph = importGraph();

  it('reads the whole source tree', () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(graph.get('http/app.ts')).toContain('http/types.ts');
  });

  it('capabilities never import the HTTP layer', () => {
    const offenders: string[] = [];
    for (const [file, deps] of graph) {
      if (!/^(notifications|bot|clients|telegram|sandbox|scheduler|db|lib)\//.test(file)) continue;
      for (const d of deps) if (d.startsWith('http/')) offenders.push(`${file} → ${d}`);
    }
    expect(offenders).toEqual([]);
  });

  it('only http/app.ts imports a route module', () => {
    const offenders: string[] = [];
    for (const [file, deps] of graph) {
      if (file === 'http/app.ts') continue;
      for (const d of deps) if (d.startsWith('http/routes/')) offenders.push(`${file} → ${d}`);
    }
    expect(offenders).toEqual([]);
  });

  it('there are no import cycles', () => {
    expect(cycles(graph)).toEqual([]);
  });
});
