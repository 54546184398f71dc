// Dispatcher.dispatch: a lost compare-and-swap is retried on a fresh read (the command decided again on the
// board the other writer left), a store that never lets it win gives up with an error naming the command,
// and a listener's failure neither undoes the commit nor keeps the other listeners from hearing it.
import { describe, expect, it } from 'vitest';
import type { Command } from '../../../state/commands.js';
import { decide, userActor, type Actor } from '../../../state/decide.js';
import { commitMessage } from '../../../state/describe.js';
import { isDomainError } from '../../../state/errors.js';
import { evolveAll } from '../../../state/evolve.js';
import { Dispatcher, type Preparer } from '../../../server/app/dispatcher.js';
import type { PushId, RequestId } from '../../../state/model.js';
import { MemoryStateStore } from '../../../server/store/memory-state-store.js';
import type { CommitRequest, CommitResult } from '../../../server/store/state-store.js';

const ALICE: Actor = userActor('alice', { pushmaster: false });
const BOB: Actor = userActor('bob', { pushmaster: false });
const clock = { now: () => new Date(Date.UTC(2026, 0, 1)) };
const open = (name: string, c: string): Command => ({ type: 'OpenRequest', ref: `refs/pushreq/${name}`, sha: c.repeat(40), autoPickme: true });

/**
 * A memory store with a rival writer: for the first `losses` commits it is asked for, bob's own command
 * is committed first, so the one asked for really is stale and loses the compare-and-swap.
 */
class RacedStore extends MemoryStateStore {
  commitCalls = 0;
  constructor(public losses: number) {
    super();
  }
  override async commit(req: CommitRequest): Promise<CommitResult> {
    this.commitCalls++;
    if (this.losses > 0) {
      this.losses--;
      const snap = await this.read();
      const cmd = open(`rival-${this.commitCalls}`, String(this.commitCalls));
      const ctx = { actor: BOB, now: clock.now().toISOString() };
      const events = decide(snap.board, cmd, ctx);
      if (isDomainError(events)) throw new Error(events.message);
      const won = await super.commit({ expected: snap.version, board: evolveAll(snap.board, events), events, message: commitMessage(cmd, events, BOB), at: ctx.now });
      if (!won.ok) throw new Error('the rival lost');
    }
    return super.commit(req);
  }
}

describe('Dispatcher: compare-and-swap retry', () => {
  it('re-reads and decides again after losing the compare-and-swap 3 times, then commits once', async () => {
    const store = new RacedStore(3);
    const d = new Dispatcher(store, clock);
    const heard: string[][] = [];
    d.onCommit((c) => heard.push(c.events.map((e) => e.type)));
    const out = await d.dispatch(open('mine', 'a'), ALICE);
    if (isDomainError(out)) throw new Error(out.message);
    expect(store.commitCalls).toBe(4);
    expect(d.stats).toMatchObject({ casRetries: 3, commits: 1 });
    // Decided on the board the rivals left: the fourth request, not the first one again.
    const { board, version } = await store.read();
    expect(out.version).toBe(version);
    expect(Object.values(board.requests).map((r) => [r.id, r.ref, r.user])).toEqual([
      [1, 'refs/pushreq/rival-1', 'bob'],
      [2, 'refs/pushreq/rival-2', 'bob'],
      [3, 'refs/pushreq/rival-3', 'bob'],
      [4, 'refs/pushreq/mine', 'alice'],
    ]);
    expect(out.before.nextRequestId).toBe(4);
    expect(heard).toEqual([['RequestOpened']]);
  });

  it('gives up after maxAttempts when it never wins, names the command, records nothing of it, tells no listener', async () => {
    const store = new RacedStore(Infinity);
    const d = new Dispatcher(store, clock, null, { maxAttempts: 4 });
    const heard: unknown[] = [];
    d.onCommit((c) => heard.push(c));
    await expect(d.dispatch(open('mine', 'a'), ALICE)).rejects.toThrow(/^could not commit OpenRequest after 4 attempts: expected mem-\d+, tip is mem-\d+$/);
    expect(store.commitCalls).toBe(4);
    expect(d.stats).toMatchObject({ casRetries: 4, commits: 0 });
    const { board } = await store.read();
    expect(Object.values(board.requests).map((r) => r.user)).toEqual(['bob', 'bob', 'bob', 'bob']);
    expect(heard).toEqual([]);
    // The writer is free again: once the rival stops, the next command goes through.
    store.losses = 0;
    expect(isDomainError(await d.dispatch(open('later', 'b'), ALICE))).toBe(false);
  });
});

describe('Dispatcher: listener isolation', () => {
  it('a throwing listener neither undoes the commit nor stops the listeners after it', async () => {
    const store = new MemoryStateStore();
    const d = new Dispatcher(store, clock);
    const heard: string[] = [];
    d.onCommit(() => {
      heard.push('first');
      throw new Error('listener broke');
    });
    d.onCommit((c) => heard.push(`second ${c.actor} ${c.command.type} ${c.version}`));
    const out = await d.dispatch(open('mine', 'a'), ALICE);
    expect(out).toMatchObject({ ok: true, version: 'mem-1' });
    expect(heard).toEqual(['first', 'second alice OpenRequest mem-1']);
    const snap = await store.read();
    expect(snap.version).toBe('mem-1');
    expect(snap.board.requests[1]?.ref).toBe('refs/pushreq/mine');
    expect(d.stats.commits).toBe(1);
    // And the next command still reaches every listener.
    await d.dispatch(open('next', 'b'), ALICE);
    expect(heard.slice(2)).toEqual(['first', 'second alice OpenRequest mem-2']);
  });

  it('an unsubscribed listener hears nothing more', async () => {
    const d = new Dispatcher(new MemoryStateStore(), clock);
    const heard: string[] = [];
    const off = d.onCommit((c) => heard.push(c.version));
    await d.dispatch(open('a', 'a'), ALICE);
    off();
    await d.dispatch(open('b', 'b'), ALICE);
    expect(heard).toEqual(['mem-1']);
  });
});

describe('Dispatcher: facts prepared outside the writer', () => {
  const PM: Actor = userActor('pm', { pushmaster: true });
  it('a lost compare-and-swap decides again with the same build when what it was built from is unchanged', async () => {
    const store = new RacedStore(0);
    const builds: number[] = [];
    const preparer: Preparer = {
      isAncestor: async () => true,
      build: async (needs) => {
        builds.push(...needs.map((n) => n.push.id));
        return needs.map((n) => ({ push: n.push.id, mode: n.mode, epoch: n.epoch, inputs: n.requests.map((r) => ({ request: r.id, sha: r.sha })), baseSha: 'b'.repeat(40), outcome: { ok: true as const, deploySha: 'd'.repeat(40), merges: n.requests.map((r) => ({ request: r.id, sha: r.sha, commit: 'c'.repeat(40) })), dropped: [] } }));
      },
    };
    const d = new Dispatcher(store, clock, preparer);
    await d.execute({ type: 'OpenPush', title: 'Tue', pushType: 'regular' }, PM);
    await d.execute(open('mine', 'a'), ALICE); // picked into push 1
    builds.length = 0;
    store.losses = 2; // a rival opens an unrelated request before each of the next two commits
    const out = await d.execute({ type: 'AcceptRequests', push: 1 as PushId, requests: [1 as RequestId] }, PM);
    if (isDomainError(out)) throw new Error(out.message);
    expect(builds).toEqual([1]);
    expect(out.events.map((e) => e.type)).toEqual(['RequestAccepted', 'DeployBranchBuilt']);
    expect(store.refs.get('refs/heads/deploy/push-1')).toBe('d'.repeat(40));
    expect(d.stats.casRetries).toBe(2);
  });
});
