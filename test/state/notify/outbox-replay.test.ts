// The outbox journal's meaning, without a file: what replay makes of records, and that compaction
// keeps exactly that.
import { describe, expect, it } from 'vitest';
import type { Delivery } from '../../../state/notify/delivery.js';
import { decodeJournal, encodeRecords, isDelivery, type OutboxRecord } from '../../../state/notify/outbox-journal.js';
import { compactedRecords, expiredSentKeys, liveRecordCount, replayRecords, shouldCompact } from '../../../state/notify/outbox-replay.js';

const d = (key: string, channel: Delivery['channel'] = 'irc'): Delivery => ({ key, channel, to: ['#deploys'], text: `text ${key}` });

describe('replayRecords', () => {
  it('keeps enqueued keys pending in order, settles sent ones, applies failures and retries', () => {
    const r = replayRecords([
      { t: 'enq', at: 10, d: d('a') },
      { t: 'enq', at: 11, d: d('b') },
      { t: 'enq', at: 12, d: d('c', 'email') },
      { t: 'fail', at: 20, k: 'a', n: 1, e: '[irc-not-ready] irc is down', next: 1_020 },
      { t: 'sent', at: 21, k: 'b' },
      { t: 'fail', at: 22, k: 'c', n: 1, e: 'refused', next: null },
      { t: 'retry', at: 30, k: 'c' },
    ]);
    expect([...r.pending.keys()]).toEqual(['a', 'c']);
    expect(r.pending.get('a')).toEqual({ d: d('a'), enqueuedAt: 10, attempts: 1, lastError: '[irc-not-ready] irc is down', nextAt: 1_020 });
    expect(r.pending.get('c')).toMatchObject({ attempts: 1, lastError: 'refused', nextAt: 30 });
    expect([...r.sent]).toEqual([['b', 21]]);
    expect(r.unknown).toBe(0);
  });

  it('ignores a second enq of a pending or sent key, and records about keys it does not hold', () => {
    const r = replayRecords([
      { t: 'enq', at: 1, d: d('a') },
      { t: 'sent', at: 2, k: 'a' },
      { t: 'enq', at: 3, d: d('a') },
      { t: 'enq', at: 4, d: d('b') },
      { t: 'enq', at: 5, d: { ...d('b'), text: 'second' } },
      { t: 'fail', at: 6, k: 'gone', n: 3, e: 'x', next: null },
      { t: 'retry', at: 7, k: 'gone' },
    ]);
    expect([...r.pending.keys()]).toEqual(['b']);
    expect(r.pending.get('b')?.d.text).toBe('text b');
    expect([...r.sent.keys()]).toEqual(['a']);
  });

  it('drops enq records that hold no valid delivery and counts records of unknown kinds', () => {
    const r = replayRecords([
      { t: 'enq', at: 1, d: { key: 'f', channel: 'fax', to: [], text: '' } as never },
      { t: 'later-format', at: 2 } as never,
      null as never,
      7 as never,
    ]);
    expect(r.pending.size).toBe(0);
    expect(r.unknown).toBe(3);
  });
});

describe('compaction', () => {
  const records: OutboxRecord[] = [
    { t: 'enq', at: 1, d: d('old') },
    { t: 'sent', at: 2, k: 'old' },
    { t: 'enq', at: 3, d: d('new') },
    { t: 'sent', at: 500, k: 'new' },
    { t: 'enq', at: 4, d: d('p') },
    { t: 'fail', at: 5, k: 'p', n: 1, e: 'e1', next: 9 },
    { t: 'fail', at: 9, k: 'p', n: 2, e: 'e2', next: 20 },
    { t: 'enq', at: 6, d: d('q', 'xmpp') },
  ];

  it('rewrites to records that replay to the same pending and sent state', () => {
    const r = replayRecords(records);
    const compacted = compactedRecords(r.pending, r.sent);
    expect(compacted).toHaveLength(liveRecordCount(r.pending, r.sent));
    expect(liveRecordCount(r.pending, r.sent)).toBe(5);
    const again = replayRecords(compacted);
    expect(again.pending).toEqual(r.pending);
    expect(again.sent).toEqual(r.sent);
  });

  it('forgets sent keys older than the horizon only', () => {
    const r = replayRecords(records);
    expect(expiredSentKeys(r.sent, 100)).toEqual(['old']);
    expect(expiredSentKeys(r.sent, 2)).toEqual([]);
  });

  it('compacts when the garbage exceeds max(compactAfter, half the live records)', () => {
    expect(shouldCompact(110, 10, 100)).toBe(false);
    expect(shouldCompact(111, 10, 100)).toBe(true);
    expect(shouldCompact(3_000, 2_000, 100)).toBe(false);
    expect(shouldCompact(3_001, 2_000, 100)).toBe(true);
  });
});

describe('journal format', () => {
  it('round-trips records as one JSON line each and counts unreadable lines', () => {
    const text = encodeRecords([{ t: 'enq', at: 1, d: d('a') }, { t: 'sent', at: 2, k: 'a' }]);
    expect(text.split('\n')).toHaveLength(3);
    const torn = `${text}{"t":"enq","at":3,"d":{"key":"b","chan`;
    const decoded = decodeJournal(torn);
    expect(decoded.records).toEqual([{ t: 'enq', at: 1, d: d('a') }, { t: 'sent', at: 2, k: 'a' }]);
    expect(decoded).toMatchObject({ unreadable: 1, lines: 3 });
    expect(decodeJournal('')).toEqual({ records: [], unreadable: 0, lines: 0 });
  });

  it('knows a delivery from something else', () => {
    expect(isDelivery(d('a'))).toBe(true);
    expect(isDelivery({ ...d('a'), key: '' })).toBe(false);
    expect(isDelivery({ ...d('a'), to: [1] })).toBe(false);
    expect(isDelivery(null)).toBe(false);
  });
});
