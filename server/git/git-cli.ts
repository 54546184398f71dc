// Runs the real git CLI with argument arrays (never a shell), with typed failures.
import { spawn } from 'node:child_process';
import { setPriority } from 'node:os';
import { readRefSync } from './ref-reader.js';
import { PushmanagerError } from '../../state/pushmanager-error.js';

export class GitError extends PushmanagerError {
  readonly code = 'git-failed' as const;
  declare readonly data: { readonly args: readonly string[]; readonly exitCode: number | null; readonly stderr: string };
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`git ${args.slice(0, 3).join(' ')} failed (exit ${exitCode}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`, { args, exitCode, stderr });
  }
}

/** git answered, but not in the shape asked for (records out of step, a field that is not an object id). */
export class GitOutputError extends PushmanagerError {
  readonly code = 'unexpected-git-output' as const;
  constructor(message: string, data: Readonly<Record<string, unknown>> = {}) {
    super(message, data);
  }
}

export interface GitResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

export interface GitRunOptions {
  readonly input?: string | Buffer;
  readonly env?: Readonly<Record<string, string>>;
  /** Exit codes that are answers rather than failures (e.g. merge-tree's 1 for "conflicts"). */
  readonly okCodes?: readonly number[];
  /** Lower the process's priority to this nice level: background work must not slow the push path. */
  readonly nice?: number;
}

/** A repository reached through the git CLI. Every call is `git -C dir ...args`. */
export class GitCli {
  constructor(
    readonly dir: string,
    private readonly baseEnv: Readonly<Record<string, string>> = {},
  ) {}

  async run(args: readonly string[], opts: GitRunOptions = {}): Promise<GitResult> {
    return runGit(this.dir, args, { ...opts, env: { ...this.baseEnv, ...opts.env } });
  }

  /** stdout of a successful call, trimmed of the final newline. */
  async out(args: readonly string[], opts: GitRunOptions = {}): Promise<string> {
    const r = await this.run(args, opts);
    return r.stdout.replace(/\n$/, '');
  }

  /** The environment every call runs with (for callers that spawn long-lived git children). */
  get env(): Readonly<Record<string, string>> {
    return this.baseEnv;
  }

  /**
   * A full ref's SHA, read from the repository's ref files (loose, then packed-refs) with no process:
   * this is on the push path. git answers what the files cannot (symbolic refs).
   */
  async refSha(ref: string): Promise<string | null> {
    const sha = readRefSync(this.dir, ref);
    return sha !== undefined ? sha : this.resolve(ref);
  }

  /** A ref's SHA, or null when it does not exist. */
  async resolve(ref: string): Promise<string | null> {
    const r = await this.run(['rev-parse', '--verify', '-q', `${ref}^{commit}`], { okCodes: [1] });
    return r.exitCode === 0 ? r.stdout.trim() : null;
  }
}

export function runGit(dir: string, args: readonly string[], opts: GitRunOptions = {}): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['-C', dir, ...args], { env: { ...quietEnv(), ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    if (opts.nice && child.pid) {
      try {
        // Right after the spawn: git's children (repack starts pack-objects) inherit it.
        setPriority(child.pid, opts.nice);
      } catch {
        /* already exited */
      }
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0 || (code !== null && opts.okCodes?.includes(code))) resolve({ stdout, stderr, exitCode: code ?? 0 });
      else reject(new GitError(args, code, stderr));
    });
    child.stdin.on('error', () => {
      /* git may exit before reading all input; its exit code tells what happened */
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Deterministic and non-interactive: no pager, no prompts, no user config surprises. */
const quietEnv = (): NodeJS.ProcessEnv => ({ ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_PAGER: 'cat', LC_ALL: 'C' });

/** The env a long-lived git child must run with: exactly what `git.run` would use (identity, isolation…). */
export function gitEnv(git: GitCli, extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  return { ...quietEnv(), ...git.env, ...extra };
}
