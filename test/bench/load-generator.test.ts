// The load generator (bench/load/) against the real server: a push it makes must be recorded exactly as
// the same push made by the real `git` CLI, and it must count a push as recorded only when the server's
// answer says so (ok line), never on a refusal, a bad login or a truncated answer.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatFileBatch } from '../../server/git/cat-file.js';
import { buildPack, gitPackObjects, objectsAddedByCommit } from '../../bench/load/pack.js';
import { FLUSH_PKT, pkt } from '../../bench/load/pkt-line.js';
import { parseReport, porcelainText, ReceivePackClient, ZERO_SHA } from '../../bench/load/receive-pack-client.js';
import { startPlainGitServer } from '../../bench/lib/plain-git-server.js';
import { commitOnBranch, git, gitOk, startFixture, type Fixture } from '../helpers/server-fixture.js';

/** A commit on `parent` that adds `file` (a fast-forward of it). */
async function commitOn(work: string, parent: string, file: string): Promise<string> {
  await gitOk(work, ['checkout', '-q', '--detach', parent]);
  await writeFile(join(work, file), `on ${parent}\n`);
  await gitOk(work, ['add', file]);
  await gitOk(work, ['commit', '-q', '-m', `add ${file}`]);
  return gitOk(work, ['rev-parse', 'HEAD']);
}

type BoardRequest = Awaited<ReturnType<ReturnType<Fixture['client']>['board']>>['requests'][number];

/** What the server recorded about a request, without what differs by construction (id, ref, SHA, times). */
const recorded = (r: BoardRequest) => ({ user: r.user, title: r.title, state: r.state, push: r.push, tags: [...r.tags].sort(), watchers: r.watchers });
/** remote: lines with ids, SHAs and ref names masked, so the two clients' answers compare. */
const shape = (text: string, names: string[]) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('remote: '))
    .map((l) => names.reduce((s, n) => s.split(n).join('<ref>'), l).replace(/\b[0-9a-f]{7,40}\b/g, '<sha>').replace(/request \d+/g, 'request <id>').trimEnd());

describe('load generator: git receive-pack over smart HTTP from Node', () => {
  let f: Fixture;
  let work: string;
  let cat: CatFileBatch;
  let gen: ReceivePackClient;
  const byRef = async (ref: string) => (await f.client('pm').board(true)).requests.filter((r) => r.ref === ref);

  beforeAll(async () => {
    f = await startFixture();
    work = await f.clone('alice');
    cat = new CatFileBatch(join(work, '.git'));
    gen = new ReceivePackClient({ url: f.remote('alice') });
  });
  afterAll(async () => {
    cat?.close();
    await f?.close();
  });

  it('opens, re-pushes and withdraws a request exactly as the git CLI does', async () => {
    const master = await gitOk(work, ['rev-parse', 'origin/master']);
    // Both change the same line of the same file while a push is accepting: both become its pickmes and
    // the second conflicts with the first, so the conflict check runs and its answer is compared too.
    await f.client('pm').command({ type: 'OpenPush', title: 'Load generator test', pushType: 'regular' });
    const viaCli = await commitOnBranch(work, 'via-cli', { 'shared.txt': 'cli\n' });
    const viaGen = await commitOnBranch(work, 'via-gen', { 'shared.txt': 'gen\n' });
    const opts = ['title=Same change', 'tags=fix,web', 'watchers=bob'];

    const cli = await git(work, ['push', '--porcelain', ...opts.flatMap((o) => ['-o', o]), 'origin', `${viaCli}:refs/pushreq/cli-x`]);
    expect(cli.code).toBe(0);
    // A pack as `git push` makes it (real git's pack-objects, thin, against what the server has).
    const pack = await gitPackObjects(join(work, '.git'), viaGen, [master]);
    const a = await gen.push({ updates: [{ ref: 'refs/pushreq/gen-x', new: viaGen }], options: opts, pack });
    expect(a.outcome).toBe('ok');
    expect(a.unpack).toBe('ok');
    expect(a.refs).toEqual([expect.objectContaining({ ref: 'refs/pushreq/gen-x', ok: true })]);
    expect(a.sent[0]!.old).toBe(ZERO_SHA);

    // The conflict check records its findings just after the answer: wait for them.
    let c1: BoardRequest | undefined;
    let g1: BoardRequest | undefined;
    for (let i = 0; i < 100 && !(c1?.conflicts.length && g1?.conflicts.length); i++) {
      await new Promise((r) => setTimeout(r, 50));
      [c1] = await byRef('refs/pushreq/cli-x');
      [g1] = await byRef('refs/pushreq/gen-x');
    }
    expect(c1!.sha).toBe(viaCli);
    expect(g1!.sha).toBe(viaGen);
    expect(recorded(g1!)).toEqual(recorded(c1!));
    expect(recorded(g1!)).toMatchObject({ user: 'alice', title: 'Same change', state: 'pickme', push: 1, tags: ['conflict-pickme', 'fix', 'web'] });
    expect(c1!.conflicts).toEqual([{ with: g1!.id, files: ['shared.txt'] }]);
    expect(g1!.conflicts).toEqual([{ with: c1!.id, files: ['shared.txt'] }]);
    expect(g1!.watchers).toEqual(['bob']);
    // The answer the engineer reads: same lines, conflict line included.
    const cliLines = shape(cli.stderr, ['cli-x']);
    const genLines = shape(porcelainText(a, f.remote('alice')), ['gen-x']);
    expect(cliLines[0]).toMatch(/^remote: Pushmanager: request <id> "Same change" opened for alice at <sha>$/);
    expect(genLines[0]).toBe(cliLines[0]);
    expect(genLines.find((l) => /CONFLICT/.test(l))).toMatch(/remote: +CONFLICT with request <id> \(alice, "Same change"\) in shared\.txt/);

    // Re-push: a fast-forward, packed here from the clone's objects (what the simulation sends).
    const cliFf = await commitOn(work, viaCli, 'second.txt');
    const genFf = await commitOn(work, viaGen, 'second.txt');
    const cliRe = await git(work, ['push', '--porcelain', 'origin', `${cliFf}:refs/pushreq/cli-x`]);
    expect(cliRe.code).toBe(0);
    const objects = await objectsAddedByCommit(cat, genFf);
    expect(objects.map((o) => o.type).sort()).toEqual(['blob', 'commit', 'tree']);
    const re = await gen.push({ updates: [{ ref: 'refs/pushreq/gen-x', new: genFf }], pack: buildPack(objects) });
    expect(re.outcome).toBe('ok');
    expect(re.sent[0]!.old).toBe(viaGen);
    const [c2] = await byRef('refs/pushreq/cli-x');
    const [g2] = await byRef('refs/pushreq/gen-x');
    expect([c2!.id, c2!.sha, g2!.id, g2!.sha]).toEqual([c1!.id, cliFf, g1!.id, genFf]);
    expect(shape(porcelainText(re, f.remote('alice')), ['gen-x'])[0]).toBe(shape(cliRe.stderr, ['cli-x'])[0]);
    expect(shape(cliRe.stderr, ['cli-x'])[0]).toMatch(/updated <sha> -> <sha>$/);

    // Withdraw: the zero SHA, no pack.
    const cliDel = await git(work, ['push', '--porcelain', 'origin', ':refs/pushreq/cli-x']);
    expect(cliDel.code).toBe(0);
    const del = await gen.push({ updates: [{ ref: 'refs/pushreq/gen-x', new: ZERO_SHA }] });
    expect(del.outcome).toBe('ok');
    const [c3] = await byRef('refs/pushreq/cli-x');
    const [g3] = await byRef('refs/pushreq/gen-x');
    expect([c3!.state, g3!.state]).toEqual(['discarded', 'discarded']);
    expect(shape(porcelainText(del, f.remote('alice')), ['gen-x'])).toEqual(shape(cliDel.stderr, ['cli-x']));
    expect((await gen.advertise()).refs.has('refs/pushreq/gen-x')).toBe(false);
  });

  it('counts a refused push as refused, with the reason git shows, and records nothing', async () => {
    const sha = await commitOnBranch(work, 'to-master', { 'm.txt': 'm\n' });
    const cli = await git(work, ['push', '--porcelain', 'origin', `${sha}:refs/heads/master`]);
    expect(cli.code).not.toBe(0);
    const cliReason = /\[remote rejected\] \((.*)\)/.exec(cli.stdout)?.[1];
    const a = await gen.push({ updates: [{ ref: 'refs/heads/master', new: sha }], pack: buildPack(await objectsAddedByCommit(cat, sha)) });
    expect(a.outcome).toBe('refused');
    expect(a.refs[0]).toMatchObject({ ref: 'refs/heads/master', ok: false, reason: cliReason });
    expect(porcelainText(a, f.remote('alice'))).toContain(`[remote rejected] (${cliReason})`);

    // A bad push option: refused for every ref, named, nothing recorded.
    const b = await gen.push({ updates: [{ ref: 'refs/pushreq/bad-opt', new: sha }], options: ['colour=blue'], pack: buildPack(await objectsAddedByCommit(cat, sha)) });
    expect(b.outcome).toBe('refused');
    expect(b.refs[0]!.reason).toMatch(/colour/);
    expect(await byRef('refs/pushreq/bad-opt')).toEqual([]);
  });

  it('counts a push without a complete answer as failed: bad login, truncated report', async () => {
    const bad = await new ReceivePackClient({ url: f.remote('alice'), password: 'wrong' }).push({ updates: [{ ref: 'refs/pushreq/x', new: ZERO_SHA }] });
    expect(bad.outcome).toBe('failed');
    expect(bad.error).toMatch(/HTTP 401/);
    const band1 = (inner: Buffer) => pkt(Buffer.concat([Buffer.from([1]), inner]));
    const full = Buffer.concat([band1(Buffer.concat([pkt('unpack ok\n'), pkt('ok refs/pushreq/a\n'), FLUSH_PKT])), FLUSH_PKT]);
    expect(parseReport(full, true)).toMatchObject({ complete: true, unpack: 'ok', refs: [{ ref: 'refs/pushreq/a', ok: true }] });
    // The server died after "unpack ok": no ok line, no flush.
    const cut = band1(pkt('unpack ok\n'));
    expect(parseReport(cut, true)).toMatchObject({ complete: false, refs: [] });
  });

  it('pushes to a plain git http-backend too (the baseline), with the same packs', async () => {
    const bare = join(f.dir, 'plain.git');
    await gitOk(f.dir, ['clone', '-q', '--bare', join(f.dir, 'data', 'repos', 'main.git'), bare]);
    await gitOk(bare, ['config', 'receive.advertisePushOptions', 'true']);
    const plain = await startPlainGitServer(bare);
    try {
      const sha = await commitOnBranch(work, 'plain', { 'p.txt': 'p\n' });
      const client = new ReceivePackClient({ url: plain.url });
      const a = await client.push({ updates: [{ ref: 'refs/pushreq/p', new: sha }], options: ['title=x'], pack: buildPack(await objectsAddedByCommit(cat, sha)) });
      expect(a.outcome).toBe('ok');
      expect(await gitOk(bare, ['rev-parse', 'refs/pushreq/p'])).toBe(sha);
      expect((await gitOk(bare, ['fsck', '--connectivity-only', '--no-dangling']))).toBe('');
    } finally {
      await plain.close();
    }
  });
});
