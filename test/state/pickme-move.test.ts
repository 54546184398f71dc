// A pickme of one push, asked for by another (repository.singleAcceptingPush: false): `push accept 2 7` and
// `request pickme 7 --push 2` are refused, and the refusal says how to move it (unpickme, then pickme
// --push 2), not only that it is no pickme of push 2 or which state pickme is allowed from. Pure (decide).
import { describe, expect, it } from 'vitest';
import type { Command } from '../../state/commands.js';
import { decide, userActor, type Actor } from '../../state/decide.js';
import { isDomainError, type DomainError } from '../../state/errors.js';
import { evolveAll } from '../../state/evolve.js';
import { emptyBoard, type Board, type PushId, type RequestId } from '../../state/model.js';

const PM = userActor('pm', { pushmaster: true });
const ALICE = userActor('alice');
let t = 0;
const ctx = (actor: Actor) => ({ actor, now: new Date(Date.UTC(2026, 0, 1, 0, 0, t++)).toISOString(), singleAcceptingPush: false });
const run = (b: Board, steps: readonly (readonly [Command, Actor])[]): Board =>
  steps.reduce((acc, [cmd, who]) => {
    const out = decide(acc, cmd, ctx(who));
    if (isDomainError(out)) throw new Error(`${cmd.type}: ${out.message}`);
    return evolveAll(acc, out);
  }, b);

/** Push 1 open, alice's request 1 its pickme (pushed while it accepted), then push 2 open too. */
const board = run(emptyBoard(), [
  [{ type: 'OpenPush', title: 'Mon', pushType: 'regular' }, PM],
  [{ type: 'OpenRequest', ref: 'refs/pushreq/r1', sha: 'a'.repeat(40), autoPickme: true, title: 'r1' }, ALICE],
  [{ type: 'OpenPush', title: 'Tue', pushType: 'regular' }, PM],
]);
const refused = (cmd: Command, who: Actor) => decide(board, cmd, ctx(who)) as DomainError;
const MOVE = 'to move it, its owner (alice) or a watcher runs pushmanager request unpickme 1, then pushmanager request pickme 1 --push 2';

describe('a pickme of push 1, wanted in push 2', () => {
  it('the set-up: request 1 is a pickme of push 1, push 2 accepts too', () => {
    expect(board.requests[1]).toMatchObject({ state: 'pickme', push: 1 });
    expect(board.pushes[2]).toMatchObject({ state: 'accepting' });
  });

  it('push accept 2 1 is refused, saying whose pickme it is and how to move it', () => {
    const out = refused({ type: 'AcceptRequests', push: 2 as PushId, requests: [1 as RequestId] }, PM);
    expect(out.code).toBe('illegal-transition');
    expect(out.message).toBe(`request 1 is not a pickme of push 2; it is a pickme of push 1: ${MOVE}`);
  });

  it('request pickme 1 --push 2 is refused the same way, not with the state pickme is allowed from', () => {
    const out = refused({ type: 'PickmeRequest', request: 1 as RequestId, push: 2 as PushId }, ALICE);
    expect(out.code).toBe('illegal-transition');
    expect(out.message).toBe(`request 1 is a pickme of push 1, not of push 2; ${MOVE}`);
    expect(out.message).not.toContain('allowed from');
  });

  it('and the two steps it names do move it', () => {
    const moved = run(board, [
      [{ type: 'UnpickmeRequest', request: 1 as RequestId }, ALICE],
      [{ type: 'PickmeRequest', request: 1 as RequestId, push: 2 as PushId }, ALICE],
      [{ type: 'AcceptRequests', push: 2 as PushId, requests: [1 as RequestId] }, PM],
    ]);
    expect(moved.requests[1]).toMatchObject({ state: 'added', push: 2 });
  });
});
