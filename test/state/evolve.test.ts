// evolveAll applies many events writing into request and push maps it copied once, instead of copying
// them per event. It must still be pure: the input board and every board it returned before are never
// written (they are frozen here, so a write would throw), the result equals applying evolve() one event
// at a time, and unchanged requests keep their identity (the git store writes only what changed).
import { describe, expect, it } from 'vitest';
import { decide, systemActor, userActor, type Actor } from '../../state/decide.js';
import { isDomainError } from '../../state/errors.js';
import type { DomainEvent } from '../../state/events.js';
import { evolve, evolveAll } from '../../state/evolve.js';
import { emptyBoard, type Board, type PushId, type RequestId } from '../../state/model.js';
import type { Command } from '../../state/commands.js';

const PM: Actor = userActor('pm', { pushmaster: true });
const sha = (n: number) => n.toString(16).padStart(40, '0');

function deepFreeze<T>(x: T): T {
  if (x && typeof x === 'object' && !Object.isFrozen(x)) {
    Object.freeze(x);
    for (const v of Object.values(x)) deepFreeze(v);
  }
  return x;
}

let second = 0;
function events(b: Board, cmd: Command, who: Actor): readonly DomainEvent[] {
  const out = decide(b, cmd, { actor: who, now: new Date(Date.UTC(2025, 0, 7, 12, 0, second++)).toISOString() });
  if (isDomainError(out)) throw new Error(`${cmd.type}: ${out.code} ${out.message}`);
  return out;
}

describe('evolveAll', () => {
  it('equals evolve() one event at a time, and never writes a board it was given or gave out', () => {
    let b = deepFreeze(emptyBoard());
    const commands: [Command, Actor][] = [[{ type: 'OpenPush', title: 'Tue', pushType: 'regular' }, PM]];
    for (let i = 1; i <= 40; i++) commands.push([{ type: 'OpenRequest', ref: `refs/pushreq/r${i}`, sha: sha(i), autoPickme: true, title: `change ${i}` }, userActor(`e${i}`)]);
    const ids = Array.from({ length: 40 }, (_, i) => (i + 1) as RequestId);
    commands.push([{ type: 'RecordConflicts', results: ids.map((id, k) => ({ request: id, sha: sha(id), conflicts: k % 3 ? [] : [{ with: 'master', files: ['hot.txt'] }] })) }, systemActor('conflict-check')]);
    commands.push([{ type: 'AcceptRequests', push: 1 as PushId, requests: ids.slice(0, 25) }, PM]);
    let steps = 0;
    for (const [cmd, who] of commands) {
      const es = events(b, cmd, who);
      const before = JSON.stringify(b);
      const batched = evolveAll(b, es);
      const oneByOne = es.reduce(evolve, b);
      expect(batched).toEqual(oneByOne);
      expect(JSON.stringify(b)).toBe(before);
      // Requests no event touched are the same objects.
      const touched = new Set(es.flatMap((e) => ('request' in e && typeof e.request === 'number' ? [e.request] : 'request' in e && typeof e.request === 'object' ? [(e.request as { id: number }).id] : [])));
      for (const [id, r] of Object.entries(b.requests)) if (!touched.has(Number(id))) expect(batched.requests[Number(id)]).toBe(r);
      b = deepFreeze(batched);
      steps++;
    }
    expect(steps).toBe(commands.length);
    expect(Object.values(b.requests).filter((r) => r.state === 'added')).toHaveLength(25);
    expect(Object.values(b.requests).filter((r) => r.conflicts.length > 0)).toHaveLength(14);
  });

  it('gives out maps nobody shares: evolving its result again leaves that result as it was', () => {
    const b0 = emptyBoard();
    const b1 = evolveAll(b0, events(b0, { type: 'OpenRequest', ref: 'refs/pushreq/a', sha: sha(1), autoPickme: false, title: 'a' }, PM));
    const snapshot = JSON.stringify(b1);
    const b2 = evolveAll(b1, events(b1, { type: 'OpenRequest', ref: 'refs/pushreq/b', sha: sha(2), autoPickme: false, title: 'b' }, PM));
    const b3 = evolve(b2, events(b2, { type: 'OpenRequest', ref: 'refs/pushreq/c', sha: sha(3), autoPickme: false, title: 'c' }, PM)[0]!);
    expect(JSON.stringify(b1)).toBe(snapshot);
    expect(Object.keys(b2.requests)).toEqual(['1', '2']);
    expect(Object.keys(b3.requests)).toEqual(['1', '2', '3']);
    expect(b2.requests).not.toBe(b1.requests);
  });
});
