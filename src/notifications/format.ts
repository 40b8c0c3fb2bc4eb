import { daysBetween } from '../time.js';

/**
 * The one home of how money, dates, times and "how many days" read in Ecuador (es-EC). Every
 * text a person reads goes through it: templates and compose, the bot's replies (/status), the
 * API's messages. Two homes drifted once: clients read "$25,50" in /status and "$25.50" in the
 * reminder the same day.
 *
 * The forms (CLDR es-EC, the same the admin page's `Intl` gives):
 * - money: US dollars with a decimal comma and a thousands period: "$25,50", "$1.234,50", "-$3,00";
 * - dates: "dd/mm/aaaa" ("05/03/2026");
 * - times: 24-hour "HH:MM" ("01:54", "20:00") — never "a. m.", whose period doubled at the end of a
 *   sentence ("01:54 a. m..");
 * - days: "1 día", "2 días"; a due date is "vence hoy" on the day itself, never "en 0 días",
 *   "en -1 días" or "hace 0 días".
 */

const money = new Intl.NumberFormat('es-EC', {
  style: 'currency',
  currency: 'USD',
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});

/** US dollars as read in Ecuador: '$25,50', '$1.234,50', '-$3,00'. Empty for no amount. */
export function formatMoney(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '';
  const abs = money.format(Math.abs(n));
  return n < 0 && Math.abs(n) >= 0.005 ? `-${abs}` : abs;
}

/** 'YYYY-MM-DD' (or an ISO timestamp's date part) → 'dd/mm/aaaa'. Empty for no date. */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '';
  const [y, m, d] = iso.slice(0, 10).split('-');
  return `${d}/${m}/${y}`;
}

const timeFormats = new Map<string, Intl.DateTimeFormat>();
function timeFormat(timeZone: string): Intl.DateTimeFormat {
  let f = timeFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    timeFormats.set(timeZone, f);
  }
  return f;
}

/** Wall-clock time of an instant in the provider's zone, 24-hour: '01:54', '20:00'. */
export function formatTime(instant: Date, timeZone: string): string {
  return timeFormat(timeZone).format(instant);
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();
/** 'dd/mm/aaaa HH:MM' of an instant in the provider's zone. */
export function formatDateTime(instant: Date, timeZone: string): string {
  let f = dateFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    dateFormats.set(timeZone, f);
  }
  return `${formatDate(f.format(instant))} ${formatTime(instant, timeZone)}`;
}

/** '1 día', '2 días', '0 días'. */
export function formatDays(n: number): string {
  return plural(Math.abs(n), 'día', 'días');
}

/** '1 intento', '3 intentos'. */
export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Where a due date stands on `today`. `days` > 0: still to come; 0: today; < 0: overdue. */
export interface DueStatus {
  /** Days from today to the due date (negative when overdue). */
  days: number;
  /** Days overdue (0 when not overdue). */
  overdueDays: number;
  /** 'dd/mm/aaaa'. */
  date: string;
  /**
   * The one sentence for it: 'vence el 30/11/2026 (en 2 días)', 'vence mañana, 29/11/2026',
   * 'vence hoy, 28/11/2026', 'venció ayer, 27/11/2026', 'venció el 26/11/2026 (hace 2 días)'.
   */
  phrase: string;
  /** The short form, without the date: 'en 2 días', 'mañana', 'hoy', 'ayer', 'hace 2 días'. */
  relative: string;
}

/** The one rule for a due date's wording (reminders, overdue notices, /status). */
export function dueStatus(dueIso: string, todayIso: string): DueStatus {
  const days = daysBetween(todayIso, dueIso);
  const date = formatDate(dueIso);
  let phrase: string;
  let relative: string;
  if (days === 0) {
    relative = 'hoy';
    phrase = `vence hoy, ${date}`;
  } else if (days === 1) {
    relative = 'mañana';
    phrase = `vence mañana, ${date}`;
  } else if (days > 1) {
    relative = `en ${formatDays(days)}`;
    phrase = `vence el ${date} (${relative})`;
  } else if (days === -1) {
    relative = 'ayer';
    phrase = `venció ayer, ${date}`;
  } else {
    relative = `hace ${formatDays(-days)}`;
    phrase = `venció el ${date} (${relative})`;
  }
  return { days, overdueDays: Math.max(0, -days), date, phrase, relative };
}
