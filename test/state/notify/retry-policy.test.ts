// When the outbox retries and when it gives up, as numbers.
import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY, givesUp, retryDelayMs } from '../../../state/notify/retry-policy.js';

const policy = { baseMs: 100, maxMs: 1_000, maxAttempts: 0 };

describe('retry policy', () => {
  it('doubles from baseMs and caps at maxMs (jitter at its top)', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => retryDelayMs(policy, n, 1))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('jitters over the upper half of the delay', () => {
    expect(retryDelayMs(policy, 3, 0)).toBe(200);
    expect(retryDelayMs(policy, 3, 0.5)).toBe(300);
    expect(retryDelayMs(policy, 3, 1)).toBe(400);
  });

  it('does not overflow after very many attempts', () => {
    expect(retryDelayMs(DEFAULT_RETRY_POLICY, 10_000, 1)).toBe(5 * 60_000);
  });

  it('gives up at once on a permanent refusal, after maxAttempts otherwise, never with maxAttempts 0', () => {
    expect(givesUp(policy, 1, true)).toBe(true);
    expect(givesUp(policy, 1_000, false)).toBe(false);
    const three = { ...policy, maxAttempts: 3 };
    expect(givesUp(three, 2, false)).toBe(false);
    expect(givesUp(three, 3, false)).toBe(true);
  });
});
