// The durable outbox: deliveries are journaled (fsync'd JSON lines) before anything is sent, sent
// by one worker per channel with exponential backoff and jitter, and recorded as sent so that a
// key goes out once, across crashes and restarts. The original kept these queues in memory and
// lost them on restart; here a restart replays the journal and carries on.
// This file is the outbox's public face and its workers (one send loop per channel, pause, retry
// now, idle, close). The parts it is made of: the journal's format (state/notify/outbox-journal.ts),
// what the journal means and how it compacts (state/notify/outbox-replay.ts), when to retry
// (state/notify/retry-policy.ts), and the file I/O (outbox-file.ts).
import { EventEmitter } from 'node:events';
import type { Channel, Delivery } from '../../state/notify/delivery.js';
import { isDelivery, type OutboxRecord } from '../../state/notify/outbox-journal.js';
import { compactedRecords, expiredSentKeys, liveRecordCount, replayRecords, shouldCompact, type PendingDelivery } from '../../state/notify/outbox-replay.js';
import { DEFAULT_RETRY_POLICY, givesUp, retryDelayMs, type RetryPolicy } from '../../state/notify/retry-policy.js';
import type { Notifier } from './notifier.js';
import { describeFailure, isNotifyError, NotifyError } from './notify-error.js';
import { OutboxFile } from './outbox-file.js';

export type { RetryPolicy } from '../../state/notify/retry-policy.js';
export { JOURNAL_FILE } from './outbox-file.js';

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface OutboxOptions {
  /** Directory for the journal (created if missing). */
  readonly dir: string;
  readonly notifiers: readonly Notifier[];
  readonly retry?: Partial<RetryPolicy>;
  /** A send that takes longer counts as a failed attempt. */
  readonly sendTimeoutMs?: number;
  /** How long close() waits for sends in flight. */
  readonly closeTimeoutMs?: number;
  /** Compact when the journal holds this many more lines than live records (and half as many again). */
  readonly compactAfter?: number;
  /** Keys sent longer ago than this are forgotten at compaction (the catch-up cursor never re-enqueues them). */
  readonly retainSentMs?: number;
  /** close() also closes the notifiers (default true). */
  readonly closeNotifiers?: boolean;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly timers?: Timers;
}

export type OutboxEntryStatus = 'pending' | 'failed';

/** A delivery not yet sent, for `pushmanager outbox`. `failed`: given up (permanent error or too many attempts). */
export interface OutboxEntry {
  readonly delivery: Delivery;
  readonly status: OutboxEntryStatus;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly enqueuedAt: string;
  readonly nextAttemptAt: string | null;
}

export interface DeliveredEvent {
  readonly delivery: Delivery;
  readonly attempts: number;
}

export interface FailedEvent {
  readonly delivery: Delivery;
  readonly attempts: number;
  readonly error: string;
  /** False when the outbox gave up on it. */
  readonly willRetry: boolean;
  readonly nextAttemptAt: string | null;
}

export interface OutboxEvents {
  delivered: [DeliveredEvent];
  failed: [FailedEvent];
  /** The journal could not be written: the outbox keeps running in memory, the operator must look. */
  'journal-error': [NotifyError];
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class Outbox extends EventEmitter<OutboxEvents> {
  private readonly dir: string;
  private readonly notifiers: Map<Channel, Notifier>;
  private readonly retry: RetryPolicy;
  private readonly sendTimeoutMs: number;
  private readonly closeTimeoutMs: number;
  private readonly compactAfter: number;
  private readonly retainSentMs: number;
  private readonly closeNotifiers: boolean;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly timers: Timers;

  /** Pending and failed entries, in enqueue order. */
  private entries = new Map<string, PendingDelivery>();
  /** Sent keys and when. */
  private sent = new Map<string, number>();
  /** Keys accepted by enqueue() whose journal write is in progress: a second enqueue ignores them. */
  private readonly reserved = new Set<string>();
  private readonly paused = new Set<Channel>();
  private readonly wakers = new Map<Channel, () => void>();
  private readonly inFlight = new Map<Channel, Promise<void>>();
  private readonly workers: Promise<void>[] = [];
  private readonly idleWaiters = new Set<() => void>();
  /** Set by load(), before anything can append. */
  private journal!: OutboxFile;
  private closing = false;
  private skippedLines = 0;

  private constructor(opts: OutboxOptions) {
    super();
    this.dir = opts.dir;
    this.notifiers = new Map(opts.notifiers.map((n) => [n.channel, n]));
    this.retry = { ...DEFAULT_RETRY_POLICY, ...opts.retry };
    this.sendTimeoutMs = opts.sendTimeoutMs ?? 60_000;
    this.closeTimeoutMs = opts.closeTimeoutMs ?? 5_000;
    this.compactAfter = opts.compactAfter ?? 1_000;
    this.retainSentMs = opts.retainSentMs ?? 30 * 24 * 3600_000;
    this.closeNotifiers = opts.closeNotifiers ?? true;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.timers = opts.timers ?? realTimers;
  }

  /** Opens (or creates) the journal in `dir`, replays it, and starts one worker per notifier. */
  static async open(opts: OutboxOptions): Promise<Outbox> {
    const ob = new Outbox(opts);
    await ob.load();
    for (const [ch, n] of ob.notifiers) ob.workers.push(ob.work(ch, n));
    return ob;
  }

  /** Lines of the journal that could not be read at start-up (a torn last line after a crash). */
  get journalSkippedLines(): number {
    return this.skippedLines;
  }

  /**
   * Journals the deliveries (fsync'd) and hands them to the workers; resolves once they are
   * durable, never waits for sending. Keys already pending or sent are ignored. Returns how many
   * were new.
   */
  async enqueue(deliveries: readonly Delivery[]): Promise<number> {
    if (this.closing) throw new NotifyError('outbox-closed', 'outbox is closed');
    for (const d of deliveries) if (!isDelivery(d)) throw new NotifyError('bad-delivery', 'not a delivery', { data: { delivery: d } });
    const fresh: Delivery[] = [];
    for (const d of deliveries) {
      if (this.entries.has(d.key) || this.sent.has(d.key) || this.reserved.has(d.key)) continue;
      this.reserved.add(d.key);
      fresh.push(d);
    }
    if (fresh.length === 0) return 0;
    const at = this.now();
    try {
      await this.append(fresh.map((d) => ({ t: 'enq', at, d })));
    } finally {
      for (const d of fresh) this.reserved.delete(d.key);
    }
    for (const d of fresh) this.entries.set(d.key, { d, enqueuedAt: at, attempts: 0, lastError: null, nextAt: at });
    for (const ch of new Set(fresh.map((d) => d.channel))) this.wake(ch);
    return fresh.length;
  }

  /** Pending and failed deliveries with attempts and last error, oldest first. */
  list(): OutboxEntry[] {
    return [...this.entries.values()].map((e) => ({
      delivery: e.d,
      status: e.nextAt === null ? 'failed' : 'pending',
      attempts: e.attempts,
      lastError: e.lastError,
      enqueuedAt: new Date(e.enqueuedAt).toISOString(),
      nextAttemptAt: e.nextAt === null ? null : new Date(e.nextAt).toISOString(),
    }));
  }

  /** Whether a key has been sent (and not yet forgotten by compaction). */
  isSent(key: string): boolean {
    return this.sent.has(key);
  }

  /** Stops sending on a channel; resolves when its send in flight (if any) has finished. */
  async pause(channel: Channel): Promise<void> {
    this.paused.add(channel);
    await this.inFlight.get(channel);
  }

  resume(channel: Channel): void {
    this.paused.delete(channel);
    this.wake(channel);
  }

  /** Retries now: pending deliveries skip their backoff, given-up ones are revived. Optionally one channel or key. */
  async retryNow(filter: { channel?: Channel; key?: string } = {}): Promise<number> {
    const at = this.now();
    const picked = [...this.entries.values()].filter((e) => (!filter.channel || e.d.channel === filter.channel) && (!filter.key || e.d.key === filter.key));
    const revived = picked.filter((e) => e.nextAt === null);
    if (revived.length) await this.append(revived.map((e) => ({ t: 'retry', at, k: e.d.key })));
    for (const e of picked) e.nextAt = at;
    for (const ch of new Set(picked.map((e) => e.d.channel))) this.wake(ch);
    return picked.length;
  }

  /** Resolves when nothing is left to send on the channels that have a notifier and are not paused. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.add(resolve));
  }

  /** Stops the workers, waits briefly for sends in flight, closes the journal (and the notifiers). */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const ch of this.notifiers.keys()) this.wake(ch);
    await this.within(Promise.all(this.workers).then(() => undefined), this.closeTimeoutMs);
    await this.journal.close();
    if (this.closeNotifiers) await Promise.allSettled([...this.notifiers.values()].map((n) => n.close()));
    for (const w of this.idleWaiters) w();
    this.idleWaiters.clear();
  }

  // ---- sending ----

  private isIdle(): boolean {
    for (const e of this.entries.values()) {
      if (e.nextAt !== null && this.notifiers.has(e.d.channel) && !this.paused.has(e.d.channel)) return false;
    }
    return true;
  }

  private checkIdle(): void {
    if (this.idleWaiters.size === 0 || !this.isIdle()) return;
    for (const w of this.idleWaiters) w();
    this.idleWaiters.clear();
  }

  private wake(ch: Channel): void {
    this.wakers.get(ch)?.();
  }

  /** Sleeps until woken (enqueue, resume, retry, close) or until `ms` pass. */
  private sleep(ch: Channel, ms: number | null): Promise<void> {
    return new Promise((resolve) => {
      let handle: unknown = null;
      const done = () => {
        if (handle !== null) this.timers.clearTimeout(handle);
        if (this.wakers.get(ch) === done) this.wakers.delete(ch);
        resolve();
      };
      this.wakers.set(ch, done);
      if (ms !== null) handle = this.timers.setTimeout(done, Math.max(0, ms));
    });
  }

  private head(ch: Channel): PendingDelivery | undefined {
    // Per-channel FIFO: IRC lines keep their order; a failing head is retried before later ones.
    for (const e of this.entries.values()) if (e.d.channel === ch && e.nextAt !== null) return e;
    return undefined;
  }

  private async work(ch: Channel, n: Notifier): Promise<void> {
    while (!this.closing) {
      const e = this.paused.has(ch) ? undefined : this.head(ch);
      if (!e || e.nextAt === null) {
        this.checkIdle();
        await this.sleep(ch, null);
        continue;
      }
      const wait = e.nextAt - this.now();
      if (wait > 0) {
        await this.sleep(ch, wait);
        continue;
      }
      const attempt = this.attempt(e, n);
      this.inFlight.set(ch, attempt);
      await attempt;
      this.inFlight.delete(ch);
    }
  }

  private async attempt(e: PendingDelivery, n: Notifier): Promise<void> {
    const d = e.d;
    try {
      await this.within(n.send(d), this.sendTimeoutMs, () => new NotifyError('send-timeout', `${d.channel} send took longer than ${this.sendTimeoutMs} ms`));
    } catch (err) {
      e.attempts++;
      e.lastError = describeFailure(err);
      const giveUp = givesUp(this.retry, e.attempts, isNotifyError(err) && err.permanent);
      const at = this.now();
      e.nextAt = giveUp ? null : at + retryDelayMs(this.retry, e.attempts, this.random());
      await this.appendQuietly([{ t: 'fail', at, k: d.key, n: e.attempts, e: e.lastError, next: e.nextAt }]);
      this.emit('failed', { delivery: d, attempts: e.attempts, error: e.lastError, willRetry: !giveUp, nextAttemptAt: e.nextAt === null ? null : new Date(e.nextAt).toISOString() });
      this.checkIdle();
      return;
    }
    e.attempts++;
    const at = this.now();
    this.entries.delete(d.key);
    this.sent.set(d.key, at);
    await this.appendQuietly([{ t: 'sent', at, k: d.key }]);
    this.emit('delivered', { delivery: d, attempts: e.attempts });
    this.checkIdle();
  }

  private within<T>(p: Promise<T>, ms: number, onTimeout?: () => Error): Promise<T | undefined> {
    return new Promise<T | undefined>((resolve, reject) => {
      const h = this.timers.setTimeout(() => (onTimeout ? reject(onTimeout()) : resolve(undefined)), ms);
      p.then(
        (v) => {
          this.timers.clearTimeout(h);
          resolve(v);
        },
        (err: unknown) => {
          this.timers.clearTimeout(h);
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }

  // ---- journal ----

  private async load(): Promise<void> {
    const { file, journal } = await OutboxFile.open(this.dir, (lines) => this.compactionPlan(lines));
    const replayed = replayRecords(journal.records);
    this.entries = replayed.pending;
    this.sent = replayed.sent;
    this.skippedLines = journal.unreadable + replayed.unknown;
    this.journal = file;
    await file.compactIfDue();
  }

  /** Compaction is due when the garbage outweighs the live records; it forgets keys sent before the retention horizon. */
  private compactionPlan(journalLines: number): OutboxRecord[] | null {
    if (!shouldCompact(journalLines, liveRecordCount(this.entries, this.sent), this.compactAfter)) return null;
    for (const k of expiredSentKeys(this.sent, this.now() - this.retainSentMs)) this.sent.delete(k);
    return compactedRecords(this.entries, this.sent);
  }

  private append(recs: readonly OutboxRecord[]): Promise<void> {
    return this.journal.append(recs);
  }

  /** For status records after a send: a failed write must not stop the worker, but must be seen. */
  private async appendQuietly(recs: readonly OutboxRecord[]): Promise<void> {
    try {
      await this.append(recs);
    } catch (e) {
      this.emit('journal-error', isNotifyError(e) ? e : new NotifyError('outbox-journal-failed', describeFailure(e), { cause: e }));
    }
  }
}
