// Shared plumbing for the real-server test helpers (ngircd, prosody): free loopback ports, a child
// process that counts as started when it prints a ready line, stopping it, and waiting for a condition.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The first of `paths` that exists. A missing server is a failure in CI (`CI=true` throws) and a
 * skip elsewhere: the reason then shows in the test output instead of a silent pass.
 */
export function findBinary(paths: readonly string[], what: string, install: string): { ok: true; path: string } | { ok: false; reason: string } {
  const path = paths.find((p) => existsSync(p));
  if (path) return { ok: true, path };
  const reason = `${what} not installed (looked in ${paths.join(', ')}); ${install}`;
  if (process.env.CI === 'true') throw new Error(`CI needs a real ${what}: ${reason}`);
  return { ok: false, reason };
}

export interface Running {
  readonly child: ChildProcess;
  output(): string;
}

/** Spawns `cmd` and resolves once its stdout/stderr matches `ready`; rejects with its output if it exits or times out. */
export function spawnUntilReady(cmd: string, args: readonly string[], ready: RegExp, timeoutMs = 15_000): Promise<Running> {
  return new Promise((resolve, reject) => {
    let out = '';
    const child = spawn(cmd, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${why}: ${out.trim().slice(-1500)}`));
    };
    const timer = setTimeout(() => fail(`not ready within ${timeoutMs} ms`), timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString('utf8');
      if (ready.test(out)) {
        clearTimeout(timer);
        child.removeListener('exit', onExit);
        resolve({ child, output: () => out });
      }
    };
    const onExit = (code: number | null) => fail(`exited with ${code}`);
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', (e) => fail(`failed to start (${e.message})`));
  });
}

/** SIGTERM, then SIGKILL after a grace period; resolves when the process is gone. */
export async function stopProcess(child: ChildProcess, graceMs = 3_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Polls `check` until it returns a truthy value (which it returns), or throws after `timeoutMs` with `what`. */
export async function waitFor<T>(check: () => T | undefined | null | false, what: string, timeoutMs = 20_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
