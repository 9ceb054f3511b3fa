/**
 * ISO 8601 as RFC 3339 §5.6 profiles it: a date (UTC midnight), or a date and time with its offset. A
 * time without one would be read in this machine's time zone, and the looser forms Date.parse also takes
 * ('03/04/2026', '5', 'March 7') are guesses: a decision replayed at a guessed time is a wrong answer.
 */
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?)?$/;

/** `--at` / `at:`: an ISO 8601 time or epoch seconds. */
export function parseInstant(value: string | number | Date): number {
  const wrong = (why = '') => new Error(`not an ISO 8601 time or epoch seconds: ${JSON.stringify(value)}${why}`);
  let seconds: number;
  if (value instanceof Date) seconds = Math.floor(value.getTime() / 1000);
  else if (typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value))) seconds = Number(value);
  else if (typeof value === 'string') seconds = isoSeconds(value, wrong);
  else throw wrong();
  // Beyond what a Date can hold the clock cannot be printed: refuse it here, not with a RangeError later.
  if (!Number.isFinite(seconds) || Number.isNaN(new Date(seconds * 1000).getTime())) throw wrong();
  return seconds;
}

function isoSeconds(value: string, wrong: (why?: string) => Error): number {
  const match = ISO_TIME.exec(value);
  if (!match) throw wrong();
  const [, year, month, day, hour = '0', minute = '0', second = '0', offset] = match;
  if (match[4] !== undefined && offset === undefined) {
    throw wrong(" (give its offset, Z or ±hh:mm: without one it would be read in this machine's time zone)");
  }
  // Date.parse rolls an impossible date or time over (2026-02-30 is read as March 2): each field must be in range.
  const fields = [Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second)];
  const utc = new Date(Date.UTC(fields[0]!, fields[1]!, fields[2]!, fields[3]!, fields[4]!, fields[5]!));
  const back = [
    utc.getUTCFullYear(),
    utc.getUTCMonth(),
    utc.getUTCDate(),
    utc.getUTCHours(),
    utc.getUTCMinutes(),
    utc.getUTCSeconds(),
  ];
  if (back.some((v, i) => v !== fields[i])) throw wrong();
  return Math.floor(Date.parse(value.replace(' ', 'T')) / 1000);
}
