/**
 * When to replace a worker that died: at once for the first death, then after a delay that doubles with
 * every death in the recent window, and never once deaths come so often that the workers are
 * crash-looping (a bad deployment, not a passing fault): then the primary keeps the workers still
 * serving and tries one replacement per window, or stops the server when none is left.
 */
export class RestartPolicy {
  private deaths: number[] = [];

  constructor(
    /** Most deaths tolerated within `windowMs`. */
    readonly maxDeaths = 5,
    readonly windowMs = 60_000,
    private readonly firstDelayMs = 100,
    private readonly maxDelayMs = 10_000,
  ) {}

  /** Records a death at `now` (ms); the delay before its replacement, or undefined to give up. */
  death(now: number): number | undefined {
    this.deaths = this.deaths.filter((at) => now - at < this.windowMs);
    this.deaths.push(now);
    if (this.deaths.length > this.maxDeaths) return undefined;
    if (this.deaths.length === 1) return 0;
    return Math.min(this.maxDelayMs, this.firstDelayMs * 2 ** (this.deaths.length - 2));
  }

  /** Deaths within the window ending at `now`. */
  recent(now: number): number {
    return this.deaths.filter((at) => now - at < this.windowMs).length;
  }
}
