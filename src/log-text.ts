import type { DestinationStream } from 'pino';

/**
 * LOG_FORMAT: JSON lines for machines (journald, Docker, log shippers), one readable line per
 * event for a person at a terminal. 'auto' = readable when stdout is a terminal.
 */
export type LogFormat = 'auto' | 'json' | 'texto';

export function resolveLogFormat(setting: LogFormat, isTty: boolean | undefined): 'json' | 'texto' {
  return setting === 'auto' ? (isTty ? 'texto' : 'json') : setting;
}

const LEVELS: Record<number, [string, string]> = {
  10: ['TRACE', '\x1b[90m'],
  20: ['DEBUG', '\x1b[90m'],
  30: ['INFO ', '\x1b[32m'],
  40: ['AVISO', '\x1b[33m'],
  50: ['ERROR', '\x1b[31m'],
  60: ['FATAL', '\x1b[35m'],
};
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'err']);

/** One pino JSON line → '10:15:02 INFO  mensaje  clave=valor …' (and the error's first stack lines). */
export function formatLogLine(json: string, color = false): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.trimEnd();
  }
  const t = new Date(typeof o.time === 'number' ? o.time : Date.now());
  const hh = [t.getHours(), t.getMinutes(), t.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
  const [name, tint] = LEVELS[Number(o.level)] ?? ['?    ', ''];
  const level = color ? `${tint}${name}\x1b[0m` : name;
  const extra = Object.entries(o)
    .filter(([k, v]) => !HIDDEN.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  let line = `${hh} ${level} ${String(o.msg ?? '')}${extra ? (color ? `  \x1b[90m${extra}\x1b[0m` : `  ${extra}`) : ''}`;
  const err = o.err as { message?: string; stack?: string } | undefined;
  if (err) {
    const stack = (err.stack ?? err.message ?? '')
      .split('\n')
      .slice(0, 4)
      .map((l) => l.trim())
      .join('\n    ');
    line += `\n    ${stack}`;
  }
  return line;
}

/** A pino destination writing readable lines to `out` (stdout by default). */
export function textDestination(
  out: NodeJS.WritableStream = process.stdout,
  color = false,
): DestinationStream {
  return {
    write(chunk: string) {
      for (const l of chunk.split('\n')) if (l) out.write(`${formatLogLine(l, color)}\n`);
    },
  };
}
