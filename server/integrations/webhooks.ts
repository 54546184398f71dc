// Outgoing webhooks: every domain event POSTed as signed JSON to each configured receiver, once.
// Durability comes from the call queue (call-queue.ts: the notification Outbox's fsync'd journal,
// backoff with jitter, a key sent once across restarts): one queue per receiver, in its own
// directory, so a receiver that is down holds back only its own queue.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { DomainEvent, EventType } from '../../state/events.js';
import type { Board } from '../../state/model.js';
import type { CursorStore, MetadataCommit } from '../notify/catch-up.js';
import type { NotifyError } from '../notify/notify-error.js';
import type { OutboxEntry, RetryPolicy, Timers } from '../notify/outbox.js';
import { CallQueue, catchUpCommits, type QueuedCall } from './call-queue.js';
import { httpCall, type FetchLike } from './http-client.js';

export const SIGNATURE_HEADER = 'X-Pushmanager-Signature';
export const EVENT_HEADER = 'X-Pushmanager-Event';
export const DELIVERY_HEADER = 'X-Pushmanager-Delivery';
export const WEBHOOK_CURSOR_FILE = 'webhook-cursor.json';

/** Every domain event type, for the `events:` filter of a receiver in config. */
export const WEBHOOK_EVENT_TYPES = [
  'RequestOpened', 'RequestUpdated', 'RequestEdited', 'RequestWithdrawn', 'RequestPicked', 'RequestUnpicked', 'RequestAccepted',
  'RequestRemoved', 'RequestVerified', 'AllVerified', 'RequestDelayed', 'RequestUndelayed', 'RequestDiscarded', 'CommentAdded',
  'ConflictsFound', 'PushOpened', 'DeployBranchBuilt', 'PushStaged', 'PushBlessed', 'PushCertified',
  'PushDiscarded', 'PushMessageSent', 'PingmeChanged', 'PushTakenOver', 'ChecklistTicked', 'ChecklistSet',
  'JobQueued', 'JobStarted', 'JobFinished', 'JobRequeued', 'DeployStarted', 'DeployFailed', 'JobAttached', 'JobReported',
  'BisectionStarted', 'BisectCandidateTested', 'BisectionRebased', 'BisectionNarrowed', 'BisectionConcluded',
  'MasterFollowedUpstream',
] as const satisfies readonly EventType[];
// Fails to compile when an event type is added to state/events.ts and not here.
const _allEventTypes: Exclude<EventType, (typeof WEBHOOK_EVENT_TYPES)[number]> extends never ? true : never = true;
void _allEventTypes;

export interface WebhookReceiver {
  readonly url: string;
  /** Shared secret of the HMAC-SHA256 signature; never journaled, so it can be rotated in config. */
  readonly secret: string;
  /** Only these event types (default: all). */
  readonly events?: readonly EventType[];
  /** Also send the board as committed with the event (large; off by default). */
  readonly includeBoard?: boolean;
}

/** The JSON body of one POST. `id` is stable (`<metadata commit>:<index>`) and doubles as the delivery id. */
export interface WebhookPayload {
  readonly id: string;
  readonly type: EventType;
  readonly at: string;
  readonly actor: string;
  readonly event: DomainEvent;
  readonly board?: Board;
}

/** `sha256=<hex HMAC-SHA256 of the raw body>`, the value of X-Pushmanager-Signature. */
export function signBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Constant-time check of a signature header against the raw body, for receivers (and tests). */
export function verifySignature(secret: string, body: string | Buffer, header: string | undefined | null): boolean {
  if (!header) return false;
  const want = Buffer.from(signBody(secret, body));
  const got = Buffer.from(header);
  return want.length === got.length && timingSafeEqual(want, got);
}

/** The payloads a receiver gets for one metadata commit, in event order. Pure. */
export function webhookPayloads(commit: MetadataCommit, receiver: Pick<WebhookReceiver, 'events' | 'includeBoard'>): WebhookPayload[] {
  return commit.events
    .map((event, i) => ({ event, id: `${commit.sha}:${i}` }))
    .filter(({ event }) => !receiver.events || receiver.events.includes(event.type))
    .map(({ event, id }) => ({ id, type: event.type, at: event.at, actor: event.actor, event, ...(receiver.includeBoard ? { board: commit.board } : {}) }));
}

/** Directory name of a receiver's queue: derived from its URL so a config reorder keeps each queue. */
export const receiverQueueName = (url: string): string => createHash('sha256').update(url).digest('hex').slice(0, 16);

/** Posts one journaled delivery (its body in `text`, its type in `subject`) to one receiver. */
const postTo = (receiver: WebhookReceiver, timeoutMs: number, fetchImpl: FetchLike | undefined) => async (c: QueuedCall): Promise<void> => {
  await httpCall({
    service: 'webhook',
    method: 'POST',
    url: receiver.url,
    headers: {
      'Content-Type': 'application/json',
      'User-Agent': 'Pushmanager-Webhook/1',
      [SIGNATURE_HEADER]: signBody(receiver.secret, c.text),
      [EVENT_HEADER]: c.subject ?? '',
      [DELIVERY_HEADER]: c.key,
    },
    body: c.text,
    timeoutMs,
    fetch: fetchImpl,
  });
};

export interface WebhookDispatcherOptions {
  readonly receivers: readonly WebhookReceiver[];
  /** Directory of the queues (one subdirectory per receiver). */
  readonly dir: string;
  readonly retry?: Partial<RetryPolicy>;
  /** Per POST (default 10 s). */
  readonly timeoutMs?: number;
  readonly fetch?: FetchLike;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly timers?: Timers;
}

export interface WebhookEntry extends OutboxEntry {
  readonly url: string;
}

export interface WebhookDispatcherEvents {
  delivered: [{ url: string; id: string; attempts: number }];
  failed: [{ url: string; id: string; attempts: number; error: string; willRetry: boolean }];
  'journal-error': [{ url: string; error: NotifyError }];
}

export class WebhookDispatcher extends EventEmitter<WebhookDispatcherEvents> {
  private constructor(private readonly queues: readonly { readonly receiver: WebhookReceiver; readonly outbox: CallQueue }[]) {
    super();
  }

  static async open(opts: WebhookDispatcherOptions): Promise<WebhookDispatcher> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const queues: { receiver: WebhookReceiver; outbox: CallQueue }[] = [];
    try {
      for (const receiver of opts.receivers) {
        // A receiver that refuses the request itself (400, 404, 422…) will refuse it again: given up at
        // once, so it does not hold back the receiver's queue; `retryNow` revives it. Outages (5xx, 408,
        // 429, refused connections, timeouts) are retried with backoff until they pass.
        const outbox = await CallQueue.open({
          dir: join(opts.dir, receiverQueueName(receiver.url)),
          send: postTo(receiver, timeoutMs, opts.fetch),
          refusal: (c, e) => `webhook ${receiver.url} refused delivery ${c.key} with HTTP ${String(e.data.status)}`,
          retry: opts.retry,
          sendTimeoutMs: timeoutMs + 1_000,
          now: opts.now,
          random: opts.random,
          timers: opts.timers,
        });
        queues.push({ receiver, outbox });
      }
    } catch (e) {
      await Promise.allSettled(queues.map((q) => q.outbox.close()));
      throw e;
    }
    const d = new WebhookDispatcher(queues);
    for (const { receiver, outbox } of queues) {
      const url = receiver.url;
      outbox.on('delivered', (e) => d.emit('delivered', { url, id: e.key, attempts: e.attempts }));
      outbox.on('failed', (e) => d.emit('failed', { url, id: e.key, attempts: e.attempts, error: e.error, willRetry: e.willRetry }));
      outbox.on('journal-error', (error) => d.emit('journal-error', { url, error }));
    }
    return d;
  }

  /**
   * Journals the commit's events for every receiver (durable when this resolves) and lets the
   * queues send them. Safe to repeat for the same commit: ids already queued or sent are skipped.
   * Returns how many deliveries were new.
   */
  async enqueueCommit(commit: MetadataCommit): Promise<number> {
    let n = 0;
    for (const { receiver, outbox } of this.queues) {
      const deliveries: QueuedCall[] = webhookPayloads(commit, receiver).map((p) => ({ key: p.id, to: [receiver.url], subject: p.type, text: JSON.stringify(p) }));
      n += await outbox.enqueue(deliveries);
    }
    return n;
  }

  /**
   * Journals bodies of the caller's own (the pipeline's job announcements) for every receiver, each sent
   * once by its key across restarts, signed like the events. Returns how many were new.
   */
  async enqueueBodies(items: readonly { readonly key: string; readonly type: string; readonly body: unknown }[]): Promise<number> {
    let n = 0;
    for (const { receiver, outbox } of this.queues) {
      n += await outbox.enqueue(items.map((i) => ({ key: i.key, to: [receiver.url], subject: i.type, text: JSON.stringify(i.body) })));
    }
    return n;
  }

  /** Deliveries not yet sent, with the receiver's URL (`failed`: given up after a refusal). */
  list(): WebhookEntry[] {
    return this.queues.flatMap(({ receiver, outbox }) => outbox.list().map((e) => ({ ...e, url: receiver.url })));
  }

  /** Retries now (all receivers, or one URL), reviving given-up deliveries. */
  async retryNow(url?: string): Promise<number> {
    let n = 0;
    for (const q of this.queues) if (!url || q.receiver.url === url) n += await q.outbox.retryNow();
    return n;
  }

  isSent(url: string, id: string): boolean {
    return this.queues.some((q) => q.receiver.url === url && q.outbox.isSent(id));
  }

  /** Resolves when every receiver's queue has nothing left to try now. */
  async idle(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.outbox.idle()));
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.outbox.close()));
  }
}

/**
 * Enqueues the events of every metadata commit after the webhook cursor, oldest first, moving the
 * cursor after each (the same scheme as notification catch-up, with its own cursor file so the
 * two can lag independently). Run at start-up; after each state commit call `enqueueCommit`
 * then `cursor.write(sha)`.
 */
export function catchUpWebhooks(deps: {
  dispatcher: Pick<WebhookDispatcher, 'enqueueCommit'>;
  cursor: CursorStore;
  commits: AsyncIterable<MetadataCommit> | Iterable<MetadataCommit>;
}): Promise<{ commits: number; enqueued: number }> {
  return catchUpCommits({ enqueue: (c) => deps.dispatcher.enqueueCommit(c), cursor: deps.cursor, commits: deps.commits });
}
