// Issue 3 end to end: the deploy train with the real git CLI against the real server. Auto-pickme, conflicts
// answered in the push, accept/remove/rebuild moving the deploy branch, a clean train through certify,
// refusals for out-of-order steps and the wrong people, and ref names that try to reach a shell.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiCommandInput } from '../../server/http/api-schema.js';
import type { PushId } from '../../state/model.js';
import { userActor } from '../../state/decide.js';
import type { StatusView } from '../../state/status-view.js';
import { ServerRefusal } from '../../tui/client.js';
import { cli, commitOnBranch, git, gitOk, startFixture, type Fixture } from '../helpers/server-fixture.js';

type Req = StatusView['requests'][number];

/** Commits `files` on a new branch from origin/master as last fetched (the fixture's commit fetches first, slower). */
const commitOn = commitOnBranch;

/** Helpers bound to one fixture: a request pushed over git, the board, the remote deploy branch. */
function helpers(fx: () => Fixture) {
  const h = {
    board: () => fx().client('pm').board(true),
    req: async (id: number): Promise<Req> => (await h.board()).requests.find((r) => r.id === id)!,
    push: async (id: number) => (await h.board()).pushes.find((p) => p.id === id)!,
    /** Commits `files` on a branch from master in `work` and pushes it to refs/pushreq/<name>. */
    commit: commitOn,
    async request(work: string, name: string, files: Record<string, string>, opts: string[] = [], message?: string) {
      const sha = await commitOn(work, name, files, message);
      const r = await git(work, ['push', 'origin', `${name}:refs/pushreq/${name}`, ...opts]);
      if (r.code !== 0) throw new Error(`push of ${name} failed: ${r.stderr}`);
      const id = Number(/request (\d+) ".*" opened/.exec(r.stderr)?.[1]);
      expect(id).toBeGreaterThan(0);
      return { id, sha, remote: r.stderr };
    },
    /** The deploy branch as the remote has it, or null when it does not exist. */
    async deployRef(work: string, push: number): Promise<string | null> {
      const out = await gitOk(work, ['ls-remote', 'origin', `refs/heads/deploy/push-${push}`]);
      return out ? out.split('\t')[0]! : null;
    },
    cli: (user: string | null, args: string[]) => cli(fx().server.url, user, args),
    /** A command through the API as `user`: 'ok' or the refusal's code. */
    async outcome(user: string, cmd: ApiCommandInput): Promise<string> {
      try {
        await fx().client(user).command(cmd);
        return 'ok';
      } catch (e) {
        if (e instanceof ServerRefusal) return e.code;
        throw e;
      }
    },
    idle: () => fx().server.train.idle(),
  };
  return h;
}

describe('a push: pickmes, conflicts, accept, remove, rebuild, discard', () => {
  let f: Fixture;
  let alice: string;
  let bob: string;
  let carol: string;
  const h = helpers(() => f);
  const outcome = h.outcome;
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    f = await startFixture();
    [alice, bob, carol] = await Promise.all([f.clone('alice'), f.clone('bob'), f.clone('carol')]);
  });
  afterAll(async () => f?.close());

  it('requests waiting as requested become pickmes of a new push; -o pickme=no ones stay waiting', async () => {
    ids.a = (await h.request(alice, 'a-feature', { 'a.txt': 'alice\n' }, ['-o', 'title=Alice feature', '-o', 'review=1234', '-o', 'ticket=WEB-42'])).id;
    const held = await h.request(bob, 'b-held', { 'b.txt': 'bob\n' }, ['-o', 'pickme=no']);
    ids.held = held.id;
    expect(held.remote).toMatch(/remote: +state: requested/);
    expect((await h.req(ids.a)).state).toBe('requested');

    const opened = await h.cli('pm', ['push', 'open', '--title', 'Tue 14:00', '--type', 'regular']);
    expect(opened.code).toBe(0);
    // The answer names the push and its deploy branch (issue 13: it used to list event names).
    expect(opened.stdout).toMatch(/^push 1 "Tue 14:00" opened \(regular\); 1 pickme; deploy\/push-1 at [0-9a-f]{10}\n$/);
    const status = JSON.parse((await h.cli('alice', ['status', '--json'])).stdout) as StatusView;
    expect(status.pushes[0]).toMatchObject({ id: 1, title: 'Tue 14:00', type: 'regular', state: 'accepting', pushmaster: 'pm', deployBranch: 'deploy/push-1', requests: [ids.a] });
    expect(status.requests.find((r) => r.id === ids.a)).toMatchObject({ state: 'pickme', push: 1 });
    expect(status.requests.find((r) => r.id === ids.held)).toMatchObject({ state: 'requested', push: null });
    // The push was built at once: an empty deploy branch is master.
    expect(await h.deployRef(alice, 1)).toBe(await gitOk(alice, ['rev-parse', 'origin/master']));
  });

  it('a new request while a push accepts is a pickme at once, and its remote: lines say so', async () => {
    const c = await h.request(carol, 'c-feature', { 'c.txt': 'carol\n' });
    ids.c = c.id;
    expect(c.remote).toMatch(/remote: +state: pickme of push 1 "Tue 14:00" \(pushmaster pm\)/);
    expect(c.remote).toMatch(/remote: +conflicts: none \(no-conflicts\)/);
    expect((await h.req(c.id)).state).toBe('pickme');
  });

  it('two requests editing the same lines conflict with each other; the second pusher is told at once', async () => {
    ids.x = (await h.request(alice, 'x-same', { 'shared.txt': 'one\ntwo from alice\nthree\n' })).id;
    const y = await h.request(bob, 'y-same', { 'shared.txt': 'one\ntwo from bob\nthree\n' });
    ids.y = y.id;
    expect(y.remote).toMatch(new RegExp(`remote: +CONFLICT with request ${ids.x} \\(alice, "x-same"\\) in shared\\.txt`));
    await h.idle();
    const board = await h.board();
    const x = board.requests.find((r) => r.id === ids.x)!;
    const yy = board.requests.find((r) => r.id === ids.y)!;
    expect(x.conflicts).toEqual([{ with: ids.y, files: ['shared.txt'] }]);
    expect(yy.conflicts).toEqual([{ with: ids.x, files: ['shared.txt'] }]);
    expect(x.tags).toContain('conflict-pickme');
    expect(yy.tags).toContain('conflict-pickme');
    for (const id of [ids.a, ids.c]) {
      const r = board.requests.find((q) => q.id === id)!;
      expect(r.tags).toContain('no-conflicts');
      expect(r.conflicts).toEqual([]);
    }
    const json = JSON.parse((await h.cli('bob', ['status', '--json'])).stdout) as StatusView;
    expect(json.requests.find((r) => r.id === ids.y)!.conflicts).toEqual([{ with: ids.x, files: ['shared.txt'] }]);
  });

  it('accept merges pickmes onto master as real merge commits; the deploy branch is the recorded deploySha', async () => {
    const r = await h.cli('pm', ['push', 'accept', '1', String(ids.a), String(ids.c), String(ids.x)]);
    expect(r.code).toBe(0);
    const board = await h.board();
    for (const id of [ids.a, ids.c, ids.x]) expect(board.requests.find((q) => q.id === id)!.state).toBe('added');
    const push = board.pushes.find((p) => p.id === 1)!;
    const remote = await h.deployRef(alice, 1);
    expect(remote).toBe(push.deploySha);
    await gitOk(alice, ['fetch', '-q', 'origin', 'deploy/push-1']);
    const merges = (await gitOk(alice, ['log', '--merges', '--format=%H%x00%P%x00%B%x1e', 'FETCH_HEAD'])).split('\x1e').map((s) => s.trim()).filter(Boolean);
    expect(merges).toHaveLength(3);
    for (const m of merges) expect(m.split('\0')[1]!.split(' ')).toHaveLength(2);
    const aMerge = merges.find((m) => m.includes(`Request: ${ids.a}\n`))!;
    expect(aMerge).toMatch(new RegExp(`Merge request ${ids.a} "Alice feature" \\(alice\\) into push 1`));
    expect(aMerge).toMatch(/Review: 1234/);
    expect(aMerge).toMatch(/Ticket: WEB-42/);
    expect(aMerge).toMatch(/Owner: alice/);
    expect(aMerge).toMatch(/Ref: refs\/pushreq\/a-feature/);
    // The work is there: every accepted request's file is in the deploy tree.
    const tree = await gitOk(alice, ['ls-tree', '--name-only', 'FETCH_HEAD']);
    expect(tree.split('\n')).toEqual(expect.arrayContaining(['a.txt', 'c.txt', 'shared.txt', 'README.md']));
  });

  it('accepting a request that does not merge is refused with the files named; the deploy branch stays', async () => {
    const before = await h.deployRef(alice, 1);
    const r = await h.cli('pm', ['push', 'accept', '1', String(ids.y)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`request ${ids.y} \\(bob\\) does not merge onto push 1's deploy branch: conflicts in shared\\.txt; nothing changed \\[merge-conflict\\]`));
    expect(await h.deployRef(alice, 1)).toBe(before);
    expect((await h.req(ids.y!)).state).toBe('pickme');
    expect((await h.push(1)).deploySha).toBe(before);
  });

  it('remove with a reason: logged with who, why and the state it left; the deploy branch is rebuilt without it', async () => {
    const r = await h.cli('pm', ['push', 'remove', '1', String(ids.c), '--reason', 'breaks the search page']);
    expect(r.code).toBe(0);
    expect((await h.req(ids.c!))).toMatchObject({ state: 'requested', push: null, reason: 'breaks the search page' });
    const detail = await f.client('alice').pushDetail(1);
    expect(detail.push.removals).toEqual([expect.objectContaining({ request: ids.c, by: 'pm', reason: 'breaks the search page', fromState: 'added' })]);
    const show = await h.cli('alice', ['push', 'show', '1']);
    expect(show.stdout).toMatch(new RegExp(`#${ids.c} by pm after added: breaks the search page`));
    const sha = await h.deployRef(alice, 1);
    expect(sha).toBe((await h.push(1)).deploySha);
    await gitOk(alice, ['fetch', '-q', 'origin', 'deploy/push-1']);
    expect(await gitOk(alice, ['log', '--format=%s', 'FETCH_HEAD'])).not.toMatch(new RegExp(`Merge request ${ids.c} `));
    expect(await gitOk(alice, ['ls-tree', '--name-only', 'FETCH_HEAD'])).not.toMatch(/c\.txt/);
  });

  it("a re-push of an accepted request rebuilds the deploy branch in the background; push rebuild works", async () => {
    const before = (await h.push(1)).deploySha;
    await gitOk(alice, ['checkout', '-q', 'a-feature']);
    await gitOk(alice, ['commit', '-q', '--allow-empty', '-m', 'second thoughts']);
    const newSha = await gitOk(alice, ['rev-parse', 'HEAD']);
    await gitOk(alice, ['push', '-q', 'origin', 'a-feature:refs/pushreq/a-feature']);
    await h.idle();
    const push = await h.push(1);
    expect(push.deploySha).not.toBe(before);
    expect(await h.deployRef(alice, 1)).toBe(push.deploySha);
    await gitOk(alice, ['fetch', '-q', 'origin', 'deploy/push-1']);
    expect(await gitOk(alice, ['rev-list', '--parents', '-n', '1', '--merges', `--grep=^Request: ${ids.a}$`, 'FETCH_HEAD'])).toContain(newSha);

    const rebuilt = await h.cli('pm', ['push', 'rebuild', '1']);
    expect(rebuilt.code).toBe(0);
    await h.idle();
    expect(await h.deployRef(alice, 1)).toBe((await h.push(1)).deploySha);
  });

  it('a re-push that no longer merges drops the request back to pickme, logged, and names what it conflicts with', async () => {
    await commitOn(alice, 'x-same', { 'a.txt': 'not what alice had\n' });
    const r = await git(alice, ['push', '--force', 'origin', 'x-same:refs/pushreq/x-same']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`CONFLICT with request ${ids.a} \\(alice, "Alice feature"\\) in a\\.txt`));
    await h.idle();
    const x = await h.req(ids.x!);
    expect(x).toMatchObject({ state: 'pickme', push: 1 });
    expect(x.conflicts).toEqual([{ with: ids.a, files: ['a.txt'] }]);
    expect(x.tags).toContain('conflict-pickme');
    const detail = await f.client('pm').pushDetail(1);
    expect(detail.push.removals.at(-1)).toMatchObject({ request: ids.x, by: 'pushmanager', fromState: 'added', reason: 'no longer merges (a.txt)' });
    expect(await h.deployRef(alice, 1)).toBe(detail.push.deploySha);
    await gitOk(alice, ['fetch', '-q', 'origin', 'deploy/push-1']);
    expect(await gitOk(alice, ['log', '--format=%B', 'FETCH_HEAD'])).not.toContain(`Request: ${ids.x}\n`);
  });

  it('one accepting push at a time: a second push open is refused', async () => {
    const r = await h.cli('pm', ['push', 'open', '--title', 'Tue 16:00']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/push 1 \("Tue 14:00", pm\) is still accepting.*\[push-already-accepting\]/);
  });

  it('pickme / unpickme / edit by the owner or a watcher; others are refused', async () => {
    const c = ids.c!;
    expect(await outcome('bob', { type: 'PickmeRequest', request: c })).toBe('not-owner-or-watcher');
    expect(await outcome('carol', { type: 'PickmeRequest', request: c })).toBe('ok');
    expect(await h.req(c)).toMatchObject({ state: 'pickme', push: 1 });
    expect(await outcome('pm', { type: 'UnpickmeRequest', request: c })).toBe('not-owner-or-watcher');
    expect(await outcome('alice', { type: 'EditRequest', request: c, title: 'mine now' })).toBe('not-owner-or-watcher');
    expect(await outcome('carol', { type: 'EditRequest', request: c, watchers: ['bob'] })).toBe('ok');
    expect(await outcome('bob', { type: 'UnpickmeRequest', request: c })).toBe('ok'); // now a watcher
    expect(await outcome('bob', { type: 'EditRequest', request: c, title: 'Carol feature', ticket: 'WEB-7' })).toBe('ok');
    expect(await h.req(c)).toMatchObject({ state: 'requested', push: null, watchers: ['bob'], title: 'Carol feature', ticket: 'WEB-7' });
  });

  it('delay / undelay / discard / comment per SPEC §2, refused for the wrong person', async () => {
    const c = ids.c!;
    expect(await outcome('bob', { type: 'DelayRequest', request: c })).toBe('not-owner'); // a watcher may not delay
    const delay = await h.cli('carol', ['request', 'delay', String(c), '--reason', 'after the freeze']);
    expect([delay.code, delay.stdout]).toEqual([0, `request ${c} delayed; undelay with: pushmanager request undelay ${c}\n`]);
    expect(await h.req(c)).toMatchObject({ state: 'delayed', reason: 'after the freeze' });
    expect(await outcome('pm', { type: 'UndelayRequest', request: c })).toBe('not-owner');
    expect(await outcome('carol', { type: 'UndelayRequest', request: c })).toBe('ok');
    expect((await h.req(c)).state).toBe('requested');
    // The pushmaster may delay a pickme of their push.
    expect(await outcome('pm', { type: 'DelayRequest', request: ids.y! })).toBe('ok');
    expect(await h.req(ids.y!)).toMatchObject({ state: 'delayed', push: null });

    expect(await outcome('bob', { type: 'CommentRequest', request: c, text: 'ship it' })).toBe('ok');
    expect((await f.client('bob').requestDetail(c)).request.comments).toEqual([expect.objectContaining({ user: 'bob', text: 'ship it' })]);

    expect(await outcome('bob', { type: 'DiscardRequest', request: c })).toBe('not-owner');
    expect(await outcome('bob', { type: 'DiscardRequest', request: ids.y!, reason: 'obsolete' })).toBe('ok');
    expect(await h.req(ids.y!)).toMatchObject({ state: 'discarded', reason: 'obsolete' });
    expect((await git(bob, ['ls-remote', '--exit-code', 'origin', 'refs/pushreq/y-same'])).code).not.toBe(0);
  });

  it('push message and pingme: the pushmaster messages, anyone asks to be pinged', async () => {
    const msg = await h.cli('pm', ['push', 'message', '1', 'staging', 'in', '5']);
    expect([msg.code, msg.stdout]).toEqual([0, 'message sent to the pushees of push 1\n']);
    expect(await outcome('alice', { type: 'MessagePushees', push: 1, text: 'hi' })).toBe('not-pushmaster-of-push');
    expect(await outcome('alice', { type: 'PingmePush', push: 1, on: true })).toBe('ok');
    expect((await h.push(1)).pingme).toEqual(['alice']);
    expect(await outcome('alice', { type: 'PingmePush', push: 1, on: false })).toBe('ok');
    expect((await h.push(1)).pingme).toEqual([]);
  });

  it('bless with an unverified staged request is refused; --force blesses and is logged', async () => {
    expect((await h.cli('pm', ['push', 'stage', '1', '--env', 'stage-a'])).code).toBe(0);
    const refused = await h.cli('pm', ['push', 'bless', '1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/are not verified on stage.*\[unverified-requests\]/);
    expect((await h.push(1)).state).toBe('staged');
    expect((await h.cli('pm', ['push', 'bless', '1', '--force'])).code).toBe(0);
    const detail = await f.client('pm').pushDetail(1);
    expect(detail.push.state).toBe('blessed');
    expect((detail.push as unknown as { forced: { step: string; by: string }[] }).forced).toEqual([expect.objectContaining({ step: 'bless', by: 'pm' })]);
  });

  it('a deploy branch rebuilt while certify does its git work makes certify refuse as stale instead of landing the old build', async () => {
    // Hold certify between reading the board and its git work (its first look at master), have the
    // pushmaster remove a request (the deploy branch is rebuilt without it), then let certify go on. (A
    // pushee's re-push of a blessed request is refused outright: test/e2e/push-abuse.test.ts.)
    const train = f.server.train as unknown as { masterSha: () => Promise<string> };
    const original = train.masterSha.bind(f.server.train);
    let entered: () => void = () => undefined;
    let release: () => void = () => undefined;
    const inCertify = new Promise<void>((r) => (entered = r));
    const gate = new Promise<void>((r) => (release = r));
    await h.idle();
    train.masterSha = async () => {
      train.masterSha = original;
      entered();
      await gate;
      return original();
    };
    try {
      const masterBefore = await h.deployRef(alice, 1).then(() => gitOk(alice, ['ls-remote', 'origin', 'refs/heads/master']));
      const certify = f.server.train.execute({ type: 'CertifyPush', push: 1 as PushId, force: false }, userActor('pm', { pushmaster: true }));
      await inCertify;
      const built = (await h.push(1)).deploySha;
      const removed = await h.cli('pm', ['push', 'remove', '1', String(ids.a), '--reason', 'pulled while certifying']);
      expect(removed.code, removed.stderr).toBe(0);
      await h.idle();
      const rebuilt = (await h.push(1)).deploySha;
      expect(rebuilt).not.toBe(built);
      release();
      const out = await certify;
      expect('code' in out ? out.code : `certified, master ${(await h.push(1)).tag}`).toBe('deploy-branch-stale');
      expect(await gitOk(alice, ['ls-remote', 'origin', 'refs/heads/master'])).toBe(masterBefore);
      expect(await h.push(1)).toMatchObject({ state: 'blessed', deploySha: rebuilt });
      expect(await h.deployRef(alice, 1)).toBe(rebuilt);
    } finally {
      release();
      delete (train as { masterSha?: unknown }).masterSha;
    }
  });

  it('push discard: its requests wait again and its deploy branch is deleted', async () => {
    expect(await h.deployRef(alice, 1)).not.toBeNull();
    const r = await h.cli('pm', ['push', 'discard', '1', '--reason', 'ran out of time']);
    expect(r.code).toBe(0);
    const board = await h.board();
    expect(board.pushes.find((p) => p.id === 1)!.state).toBe('discarded');
    for (const id of [ids.a, ids.x]) expect(board.requests.find((q) => q.id === id)).toMatchObject({ state: 'requested', push: null });
    expect(await h.deployRef(alice, 1)).toBeNull();
    // And a new push may open now.
    expect((await h.cli('pm', ['push', 'open', '--title', 'Tue 16:00'])).code).toBe(0);
  });

  describe('ref names that try to reach a shell', () => {
    const marker = `/tmp/pwned-${process.pid}-${Date.now()}`;
    const NAMES = [
      `it's"quoted"`,
      `$(touch\${IFS}${marker})`,
      `x;touch\${IFS}${marker};y`,
      `\`touch\${IFS}${marker}\``,
      `ünïcødé/分支-✓`,
      `a|b&c<d>e`,
      'n'.repeat(200),
    ];

    it('each is a request whose ref is exactly the name, pushed together in one git push, and nothing runs', async () => {
      const refspecs: string[] = [];
      const shas: string[] = [];
      for (const [i, name] of NAMES.entries()) {
        shas.push(await h.commit(alice, `weird-${i}`, { [`weird-${i}.txt`]: `${name}\n` }));
        refspecs.push(`weird-${i}:refs/pushreq/${name}`);
      }
      const r = await git(alice, ['push', 'origin', ...refspecs]);
      expect(r.code, r.stderr).toBe(0);
      const board = await h.board();
      for (const [i, name] of NAMES.entries()) expect(board.requests.find((q) => q.ref === `refs/pushreq/${name}`), name).toMatchObject({ user: 'alice', state: 'pickme', sha: shas[i] });
      const listed = (await gitOk(alice, ['ls-remote', 'origin', 'refs/pushreq/*'])).split('\n').map((l) => l.split('\t')[1]);
      for (const name of NAMES) expect(listed).toContain(`refs/pushreq/${name}`);
      const show = await h.cli('alice', ['request', 'show', String(board.requests.find((q) => q.ref === `refs/pushreq/${NAMES[1]}`)!.id)]);
      expect(show.code).toBe(0);
      expect(show.stdout).toContain(`ref refs/pushreq/${NAMES[1]} at`);
      expect(existsSync(marker)).toBe(false);
    });

    it('accepted, merged with its name in the message, shown, withdrawn: still nothing runs', async () => {
      const board = await h.board();
      const weird = board.requests.filter((q) => NAMES.some((n) => q.ref === `refs/pushreq/${n}`));
      expect(weird).toHaveLength(NAMES.length);
      const push = board.pushes.find((p) => p.state === 'accepting')!;
      expect((await h.cli('pm', ['push', 'accept', String(push.id), ...weird.map((q) => String(q.id))])).code).toBe(0);
      await gitOk(alice, ['fetch', '-q', 'origin', `deploy/push-${push.id}`]);
      const log = await gitOk(alice, ['log', '--format=%B', 'FETCH_HEAD']);
      for (const n of NAMES) expect(log).toContain(`Ref: refs/pushreq/${n}`);
      expect((await h.cli('pm', ['status'])).code).toBe(0);
      const del = await git(alice, ['push', 'origin', `:refs/pushreq/${NAMES[1]}`]);
      expect(del.code, del.stderr).toBe(0);
      await h.idle();
      expect((await h.req(weird[1]!.id)).state).toBe('discarded');
      await gitOk(alice, ['fetch', '-q', 'origin', `deploy/push-${push.id}`]);
      expect(await gitOk(alice, ['log', '--format=%B', 'FETCH_HEAD'])).not.toContain(`Ref: refs/pushreq/${NAMES[1]}\n`);
      expect(await h.deployRef(alice, push.id)).toBe((await h.push(push.id)).deploySha);
      expect(existsSync(marker)).toBe(false);
    });

    it('a 201-character name is refused clearly; a name with a space is refused by git itself', async () => {
      await h.commit(alice, 'too-long', { 'long.txt': 'long\n' });
      const long = await git(alice, ['push', 'origin', `too-long:refs/pushreq/${'n'.repeat(201)}`]);
      expect(long.code).not.toBe(0);
      expect(long.stderr).toMatch(/the ref name is 201 characters; at most 200/);
      const spaced = await git(alice, ['push', 'origin', 'too-long:refs/pushreq/has space']);
      expect(spaced.code).not.toBe(0);
      expect(spaced.stderr).toMatch(/not a valid|invalid|bad/i);
      expect((await h.board()).requests.some((q) => q.ref.includes('has space') || q.ref.endsWith('n'.repeat(201)))).toBe(false);
    });
  });
});

describe('a clean train of 5 requests through certify', () => {
  let f: Fixture;
  const clones: Record<string, string> = {};
  const h = helpers(() => f);
  const reqs: { id: number; user: string; sha: string }[] = [];
  let leftover = 0;
  let oldMaster = '';
  const today = () => new Date().toISOString().slice(0, 10).replace(/-/g, '');
  let startDay = '';

  beforeAll(async () => {
    startDay = today();
    f = await startFixture();
    for (const u of ['alice', 'bob', 'carol']) clones[u] = await f.clone(u);
  });
  afterAll(async () => f?.close());

  it('five requests and a left-over wait; pm opens the push; out-of-order steps and wrong users are refused', async () => {
    oldMaster = await gitOk(clones.alice!, ['rev-parse', 'origin/master']);
    const plan: [string, string, Record<string, string>][] = [
      ['alice', 'readme', { 'README.md': '# main, deployed by trains\n\nManaged by Pushmanager.\n' }],
      ['bob', 'api', { 'api/handler.txt': 'v2\n' }],
      ['carol', 'ui', { 'ui/page.txt': 'new page\n' }],
      ['alice', 'docs', { 'docs/guide.txt': 'guide\n' }],
      ['bob', 'db', { 'db/migration.txt': 'add column\n' }],
    ];
    plan.push(['carol', 'later', { 'later.txt': 'later\n' }]);
    // One git push per user, several refs each.
    const shas = new Map<string, string>();
    for (const [user, name, files] of plan) shas.set(name, await commitOn(clones[user]!, name, files));
    await Promise.all(
      ['alice', 'bob', 'carol'].map(async (user) => {
        const names = plan.filter(([u]) => u === user).map(([, n]) => n);
        const r = await git(clones[user]!, ['push', 'origin', ...names.map((n) => `${n}:refs/pushreq/${n}`)]);
        expect(r.code, r.stderr).toBe(0);
      }),
    );
    const waiting = (await h.board()).requests;
    for (const [user, name] of plan) {
      const r = waiting.find((q) => q.ref === `refs/pushreq/${name}`)!;
      expect(r).toMatchObject({ user, state: 'requested', sha: shas.get(name) });
      if (name === 'later') leftover = r.id;
      else reqs.push({ id: r.id, user, sha: r.sha });
    }
    reqs.sort((a, b) => a.id - b.id);
    expect((await h.cli('pm', ['push', 'open', '--title', 'Tue 14:00', '--type', 'regular'])).code).toBe(0);
    expect((await h.push(1)).requests).toEqual([...reqs.map((r) => r.id), leftover].sort((a, b) => a - b));

    const stage = await h.cli('pm', ['push', 'stage', '1', '--env', 'stage-a']);
    expect([stage.code, stage.stderr]).toEqual([1, expect.stringMatching(/push 1 has no accepted request to stage \[nothing-to-do\]/)]);
    const bobs = reqs.find((r) => r.user === 'bob')!.id;
    const bobAccepts = await h.cli('bob', ['push', 'accept', '1', String(bobs)]);
    expect(bobAccepts.code).toBe(1);
    expect(bobAccepts.stderr).toMatch(/bob is not the pushmaster of push 1 \(pm is\).*\[not-pushmaster-of-push\]/);
    expect((await h.req(bobs)).state).toBe('pickme');
  });

  it('accept all five in one call, stage, each owner verifies, bless', async () => {
    expect((await h.cli('pm', ['push', 'accept', '1', ...reqs.map((r) => String(r.id))])).code).toBe(0);
    const early = await h.cli('pm', ['push', 'certify', '1']);
    expect([early.code, early.stderr]).toEqual([1, expect.stringMatching(/push 1 is accepting; cannot certify push 1.*\[illegal-transition\]/)]);
    const stage = await h.cli('pm', ['push', 'stage', '1', '--env', 'stage-a']);
    expect(stage.code, stage.stderr).toBe(0);
    expect(await h.push(1)).toMatchObject({ state: 'staged', stageEnv: 'stage-a' });
    for (const r of reqs) expect((await h.req(r.id)).state).toBe('staged');
    // Nobody verifies someone else's change.
    const other = await h.cli('carol', ['request', 'verify', String(reqs.find((r) => r.user !== 'carol')!.id)]);
    expect([other.code, /\[not-owner-or-watcher\]/.test(other.stderr)]).toEqual([1, true]);
    const verified = await Promise.all(reqs.map((r) => h.cli(r.user, ['request', 'verify', String(r.id)])));
    expect(verified.map((v) => v.code)).toEqual([0, 0, 0, 0, 0]);
    for (const r of reqs) expect((await h.req(r.id)).state).toBe('verified');
    const bless = await h.cli('pm', ['push', 'bless', '1']);
    expect(bless.code, bless.stderr).toBe(0);
    expect((await f.client('pm').pushDetail(1)).push).toMatchObject({ state: 'blessed' });
  });

  it('while push 1 is out, push 2 opens and accepts a request on the old master', async () => {
    expect(await h.outcome('pm', { type: 'OpenPush', title: 'Tue 16:00', pushType: 'regular' })).toBe('ok');
    const next = await h.request(clones.carol!, 'next', { 'next.txt': 'next\n' });
    expect(next.remote).toMatch(/state: pickme of push 2 "Tue 16:00"/);
    expect(await h.outcome('pm', { type: 'AcceptRequests', push: 2, requests: [next.id] })).toBe('ok');
    expect(await h.push(2)).toMatchObject({ state: 'accepting', baseSha: oldMaster });
  });

  it('certify: alice may not; pm does: master is the deploy branch, an annotated tag, requests live, refs retired', async () => {
    const aliceCertifies = await h.cli('alice', ['push', 'certify', '1']);
    expect(aliceCertifies.code).toBe(1);
    expect(aliceCertifies.stderr).toMatch(/\[not-pushmaster-of-push\]/);
    const deploySha = (await h.push(1)).deploySha!;
    expect(await h.deployRef(clones.alice!, 1)).toBe(deploySha);

    const r = await h.cli('pm', ['push', 'certify', '1']);
    expect(r.code, r.stderr).toBe(0);
    await h.idle();
    const work = clones.alice!;
    const master = (await gitOk(work, ['ls-remote', 'origin', 'refs/heads/master'])).split('\t')[0];
    expect(master).toBe(deploySha);
    const push = await h.push(1);
    expect(push.state).toBe('live');
    expect([`push-${startDay}-1`, `push-${today()}-1`]).toContain(push.tag);
    await gitOk(work, ['fetch', '-q', '--tags', 'origin', 'master']);
    expect(await gitOk(work, ['cat-file', '-t', push.tag!])).toBe('tag');
    expect(await gitOk(work, ['rev-parse', `${push.tag!}^{commit}`])).toBe(master);
    expect(await gitOk(work, ['cat-file', '-p', push.tag!])).toMatch(/Push 1: Tue 14:00 \(regular\), pushmaster pm/);
    const log = await gitOk(work, ['log', '--merges', '--format=%s', 'origin/master']);
    for (const q of reqs) expect(log).toMatch(new RegExp(`^Merge request ${q.id} .* into push 1$`, 'm'));
    expect(await gitOk(work, ['show', 'origin/master:README.md'])).toMatch(/deployed by trains/);
    expect(await h.deployRef(work, 1)).toBeNull();

    const board = await h.board();
    for (const q of reqs) expect(board.requests.find((x) => x.id === q.id)!.state).toBe('live');
    expect(board.requests.find((x) => x.id === leftover)).toMatchObject({ state: 'requested', push: null });
    const refs = await gitOk(work, ['ls-remote', 'origin', 'refs/pushreq/*']);
    expect(refs.split('\n').map((l) => l.split('\t')[1]).sort()).toEqual(['refs/pushreq/later', 'refs/pushreq/next']);

    // Master moved: the open push 2 was rebuilt on it in the background.
    const push2 = await h.push(2);
    expect(push2.baseSha).toBe(master);
    expect(await h.deployRef(work, 2)).toBe(push2.deploySha);
    await gitOk(work, ['fetch', '-q', 'origin', 'deploy/push-2']);
    expect((await git(work, ['merge-base', '--is-ancestor', master!, 'FETCH_HEAD'])).code).toBe(0);
  });

  it('a request based on the old master that edits the same lines conflicts with master', async () => {
    const work = clones.bob!;
    await gitOk(work, ['checkout', '-q', '-B', 'stale', oldMaster]);
    await writeFile(`${work}/README.md`, '# main, edited on an old master\n\nManaged by Pushmanager.\n');
    await gitOk(work, ['commit', '-q', '-am', 'edit the readme on the old master']);
    const r = await git(work, ['push', 'origin', 'stale:refs/pushreq/stale']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/remote: +CONFLICT with master in README\.md/);
    await h.idle();
    const req = (await h.board()).requests.find((q) => q.ref === 'refs/pushreq/stale')!;
    expect(req.conflicts).toEqual([{ with: 'master', files: ['README.md'] }]);
    expect(req.tags).toContain('conflict-master');
    // The left-over is re-checked against the new master and stays clean.
    expect((await h.req(leftover)).tags).toContain('no-conflicts');
  });
});
