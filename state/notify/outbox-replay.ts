// What the outbox journal means: replaying its records gives the deliveries still to send (with
// their attempts, last error and next attempt) and the keys already sent; compaction is the
// inverse, the fewest records that replay to the same thing. Pure: no I/O, no clock (times are
// arguments), so that restart and compaction can be checked without a file or a worker.
import type { Delivery } from './delivery.js';
import { isDelivery, type OutboxRecord } from './outbox-journal.js';

/** A delivery not yet sent. Mutable: the outbox's workers update it as attempts are made. */
export interface PendingDelivery {
  readonly d: Delivery;
  readonly enqueuedAt: number;
  attempts: number;
  lastError: string | null;
  /** When to try next (epoch ms); null: given up (a permanent refusal or too many attempts). */
  nextAt: number | null;
}

export interface OutboxReplay {
  /** Pending and given-up deliveries by key, in enqueue order (per-channel FIFO depends on it). */
  readonly pending: Map<string, PendingDelivery>;
  /** Sent keys and when they were sent. */
  readonly sent: Map<string, number>;
  /** Records that mean nothing to this version (an unknown `t`, not an object). */
  readonly unknown: number;
}

/**
 * Replays journal records in order. A key is enqueued once (a second `enq` of a pending or sent
 * key is ignored, as enqueue() would have); `sent` settles it for good; `fail` and `retry` for a
 * key no longer pending are ignored (it was sent, or forgotten by compaction).
 */
export function replayRecords(records: Iterable<OutboxRecord>): OutboxReplay {
  const pending = new Map<string, PendingDelivery>();
  const sent = new Map<string, number>();
  let unknown = 0;
  for (const r of records) {
    if (typeof r !== 'object' || r === null) {
      unknown++;
      continue;
    }
    switch (r.t) {
      case 'enq':
        if (isDelivery(r.d) && !sent.has(r.d.key) && !pending.has(r.d.key)) {
          pending.set(r.d.key, { d: r.d, enqueuedAt: r.at, attempts: 0, lastError: null, nextAt: r.at });
        }
        break;
      case 'sent':
        pending.delete(r.k);
        sent.set(r.k, r.at);
        break;
      case 'fail': {
        const e = pending.get(r.k);
        if (e) {
          e.attempts = r.n;
          e.lastError = r.e;
          e.nextAt = r.next;
        }
        break;
      }
      case 'retry': {
        const e = pending.get(r.k);
        if (e) e.nextAt = r.at;
        break;
      }
      default:
        unknown++;
    }
  }
  return { pending, sent, unknown };
}

/** How many records a compacted journal holds for this state: one per sent key, one or two per pending delivery. */
export function liveRecordCount(pending: ReadonlyMap<string, PendingDelivery>, sent: ReadonlyMap<string, number>): number {
  let n = sent.size;
  for (const e of pending.values()) n += e.attempts > 0 ? 2 : 1;
  return n;
}

/**
 * Whether a journal of `journalLines` lines is worth rewriting: when the garbage exceeds
 * max(compactAfter, half the live size), so that, amortised, each record is rewritten O(1) times.
 */
export function shouldCompact(journalLines: number, liveRecords: number, compactAfter: number): boolean {
  return journalLines - liveRecords > Math.max(compactAfter, liveRecords / 2);
}

/** Sent keys older than `horizon` (epoch ms): compaction forgets them (the catch-up cursor never re-enqueues them). */
export function expiredSentKeys(sent: ReadonlyMap<string, number>, horizon: number): string[] {
  const out: string[] = [];
  for (const [k, at] of sent) if (at < horizon) out.push(k);
  return out;
}

/**
 * The records of a compacted journal: sent keys first, then each pending delivery's `enq` and,
 * when it has been tried, one `fail` carrying its attempts, last error and next attempt.
 * replayRecords(compactedRecords(p, s)) gives back p and s.
 */
export function compactedRecords(pending: ReadonlyMap<string, PendingDelivery>, sent: ReadonlyMap<string, number>): OutboxRecord[] {
  const recs: OutboxRecord[] = [];
  for (const [k, at] of sent) recs.push({ t: 'sent', at, k });
  for (const e of pending.values()) {
    recs.push({ t: 'enq', at: e.enqueuedAt, d: e.d });
    if (e.attempts > 0) recs.push({ t: 'fail', at: e.enqueuedAt, k: e.d.key, n: e.attempts, e: e.lastError ?? '', next: e.nextAt });
  }
  return recs;
}
