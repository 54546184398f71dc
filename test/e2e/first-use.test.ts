// What a new user meets first, following README.md: a push of a commit over git's 1 MiB post buffer,
// the CLI's answers to incomplete credentials and a bad --server, against the real server and real git.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, git, gitOk, startFixture, type Fixture } from '../helpers/server-fixture.js';

let f: Fixture;
let alice: string;

beforeAll(async () => {
  f = await startFixture();
  alice = await f.clone('alice');
});
afterAll(async () => f?.close());

describe('a push larger than git’s post buffer', () => {
  it('opens the request: git first probes with an empty request, which is answered, not a 500', async () => {
    await gitOk(alice, ['checkout', '-q', '-B', 'big', 'origin/master']);
    // Incompressible, so the pack is over http.postBuffer (1 MiB) and git sends its probe, then a chunked body.
    await writeFile(join(alice, 'big.bin'), randomBytes(2 * 1024 * 1024));
    await gitOk(alice, ['add', 'big.bin']);
    await gitOk(alice, ['commit', '-q', '-m', 'Add a big fixture']);
    const r = await git(alice, ['push', 'origin', 'big:refs/pushreq/big', '-o', 'title=Big fixture']);
    expect(r.stderr).not.toMatch(/HTTP 500/);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/remote: Pushmanager: request \d+ "Big fixture" opened for alice/);
  });
});

/** The built CLI with exactly this environment (besides PATH and HOME), as a user's shell would run it. */
async function cliWith(env: Record<string, string>, args: readonly string[]) {
  const { execFile } = await import('node:child_process');
  const home = join(f.dir, 'home-none');
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [join(process.cwd(), 'dist', 'tui', 'cli', 'main.js'), ...args], { env: { PATH: process.env.PATH ?? '', HOME: home, ...env } }, (e, stdout, stderr) =>
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe('the CLI before it sends anything', () => {
  it('a user without a password is told which variable is missing, and no wrong guess is sent', async () => {
    for (const args of [['status'], ['login']]) {
      const r = await cliWith({ PUSHMANAGER_SERVER: f.server.url, PUSHMANAGER_USER: 'alice' }, args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/PUSHMANAGER_USER is set \(alice\) but PUSHMANAGER_PASSWORD is not/);
      expect(r.stderr).not.toMatch(/wrong user or password/);
    }
    const r = await cliWith({ PUSHMANAGER_SERVER: f.server.url, PUSHMANAGER_PASSWORD: 'alice' }, ['status']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/PUSHMANAGER_PASSWORD is set but PUSHMANAGER_USER is not/);
  });

  it('a --server (or PUSHMANAGER_SERVER) that is not an http(s) URL is a usage error naming it', async () => {
    const flag = await cliWith({ PUSHMANAGER_USER: 'alice', PUSHMANAGER_PASSWORD: 'alice' }, ['status', '--server', 'localhost:7080']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/--server: "localhost:7080" is not a server URL; expected e\.g\. http:\/\/127\.0\.0\.1:7080/);
    const env = await cliWith({ PUSHMANAGER_SERVER: 'notaurl', PUSHMANAGER_USER: 'alice', PUSHMANAGER_PASSWORD: 'alice' }, ['request', 'show', '1']);
    expect(env.code).toBe(2);
    expect(env.stderr).toMatch(/PUSHMANAGER_SERVER: "notaurl" is not a server URL/);
    expect(env.stderr).not.toMatch(/cannot reach/);
  });
});

describe('request edit', () => {
  it('with nothing to change is a usage error listing what it takes, before anything is sent', async () => {
    const r = await cli(f.server.url, 'alice', ['request', 'edit', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nothing to change: give at least one of --title, --description, --tags, --watchers, --review, --ticket/);
    expect(r.stderr).toMatch(/Usage: pushmanager request edit \[options\] <id>/);
    expect(r.stderr).not.toMatch(/already has those values/);
  });
});

describe('a request with no history in common with master', () => {
  it('is told why it conflicts with master and what to do, on remote: lines and in status', async () => {
    await gitOk(alice, ['checkout', '-q', '--orphan', 'fresh-start']);
    await gitOk(alice, ['rm', '-rqf', '--cached', '.']);
    await writeFile(join(alice, 'fresh.txt'), 'from scratch\n');
    await gitOk(alice, ['add', 'fresh.txt']);
    await gitOk(alice, ['commit', '-q', '-m', 'Start over']);
    const r = await git(alice, ['push', 'origin', 'fresh-start:refs/pushreq/fresh-start']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/remote: +CONFLICT with master: no history in common with master; base the branch on master/);
    const status = await cli(f.server.url, 'alice', ['status']);
    expect(status.stdout).toMatch(/conflicts: master: no history in common with master; base the branch on master/);
    expect(status.stdout).not.toMatch(/conflicts: master: *\n/);
  });
});
