import type {
  ChannelAdapter,
  ChannelFailure,
  ChannelMessage,
  ChannelPacing,
  ChannelSendResult,
  ChannelVerdict,
} from '../channels/types.js';
import type { EmailConfig } from '../config.js';
import type { Queryable } from '../db/index.js';
import { escapeHtml } from '../telegram/html.js';
import { createEmailSender, type EmailSender } from './sender.js';
import { loadUnsubscribeKey, unsubscribeUrl } from './unsubscribe.js';

/**
 * The e-mail channel: an adapter over the SMTP sender (./sender.ts). Subject, HTML and plain-text
 * parts come from notifications/compose.ts. Marketing mail carries List-Unsubscribe with the
 * one-click POST (RFC 8058) and a footer link to the same address.
 */

export interface EmailChannelOptions {
  sender: EmailSender;
  ratePerSecond: number;
  /** The client's one-click unsubscribe URL (marketing mail only); null = none (no client). */
  unsubscribeUrl: (clientId: number) => string | null;
  /** Company name for the footer. */
  empresa: () => string;
  concurrency?: number;
}

/** The e-mail classifier: by code, never by text. Pure. */
export function classifyEmailFailure(f: ChannelFailure): ChannelVerdict {
  switch (f.code) {
    case 'smtp_permanente':
      // 5xx: the mailbox or domain does not take our mail; until the address changes.
      return { action: 'fail', reason: 'email_inalcanzable', unreachable: { reason: 'email_inalcanzable' } };
    case 'smtp_temporal':
    case 'smtp_red':
      return { action: 'retry', reason: f.code };
    case 'smtp_credenciales':
      return { action: 'stop', reason: 'smtp_credenciales' };
    default:
      return { action: 'fail', reason: 'rechazado' };
  }
}

/** The footer and headers a marketing mail gets. */
export function withUnsubscribe(html: string, url: string, empresa: string): string {
  const foot =
    `<p style="color:#666;font-size:12px">Recibe este correo porque aceptó novedades de ${escapeHtml(empresa)}. ` +
    `<a href="${escapeHtml(url)}">Dejar de recibirlas</a>.</p>`;
  return html.includes('</body>') ? html.replace('</body>', `${foot}</body>`) : `${html}${foot}`;
}

export function createEmailChannel(o: EmailChannelOptions): ChannelAdapter {
  const pacing: ChannelPacing = {
    ratePerSecond: o.ratePerSecond,
    perRecipientIntervalMs: 0,
    concurrency: o.concurrency ?? 2,
  };
  return {
    name: 'email',
    reportsDelivery: false,
    pacing: () => pacing,
    classify: classifyEmailFailure,
    check: async () => o.sender.verify(),
    async send(m: ChannelMessage): Promise<ChannelSendResult> {
      const c = m.composed;
      let html = c.htmlBody ?? `<p>${escapeHtml(c.text).replace(/\r?\n/g, '<br>\n')}</p>`;
      const url = m.marketing && m.clientId !== null ? o.unsubscribeUrl(m.clientId) : null;
      const headers: Record<string, string> = {};
      if (url) {
        html = withUnsubscribe(html, url, o.empresa());
        headers['List-Unsubscribe'] = `<${url}>`;
        headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
      }
      const id = m.envioId > 0 ? String(m.envioId) : `n${m.notificationId}`;
      const r = await o.sender.send({
        to: m.to,
        subject: c.subject ?? o.empresa(),
        text: url ? `${c.text}\n\nPara dejar de recibir novedades: ${url}` : c.text,
        html,
        ...(url && { headers }),
        ...(c.inlineImages?.length && { inlineImages: c.inlineImages }),
        id,
        signal: m.signal,
      });
      if (r.ok) return { ok: true, providerId: r.providerId };
      const f = r.failure;
      return {
        ok: false,
        failure: {
          code: f.code,
          message: f.message,
          ...(f.smtpCode !== undefined && { httpStatus: f.smtpCode }),
          ...(f.network && { network: true }),
        },
      };
    },
  };
}

/**
 * The e-mail channel from the settings (SMTP_URL, EMAIL_FROM, DKIM_*, EMAIL_RATE), or undefined
 * without SMTP_URL. `baseUrl` gives PUBLIC_URL or the service's own address (known once it listens).
 */
export async function emailChannelFromConfig(
  config: { email?: EmailConfig | undefined },
  deps: { db: Queryable; baseUrl: () => string; empresa: () => string },
): Promise<(ChannelAdapter & { close(): void }) | undefined> {
  const e = config.email;
  if (!e) return undefined;
  const key = await loadUnsubscribeKey(deps.db);
  const sender = createEmailSender({ smtpUrl: e.smtpUrl, from: e.from, dkim: e.dkim });
  const channel = createEmailChannel({
    sender,
    ratePerSecond: e.ratePerSecond,
    unsubscribeUrl: (clientId) => {
      const base = deps.baseUrl();
      return base ? unsubscribeUrl(base, key, clientId) : null;
    },
    empresa: deps.empresa,
  });
  return { ...channel, close: () => sender.close() };
}
