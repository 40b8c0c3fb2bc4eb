import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorRegistry } from '../../src/errors/index.js';

/** The committed list: `CODE status` or `CODE retirado`, one a line. */
function committed(): Map<string, string> {
  const text = readFileSync(new URL('../../src/errors/codes.txt', import.meta.url), 'utf8');
  const list = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const [code, status] = line.trim().split(/\s+/);
    expect(list.has(code!), `${code} appears twice in codes.txt`).toBe(false);
    list.set(code!, status!);
  }
  return list;
}

describe('Error codes are stable (issue 9 §7)', () => {
  it('every code in the registry is in the committed list with the same status', () => {
    const list = committed();
    for (const [code, d] of Object.entries(errorRegistry)) {
      expect(list.get(code), `${code}: add "${code} ${d.status}" to src/errors/codes.txt`).toBe(
        String(d.status),
      );
    }
  });

  it('every listed code is still in the registry, or marked retirado and never reused', () => {
    for (const [code, status] of committed()) {
      if (status === 'retirado') {
        expect(code in errorRegistry, `${code} was retired: it cannot come back with a new meaning`).toBe(
          false,
        );
      } else {
        expect(
          code in errorRegistry,
          `${code} vanished from the registry: mark it "retirado" in codes.txt`,
        ).toBe(true);
      }
    }
  });
});
