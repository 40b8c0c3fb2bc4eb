import { localTime } from '../time.js';

/**
 * The send window: automatic notices go out only between `start` and `end`, local time of the
 * provider. `end` may be 24:00; a window with start > end runs over midnight (20:00-08:00).
 */
export function isTimeInWindow(hhmm: string, window: { start: string; end: string }): boolean {
  if (window.start === window.end) return true;
  if (window.start < window.end) return hhmm >= window.start && hhmm < window.end;
  return hhmm >= window.start || hhmm < window.end;
}

export function isInSendWindow(now: Date, window: { start: string; end: string }, timeZone: string): boolean {
  return isTimeInWindow(localTime(now, timeZone), window);
}

/** Local date and time in one zone, with the formatters built once (hot paths). */
export function createCalendar(timeZone: string) {
  const date = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  });
  const time = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  return {
    /** 'YYYY-MM-DD' */
    date: (instant: Date) => date.format(instant),
    /** 'HH:MM' */
    time: (instant: Date) => time.format(instant),
  };
}
