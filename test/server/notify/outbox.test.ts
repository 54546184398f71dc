// Durable outbox: send once, retry with backoff, channels independent, survive restarts, compact.
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JOURNAL_FILE, Outbox, type FailedEvent, type OutboxOptions } from '../../../server/notify/outbox.js';
import { removeTempDirs, tempDir } from '../../helpers/temp-dir.js';
import { waitFor } from '../../helpers/servers/server-process.js';
import { delivery, FakeNotifier } from './fake-notifier.js';

afterAll(removeTempDirs);

const fast = { retry: { baseMs: 5, maxMs: 20 } } satisfies Partial<OutboxOptions>;

async function journal(dir: string): Promise<{ t: string; k?: string }[]> {
  const text = await readFile(join(dir, JOURNAL_FILE), 'utf8');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { t: string; k?: string });
}

describe('Outbox', () => {
  it('sends each delivery once, in order per channel, and ignores duplicate keys', async () => {
    const dir = await tempDir();
    const irc = new FakeNotifier('irc');
    const ob = await Outbox.open({ dir, notifiers: [irc], ...fast });
    const delivered: string[] = [];
    ob.on('delivered', (e) => delivered.push(e.delivery.key));
    expect(await ob.enqueue([delivery('a'), delivery('b'), delivery('a')])).toBe(2);
    expect(await ob.enqueue([delivery('b')])).toBe(0);
    await ob.idle();
    expect(await ob.enqueue([delivery('a'), delivery('c')])).toBe(1);
    await ob.idle();
    expect(irc.sent.map((d) => d.key)).toEqual(['a', 'b', 'c']);
    expect(delivered).toEqual(['a', 'b', 'c']);
    expect(ob.list()).toEqual([]);
    expect(ob.isSent('a')).toBe(true);
    await ob.close();
    expect(irc.closed).toBe(true);
    expect((await journal(dir)).map((r) => r.t)).toEqual(['enq', 'enq', 'sent', 'sent', 'enq', 'sent']);
  });

  it('retries with backoff and reports each failed attempt', async () => {
    const dir = await tempDir();
    const irc = new FakeNotifier('irc');
    irc.failures = 2;
    const ob = await Outbox.open({ dir, notifiers: [irc], ...fast });
    const failed: FailedEvent[] = [];
    ob.on('failed', (e) => failed.push(e));
    await ob.enqueue([delivery('x'), delivery('y')]);
    await ob.idle();
    expect(irc.sent.map((d) => d.key)).toEqual(['x', 'y']);
    expect(failed.map((f) => [f.delivery.key, f.attempts, f.willRetry])).toEqual([['x', 1, true], ['x', 2, true]]);
    expect(failed[0]?.error).toBe('[irc-send-failed] irc hiccup');
    await ob.close();
  });

  it('grows the delay exponentially with jitter, capped', async () => {
    const dir = await tempDir();
    const irc = new FakeNotifier('irc');
    irc.down = true;
    let now = 1_000_000;
    const ob = await Outbox.open({ dir, notifiers: [irc], retry: { baseMs: 100, maxMs: 1_000 }, now: () => now, random: () => 1 });
    const waits: number[] = [];
    ob.on('failed', (e) => waits.push(Date.parse(e.nextAttemptAt ?? '') - now));
    await ob.enqueue([delivery('x')]);
    for (let i = 1; i <= 6; i++) {
      await waitFor(() => waits.length >= i, `attempt ${i}`);
      now += 2_000;
      await ob.retryNow();
    }
    expect(waits).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    await ob.close();
  });

  it('keeps other channels going while one is down', async () => {
    const dir = await tempDir();
    const irc = new FakeNotifier('irc');
    const email = new FakeNotifier('email');
    irc.down = true;
    const ob = await Outbox.open({ dir, notifiers: [irc, email], ...fast });
    await ob.enqueue([delivery('i1', 'irc'), delivery('e1', 'email'), delivery('e2', 'email')]);
    await waitFor(() => email.sent.length === 2, 'email sends');
    await waitFor(() => (ob.list()[0]?.attempts ?? 0) >= 2, 'irc retries');
    const [entry] = ob.list();
    expect(entry).toMatchObject({ status: 'pending', delivery: { key: 'i1' }, lastError: '[irc-not-ready] irc is down' });
    irc.down = false;
    await ob.idle();
    expect(irc.sent.map((d) => d.key)).toEqual(['i1']);
    await ob.close();
  });

  it('gives up on permanent refusals without holding up the queue, and can revive them', async () => {
    const dir = await tempDir();
    const email = new FakeNotifier('email');
    email.refuse = ['bad@example.com'];
    const ob = await Outbox.open({ dir, notifiers: [email], ...fast });
    await ob.enqueue([{ ...delivery('bad', 'email'), to: ['bad@example.com'] }, delivery('good', 'email')]);
    await ob.idle();
    expect(email.sent.map((d) => d.key)).toEqual(['good']);
    expect(ob.list()).toEqual([expect.objectContaining({ status: 'failed', attempts: 1, nextAttemptAt: null })]);
    email.refuse = [];
    expect(await ob.retryNow({ key: 'bad' })).toBe(1);
    await ob.idle();
    expect(email.sent.map((d) => d.key)).toEqual(['good', 'bad']);
    await ob.close();
  });

  it('stops after maxAttempts', async () => {
    const dir = await tempDir();
    const x = new FakeNotifier('xmpp');
    x.down = true;
    const ob = await Outbox.open({ dir, notifiers: [x], retry: { baseMs: 1, maxMs: 2, maxAttempts: 3 } });
    await ob.enqueue([delivery('k', 'xmpp')]);
    await ob.idle();
    expect(ob.list()[0]).toMatchObject({ status: 'failed', attempts: 3 });
    await ob.close();
  });

  it('after a restart sends what was left, once', async () => {
    const dir = await tempDir();
    const down = new FakeNotifier('irc');
    down.down = true;
    const first = await Outbox.open({ dir, notifiers: [down], ...fast });
    await first.enqueue([delivery('r1'), delivery('r2')]);
    await waitFor(() => down.attempts >= 2, 'failed attempts');
    await first.close();

    const up = new FakeNotifier('irc');
    const second = await Outbox.open({ dir, notifiers: [up], ...fast });
    const listed = second.list();
    expect(listed.map((e) => e.delivery.key)).toEqual(['r1', 'r2']);
    await second.idle();
    expect(up.sent.map((d) => d.key)).toEqual(['r1', 'r2']);
    expect(await second.enqueue([delivery('r1')])).toBe(0);
    await second.close();

    const third = await Outbox.open({ dir, notifiers: [up], ...fast });
    await third.idle();
    expect(up.sent).toHaveLength(2);
    expect(third.list()).toEqual([]);
    await third.close();
  });

  it('keeps deliveries of a channel without a notifier pending, and lists them', async () => {
    const dir = await tempDir();
    const ob = await Outbox.open({ dir, notifiers: [] });
    await ob.enqueue([delivery('m', 'email')]);
    await ob.idle();
    expect(ob.list()).toEqual([expect.objectContaining({ status: 'pending', attempts: 0, lastError: null })]);
    await ob.close();
  });

  it('ignores a torn last line from a crash mid-write', async () => {
    const dir = await tempDir();
    const first = await Outbox.open({ dir, notifiers: [] });
    await first.enqueue([delivery('t1')]);
    await first.close();
    await appendFile(join(dir, JOURNAL_FILE), '{"t":"enq","at":1,"d":{"key":"t2","chan');
    const irc = new FakeNotifier('irc');
    const second = await Outbox.open({ dir, notifiers: [irc], ...fast });
    expect(second.journalSkippedLines).toBe(1);
    await second.idle();
    expect(irc.sent.map((d) => d.key)).toEqual(['t1']);
    await second.close();
  });

  it('compacts the journal and still remembers sent keys', async () => {
    const dir = await tempDir();
    const irc = new FakeNotifier('irc');
    const ob = await Outbox.open({ dir, notifiers: [irc], compactAfter: 10, ...fast });
    for (let i = 0; i < 30; i++) await ob.enqueue([delivery(`c${i}`)]);
    await ob.idle();
    await ob.close();
    const recs = await journal(dir);
    expect(recs.length).toBeLessThan(60);
    const again = await Outbox.open({ dir, notifiers: [irc], ...fast });
    expect(await again.enqueue([delivery('c0'), delivery('c29')])).toBe(0);
    await again.close();
    expect(irc.sent).toHaveLength(30);
  });

  it('pause waits for the send in flight; resume carries on', async () => {
    const dir = await tempDir();
    const irc = new FakeNotifier('irc');
    const ob = await Outbox.open({ dir, notifiers: [irc], ...fast });
    await ob.pause('irc');
    await ob.enqueue([delivery('p1')]);
    await ob.idle();
    expect(irc.sent).toHaveLength(0);
    ob.resume('irc');
    await waitFor(() => irc.sent.length === 1, 'resumed send');
    await ob.close();
    await expect(ob.enqueue([delivery('late')])).rejects.toMatchObject({ code: 'outbox-closed' });
  });

  it('refuses things that are not deliveries', async () => {
    const dir = await tempDir();
    const ob = await Outbox.open({ dir, notifiers: [] });
    await expect(ob.enqueue([{ key: 'x', channel: 'fax', to: [], text: '' } as never])).rejects.toMatchObject({ code: 'bad-delivery' });
    await ob.close();
  });
});
