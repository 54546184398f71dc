// Issue 13 item 7, against the running server: failed logins are throttled per (user, client address)
// and per address, so wrong passwords from one address never lock a user out of another. Two loopback
// source addresses stand for two machines: the server listens on 127.0.0.1 and the client binds its
// socket to 127.0.0.2 (or .3). Git and API requests go through the same door; both are checked.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, git, startFixture, type Fixture } from '../helpers/server-fixture.js';

let f: Fixture;

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const API = '/api/whoami';
const GIT = '/main.git/info/refs?service=git-upload-pack';

/** One GET from the given local (source) address; the status, Retry-After and the error message. */
function from(localAddress: string, path: string, user: string, password: string): Promise<{ status: number; retryAfter: string | undefined; message: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, f.server.url);
    const req = request(url, { localAddress, agent: false, headers: { authorization: basic(user, password), connection: 'close' } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        let message = '';
        try {
          message = (JSON.parse(body) as { error?: { message?: string } }).error?.message ?? '';
        } catch {
          message = body.slice(0, 200);
        }
        resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], message });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  // The embedded config: 5 failures per (user, address), 50 per address, 1 s doubling backoff.
  f = await startFixture();
  expect(new URL(f.server.url).hostname).toBe('127.0.0.1');
}, 60_000);
afterAll(async () => f?.close());

describe('login throttle', () => {
  it("wrong passwords for pm from 127.0.0.2 are throttled there, and never refuse pm's right password from 127.0.0.1 (git and API)", async () => {
    const statuses: number[] = [];
    // A mistyped password in a loop (an old dashboard, libgit2's credential callback), on both doors.
    for (let i = 0; i < 8; i++) statuses.push((await from('127.0.0.2', i % 2 ? GIT : API, 'pm', 'mistyped')).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);

    // From 127.0.0.2 even the right password waits (that pair is being guessed), and says so.
    for (const path of [API, GIT]) {
      const blocked = await from('127.0.0.2', path, 'pm', 'pm');
      expect(blocked.status, path).toBe(429);
      expect(Number(blocked.retryAfter)).toBeGreaterThanOrEqual(1);
      // The server saw the client's own source address, not 127.0.0.1.
      expect(blocked.message).toMatch(/too many failed logins for pm from 127\.0\.0\.2; try again in \d+ s/);
    }

    // From 127.0.0.1, pm is not refused: the API, a git request, the real git CLI and the CLI.
    expect((await from('127.0.0.1', API, 'pm', 'pm')).status).toBe(200);
    expect((await from('127.0.0.1', GIT, 'pm', 'pm')).status).toBe(200);
    const lsRemote = await git(f.dir, ['ls-remote', f.remote('pm'), 'refs/heads/master']);
    expect(lsRemote.code, lsRemote.stderr).toBe(0);
    expect(lsRemote.stdout).toMatch(/^[0-9a-f]{40}\trefs\/heads\/master$/m);
    const status = await cli(f.server.url, 'pm', ['status']);
    expect(status.code, status.stderr).toBe(0);
    // Another user from the throttled address is not refused either: the address itself is under its limit.
    expect((await from('127.0.0.2', API, 'alice', 'alice')).status).toBe(200);
  });

  it('an address guessing many user names is throttled as a whole, and only that address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 52; i++) statuses.push((await from('127.0.0.3', i % 2 ? GIT : API, `nobody${i}`, 'guess')).status);
    // 5 per (user, address) never trips here (one guess per name); 50 per address does.
    expect(statuses.slice(0, 50).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(50)).toEqual([429, 429]);
    const blocked = await from('127.0.0.3', API, 'carol', 'carol');
    expect(blocked.status).toBe(429);
    expect(blocked.message).toMatch(/too many failed logins from 127\.0\.0\.3; try again in \d+ s/);
    expect((await from('127.0.0.1', API, 'carol', 'carol')).status).toBe(200);
    expect((await from('127.0.0.2', GIT, 'carol', 'carol')).status).toBe(200);
  });
});
