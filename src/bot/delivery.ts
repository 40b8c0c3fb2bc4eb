import type { Api } from 'grammy';
import type { Logger } from '../logger.js';

export type DeliveryMode = 'webhook' | 'polling';

export interface WebhookOptions {
  secret: string;
  allowedUpdates: readonly string[];
  dropPendingUpdates?: boolean;
  maxConnections?: number;
}

/**
 * How Telegram delivers updates to this service, as one switch: setting a webhook stops the
 * long-polling loop (Telegram refuses getUpdates while a webhook is set), removing it starts the
 * loop again. Invariant: after `useWebhook` resolves no poll is running; after `usePolling`
 * resolves the webhook is gone and, if the runtime attached a poller, polling runs.
 */
export function createDeliveryControl(api: Api, logger: Logger) {
  const log = logger.child({ component: 'bot' });
  let mode: DeliveryMode = 'polling';
  let poller: { run: (signal: AbortSignal) => Promise<void>; parent: AbortSignal } | undefined;
  let polling: { abort: AbortController; done: Promise<void> } | undefined;

  function startPolling() {
    if (!poller || polling || poller.parent.aborted) return;
    const abort = new AbortController();
    const onParent = () => abort.abort();
    poller.parent.addEventListener('abort', onParent, { once: true });
    const done = poller
      .run(abort.signal)
      .catch((err) => log.error({ err }, 'long polling detenido por un error'))
      .finally(() => poller?.parent.removeEventListener('abort', onParent));
    polling = { abort, done };
  }

  async function stopPolling() {
    const p = polling;
    if (!p) return;
    polling = undefined;
    p.abort.abort();
    await p.done;
  }

  return {
    mode: (): DeliveryMode => mode,
    /** Resolves when the polling loop (if any) has ended. */
    idle: (): Promise<void> => polling?.done ?? Promise.resolve(),
    /** True while the long-polling loop runs in this process. */
    isPolling: () => polling !== undefined,
    /** The runtime's long-polling loop; started now when the mode is polling. */
    attachPolling(run: (signal: AbortSignal) => Promise<void>, parent: AbortSignal, initial: DeliveryMode) {
      poller = { run, parent };
      mode = initial;
      if (mode === 'polling') startPolling();
    },
    /** setWebhook, then long polling stops. Throws what setWebhook threw (mode unchanged). */
    async useWebhook(url: string, o: WebhookOptions): Promise<void> {
      await api.setWebhook(url, {
        secret_token: o.secret,
        allowed_updates: [...o.allowedUpdates] as never,
        drop_pending_updates: o.dropPendingUpdates ?? false,
        max_connections: o.maxConnections ?? 40,
      });
      const wasPolling = polling !== undefined;
      mode = 'webhook';
      await stopPolling();
      if (wasPolling) {
        log.warn(
          { mode, webhookUrl: url },
          `webhook configurado: el bot deja el long polling y Telegram entregará en ${url}`,
        );
      }
    },
    /** deleteWebhook, then long polling starts (when the runtime runs). */
    async usePolling(o: { dropPendingUpdates?: boolean } = {}): Promise<void> {
      await api.deleteWebhook({ drop_pending_updates: o.dropPendingUpdates ?? false });
      const was = mode;
      mode = 'polling';
      startPolling();
      if (was !== 'polling' || polling) {
        log.warn(
          { mode },
          'webhook eliminado: el bot vuelve a long polling (el servicio consulta a Telegram)',
        );
      }
    },
    /** Corrects the recorded mode from getWebhookInfo (somebody else may have changed it). */
    observe(webhookUrl: string): void {
      mode = webhookUrl ? 'webhook' : 'polling';
    },
  };
}

export type DeliveryControl = ReturnType<typeof createDeliveryControl>;
