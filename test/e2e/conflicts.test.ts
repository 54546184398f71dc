// Issue 13, items 2 and 6, end to end with the real git CLI against the real server: who a conflict is
// charged to (the request already in the deploy branch wins; a request in conflict with master is
// judged against master only), the submodule fast-forward guard, and the request's description in its
// merge commit on the deploy branch.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitCli } from '../../server/git/git-cli.js';
import type { StatusView } from '../../state/status-view.js';
import { commitFiles, fixedEnv } from '../helpers/git-fixtures.js';
import { commitOnBranch, git, gitOk, startFixture, type Fixture } from '../helpers/server-fixture.js';

type Req = StatusView['requests'][number];

function helpers(fx: () => Fixture) {
  const h = {
    board: () => fx().client('pm').board(true),
    req: async (id: number): Promise<Req> => (await h.board()).requests.find((r) => r.id === id)!,
    idle: () => fx().server.train.idle(),
    /** Pushes `branch` (already committed in `work`) to refs/pushreq/<branch>; the request id and the remote: text. */
    async push(work: string, branch: string, opts: string[] = []) {
      const r = await git(work, ['push', 'origin', `${branch}:refs/pushreq/${branch}`, ...opts]);
      if (r.code !== 0) throw new Error(`push of ${branch} failed: ${r.stderr}`);
      const id = Number(/request (\d+) ".*" opened/.exec(r.stderr)?.[1]);
      expect(id).toBeGreaterThan(0);
      return { id, remote: r.stderr };
    },
    async request(work: string, branch: string, files: Record<string, string>, opts: string[] = []) {
      await commitOnBranch(work, branch, files);
      return h.push(work, branch, opts);
    },
    /** The conflict notices sent so far (the default log channel), as [recipients, text]. */
    async conflictNotices(): Promise<[string[], string][]> {
      const text = await readFile(join(fx().dir, 'data', 'notifications.log'), 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { to: string | string[]; subject: string; text: string })
        .filter((n) => n.subject.includes('Conflict:'))
        .map((n) => [[n.to].flat(), n.text]);
    },
  };
  return h;
}

describe('the request already in the deploy branch wins a pair conflict; descriptions go into merge commits', () => {
  let f: Fixture;
  let alice: string;
  let bob: string;
  const h = helpers(() => f);

  beforeAll(async () => {
    f = await startFixture();
    [alice, bob] = await Promise.all([f.clone('alice'), f.clone('bob')]);
    await f.client('pm').command({ type: 'OpenPush', title: 'Tue 14:00', pushType: 'regular' });
  });
  afterAll(async () => f?.close());

  it('a later pickme that clashes with an accepted request is the one marked and told, naming the accepted one', async () => {
    const a = await h.request(alice, 'a-login', { 'shared.txt': 'one\ntwo from alice\nthree\n' }, ['-o', 'title=Fix login']);
    await f.client('pm').command({ type: 'AcceptRequests', push: 1, requests: [a.id] });
    await h.idle();
    expect(await h.req(a.id)).toMatchObject({ state: 'added', conflicts: [], tags: ['no-conflicts'] });

    const b = await h.request(bob, 'b-login', { 'shared.txt': 'one\ntwo from bob\nthree\n' });
    expect(b.remote).toMatch(new RegExp(`remote: +CONFLICT with request ${a.id} \\(alice, "Fix login"\\) in shared\\.txt`));
    await h.idle();
    const [ra, rb] = [await h.req(a.id), await h.req(b.id)];
    expect([ra.conflicts, ra.tags]).toEqual([[], ['no-conflicts']]);
    expect([rb.conflicts, rb.tags]).toEqual([[{ with: a.id, files: ['shared.txt'] }], ['conflict-pickme']]);
    // Bob is told to rebase, naming alice's request; alice is told nothing.
    const notices = await h.conflictNotices();
    expect(notices.filter(([to]) => to.some((t) => t.startsWith('alice')))).toEqual([]);
    expect(notices.filter(([to]) => to.some((t) => t.startsWith('bob'))).map(([, text]) => text)).toEqual([expect.stringContaining(`conflicts with request #${a.id} "Fix login" by alice (shared.txt)`)]);
  });

  it("the description follows the title line in the request's merge commit, multi-line and odd characters intact", async () => {
    const description = [
      '',
      'Fixes the login form when the password has a "quote" or a \'tick\'.',
      '',
      '  - $(touch /tmp/pwned) `backticks`; semicolons & ampersands | pipes',
      '\tünïcødé 日本語 ✓, trailing spaces   ',
      '# not a comment',
      'Request: 999 (looks like ours, but is the description)',
      '',
      '',
    ].join('\n');
    const c = await h.request(alice, 'c-form', { 'form.txt': 'form\n' }, ['-o', 'title=Login form']);
    await f.client('alice').command({ type: 'EditRequest', request: c.id, description });
    // A one-line description as a push option.
    const d = await h.request(bob, 'd-colour', { 'colour.txt': 'red\n' }, ['-o', 'title=Colours', '-o', 'description=Makes it "red" ($(echo red); `red`) — rouge, 赤']);
    await f.client('pm').command({ type: 'AcceptRequests', push: 1, requests: [c.id, d.id] });
    await gitOk(alice, ['fetch', '-q', 'origin', 'deploy/push-1']);
    // Exactly what git log prints, untrimmed: each message, NUL, then log's own newline.
    const log = (await git(alice, ['log', '--first-parent', '--merges', '--format=%B%x00', 'FETCH_HEAD'])).stdout;
    expect(log.split('\0\n')).toEqual([
      [
        `Merge request ${d.id} "Colours" (bob) into push 1`,
        '',
        'Makes it "red" ($(echo red); `red`) — rouge, 赤',
        '',
        `Request: ${d.id}`,
        'Owner: bob',
        'Ref: refs/pushreq/d-colour',
        'Push: 1 Tue 14:00',
        '',
      ].join('\n'),
      [
        `Merge request ${c.id} "Login form" (alice) into push 1`,
        '',
        'Fixes the login form when the password has a "quote" or a \'tick\'.',
        '',
        '  - $(touch /tmp/pwned) `backticks`; semicolons & ampersands | pipes',
        '\tünïcødé 日本語 ✓, trailing spaces',
        '# not a comment',
        'Request: 999 (looks like ours, but is the description)',
        '',
        `Request: ${c.id}`,
        'Owner: alice',
        'Ref: refs/pushreq/c-form',
        'Push: 1 Tue 14:00',
        '',
      ].join('\n'),
      // No description: the title line, then the machine-readable lines as before.
      ['Merge request 1 "Fix login" (alice) into push 1', '', 'Request: 1', 'Owner: alice', 'Ref: refs/pushreq/a-login', 'Push: 1 Tue 14:00', ''].join('\n'),
      '',
    ]);
    // The trailer block is still ours: git reads the request id from it, not the description's look-alike.
    expect(await gitOk(alice, ['log', '--first-parent', '--merges', '--format=%(trailers:key=Request,valueonly)', 'FETCH_HEAD'])).toBe(`${d.id}\n\n${c.id}\n\n1`);
  });
});

describe('a request in conflict with master is judged against master only; submodules move only forward', () => {
  let f: Fixture;
  let alice: string;
  let bob: string;
  let carol: string;
  let managed: GitCli;
  /** The submodule's commits, held in the managed repo under refs/submodules/sub/* (as an operator's mirror would). */
  const subs: Record<'s0' | 'm' | 'ff' | 'side', string> = { s0: '', m: '', ff: '', side: '' };
  const ids: Record<string, number> = {};
  const h = helpers(() => f);
  const short = (sha: string) => sha.slice(0, 12);

  /** Moves master in the managed repository, as an upstream fetch would; returns the new SHA. */
  async function moveMaster(files: Parameters<typeof commitFiles>[1]['files'], message: string): Promise<string> {
    const old = await managed.out(['rev-parse', 'refs/heads/master']);
    const sha = await commitFiles(managed, { parents: [old], files, message });
    await managed.run(['update-ref', 'refs/heads/master', sha, old]);
    return sha;
  }
  /** Commits on a new branch from origin/master that points `sub` at `target` (and changes `files`). */
  async function moveSubmodule(work: string, branch: string, target: string, files: Record<string, string> = {}) {
    await gitOk(work, ['fetch', '-q', 'origin']);
    await gitOk(work, ['checkout', '-q', '-B', branch, 'origin/master']);
    // No submodule checkout is needed: the index entry is the gitlink.
    await gitOk(work, ['update-index', '--cacheinfo', `160000,${target},sub`]);
    for (const [p, c] of Object.entries(files)) {
      await writeFile(join(work, p), c);
      await gitOk(work, ['add', p]);
    }
    await gitOk(work, ['commit', '-q', '-m', `move sub to ${short(target)}`]);
  }

  beforeAll(async () => {
    f = await startFixture();
    managed = new GitCli(f.server.repo.gitDir, fixedEnv());
    subs.s0 = await commitFiles(managed, { files: { 'lib.c': 'zero\n' }, message: 'sub: zero' });
    subs.m = await commitFiles(managed, { parents: [subs.s0], files: { 'lib.c': 'one\n' }, message: 'sub: one' });
    subs.ff = await commitFiles(managed, { parents: [subs.m], files: { 'lib.c': 'two\n' }, message: 'sub: two', ref: 'refs/submodules/sub/master' });
    subs.side = await commitFiles(managed, { parents: [subs.s0], files: { 'lib.c': 'side\n' }, message: 'sub: side', ref: 'refs/submodules/sub/side' });
    await moveMaster({ 'd.txt': 'one\ntwo\nthree\n', 'c.txt': numbered('c') }, 'd.txt and c.txt');
    [alice, bob, carol] = await Promise.all([f.clone('alice'), f.clone('bob'), f.clone('carol')]);
  });
  afterAll(async () => f?.close());
  const numbered = (p: string) => Array.from({ length: 10 }, (_, i) => `${p} line ${i + 1}`).join('\n') + '\n';

  it("a rename-only or submodule-only pickme is not charged with another request's own conflict with master", async () => {
    // Bob branches, then master rewrites d.txt's first line (and gains the submodule): bob's change now conflicts with master.
    ids.q = (await h.request(bob, 'q-old-base', { 'd.txt': 'one from bob\ntwo\nthree\n' })).id;
    await moveMaster({ 'd.txt': 'one from master\ntwo\nthree\n', sub: { submodule: subs.m } }, 'master moves on, with a submodule');
    await f.client('pm').command({ type: 'OpenPush', title: 'Wed 10:00', pushType: 'regular' });
    // Carol only renames a file; alice only moves the submodule forward. Neither touches d.txt.
    await gitOk(carol, ['fetch', '-q', 'origin']);
    await gitOk(carol, ['checkout', '-q', '-B', 'p-rename', 'origin/master']);
    await gitOk(carol, ['mv', 'c.txt', 'moved-c.txt']);
    await gitOk(carol, ['commit', '-q', '-m', 'rename c.txt']);
    const p = await h.push(carol, 'p-rename');
    ids.p = p.id;
    expect(p.remote).toMatch(/remote: +conflicts: none \(no-conflicts\)/);
    await moveSubmodule(alice, 's-bump', subs.ff);
    const s = await h.push(alice, 's-bump');
    ids.s = s.id;
    expect(s.remote).toMatch(/remote: +conflicts: none \(no-conflicts\)/);
    await h.idle();
    for (const id of [ids.p, ids.s]) expect(await h.req(id)).toMatchObject({ state: 'pickme', conflicts: [], tags: ['no-conflicts'] });
    expect(await h.req(ids.q)).toMatchObject({ state: 'pickme', conflicts: [{ with: 'master', files: ['d.txt'] }], tags: ['conflict-master'] });
  });

  it('a submodule moved to a commit that is not a fast-forward of master\'s conflicts with master, naming the path and both SHAs', async () => {
    await moveSubmodule(bob, 't-sideways', subs.side);
    const t = await h.push(bob, 't-sideways');
    const reason = `Submodule sub is not a fast-forward of ${short(subs.m)} (master's commit): the request moves it to ${short(subs.side)}`;
    expect(t.remote).toContain(`remote:   CONFLICT with master in sub: ${reason}`);
    // A rewind is no fast-forward either, also beside other changes.
    await moveSubmodule(carol, 'u-rewind', subs.s0, { 'e.txt': 'e\n' });
    const u = await h.push(carol, 'u-rewind');
    expect(u.remote).toContain(`CONFLICT with master in sub: Submodule sub is not a fast-forward of ${short(subs.m)} (master's commit): the request moves it to ${short(subs.s0)}`);
    // A commit the managed repository does not hold cannot be shown to be a fast-forward: a conflict too, saying so.
    const missing = '5'.repeat(40);
    await moveSubmodule(alice, 'v-unknown', missing);
    const v = await h.push(alice, 'v-unknown');
    expect(v.remote).toContain(`CONFLICT with master in sub: Submodule sub moves to ${short(missing)}, which the managed repository does not hold: it cannot be shown to be a fast-forward of ${short(subs.m)} (master's commit)`);
    await h.idle();
    const board = await h.board();
    const byId = (id: number) => board.requests.find((r) => r.id === id)!;
    expect(byId(t.id)).toMatchObject({ conflicts: [{ with: 'master', files: ['sub'], reason }], tags: ['conflict-master'] });
    expect(byId(u.id).tags).toEqual(['conflict-master']);
    expect(byId(v.id).tags).toEqual(['conflict-master']);
    // The forward bump stays clean beside them: their submodule clash with it is theirs, with master.
    expect(byId(ids.s!)).toMatchObject({ conflicts: [], tags: ['no-conflicts'] });
    // Bob hears why.
    expect((await h.conflictNotices()).filter(([to]) => to.some((x) => x.startsWith('bob'))).map(([, text]) => text)).toContainEqual(expect.stringContaining(`master (sub): ${reason}`));
  });
});
