import { runCrashDrill } from '../test/notifications/drill.js';
import { fmt, heading, line, postgresAvailable, postgresUrl } from './engine-support.js';

/**
 * The crash drill at full size: a 10,000-message campaign in a real service process, killed with
 * SIGKILL at 3 random points and restarted, on PGlite and PostgreSQL. Promise: nothing lost,
 * duplicates ≤ the sends in flight at each kill (SEND_CONCURRENCY), sending resumed within 60 s.
 */
export async function run(): Promise<void> {
  heading('Simulacro kill -9 (10.000 mensajes, 3 muertes)');
  const kinds: ('pglite' | 'postgres')[] = ['pglite'];
  if (await postgresAvailable()) kinds.push('postgres');
  for (const kind of kinds) {
    const r = await runCrashDrill({
      kind,
      messages: 10_000,
      kills: 3,
      concurrency: 16,
      postgresUrl,
      leaseSeconds: 30,
    });
    const lost = r.messages - (r.states.enviado ?? 0);
    line(
      `${kind}: estados finales`,
      `${JSON.stringify(r.states)}; perdidos ${lost}; reclamadas al final ${r.claimedLeft}`,
    );
    line(
      `${kind}: duplicados`,
      `${r.duplicates} (permitidos ≤ ${r.allowedDuplicates}: ${r.kills} muertes × ${16} en vuelo)`,
    );
    line(
      `${kind}: reanudación tras cada kill -9`,
      `${r.resumeMs.map((ms) => `${fmt(ms / 1000, 1)} s`).join(', ')} (meta ≤ 60 s)`,
    );
    line(`${kind}: duración total`, `${fmt(r.totalMs / 1000, 1)} s, salida final ${r.lastExitCode}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
