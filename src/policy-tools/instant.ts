/** `--at` / `at:`: an ISO 8601 time or epoch seconds. */
export function parseInstant(value: string | number | Date): number {
  const wrong = () => new Error(`not an ISO 8601 time or epoch seconds: ${JSON.stringify(value)}`);
  let seconds: number;
  if (value instanceof Date) seconds = Math.floor(value.getTime() / 1000);
  else if (typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value))) seconds = Number(value);
  else if (typeof value === 'string') seconds = Math.floor(Date.parse(value) / 1000);
  else throw wrong();
  // Beyond what a Date can hold the clock cannot be printed: refuse it here, not with a RangeError later.
  if (!Number.isFinite(seconds) || Number.isNaN(new Date(seconds * 1000).getTime())) throw wrong();
  return seconds;
}
