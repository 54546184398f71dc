// Which refs move with a commit of the board: decided purely, from the board before and after, and
// moved by the store in the same transaction as the state, so a request and its ref never disagree.
import { isActiveRequest, isOpenPush, type Board } from './model.js';

/** A ref to move with the state commit (same shape as the store's RefUpdate). */
export interface RefIntent {
  readonly ref: string;
  /** null deletes the ref. */
  readonly newSha: string | null;
  /** null: the ref must not exist yet; undefined: do not check. */
  readonly oldSha?: string | null;
}

/** Where a discarded request's commit stays reachable once its refs/pushreq/* ref is gone. */
export const ARCHIVE_PREFIX = 'refs/pushmanager/archive/';

/**
 * refs/pushreq/* mirror the board's active requests. Retired requests keep their commits reachable:
 * live ones through the push's tag, discarded ones through refs/pushmanager/archive/<id>.
 */
export function pushreqRefIntents(before: Board, after: Board): RefIntent[] {
  const updates: RefIntent[] = [];
  for (const r of Object.values(after.requests)) {
    const old = before.requests[r.id];
    if (old === r) continue;
    const wasActive = old !== undefined && isActiveRequest(old);
    if (isActiveRequest(r)) {
      if (!wasActive || old.sha !== r.sha) updates.push({ ref: r.ref, newSha: r.sha });
    } else if (wasActive) {
      updates.push({ ref: r.ref, newSha: null });
      if (r.state === 'discarded') updates.push({ ref: `${ARCHIVE_PREFIX}${r.id}`, newSha: r.sha });
    }
  }
  return updates;
}

/** A push that ended gives up its deploy branch: a live one's commits are on master and its tag. */
export function endedDeployBranches(before: Board, after: Board): RefIntent[] {
  const out: RefIntent[] = [];
  for (const p of Object.values(after.pushes)) {
    const was = before.pushes[p.id];
    if (was && was !== p && isOpenPush(was) && !isOpenPush(p) && was.deploySha) out.push({ ref: p.deployBranch, newSha: null, oldSha: was.deploySha });
  }
  return out;
}

/**
 * One ref moved by several commands of a batch is one update in the transaction (git refuses a ref
 * twice): the first command's expected old value, the last one's new value.
 */
export function mergeRefIntents(refs: readonly RefIntent[]): RefIntent[] {
  const byRef = new Map<string, RefIntent>();
  for (const r of refs) {
    const seen = byRef.get(r.ref);
    byRef.set(r.ref, seen ? { ref: r.ref, newSha: r.newSha, ...(seen.oldSha !== undefined && { oldSha: seen.oldSha }) } : r);
  }
  return [...byRef.values()];
}
