// Atomic multi-ref updates through one long-lived `git update-ref --stdin` session, one transaction
// (start / update… / prepare / commit) per state commit, instead of a process start per commit: on a
// loaded 2-core machine a spawn from the server costs 40–55 ms, a third of a state write.
// git ends the session on a failed transaction (a compare-and-swap that lost, a lock held elsewhere);
// the next transaction starts a new one.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { GitError, gitEnv, type GitCli } from './git-cli.js';

export interface RefChange {
  readonly ref: string;
  /** null deletes the ref. */
  readonly newSha: string | null;
  /** undefined: whatever it is now; null: must not exist yet. */
  readonly oldSha?: string | null;
}

export type TransactionResult = { readonly ok: true } | { readonly ok: false; readonly detail: string };

const ZERO = '0'.repeat(40);
const ARGS = ['update-ref', '--stdin'] as const;
/** git's words for "someone else moved or holds this ref": a lost race, not a broken repository. */
const LOST_RACE = /but expected|already exists|cannot lock ref|unable to resolve reference|reference is missing/i;

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
  transaction(changes: readonly RefChange[]): Promise<TransactionResult> {
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

  private async run(changes: readonly RefChange[]): Promise<TransactionResult> {
    for (const c of changes) {
      // One line per instruction: a newline or space in a ref would be a second instruction.
      if (!/^refs\/[^\s\0]+$/.test(c.ref)) throw new TypeError(`not a full ref name: ${JSON.stringify(c.ref)}`);
    }
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
    if ((await answered) === 'committed') return { ok: true };
    const code = await s.exited;
    this.session = null;
    const why = s.stderr.trim();
    if (LOST_RACE.test(why)) return { ok: false, detail: why };
    throw new GitError([...ARGS], code, why);
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
