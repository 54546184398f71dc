// RateLimiter: blocks a key after maxFailures, doubles the delay up to a cap, forgets after the
// window, resets on success, and stays within maxKeys.
import { describe, expect, it } from 'vitest';
import { RateLimiter, ADDRESS_ALLOWANCE, addressKey, pairKey } from '../../../server/auth/rate-limiter.js';

const make = (over: Partial<ConstructorParameters<typeof RateLimiter>[0]> = {}) => {
  const clock = { now: 0 };
  const limiter = new RateLimiter({ maxFailures: 3, windowMs: 60_000, baseDelayMs: 1000, maxDelayMs: 8000, now: () => clock.now, ...over });
  return { clock, limiter };
};

describe('RateLimiter', () => {
  it('lets maxFailures - 1 failures through, then refuses with a retryAfter', () => {
    const { limiter } = make();
    limiter.recordFailure(['user:alice']);
    limiter.recordFailure(['user:alice']);
    expect(limiter.check(['user:alice'])).toEqual({ ok: true });
    limiter.recordFailure(['user:alice']);
    expect(limiter.check(['user:alice'])).toEqual({ ok: false, retryAfterMs: 1000, key: 'user:alice' });
    expect(limiter.check(['user:bob'])).toEqual({ ok: true });
  });

  it('doubles the delay with each further failure, up to maxDelayMs', () => {
    const { clock, limiter } = make();
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      limiter.recordFailure(['k']);
      const d = limiter.check(['k']);
      delays.push(d.ok ? 0 : d.retryAfterMs);
      if (!d.ok) clock.now += d.retryAfterMs; // wait it out, then fail again
    }
    expect(delays).toEqual([0, 0, 1000, 2000, 4000, 8000, 8000, 8000]);
  });

  it('counts down retryAfter while blocked, and refused checks do not extend it', () => {
    const { clock, limiter } = make();
    for (let i = 0; i < 3; i++) limiter.recordFailure(['k']);
    clock.now += 400;
    expect(limiter.check(['k'])).toMatchObject({ ok: false, retryAfterMs: 600 });
    expect(limiter.check(['k'])).toMatchObject({ ok: false, retryAfterMs: 600 });
    clock.now += 600;
    expect(limiter.check(['k'])).toEqual({ ok: true });
  });

  it('reports the longest wait of several keys', () => {
    const { limiter } = make();
    for (let i = 0; i < 3 * ADDRESS_ALLOWANCE + 1; i++) limiter.recordFailure(['addr:1.2.3.4']);
    for (let i = 0; i < 3; i++) limiter.recordFailure(['user:alice']);
    expect(limiter.check(['user:alice', 'addr:1.2.3.4'])).toEqual({ ok: false, retryAfterMs: 2000, key: 'addr:1.2.3.4' });
  });

  it('forgets failures after a quiet window', () => {
    const { clock, limiter } = make();
    limiter.recordFailure(['k']);
    limiter.recordFailure(['k']);
    clock.now += 60_001;
    limiter.recordFailure(['k']);
    expect(limiter.check(['k'])).toEqual({ ok: true });
    expect(limiter.size).toBe(1);
  });

  it('resets a key on success', () => {
    const { limiter } = make();
    for (let i = 0; i < 3; i++) limiter.recordFailure(['user:alice']);
    limiter.recordSuccess('user:alice');
    expect(limiter.check(['user:alice'])).toEqual({ ok: true });
    limiter.recordFailure(['user:alice']);
    limiter.recordFailure(['user:alice']);
    expect(limiter.check(['user:alice'])).toEqual({ ok: true });
  });

  it('keeps at most maxKeys keys, dropping the stalest', () => {
    const { clock, limiter } = make({ maxKeys: 100 });
    for (let i = 0; i < 3; i++) limiter.recordFailure(['victim']);
    for (let i = 0; i < 10_000; i++) {
      clock.now += 1;
      limiter.recordFailure([`addr:${i}`]);
    }
    expect(limiter.size).toBe(100);
    expect(limiter.check(['addr:9999'])).toEqual({ ok: true });
    for (let i = 1; i < 3 * ADDRESS_ALLOWANCE; i++) limiter.recordFailure(['addr:9999']);
    expect(limiter.check(['addr:9999']).ok).toBe(false);
  });

  it('spells a (user, address) key case-insensitively and keeps long names short', () => {
    expect(pairKey('127.0.0.2', 'PM')).toBe('pair:127.0.0.2 pm');
    const long = pairKey('127.0.0.2', 'x'.repeat(256));
    expect(long).toMatch(/^pair:127\.0\.0\.2 #[A-Za-z0-9_-]{22}$/);
    expect(pairKey('127.0.0.2', 'X'.repeat(256))).toBe(long);
    expect(pairKey('127.0.0.2', 'x'.repeat(255))).not.toBe(long);
    expect(addressKey('127.0.0.2')).toBe('addr:127.0.0.2');
  });
});
