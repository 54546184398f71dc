// When the outbox tries a failed delivery again, and when it gives up. Pure: the random draw is an
// argument, so the schedule can be checked exactly.

export interface RetryPolicy {
  /** First retry delay. */
  readonly baseMs: number;
  /** Cap of the exponential delay. */
  readonly maxMs: number;
  /** Give up after this many attempts (the delivery stays in list() as failed); 0: never give up. */
  readonly maxAttempts: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseMs: 1_000, maxMs: 5 * 60_000, maxAttempts: 0 };

/**
 * The delay before the next attempt after `attempts` failed ones: exponential from baseMs, capped
 * at maxMs, with jitter (half fixed, half `random01`) so that the retries of many servers spread out.
 */
export function retryDelayMs(policy: RetryPolicy, attempts: number, random01: number): number {
  const { baseMs, maxMs } = policy;
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempts - 1, 30));
  return Math.round(cap / 2 + (cap / 2) * random01);
}

/** Whether to give up after `attempts` failed ones: at once on a permanent refusal, else after maxAttempts (0: never). */
export function givesUp(policy: RetryPolicy, attempts: number, permanent: boolean): boolean {
  return permanent || (policy.maxAttempts > 0 && attempts >= policy.maxAttempts);
}
