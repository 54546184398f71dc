// A push's checklist, derived from the tags of its merged requests: what the pushmaster must do in
// each phase. Pure: the caller recomputes it when requests join or leave a push (or change tags)
// and records the result; reconcileChecklist keeps what was already ticked.
import { actorName, systemActor, type SystemCause } from './actor.js';
import type { DomainEvent } from './events.js';
import { MERGED_STATES, isOpenPush, mergedRequests, type Board, type ChecklistItem, type PushRequest, type RequestId } from './model.js';
import { CHECKLIST_PHASES, tagRegistry, type ChecklistPhase, type TagRegistry, type TagsConfig } from './tags.js';

const phaseIndex = (p: ChecklistPhase): number => CHECKLIST_PHASES.indexOf(p);

const isRegistry = (cfg: TagsConfig | TagRegistry): cfg is TagRegistry => cfg instanceof Map;

interface Draft {
  readonly id: string;
  readonly phase: ChecklistPhase;
  readonly template: string;
  readonly owners: Set<string>;
  readonly requests: Set<RequestId>;
}

/**
 * The checklist a push needs for `requests` (pass the push's requests; only merged ones —
 * added, staged, verified, blessed — count, as in the original, where pickmes had no items).
 * The same item asked for by several requests is one item listing all of them: ids are
 * `TAG:OWNER:KEY` for per-owner items (`pushplans:alice:stage`) and `TAG:KEY` for per-push ones.
 * Items come in phase order, then by id, so the result is deterministic.
 */
export function checklistFor(requests: readonly PushRequest[], cfg: TagsConfig | TagRegistry = {}): ChecklistItem[] {
  const reg = isRegistry(cfg) ? cfg : tagRegistry(cfg);
  const drafts = new Map<string, Draft>();
  for (const r of requests) {
    if (!MERGED_STATES.includes(r.state)) continue;
    for (const tag of new Set(r.tags)) {
      for (const t of reg.get(tag)?.checklist ?? []) {
        const id = t.per === 'owner' ? `${tag}:${r.user}:${t.key}` : `${tag}:${t.key}`;
        let d = drafts.get(id);
        if (!d) {
          d = { id, phase: t.phase, template: t.text, owners: new Set(), requests: new Set() };
          drafts.set(id, d);
        }
        d.owners.add(r.user);
        d.requests.add(r.id);
      }
    }
  }
  return [...drafts.values()]
    .map((d) => ({
      id: d.id,
      phase: d.phase,
      text: d.template.replaceAll('%OWNER%', [...d.owners].sort().join(', ')),
      requests: [...d.requests].sort((a, b) => a - b),
      done: false,
      doneBy: null,
    }))
    .sort((a, b) => phaseIndex(a.phase) - phaseIndex(b.phase) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * The wanted checklist with the ticks of `existing` carried over. An item keeps `done`/`doneBy`
 * while it still exists and no new request joined it: a search restart done for alice is not done
 * for bob, whose request was accepted afterwards. Items no longer wanted disappear.
 */
export function reconcileChecklist(existing: readonly ChecklistItem[], wanted: readonly ChecklistItem[]): ChecklistItem[] {
  const before = new Map(existing.map((i) => [i.id, i]));
  return wanted.map((w) => {
    const old = before.get(w.id);
    if (!old?.done) return { ...w, done: false, doneBy: null };
    const covered = w.requests.every((r) => old.requests.includes(r));
    return covered ? { ...w, done: true, doneBy: old.doneBy } : { ...w, done: false, doneBy: null };
  });
}

/** Whether two checklists differ in anything recorded (so a caller records a change only when there is one). */
export function checklistChanged(a: readonly ChecklistItem[], b: readonly ChecklistItem[]): boolean {
  if (a.length !== b.length) return true;
  return a.some((x, i) => {
    const y = b[i]!;
    return x.id !== y.id || x.phase !== y.phase || x.text !== y.text || x.done !== y.done || x.doneBy !== y.doneBy || x.requests.length !== y.requests.length || x.requests.some((r, j) => r !== y.requests[j]);
  });
}

/** Items of `phases` not yet ticked: what blocks the step those phases gate. */
export const openItems = (checklist: readonly ChecklistItem[], phases: readonly ChecklistPhase[]): ChecklistItem[] =>
  checklist.filter((i) => !i.done && phases.includes(i.phase));

/**
 * The checklist events a board calls for: each open push's checklist becomes what its merged
 * requests' tags ask for, keeping the ticks of items that still stand. The system's bookkeeping
 * inside someone's command: the events name the system (cause `checklist`), the commit stays theirs.
 */
export function checklistEvents(board: Board, cfg: TagsConfig | TagRegistry, at: string): DomainEvent[] {
  const cause: SystemCause = 'checklist';
  const actor = actorName(systemActor(cause));
  const events: DomainEvent[] = [];
  for (const p of Object.values(board.pushes)) {
    if (!isOpenPush(p)) continue;
    const items = reconcileChecklist(p.checklist, checklistFor(mergedRequests(board, p.id), cfg));
    if (checklistChanged(p.checklist, items)) events.push({ type: 'ChecklistSet', push: p.id, items, at, actor, cause });
  }
  return events;
}

/** Which checklist phases hold back each step of the train: decide refuses the step while one is open. */
export const GATE_PHASES: Readonly<Record<'stage' | 'bless' | 'certify', readonly ChecklistItem['phase'][]>> = {
  stage: ['before-stage'],
  bless: ['after-stage', 'before-bless'],
  certify: ['after-bless', 'before-certify'],
};

/** The open items that hold back `step` (a push, or the status view of one: only its checklist is read). */
export const openGateItems = <I extends Pick<ChecklistItem, 'phase' | 'done'>>(push: { readonly checklist: readonly I[] }, step: keyof typeof GATE_PHASES): I[] =>
  push.checklist.filter((i) => !i.done && GATE_PHASES[step].includes(i.phase));
