/** Runs a callback at most once an interval: a refusal that repeats per message is logged, not flooded. */
export class OncePerInterval {
  readonly #intervalMs: number;
  #last = Number.NEGATIVE_INFINITY;

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  run(callback: () => void): void {
    const now = Date.now();
    if (now - this.#last < this.#intervalMs) return;
    this.#last = now;
    callback();
  }
}
