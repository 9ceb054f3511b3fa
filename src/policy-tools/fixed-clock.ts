/**
 * Runs `fn` with the process clock (`Date`) fixed at `at` (epoch seconds): how the policy tools replay a
 * recorded token "as of" a moment, through the very validators the server uses (jose, the SAML library
 * and the delegation core all read `Date`). Timers are left alone. Policy tools only; never the server.
 */
export async function atFixedTime<T>(at: number | undefined, fn: () => Promise<T>): Promise<T> {
  if (at === undefined) return fn();
  const RealDate = globalThis.Date;
  const fixed = at * 1000;
  // `new Date()` and `Date.now()` read the fixed instant; every other use of Date is the real one.
  class FixedDate extends RealDate {
    constructor(...args: ConstructorParameters<DateConstructor> | []) {
      if (args.length === 0) super(fixed);
      else super(...(args as ConstructorParameters<DateConstructor>));
    }

    static override now(): number {
      return fixed;
    }
  }
  globalThis.Date = FixedDate as DateConstructor;
  try {
    return await fn();
  } finally {
    globalThis.Date = RealDate;
  }
}

/** `--at` / `at:`: an ISO 8601 time or epoch seconds. */
export function parseInstant(value: string | number | Date): number {
  if (value instanceof Date) return Math.floor(value.getTime() / 1000);
  if (typeof value === 'number' || /^\d+$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new Error(`not an ISO 8601 time or epoch seconds: ${JSON.stringify(value)}`);
  return Math.floor(ms / 1000);
}
