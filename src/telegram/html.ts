/**
 * Telegram HTML, one module for everyone who writes or reads it: the sender and compose (escape,
 * visible length), the bot's replies, the template and campaign validators (the problems of a
 * text, in Spanish) and the stand-in (which answers like Telegram from the same parser).
 *
 * `parseHtml` is modelled on TDLib (which the Bot API uses): marked-up text → plain text plus
 * entities, or a `MarkupError` with the message Telegram gives after "Bad Request: can't parse
 * entities: ". Offsets and lengths are UTF-16 code units (JS string indices), like the Bot API;
 * "byte offset" in error messages is a UTF-8 byte offset into the marked-up text, like Telegram's.
 * Simplified: URL checks are loose and tg://user links become plain text_link entities.
 */

/** Telegram's limit for one message, counted on the visible text (after markup), in UTF-16 units. */
export const TELEGRAM_MAX_CHARS = 4096;

export interface MessageEntity {
  type: string;
  offset: number;
  length: number;
  url?: string;
  language?: string;
  custom_emoji_id?: string;
}

/** Escapes a value for Telegram HTML: a client called "Ana <b>" cannot inject markup. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

export class MarkupError extends Error {
  override name = 'MarkupError';
}

export interface FormattedText {
  text: string;
  entities: MessageEntity[];
}

/**
 * Telegram strips leading and trailing whitespace from message text; entities are shifted and clipped to
 * what remains, and empty ones are dropped.
 */
export function trimFormatted({ text, entities }: FormattedText): FormattedText {
  const start = text.length - text.trimStart().length;
  const trimmed = text.trim();
  const out: MessageEntity[] = [];
  for (const e of entities) {
    const from = Math.max(0, e.offset - start);
    const to = Math.min(trimmed.length, e.offset + e.length - start);
    if (to > from) out.push({ ...e, offset: from, length: to - from });
  }
  return { text: trimmed, entities: out };
}

export const byteOffset = (source: string, index: number): number =>
  Buffer.byteLength(source.slice(0, index), 'utf8');

export const isSpace = (c: string | undefined): boolean =>
  c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';

export function sortEntities(entities: MessageEntity[]): MessageEntity[] {
  return entities.sort((a, b) => a.offset - b.offset || b.length - a.length);
}

/** Loose URL check: non-empty, no spaces; a missing scheme means http. */
export function checkUrl(url: string): string | undefined {
  const trimmed = url.trim();
  if (trimmed === '' || /\s/.test(trimmed)) return undefined;
  return /^[a-z][a-z0-9+.-]*:/i.test(trimmed) ? trimmed : `http://${trimmed}`;
}

// ---------------------------------------------------------------------------------------------- HTML

export const HTML_TAGS: ReadonlySet<string> = new Set([
  'a',
  'b',
  'strong',
  'i',
  'em',
  'u',
  'ins',
  's',
  'strike',
  'del',
  'span',
  'tg-spoiler',
  'tg-emoji',
  'code',
  'pre',
  'blockquote',
]);

const HTML_ENTITY_TYPES: Record<string, string> = {
  b: 'bold',
  strong: 'bold',
  i: 'italic',
  em: 'italic',
  u: 'underline',
  ins: 'underline',
  s: 'strikethrough',
  strike: 'strikethrough',
  del: 'strikethrough',
  span: 'spoiler',
  'tg-spoiler': 'spoiler',
  code: 'code',
  pre: 'pre',
};

/** Decodes the character reference at `source[pos] === '&'`; only &lt; &gt; &amp; &quot; and numeric ones. */
function decodeHtmlEntity(source: string, pos: number): { char: string; end: number } | undefined {
  let end = pos + 1;
  let code = 0;
  if (source[end] === '#') {
    end++;
    const hex = source[end] === 'x';
    if (hex) end++;
    const digits = hex ? /[0-9a-fA-F]/ : /[0-9]/;
    const start = end;
    while (end < source.length && digits.test(source[end] ?? '')) end++;
    if (end === start || end - pos >= 10) return undefined;
    code = Number.parseInt(source.slice(start, end), hex ? 16 : 10);
    if (code === 0 || code >= 0x10ffff) return undefined;
  } else {
    const start = end;
    while (end < source.length && /[a-zA-Z]/.test(source[end] ?? '')) end++;
    const named: Record<string, number> = { lt: 60, gt: 62, amp: 38, quot: 34 };
    const value = named[source.slice(start, end)];
    if (value === undefined) return undefined;
    code = value;
  }
  if (source[end] === ';') end++;
  return { char: String.fromCodePoint(code), end };
}

interface OpenTag {
  name: string;
  attributes: Map<string, string>;
  /** Plain-text offset where the tag's content starts. */
  offset: number;
}

export function parseHtml(source: string): FormattedText {
  let text = '';
  const entities: MessageEntity[] = [];
  const open: OpenTag[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (c === '&') {
      const decoded = decodeHtmlEntity(source, i);
      if (decoded) {
        text += decoded.char;
        i = decoded.end;
        continue;
      }
    }
    if (c !== '<') {
      text += c;
      i++;
      continue;
    }

    const tagBegin = i;
    const at = byteOffset(source, tagBegin);
    i++;
    if (source[i] === '/') {
      // End tag: "</name>" or "</>" closes the innermost open tag.
      const top = open.pop();
      if (!top) throw new MarkupError(`Unexpected end tag at byte offset ${at}`);
      i++;
      const nameStart = i;
      while (i < source.length && !isSpace(source[i]) && source[i] !== '>') i++;
      const name = source.slice(nameStart, i).toLowerCase();
      while (i < source.length && isSpace(source[i])) i++;
      if (source[i] !== '>') throw new MarkupError(`Unclosed end tag at byte offset ${at}`);
      i++;
      if (name !== '' && name !== top.name) {
        throw new MarkupError(
          `Unmatched end tag at byte offset ${at}, expected "</${top.name}>", found "</${name}>"`,
        );
      }
      closeHtmlTag(top, text, entities, open);
      continue;
    }

    // Start tag.
    const nameStart = i;
    while (i < source.length && !isSpace(source[i]) && source[i] !== '>') i++;
    if (i >= source.length) throw new MarkupError(`Unclosed start tag at byte offset ${at}`);
    const name = source.slice(nameStart, i).toLowerCase();
    if (!HTML_TAGS.has(name)) throw new MarkupError(`Unsupported start tag "${name}" at byte offset ${at}`);
    const attributes = new Map<string, string>();
    while (source[i] !== '>') {
      while (i < source.length && isSpace(source[i])) i++;
      if (i >= source.length) throw new MarkupError(`Unclosed start tag at byte offset ${at}`);
      if (source[i] === '>') break;
      const attrStart = i;
      while (i < source.length && !isSpace(source[i]) && source[i] !== '=' && source[i] !== '>') i++;
      const attrName = source.slice(attrStart, i).toLowerCase();
      if (attrName === '')
        throw new MarkupError(`Empty attribute name in the tag "${name}" at byte offset ${at}`);
      while (i < source.length && isSpace(source[i])) i++;
      if (source[i] !== '=') {
        attributes.set(attrName, '');
        continue;
      }
      i++;
      while (i < source.length && isSpace(source[i])) i++;
      if (i >= source.length) throw new MarkupError(`Unclosed start tag "${name}" at byte offset ${at}`);
      let value = '';
      const quote = source[i];
      if (quote === '"' || quote === "'") {
        i++;
        while (i < source.length && source[i] !== quote) {
          const decoded = source[i] === '&' ? decodeHtmlEntity(source, i) : undefined;
          if (decoded) {
            value += decoded.char;
            i = decoded.end;
          } else {
            value += source[i];
            i++;
          }
        }
        if (i >= source.length) throw new MarkupError(`Unclosed start tag at byte offset ${at}`);
        i++;
      } else {
        // A name token: letters, digits, periods and hyphens.
        const tokenStart = i;
        while (i < source.length && /[A-Za-z0-9.-]/.test(source[i] ?? '')) i++;
        value = source.slice(tokenStart, i).toLowerCase();
        if (i < source.length && !isSpace(source[i]) && source[i] !== '>') {
          throw new MarkupError(
            `Unexpected end of name token at byte offset ${byteOffset(source, tokenStart)}`,
          );
        }
      }
      attributes.set(attrName, value);
    }
    i++;
    if (name === 'span' && attributes.get('class') !== 'tg-spoiler') {
      throw new MarkupError(`Tag "span" must have class "tg-spoiler" at byte offset ${at}`);
    }
    if (name === 'tg-emoji' && !/^\d+$/.test(attributes.get('emoji-id') ?? '')) {
      throw new MarkupError(`Custom emoji identifier expected at byte offset ${at}`);
    }
    open.push({ name, attributes, offset: text.length });
  }
  const unclosed = open.at(-1);
  if (unclosed) throw new MarkupError(`Can't find end tag corresponding to start tag "${unclosed.name}"`);
  return { text, entities: sortEntities(entities) };
}

function closeHtmlTag(tag: OpenTag, text: string, entities: MessageEntity[], open: OpenTag[]): void {
  const offset = tag.offset;
  const length = text.length - offset;
  if (length === 0) return;
  const base = { offset, length };
  switch (tag.name) {
    case 'a': {
      const url = checkUrl(tag.attributes.get('href') ?? text.slice(offset));
      if (url) entities.push({ type: 'text_link', ...base, url });
      return;
    }
    case 'tg-emoji':
      entities.push({ type: 'custom_emoji', ...base, custom_emoji_id: tag.attributes.get('emoji-id') ?? '' });
      return;
    case 'blockquote':
      entities.push({
        type: tag.attributes.has('expandable') ? 'expandable_blockquote' : 'blockquote',
        ...base,
      });
      return;
    case 'code': {
      // <pre><code class="language-x">…</code></pre> is one pre entity with a language.
      const language = /^language-(.+)$/.exec(tag.attributes.get('class') ?? '')?.[1];
      const parent = open.at(-1);
      if (language && parent?.name === 'pre' && parent.offset === offset) {
        parent.attributes.set('language', language);
        return;
      }
      entities.push({ type: 'code', ...base });
      return;
    }
    case 'pre': {
      const language = tag.attributes.get('language');
      entities.push(language ? { type: 'pre', ...base, language } : { type: 'pre', ...base });
      return;
    }
    default: {
      const type = HTML_ENTITY_TYPES[tag.name];
      if (type) entities.push({ type, ...base });
    }
  }
}

// --------------------------------------------------------------------------------------- for our side

/** What the reader sees of a Telegram HTML text (tags removed, entities decoded, trimmed like Telegram). */
export function htmlToPlainText(html: string): string {
  try {
    return parseHtml(html).text.trim();
  } catch {
    return html
      .replace(/<[^>]*>/g, '')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&amp;/g, '&')
      .trim();
  }
}

/** Length of the text the reader sees, in UTF-16 units like Telegram. */
export function visibleLength(html: string): number {
  return htmlToPlainText(html).length;
}

/**
 * Why Telegram would refuse this HTML, in Spanish for staff (undefined = it would accept it).
 * The same parser the stand-in answers with, so "valid here" means "accepted there".
 */
export function htmlProblem(html: string): string | undefined {
  try {
    parseHtml(html);
    return undefined;
  } catch (err) {
    if (!(err instanceof MarkupError)) throw err;
    return translateMarkupError(err.message, html);
  }
}

/** Telegram's "can't parse entities" reason, said for staff (Spanish), with the place in the text. */
export function translateMarkupError(message: string, source: string): string {
  const where = (offset: number) => {
    const before = Buffer.from(source, 'utf8').subarray(0, offset).toString('utf8');
    const line = before.split('\n').length;
    const near = source.slice(before.length, before.length + 20).split('\n')[0];
    return `(línea ${line}, cerca de «${near}»)`;
  };
  const at = /byte offset (\d+)/.exec(message);
  const place = at ? ` ${where(Number(at[1]))}` : '';
  const tag = /Unsupported start tag "([^"]*)"/.exec(message);
  if (tag) {
    return `etiqueta <${tag[1]}> no permitida por Telegram${place}; use <b>, <i>, <u>, <s>, <code>, <pre>, <a href>, <blockquote> o escriba &lt; para un "<"`;
  }
  const unclosed = /Can't find end tag corresponding to start tag "([^"]*)"/.exec(message);
  if (unclosed) return `etiqueta <${unclosed[1]}> sin cerrar: falta </${unclosed[1]}>`;
  const nesting = /expected "<\/([^"]*)>", found "<\/([^"]*)>"/.exec(message);
  if (nesting) return `etiqueta </${nesting[2]}> mal anidada: se esperaba </${nesting[1]}>${place}`;
  if (/Unexpected end tag/.test(message)) return `etiqueta de cierre sin abrir${place}`;
  if (/Unclosed (start|end) tag/.test(message)) {
    return `etiqueta sin terminar (falta ">")${place}; para un "<" suelto escriba &lt;`;
  }
  if (/must have class "tg-spoiler"/.test(message))
    return `<span> solo se admite como <span class="tg-spoiler">${place}`;
  return `Telegram no aceptaría el formato: ${message}`;
}
