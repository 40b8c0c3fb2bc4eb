/**
 * The one function that keeps secrets out of every error text — before it is logged, stored
 * (`ultimo_error`) or answered by the API. The bot token travels in every Bot API URL
 * (`/bot<token>/sendMessage`), and a Bot API server or proxy that echoes the URL in its error puts
 * it in the description; an admin token put in a URL query string is logged with the URL.
 *
 * Two nets: the secrets this process holds (remembered by the Telegram client and the API when
 * they are built: caught in any form — plain, percent-encoded, the secret half alone), and the
 * shape of any bot token (`123456789:AA…`, `bot123456789%3AAA…`).
 */

const known = new Set<string>();

/** Remembers a secret this process holds so that every later redaction removes it. */
export function rememberSecret(secret: string | null | undefined): void {
  if (!secret || secret.length < 8) return;
  known.add(secret);
  const colon = secret.indexOf(':');
  if (colon > 0) {
    known.add(`${secret.slice(0, colon)}%3A${secret.slice(colon + 1)}`);
    known.add(`${secret.slice(0, colon)}%3a${secret.slice(colon + 1)}`);
    const half = secret.slice(colon + 1);
    if (half.length >= 12) known.add(half);
  }
  const encoded = encodeURIComponent(secret);
  if (encoded !== secret) known.add(encoded);
}

const CENSOR = '<redactado>';

/** Removes bot tokens and remembered secrets from any text. */
export function redactBotToken(text: string): string {
  let out = text;
  // Longest first: a secret's half must not break the whole secret's match.
  for (const s of [...known].sort((a, b) => b.length - a.length)) {
    if (out.includes(s)) out = out.split(s).join(CENSOR);
  }
  return out
    .replace(/bot\d+(?::|%3A)[A-Za-z0-9_-]+/gi, `bot${CENSOR}`)
    .replace(/\d{6,12}(?::|%3A)[A-Za-z0-9_-]{30,}/gi, CENSOR);
}

/** Query parameters whose value is a secret (`?token=…`, `?access_token=…`, `?api_key=…`). */
const SECRET_PARAM = /([?&](?:[a-z_]*token|api[_-]?key|key|secret|password|auth[a-z_]*)=)[^&#]*/gi;

/** A URL (or path with query) fit for a log line: secret query values and bot tokens removed. */
export function redactUrl(url: string): string {
  return redactBotToken(url.replace(SECRET_PARAM, `$1${CENSOR}`));
}
