// The git spawner: a small long-lived Perl process (git-spawner.pl) that starts the git processes behind
// each smart-HTTP request, so the server process itself never forks per request. A fork from a ~100 MB
// Node process copies its page tables and blocks the event loop until the child has exec'd: under load it
// was 45% of the server's own time (bench/results/capacity-profile.md). The spawner is ~5 MB.
//
// The server connects to the spawner's Unix socket (0600 in the data directory's 0700 run/ folder, like the
// hook socket) once per request, sends the kind of process and its environment, and then the socket *is*
// the child's stdin and stdout. The kinds and environment keys the spawner takes are fixed there: nothing
// of a request becomes a command line.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PushmanagerError } from '../../state/pushmanager-error.js';

export class GitSpawnerError extends PushmanagerError {
  constructor(
    readonly code: 'git-spawner-failed',
    message: string,
    data: Readonly<Record<string, unknown>> = {},
  ) {
    super(message, data);
  }
}

/** What the spawner runs: git http-backend, or receive-pack's two stateless-rpc halves run directly. */
export type SpawnKind = 'http-backend' | 'receive-refs' | 'receive-rpc';

/** Where the socket lives: `<data>/run/git-spawner.sock`, beside the hook socket. */
export const gitSpawnerSocketPath = (dataDir: string): string => join(resolve(dataDir), 'run', 'git-spawner.sock');

/** One request's child: the connection is its stdin and stdout; its pid comes first on the output. */
export interface SpawnedGit {
  readonly socket: Socket;
}

export interface GitSpawner {
  readonly socketPath: string;
  /** The spawner process is running (if it died, callers fall back to spawning git themselves). */
  readonly alive: boolean;
  /** The spawner's own pid (tests, and the operator reading `ps`). */
  readonly pid: number;
  open(kind: SpawnKind, env: Readonly<Record<string, string>>): SpawnedGit;
  close(): Promise<void>;
}

function scriptPath(): string {
  // server/git/ in the sources, dist/server/git/ once built: the script is read from the sources' folder.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'server', 'git', 'git-spawner.pl');
    const up = dirname(dir);
    if (up === dir) throw new GitSpawnerError('git-spawner-failed', 'cannot find the pushmanager package root for server/git/git-spawner.pl');
    dir = up;
  }
}

/** The header the spawner reads: "<length>\n" and NUL-separated fields, the kind first. */
export function spawnHeader(kind: SpawnKind, env: Readonly<Record<string, string>>): Buffer {
  const fields: string[] = [kind];
  for (const [k, v] of Object.entries(env)) {
    if (v.includes('\0')) throw new GitSpawnerError('git-spawner-failed', `environment value ${k} holds a NUL byte`, { key: k });
    fields.push(`${k}=${v}`);
  }
  const body = Buffer.from(fields.join('\0'), 'utf8');
  return Buffer.concat([Buffer.from(`${body.length}\n`, 'latin1'), body]);
}

/**
 * Starts the spawner on `socketPath` and resolves once it listens. It exits when this process does (it
 * watches its stdin, a pipe from here), and `close()` stops it by its pid.
 */
export async function startGitSpawner(socketPath: string, opts: { log?: (level: 'info' | 'warn' | 'error', msg: string) => void } = {}): Promise<GitSpawner> {
  const dir = dirname(socketPath);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  if (await lstat(socketPath).then(() => true, () => false)) await unlink(socketPath); // the hook socket's check already refused a live second server
  const child: ChildProcess = spawn('perl', [scriptPath(), socketPath], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...(process.env.TZ && { TZ: process.env.TZ }) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-2000)));
  child.stdin!.on('error', () => undefined);
  let alive = false;
  let closing = false;
  const exited = new Promise<void>((done) => child.once('close', () => done()));
  await new Promise<void>((ok, fail) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString('utf8');
      if (out.includes('ready\n')) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        ok();
      }
    };
    child.stdout!.on('data', onData);
    child.once('error', (e) => fail(new GitSpawnerError('git-spawner-failed', `cannot start the git spawner (perl ${scriptPath()}): ${e.message}`)));
    child.once('exit', (code) => fail(new GitSpawnerError('git-spawner-failed', `the git spawner exited (code ${code}) before it listened: ${stderr.trim()}`)));
  });
  alive = true;
  child.once('exit', (code, signal) => {
    alive = false;
    if (closing) return;
    // SIGTERM/SIGINT reach it with the server's own when the whole group is stopped (Ctrl-C, systemd's
    // stop): a stop, not a crash, and no error in the log of a clean shutdown.
    if (signal === 'SIGTERM' || signal === 'SIGINT') opts.log?.('info', `the git spawner (pid ${child.pid}) was stopped (${signal}); git requests fork from the server until the next start`);
    else opts.log?.('error', `the git spawner (pid ${child.pid}) exited (${signal ?? code}); git requests now fork from the server: ${stderr.trim()}`);
  });
  // It must not keep this process alive on its own: it ends when our end of its stdin closes.
  child.unref();
  (child.stdout as unknown as { unref?: () => void }).unref?.();
  (child.stderr as unknown as { unref?: () => void }).unref?.();
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  return {
    socketPath,
    get alive() {
      return alive;
    },
    pid: child.pid!,
    open(kind, env) {
      const socket = connect(socketPath);
      socket.write(spawnHeader(kind, env));
      return { socket };
    },
    async close() {
      closing = true;
      if (alive) child.kill('SIGTERM');
      await exited;
      await unlink(socketPath).catch(() => undefined);
    },
  };
}
