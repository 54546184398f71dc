// Per-push tokens: how the proc-receive hook tells the server who pushes. The git HTTP endpoint has
// authenticated the pusher; it issues a token for that one receive-pack run and puts it in the hook's
// environment. The hook socket takes it back exactly once. The token dies when the push's HTTP request
// ends, after its first use, or after `ttlMs` at most, whichever comes first: a leaked token is worth
// nothing once its push is over, and no name is looked up a second time.
import { randomBytes } from 'node:crypto';
import type { UserActor } from '../../state/actor.js';

export interface IssuedPushToken {
  readonly token: string;
  /** Ends the token (the push's request is over); a no-op when it was already used. */
  revoke(): void;
}

export class PushTokens {
  private readonly live = new Map<string, { actor: UserActor; expires: number }>();

  /** `ttlMs`: a backstop for a request that never ends; the request's end revokes it well before. */
  constructor(private readonly ttlMs = 60 * 60_000, private readonly now: () => number = Date.now) {}

  issue(actor: UserActor): IssuedPushToken {
    const token = randomBytes(32).toString('base64url');
    this.live.set(token, { actor, expires: this.now() + this.ttlMs });
    return { token, revoke: () => void this.live.delete(token) };
  }

  /** The actor a token stands for, once: a second take, an unknown or an expired token is null. */
  take(token: string): UserActor | null {
    const t = this.live.get(token);
    if (!t) return null;
    this.live.delete(token);
    return t.expires > this.now() ? t.actor : null;
  }

  get size(): number {
    return this.live.size;
  }
}
