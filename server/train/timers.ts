// Time for the train's schedulers, injected (as the outbox's is) so a test can drive the debounces.
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** A monotonic clock in ms, for "at most once per interval". */
  now(): number;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  now: () => performance.now(),
};

export const sleep = (timers: Timers, ms: number): Promise<void> => new Promise((r) => timers.setTimeout(r, ms));
