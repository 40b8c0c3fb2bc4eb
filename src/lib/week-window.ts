/**
 * A weekly window: optional days and a time range, `lun-vie 09:00-18:00`, `lun,mie,vie 08:00-12:00`
 * or just `08:00-20:00` (every day). The time range has SEND_WINDOW's syntax: `end` may be 24:00,
 * `00:00-24:00` means always, start > end runs over midnight. Days are Spanish three-letter names
 * (dom lun mar mie jue vie sab, accents allowed), single or as ranges (`lun-vie`, `vie-lun`).
 *
 * Pure: the caller says which local day and time it is.
 */

export interface WeekWindow {
  /** Allowed local weekdays, 0 = Sunday … 6 = Saturday; null = every day. */
  days: ReadonlySet<number> | null;
  start: string;
  end: string;
}

const DAY_NAMES = ['dom', 'lun', 'mar', 'mie', 'jue', 'vie', 'sab'] as const;
const TIME_RANGE = /^([01]\d|2[0-3]):[0-5]\d-(([01]\d|2[0-3]):[0-5]\d|24:00)$/;

function dayIndex(name: string): number {
  const plain = name.toLowerCase().normalize('NFD').replace(/\p{M}/gu, '').slice(0, 3);
  return (DAY_NAMES as readonly string[]).indexOf(plain);
}

/** Parses a window; throws an Error with a Spanish message naming what is wrong. */
export function parseWeekWindow(text: string): WeekWindow {
  const parts = text.trim().split(/\s+/);
  const range = parts.pop() ?? '';
  if (!TIME_RANGE.test(range)) {
    throw new Error(`«${range}» no es un rango HH:MM-HH:MM (por ejemplo 09:00-18:00)`);
  }
  const [start, end] = range.split('-') as [string, string];
  if (parts.length > 1) throw new Error('escriba los días sin espacios, por ejemplo lun-vie o lun,mie,vie');
  if (parts.length === 0) return { days: null, start, end };
  const days = new Set<number>();
  for (const item of parts[0]!.split(',')) {
    const [a, b, extra] = item.split('-');
    const from = dayIndex(a ?? '');
    const to = b === undefined ? from : dayIndex(b);
    if (from < 0 || to < 0 || extra !== undefined) {
      throw new Error(`«${item}» no es un día o rango de días (dom lun mar mie jue vie sab)`);
    }
    for (let d = from; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === to) break;
    }
  }
  return { days, start, end };
}

/** true = `text` is a valid window. */
export function isWeekWindow(text: string): boolean {
  try {
    parseWeekWindow(text);
    return true;
  } catch {
    return false;
  }
}

/** Whether local weekday `day` (0 = Sunday) at local time `hhmm` is inside the window. */
export function isInWeekWindow(w: WeekWindow, day: number, hhmm: string): boolean {
  if (w.days !== null && !w.days.has(day)) return false;
  if (w.start === w.end) return true;
  if (w.start < w.end) return hhmm >= w.start && hhmm < w.end;
  return hhmm >= w.start || hhmm < w.end;
}

const weekdayFormats = new Map<string, Intl.DateTimeFormat>();

/** Local weekday (0 = Sunday) and 'HH:MM' of an instant in a time zone. */
export function localWeekdayTime(instant: Date, timeZone: string): { day: number; time: string } {
  let f = weekdayFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    weekdayFormats.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(instant).map((p) => [p.type, p.value]));
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(parts['weekday'] ?? '');
  return { day, time: `${parts['hour']}:${parts['minute']}` };
}

/** Whether `instant` falls inside the window in `timeZone`. */
export function isInstantInWeekWindow(w: WeekWindow, instant: Date, timeZone: string): boolean {
  const { day, time } = localWeekdayTime(instant, timeZone);
  return isInWeekWindow(w, day, time);
}
