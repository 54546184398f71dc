// What the train does after a committed command, as a table: which events call for a background
// rebuild of a push's deploy branch, and which for a conflict check. Pure: the services act on it.
import type { Command } from '../../state/commands.js';
import type { DomainEvent, EventType } from '../../state/events.js';
import { buildIsCurrent, isOpenPush, type Board } from '../../state/model.js';
import { SYNC_BUILD } from '../../state/plan.js';

export interface Reactions {
  /** Pushes whose deploy branch is rebuilt in the background. */
  readonly rebuild: ReadonlySet<number>;
  /** Pushes whose requests are checked for conflicts again (0: the waiting requests, against master). */
  readonly check: ReadonlySet<number>;
}

type Reaction = (e: DomainEvent, c: CommittedCommand, out: { rebuild: Set<number>; check: Set<number> }) => void;
export interface CommittedCommand {
  readonly command: Command;
  readonly events: readonly DomainEvent[];
  readonly board: Board;
  readonly before: Board;
}

/** The push an event's request is (or was) in: the board after it, else the board before. */
const pushOf = (e: DomainEvent, c: CommittedCommand): number => ('push' in e && typeof e.push === 'number' ? e.push : 'request' in e && typeof e.request === 'number' ? (c.board.requests[e.request]?.push ?? c.before.requests[e.request]?.push ?? 0) : 0);
const checkItsPush: Reaction = (e, c, out) => {
  const p = pushOf(e, c);
  if (p) out.check.add(p);
};

/** After which events the train acts, and how. */
export const REACTIONS: Partial<Record<EventType, Reaction>> = {
  // Master moved: every open push rebuilds on it, every waiting request is checked against it again.
  PushCertified: (_e, c, out) => {
    for (const p of Object.values(c.board.pushes)) if (isOpenPush(p)) out.rebuild.add(p.id);
    out.check.add(0);
  },
  // A push's set of requests (or one's SHA) changed: its conflict matrix is checked again.
  PushOpened: (e, _c, out) => {
    if (e.type === 'PushOpened') out.check.add(e.push.id);
  },
  RequestPicked: checkItsPush,
  RequestAccepted: checkItsPush,
  RequestUnpicked: checkItsPush,
  RequestRemoved: checkItsPush,
  RequestUpdated: checkItsPush,
  RequestWithdrawn: checkItsPush,
};

export function reactionsTo(c: CommittedCommand): Reactions {
  const out = { rebuild: new Set<number>(), check: new Set<number>() };
  for (const e of c.events) REACTIONS[e.type]?.(e, c, out);
  // A stale deploy branch the command did not build itself (a pushee's re-push) is rebuilt in the background.
  if (!SYNC_BUILD.has(c.command.type)) for (const p of Object.values(c.board.pushes)) if (isOpenPush(p) && !buildIsCurrent(c.board, p)) out.rebuild.add(p.id);
  if (c.command.type === 'RebuildPush') out.check.add(c.command.push);
  return out;
}
