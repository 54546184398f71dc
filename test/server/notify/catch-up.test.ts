// Catch-up: commits after the cursor become deliveries; a crash between enqueue and cursor loses and duplicates nothing.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { catchUp, CURSOR_FILE, FileCursorStore, LazyCursor, notifyCommit, type CursorStore, type MetadataCommit } from '../../../server/notify/catch-up.js';
import { Outbox } from '../../../server/notify/outbox.js';
import type { DomainEvent } from '../../../state/events.js';
import { emptyBoard, type Board, type PushId, type PushRequest, type RequestId } from '../../../state/model.js';
import type { RoutingConfig } from '../../../state/notify/delivery.js';
import { removeTempDirs, tempDir } from '../../helpers/temp-dir.js';
import { until } from '../../helpers/until.js';
import { FakeNotifier } from './fake-notifier.js';

afterAll(removeTempDirs);

const AT = '2024-05-01T10:00:00.000Z';
const routing: RoutingConfig = { channels: ['email'], mailDomain: 'example.com' };
const req = (id: number, user: string): PushRequest => ({
  id: id as RequestId, user, title: `R${id}`, description: '', ref: `refs/pushreq/r${id}`, sha: 'a'.repeat(40), state: 'added', push: 1 as PushId,
  tags: [], conflicts: [], review: null, ticket: null, watchers: [], comments: [], autoPickme: true, createdAt: AT, updatedAt: AT, pickedAt: null, acceptedAt: null, reason: null,
});
const board: Board = {
  ...emptyBoard(),
  requests: { 1: req(1, 'alice'), 2: req(2, 'bob') },
  pushes: { 1: { id: 1 as PushId, title: 'P', type: 'regular', state: 'accepting', pushmaster: 'pm', deployBranch: 'refs/heads/deploy/push-1', deploySha: null, baseSha: null, stageEnv: null, pingme: [], removals: [], checklist: [], tag: null, createdAt: AT, updatedAt: AT, forced: [], merges: [] } },
};
const accepted = (n: number): DomainEvent => ({ type: 'RequestAccepted', request: n as RequestId, push: 1 as PushId, at: AT, actor: 'pm' });
const commits: MetadataCommit[] = [
  { sha: 'c1', events: [accepted(1)], board },
  { sha: 'c2', events: [accepted(2)], board },
];

describe('catchUp', () => {
  it('enqueues the commits after the cursor and advances it', async () => {
    const dir = await tempDir();
    const email = new FakeNotifier('email');
    const outbox = await Outbox.open({ dir, notifiers: [email], retry: { baseMs: 5, maxMs: 10 } });
    const cursor = new FileCursorStore(dir);
    expect(await cursor.read()).toBeNull();
    const r = await catchUp({ outbox, cursor, routing, commits });
    expect(r).toEqual({ commits: 2, enqueued: 2, cursor: 'c2' });
    expect(JSON.parse(await readFile(join(dir, CURSOR_FILE), 'utf8'))).toEqual({ sha: 'c2' });
    await outbox.idle();
    expect(email.sent.map((d) => d.key)).toEqual(['c1:0:accepted:email:alice@example.com', 'c2:0:accepted:email:bob@example.com']);
    await outbox.close();
  });

  it('after a crash between enqueue and the cursor write, replays without sending twice', async () => {
    const dir = await tempDir();
    const email = new FakeNotifier('email');
    const cursor = new FileCursorStore(dir);
    const first = await Outbox.open({ dir, notifiers: [email], retry: { baseMs: 5, maxMs: 10 } });
    await notifyCommit(commits[0] as MetadataCommit, { outbox: first, cursor, routing });
    // c2 was committed and enqueued, then the process died before the cursor moved.
    await first.enqueue([{ key: 'c2:0:accepted:email:bob@example.com', channel: 'email', to: ['bob@example.com'], text: 'x' }]);
    await first.idle();
    await first.close();
    expect(await cursor.read()).toBe('c1');

    const second = await Outbox.open({ dir, notifiers: [email], retry: { baseMs: 5, maxMs: 10 } });
    const r = await catchUp({ outbox: second, cursor, routing, commits: (async function* () { yield commits[1] as MetadataCommit; })() });
    expect(r).toEqual({ commits: 1, enqueued: 0, cursor: 'c2' });
    await second.idle();
    expect(email.sent).toHaveLength(2);
    await second.close();
  });
});

describe('LazyCursor', () => {
  /** A cursor store that records its writes. */
  const recording = (): CursorStore & { writes: string[] } => {
    const writes: string[] = [];
    return { writes, read: async () => writes.at(-1) ?? null, write: async (sha) => void writes.push(sha) };
  };

  it('writes the latest commit once per delay, not once per commit', async () => {
    const store = recording();
    const lazy = new LazyCursor(store, 50);
    for (const sha of ['c1', 'c2', 'c3']) lazy.advance(sha);
    expect(store.writes).toEqual([]);
    await until('the delayed write', () => store.writes.length > 0);
    expect(store.writes).toEqual(['c3']);
    lazy.advance('c4');
    await lazy.flush();
    expect(store.writes).toEqual(['c3', 'c4']);
    await lazy.flush(); // nothing new: no write
    expect(store.writes).toEqual(['c3', 'c4']);
  });

  it('flush writes what is pending at once, and a write that fails is reported and retried by the next', async () => {
    const dir = await tempDir();
    const errors: unknown[] = [];
    let fail = true;
    const file = new FileCursorStore(dir);
    const store: CursorStore = { read: () => file.read(), write: async (sha) => (fail ? Promise.reject(new Error('disk full')) : file.write(sha)) };
    const lazy = new LazyCursor(store, 60_000, (e) => errors.push(e));
    lazy.advance('c1');
    await lazy.flush();
    expect(errors).toHaveLength(1);
    fail = false;
    lazy.advance('c2');
    await lazy.flush();
    expect(await file.read()).toBe('c2');
  });
});
