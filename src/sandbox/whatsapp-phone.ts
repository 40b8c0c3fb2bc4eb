import type { WhatsAppStandin } from '../whatsapp/standin/index.js';

/**
 * The sandbox's WhatsApp phone (issue 10 §9): one client number's conversation with the business
 * in the Cloud API stand-in — what the service sent (templates rendered, with ✓ / ✓✓ / read) and
 * what the person playing the client wrote. The page long-polls with `version`.
 */

export interface WhatsAppBubble {
  id: string;
  de: 'empresa' | 'cliente';
  texto: string;
  fecha: string;
  /** Outgoing only: accepted → sent → delivered → read, or failed. */
  estado: string | null;
}

export interface WhatsAppThread {
  numero: string;
  version: number;
  /** The 24-hour window the client's last message opened (free text until then), if open. */
  ventana_hasta: string | null;
  mensajes: WhatsAppBubble[];
}

const MAX_BUBBLES = 200;

export function createSandboxWhatsApp(standin: WhatsAppStandin) {
  // Every event (a message either way, a status) bumps the version of that number.
  const versions = new Map<string, number>();
  const waiters = new Set<{ numero: string; wake: () => void }>();
  standin.onEvent((e) => {
    versions.set(e.number, (versions.get(e.number) ?? 0) + 1);
    for (const w of waiters) if (w.numero === e.number) w.wake();
  });

  function thread(numero: string): WhatsAppThread {
    const until = standin.windowUntil(numero);
    return {
      numero,
      version: versions.get(numero) ?? 0,
      ventana_hasta: until !== undefined ? new Date(until).toISOString() : null,
      mensajes: standin
        .thread(numero)
        .slice(-MAX_BUBBLES)
        .map((e) => ({
          id: e.wamid,
          de: e.direction === 'out' ? 'empresa' : 'cliente',
          texto: e.text,
          fecha: new Date(e.at).toISOString(),
          estado: e.direction === 'out' ? (e.status ?? null) : null,
        })),
    };
  }

  return {
    thread,
    async send(numero: string, texto: string): Promise<void> {
      await standin.clientSends(numero, texto);
    },
    async press(numero: string, payload: string, texto: string): Promise<void> {
      await standin.clientPresses(numero, { payload, text: texto });
    },
    /** Resolves when the number's thread changes, after `timeoutMs`, or on abort. */
    async waitForChange(
      numero: string,
      known: number,
      timeoutMs: number,
      signal: AbortSignal,
    ): Promise<void> {
      if ((versions.get(numero) ?? 0) !== known || signal.aborted) return;
      await new Promise<void>((resolve) => {
        const w = { numero, wake: () => done() };
        const timer = setTimeout(() => done(), timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(w);
          signal.removeEventListener('abort', done);
          resolve();
        };
        waiters.add(w);
        signal.addEventListener('abort', done, { once: true });
      });
    },
  };
}

export type SandboxWhatsApp = ReturnType<typeof createSandboxWhatsApp>;
