// Writes commit objects without one `git commit-tree` process each: a single long-lived
// `git hash-object -t commit -w --stdin-paths` answers one object id per path, and git itself
// checks the object's format. Also: author/committer lines resolved by git once per batch.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitError, type GitCli } from '../git/git-cli.js';
import { TrainError } from './errors.js';

/** Who makes a commit or tag. `date` is anything git accepts (e.g. `1700000000 +0000`, ISO 8601). */
export interface Identity {
  readonly name: string;
  readonly email: string;
  readonly date?: string;
}

/**
 * GitCli keeps its base env private, but a streaming child must run with exactly the env that
 * `git.run` would use (identity, config isolation, GIT_DIR…). Integrator: a public accessor or a
 * `spawn` method on GitCli would make this cast unnecessary.
 */
export function gitEnv(git: GitCli, extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const base = git.env;
  return { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_PAGER: 'cat', LC_ALL: 'C', ...base, ...extra };
}

function checkIdentity(who: Identity): void {
  // These would break the `name <email> date` line of the object.
  for (const [field, v] of [['name', who.name], ['email', who.email], ['date', who.date ?? '']] as const) {
    if (/[<>\n\0]/.test(v)) throw new TrainError('bad-identity', `identity ${field} must not contain <, >, newline or NUL`, { field, value: v });
  }
  if (who.name.trim() === '' || who.email.trim() === '') throw new TrainError('bad-identity', 'identity needs a name and an email', { ...who });
}

/**
 * `Name <email> <epoch> <tz>` lines as git would write them (git parses the date), for the
 * given identity or, without one, git's own idea of author and committer (env and config).
 */
export async function resolveIdents(git: GitCli, who?: Identity): Promise<{ author: string; committer: string }> {
  if (who) {
    checkIdentity(who);
    const env: Record<string, string> = { GIT_COMMITTER_NAME: who.name, GIT_COMMITTER_EMAIL: who.email };
    if (who.date !== undefined) env.GIT_COMMITTER_DATE = who.date;
    const line = await git.out(['var', 'GIT_COMMITTER_IDENT'], { env });
    return { author: line, committer: line };
  }
  const [author, committer] = await Promise.all([git.out(['var', 'GIT_AUTHOR_IDENT']), git.out(['var', 'GIT_COMMITTER_IDENT'])]);
  return { author, committer };
}

/** A commit message as stored: no NUL, exactly one trailing newline. */
export function normalizeMessage(message: string): string {
  if (message.includes('\0')) throw new TrainError('bad-message', 'a commit message must not contain NUL');
  return `${message.replace(/\n+$/, '')}\n`;
}

/** The raw text of a commit object. */
export function commitObject(c: { tree: string; parents: readonly string[]; author: string; committer: string; message: string }): string {
  let s = `tree ${c.tree}\n`;
  for (const p of c.parents) s += `parent ${p}\n`;
  return `${s}author ${c.author}\ncommitter ${c.committer}\n\n${normalizeMessage(c.message)}`;
}

/**
 * A long-lived `git hash-object -t commit -w --stdin-paths --no-filters`. Each `write` puts the
 * object text in a temp file and reads back its id; git flushes one id per path, so writes can be
 * pipelined. Always `close()` (it removes the temp dir).
 */
export class CommitWriter {
  private dir: string | null = null;
  private readonly waiting: { resolve: (sha: string) => void; reject: (e: unknown) => void; file: string }[] = [];
  private buffered = '';
  private stderr = '';
  private failure: Error | null = null;
  private counter = 0;
  private closed = false;

  constructor(private readonly git: GitCli) {}

  private starting: Promise<ChildProcessWithoutNullStreams> | null = null;

  /** One child and one temp dir per writer, however many writes race to start them. */
  private start(): Promise<ChildProcessWithoutNullStreams> {
    this.starting ??= this.spawnChild();
    return this.starting;
  }

  private async spawnChild(): Promise<ChildProcessWithoutNullStreams> {
    this.dir = await mkdtemp(join(tmpdir(), 'pm-objects-'));
    const args = ['hash-object', '-t', 'commit', '-w', '--stdin-paths', '--no-filters'];
    const child = spawn('git', ['-C', this.git.dir, ...args], { env: gitEnv(this.git), stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => this.onData(d));
    child.stderr.on('data', (d: string) => (this.stderr += d));
    child.stdin.on('error', () => {
      /* the exit handler reports why git stopped reading */
    });
    child.on('error', (e) => this.fail(e));
    child.on('close', (code) => {
      if (!this.closed || this.waiting.length > 0) this.fail(new GitError(args, code, this.stderr));
    });
    return child;
  }

  private onData(d: string): void {
    this.buffered += d;
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      const w = this.waiting.shift();
      if (!w) continue;
      // The temp file is no longer needed once git has answered for it.
      void rm(w.file, { force: true });
      w.resolve(line);
    }
  }

  private fail(e: Error): void {
    this.failure ??= new TrainError('object-writer-failed', `writing commit objects failed: ${e.message}`, {}, { cause: e });
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
  }

  /** Writes one commit object (its raw text, see `commitObject`) and resolves to its id. */
  async write(objectText: string): Promise<string> {
    if (this.closed) throw new TrainError('object-writer-failed', 'CommitWriter is closed');
    const child = await this.start();
    if (this.failure) throw this.failure;
    const file = join(this.dir!, String(this.counter++));
    await writeFile(file, objectText);
    return new Promise<string>((resolve, reject) => {
      this.waiting.push({ resolve, reject, file });
      child.stdin.write(`${file}\n`);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const child = this.starting ? await this.starting.catch(() => null) : null;
    if (child && child.exitCode === null) {
      await new Promise<void>((resolve) => {
        child.once('close', () => resolve());
        child.stdin.end();
      });
    }
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}
