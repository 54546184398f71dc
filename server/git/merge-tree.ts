// Trial merges with `git merge-tree --write-tree` (no work tree, no index, no refs), one at a time
// or many in one process with `--stdin`, and the parser for its `-z --name-only` output.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { gitEnv, GitOutputError, type GitCli } from './git-cli.js';

/** The outcome of merging two commits: the merged tree (with conflict markers when not clean). */
export interface MergeTreeResult {
  readonly clean: boolean;
  readonly tree: string;
  /** Paths left conflicted, each once, in git's order; empty when clean (and, rarely, for a conflict git records on no path). */
  readonly files: readonly string[];
}

const OID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/**
 * Reads one merge's output starting at `tokens[i]` (NUL-separated, `-z --name-only --no-messages`):
 * `<tree>`, then the conflicted paths, then an empty token (--stdin mode; the output just ends in
 * single mode). Messages are turned off because git's submodule advice breaks their framing.
 * Returns the result and the index just past it.
 */
function parseOne(tokens: readonly string[], i: number, conflicted: boolean): [MergeTreeResult, number] {
  const tree = tokens[i++];
  if (tree === undefined || !OID.test(tree)) throw new GitOutputError(`merge-tree: expected a tree id, got ${JSON.stringify(tree)}`);
  const files: string[] = [];
  const seen = new Set<string>();
  while (i < tokens.length && tokens[i] !== '') {
    const f = tokens[i++]!;
    if (!seen.has(f)) {
      seen.add(f);
      files.push(f);
    }
  }
  i++; // the empty token that ends this merge
  return [{ clean: !conflicted, tree, files }, i];
}

/** Merges `a` and `b` (commit-ish); parent order matters only for the tree's conflict markers. */
export async function mergeTree(git: GitCli, a: string, b: string): Promise<MergeTreeResult> {
  const r = await git.run(['merge-tree', '--write-tree', '-z', '--name-only', '--no-messages', a, b], { okCodes: [1] });
  const tokens = r.stdout.split('\0');
  return parseOne(tokens, 0, r.exitCode === 1)[0];
}

/**
 * Many independent merges in one `git merge-tree --stdin` process: one process start instead of
 * one a merge. Results keep the order of `pairs`.
 */
export async function mergeTreeBatch(git: GitCli, pairs: readonly (readonly [string, string])[]): Promise<MergeTreeResult[]> {
  if (pairs.length === 0) return [];
  for (const [a, b] of pairs) {
    // The input is line-based and space-separated: only plain object ids go in.
    if (!OID.test(a) || !OID.test(b)) throw new TypeError(`mergeTreeBatch takes full object ids, got ${a} ${b}`);
  }
  const input = pairs.map(([a, b]) => `${a} ${b}\n`).join('');
  const r = await git.run(['merge-tree', '--write-tree', '--stdin', '-z', '--name-only', '--no-messages'], { input });
  const tokens = r.stdout.split('\0');
  const out: MergeTreeResult[] = [];
  let i = 0;
  for (let k = 0; k < pairs.length; k++) {
    const status = tokens[i++];
    if (status !== '0' && status !== '1') throw new GitOutputError(`merge-tree --stdin: bad status ${JSON.stringify(status)}`);
    const [res, next] = parseOne(tokens, i, status === '0');
    out.push(res);
    i = next;
  }
  return out;
}

/**
 * One `git merge-tree --stdin` process for a sequence of dependent merges (a deploy branch: each merge
 * starts from the commit the previous one made), instead of one process start per merge, which on a
 * busy 2-core machine is most of a rebuild's time. git buffers its output when writing to a pipe, so the
 * process runs under coreutils' `stdbuf -o0`; where stdbuf is missing, each merge falls back to its own
 * `merge-tree` process. Merges are answered in order; always `close()`.
 */
export class MergeTreeStream {
  private static stdbuf: Promise<boolean> | null = null;
  private child: ChildProcessWithoutNullStreams | null = null;
  private starting: Promise<boolean> | null = null;
  private buffered = '';
  private stderr = '';
  private failure: Error | null = null;
  private readonly waiting: { resolve: (r: MergeTreeResult) => void; reject: (e: unknown) => void }[] = [];
  private closed = false;

  constructor(
    private readonly git: GitCli,
    /** false: one process per merge, as where stdbuf is missing (tests use it to cover that path). */
    private readonly streamIfPossible = true,
  ) {}

  /** Whether `stdbuf` runs here (checked once per process). */
  static streaming(): Promise<boolean> {
    MergeTreeStream.stdbuf ??= new Promise<boolean>((resolve) => {
      const c = spawn('stdbuf', ['-o0', 'true'], { stdio: 'ignore' });
      c.on('error', () => resolve(false));
      c.on('close', (code) => resolve(code === 0));
    });
    return MergeTreeStream.stdbuf;
  }

  private start(): Promise<boolean> {
    this.starting ??= (async () => {
      if (!this.streamIfPossible || !(await MergeTreeStream.streaming())) return false;
      const args = ['merge-tree', '--write-tree', '--stdin', '-z', '--name-only', '--no-messages'];
      const child = spawn('stdbuf', ['-o0', 'git', '-C', this.git.dir, ...args], { env: gitEnv(this.git), stdio: ['pipe', 'pipe', 'pipe'] });
      child.stdout.setEncoding('utf8');
      child.stderr.setEncoding('utf8');
      child.stdout.on('data', (d: string) => this.onData(d));
      child.stderr.on('data', (d: string) => (this.stderr += d));
      child.stdin.on('error', () => {
        /* the close handler reports why git stopped reading */
      });
      child.on('error', (e) => this.fail(e));
      child.on('close', (code) => {
        if (!this.closed || this.waiting.length) this.fail(new GitOutputError(`merge-tree --stdin stopped (exit ${code}): ${this.stderr.trim().slice(0, 500)}`));
      });
      this.child = child;
      return true;
    })();
    return this.starting;
  }

  /** Complete records (status, tree, conflicted paths, empty token) are answered as they arrive. */
  private onData(d: string): void {
    this.buffered += d;
    for (;;) {
      const tokens = this.buffered.split('\0');
      // Only NUL-terminated tokens count: the last element is whatever has not ended yet.
      const end = tokens.indexOf('', 2);
      if (end < 0 || end >= tokens.length - 1) return;
      const status = tokens[0];
      const w = this.waiting.shift();
      try {
        if (status !== '0' && status !== '1') throw new GitOutputError(`merge-tree --stdin: bad status ${JSON.stringify(status)}`);
        const [res] = parseOne(tokens, 1, status === '0');
        w?.resolve(res);
      } catch (e) {
        w?.reject(e);
      }
      this.buffered = tokens.slice(end + 1).join('\0');
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
  }

  /** Merges `a` and `b` (full object ids). */
  async merge(a: string, b: string): Promise<MergeTreeResult> {
    if (!OID.test(a) || !OID.test(b)) throw new TypeError(`MergeTreeStream takes full object ids, got ${a} ${b}`);
    if (!(await this.start())) return mergeTree(this.git, a, b);
    if (this.failure) throw this.failure;
    return new Promise<MergeTreeResult>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.child!.stdin.write(`${a} ${b}\n`);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const child = this.child;
    if (child && child.exitCode === null) {
      await new Promise<void>((resolve) => {
        child.once('close', () => resolve());
        child.stdin.end();
      });
    }
  }
}
