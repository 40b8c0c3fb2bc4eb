/**
 * parse_mode handling modelled on TDLib (which the Bot API uses): turns marked-up text into plain text plus
 * entities, or fails with the message Telegram gives after "Bad Request: can't parse entities: ".
 * Offsets and lengths are UTF-16 code units (JS string indices), like the Bot API; "byte offset" in error
 * messages is a UTF-8 byte offset into the marked-up text, like Telegram's.
 * Simplified: URL checks are loose and tg://user links become plain text_link entities.
 */

import {
  byteOffset,
  checkUrl,
  type FormattedText,
  isSpace,
  MarkupError,
  parseHtml,
  sortEntities,
  trimFormatted,
} from '../html.js';
import type { MessageEntity } from './types.js';

export { type FormattedText, MarkupError, trimFormatted };

/** Plain text and entities for `text` under `parseMode` (undefined or '' = no parsing). */
export function parseMarkup(text: string, parseMode: string | undefined): FormattedText {
  switch ((parseMode ?? '').toLowerCase()) {
    case '':
      return { text, entities: [] };
    case 'html':
      return parseHtml(text);
    case 'markdownv2':
      return parseMarkdownV2(text);
    case 'markdown':
      return parseMarkdownLegacy(text);
    default:
      throw new MarkupError(`Unsupported parse_mode "${parseMode}"`);
  }
}

// ----------------------------------------------------------------------------------------- MarkdownV2

type MdEntity =
  | 'bold'
  | 'italic'
  | 'underline'
  | 'strikethrough'
  | 'spoiler'
  | 'code'
  | 'pre'
  | 'text_link'
  | 'custom_emoji'
  | 'blockquote';

interface OpenMd {
  type: MdEntity;
  language?: string;
  /** Index in the source of the opening marker. */
  start: number;
  /** Plain-text offset where the entity starts. */
  offset: number;
}

const MD_RESERVED = '_*[]()~`>#+-=|{}.!\n';

/** TDLib's names for entity types in "Can't find end of … entity" messages. */
function mdTypeName(e: OpenMd): string {
  const names: Record<MdEntity, string> = {
    bold: 'Bold',
    italic: 'Italic',
    underline: 'Underline',
    strikethrough: 'Strikethrough',
    spoiler: 'Spoiler',
    code: 'Code',
    pre: 'Pre',
    text_link: 'TextUrl',
    custom_emoji: 'CustomEmoji',
    blockquote: 'BlockQuote',
  };
  return e.type === 'pre' && e.language ? 'PreCode' : names[e.type];
}

const reservedError = (c: string): MarkupError =>
  new MarkupError(`Character '${c}' is reserved and must be escaped with the preceding '\\'`);

/** Escapable with a backslash: any character with code 1..126. */
const isEscapable = (c: string | undefined): boolean =>
  c !== undefined && c.charCodeAt(0) > 0 && c.charCodeAt(0) <= 126;

function parseMarkdownV2(source: string): FormattedText {
  let text = '';
  const entities: MessageEntity[] = [];
  const open: OpenMd[] = [];
  const cantFindEnd = (e: OpenMd): MarkupError =>
    new MarkupError(
      `Can't find end of ${mdTypeName(e)} entity at byte offset ${byteOffset(source, e.start)}`,
    );
  // Reads "(url)" starting at source[i] === '('; returns the URL with escapes removed and the index of ')'.
  const readUrl = (i: number, what: string): { url: string; end: number } => {
    let j = i + 1;
    const urlBegin = j;
    let url = '';
    while (j < source.length && source[j] !== ')') {
      if (source[j] === '\\' && isEscapable(source[j + 1])) {
        url += source[j + 1];
        j += 2;
      } else {
        url += source[j];
        j++;
      }
    }
    if (j >= source.length) {
      throw new MarkupError(`Can't find end of ${what} at byte offset ${byteOffset(source, urlBegin)}`);
    }
    return { url, end: j };
  };

  let haveBlockquote = false;
  let canStartBlockquote = true;
  for (let i = 0; i < source.length; i++) {
    const c = source[i] as string;
    const next = source[i + 1];
    if (c === '\\' && isEscapable(next)) {
      i++;
      text += next;
      if (next !== '\r') canStartBlockquote = next === '\n';
      continue;
    }

    const top = open.at(-1);
    const reserved = top && (top.type === 'code' || top.type === 'pre') ? '`' : MD_RESERVED;
    if (!reserved.includes(c)) {
      text += c;
      if (c !== '\r') canStartBlockquote = false;
      continue;
    }

    let isEnd = false;
    if (top) {
      if (haveBlockquote && c === '\n' && next !== '>') isEnd = true;
      else {
        switch (top.type) {
          case 'bold':
            isEnd = c === '*';
            break;
          case 'italic':
            isEnd = c === '_' && next !== '_';
            break;
          case 'underline':
            isEnd = c === '_' && next === '_';
            break;
          case 'strikethrough':
            isEnd = c === '~';
            break;
          case 'spoiler':
            isEnd = c === '|' && next === '|';
            break;
          case 'code':
            isEnd = c === '`';
            break;
          case 'pre':
            isEnd = c === '`' && next === '`' && source[i + 2] === '`';
            break;
          case 'text_link':
          case 'custom_emoji':
            isEnd = c === ']';
            break;
          case 'blockquote':
            isEnd = false;
            break;
        }
      }
    }

    if (!isEnd) {
      // Start of an entity (or a newline / blockquote marker).
      const start = i;
      let type: MdEntity;
      let language: string | undefined;
      switch (c) {
        case '_':
          if (next === '_') {
            type = 'underline';
            i++;
          } else type = 'italic';
          break;
        case '*':
          type = 'bold';
          break;
        case '~':
          type = 'strikethrough';
          break;
        case '|':
          if (next !== '|') throw reservedError(c);
          type = 'spoiler';
          i++;
          break;
        case '[':
          type = 'text_link';
          break;
        case '!':
          if (next !== '[') throw reservedError(c);
          type = 'custom_emoji';
          i++;
          break;
        case '`':
          if (next === '`' && source[i + 2] === '`') {
            type = 'pre';
            i += 3;
            let languageEnd = i;
            while (
              languageEnd < source.length &&
              !isSpace(source[languageEnd]) &&
              source[languageEnd] !== '`'
            ) {
              languageEnd++;
            }
            if (languageEnd !== i && languageEnd < source.length && source[languageEnd] !== '`') {
              language = source.slice(i, languageEnd);
              i = languageEnd;
            }
            // One line break right after the opening marker is not part of the text.
            if (source[i] === '\n' || source[i] === '\r') {
              const pair = (source[i + 1] === '\n' || source[i + 1] === '\r') && source[i] !== source[i + 1];
              i += pair ? 2 : 1;
            }
            i--;
          } else type = 'code';
          break;
        case '\n':
          text += '\n';
          canStartBlockquote = true;
          continue;
        case '>':
          if (!canStartBlockquote) throw reservedError(c);
          if (haveBlockquote) continue; // another quoted line of the same blockquote
          type = 'blockquote';
          haveBlockquote = true;
          break;
        default:
          throw reservedError(c);
      }
      open.push(
        language === undefined
          ? { type, start, offset: text.length }
          : { type, language, start, offset: text.length },
      );
      continue;
    }

    // End of the innermost entity.
    let entity = open.pop() as OpenMd;
    let type: string = entity.type;
    if (c === '\n' && entity.type !== 'blockquote') {
      // Only "||" right before the newline may end a blockquote early: it marks it expandable.
      const markerBefore =
        entity.type === 'spoiler' &&
        (entity.start === i - 2 || (entity.start === i - 3 && text.endsWith('\r')));
      if (!markerBefore) throw cantFindEnd(entity);
      const quote = open.pop();
      if (quote?.type !== 'blockquote') throw cantFindEnd(quote ?? entity);
      entity = quote;
      type = 'expandable_blockquote';
    }
    let skip = text.length === entity.offset;
    const extra: Partial<MessageEntity> = {};
    switch (entity.type) {
      case 'underline':
      case 'spoiler':
        i++;
        break;
      case 'pre':
        i += 2;
        if (entity.language) extra.language = entity.language;
        break;
      case 'text_link': {
        let url: string;
        if (source[i + 1] === '(') {
          const read = readUrl(i + 1, 'a URL');
          url = read.url;
          i = read.end;
        } else url = text.slice(entity.offset);
        const checked = checkUrl(url);
        if (checked) extra.url = checked;
        else skip = true;
        break;
      }
      case 'custom_emoji': {
        if (source[i + 1] !== '(') throw new MarkupError('Custom emoji entity must contain a tg://emoji URL');
        const read = readUrl(i + 1, 'a custom emoji URL');
        i = read.end;
        const id = /^tg:\/\/emoji\?id=(\d+)$/.exec(read.url)?.[1];
        if (!id) throw new MarkupError('Invalid custom emoji URL specified');
        extra.custom_emoji_id = id;
        break;
      }
      case 'blockquote':
        haveBlockquote = false;
        text += c;
        canStartBlockquote = true;
        skip = false;
        break;
      default:
        break;
    }
    if (!skip) entities.push({ type, offset: entity.offset, length: text.length - entity.offset, ...extra });
  }

  if (haveBlockquote) {
    // The text ends inside a blockquote: it ends there (expandable when the text ends with "||").
    let type = 'blockquote';
    const last = open.at(-1);
    if (last?.type === 'spoiler' && last.start === source.length - 2) {
      open.pop();
      type = 'expandable_blockquote';
    }
    const quote = open.at(-1);
    if (quote?.type === 'blockquote') {
      open.pop();
      if (text.length > quote.offset)
        entities.push({ type, offset: quote.offset, length: text.length - quote.offset });
    }
  }
  const unclosed = open.at(-1);
  if (unclosed) throw cantFindEnd(unclosed);
  return { text, entities: sortEntities(entities) };
}

// ------------------------------------------------------------------------------------ legacy Markdown

/** Legacy "Markdown": *bold*, _italic_, `code`, ```pre```, [text](url); no nesting; \ escapes _*`[. */
function parseMarkdownLegacy(source: string): FormattedText {
  let text = '';
  const entities: MessageEntity[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i] as string;
    if (c === '\\' && '_*`['.includes(source[i + 1] ?? ' ')) {
      text += source[i + 1];
      i += 2;
      continue;
    }
    if (!'_*`['.includes(c)) {
      text += c;
      i++;
      continue;
    }
    const at = byteOffset(source, i);
    const unclosed = () => new MarkupError(`Can't find end of the entity starting at byte offset ${at}`);
    const offset = text.length;
    if (c === '[') {
      const close = source.indexOf(']', i + 1);
      if (close < 0) throw unclosed();
      text += source.slice(i + 1, close);
      i = close + 1;
      if (source[i] === '(') {
        const end = source.indexOf(')', i + 1);
        if (end < 0) throw unclosed();
        const url = checkUrl(source.slice(i + 1, end));
        if (url && text.length > offset)
          entities.push({ type: 'text_link', offset, length: text.length - offset, url });
        i = end + 1;
      }
      continue;
    }
    const marker = c === '`' && source.startsWith('```', i) ? '```' : c;
    const end = source.indexOf(marker, i + marker.length);
    if (end < 0) throw unclosed();
    let content = source.slice(i + marker.length, end);
    let language: string | undefined;
    if (marker === '```') {
      const firstLine = /^([^\s`]+)\n/.exec(content);
      if (firstLine) {
        language = firstLine[1];
        content = content.slice(firstLine[0].length);
      } else if (content.startsWith('\n')) content = content.slice(1);
    }
    text += content;
    i = end + marker.length;
    if (content.length === 0) continue;
    const type = { '*': 'bold', _: 'italic', '`': 'code', '```': 'pre' }[marker] ?? 'code';
    entities.push(
      language
        ? { type, offset, length: content.length, language }
        : { type, offset, length: content.length },
    );
  }
  return { text, entities: sortEntities(entities) };
}
