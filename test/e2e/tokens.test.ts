// API tokens end to end (issue 6): `pushmanager login` (the built CLI) stores a token in a 0600 file,
// later CLI calls use it without a password, git takes it as the password, and once revoked it is
// refused by both.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, gitOk, startFixture, type Fixture, type GitOutput } from '../helpers/server-fixture.js';

const run = promisify(execFile);

let f: Fixture;
let xdg: string;
let stored: { token: string; user: string; expiresAt: string };

/** The built CLI with exactly these PUSHMANAGER_* variables (none inherited) and its own config dir. */
async function pm(args: readonly string[], env: Record<string, string> = {}): Promise<GitOutput> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PUSHMANAGER_')));
  try {
    const r = await run(process.execPath, [join(process.cwd(), 'dist', 'tui', 'cli', 'main.js'), ...args], {
      env: { ...base, XDG_CONFIG_HOME: xdg, PUSHMANAGER_SERVER: f.server.url, ...env },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

const withToken = (user: string, token: string) => `${f.server.url.replace('://', `://${user}:${token}@`)}/main.git`;

beforeAll(async () => {
  f = await startFixture();
  xdg = await mkdtemp(join(f.dir, 'xdg-'));
});
afterAll(async () => f?.close());

describe('pushmanager login', () => {
  it('a wrong password stores nothing and exits 1', async () => {
    const r = await pm(['login'], { PUSHMANAGER_USER: 'alice', PUSHMANAGER_PASSWORD: 'wrong' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/wrong user or password for alice at http:/);
    await expect(stat(join(xdg, 'pushmanager', 'credentials.json'))).rejects.toThrow(/ENOENT/);
  });

  it('stores a token for this server in a file only the user can read', async () => {
    const r = await pm(['login', '--label', 'laptop'], { PUSHMANAGER_USER: 'alice', PUSHMANAGER_PASSWORD: 'alice' });
    expect(r.code, r.stderr).toBe(0);
    const file = join(xdg, 'pushmanager', 'credentials.json');
    expect(r.stdout).toContain(`logged in as alice (pushee: no pushmaster rights); token stored in ${file}`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(xdg, 'pushmanager'))).mode & 0o077).toBe(0);
    const all = JSON.parse(await readFile(file, 'utf8')) as Record<string, typeof stored>;
    stored = all[f.server.url]!;
    expect(stored).toMatchObject({ user: 'alice', token: expect.stringMatching(/^pmt_[A-Za-z0-9_-]{43}$/) });
    expect(Date.parse(stored.expiresAt)).toBeGreaterThan(Date.now() + 24 * 3_600_000);
    // The server keeps only a hash of it.
    expect(await readFile(join(f.server.config.server.dataDir, 'tokens.json'), 'utf8')).not.toContain(stored.token);
  });

  it('later CLI calls without PUSHMANAGER_USER use the stored token, as alice', async () => {
    const s = await pm(['status', '--json']);
    expect(s.code, s.stderr).toBe(0);
    expect(JSON.parse(s.stdout)).toHaveProperty('requests');
    // A command shows who did it: alice, from the token alone.
    const denied = await pm(['push', 'open', '--title', 'by token']);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/alice is not in the pushmaster group.*\[not-pushmaster\]/);
  });

  it('git accepts the token as the password (fetch and push), and the push is owned by alice', async () => {
    const work = join(f.dir, 'token-clone');
    await gitOk(f.dir, ['clone', '-q', withToken('alice', stored.token), work]);
    await f.commit(work, 'tok', { 'tok.txt': 'token\n' });
    const p = await git(work, ['push', 'origin', 'tok:refs/pushreq/tok', '-o', 'title=Via token']);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stderr).toMatch(/request \d+ "Via token" opened for alice/);
    // The token belongs to alice: with another user name it is refused.
    expect((await git(f.dir, ['ls-remote', withToken('bob', stored.token)])).code).not.toBe(0);
  });

  it('a revoked token is refused by the CLI and by git; logging in again works', async () => {
    const list = await fetch(new URL('/api/tokens', f.server.url), { headers: { authorization: `Bearer ${stored.token}` } });
    const { tokens } = (await list.json()) as { tokens: { id: string; label: string; revokedAt: string | null }[] };
    const mine = tokens.find((t) => t.label === 'laptop')!;
    expect(mine.revokedAt).toBeNull();
    const del = await fetch(new URL(`/api/tokens/${mine.id}`, f.server.url), { method: 'DELETE', headers: { authorization: `Bearer ${stored.token}` } });
    expect(del.status).toBe(200);

    const s = await pm(['status']);
    expect(s.code).toBe(1);
    expect(s.stderr).toMatch(/API token was revoked/);
    const g = await git(f.dir, ['ls-remote', withToken('alice', stored.token)]);
    expect(g.code).not.toBe(0);
    expect(g.stderr).toMatch(/Authentication failed|401/);

    const again = await pm(['login'], { PUSHMANAGER_USER: 'alice', PUSHMANAGER_PASSWORD: 'alice' });
    expect(again.code).toBe(0);
    expect((await pm(['status'])).code).toBe(0);
  });

  it('PUSHMANAGER_USER/PASSWORD win over a stored token', async () => {
    const r = await pm(['push', 'open', '--title', 'pm by password'], { PUSHMANAGER_USER: 'pm', PUSHMANAGER_PASSWORD: 'pm' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^push \d+ "pm by password" opened/);
  });
});
