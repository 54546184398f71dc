// The durable outbox: deliveries are journaled (fsync'd JSON lines) before anything is sent, sent
// by one worker per channel with exponential backoff and jitter, and recorded as sent so that a
// key goes out once, across crashes and restarts. The original kept these queues in memory and
// lost them on restart; here a restart replays the journal and carries on.
import { EventEmitter } from 'node:events';
import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { CHANNELS, type Channel, type Delivery } from '../../state/notify/delivery.js';
import type { Notifier } from './notifier.js';
import { describeFailure, isNotifyError, NotifyError } from './notify-error.js';

export interface RetryPolicy {
  /** First retry delay. */
  readonly baseMs: number;
  /** Cap of the exponential delay. */
  readonly maxMs: number;
  /** Give up after this many attempts (the delivery stays in list() as failed); 0: never give up. */
  readonly maxAttempts: number;
}

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

type Rec =
  | { readonly t: 'enq'; readonly at: number; readonly d: Delivery }
  | { readonly t: 'sent'; readonly at: number; readonly k: string }
  | { readonly t: 'fail'; readonly at: number; readonly k: string; readonly n: number; readonly e: string; readonly next: number | null }
  | { readonly t: 'retry'; readonly at: number; readonly k: string };

interface Entry {
  readonly d: Delivery;
  readonly enqueuedAt: number;
  attempts: number;
  lastError: string | null;
  /** null: given up. */
  nextAt: number | null;
}

export const JOURNAL_FILE = 'outbox.jsonl';
const DEFAULT_RETRY: RetryPolicy = { baseMs: 1_000, maxMs: 5 * 60_000, maxAttempts: 0 };
const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

function isDelivery(x: unknown): x is Delivery {
  const d = x as Partial<Delivery> | null;
  return (
    typeof d === 'object' && d !== null && typeof d.key === 'string' && d.key.length > 0 &&
    typeof d.channel === 'string' && (CHANNELS as readonly string[]).includes(d.channel) &&
    Array.isArray(d.to) && d.to.every((t) => typeof t === 'string') && typeof d.text === 'string'
  );
}

export class Outbox extends EventEmitter<OutboxEvents> {
  private readonly dir: string;
  private readonly file: string;
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
  private readonly entries = new Map<string, Entry>();
  /** Sent keys and when. */
  private readonly sent = new Map<string, number>();
  /** Keys accepted by enqueue() whose journal write is in progress: a second enqueue ignores them. */
  private readonly reserved = new Set<string>();
  private readonly paused = new Set<Channel>();
  private readonly wakers = new Map<Channel, () => void>();
  private readonly inFlight = new Map<Channel, Promise<void>>();
  private readonly workers: Promise<void>[] = [];
  private readonly idleWaiters = new Set<() => void>();
  private fh: FileHandle | null = null;
  private journalLines = 0;
  private writeChain: Promise<void> = Promise.resolve();
  private closing = false;
  private skippedLines = 0;

  private constructor(opts: OutboxOptions) {
    super();
    this.dir = opts.dir;
    this.file = join(opts.dir, JOURNAL_FILE);
    this.notifiers = new Map(opts.notifiers.map((n) => [n.channel, n]));
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
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
    await this.writeChain;
    const fh = this.fh;
    this.fh = null;
    await fh?.close();
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

  private head(ch: Channel): Entry | undefined {
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

  private async attempt(e: Entry, n: Notifier): Promise<void> {
    const d = e.d;
    try {
      await this.within(n.send(d), this.sendTimeoutMs, () => new NotifyError('send-timeout', `${d.channel} send took longer than ${this.sendTimeoutMs} ms`));
    } catch (err) {
      e.attempts++;
      e.lastError = describeFailure(err);
      const giveUp = (isNotifyError(err) && err.permanent) || (this.retry.maxAttempts > 0 && e.attempts >= this.retry.maxAttempts);
      const at = this.now();
      e.nextAt = giveUp ? null : at + this.backoff(e.attempts);
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

  /** Exponential, capped, with jitter (half fixed, half random) so retries of many servers spread out. */
  private backoff(attempts: number): number {
    const { baseMs, maxMs } = this.retry;
    const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempts - 1, 30));
    return Math.round(cap / 2 + (cap / 2) * this.random());
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
    await mkdir(this.dir, { recursive: true });
    // A compaction that crashed before its rename leaves a temp file: the journal is still whole.
    let text = '';
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new NotifyError('outbox-journal-failed', `cannot read ${this.file}`, { cause: e, data: { file: this.file } });
      }
    }
    const lines = text.split('\n').filter((l) => l.length > 0);
    for (const line of lines) {
      let r: Rec;
      try {
        r = JSON.parse(line) as Rec;
      } catch {
        this.skippedLines++;
        continue;
      }
      this.replay(r);
    }
    this.journalLines = lines.length;
    this.fh = await open(this.file, 'a');
    if (this.shouldCompact()) await this.compact();
  }

  private replay(r: Rec): void {
    switch (r.t) {
      case 'enq':
        if (isDelivery(r.d) && !this.sent.has(r.d.key) && !this.entries.has(r.d.key)) {
          this.entries.set(r.d.key, { d: r.d, enqueuedAt: r.at, attempts: 0, lastError: null, nextAt: r.at });
        }
        break;
      case 'sent':
        this.entries.delete(r.k);
        this.sent.set(r.k, r.at);
        break;
      case 'fail': {
        const e = this.entries.get(r.k);
        if (e) {
          e.attempts = r.n;
          e.lastError = r.e;
          e.nextAt = r.next;
        }
        break;
      }
      case 'retry': {
        const e = this.entries.get(r.k);
        if (e) e.nextAt = r.at;
        break;
      }
      default:
        this.skippedLines++;
    }
  }

  private liveRecords(): number {
    let n = this.sent.size;
    for (const e of this.entries.values()) n += e.attempts > 0 ? 2 : 1;
    return n;
  }

  private shouldCompact(): boolean {
    const live = this.liveRecords();
    // Garbage beyond max(compactAfter, half the live size): amortised, each record is rewritten O(1) times.
    return this.journalLines - live > Math.max(this.compactAfter, live / 2);
  }

  /** Appends records and fsyncs; writes are chained so lines never interleave with a compaction. */
  private append(recs: readonly Rec[]): Promise<void> {
    const run = this.writeChain.then(async () => {
      const fh = this.fh;
      if (!fh) throw new NotifyError('outbox-closed', 'outbox journal is closed');
      try {
        await fh.write(recs.map((r) => `${JSON.stringify(r)}\n`).join(''));
        await fh.datasync();
      } catch (e) {
        throw new NotifyError('outbox-journal-failed', `cannot write ${this.file}`, { cause: e, data: { file: this.file } });
      }
      this.journalLines += recs.length;
      if (this.shouldCompact()) await this.compact();
    });
    this.writeChain = run.catch(() => undefined);
    return run;
  }

  /** For status records after a send: a failed write must not stop the worker, but must be seen. */
  private async appendQuietly(recs: readonly Rec[]): Promise<void> {
    try {
      await this.append(recs);
    } catch (e) {
      this.emit('journal-error', isNotifyError(e) ? e : new NotifyError('outbox-journal-failed', describeFailure(e), { cause: e }));
    }
  }

  /** Rewrites the journal with only live records: temp file, fsync, rename, fsync the directory. */
  private async compact(): Promise<void> {
    const horizon = this.now() - this.retainSentMs;
    for (const [k, at] of this.sent) if (at < horizon) this.sent.delete(k);
    const recs: Rec[] = [];
    for (const [k, at] of this.sent) recs.push({ t: 'sent', at, k });
    for (const e of this.entries.values()) {
      recs.push({ t: 'enq', at: e.enqueuedAt, d: e.d });
      if (e.attempts > 0) recs.push({ t: 'fail', at: e.enqueuedAt, k: e.d.key, n: e.attempts, e: e.lastError ?? '', next: e.nextAt });
    }
    const tmp = `${this.file}.tmp`;
    const out = await open(tmp, 'w');
    try {
      await out.write(recs.map((r) => `${JSON.stringify(r)}\n`).join(''));
      await out.sync();
    } finally {
      await out.close();
    }
    await this.fh?.close();
    await rename(tmp, this.file);
    const dirHandle = await open(this.dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
    this.fh = await open(this.file, 'a');
    this.journalLines = recs.length;
  }
}
