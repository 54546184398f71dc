// Who a conflict between two requests of one push is charged to. The original's rule, which users
// relied on: the request already in the deploy branch wins; only the pickme that conflicts with it is
// marked `conflict-pickme` and told, naming the accepted one. Pure: the checker applies it when it
// reports, decide() again when it records (the board may have moved on since the check ran).
import { mergedRequests, type Board, type Conflict, type PushId, type RequestId } from './model.js';

/** A request's place in the deploy branch's merge order (0 first), or null while it is not merged (a pickme). */
export type MergePosition = number | null;

/**
 * Whether a conflict between `mine` and `other` is charged to me. Two pickmes: both are told. A pickme
 * and a merged request: the pickme. Two merged requests (a re-push made them clash): the later one in
 * merge order, the one the deploy-branch build leaves out.
 */
export function chargedWithPair(mine: MergePosition, other: MergePosition): boolean {
  if (mine === null) return true;
  if (other === null) return false;
  return mine > other;
}

/** Positions of a push's merged requests in merge order (requests not in the map are not merged). */
export function mergePositions(board: Board, push: PushId): ReadonlyMap<RequestId, number> {
  return new Map(mergedRequests(board, push).map((r, i) => [r.id, i] as const));
}

/** `conflicts` of request `id` without the pair conflicts the rule does not charge to it. */
export function chargedConflicts(id: RequestId, conflicts: readonly Conflict[], positions: ReadonlyMap<RequestId, number>): readonly Conflict[] {
  const mine = positions.get(id) ?? null;
  if (mine === null) return conflicts;
  return conflicts.filter((c) => c.with === 'master' || chargedWithPair(mine, positions.get(c.with) ?? null));
}
