// What Reviewboard and JIRA hear when a push is certified: each live request's review is marked
// submitted and its ticket gets a comment. Both are durable like webhooks (call-queue.ts): journaled
// in `<dataDir>/integrations/<service>/` before they are made, retried with backoff across restarts
// while the service is down, made once by key, given up only when the service refuses. One queue
// per service, so a JIRA that is down does not hold back Reviewboard.
import { join } from 'node:path';
import type { DomainEvent } from '../../state/events.js';
import type { PushRequest } from '../../state/model.js';
import type { MetadataCommit } from '../notify/catch-up.js';
import type { OutboxEntry, RetryPolicy, Timers } from '../notify/outbox.js';
import { CallQueue, type QueuedCall } from './call-queue.js';
import type { ReviewboardClient } from './reviewboard.js';
import type { JiraClient } from './tickets.js';

/** The catch-up cursor of these calls, next to the webhooks' (each lags on its own). */
export const LIVE_EFFECTS_CURSOR_FILE = 'integrations-cursor.json';

export type LiveService = 'reviewboard' | 'jira';

type PushCertified = Extract<DomainEvent, { type: 'PushCertified' }>;

/** The line a JIRA comment carries so that a later try finds it there and does not post it again. */
export const liveCommentMarker = (e: Pick<PushCertified, 'push'>, r: Pick<PushRequest, 'id'>): string => `[pushmanager push-${e.push}/request-${r.id}]`;

/** The JIRA comment of a request that went live: who, what, which commit, which push and tag. */
export function liveComment(e: Pick<PushCertified, 'push' | 'tag'>, r: Pick<PushRequest, 'id' | 'title' | 'user' | 'sha'>): string {
  return [`Request ${r.id} "${r.title}" by ${r.user} is live in push ${e.push} (tag ${e.tag}).`, `Commit: ${r.sha}`, liveCommentMarker(e, r)].join('\n');
}

/**
 * The calls one metadata commit asks for, per service. Pure. Keys name the push and the request (a
 * push is certified once, a live request stays live), so a catch-up that replays the commit makes none twice.
 */
export function liveCalls(commit: MetadataCommit): Record<LiveService, QueuedCall[]> {
  const out: Record<LiveService, QueuedCall[]> = { reviewboard: [], jira: [] };
  for (const e of commit.events) {
    if (e.type !== 'PushCertified') continue;
    for (const id of e.requests) {
      const r = commit.board.requests[id];
      if (!r) continue;
      const about = `request ${r.id} (push ${e.push})`;
      if (r.review) out.reviewboard.push({ key: `push-${e.push}:request-${r.id}:reviewboard-submitted`, to: [r.review], subject: about, text: 'status=submitted' });
      if (r.ticket) out.jira.push({ key: `push-${e.push}:request-${r.id}:jira-comment:${r.ticket}`, to: [r.ticket], subject: about, text: liveComment(e, r) });
    }
  }
  return out;
}

export interface LiveEffectsOptions {
  /** `<dataDir>/integrations`: a queue per service beneath. */
  readonly dir: string;
  readonly reviewboard: ReviewboardClient | null;
  readonly jira: JiraClient | null;
  /** Per call (default 10 s; a JIRA comment is a read and a post). */
  readonly timeoutMs?: number;
  readonly retry?: Partial<RetryPolicy>;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly timers?: Timers;
}

export interface LiveEffectFailure {
  readonly service: LiveService;
  readonly key: string;
  /** `request 7 (push 2)`. */
  readonly about: string;
  /** The review id or the ticket key. */
  readonly target: string;
  readonly attempts: number;
  readonly error: string;
  readonly willRetry: boolean;
  readonly nextAttemptAt: string | null;
}

export class LiveEffects {
  private constructor(private readonly queues: ReadonlyMap<LiveService, CallQueue>) {}

  /** Opens the configured services' queues, replaying their journals: calls left from before a stop or crash are made now. */
  static async open(opts: LiveEffectsOptions, on: { failed?: (f: LiveEffectFailure) => void; delivered?: (service: LiveService, key: string) => void; journalError?: (service: LiveService, e: Error) => void } = {}): Promise<LiveEffects> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const queues = new Map<LiveService, CallQueue>();
    const common = { retry: opts.retry, now: opts.now, random: opts.random, timers: opts.timers };
    const rb = opts.reviewboard;
    const jira = opts.jira;
    const senders: [LiveService, ((c: QueuedCall) => Promise<void>) | null, number][] = [
      ['reviewboard', rb ? async (c) => void (await rb.markSubmitted(c.to[0]!, { retryDelaysMs: [] })) : null, timeoutMs + 1_000],
      // The marker makes the comment once even when an earlier try's answer was lost (see JiraClient.comment).
      ['jira', jira ? async (c) => void (await jira.comment(c.to[0]!, c.text, { marker: c.text.split('\n').at(-1)!, retryDelaysMs: [] })) : null, 2 * timeoutMs + 1_000],
    ];
    try {
      for (const [service, send, sendTimeoutMs] of senders) {
        if (!send) continue;
        const q = await CallQueue.open({ dir: join(opts.dir, service), send, sendTimeoutMs, ...common });
        q.on('failed', (e) => on.failed?.({ service, key: e.key, about: e.call.subject ?? '', target: e.call.to[0] ?? '', attempts: e.attempts, error: e.error, willRetry: e.willRetry, nextAttemptAt: e.nextAttemptAt }));
        q.on('delivered', (e) => on.delivered?.(service, e.key));
        // A status the journal could not write (disk full): the call may be made again after a restart; said, not dropped.
        q.on('journal-error', (e) => on.journalError?.(service, e));
        queues.set(service, q);
      }
    } catch (e) {
      await Promise.allSettled([...queues.values()].map((q) => q.close()));
      throw e;
    }
    return new LiveEffects(queues);
  }

  /** Journals the calls the commit asks for (durable when this resolves). Safe to repeat. Returns how many were new. */
  async enqueueCommit(commit: MetadataCommit): Promise<number> {
    const calls = liveCalls(commit);
    let n = 0;
    for (const [service, q] of this.queues) n += await q.enqueue(calls[service]);
    return n;
  }

  /** Calls not yet made, with their service (`failed`: given up after a refusal). */
  list(): (OutboxEntry & { service: LiveService })[] {
    return [...this.queues].flatMap(([service, q]) => q.list().map((e) => ({ ...e, service })));
  }

  isSent(service: LiveService, key: string): boolean {
    return this.queues.get(service)?.isSent(key) ?? false;
  }

  /** Tries now (every service, or one), reviving given-up calls. */
  async retryNow(service?: LiveService): Promise<number> {
    let n = 0;
    for (const [s, q] of this.queues) if (!service || s === service) n += await q.retryNow();
    return n;
  }

  async idle(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.idle()));
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
