// The crash invariants shared by the simulation and test/e2e/crash.test.ts name every disagreement
// between the state and the refs: a check that cannot fail would prove nothing after a kill.
import { describe, expect, it } from 'vitest';
import { refProblems } from '../../bench/simulation/invariants.js';
import { decide, userActor, type Actor } from '../../state/decide.js';
import { isDomainError } from '../../state/errors.js';
import { evolveAll } from '../../state/evolve.js';
import { emptyBoard, type Board } from '../../state/model.js';
import type { Command } from '../../state/commands.js';

const PM: Actor = userActor('pm', { pushmaster: true });
const sha = (n: number) => n.toString(16).padStart(40, '0');

function board(commands: readonly [Command, Actor][]): Board {
  let b = emptyBoard();
  for (const [cmd, actor] of commands) {
    const es = decide(b, cmd, { actor, now: '2025-01-07T12:00:00.000Z' });
    if (isDomainError(es)) throw new Error(`${cmd.type}: ${es.code}`);
    b = evolveAll(b, es);
  }
  return b;
}

describe('refProblems', () => {
  const alice: Actor = userActor('alice', { pushmaster: false });
  const b = board([
    [{ type: 'OpenPush', title: 'Tue', pushType: 'regular' }, PM],
    [{ type: 'OpenRequest', ref: 'refs/pushreq/a', sha: sha(1), autoPickme: false, title: 'a' }, alice],
  ]);
  const push = Object.values(b.pushes)[0]!;
  const agreeing = () => new Map<string, string>([['refs/pushreq/a', sha(1)], ...(push.deploySha ? [[push.deployBranch, push.deploySha] as [string, string]] : [])]);

  it('finds nothing when refs and state agree', () => {
    expect(refProblems(b, agreeing())).toEqual([]);
  });

  it('names a request ref that moved or vanished, a stray request ref, and a deploy branch off its deploySha', () => {
    const refs = agreeing();
    refs.set('refs/pushreq/a', sha(2));
    refs.set('refs/pushreq/stray', sha(3));
    refs.set(push.deployBranch, sha(4));
    expect(refProblems(b, refs)).toEqual([
      `request 1 refs/pushreq/a is at ${sha(1).slice(0, 8)} in the state, ref ${sha(2).slice(0, 8)}`,
      'refs/pushreq/stray exists with no active request',
      `push ${push.id} (accepting): ${push.deployBranch} is ${sha(4).slice(0, 8)}, the state says ${push.deploySha?.slice(0, 8) ?? 'none'}`,
    ]);
    refs.delete('refs/pushreq/a');
    expect(refProblems(b, refs)[0]).toBe(`request 1 refs/pushreq/a is at ${sha(1).slice(0, 8)} in the state, ref missing`);
  });
});
