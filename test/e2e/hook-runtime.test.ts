// The intake behaviours end to end through each proc-receive runtime (Node and Perl): the real git CLI
// against the real server, whose data dir has a quote and spaces in its path (the hook and its
// sh wrapper must cope). Then how the runtime is chosen. Only asynchronous git calls: the server runs in this process.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repositoryConfigSchema } from '../../server/config/config.js';
import { ensureRepository, type HookRuntime } from '../../server/repo/managed-repo.js';
import { git, gitOk, startFixture, type Fixture } from '../helpers/server-fixture.js';

/** Runs `f` with PUSHMANAGER_HOOK_RUNTIME set (the wrapper is written at start-up, so only then). */
async function withRuntimeEnv<T>(value: string | undefined, f: () => Promise<T>): Promise<T> {
  const before = process.env.PUSHMANAGER_HOOK_RUNTIME;
  if (value === undefined) delete process.env.PUSHMANAGER_HOOK_RUNTIME;
  else process.env.PUSHMANAGER_HOOK_RUNTIME = value;
  try {
    return await f();
  } finally {
    if (before === undefined) delete process.env.PUSHMANAGER_HOOK_RUNTIME;
    else process.env.PUSHMANAGER_HOOK_RUNTIME = before;
  }
}

describe.each(['node', 'perl'] as const)('intake through the %s hook', (runtime: HookRuntime) => {
  let f: Fixture;
  let dataDir: string;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    dataDir = join(await mkdtemp(join(tmpdir(), "pm-hook-it's ")), `data "${runtime}" dir`);
    f = await withRuntimeEnv(runtime, () => startFixture({ dataDir }));
    alice = await f.clone('alice');
    bob = await f.clone('bob');
  });
  afterAll(async () => f?.close());

  const board = () => f.client('alice').board(true);
  const requestByRef = async (ref: string) => (await board()).requests.find((r) => r.ref === ref && !['discarded', 'live'].includes(r.state));
  // "Nothing recorded" is checked on what the refusal is about (no request, ref untouched), not on the
  // board version: a previous push's conflict check is committed after its answer and may land later.
  const noRequestFor = async (ref: string) => expect((await board()).requests.filter((r) => r.ref === ref && r.state !== 'discarded')).toEqual([]);

  it(`runs on ${runtime}, from a hook written into a data dir whose path has quotes and spaces`, async () => {
    expect(f.server.repo.hookRuntime).toBe(runtime);
    const hook = await readFile(join(dataDir, 'hooks', 'proc-receive'), 'utf8');
    if (runtime === 'node') expect(hook).toMatch(/^#!\/bin\/sh\nexec '[^']*' '[^']*\/dist\/hooks\/proc-receive\.js'\n$/);
    else {
      // The Perl hook itself, with perl on its #! line: git execs perl with no sh in front (issue 17).
      const script = await readFile(join(process.cwd(), 'hooks', 'proc-receive.pl'), 'utf8');
      expect(hook).toMatch(/^#!\/\S*perl\n/);
      expect(hook.slice(hook.indexOf('\n'))).toBe(script.slice(script.indexOf('\n')));
    }
  });

  it('opens a request whose options hold quotes, backslashes and unicode, exactly as typed', async () => {
    const title = `Fix "login" \\ C:\\path\\ — café ☕ 🚀 it's`;
    const description = `Say "hi" \\n (not a newline), ünïcødé, 100% {json: "no"}`;
    const sha = await f.commit(alice, 'fix-login', { 'login.txt': 'fixed\n' });
    const r = await git(alice, ['push', 'origin', 'fix-login:refs/pushreq/fix-login', '-o', `title=${title}`, '-o', `description=${description}`, '-o', 'tags=urgent,fix', '-o', 'watchers=bob']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`remote: Pushmanager: request `);
    expect(r.stderr).toContain(`"${title}" opened for alice`);
    expect(r.stderr).toMatch(/remote: +state: requested/);
    const req = await requestByRef('refs/pushreq/fix-login');
    expect(req).toMatchObject({ user: 'alice', title, description, sha, state: 'requested', watchers: ['bob'] });
    expect(await gitOk(alice, ['ls-remote', 'origin', 'refs/pushreq/fix-login'])).toContain(sha);
  });

  it('a tab in an option reaches the server as a tab, and is refused as a control character', async () => {
    await f.commit(alice, 'tabbed', { 'tab.txt': 'tab\n' });
    const r = await git(alice, ['push', 'origin', 'tabbed:refs/pushreq/tabbed', '-o', 'title=one\ttwo']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/remote: .*push option "title": contains control characters/);
    expect(r.stderr).toMatch(/\[remote rejected\] +tabbed -> refs\/pushreq\/tabbed \(.*push option "title": contains control characters/);
    await noRequestFor('refs/pushreq/tabbed');
  });

  it('re-push updates the SHA; a force-push is reported as forced (option forced-update honoured)', async () => {
    await gitOk(alice, ['checkout', '-q', 'fix-login']);
    await gitOk(alice, ['commit', '-q', '--allow-empty', '-m', 'more']);
    const newSha = await gitOk(alice, ['rev-parse', 'HEAD']);
    const r = await git(alice, ['push', 'origin', 'fix-login:refs/pushreq/fix-login']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/remote: Pushmanager: request \d+ ".*" updated [0-9a-f]{10} -> [0-9a-f]{10}/);
    expect((await requestByRef('refs/pushreq/fix-login'))!.sha).toBe(newSha);
    await gitOk(alice, ['commit', '-q', '--amend', '--allow-empty', '-m', 'rewritten']);
    const rewritten = await gitOk(alice, ['rev-parse', 'HEAD']);
    const forced = await git(alice, ['push', '--force', 'origin', 'fix-login:refs/pushreq/fix-login']);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toMatch(/\+ [0-9a-f]+\.\.\.[0-9a-f]+ +fix-login -> refs\/pushreq\/fix-login \(forced update\)/);
    expect((await requestByRef('refs/pushreq/fix-login'))!.sha).toBe(rewritten);
    expect(await gitOk(alice, ['ls-remote', 'origin', 'refs/pushreq/fix-login'])).toContain(rewritten);
  });

  it('withdraws a request when its ref is deleted', async () => {
    await f.commit(alice, 'temp', { 't.txt': 'temp\n' });
    await gitOk(alice, ['push', '-q', 'origin', 'temp:refs/pushreq/temp']);
    const id = (await requestByRef('refs/pushreq/temp'))!.id;
    const r = await git(alice, ['push', 'origin', ':refs/pushreq/temp']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/remote: .*withdrawn \(discarded: withdrawn by alice/);
    expect((await board()).requests.find((x) => x.id === id)!.state).toBe('discarded');
    expect((await git(alice, ['ls-remote', '--exit-code', 'origin', 'refs/pushreq/temp'])).code).not.toBe(0);
  });

  it("refuses a push to master with the server's reason on remote: and [remote rejected]", async () => {
    const masterBefore = await gitOk(bob, ['ls-remote', 'origin', 'refs/heads/master']);
    await f.commit(bob, 'to-master', { 'm.txt': 'm\n' });
    const r = await git(bob, ['push', '--force', 'origin', 'to-master:refs/heads/master']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/remote: .*master is written only by pushmanager/);
    expect(r.stderr).toMatch(/\[remote rejected\] +to-master -> master \(.*master is written only by pushmanager/);
    expect(await gitOk(bob, ['ls-remote', 'origin', 'refs/heads/master'])).toBe(masterBefore);
  });

  it('refuses a bad push option, naming it, recording nothing', async () => {
    await f.commit(bob, 'opts', { 'o.txt': 'opts\n' });
    const r = await git(bob, ['push', 'origin', 'opts:refs/pushreq/opts', '-o', 'title=fine', '-o', 'review=abc']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/remote: .*push option "review": "abc" is not a review number/);
    expect(r.stderr).toMatch(/\[remote rejected\]/);
    await noRequestFor('refs/pushreq/opts');
    expect((await git(bob, ['ls-remote', '--exit-code', 'origin', 'refs/pushreq/opts'])).code).not.toBe(0);
  });

  it('with the server unreachable, refuses every ref with a clear reason and records nothing', async () => {
    // git's front door is the server itself, so push straight into the managed repository (as an
    // operator on the host could) with the hook pointed at a socket where nothing listens. The relay
    // knows no protocol, so it says why on stderr and exits: git refuses every ref itself.
    await f.commit(alice, 'down', { 'd.txt': 'down\n' });
    const dead = join(dataDir, 'no-such.sock');
    const r = await git(alice, ['push', f.server.repo.gitDir, 'down:refs/pushreq/down', 'down:refs/pushreq/down-2', '-o', 'title=down'], { PUSHMANAGER_HOOK_SOCKET: dead, PUSHMANAGER_PUSH_TOKEN: 'x' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`remote: pushmanager server unreachable (connect to ${dead}: ENOENT); nothing was recorded, try again`);
    for (const ref of ['down', 'down-2']) expect(r.stderr).toMatch(new RegExp(`\\[remote rejected\\] +down -> refs/pushreq/${ref} \\(fail to run proc-receive hook\\)`));
    await noRequestFor('refs/pushreq/down');
    expect((await git(alice, ['ls-remote', '--exit-code', 'origin', 'refs/pushreq/down'])).code).not.toBe(0);
  });
});

describe('choosing the hook runtime', () => {
  const cfg = repositoryConfigSchema.parse({});
  const fresh = async () => join(await mkdtemp(join(tmpdir(), 'pm-hook-choice-')), 'data');

  it('takes perl when it can run the hook, and says why', async () => {
    const repo = await withRuntimeEnv(undefined, async () => ensureRepository(await fresh(), cfg));
    expect(repo.hookRuntime).toBe('perl');
    expect(repo.hookRuntimeReason).toMatch(/perl can run it$/);
  });

  it('PUSHMANAGER_HOOK_RUNTIME=node forces the Node hook; a log hears which one', async () => {
    const lines: string[] = [];
    const repo = await withRuntimeEnv('node', async () => ensureRepository(await fresh(), cfg, { log: (_l, m) => lines.push(m) }));
    expect(repo.hookRuntime).toBe('node');
    expect(lines).toEqual(['proc-receive hook runs on node: forced by PUSHMANAGER_HOOK_RUNTIME']);
  });

  it('refuses an unknown PUSHMANAGER_HOOK_RUNTIME, naming the variable', async () => {
    const dir = await fresh();
    await expect(withRuntimeEnv('python', () => ensureRepository(dir, cfg))).rejects.toMatchObject({ code: 'bad-hook-runtime', message: expect.stringMatching(/PUSHMANAGER_HOOK_RUNTIME must be "node" or "perl", not "python"/) });
  });
});
