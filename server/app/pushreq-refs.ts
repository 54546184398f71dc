// refs/pushreq/* mirror the board's active requests: the planner moves them in the same transaction as the
// state, so a request and its ref can never disagree. Retired requests keep their commits reachable:
// live ones through the push's tag, discarded ones through refs/pushmanager/archive/<id>.
import { isActiveRequest, type Board } from '../../state/model.js';
import type { RefUpdate } from '../store/state-store.js';

export const ARCHIVE_PREFIX = 'refs/pushmanager/archive/';

export function pushreqRefUpdates(before: Board, after: Board): RefUpdate[] {
  const updates: RefUpdate[] = [];
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
