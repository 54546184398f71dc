// Issue 13 item 8, without a terminal: the built CLI and the dashboard stop at the first refused
// credential, say whose at which server, exit 1, and send it exactly once (the server's throttle
// counts each try). The prompts on a terminal are tested in test/tui/terminal.e2e.test.ts (tmux).
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pairKey } from '../../server/auth/rate-limiter.js';
import { startFixture, type Fixture } from '../helpers/server-fixture.js';

const run = promisify(execFile);
let f: Fixture;
let home: string;

/** The built CLI with exactly these PUSHMANAGER_* variables (and an empty config dir: no stored token). */
async function cli(env: Record<string, string>, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PUSHMANAGER_')));
  try {
    const r = await run(process.execPath, [join(process.cwd(), 'dist', 'tui', 'cli', 'main.js'), ...args], { env: { ...base, XDG_CONFIG_HOME: home, PUSHMANAGER_SERVER: f.server.url, ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}
const failures = (user: string) => f.server.auth.rateLimiter.failures(pairKey('127.0.0.1', user));

beforeAll(async () => {
  f = await startFixture();
  home = await mkdtemp(join(tmpdir(), 'pm-creds-'));
}, 60_000);
afterAll(async () => {
  await f?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

describe('refused credentials', () => {
  it.each([['status'], ['tui'], ['login'], ['push', 'open', '--title', 'x']])('`pushmanager %s` with a wrong password exits 1 with whose at which server, after one try', async (...args) => {
    const before = failures('pm');
    const r = await cli({ PUSHMANAGER_USER: 'pm', PUSHMANAGER_PASSWORD: 'mistyped' }, args);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`pushmanager: wrong user or password for pm at ${f.server.url}\n`);
    expect(failures('pm')).toBe(before + 1);
    // Right afterwards the right password works from the same address: one mistake blocks nothing.
    expect((await cli({ PUSHMANAGER_USER: 'pm', PUSHMANAGER_PASSWORD: 'pm' }, ['status'])).code).toBe(0);
  });

  it('a refused API token says so, and what to do', async () => {
    const r = await cli({ PUSHMANAGER_TOKEN: `pmt_${'A'.repeat(43)}` }, ['status']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`pushmanager: API token refused by ${f.server.url}: unknown API token\n`);
  });

  it('`pushmanager login` without a terminal and without credentials says how to give them, and sends nothing', async () => {
    const before = f.server.auth.rateLimiter.size;
    const r = await cli({}, ['login']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^pushmanager: no credentials: set PUSHMANAGER_USER and PUSHMANAGER_PASSWORD, or run `pushmanager login` on a terminal \(it asks\)/);
    expect(f.server.auth.rateLimiter.size).toBe(before);
  });
});
