// handleReceive driven directly: a memory store, the real Dispatcher (whose plan moves the pushreq refs),
// ancestry from a real temp repo. What a push means, what is recorded, and the `remote:` answer.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { userActor, type UserActor } from '../../state/decide.js';
import { handleReceive, NOT_APPLIED, type ReceiveDeps } from '../../hooks/receive-handler.js';
import type { HookRequest, HookResponse, RefCommand } from '../../hooks/hook-protocol.js';
import { Dispatcher } from '../../server/app/dispatcher.js';
import { MemoryStateStore } from '../../server/store/memory-state-store.js';
import { commitFiles, initRepo, type FixtureRepo } from '../helpers/git-fixtures.js';

const ZERO = '0'.repeat(40);
const USERS: Record<string, UserActor> = {
  alice: userActor('alice', { pushmaster: false }),
  bob: userActor('bob', { pushmaster: false }),
};
const clock = { now: () => new Date(Date.UTC(2026, 0, 1)) };

let repo: FixtureRepo;
/** base ← first ← second (a fast-forward of first); other: from base, not a descendant of first. */
let first: string, second: string, other: string;

beforeAll(async () => {
  repo = await initRepo();
  const base = await commitFiles(repo.git, { files: { 'a.txt': 'a\n' }, message: 'base', ref: 'refs/heads/master' });
  first = await commitFiles(repo.git, { parents: [base], files: { 'a.txt': 'first\n' }, message: 'first', epoch: 1_700_000_001 });
  second = await commitFiles(repo.git, { parents: [first], files: { 'a.txt': 'second\n' }, message: 'second', epoch: 1_700_000_002 });
  other = await commitFiles(repo.git, { parents: [base], files: { 'a.txt': 'other\n' }, message: 'other', epoch: 1_700_000_003 });
});
afterAll(() => repo.cleanup());

let store: MemoryStateStore;
let deps: ReceiveDeps;
beforeEach(() => {
  store = new MemoryStateStore();
  // The pushreq refs follow the board in the write path itself (state/ref-intents.ts).
  const dispatcher = new Dispatcher(store, clock, null, {
    knowsUser: async (name) => name in USERS,
  });
  const preparer = {
    build: async () => [],
    isAncestor: async (a: string, d: string) => (await repo.git.run(['merge-base', '--is-ancestor', a, d], { okCodes: [1, 128] })).exitCode === 0,
  };
  deps = {
    record: (pushed, actor, onDecided) => dispatcher.recordPush(pushed, actor, { lane: 'push', preparer, onDecided }),
    lookupUser: async (name) => USERS[name] ?? null,
    refs: { master: 'master', metadata: 'pushmanager/meta', deployPrefix: 'deploy/' },
  };
});

const push = (user: string, commands: RefCommand[], options: string[] = [], atomic = false): Promise<HookResponse> =>
  handleReceive({ user, commands, options, atomic } satisfies HookRequest, deps);
const create = (ref: string, sha: string): RefCommand => ({ oldSha: ZERO, newSha: sha, ref });
const short = (sha: string) => sha.slice(0, 10);

describe('handleReceive', () => {
  it('opens a request for a new refs/pushreq/* ref, moves the ref with the state, and says how to find it', async () => {
    const out = await push('alice', [create('refs/pushreq/fix-login', first)], ['title=Fix login', 'tags=urgent']);
    expect(out.results).toEqual([{ ref: 'refs/pushreq/fix-login', ok: true, forcedUpdate: false }]);
    expect(out.messages).toEqual([
      `Pushmanager: request 1 "Fix login" opened for alice at ${short(first)}`,
      '  state: requested',
      '  no push is open; the request will be offered to the next one',
      '  see it: pushmanager request show 1',
    ]);
    const { board, version } = await store.read();
    expect(version).toBe('mem-1');
    expect(board.requests[1]).toMatchObject({ user: 'alice', ref: 'refs/pushreq/fix-login', sha: first, title: 'Fix login', tags: ['urgent'], state: 'requested' });
    expect(store.refs.get('refs/pushreq/fix-login')).toBe(first);
  });

  it('a fast-forward re-push updates the request; one that is not is a forced update, and says so', async () => {
    await push('alice', [create('refs/pushreq/x', first)]);
    const ff = await push('alice', [{ oldSha: first, newSha: second, ref: 'refs/pushreq/x' }]);
    expect(ff.results).toEqual([{ ref: 'refs/pushreq/x', ok: true, forcedUpdate: false }]);
    expect(ff.messages[0]).toBe(`Pushmanager: request 1 "x" updated ${short(first)} -> ${short(second)}`);
    const forced = await push('alice', [{ oldSha: second, newSha: other, ref: 'refs/pushreq/x' }]);
    expect(forced.results).toEqual([{ ref: 'refs/pushreq/x', ok: true, forcedUpdate: true }]);
    expect(forced.messages[0]).toBe(`Pushmanager: request 1 "x" updated ${short(second)} -> ${short(other)} (forced)`);
    expect((await store.read()).board.requests[1]?.sha).toBe(other);
    expect(store.refs.get('refs/pushreq/x')).toBe(other);
  });

  it('a conflict check that fails after the commit leaves the push recorded and says so, not "nothing was recorded"', async () => {
    deps = { ...deps, afterRecorded: () => Promise.reject(new Error('git merge-base failed')) };
    const out = await push('alice', [create('refs/pushreq/checked', first)], ['title=Checked']);
    expect(out.results).toEqual([{ ref: 'refs/pushreq/checked', ok: true, forcedUpdate: false }]);
    expect(out.messages).toContain('  conflicts: not checked (git merge-base failed); the request is recorded');
    expect(Object.values((await store.read()).board.requests).map((r) => r.ref)).toEqual(['refs/pushreq/checked']);
  });

  it('deleting the ref withdraws the request and deletes the ref', async () => {
    await push('alice', [create('refs/pushreq/x', first)]);
    const out = await push('alice', [{ oldSha: first, newSha: ZERO, ref: 'refs/pushreq/x' }]);
    expect(out.results).toEqual([{ ref: 'refs/pushreq/x', ok: true, forcedUpdate: false }]);
    expect(out.messages[0]).toMatch(/^Pushmanager: request 1 "x" withdrawn \(discarded: .+\)$/);
    expect((await store.read()).board.requests[1]?.state).toBe('discarded');
    expect(store.refs.has('refs/pushreq/x')).toBe(false);
  });

  it("refuses a push to someone else's request ref with decide's reason, and records nothing", async () => {
    await push('alice', [create('refs/pushreq/x', first)]);
    const out = await push('bob', [{ oldSha: first, newSha: second, ref: 'refs/pushreq/x' }]);
    expect(out.results).toEqual([{ ref: 'refs/pushreq/x', ok: false, reason: expect.stringMatching(/\[ref-owned-by-other\]$/) }]);
    expect(out.messages).toEqual([expect.stringMatching(/^refs\/pushreq\/x: refused: .*\[ref-owned-by-other\]$/)]);
    expect((await store.read()).version).toBe('mem-1');
    expect(store.refs.get('refs/pushreq/x')).toBe(first);
  });

  it('refuses every ref outside refs/pushreq/ with what to do instead, and records nothing', async () => {
    const out = await push('alice', [create('refs/heads/master', first), create('refs/heads/topic', first), create('refs/tags/v1', first), create('refs/heads/deploy/push-1', first)]);
    expect(out.results.map((r) => r.ok)).toEqual([false, false, false, false]);
    const reasons = out.results.map((r) => (r.ok ? '' : r.reason));
    expect(reasons[0]).toBe('master is written only by pushmanager when a push is certified; open a push request instead: git push origin HEAD:refs/pushreq/<name>');
    expect(reasons[1]).toBe('pushmanager takes branches only as push requests; open one instead: git push origin <your-branch>:refs/pushreq/topic');
    expect(reasons[2]).toBe('tags are made only by pushmanager when a push is certified');
    expect(reasons[3]).toBe('deploy branches are built only by pushmanager from accepted requests');
    expect((await store.read()).version).toBeNull();
  });

  it('refuses an unknown pusher, every bad push option at once, and an unknown watcher, naming each; nothing is recorded', async () => {
    const who = await push('mallory', [create('refs/pushreq/x', first)]);
    expect(who).toEqual({ results: [{ ref: 'refs/pushreq/x', ok: false, reason: 'unknown user "mallory"' }], messages: ['unknown user "mallory"'] });

    const bad = await push('alice', [create('refs/pushreq/x', first)], ['colour=blue', 'pickme=perhaps', 'watchers=nobody']);
    const reason = bad.results[0]!.ok ? '' : bad.results[0]!.reason;
    expect(reason).toMatch(/push option "colour": unknown option/);
    expect(reason).toMatch(/"pickme"/);
    expect(reason).toMatch(/push option "watchers": no user "nobody"$/);
    expect(bad.messages).toEqual([`refused: ${reason}; nothing was recorded`]);

    // Options alone valid: the watcher is checked where every door's are (decide, through the dispatcher).
    const watcher = await push('alice', [create('refs/pushreq/x', first)], ['watchers=nobody']);
    expect(watcher.results).toEqual([{ ref: 'refs/pushreq/x', ok: false, reason: 'push option "watchers": no user "nobody" [invalid-field]' }]);
    expect((await store.read()).version).toBeNull();
  });

  it('without --atomic, each ref stands alone: the good one is recorded, the bad one refused', async () => {
    const out = await push('alice', [create('refs/pushreq/a', first), create('refs/heads/master', second)]);
    expect(out.results.map((r) => [r.ref, r.ok])).toEqual([['refs/pushreq/a', true], ['refs/heads/master', false]]);
    expect(Object.keys((await store.read()).board.requests)).toEqual(['1']);
  });

  it('a ref named twice: each of its commands is answered, refused by name, nothing recorded for it; the other refs stand alone', async () => {
    const out = await push('alice', [create('refs/pushreq/dup', first), create('refs/pushreq/b', other), create('refs/pushreq/dup', second)]);
    const why = 'this push names refs/pushreq/dup 2 times; a ref takes one update per push, so none of them was recorded: push it once (git push origin <commit>:refs/pushreq/dup)';
    expect(out.results).toEqual([
      { ref: 'refs/pushreq/dup', ok: false, reason: why },
      { ref: 'refs/pushreq/b', ok: true, forcedUpdate: false },
      { ref: 'refs/pushreq/dup', ok: false, reason: why },
    ]);
    expect(out.messages.filter((m) => m.startsWith('refs/pushreq/dup: refused:'))).toEqual([`refs/pushreq/dup: refused: ${why}`]);
    expect(Object.values((await store.read()).board.requests).map((r) => r.ref)).toEqual(['refs/pushreq/b']);
    expect([...store.refs.keys()]).toEqual(['refs/pushreq/b']);

    const atomic = await push('alice', [create('refs/pushreq/c', first), create('refs/pushreq/x', second), create('refs/pushreq/x', second)], [], true);
    expect(atomic.results).toEqual([
      { ref: 'refs/pushreq/c', ok: false, reason: NOT_APPLIED },
      { ref: 'refs/pushreq/x', ok: false, reason: expect.stringMatching(/^this push names refs\/pushreq\/x 2 times/) },
      { ref: 'refs/pushreq/x', ok: false, reason: expect.stringMatching(/^this push names refs\/pushreq\/x 2 times/) },
    ]);
    expect(atomic.messages.filter((m) => m.startsWith('refs/pushreq/x: refused:'))).toHaveLength(1);
    expect(Object.keys((await store.read()).board.requests)).toHaveLength(1);
  });

  it('--atomic: one refused ref refuses all, the others told why; all good refs are one state commit', async () => {
    const refused = await push('alice', [create('refs/pushreq/a', first), create('refs/heads/master', second)], [], true);
    expect(refused.results).toEqual([
      { ref: 'refs/pushreq/a', ok: false, reason: NOT_APPLIED },
      { ref: 'refs/heads/master', ok: false, reason: expect.stringMatching(/^master is written only by pushmanager/) },
    ]);
    expect(refused.messages.at(-1)).toBe('refused: atomic push, 1 of 2 refs refused; nothing was recorded');
    expect((await store.read()).version).toBeNull();

    const ok = await push('alice', [create('refs/pushreq/a', first), create('refs/pushreq/b', other)], [], true);
    expect(ok.results.map((r) => r.ok)).toEqual([true, true]);
    expect((await store.read()).version).toBe('mem-1');
    expect([...store.refs.entries()].sort()).toEqual([['refs/pushreq/a', first], ['refs/pushreq/b', other]]);
    const [entry] = await store.history({});
    expect(entry?.subject).toMatch(/\(one atomic push\)$/);
  });
});
