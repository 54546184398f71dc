// Checklists follow the push: after every command, each open push's checklist is what its merged
// requests' tags ask for (state/checklist.ts), keeping the ticks of items that still stand.
import { SYSTEM_NAME } from '../../state/actor.js';
import { checklistChanged, checklistFor, reconcileChecklist } from '../../state/checklist.js';
import type { DomainEvent } from '../../state/events.js';
import { isOpenPush, mergedRequests, type Board } from '../../state/model.js';
import type { TagsConfig } from '../../state/tags.js';

export function checklistEvents(board: Board, cfg: TagsConfig, at: string): DomainEvent[] {
  const events: DomainEvent[] = [];
  for (const p of Object.values(board.pushes)) {
    if (!isOpenPush(p)) continue;
    const items = reconcileChecklist(p.checklist, checklistFor(mergedRequests(board, p.id), cfg));
    // The server's bookkeeping inside someone's command: the event says so, the commit stays theirs.
    if (checklistChanged(p.checklist, items)) events.push({ type: 'ChecklistSet', push: p.id, items, at, actor: SYSTEM_NAME, cause: 'checklist' });
  }
  return events;
}
