// A real Pushmanager server on a free port with a temp data dir, and real git clones that talk to it.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { startServer, type RunningServer } from '../../server/main.js';
import type { Config } from '../../server/config/config.js';
import { PushmanagerClient } from '../../tui/client.js';

const run = promisify(execFile);

export interface GitOutput {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function git(cwd: string, args: readonly string[], env: Record<string, string> = {}): Promise<GitOutput> {
  try {
    const r = await run('git', [...args], { cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 't@example.com', ...env }, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

export async function gitOk(cwd: string, args: readonly string[]): Promise<string> {
  const r = await git(cwd, args);
  if (r.code !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

export interface Fixture {
  readonly server: RunningServer;
  readonly dir: string;
  remote(user: string): string;
  /** A fresh clone as `user` (password = name, the demo users). */
  clone(user: string): Promise<string>;
  client(user: string): PushmanagerClient;
  /** Commit files on a new branch from origin/master in `work`; returns the SHA. */
  commit(work: string, branch: string, files: Record<string, string>, message?: string): Promise<string>;
  close(): Promise<void>;
}

/** `config`: a parsed config (e.g. `parseConfig(yaml, 'test')`) instead of the embedded default; port and data dir still come from here. */
export async function startFixture(opts: { dataDir?: string; config?: Config } = {}): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'pm-e2e-'));
  const server = await startServer({ port: 0, dataDir: opts.dataDir ?? join(dir, 'data'), log: () => undefined, ...(opts.config && { config: opts.config }) });
  let clones = 0;
  const f: Fixture = {
    server,
    dir,
    remote: (user) => `${server.url.replace('://', `://${user}:${user}@`)}/main.git`,
    async clone(user) {
      const work = join(dir, `clone-${user}-${clones++}`);
      await gitOk(dir, ['clone', '-q', f.remote(user), work]);
      return work;
    },
    client: (user) => new PushmanagerClient({ server: server.url, user, password: user }),
    async commit(work, branch, files, message = `change ${branch}`) {
      await gitOk(work, ['fetch', '-q', 'origin']);
      return commitOnBranch(work, branch, files, message);
    },
    async close() {
      await server.close();
    },
  };
  return f;
}

/**
 * The built CLI, run as a user would (exit code, stdout, stderr). Asynchronous on purpose: the server
 * runs in this same process, so a synchronous child would block it and never get an answer.
 */
export async function cli(server: string, user: string | null, args: readonly string[]): Promise<GitOutput> {
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PUSHMANAGER_'))), PUSHMANAGER_SERVER: server, ...(user && { PUSHMANAGER_USER: user, PUSHMANAGER_PASSWORD: user }) };
  try {
    const r = await run(process.execPath, [join(process.cwd(), 'dist', 'tui', 'cli', 'main.js'), ...args], { env });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

/** Commits `files` on `branch`, made afresh from origin/master as last fetched; returns the SHA. */
export async function commitOnBranch(work: string, branch: string, files: Record<string, string>, message = `change ${branch}`): Promise<string> {
  await gitOk(work, ['checkout', '-q', '-B', branch, 'origin/master']);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(work, path)), { recursive: true });
    await writeFile(join(work, path), content);
  }
  await gitOk(work, ['add', '-A']);
  await gitOk(work, ['commit', '-q', '-m', message]);
  return gitOk(work, ['rev-parse', 'HEAD']);
}
