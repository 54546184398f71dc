// Issue 2 end to end: the real git CLI against the real server, every intake behaviour and refusal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userActor } from '../../state/decide.js';
import { cli, git, gitOk, startFixture, type Fixture } from '../helpers/server-fixture.js';

let f: Fixture;
let alice: string;
let bob: string;

beforeAll(async () => {
  f = await startFixture();
  alice = await f.clone('alice');
  bob = await f.clone('bob');
});
afterAll(async () => f?.close());

const board = () => f.client('alice').board(true);
/** The board's version once the train's background commits (conflict findings, rebuilds) have landed. */
const settledVersion = async () => {
  await f.server.train.idle();
  return (await board()).version;
};
const requestByRef = async (ref: string) => (await board()).requests.find((r) => r.ref === ref && !['discarded', 'live'].includes(r.state));

describe('intake over git', () => {
  it('opens a request from a push with options, owned by the pusher, answering on remote: lines', async () => {
    const sha = await f.commit(alice, 'fix-login', { 'login.txt': 'fixed\n' });
    const r = await git(alice, ['push', 'origin', 'fix-login:refs/pushreq/fix-login', '-o', 'title=Fix login', '-o', 'tags=urgent,fix', '-o', 'watchers=bob', '-o', 'review=1234', '-o', 'ticket=WEB-42']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/remote: Pushmanager: request \d+ "Fix login" opened for alice/);
    expect(r.stderr).toMatch(/remote: +state: requested/);
    const req = await requestByRef('refs/pushreq/fix-login');
    expect(req).toMatchObject({ user: 'alice', title: 'Fix login', sha, state: 'requested', review: '1234', ticket: 'WEB-42', watchers: ['bob'] });
    expect(req!.tags).toEqual(expect.arrayContaining(['urgent', 'fix']));
    expect(await gitOk(alice, ['ls-remote', 'origin', 'refs/pushreq/fix-login'])).toContain(sha);
  });

  it('updates the SHA on a new push and on a force-push, and says so', async () => {
    await gitOk(alice, ['checkout', '-q', 'fix-login']);
    await gitOk(alice, ['commit', '-q', '--allow-empty', '-m', 'more']);
    const newSha = await gitOk(alice, ['rev-parse', 'HEAD']);
    const r = await git(alice, ['push', 'origin', 'fix-login:refs/pushreq/fix-login']);
    expect(r.stderr).toMatch(/remote: Pushmanager: request \d+ "Fix login" updated [0-9a-f]{10} -> [0-9a-f]{10}/);
    expect((await requestByRef('refs/pushreq/fix-login'))!.sha).toBe(newSha);
    await gitOk(alice, ['commit', '-q', '--amend', '--allow-empty', '-m', 'rewritten']);
    const forced = await git(alice, ['push', '--force', 'origin', 'fix-login:refs/pushreq/fix-login']);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toMatch(/\(forced\)/);
    expect((await requestByRef('refs/pushreq/fix-login'))!.sha).toBe(await gitOk(alice, ['rev-parse', 'HEAD']));
  });

  it("refuses a push to another user's request ref, naming the owner, and records nothing", async () => {
    const before = await settledVersion();
    await f.commit(bob, 'bobs', { 'bob.txt': 'bob\n' });
    const r = await git(bob, ['push', '--force', 'origin', 'bobs:refs/pushreq/fix-login']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/\[remote rejected\].*belongs to alice's request/);
    expect(await settledVersion()).toBe(before);
  });

  it.each([
    ['refs/heads/master', /master is written only by pushmanager/],
    ['refs/heads/deploy/push-1', /deploy branches are built only by pushmanager/],
    ['refs/tags/v1', /tags are made only by pushmanager/],
    ['refs/heads/pushmanager/meta', /metadata branch is written only by the pushmanager server/],
    ['refs/heads/some-branch', /takes branches only as push requests/],
  ])('refuses a client push to %s with a clear reason', async (ref, reason) => {
    const before = await settledVersion();
    const refBefore = (await git(bob, ['ls-remote', 'origin', ref])).stdout;
    await f.commit(bob, 'prot', { 'p.txt': `${ref}\n` });
    const r = await git(bob, ['push', '--force', 'origin', `prot:${ref}`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(reason);
    expect(r.stderr).toMatch(/\[remote rejected\]/);
    expect(await settledVersion()).toBe(before);
    expect((await git(bob, ['ls-remote', 'origin', ref])).stdout).toBe(refBefore);
  });

  it.each([
    [['-o', 'colour=red'], /push option "colour": unknown option/],
    [['-o', 'tags=ok,bad tag'], /push option "tags": "bad tag" is not a tag/],
    [['-o', 'tags=conflict-master'], /push option "tags": "conflict-master" is set only by the server/],
    [['-o', 'watchers=nobody-here'], /push option "watchers": no user "nobody-here"/],
    [['-o', 'review=abc'], /push option "review": "abc" is not a review number/],
  ])('refuses malformed push options %j, naming the option, recording nothing', async (opts, reason) => {
    const before = await settledVersion();
    await f.commit(bob, 'opts', { 'o.txt': opts.join(' ') });
    const r = await git(bob, ['push', 'origin', 'opts:refs/pushreq/opts', ...opts]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(reason);
    expect(await settledVersion()).toBe(before);
    expect((await git(bob, ['ls-remote', '--exit-code', 'origin', 'refs/pushreq/opts'])).code).not.toBe(0);
  });

  it('reports every bad push option in one refusal, not only the first', async () => {
    const before = await settledVersion();
    await f.commit(bob, 'opts-many', { 'om.txt': 'many\n' });
    const r = await git(bob, ['push', 'origin', 'opts-many:refs/pushreq/opts-many', '-o', 'colour=red', '-o', 'review=abc', '-o', 'title=fine', '-o', 'watchers=nobody-here', '-o', 'ticket=??']);
    expect(r.code).not.toBe(0);
    const line = r.stderr.split('\n').find((l) => l.includes('[remote rejected]')) ?? '';
    for (const why of [/push option "colour": unknown option/, /push option "review": "abc" is not a review number/, /push option "watchers": no user "nobody-here"/, /push option "ticket": "\?\?" is not a ticket key/]) expect(line).toMatch(why);
    expect(line).not.toMatch(/"title"/);
    expect(await settledVersion()).toBe(before);
  });

  it.each([
    [['-o', 'title=a', '-o', 'title=b'], /push option "title": given more than once; give it once/],
    [['-o', 'tags=x', '-o', 'tags=y'], /push option "tags": given more than once; give it once, several values comma-separated: -o tags=a,b/],
  ])('refuses a repeated push option %j, naming it', async (opts, reason) => {
    const before = await settledVersion();
    await f.commit(bob, 'opts-twice', { 'ot.txt': opts.join(' ') });
    const r = await git(bob, ['push', 'origin', 'opts-twice:refs/pushreq/opts-twice', ...opts]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(reason);
    expect(await settledVersion()).toBe(before);
    expect((await git(bob, ['ls-remote', '--exit-code', 'origin', 'refs/pushreq/opts-twice'])).code).not.toBe(0);
  });

  it('withdraws a request when its ref is deleted, recording the reason', async () => {
    await f.commit(alice, 'temp', { 't.txt': 'temp\n' });
    await gitOk(alice, ['push', '-q', 'origin', 'temp:refs/pushreq/temp']);
    const id = (await requestByRef('refs/pushreq/temp'))!.id;
    const r = await git(alice, ['push', 'origin', ':refs/pushreq/temp']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/withdrawn \(discarded: withdrawn by alice/);
    const req = (await board()).requests.find((x) => x.id === id)!;
    expect(req.state).toBe('discarded');
    expect(req.reason).toMatch(/withdrawn by alice/);
    expect((await git(alice, ['ls-remote', '--exit-code', 'origin', 'refs/pushreq/temp'])).code).not.toBe(0);
  });

  it('asks for credentials: no or wrong credentials cannot push or fetch', async () => {
    const anon = f.remote('alice').replace('alice:alice@', '');
    const r = await git(f.dir, ['ls-remote', anon]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Authentication failed|could not read Username|401/);
    const wrong = await git(f.dir, ['ls-remote', f.remote('alice').replace('alice:alice@', 'alice:nope@')]);
    expect(wrong.code).not.toBe(0);
  });
});

describe('the board from the CLI and the metadata branch', () => {
  it('status --json prints the SPEC §5 fields', async () => {
    const r = await cli(f.server.url, 'alice', ['status', '--json']);
    expect(r.code).toBe(0);
    const v = JSON.parse(r.stdout) as { pushes: unknown[]; requests: Record<string, unknown>[] };
    expect(Array.isArray(v.pushes)).toBe(true);
    const req = v.requests.find((x) => x.ref === 'refs/pushreq/fix-login')!;
    for (const k of ['id', 'user', 'title', 'ref', 'sha', 'state', 'push', 'tags', 'conflicts']) expect(req).toHaveProperty(k);
  });

  it('status prints the board for people; request show prints history from the metadata branch', async () => {
    const s = await cli(f.server.url, 'bob', ['status']);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/Fix login/);
    const id = (await requestByRef('refs/pushreq/fix-login'))!.id;
    const show = await cli(f.server.url, 'bob', ['request', 'show', String(id)]);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/History \(metadata branch\):/);
    expect(show.stdout).toMatch(/alice +Open request \d+: Fix login/);
    expect(show.stdout).toMatch(/alice +Update refs\/pushreq\/fix-login/);
  });

  it('new options on an unchanged ref never reach the server; request show says how to change details instead', async () => {
    const sha = await f.commit(alice, 'details', { 'details.txt': 'd\n' });
    await gitOk(alice, ['push', '-q', 'origin', 'details:refs/pushreq/details', '-o', 'title=First title']);
    const id = (await requestByRef('refs/pushreq/details'))!.id;
    const again = await git(alice, ['push', 'origin', 'details:refs/pushreq/details', '-o', 'title=Second title']);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/Everything up-to-date/);
    expect(again.stderr).not.toMatch(/remote:/);
    expect(await requestByRef('refs/pushreq/details')).toMatchObject({ sha, title: 'First title' });
    const show = await cli(f.server.url, 'alice', ['request', 'show', String(id)]);
    expect(show.stdout).toMatch(new RegExp(`change details: pushmanager request edit ${id} --title`));
    expect((await cli(f.server.url, 'alice', ['request', 'edit', String(id), '--title', 'Second title'])).code).toBe(0);
    expect((await requestByRef('refs/pushreq/details'))!.title).toBe('Second title');
  });

  it('exit codes: 2 for usage errors, 1 for refusals with the reason on stderr', async () => {
    expect((await cli(f.server.url, 'alice', ['request', 'show', 'abc'])).code).toBe(2);
    expect((await cli(f.server.url, 'alice', ['frobnicate'])).code).toBe(2);
    const refused = await cli(f.server.url, 'alice', ['push', 'open', '--title', 'mine']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/alice is not in the pushmaster group.*\[not-pushmaster\]/);
    const anon = await cli(f.server.url, null, ['status']);
    expect(anon.code).toBe(1);
    expect(anon.stderr).toMatch(/needs credentials: set PUSHMANAGER_USER and PUSHMANAGER_PASSWORD or PUSHMANAGER_TOKEN, or run `pushmanager login`/);
  });

  it('the metadata branch has one commit per command, with trailers and a schema version', async () => {
    await gitOk(alice, ['fetch', '-q', 'origin', 'pushmanager/meta']);
    const log = await gitOk(alice, ['log', '--format=%s%n%(trailers:only)%x00', 'FETCH_HEAD']);
    const commits = log.split('\0').map((c) => c.trim()).filter(Boolean);
    expect(commits.length).toBeGreaterThanOrEqual(4);
    const open = commits.find((c) => c.startsWith('Open request'))!;
    expect(open).toMatch(/Pushmanager-Command: OpenRequest/);
    expect(open).toMatch(/Pushmanager-Actor: alice/);
    expect(open).toMatch(/Pushmanager-Request: \d+/);
    const schema = JSON.parse(await gitOk(alice, ['show', 'FETCH_HEAD:schema.json'])) as { schemaVersion: number };
    expect(schema.schemaVersion).toBe(1);
    // Linear history: every commit has at most one parent.
    expect(await gitOk(alice, ['rev-list', '--min-parents=2', 'FETCH_HEAD'])).toBe('');
  });

  it('/metrics times each recorded ref (push-to-recorded) and each hook answer, and not refused refs', async () => {
    const count = async (name: string) => {
      const text = await (await fetch(`${f.server.url}/metrics`)).text();
      return Number(new RegExp(`^${name}_count (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
    };
    const [recorded, answered] = [await count('pushmanager_push_to_recorded_seconds'), await count('pushmanager_push_answered_seconds')];
    await f.commit(bob, 'metrics-a', { 'metrics-a.txt': 'a\n' });
    await f.commit(bob, 'metrics-b', { 'metrics-b.txt': 'b\n' });
    // One push, two request refs: two recorded, one answer.
    expect((await git(bob, ['push', 'origin', 'metrics-a:refs/pushreq/metrics-a', 'metrics-b:refs/pushreq/metrics-b'])).code).toBe(0);
    // A refused push is answered, never recorded.
    expect((await git(bob, ['push', 'origin', 'metrics-a:refs/heads/master'])).code).not.toBe(0);
    expect([(await count('pushmanager_push_to_recorded_seconds')) - recorded, (await count('pushmanager_push_answered_seconds')) - answered]).toEqual([2, 2]);
  });
});

describe('git push --atomic', () => {
  /** The metadata commits since `since`, oldest first: subject and trailers. */
  const commitsSince = async (since: string | null) => {
    await gitOk(alice, ['fetch', '-q', 'origin', 'pushmanager/meta']);
    const log = await gitOk(alice, ['log', '--reverse', '--format=%s%n%(trailers:only)%x00', since ? `${since}..FETCH_HEAD` : 'FETCH_HEAD']);
    return log.split('\0').map((c) => c.trim()).filter(Boolean);
  };
  const exists = async (ref: string) => (await git(bob, ['ls-remote', '--exit-code', 'origin', ref])).code === 0;
  // A request of alice's that bob may not push to.
  beforeAll(async () => {
    await f.commit(alice, 'alices-atomic', { 'alices-atomic.txt': 'alice\n' });
    await gitOk(alice, ['push', '-q', 'origin', 'alices-atomic:refs/pushreq/alices-atomic']);
  });

  it("records nothing when one ref is refused (another user's request): each ref's status line says why", async () => {
    const before = await settledVersion();
    await f.commit(bob, 'atomic-a', { 'atomic-a.txt': 'a\n' });
    await f.commit(bob, 'atomic-b', { 'atomic-b.txt': 'b\n' });
    const r = await git(bob, ['push', '--atomic', '--force', 'origin', 'atomic-a:refs/pushreq/atomic-a', 'atomic-b:refs/pushreq/alices-atomic']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/\[remote rejected\] +atomic-b -> refs\/pushreq\/alices-atomic \(refs\/pushreq\/alices-atomic belongs to alice's request \d+/);
    expect(r.stderr).toMatch(/\[remote rejected\] +atomic-a -> refs\/pushreq\/atomic-a \(not applied: another ref of this atomic push was refused\)/);
    expect(await settledVersion()).toBe(before);
    expect(await exists('refs/pushreq/atomic-a')).toBe(false);
    expect(await requestByRef('refs/pushreq/atomic-a')).toBeUndefined();
  });

  it('records nothing when a request ref is pushed together with a refused master', async () => {
    const before = await settledVersion();
    const masterBefore = (await git(bob, ['ls-remote', 'origin', 'refs/heads/master'])).stdout;
    const r = await git(bob, ['push', '--atomic', 'origin', 'atomic-a:refs/pushreq/atomic-a', 'atomic-b:refs/heads/master']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/\[remote rejected\] +atomic-b -> master \(master is written only by pushmanager/);
    expect(r.stderr).toMatch(/\[remote rejected\] +atomic-a -> refs\/pushreq\/atomic-a \(not applied: another ref of this atomic push was refused\)/);
    expect(await settledVersion()).toBe(before);
    expect(await exists('refs/pushreq/atomic-a')).toBe(false);
    expect((await git(bob, ['ls-remote', 'origin', 'refs/heads/master'])).stdout).toBe(masterBefore);
  });

  it('accepts every ref together and records them in one state commit', async () => {
    const before = await settledVersion();
    const r = await git(bob, ['push', '--atomic', 'origin', 'atomic-a:refs/pushreq/atomic-a', 'atomic-b:refs/pushreq/atomic-b', '-o', 'tags=pair']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/remote: Pushmanager: request \d+ "atomic-a" opened for bob/);
    expect(r.stderr).toMatch(/remote: Pushmanager: request \d+ "atomic-b" opened for bob/);
    const [a, b] = [await requestByRef('refs/pushreq/atomic-a'), await requestByRef('refs/pushreq/atomic-b')];
    expect(a).toMatchObject({ user: 'bob', tags: expect.arrayContaining(['pair']) });
    expect(b).toMatchObject({ user: 'bob', tags: expect.arrayContaining(['pair']) });
    expect(await exists('refs/pushreq/atomic-a')).toBe(true);
    expect(await exists('refs/pushreq/atomic-b')).toBe(true);
    // One commit for both requests (the train's background conflict findings may follow it).
    const opened = (await commitsSince(before)).filter((c) => /Pushmanager-Command: OpenRequest/.test(c));
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatch(new RegExp(`Pushmanager-Request: ${a!.id}\\b`));
    expect(opened[0]).toMatch(new RegExp(`Pushmanager-Request: ${b!.id}\\b`));
    // Each request's history still finds it.
    const show = await cli(f.server.url, 'bob', ['request', 'show', String(b!.id)]);
    expect(show.stdout).toMatch(/bob +Open request \d+: atomic-a/);
  });

  it('without --atomic the refs stay independent: the good one is recorded, the refused one is not', async () => {
    await f.commit(bob, 'loose-a', { 'loose-a.txt': 'a\n' });
    await f.commit(bob, 'loose-b', { 'loose-b.txt': 'b\n' });
    const r = await git(bob, ['push', '--force', 'origin', 'loose-a:refs/pushreq/loose-a', 'loose-b:refs/pushreq/alices-atomic']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/\[remote rejected\] +loose-b -> refs\/pushreq\/alices-atomic \(refs\/pushreq\/alices-atomic belongs to alice's request/);
    expect(r.stderr).toMatch(/\* \[new reference\] +loose-a -> refs\/pushreq\/loose-a/);
    expect(await requestByRef('refs/pushreq/loose-a')).toMatchObject({ user: 'bob' });
  });
});

describe('concurrency', () => {
  it('20 pushes to different refs at once, from separate clones: 20 requests, none lost or duplicated, linear history', async () => {
    const clones = await Promise.all(Array.from({ length: 20 }, (_, i) => f.clone(['alice', 'bob', 'carol'][i % 3]!)));
    await Promise.all(clones.map((c, i) => f.commit(c, `c${i}`, { [`c${i}.txt`]: `${i}\n` })));
    const before = await settledVersion();
    const results = await Promise.all(clones.map((c, i) => git(c, ['push', 'origin', `c${i}:refs/pushreq/concurrent-${i}`])));
    expect(results.map((r) => r.code)).toEqual(Array(20).fill(0));
    const reqs = (await board()).requests.filter((r) => r.ref.startsWith('refs/pushreq/concurrent-'));
    expect(reqs).toHaveLength(20);
    expect(new Set(reqs.map((r) => r.ref)).size).toBe(20);
    expect(new Set(reqs.map((r) => r.id)).size).toBe(20);
    await gitOk(alice, ['fetch', '-q', 'origin', 'pushmanager/meta']);
    expect(await gitOk(alice, ['rev-list', '--min-parents=2', 'FETCH_HEAD'])).toBe('');
    const opened = await gitOk(alice, ['log', '--format=%s', `${before}..FETCH_HEAD`, '--grep=^Open request']);
    expect(opened.split('\n').filter(Boolean)).toHaveLength(20);
  }, 120_000);
});

// Last in the file: these open and stage a push, which changes how every later request is answered.
describe('why a new request waits, on its remote: lines', () => {
  const PM = userActor('pm', { pushmaster: true });
  const run = async (cmd: Parameters<typeof f.server.train.execute>[0]) => {
    const out = await f.server.train.execute(cmd, PM);
    if (!('ok' in out)) throw new Error(`${cmd.type}: ${out.message}`);
    await f.server.train.idle();
  };
  const pushNew = async (name: string, opts: string[] = []) => {
    await f.commit(carol, name, { [`${name}.txt`]: `${name}\n` });
    const r = await git(carol, ['push', 'origin', `${name}:refs/pushreq/${name}`, ...opts]);
    expect(r.code, r.stderr).toBe(0);
    return { stderr: r.stderr, id: (await requestByRef(`refs/pushreq/${name}`))!.id };
  };
  let carol: string;
  beforeAll(async () => {
    carol = await f.clone('carol');
    // Whatever an earlier test left open: this block starts with no push.
    for (const p of (await board()).pushes) if (!['live', 'discarded'].includes(p.state)) await run({ type: 'DiscardPush', push: p.id as never });
  });

  it('no push open: says so', async () => {
    const { stderr } = await pushNew('wait-none');
    expect(stderr).toMatch(/remote: +no push is open; the request will be offered to the next one/);
  });

  it('a push accepting, but -o pickme=no: names the push and how to join it', async () => {
    await run({ type: 'OpenPush', title: 'Tue 14:00', pushType: 'regular' });
    const push = (await board()).pushes.find((p) => p.state === 'accepting')!;
    const { stderr, id } = await pushNew('wait-nopick', ['-o', 'pickme=no']);
    expect(stderr).toMatch(/remote: +state: requested/);
    expect(stderr).toMatch(new RegExp(`remote: +push ${push.id} "Tue 14:00" is accepting, but -o pickme=no kept the request out; to join it: pushmanager request pickme ${id}`));
    expect(stderr).not.toMatch(/waiting for a push to open/);
  });

  it('a push open but staged: names it and why the request is not in it', async () => {
    const push = (await board()).pushes.find((p) => p.state === 'accepting')!;
    const picked = (await board()).requests.filter((r) => r.push === push.id && r.state === 'pickme').slice(0, 1).map((r) => r.id);
    await run({ type: 'AcceptRequests', push: push.id as never, requests: picked as never });
    await run({ type: 'StagePush', push: push.id as never, env: 'stage-a' });
    expect((await board()).pushes.find((p) => p.id === push.id)!.state).toBe('staged');
    const { stderr } = await pushNew('wait-staged');
    expect(stderr).toMatch(new RegExp(`remote: +push ${push.id} "Tue 14:00" is staged; the request will be offered to the next push`));
    expect(stderr).not.toMatch(/waiting for a push to open/);
  });

  it('an urgent push accepting: says it takes only urgent requests', async () => {
    await run({ type: 'OpenPush', title: 'Hotfix', pushType: 'urgent' });
    const push = (await board()).pushes.find((p) => p.state === 'accepting')!;
    const { stderr } = await pushNew('wait-urgent');
    expect(stderr).toMatch(new RegExp(`remote: +push ${push.id} "Hotfix" is urgent and takes only requests tagged urgent; the request will be offered to the next push`));
    expect((await pushNew('is-urgent', ['-o', 'tags=urgent'])).stderr).toMatch(new RegExp(`state: pickme of push ${push.id} "Hotfix"`));
  });
});
