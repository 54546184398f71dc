// One contract suite, two stores: the in-memory store and the git metadata branch in a real temp repo.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decide, systemActor, userActor, type Actor, type DecideContext } from '../../../state/decide.js';
import { evolveAll } from '../../../state/evolve.js';
import { commitMessage } from '../../../state/describe.js';
import type { Command } from '../../../state/commands.js';
import { isDomainError } from '../../../state/errors.js';
import type { RequestId } from '../../../state/model.js';
import { GitCli } from '../../../server/git/git-cli.js';
import { GitStateStore } from '../../../server/store/git-state-store.js';
import { MemoryStateStore } from '../../../server/store/memory-state-store.js';
import type { StateStore } from '../../../server/store/state-store.js';
import { removeTempDirs, tempDir } from '../../helpers/temp-dir.js';

afterAll(removeTempDirs);

const alice: Actor = userActor('alice');
const sha = (n: number) => n.toString(16).padStart(40, 'a');
let clock = 0;
const ctx = (actor: Actor = alice): DecideContext => ({ actor, now: new Date(Date.UTC(2026, 0, 1, 0, 0, clock++)).toISOString() });

async function apply(store: StateStore, cmd: Command, actor: Actor = alice) {
  const snap = await store.read();
  const c = ctx(actor);
  const events = decide(snap.board, cmd, c);
  if (isDomainError(events)) throw new Error(events.message);
  const board = evolveAll(snap.board, events);
  return store.commit({ expected: snap.version, board, events, message: commitMessage(cmd, events, actor), at: c.now });
}

async function gitStore() {
  const dir = await tempDir();
  execFileSync('git', ['init', '-q', '--bare', dir]);
  return new GitStateStore(new GitCli(dir), dir);
}

const stores: [string, () => Promise<StateStore>][] = [
  ['memory', async () => new MemoryStateStore()],
  ['git', gitStore],
];

describe.each(stores)('StateStore contract: %s', (_name, make) => {
  it('starts empty and reads back what was committed', async () => {
    const store = await make();
    expect((await store.read()).version).toBeNull();
    const r = await apply(store, { type: 'OpenRequest', ref: 'refs/pushreq/a', sha: sha(1), autoPickme: true, title: 'A' });
    expect(r.ok).toBe(true);
    const snap = await store.read();
    expect(snap.board.requests[1]?.title).toBe('A');
    expect(snap.board.nextRequestId).toBe(2);
  });

  it('refuses a commit based on a stale version (compare-and-swap) and keeps the winner', async () => {
    const store = await make();
    await apply(store, { type: 'OpenRequest', ref: 'refs/pushreq/a', sha: sha(1), autoPickme: true });
    const stale = await store.read();
    await apply(store, { type: 'OpenRequest', ref: 'refs/pushreq/b', sha: sha(2), autoPickme: true });
    const c = ctx();
    const events = decide(stale.board, { type: 'OpenRequest', ref: 'refs/pushreq/c', sha: sha(3), autoPickme: true }, c);
    if (isDomainError(events)) throw new Error('unexpected');
    const r = await store.commit({ expected: stale.version, board: evolveAll(stale.board, events), events, message: commitMessage({ type: 'RebuildPush', push: 1 as never }, events, alice), at: c.now });
    expect(r.ok).toBe(false);
    const now = await store.read();
    expect(Object.values(now.board.requests).map((x) => x.ref).sort()).toEqual(['refs/pushreq/a', 'refs/pushreq/b']);
  });

  it('lists history per request, newest first, with actor and command', async () => {
    const store = await make();
    await apply(store, { type: 'OpenRequest', ref: 'refs/pushreq/a', sha: sha(1), autoPickme: true });
    await apply(store, { type: 'OpenRequest', ref: 'refs/pushreq/b', sha: sha(2), autoPickme: true });
    await apply(store, { type: 'CommentRequest', request: 1 as RequestId, text: 'hello' });
    const h = await store.history({ request: 1 });
    expect(h.map((e) => e.command)).toEqual(['CommentRequest', 'OpenRequest']);
    expect(h[0]!.actor).toBe('alice');
    expect(h[0]!.events).toEqual(['CommentAdded']);
  });

  it("tells the system's commits from a user's by the Cause trailer, not by the name", async () => {
    const store = await make();
    await apply(store, { type: 'OpenRequest', ref: 'refs/pushreq/a', sha: sha(1), autoPickme: true }, userActor('pushmanager'));
    await apply(store, { type: 'UpdateRequest', ref: 'refs/pushreq/a', sha: sha(2), forced: true }, systemActor('reconcile'));
    const h = await store.history({ request: 1 });
    expect(h.map((e) => [e.command, e.actor, e.cause])).toEqual([
      ['UpdateRequest', 'pushmanager', 'reconcile'],
      ['OpenRequest', 'pushmanager', undefined],
    ]);
  });

  it('yields the events of each commit after a version, oldest first', async () => {
    const store = await make();
    await apply(store, { type: 'OpenRequest', ref: 'refs/pushreq/a', sha: sha(1), autoPickme: true });
    const first = (await store.read()).version;
    await apply(store, { type: 'CommentRequest', request: 1 as RequestId, text: 'x' });
    const seen = [];
    for await (const c of store.eventsSince(first)) seen.push(c.events.map((e) => e.type));
    expect(seen).toEqual([['CommentAdded']]);
  });

  it('eventsSince a version it never held (a cursor older than a restored branch) throws store-unknown-version, not a git error or the whole history', async () => {
    const store = await make();
    await apply(store, { type: 'OpenRequest', ref: 'refs/pushreq/a', sha: sha(1), autoPickme: true });
    const replay = async () => {
      for await (const c of store.eventsSince('9'.repeat(40))) void c;
    };
    await expect(replay()).rejects.toMatchObject({ code: 'store-unknown-version' });
  });
});

describe('GitStateStore specifics', () => {
  it('moves other refs in the same transaction, and refuses all when one is stale', async () => {
    const dir = await tempDir();
    execFileSync('git', ['init', '-q', '--bare', dir]);
    const git = new GitCli(dir);
    const store = new GitStateStore(git, dir);
    await apply(store, { type: 'OpenRequest', ref: 'refs/pushreq/a', sha: sha(1), autoPickme: true });
    const snap = await store.read();
    const target = snap.version!; // any existing commit will do as a ref target
    const ok = await store.commit({ expected: snap.version, board: snap.board, events: [], message: { subject: 's', body: '', trailers: [] }, refs: [{ ref: 'refs/heads/deploy/push-1', newSha: target, oldSha: null }], at: '2026-01-01T00:00:00Z' });
    expect(ok.ok).toBe(true);
    expect(await git.resolve('refs/heads/deploy/push-1')).toBe(target);
    const snap2 = await store.read();
    const bad = await store.commit({ expected: snap2.version, board: snap2.board, events: [], message: { subject: 's', body: '', trailers: [] }, refs: [{ ref: 'refs/heads/deploy/push-1', newSha: target, oldSha: null }], at: '2026-01-01T00:00:00Z' });
    expect(bad.ok).toBe(false);
    expect((await store.read()).version).toBe(snap2.version);
  });

  it('sees commits made by another process (incremental refresh)', async () => {
    const dir = await tempDir();
    execFileSync('git', ['init', '-q', '--bare', dir]);
    const a = new GitStateStore(new GitCli(dir), dir);
    const b = new GitStateStore(new GitCli(dir), dir);
    await apply(a, { type: 'OpenRequest', ref: 'refs/pushreq/a', sha: sha(1), autoPickme: true });
    expect(Object.keys((await b.read()).board.requests)).toEqual(['1']);
    await apply(a, { type: 'OpenRequest', ref: 'refs/pushreq/b', sha: sha(2), autoPickme: true });
    await apply(a, { type: 'CommentRequest', request: 1 as RequestId, text: 'hi' });
    const board = (await b.read()).board;
    expect(Object.keys(board.requests)).toEqual(['1', '2']);
    expect(board.requests[1]!.comments[0]!.text).toBe('hi');
  });

  it('an incremental refresh across many shards, and a file removed by another writer, equals a full load of the same tip', async () => {
    const dir = await tempDir();
    execFileSync('git', ['init', '-q', '--bare', dir]);
    const writer = new GitStateStore(new GitCli(dir), dir);
    const reader = new GitStateStore(new GitCli(dir), dir);
    const full = async () => (await new GitStateStore(new GitCli(dir), dir).read()).board;
    for (let n = 1; n <= 230; n++) {
      await apply(writer, { type: 'OpenRequest', ref: `refs/pushreq/r${n}`, sha: n.toString(16).padStart(40, '0'), autoPickme: true });
      if (n % 37 === 0) await apply(writer, { type: 'CommentRequest', request: (n - 30) as RequestId, text: `on ${n - 30}` });
      if (n % 23 === 0) expect((await reader.read()).board).toEqual(await full());
    }
    expect(Object.keys((await reader.read()).board.requests)).toHaveLength(230);
    // Another writer removes request 5's file and a whole shard (200-230): both disappear from the board.
    const work = await tempDir();
    execFileSync('git', ['clone', '-q', '-b', 'pushmanager/meta', dir, work]);
    execFileSync('git', ['-C', work, 'rm', '-q', '-r', 'requests/0000/5.json', 'requests/0002']);
    execFileSync('git', ['-C', work, '-c', 'user.name=x', '-c', 'user.email=x@x', 'commit', '-qm', 'prune']);
    execFileSync('git', ['-C', work, 'push', '-q', 'origin', 'pushmanager/meta']);
    const after = (await reader.read()).board;
    expect(after).toEqual(await full());
    expect(after.requests[5]).toBeUndefined();
    expect(after.requests[200]).toBeUndefined();
    expect(Object.keys(after.requests)).toHaveLength(198);
  });

  it('refuses clearly to read a metadata branch written by a newer schema', async () => {
    const dir = await tempDir();
    execFileSync('git', ['init', '-q', '--bare', dir]);
    const store = new GitStateStore(new GitCli(dir), dir);
    await apply(store, { type: 'OpenRequest', ref: 'refs/pushreq/a', sha: sha(1), autoPickme: true });
    // Write a commit by hand whose schema.json says version 99, as a newer pushmanager would.
    const work = await tempDir();
    execFileSync('git', ['clone', '-q', '-b', 'pushmanager/meta', dir, work]);
    writeFileSync(join(work, 'schema.json'), JSON.stringify({ schemaVersion: 99, nextRequestId: 2, nextPushId: 1 }));
    execFileSync('git', ['-C', work, '-c', 'user.name=x', '-c', 'user.email=x@x', 'commit', '-qam', 'future']);
    execFileSync('git', ['-C', work, 'push', '-q', 'origin', 'pushmanager/meta']);
    const fresh = new GitStateStore(new GitCli(dir), dir);
    await expect(fresh.read()).rejects.toThrow(/schema version 99, newer than this pushmanager understands/);
  });
});
