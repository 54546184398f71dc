// The upstream git server: a second bare repository served over smart HTTP by git's own
// http-backend (bench/lib/plain-git-server.ts). Fetch master into the managed repo, then land
// master and the tag together; a concurrent upstream change is `upstream-moved` and nothing lands.
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlainGitServer } from '../../../bench/lib/plain-git-server.js';
import { CliGitRepo } from '../../../server/git/cli-git-repo.js';
import { GitCli } from '../../../server/git/git-cli.js';
import type { GitRepo } from '../../../server/git/git-repo.js';
import { trackingRef, Upstream } from '../../../server/integrations/upstream.js';
import { commitFiles, fixedEnv, initRepo, type FixtureRepo } from '../../helpers/git-fixtures.js';
import { removeTempDirs, tempDir } from '../../helpers/temp-dir.js';
import { closedPort, startRecordingServer } from './recording-server.js';

let managed: FixtureRepo;
/** The upstream repository; named `*.git` because the plain git server serves `/<name>.git`. */
let upstreamRepo: { dir: string; git: GitCli };
let server: { url: string; close(): Promise<void> };
let base: string;

beforeAll(async () => {
  managed = await initRepo();
  const dir = join(await tempDir(), 'web.git');
  upstreamRepo = { dir, git: new GitCli(dir, fixedEnv()) };
  await new GitCli('/', fixedEnv()).run(['init', '-q', '--bare', '--initial-branch=master', dir]);
  base = await commitFiles(upstreamRepo.git, { files: { 'README.md': 'hello\n' }, message: 'base', ref: 'refs/heads/master' });
  server = await startPlainGitServer(upstreamRepo.dir);
});
afterAll(async () => {
  await server?.close();
  await managed?.cleanup();
  await removeTempDirs();
});

/** An annotated tag object for `sha`, written without a ref (as certification does). */
async function tagObject(git: GitCli, name: string, sha: string): Promise<string> {
  return git.out(['mktag'], { input: `object ${sha}\ntype commit\ntag ${name}\ntagger Fixture Bot <fixture@example.test> 1700000000 +0000\n\nCertified ${name}\n` });
}

/** What a ref of the upstream repository points at (tags unpeeled), or null. */
async function upstreamRef(ref: string): Promise<string | null> {
  const r = await upstreamRepo.git.run(['rev-parse', '-q', '--verify', ref], { okCodes: [1] });
  return r.exitCode === 0 ? r.stdout.trim() : null;
}

describe('Upstream', () => {
  it('fetches master, then lands master and the tag atomically; a retry finds them there', async () => {
    const up = new Upstream({ url: server.url, env: {} });
    expect(await up.fetchMaster(managed.git, 'master')).toBe(base);
    expect(await managed.git.resolve(trackingRef('master'))).toBe(base);

    const next = await commitFiles(managed.git, { parents: [base], files: { 'a.txt': 'a\n' }, message: 'push 1' });
    const tag = await tagObject(managed.git, 'push-20240101-1', next);
    const cert = { master: { sha: next, expectedOld: base }, tag: { name: 'push-20240101-1', objectSha: tag } };
    expect(await up.pushCertified(managed.git, managed.port, cert)).toEqual({ ok: true, alreadyThere: false });
    expect(await upstreamRef('refs/heads/master')).toBe(next);
    expect(await upstreamRef('refs/tags/push-20240101-1')).toBe(tag);
    expect(await managed.git.resolve(trackingRef('master'))).toBe(next);
    // Certification retried after a crash: the lease no longer matches, but the result is already upstream.
    expect(await up.pushCertified(managed.git, managed.port, cert)).toEqual({ ok: true, alreadyThere: true });
  });

  it('a concurrent upstream change is upstream-moved and neither master nor the tag lands', async () => {
    const up = new Upstream({ url: server.url, env: {} });
    const fetched = await up.fetchMaster(managed.git);
    const ours = await commitFiles(managed.git, { parents: [fetched], files: { 'b.txt': 'ours\n' }, message: 'push 2' });
    const tag = await tagObject(managed.git, 'push-20240101-2', ours);
    // Someone merges on GitHub meanwhile.
    const theirs = await commitFiles(upstreamRepo.git, { parents: [fetched], files: { 'c.txt': 'theirs\n' }, message: 'hotfix upstream', ref: 'refs/heads/master' });

    const r = await up.pushCertified(managed.git, managed.port, { master: { sha: ours, expectedOld: fetched }, tag: { name: 'push-20240101-2', objectSha: tag } });
    expect(r).toMatchObject({ ok: false, code: 'upstream-moved' });
    expect(!r.ok && r.message).toContain(theirs.slice(0, 12));
    expect(await upstreamRef('refs/heads/master')).toBe(theirs);
    expect(await upstreamRef('refs/tags/push-20240101-2')).toBeNull();
  });

  it('refuses a master that does not descend from upstream, and a tag name that is already taken', async () => {
    const up = new Upstream({ url: server.url, env: {} });
    const fetched = await up.fetchMaster(managed.git);
    const unrelated = await commitFiles(managed.git, { files: { 'x.txt': 'x\n' }, message: 'unrelated root' });
    const t = await tagObject(managed.git, 'push-x', unrelated);
    expect(await up.pushCertified(managed.git, managed.port, { master: { sha: unrelated, expectedOld: fetched }, tag: { name: 'push-x', objectSha: t } })).toMatchObject({ ok: false, code: 'upstream-rejected' });

    const next = await commitFiles(managed.git, { parents: [fetched], files: { 'd.txt': 'd\n' }, message: 'push 3' });
    const clash = await tagObject(managed.git, 'push-20240101-1', next);
    const r = await up.pushCertified(managed.git, managed.port, { master: { sha: next, expectedOld: fetched }, tag: { name: 'push-20240101-1', objectSha: clash } });
    expect(r).toMatchObject({ ok: false, code: 'upstream-rejected' });
    expect(!r.ok && r.message).toContain('refs/tags/push-20240101-1');
    expect(await upstreamRef('refs/heads/master')).toBe(fetched); // atomic: master did not move either
  });

  it('after a certified push the tracking ref moves by compare-and-swap: a fetch that landed meanwhile is kept', async () => {
    const up = new Upstream({ url: server.url, env: {} });
    const fetched = await up.fetchMaster(managed.git);
    const next = await commitFiles(managed.git, { parents: [fetched], files: { 'e.txt': 'e\n' }, message: 'push 4' });
    const t = await tagObject(managed.git, 'push-20240101-4', next);
    // A fetch lands a later upstream master in the tracking ref between the push and the ref's move.
    const later = await commitFiles(managed.git, { parents: [next], files: { 'f.txt': 'f\n' }, message: 'fetched meanwhile' });
    const racing: GitRepo = Object.assign(Object.create(managed.port) as GitRepo, {
      updateRefs: async (u: Parameters<GitRepo['updateRefs']>[0]) => {
        await managed.git.run(['update-ref', trackingRef('master'), later]);
        return managed.port.updateRefs(u);
      },
    });
    expect(await up.pushCertified(managed.git, racing, { master: { sha: next, expectedOld: fetched }, tag: { name: 'push-20240101-4', objectSha: t } })).toEqual({ ok: true, alreadyThere: false });
    expect(await upstreamRef('refs/heads/master')).toBe(next);
    expect(await managed.git.resolve(trackingRef('master'))).toBe(later);
  });

  it('an unreachable upstream is a typed error on fetch and upstream-unreachable on push', async () => {
    const up = new Upstream({ url: `http://127.0.0.1:${await closedPort()}/nope.git`, env: {}, stallTimeoutSec: 5 });
    await expect(up.fetchMaster(managed.git)).rejects.toMatchObject({ code: 'integration-unreachable', service: 'upstream' });
    const head = (await managed.git.resolve(trackingRef('master')))!;
    const t = await tagObject(managed.git, 'push-y', head);
    expect(await up.pushCertified(managed.git, managed.port, { master: { sha: head, expectedOld: head }, tag: { name: 'push-y', objectSha: t } })).toMatchObject({ ok: false, code: 'upstream-unreachable' });
    const missing = new Upstream({ url: server.url, env: {} });
    await expect(missing.fetchMaster(managed.git, 'no-such-branch')).rejects.toMatchObject({ code: 'integration-not-found' });
  });

  it('sends the token as an Authorization header, never on git\'s command line', async () => {
    // A wrapper in front of git logs every argv, as `ps` would show it.
    const bin = await tempDir();
    const log = join(bin, 'argv.log');
    await writeFile(join(bin, 'git'), `#!/bin/sh\nprintf '%s\\n' "$@" >> '${log}'\nexec /usr/bin/git "$@"\n`);
    await chmod(join(bin, 'git'), 0o755);
    const git = new GitCli(managed.dir, { ...fixedEnv(), PATH: `${bin}:${process.env.PATH ?? ''}` });
    const srv = await startRecordingServer(() => ({ status: 403, text: 'forbidden' }));
    try {
      const up = new Upstream({ url: `http://someone:url-password@127.0.0.1:${srv.port}/acme/web.git`, env: { PUSHMANAGER_UPSTREAM_TOKEN: 'tok-from-env-123' } });
      expect(up.url).toBe(`http://127.0.0.1:${srv.port}/acme/web.git`);
      await expect(up.fetchMaster(git)).rejects.toMatchObject({ code: 'integration-auth-failed' });
      expect(srv.requests[0]!.path).toBe('/acme/web.git/info/refs?service=git-upload-pack');
      expect(srv.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from('someone:tok-from-env-123').toString('base64')}`);
      const argv = await readFile(log, 'utf8');
      expect(argv).toContain('fetch');
      expect(argv).not.toMatch(/tok-from-env|url-password|Authorization/);
    } finally {
      await srv.close();
    }
  });

  it('master follows upstream by compare-and-swap: a master moved during the fetch is kept, not overwritten', async () => {
    const fresh = await initRepo();
    const repo = new CliGitRepo(fresh.git, fresh.dir);
    try {
      const up = new Upstream({ url: server.url, env: {} });
      const upstreamMaster = (await upstreamRef('refs/heads/master'))!;
      // First follow: no local master yet, so it is created at upstream's.
      expect(await up.followMaster(fresh.git, repo, 'master')).toEqual({ ok: true, sha: upstreamMaster, previous: null });
      expect(await repo.readRef('refs/heads/master')).toBe(upstreamMaster);
      // Upstream moves on; meanwhile, between our read and our move, certification lands a local master.
      const upstreamNext = await commitFiles(upstreamRepo.git, { parents: [upstreamMaster], files: { 'up.txt': 'up\n' }, message: 'upstream moved', ref: 'refs/heads/master' });
      const certified = await commitFiles(fresh.git, { parents: [upstreamMaster], files: { 'c.txt': 'c\n' }, message: 'certified' });
      const racing: GitRepo = Object.assign(Object.create(repo) as GitRepo, {
        updateRefs: async (u: Parameters<GitRepo['updateRefs']>[0]) => {
          await fresh.git.run(['update-ref', 'refs/heads/master', certified]);
          return repo.updateRefs(u);
        },
      });
      const r = await up.followMaster(fresh.git, racing, 'master');
      expect(r).toMatchObject({ ok: false, reason: 'ref-changed', ref: 'refs/heads/master', expected: upstreamMaster, actual: certified });
      expect(await repo.readRef('refs/heads/master')).toBe(certified);
      // The next refresh sees the certified master and moves it (upstream's word is final once fetched).
      expect(await up.followMaster(fresh.git, repo, 'master')).toEqual({ ok: true, sha: upstreamNext, previous: certified });
      // Put upstream back for the tests after this one.
      await upstreamRepo.git.run(['update-ref', 'refs/heads/master', upstreamMaster]);
    } finally {
      await repo.close();
      await fresh.cleanup();
    }
  });
});
