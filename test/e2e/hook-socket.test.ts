// The hooks' door is a Unix socket only the server's user can open, and it answers only a live per-push
// token: a process that is not a push's own hook cannot record anything through it. The real server, the
// real git CLI; the tokens are the ones the server really issued, caught by a pre-receive hook that
// runs before proc-receive in the same receive-pack and sees the same environment.
import { chmod, readFile, readlink, readdir, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PushTokens } from '../../server/auth/push-tokens.js';
import { hookSocketPath } from '../../server/http/hook-socket.js';
import { userActor } from '../../state/actor.js';
import { git, gitOk, startFixture, type Fixture } from '../helpers/server-fixture.js';

let f: Fixture;
let alice: string;
let dataDir: string;
let caught: string;

beforeAll(async () => {
  f = await startFixture();
  dataDir = f.server.config.server.dataDir;
  alice = await f.clone('alice');
  // Records what the push's hooks were given; exits 1 (refusing the push before proc-receive runs) when
  // the file `refuse` exists next to it.
  caught = join(f.dir, 'caught-env');
  const preReceive = join(dataDir, 'hooks', 'pre-receive');
  await writeFile(preReceive, `#!/bin/sh\nprintf '%s\\n%s\\n' "$PUSHMANAGER_HOOK_SOCKET" "$PUSHMANAGER_PUSH_TOKEN" > '${caught}'\ncat >/dev/null\n[ -e '${caught}.refuse' ] && exit 1\nexit 0\n`);
  await chmod(preReceive, 0o755);
});
afterAll(async () => f?.close());

const board = () => f.client('alice').board(true);
const requestsFor = async (ref: string) => (await board()).requests.filter((r) => r.ref === ref && r.state !== 'discarded');
const caughtEnv = async () => {
  const [socket = '', token = ''] = (await readFile(caught, 'utf8')).split('\n');
  return { socket, token };
};
/** Pushes straight into the managed repository, as a process on the host could, with this hook env. */
const pushDirect = (branch: string, env: Record<string, string>) => git(alice, ['push', f.server.repo.gitDir, `${branch}:refs/pushreq/${branch}`, '-o', `title=${branch}`], env);

describe('the hook socket', () => {
  it('lives in the data directory, mode 0600 in a 0700 directory, owned by the server\'s user', async () => {
    const path = hookSocketPath(dataDir);
    const s = await stat(path);
    expect(s.isSocket()).toBe(true);
    expect(s.mode & 0o777).toBe(0o600);
    expect(s.uid).toBe(process.getuid!());
    expect((await stat(join(dataDir, 'run'))).mode & 0o777).toBe(0o700);
  });

  it('a real push through the server gets a token for its hook; the token is refused once the push is over, and nothing is recorded', async () => {
    await f.commit(alice, 'real', { 'real.txt': 'real\n' });
    await gitOk(alice, ['push', '-q', 'origin', 'real:refs/pushreq/real', '-o', 'title=real']);
    expect(await requestsFor('refs/pushreq/real')).toHaveLength(1);
    const { socket, token } = await caughtEnv();
    expect(socket).toBe(hookSocketPath(dataDir));
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // The same token again (a replay by anyone who saw it): refused before a single packet is read.
    await f.commit(alice, 'replay', { 'replay.txt': 'replay\n' });
    const r = await pushDirect('replay', { PUSHMANAGER_HOOK_SOCKET: socket, PUSHMANAGER_PUSH_TOKEN: token });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('remote: pushmanager hook failed: the push token is missing, unknown, expired or already used; nothing was recorded');
    expect(r.stderr).toMatch(/\[remote rejected\] +replay -> refs\/pushreq\/replay/);
    expect(await requestsFor('refs/pushreq/replay')).toEqual([]);
  });

  it('a token whose push ended before its hook ran (refused by pre-receive) has expired with the push', async () => {
    await writeFile(`${caught}.refuse`, '');
    try {
      await f.commit(alice, 'never', { 'never.txt': 'never\n' });
      const refused = await git(alice, ['push', 'origin', 'never:refs/pushreq/never', '-o', 'title=never']);
      expect(refused.stderr).toMatch(/pre-receive hook declined/);
    } finally {
      await unlink(`${caught}.refuse`);
    }
    const { socket, token } = await caughtEnv();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const r = await pushDirect('never', { PUSHMANAGER_HOOK_SOCKET: socket, PUSHMANAGER_PUSH_TOKEN: token });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('the push token is missing, unknown, expired or already used; nothing was recorded');
    expect(await requestsFor('refs/pushreq/never')).toEqual([]);
  });

  it.each([
    ['no token', {}],
    ['a made-up token', { PUSHMANAGER_PUSH_TOKEN: 'A'.repeat(43) }],
    ['a token line that never ends', { PUSHMANAGER_PUSH_TOKEN: 'x'.repeat(5000) }],
  ])('a process with %s is refused and nothing is recorded', async (_, env) => {
    await f.commit(alice, 'forged', { 'forged.txt': 'forged\n' });
    const r = await pushDirect('forged', { PUSHMANAGER_HOOK_SOCKET: hookSocketPath(dataDir), ...env });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/remote: pushmanager hook failed: the push token (is missing, unknown, expired or already used|line is too long); nothing was recorded/);
    expect(await requestsFor('refs/pushreq/forged')).toEqual([]);
    expect((await git(alice, ['ls-remote', '--exit-code', 'origin', 'refs/pushreq/forged'])).code).not.toBe(0);
  });

  it('the old loopback HTTP hook endpoint is gone: the front door answers 404, and the server listens on one TCP port only', async () => {
    const res = await fetch(`${f.server.url}/_internal/hooks/proc-receive`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"user":"alice","commands":[],"options":[]}' });
    expect(res.status).toBe(404);
    // Every listening TCP socket this process holds (a test file runs in its own process).
    const inodes = new Set<string>();
    for (const fd of await readdir('/proc/self/fd')) {
      const link = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m) inodes.add(m[1]!);
    }
    const ports: number[] = [];
    for (const table of ['/proc/self/net/tcp', '/proc/self/net/tcp6']) {
      for (const line of (await readFile(table, 'utf8').catch(() => '')).split('\n').slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols[3] === '0A' && inodes.has(cols[9] ?? '')) ports.push(parseInt(cols[1]!.split(':')[1]!, 16));
      }
    }
    expect(ports).toEqual([f.server.port]);
  });
});

describe('PushTokens', () => {
  const actor = userActor('alice');
  it('a token stands for its actor once; a second take, an unknown token, a revoked or expired one are null', () => {
    let now = 1_000;
    const tokens = new PushTokens(5_000, () => now);
    const a = tokens.issue(actor);
    expect(tokens.take(a.token)).toEqual(actor);
    expect(tokens.take(a.token)).toBeNull();
    expect(tokens.take('nope')).toBeNull();
    const b = tokens.issue(actor);
    b.revoke();
    expect(tokens.take(b.token)).toBeNull();
    const c = tokens.issue(actor);
    now += 5_000;
    expect(tokens.take(c.token)).toBeNull();
    expect(tokens.size).toBe(0);
    expect(tokens.issue(actor).token).not.toBe(tokens.issue(actor).token);
  });
});
