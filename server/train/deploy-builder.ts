// Builds a push's deploy branch: the accepted requests merged in order onto master's SHA, as real
// two-parent merge commits made with `git merge-tree --write-tree`, without a work tree. Writes
// objects only, never refs: the caller moves the branch and the state in one transaction. All of it
// through the GitRepo port.
import type { GitRepo, Identity } from '../git/git-repo.js';

export interface MergeInput {
  readonly id: number;
  readonly sha: string;
  readonly message: string;
}
export interface BuiltMerge {
  readonly id: number;
  readonly sha: string;
  /** The merge commit that brought the request in. */
  readonly commit: string;
}
export interface PreviousBuild {
  readonly baseSha: string;
  readonly merges: readonly BuiltMerge[];
}
export type BuildOutcome =
  | { ok: true; sha: string; baseSha: string; merges: BuiltMerge[]; dropped: { id: number; files: string[] }[]; reused: number }
  | { ok: false; failed: { id: number; files: string[] } };

export interface BuildOptions {
  /** stop (default): fail at the first request that does not merge; skip: leave it out, list it in `dropped`, go on. */
  onConflict?: 'stop' | 'skip';
  /** Reuse the longest common prefix (same base, same ids and SHAs in order) instead of re-merging. */
  previous?: PreviousBuild;
  /** Called after each request; `done` counts reused merges too. */
  onProgress?: (done: number, total: number, id: number) => void;
  /** Author and committer of the merge commits; the server's own name and the current time when absent. */
  identity?: Identity;
}

/** How many merges of `previous` can stand as they are for this build. */
function reusablePrefix(baseSha: string, items: readonly MergeInput[], previous?: PreviousBuild): BuiltMerge[] {
  if (!previous || previous.baseSha !== baseSha) return [];
  const out: BuiltMerge[] = [];
  for (let i = 0; i < Math.min(items.length, previous.merges.length); i++) {
    const prev = previous.merges[i]!;
    const item = items[i]!;
    if (prev.id !== item.id || prev.sha !== item.sha) break;
    out.push({ id: prev.id, sha: prev.sha, commit: prev.commit });
  }
  return out;
}

/**
 * Merges `items` one by one onto `baseSha` in one merge session (one shared `merge-tree --stdin` process
 * on the real git), each merge commit written as a loose object from this process (no process start per request).
 * Note that a reused prefix keeps the messages and identity it was built with.
 */
export async function buildDeployBranch(repo: GitRepo, baseSha: string, items: readonly MergeInput[], opts: BuildOptions = {}): Promise<BuildOutcome> {
  const onConflict = opts.onConflict ?? 'stop';
  const total = items.length;
  let merges = reusablePrefix(baseSha, items, opts.previous);
  if (merges.length > 0) {
    // The previous tip may have been pruned if its branch was deleted and gc ran: then rebuild.
    const last = merges[merges.length - 1]!.commit;
    if ((await repo.objectTypes([last])).get(last) !== 'commit') merges = [];
  }
  const reused = merges.length;
  if (reused > 0) opts.onProgress?.(reused, total, merges[reused - 1]!.id);
  let tip = reused > 0 ? merges[reused - 1]!.commit : baseSha;
  const dropped: { id: number; files: string[] }[] = [];
  if (reused === total) return { ok: true, sha: tip, baseSha, merges, dropped, reused };

  const merger = repo.openMergeSession();
  const identity = opts.identity ?? { name: 'Pushmanager', email: 'pushmanager@localhost', date: new Date().toISOString() };
  try {
    for (let i = reused; i < total; i++) {
      const item = items[i]!;
      const merged = await merger.merge(tip, item.sha);
      if (!merged.clean) {
        const failed = { id: item.id, files: [...merged.files] };
        if (onConflict === 'stop') return { ok: false, failed };
        dropped.push(failed);
      } else {
        tip = await repo.writeCommit({ tree: merged.tree, parents: [tip, item.sha], author: identity, message: item.message });
        merges.push({ id: item.id, sha: item.sha, commit: tip });
      }
      opts.onProgress?.(i + 1, total, item.id);
    }
  } finally {
    await merger.close();
  }
  return { ok: true, sha: tip, baseSha, merges, dropped, reused };
}
