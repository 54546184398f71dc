// The write path's plan for a recorded build: the deploy ref moves with the state, from the value the board
// it decides on holds (a retry after another build re-reads it), and not at all when the build records
// nothing (an equal build that raced the first). No git is run for RecordBuild: the plan only plans.
import { describe, expect, it } from 'vitest';
import type { Command } from '../../../state/commands.js';
import { decide, systemActor, userActor, type Actor, type DecideContext } from '../../../state/decide.js';
import { isDomainError } from '../../../state/errors.js';
import { evolveAll } from '../../../state/evolve.js';
import { emptyBoard, wantedMerges, type Board, type PushId } from '../../../state/model.js';
import { plan as planCommand } from '../../../state/plan.js';

const PM: Actor = userActor('pm', { pushmaster: true });
const ALICE: Actor = userActor('alice');
const BUILDER = systemActor('deploy-build');
const P1 = 1 as PushId;
const sha = (c: string) => c.repeat(40);
let tick = 0;
const ctx = (actor: Actor): DecideContext => ({ actor, now: new Date(Date.UTC(2026, 0, 1, 0, 0, tick++)).toISOString() });

function step(b: Board, cmd: Command, actor: Actor): Board {
  const out = decide(b, cmd, ctx(actor));
  if (isDomainError(out)) throw new Error(`${cmd.type}: ${out.message}`);
  return evolveAll(b, out);
}

/** Plans `cmd` on `before` as the dispatcher's writer does: decide, the server's own events, the refs. */
async function plan(before: Board, cmd: Command) {
  const planned = planCommand(before, cmd, ctx(BUILDER));
  if (isDomainError(planned)) throw new Error(planned.message);
  if (planned.kind !== 'planned') throw new Error('a RecordBuild needs no facts');
  return planned.refs;
}

describe('Train planner for RecordBuild', () => {
  let b = step(emptyBoard(), { type: 'OpenPush', title: 'Tue', pushType: 'regular' }, PM);
  b = step(b, { type: 'OpenRequest', ref: 'refs/pushreq/a', sha: sha('1'), autoPickme: true }, ALICE);
  b = step(b, { type: 'AcceptRequests', push: P1, requests: [b.requests[1]!.id] }, PM);
  const merges = wantedMerges(b, P1).map((w) => ({ ...w, commit: sha('a') }));
  const built = step(b, { type: 'RecordBuild', push: P1, deploySha: sha('a'), baseSha: sha('f'), merges, dropped: [] }, BUILDER);

  it('moves the deploy ref from the SHA the deciding board holds', async () => {
    const rebuilt = { type: 'RecordBuild' as const, push: P1, deploySha: sha('b'), baseSha: sha('e'), merges: merges.map((m) => ({ ...m, commit: sha('b') })), dropped: [] };
    expect(await plan(built, rebuilt)).toContainEqual({ ref: built.pushes[P1]!.deployBranch, newSha: sha('b'), oldSha: sha('a') });
  });

  it('moves no ref when the build records nothing (an equal build that lost the race)', async () => {
    const equal = { type: 'RecordBuild' as const, push: P1, deploySha: sha('c'), baseSha: sha('f'), merges: merges.map((m) => ({ ...m, commit: sha('c') })), dropped: [] };
    expect((await plan(built, equal)).filter((r) => r.ref === built.pushes[P1]!.deployBranch)).toEqual([]);
  });
});
