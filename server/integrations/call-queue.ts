// A durable queue of calls to another system (a webhook receiver, Reviewboard, JIRA): each call is
// journaled before it is made (the notification Outbox: fsync'd, backoff with jitter, a key made once
// across crashes and restarts), and made by one worker. A call the service refuses (4xx other than
// 408/429, or an argument the client refuses before sending) is given up at once, so it does not hold
// back the queue; outages are retried until they pass. The Outbox needs a channel name to pick its
// worker; with a single worker per queue the name is a label only, so calls reuse `log` rather than
// widening the shared Channel union (see docs/integrations.md).
import { EventEmitter } from 'node:events';
import type { Delivery } from '../../state/notify/delivery.js';
import type { Notifier } from '../notify/notifier.js';
import { NotifyError } from '../notify/notify-error.js';
import { Outbox, type OutboxEntry, type RetryPolicy, type Timers } from '../notify/outbox.js';
import { IntegrationError } from './integration-error.js';

/** A call as the queue journals it: `key` makes it once; `to`, `subject` and `text` are the caller's to read back in `send`. */
export type QueuedCall = Omit<Delivery, 'channel'>;

/** Whether the service refused the call itself, so that making it again cannot help. */
export function isRefusal(e: unknown): boolean {
  if (!(e instanceof IntegrationError)) return false;
  if (e.code === 'integration-bad-argument') return true;
  const status = e.data.status;
  // Reviewboard without an API token is refused before sending (no status): a config fix, not an outage.
  if (e.code === 'integration-auth-failed' && status === undefined) return true;
  return typeof status === 'number' && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

export interface CallQueueOptions {
  /** Directory of the journal (created if missing). */
  readonly dir: string;
  /** Makes one call; rejects with an IntegrationError (or anything: then retried). */
  readonly send: (c: QueuedCall) => Promise<void>;
  /** The permanent failure's text when the service refused (default: the error's own message). */
  readonly refusal?: (c: QueuedCall, e: IntegrationError) => string;
  /** A call that takes longer counts as a failed attempt. */
  readonly sendTimeoutMs: number;
  readonly retry?: Partial<RetryPolicy>;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly timers?: Timers;
}

export interface CallQueueEvents {
  delivered: [{ key: string; call: QueuedCall; attempts: number }];
  failed: [{ key: string; call: QueuedCall; attempts: number; error: string; willRetry: boolean; nextAttemptAt: string | null }];
  'journal-error': [NotifyError];
}

const callOf = (d: Delivery): QueuedCall => {
  const { channel: _channel, ...call } = d;
  return call;
};

class CallNotifier implements Notifier {
  readonly channel = 'log' as const;
  constructor(private readonly opts: CallQueueOptions) {}

  async send(d: Delivery): Promise<void> {
    const call = callOf(d);
    try {
      await this.opts.send(call);
    } catch (e) {
      if (isRefusal(e)) {
        const ie = e as IntegrationError;
        throw new NotifyError('bad-delivery', this.opts.refusal ? this.opts.refusal(call, ie) : ie.message, { cause: e, permanent: true, data: { key: d.key, status: ie.data.status ?? null } });
      }
      throw e;
    }
  }

  async close(): Promise<void> {}
}

export class CallQueue extends EventEmitter<CallQueueEvents> {
  private constructor(private readonly outbox: Outbox) {
    super();
  }

  /** Opens (or creates) the journal and replays it: calls journaled before a crash or stop are made now. */
  static async open(opts: CallQueueOptions): Promise<CallQueue> {
    const outbox = await Outbox.open({
      dir: opts.dir,
      notifiers: [new CallNotifier(opts)],
      // Forever, at most 10 minutes apart: the service is down, and the call happened (a push went live).
      retry: { baseMs: 1_000, maxMs: 10 * 60_000, maxAttempts: 0, ...opts.retry },
      sendTimeoutMs: opts.sendTimeoutMs,
      now: opts.now,
      random: opts.random,
      timers: opts.timers,
    });
    const q = new CallQueue(outbox);
    outbox.on('delivered', (e) => q.emit('delivered', { key: e.delivery.key, call: callOf(e.delivery), attempts: e.attempts }));
    outbox.on('failed', (e) => q.emit('failed', { key: e.delivery.key, call: callOf(e.delivery), attempts: e.attempts, error: e.error, willRetry: e.willRetry, nextAttemptAt: e.nextAttemptAt }));
    outbox.on('journal-error', (e) => q.emit('journal-error', e));
    return q;
  }

  /** Journals the calls (durable when this resolves); keys already queued or made are skipped. Returns how many were new. */
  enqueue(calls: readonly QueuedCall[]): Promise<number> {
    return this.outbox.enqueue(calls.map((c) => ({ ...c, channel: 'log' })));
  }

  /** Calls not yet made (`failed`: given up after a refusal). */
  list(): OutboxEntry[] {
    return this.outbox.list();
  }

  /** Tries now, reviving given-up calls. */
  retryNow(): Promise<number> {
    return this.outbox.retryNow();
  }

  isSent(key: string): boolean {
    return this.outbox.isSent(key);
  }

  /** Resolves when nothing is left to try now. */
  idle(): Promise<void> {
    return this.outbox.idle();
  }

  close(): Promise<void> {
    return this.outbox.close();
  }
}

export { catchUpCommits } from '../notify/catch-up.js';
