// The outbox journal's format: one JSON record per line, appended in order. A delivery is written
// once when it is enqueued (`enq`); each attempt's outcome (`sent`, `fail`) and each operator retry
// of a given-up delivery (`retry`) follow it by key. Pure: encoding and decoding only; the file
// I/O is server/notify/outbox-file.ts, the meaning of the records is outbox-replay.ts.
import { CHANNELS, type Delivery } from './delivery.js';

export type OutboxRecord =
  | { readonly t: 'enq'; readonly at: number; readonly d: Delivery }
  | { readonly t: 'sent'; readonly at: number; readonly k: string }
  | { readonly t: 'fail'; readonly at: number; readonly k: string; readonly n: number; readonly e: string; readonly next: number | null }
  | { readonly t: 'retry'; readonly at: number; readonly k: string };

/** The records read from a journal's text, and how many of its lines could not be parsed. */
export interface DecodedJournal {
  readonly records: readonly OutboxRecord[];
  /** Non-empty lines that were not JSON (a torn last line after a crash mid-write). */
  readonly unreadable: number;
  /** Non-empty lines, read or not: what the journal's size is measured in for compaction. */
  readonly lines: number;
}

/** Whether `x` is a well-formed Delivery (checked on enqueue, and on replay of an `enq` record). */
export function isDelivery(x: unknown): x is Delivery {
  const d = x as Partial<Delivery> | null;
  return (
    typeof d === 'object' && d !== null && typeof d.key === 'string' && d.key.length > 0 &&
    typeof d.channel === 'string' && (CHANNELS as readonly string[]).includes(d.channel) &&
    Array.isArray(d.to) && d.to.every((t) => typeof t === 'string') && typeof d.text === 'string'
  );
}

/** The lines to append for `recs`, each ending in a newline. */
export function encodeRecords(recs: readonly OutboxRecord[]): string {
  return recs.map((r) => `${JSON.stringify(r)}\n`).join('');
}

/**
 * Parses a journal's text. Records are returned as parsed: which of them mean something (a known
 * `t`, a valid delivery) is for the replay to judge, so a line of a newer format is counted there.
 */
export function decodeJournal(text: string): DecodedJournal {
  const lines = text.split('\n').filter((l) => l.length > 0);
  const records: OutboxRecord[] = [];
  let unreadable = 0;
  for (const line of lines) {
    try {
      records.push(JSON.parse(line) as OutboxRecord);
    } catch {
      unreadable++;
    }
  }
  return { records, unreadable, lines: lines.length };
}
