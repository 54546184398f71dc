// Slows down password guessing: failed logins are counted per key (a user name at a client address,
// a client address); after its allowance a key is refused for a delay that doubles with each further
// failure, up to a cap. In memory only (a restart forgives everyone), bounded, with an injected clock.
// There is deliberately no key for a user name alone: then anyone anywhere could lock a user out
// (the pushmaster, say) with a few wrong passwords. See docs/decisions.md, "Login throttle".
import { createHash } from 'node:crypto';

export interface RateLimiterOptions {
  readonly maxFailures?: number;
  /** A key is forgotten after this long without a failure (and once any block has ended). */
  readonly windowMs?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly maxKeys?: number;
  readonly now?: () => number;
}

export type RateDecision = { ok: true } | { ok: false; retryAfterMs: number; key: string };

interface KeyState {
  failures: number;
  lastFailureAt: number;
  blockedUntil: number;
}

/** How many times a user's failures an address may have before it is slowed down. */
export const ADDRESS_ALLOWANCE = 10;

/**
 * One user name at one client address (see throttleAddress): maxFailures allowed. A long name (up to
 * 256 characters get this far) is kept as a 22-character hash, so maxKeys bounds the memory tightly.
 */
export function pairKey(address: string, name: string): string {
  const n = name.toLowerCase();
  return `pair:${address} ${n.length > 32 ? `#${createHash('sha256').update(n).digest('base64url').slice(0, 22)}` : n}`;
}
/** Every attempt from one client address, whatever the user name: maxFailures x ADDRESS_ALLOWANCE. */
export const addressKey = (address: string): string => `addr:${address}`;

export class RateLimiter {
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;
  // A Map keeps insertion order; touching a key re-inserts it, so the first key is the stalest.
  private readonly keys = new Map<string, KeyState>();

  constructor(options: RateLimiterOptions = {}) {
    this.maxFailures = options.maxFailures ?? 5;
    this.windowMs = options.windowMs ?? 15 * 60_000;
    this.baseDelayMs = options.baseDelayMs ?? 1_000;
    this.maxDelayMs = options.maxDelayMs ?? 15 * 60_000;
    this.maxKeys = options.maxKeys ?? 100_000;
    this.now = options.now ?? Date.now;
  }

  /** Whether an attempt for all of these keys may go ahead now; refusals do not count as failures. */
  check(keys: readonly string[]): RateDecision {
    const now = this.now();
    let worst: RateDecision = { ok: true };
    for (const key of keys) {
      const s = this.live(key, now);
      if (s && s.blockedUntil > now) {
        const retryAfterMs = s.blockedUntil - now;
        if (worst.ok || retryAfterMs > worst.retryAfterMs) worst = { ok: false, retryAfterMs, key };
      }
    }
    return worst;
  }

  recordFailure(keys: readonly string[]): void {
    const now = this.now();
    for (const key of keys) {
      const s = this.live(key, now) ?? { failures: 0, lastFailureAt: now, blockedUntil: 0 };
      s.failures += 1;
      s.lastFailureAt = now;
      // An address is shared (NAT, a proxy, a CI farm): five guesses there must not lock out everyone
      // behind it, so an address gets ten times the allowance of a user name.
      const limit = key.startsWith('addr:') ? this.maxFailures * ADDRESS_ALLOWANCE : this.maxFailures;
      if (s.failures >= limit) {
        const doublings = Math.min(s.failures - limit, 40);
        s.blockedUntil = now + Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** doublings);
      }
      this.keys.delete(key);
      this.keys.set(key, s);
    }
    this.evict();
  }

  /** A successful login forgives that key (its user at its address); callers keep the address key counting. */
  recordSuccess(key: string): void {
    this.keys.delete(key);
  }

  /** Failures counted for a key now (0 once forgotten): what operators and tests can see. */
  failures(key: string): number {
    return this.live(key, this.now())?.failures ?? 0;
  }

  get size(): number {
    return this.keys.size;
  }

  /** The key's state, or undefined once it has expired (and then it is dropped). */
  private live(key: string, now: number): KeyState | undefined {
    const s = this.keys.get(key);
    if (s && this.expired(s, now)) {
      this.keys.delete(key);
      return undefined;
    }
    return s;
  }

  private expired(s: KeyState, now: number): boolean {
    return now >= s.blockedUntil && now - s.lastFailureAt > this.windowMs;
  }

  private evict(): void {
    // Keys are ordered by their last failure, so the first ones are the stalest (and usually
    // expired already). An attacker who floods keys can only make us forget old failures sooner,
    // never use more memory; each eviction is O(1).
    for (const key of this.keys.keys()) {
      if (this.keys.size <= this.maxKeys) break;
      this.keys.delete(key);
    }
  }
}
