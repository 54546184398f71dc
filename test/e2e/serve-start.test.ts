// Issue 13 item 11: `pushmanager serve` on a port that is taken exits 1 at once with a message that says
// what to do, and creates nothing first (it used to print EADDRINUSE and hang, with a fresh data dir).
// Runs the built CLI (dist/: npx tsc -p tsconfig.json) as a real second process.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeListenError } from '../../server/main.js';

const CLI = resolve(import.meta.dirname, '../../dist/tui/cli/main.js');

/** Runs `pushmanager ARGS`; kills it (by PID) if it has not exited after `limitMs`. */
function runCli(args: string[], limitMs: number): Promise<{ code: number | null; stderr: string; stdout: string; ms: number; killed: boolean }> {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PUSHMANAGER_')));
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      killed = true;
      process.kill(child.pid!, 'SIGKILL');
    }, limitMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stderr, stdout, ms: performance.now() - t0, killed });
    });
  });
}

describe('serve start-up', () => {
  let dir: string;
  let taker: Server;
  let port: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pm-serve-'));
    // Whatever holds the port (another pushmanager, say): a plain listener on the same address.
    taker = createServer();
    await new Promise<void>((r) => taker.listen(0, '127.0.0.1', r));
    port = (taker.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((r) => taker?.close(r));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('on a taken port exits 1 within seconds, says so and what to do, and creates no data dir', async () => {
    const data = join(dir, 'second-data');
    // The bound is generous on purpose: the point is that it ends at all (it used to hang).
    const r = await runCli(['serve', '--port', String(port), '--data', data], 15_000);
    expect(r.killed, `still running after 15 s; stderr:\n${r.stderr}`).toBe(false);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`port ${port} is already in use on 127.0.0.1 (another pushmanager? choose one with --port)`);
    expect(r.ms).toBeLessThan(5_000);
    expect(existsSync(data)).toBe(false);
    console.log(`serve on a taken port exited in ${r.ms.toFixed(0)} ms`);
  });
});

/** Starts `pushmanager ARGS` and returns its stdout once `until` shows in it; the server is stopped by PID. */
function startCliUntil(args: string[], until: RegExp, limitMs = 15_000): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PUSHMANAGER_')));
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const stop = () => {
      clearTimeout(timer);
      if (child.exitCode === null) process.kill(child.pid!, 'SIGTERM');
    };
    const timer = setTimeout(() => (stop(), reject(new Error(`no ${until} after ${limitMs} ms; stderr:\n${stderr}`))), limitMs);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (until.test(stdout)) {
        stop();
        child.once('exit', () => resolvePromise({ stdout, stderr }));
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
  });
}

describe('serve: how to start using it', () => {
  it('with configured users (not the demo), does not tell people to clone as alice:alice', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pm-serve-users-'));
    try {
      const config = join(dir, 'pm.yaml');
      // scrypt of "secret" (pushmanager hash-password): a real user, no plaintext password.
      await writeFile(config, 'auth:\n  strategy: local\n  users:\n    - { name: dana, passwordHash: "scrypt$32768$8$1$N97brSN9Txarkp2BT0UhYw==$b3hdXmXnMK5iIWnKDljl3liSjFaiDncCnxmaJ267Eq4=", pushmaster: true }\n');
      const { stdout } = await startCliUntil(['serve', '--config', config, '--port', '0', '--data', join(dir, 'data')], /board:.*\n/);
      expect(stdout).not.toMatch(/alice/);
      expect(stdout).toMatch(/clone: +git clone http:\/\/USER@127\.0\.0\.1:\d+\/main\.git +\(git asks for the password\)/);
      expect(stdout).toMatch(/board: +pushmanager login --server http:\/\/127\.0\.0\.1:\d+/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a data dir an older version left open to others (0755) is closed to 0700 at start, and the log says so', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pm-serve-mode-'));
    try {
      await mkdir(join(dir, 'data'), { mode: 0o755 });
      await chmod(join(dir, 'data'), 0o755);
      const { stderr } = await startCliUntil(['serve', '--port', '0', '--data', join(dir, 'data')], /board:.*\n/);
      expect((await stat(join(dir, 'data'))).mode & 0o777).toBe(0o700);
      expect(stderr).toContain(`the data directory ${join(dir, 'data')} was open to other users (755); it is 700 now`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('with the demo users, shows the clone URL with alice:alice, ready to paste', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pm-serve-demo-'));
    try {
      const { stdout } = await startCliUntil(['serve', '--port', '0', '--data', join(dir, 'data')], /board:.*\n/);
      expect(stdout).toMatch(/clone: +git clone http:\/\/alice:alice@127\.0\.0\.1:\d+\/main\.git\n/);
      expect(stdout).toMatch(/board: +PUSHMANAGER_USER=alice PUSHMANAGER_PASSWORD=alice pushmanager status --server/);
      // Only the server's user reads the data dir: it holds addresses, token hashes and job logs.
      expect((await stat(join(dir, 'data'))).mode & 0o777).toBe(0o700);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('describeListenError', () => {
  it.each([
    ['EADDRINUSE', '127.0.0.1', 7080, 'port 7080 is already in use on 127.0.0.1 (another pushmanager? choose one with --port)'],
    ['EACCES', '0.0.0.0', 80, 'port 80 on 0.0.0.0 needs privileges this user does not have (EACCES): choose a port above 1023 with --port, or let a proxy or systemd socket hand it over'],
    ['EADDRNOTAVAIL', '192.0.2.1', 7080, 'address 192.0.2.1 is not an address of this machine (EADDRNOTAVAIL): choose another with --host'],
    ['ENOTFOUND', 'no-such-host.invalid', 7080, 'cannot listen on no-such-host.invalid: no such host name (ENOTFOUND); choose another with --host'],
  ])('%s on %s:%d', (code, host, port, message) => {
    expect(describeListenError(Object.assign(new Error('x'), { code }), host, port).message).toBe(message);
  });

  it('keeps the code of an unknown error', () => {
    const e = describeListenError(Object.assign(new Error('boom'), { code: 'EWHATEVER' }), '127.0.0.1', 1);
    expect(e.message).toBe('cannot listen on 127.0.0.1 port 1: boom (EWHATEVER)');
    expect(e.code).toBe('listen-failed');
  });
});
