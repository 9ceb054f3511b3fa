/** `--at` / `at:`: an ISO 8601 time or epoch seconds. */
export function parseInstant(value: string | number | Date): number {
  if (value instanceof Date) return Math.floor(value.getTime() / 1000);
  if (typeof value === 'number' || /^\d+$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new Error(`not an ISO 8601 time or epoch seconds: ${JSON.stringify(value)}`);
  return Math.floor(ms / 1000);
}
