// Trial merges with `git merge-tree --write-tree` (no work tree, no index, no refs), one at a time
// or many in one process with `--stdin`, and the parser for its `-z --name-only` output.
import type { GitCli } from '../git/git-cli.js';
import { TrainError } from './errors.js';

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
  if (tree === undefined || !OID.test(tree)) throw new TrainError('unexpected-git-output', `merge-tree: expected a tree id, got ${JSON.stringify(tree)}`);
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
    if (status !== '0' && status !== '1') throw new TrainError('unexpected-git-output', `merge-tree --stdin: bad status ${JSON.stringify(status)}`);
    const [res, next] = parseOne(tokens, i, status === '0');
    out.push(res);
    i = next;
  }
  return out;
}
