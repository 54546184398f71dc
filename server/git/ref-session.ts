// Atomic multi-ref updates through one long-lived `git update-ref --stdin` session, one transaction
// (start / update… / prepare / commit) per state commit, instead of a process start per commit: on a
// loaded 2-core machine a spawn from the server costs 40–55 ms, a third of a state write.
// git ends the session on a failed transaction (a compare-and-swap that lost, a lock held elsewhere);
// the next transaction starts a new one. Why it failed is read from the refs, not from git's words: a ref
// whose value is not the expected one is a lost race (RefChanged, naming it); with every expected value
// still in place the failure was a lock held for a moment (by repository maintenance packing refs, say),
// and the transaction is tried again; what still fails then is an error (GitError).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { GitError, gitEnv, type GitCli } from './git-cli.js';
import { checkRefName, refChanged, type RefTransactionResult, type RefUpdate } from './git-repo.js';

export type { RefTransactionResult } from './git-repo.js';

const ZERO = '0'.repeat(40);
const ARGS = ['update-ref', '--stdin'] as const;
/** Pauses before trying a failed transaction again when no expected value had changed (a lock held for a moment). */
const LOCK_RETRY_MS = [5, 25, 100] as const;

interface Session {
  readonly child: ChildProcessWithoutNullStreams;
  stdout: string;
  stderr: string;
  exited: Promise<number | null>;
}

export class RefSession {
  private session: Session | null = null;
  /** Transactions run one at a time: their answers share one stdout. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly git: GitCli) {}

  /** Moves every ref or none. Refs and SHAs come from the server (never from user input without checks). */
  transaction(changes: readonly RefUpdate[]): Promise<RefTransactionResult> {
    const run = this.tail.then(() => this.run(changes));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private open(): Session {
    const child = spawn('git', ['-C', this.git.dir, ...ARGS], { env: gitEnv(this.git), stdio: ['pipe', 'pipe', 'pipe'] });
    const s: Session = { child, stdout: '', stderr: '', exited: new Promise((resolve) => child.on('close', (code) => resolve(code))) };
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (s.stderr += d));
    child.stdin.on('error', () => {
      /* the exit code and stderr say why git stopped reading */
    });
    child.on('error', (e) => (s.stderr += `\n${e.message}`));
    return s;
  }

  private async run(changes: readonly RefUpdate[]): Promise<RefTransactionResult> {
    for (const c of changes) checkRefName(c.ref);
    for (let attempt = 0; ; attempt++) {
      const failed = await this.attempt(changes);
      if (failed === null) return { ok: true };
      const lost = await this.changedRef(changes);
      if (lost) return lost;
      const pause = LOCK_RETRY_MS[attempt];
      if (pause === undefined) throw failed;
      await sleep(pause);
    }
  }

  /** The first ref whose value is not what the transaction expected, read from git (the failure path only). */
  private async changedRef(changes: readonly RefUpdate[]): Promise<RefTransactionResult | null> {
    const checked = changes.filter((c) => c.oldSha !== undefined);
    if (checked.length === 0) return null;
    // for-each-ref matches by prefix: keep exact names. One process for all the refs.
    const out = await this.git.out(['for-each-ref', '--format=%(objectname) %(refname)', '--', ...checked.map((c) => c.ref)]);
    const now = new Map<string, string>();
    for (const line of out.split('\n')) {
      const sp = line.indexOf(' ');
      if (sp > 0) now.set(line.slice(sp + 1), line.slice(0, sp));
    }
    for (const c of checked) {
      const actual = now.get(c.ref) ?? null;
      if (actual !== (c.oldSha ?? null)) return refChanged(c.ref, c.oldSha ?? null, actual);
    }
    return null;
  }

  /** One try: null when committed, else the failure (the session has ended). */
  private async attempt(changes: readonly RefUpdate[]): Promise<GitError | null> {
    if (!this.session || this.session.child.exitCode !== null || this.session.child.killed) this.session = this.open();
    const s = this.session;
    s.stdout = '';
    const lines = ['start'];
    for (const c of changes) {
      const old = c.oldSha === undefined ? '' : ` ${c.oldSha ?? ZERO}`;
      lines.push(c.newSha === null ? `delete ${c.ref}${old}` : `update ${c.ref} ${c.newSha}${old}`);
    }
    lines.push('prepare', 'commit');
    const answered = new Promise<'committed' | 'ended'>((resolve) => {
      const onData = (d: string) => {
        s.stdout += d;
        if (s.stdout.includes('commit: ok\n')) {
          s.child.stdout.off('data', onData);
          resolve('committed');
        }
      };
      s.child.stdout.on('data', onData);
      void s.exited.then(() => resolve('ended'));
    });
    s.child.stdin.write(lines.join('\n') + '\n');
    if ((await answered) === 'committed') return null;
    const code = await s.exited;
    this.session = null;
    return new GitError([...ARGS], code, s.stderr.trim());
  }

  /** Ends the session (an open transaction, if any, is aborted by git). */
  async close(): Promise<void> {
    const s = this.session;
    this.session = null;
    if (!s || s.child.exitCode !== null) return;
    s.child.stdin.end();
    await s.exited;
  }
}
