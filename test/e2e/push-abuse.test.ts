// Pushes a hostile pushee can make that git's own client would not, or would only with odd arguments,
// against the real server: ref names git forbids (receive-pack hands every ref to proc-receive
// unchecked), and floods of push options. Each is refused with a clear reason, nothing is recorded,
// and the push ends (git's client waits forever when receive-pack dies on an over-long report line).
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../server/config/config.js';
import { userActor } from '../../state/decide.js';
import { gitOk, startFixture, type Fixture } from '../helpers/server-fixture.js';

const run = promisify(execFile);

let f: Fixture;
let alice: string;
/** A commit the server has that no request uses (pushed, then withdrawn). */
let loose: string;

const basic = (user: string) => `Basic ${Buffer.from(`${user}:${user}`).toString('base64')}`;
const version = async () => {
  await f.server.train.idle();
  return (await f.server.dispatcher.read()).version;
};
const pkt = (s: string) => {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from((b.length + 4).toString(16).padStart(4, '0')), b]);
};
const FLUSH = Buffer.from('0000');
/** A pack with no objects: enough for a ref update whose object the server already has. */
function emptyPack(): Buffer {
  const head = Buffer.concat([Buffer.from('PACK'), Buffer.from([0, 0, 0, 2, 0, 0, 0, 0])]);
  return Buffer.concat([head, createHash('sha1').update(head).digest()]);
}
/** A receive-pack request as git sends it (no side-band: the report comes back as plain pkt-lines). */
async function receivePack(ref: string, sha: string, options: readonly string[] = []): Promise<{ status: number; body: string }> {
  return receivePackOf([{ ref, sha }], options);
}
/** Several ref creations in one hand-made push, in this order. */
async function receivePackOf(commands: readonly { ref: string; sha: string }[], options: readonly string[] = [], extraCaps = ''): Promise<{ status: number; body: string }> {
  const caps = `report-status${options.length ? ' push-options' : ''}${extraCaps} object-format=sha1 agent=test`;
  const parts: Buffer[] = [...commands.map((c, i) => pkt(`${'0'.repeat(40)} ${c.sha} ${c.ref}${i === 0 ? `\0${caps}` : ''}\n`)), FLUSH];
  if (options.length) parts.push(...options.map((o) => pkt(o)), FLUSH);
  parts.push(emptyPack());
  const r = await fetch(`${f.server.url}/main.git/git-receive-pack`, {
    method: 'POST',
    headers: { authorization: basic('alice'), 'content-type': 'application/x-git-receive-pack-request' },
    body: new Uint8Array(Buffer.concat(parts)),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: r.status, body: await r.text() };
}

/** The bytes of one side-band channel (1: the report, 2: the `remote:` text) of a side-band-64k answer. */
function band(body: string, channel: 1 | 2): string {
  let out = '';
  for (let i = 0; i + 4 <= body.length; ) {
    const n = parseInt(body.slice(i, i + 4), 16);
    if (n === 0) {
      i += 4;
      continue;
    }
    if (body.charCodeAt(i + 4) === channel) out += body.slice(i + 5, i + n);
    i += n;
  }
  return out;
}

beforeAll(async () => {
  f = await startFixture();
  alice = await f.clone('alice');
  loose = await f.commit(alice, 'loose', { 'loose.txt': 'loose\n' });
  await gitOk(alice, ['push', '-q', 'origin', 'loose:refs/pushreq/loose']);
  await gitOk(alice, ['push', '-q', 'origin', ':refs/pushreq/loose']);
}, 60_000);
afterAll(async () => f?.close());

describe('ref names git forbids, sent by hand', () => {
  it.each([
    ['refs/pushreq/a..b', /contains "\.\."/],
    ['refs/pushreq/../heads/master', /contains "\.\."/],
    ['refs/pushreq/x@{1}', /contains "@\{"/],
    ['refs/pushreq/x~1', /contains "~"/],
    ['refs/pushreq/x:y', /contains ":"/],
    ['refs/pushreq/*', /contains "\*"/],
    ['refs/pushreq/.hidden', /component "\.hidden" starts with "\."/],
    ['refs/pushreq/x.lock', /component "x\.lock" ends with "\.lock"/],
    ['refs/pushreq/x/', /empty path component/],
    ['refs/pushreq/x.', /ends with "\."/],
  ])('%s is refused as a name git does not allow, nothing recorded', async (ref, why) => {
    const before = await version();
    const r = await receivePack(ref, loose);
    expect(r.status).toBe(200);
    const ng = r.body.split('\n').find((l) => l.includes(`ng ${ref} `));
    expect(ng).toContain(`"${ref}" is not a name git allows for a ref`);
    expect(ng).toMatch(why);
    expect(ng).not.toMatch(/update-ref|could not move/);
    expect(await version()).toBe(before);
  });

  it('a name git allows, with a leading "-" or non-ASCII letters, is still a request', async () => {
    const r = await receivePack('refs/pushreq/-dash-ünï', loose);
    expect(r.body).toMatch(/ok refs\/pushreq\/-dash-ünï/);
    await gitOk(alice, ['push', '-q', 'origin', ':refs/pushreq/-dash-ünï']);
  });
});

/** git push as alice (or from the clone `cwd`), ended after 30 s if it has not ended by itself. */
async function gitPush(args: readonly string[], cwd = alice): Promise<{ code: number; killed: boolean; stderr: string }> {
  return run('git', ['push', ...args], { cwd, timeout: 30_000, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } }).then(
    (r) => ({ code: 0, killed: false, stderr: r.stderr }),
    (e: { code?: number; killed?: boolean; stderr?: string }) => ({ code: e.code ?? 1, killed: e.killed ?? false, stderr: e.stderr ?? '' }),
  );
}

describe('floods of push options', () => {
  it('git push with 1000 options ends, refused as too many, nothing recorded', async () => {
    const before = await version();
    await f.commit(alice, 'opts', { 'opts.txt': 'opts\n' });
    const out = await gitPush(['origin', 'opts:refs/pushreq/opts', ...Array.from({ length: 1000 }, (_, i) => ['-o', `k${i}=v`]).flat()]);
    expect(out.killed).toBe(false);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toMatch(/\[remote rejected\] opts -> refs\/pushreq\/opts \(too many push options \(1000; at most 64/);
    expect(await version()).toBe(before);
  }, 60_000);

  it('thousands of watchers in one option are one problem; a long list of problems names ten and how many more', async () => {
    const before = await version();
    await f.commit(alice, 'watch', { 'watch.txt': 'watch\n' });
    const many = Array.from({ length: 3000 }, (_, i) => `nobody-${i}`).join(',');
    const watchers = await gitPush(['origin', 'watch:refs/pushreq/watch', '-o', 'bogus=1', '-o', `watchers=${many}`]);
    expect(watchers.killed).toBe(false);
    expect(watchers.stderr).toMatch(/\[remote rejected\] watch -> refs\/pushreq\/watch \(push option "bogus": unknown option; .*; push option "watchers": has 3000 users; at most 50\)/);
    const unknown = await gitPush(['origin', 'watch:refs/pushreq/watch', ...Array.from({ length: 60 }, (_, i) => ['-o', `k${i}=v`]).flat()]);
    expect(unknown.stderr).toMatch(/\(push option "k0": unknown option; .*push option "k9": unknown option; known: [a-z, ]+; and 50 more\)/);
    expect(unknown.stderr).not.toMatch(/"k10"/);
    expect(await version()).toBe(before);
  }, 60_000);

  it('a hand-made push with 5000 options is refused as too many, nothing recorded, the server still answers', async () => {
    const before = await version();
    const r = await receivePack('refs/pushreq/flood', loose, Array.from({ length: 5000 }, (_, i) => `title=${i}`));
    expect(r.status).toBe(200);
    expect(r.body).toMatch(/ng refs\/pushreq\/flood too many push options \(5000; at most 64/);
    expect(await version()).toBe(before);
    expect((await fetch(`${f.server.url}/healthz`)).status).toBe(200);
  });
});

describe('a push request that is not a commit', () => {
  it('an annotated tag, a tree or a blob is refused as such (with how to push the tagged commit), nothing recorded', async () => {
    const before = await version();
    await f.commit(alice, 'tagged', { 'tagged.txt': 'tagged\n' });
    await gitOk(alice, ['tag', '-a', '-m', 'annotated', 'annotated-x', 'tagged']);
    const tag = await gitOk(alice, ['rev-parse', 'annotated-x']);
    const tree = await gitOk(alice, ['rev-parse', 'tagged^{tree}']);
    const blob = await gitOk(alice, ['rev-parse', 'tagged:tagged.txt']);
    const t = await gitPush(['origin', 'refs/tags/annotated-x:refs/pushreq/annotated']);
    expect(t.stderr).toContain(`[remote rejected] annotated-x -> refs/pushreq/annotated (a push request is a commit, and ${tag.slice(0, 10)} is an annotated tag; push the commit it tags: git push origin <tag>^{commit}:refs/pushreq/annotated)`);
    const tr = await gitPush(['origin', `${tree}:refs/pushreq/tree`]);
    expect(tr.stderr).toContain(`(a push request is a commit, and ${tree.slice(0, 10)} is a tree or a blob)`);
    const b = await gitPush(['origin', `${blob}:refs/pushreq/blob`]);
    expect(b.stderr).toContain(`(a push request is a commit, and ${blob.slice(0, 10)} is a tree or a blob)`);
    const atomic = await gitPush(['--atomic', 'origin', 'tagged:refs/pushreq/tagged-ok', `${blob}:refs/pushreq/blob`]);
    expect(atomic.stderr).toContain(`[remote rejected] ${blob} -> refs/pushreq/blob (a push request is a commit`);
    expect(atomic.stderr).toContain('[remote rejected] tagged -> refs/pushreq/tagged-ok (not applied: another ref of this atomic push was refused)');
    expect(await version()).toBe(before);
    expect((await gitOk(alice, ['ls-remote', 'origin', 'refs/pushreq/*']))).toBe('');
  }, 60_000);
});

describe('an annotated tag of a tree or a blob', () => {
  it('is refused as an annotated tag with nothing to peel to, not as "a tree or a blob"; nothing recorded', async () => {
    const before = await version();
    await f.commit(alice, 'tree-tagged', { 'tree-tagged.txt': 'tree tagged\n' });
    const tree = await gitOk(alice, ['rev-parse', 'tree-tagged^{tree}']);
    const blob = await gitOk(alice, ['rev-parse', 'tree-tagged:tree-tagged.txt']);
    await gitOk(alice, ['tag', '-a', '-m', 'of a tree', 'tree-tag', tree]);
    await gitOk(alice, ['tag', '-a', '-m', 'of a blob', 'blob-tag', blob]);
    const treeTag = await gitOk(alice, ['rev-parse', 'tree-tag']);
    const blobTag = await gitOk(alice, ['rev-parse', 'blob-tag']);
    const t = await gitPush(['origin', 'refs/tags/tree-tag:refs/pushreq/tree-tag']);
    expect(t.stderr).toContain(`[remote rejected] tree-tag -> refs/pushreq/tree-tag (a push request is a commit, and ${treeTag.slice(0, 10)} is an annotated tag of a tree or a blob, not of a commit: there is no commit to push from it; push a commit instead: git push origin <commit>:refs/pushreq/tree-tag)`);
    const b = await gitPush(['origin', 'refs/tags/blob-tag:refs/pushreq/blob-tag']);
    expect(b.stderr).toContain(`[remote rejected] blob-tag -> refs/pushreq/blob-tag (a push request is a commit, and ${blobTag.slice(0, 10)} is an annotated tag of a tree or a blob`);
    expect(await version()).toBe(before);
    expect(await gitOk(alice, ['ls-remote', 'origin', 'refs/pushreq/*'])).toBe('');
  }, 60_000);
});

describe('a push that names one ref twice', () => {
  it("git's client refuses it itself; sent by hand, each command is refused by name and nothing is recorded for that ref", async () => {
    const before = await version();
    await f.commit(alice, 'dup-a', { 'dup-a.txt': 'a\n' });
    await f.commit(alice, 'dup-c', { 'dup-c.txt': 'c\n' });
    const byGit = await gitPush(['origin', 'dup-a:refs/pushreq/dup', 'dup-c:refs/pushreq/dup']);
    expect(byGit.stderr).toContain('dst ref refs/pushreq/dup receives from more than one src');
    expect(await version()).toBe(before);

    const master = (await gitOk(alice, ['ls-remote', 'origin', 'refs/heads/master'])).split('\t')[0]!;
    const why = 'this push names refs/pushreq/dup 2 times; a ref takes one update per push, so none of them was recorded: push it once (git push origin <commit>:refs/pushreq/dup)';
    // With another ref between them, receive-pack hands each command its own answer.
    const between = await receivePackOf([{ ref: 'refs/pushreq/dup', sha: loose }, { ref: 'refs/pushreq/between', sha: loose }, { ref: 'refs/pushreq/dup', sha: master }]);
    expect(between.body.split('\n').filter((l) => /^[0-9a-f]{4}(ok|ng) refs\//.test(l)).map((l) => l.slice(4))).toEqual([`ng refs/pushreq/dup ${why}`, 'ok refs/pushreq/between', `ng refs/pushreq/dup ${why}`]);
    // Side by side, receive-pack gives every answer named refs/pushreq/dup to the first command (it
    // matches by name), and says the second had none; the first says why, and nothing is recorded.
    const adjacent = await receivePackOf([{ ref: 'refs/pushreq/dup', sha: loose }, { ref: 'refs/pushreq/dup', sha: master }], [], ' side-band-64k');
    const report = band(adjacent.body, 1).split('\n').map((l) => l.slice(4));
    expect(report).toContain(`ng refs/pushreq/dup ${why}`);
    expect(report).toContain('ng refs/pushreq/dup proc-receive failed to report status');
    expect(band(adjacent.body, 2)).toContain(`refs/pushreq/dup: refused: ${why}\n`);
    expect((await f.server.dispatcher.read()).board.requests).not.toContainEqual(expect.objectContaining({ ref: 'refs/pushreq/dup' }));
    expect(await gitOk(alice, ['ls-remote', 'origin', 'refs/pushreq/*'])).toBe(`${loose}\trefs/pushreq/between`);
    await gitOk(alice, ['push', '-q', 'origin', ':refs/pushreq/between']);
  }, 60_000);
});

describe('a board that already holds a request that is not a commit (recorded by an older server)', () => {
  it("a pushee's new request is recorded and answered as such, its conflicts not checked, instead of 'nothing was recorded'", async () => {
    // As the server before this check recorded a pushed blob: through the write path, the hook skipped.
    const blob = (await f.server.repo.git.run(['hash-object', '-w', '--stdin'], { input: 'not a commit\n' })).stdout.trim();
    const old = await f.server.dispatcher.recordPush([{ ref: 'refs/pushreq/old-blob', oldSha: '0'.repeat(40), newSha: blob, autoPickme: true, fields: {} }], userActor('bob', { pushmaster: false }));
    expect(old.ok).toBe(true);
    const pm = f.client('pm');
    if (!(await pm.board()).pushes.some((p) => p.state === 'accepting')) await pm.command({ type: 'OpenPush', title: 'Holds the blob' });
    await f.server.train.idle();

    await f.commit(alice, 'beside-blob', { 'beside.txt': 'beside\n' });
    const out = await gitPush(['origin', 'beside-blob:refs/pushreq/beside-blob', '-o', 'title=Beside']);
    expect(out.stderr).not.toMatch(/nothing was recorded/);
    expect(out.code).toBe(0);
    expect(out.stderr).toMatch(/remote: Pushmanager: request \d+ "Beside" opened for alice/);
    expect(out.stderr).toMatch(/remote: {3}conflicts: not checked \(.*\); the request is recorded/);
    expect((await pm.board()).requests.find((r) => r.ref === 'refs/pushreq/beside-blob')).toMatchObject({ user: 'alice', state: 'pickme' });
  }, 60_000);
});

describe('a pushee re-pushing a request once it is staged', () => {
  it('is refused (staged, then blessed), the deploy branch stays, and certify makes master what was blessed', async () => {
    const pm = f.client('pm');
    // One push accepts at a time: the earlier tests' push makes room.
    for (const p of (await pm.board()).pushes.filter((x) => x.state === 'accepting')) await pm.command({ type: 'DiscardPush', push: p.id });
    await pm.command({ type: 'OpenPush', title: 'Deploy what was tested' });
    const push = (await pm.board()).pushes.find((p) => p.state === 'accepting')!.id;
    const first = await f.commit(alice, 'tested', { 'tested.txt': 'reviewed and tested\n' });
    await gitOk(alice, ['push', '-q', 'origin', 'tested:refs/pushreq/tested', '-o', 'title=Tested']);
    const id = (await pm.board()).requests.find((r) => r.ref === 'refs/pushreq/tested')!.id;
    await pm.command({ type: 'AcceptRequests', push, requests: [id] });
    await pm.command({ type: 'StagePush', push, env: 'stage-a' });
    await f.server.train.idle();
    const deploy = `refs/heads/deploy/push-${push}`;
    const staged = (await gitOk(alice, ['ls-remote', 'origin', deploy])).split('\t')[0]!;

    await gitOk(alice, ['checkout', '-q', 'tested']);
    await gitOk(alice, ['commit', '-q', '--allow-empty', '-m', 'not what was staged']);
    const again = await gitPush(['origin', 'tested:refs/pushreq/tested']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(new RegExp(`\\[remote rejected\\] tested -> refs/pushreq/tested \\(request ${id} is staged in push ${push}: its commit is the one staged there and can no longer change; ask pm to remove it \\(pushmanager push remove ${push} ${id} --reason …\\), then push again \\[illegal-transition\\]\\)`));

    await pm.command({ type: 'BlessPush', push, force: true });
    const afterBless = await gitPush(['origin', 'tested:refs/pushreq/tested', '--force']);
    expect(afterBless.stderr).toMatch(new RegExp(`request ${id} is blessed in push ${push}: its commit is the one staged there`));
    await f.server.train.idle();
    expect((await gitOk(alice, ['ls-remote', 'origin', deploy])).split('\t')[0]).toBe(staged);
    expect((await pm.board()).requests.find((r) => r.id === id)!.sha).toBe(first);

    await pm.command({ type: 'CertifyPush', push, force: true });
    expect((await gitOk(alice, ['ls-remote', 'origin', 'refs/heads/master'])).split('\t')[0]).toBe(staged);
  }, 60_000);
});

describe('a push larger than repository.maxPushBytes', () => {
  let g: Fixture;
  afterAll(async () => g?.close());

  it('is refused by git before it is stored, and nothing is recorded; a small one goes through', async () => {
    g = await startFixture({ config: parseConfig('repository: { maxPushBytes: 1048576 }\n', 'push-abuse maxPushBytes') });
    const work = await g.clone('alice');
    await g.commit(work, 'huge', { 'huge.bin': randomBytes(2 * 1024 * 1024).toString('base64') });
    const big = await run('git', ['-C', work, 'push', 'origin', 'huge:refs/pushreq/huge']).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    expect(big.code).not.toBe(0);
    expect(big.stderr).toContain('pack exceeds maximum allowed size');
    expect((await g.client('pm').board()).requests).toEqual([]);
    await g.commit(work, 'small', { 'small.txt': 'small\n' });
    await gitOk(work, ['push', '-q', 'origin', 'small:refs/pushreq/small']);
    expect((await g.client('pm').board()).requests.map((r) => r.ref)).toEqual(['refs/pushreq/small']);
  }, 60_000);
});

describe('a request name that is a folder of another (refs/pushreq/a and refs/pushreq/a/b)', () => {
  it("is refused either way round, naming the request in the way (it was git’s cannot-lock-ref failure and a server error); nothing is recorded", async () => {
    const bob = await f.clone('bob');
    await f.commit(alice, 'folder', { 'folder.txt': 'folder\n' });
    await gitOk(alice, ['push', '-q', 'origin', 'folder:refs/pushreq/folder']);
    const held = (await f.client('pm').board()).requests.find((r) => r.ref === 'refs/pushreq/folder')!;
    await f.commit(bob, 'under', { 'under.txt': 'under\n' });
    const under = await gitPush(['origin', 'under:refs/pushreq/folder/under'], bob);
    expect(under.code).not.toBe(0);
    expect(under.stderr).toContain(`refs/pushreq/folder/under cannot sit beside refs/pushreq/folder (request ${held.id} by alice): git keeps refs as paths, so one name cannot be a folder of another; pick another ref name [ref-name-clash]`);
    await f.commit(bob, 'deep', { 'deep.txt': 'deep\n' });
    await gitOk(bob, ['push', '-q', 'origin', 'deep:refs/pushreq/deep/er']);
    const over = await gitPush(['origin', 'under:refs/pushreq/deep'], bob);
    expect(over.stderr).toContain('refs/pushreq/deep cannot sit beside refs/pushreq/deep/er');
    const refs = (await f.client('pm').board()).requests.map((r) => r.ref);
    expect(refs).not.toContain('refs/pushreq/folder/under');
    expect(refs).not.toContain('refs/pushreq/deep');
  }, 60_000);
});
