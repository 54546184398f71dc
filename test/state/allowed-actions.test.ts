// allowedActions against decide, over random boards and actors: every action the board offers is one
// decide accepts (with any valid input, not only the probe's), and every refusal it shows is one decide
// gives, with the same code. Then the table's `to`: an offered action lands its subject where the table says.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { systemActor, userActor, type UserActor } from '../../state/actor.js';
import { allowedActions, compactActions, expandActions, PUSH_ACTION_NAMES, REQUEST_ACTION_NAMES, type PushActionName, type RequestActionName } from '../../state/allowed-actions.js';
import type { Command } from '../../state/commands.js';
import { decide } from '../../state/decide.js';
import { isDomainError } from '../../state/errors.js';
import { evolveAll } from '../../state/evolve.js';
import { accepting, emptyBoard, wantedMerges, type Board, type ChecklistItem, type Push, type PushId, type PushRequest, type RequestId } from '../../state/model.js';
import { PUSH_TRANSITIONS, REQUEST_TRANSITIONS } from '../../state/transitions.js';
import { params } from '../fuzz/fuzz-runs.js';

const NAMES = ['alice', 'bob', 'carol', 'pm', 'pm2', 'root', 'pushmanager'] as const;
const actorArb: fc.Arbitrary<UserActor> = fc
  .record({ name: fc.constantFrom(...NAMES), pushmaster: fc.boolean(), admin: fc.boolean() })
  .map(({ name, pushmaster, admin }) => userActor(name, { pushmaster: pushmaster || name.startsWith('pm'), admin: admin && name === 'root' }));

const sha = (n: number) => n.toString(16).padStart(40, '0');
let clock = 0;
const now = () => new Date(Date.UTC(2025, 0, 7, 12, 0, 0, clock++)).toISOString();

/** One step of a random history: who, what (an index into the templates) and a few numbers to pick targets. */
const stepArb = fc.record({ actor: actorArb, what: fc.constantFrom(0, 0, 1, 2, 3, 4, 4, 4, 5, 6, 6, 7, 7, 8, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 17), a: fc.nat({ max: 7 }), b: fc.nat({ max: 3 }), flag: fc.boolean() });

function stepCommand(board: Board, s: { what: number; a: number; b: number; flag: boolean }, n: number): { cmd: Command } | null {
  const req = (s.a % Math.max(1, board.nextRequestId - 1)) + 1;
  // Mostly the newest push: the one a history is driving.
  const push = Math.max(1, board.nextPushId - 1 - (s.b === 3 ? 1 : 0));
  const r = board.requests[req];
  switch (s.what) {
    case 0:
    case 1:
      return { cmd: { type: 'OpenRequest', ref: `refs/pushreq/r${s.a}`, sha: sha(n), autoPickme: s.flag, title: `change ${n}`, ...(s.b === 0 && { watchers: ['carol'] }), ...(s.b === 1 && { tags: ['urgent'] }) } };
    case 2:
      return { cmd: { type: 'OpenPush', title: `push ${n}`, pushType: s.flag ? 'regular' : 'urgent' } };
    case 3:
      return { cmd: { type: 'PickmeRequest', request: req as RequestId } };
    case 4:
      return { cmd: { type: 'AcceptRequests', push: (r?.push ?? push) as PushId, requests: [req as RequestId] } };
    case 5:
      return { cmd: { type: 'PickmeRequest', request: req as RequestId } };
    case 6:
      return { cmd: { type: 'StagePush', push: push as PushId, env: 'stage-a' } };
    case 7:
      return { cmd: { type: 'VerifyRequest', request: req as RequestId } };
    case 8:
      return { cmd: { type: 'BlessPush', push: push as PushId, force: s.flag } };
    case 9:
      return { cmd: { type: 'CertifyPush', push: push as PushId, force: s.flag } };
    case 10:
      return { cmd: { type: 'DelayRequest', request: req as RequestId } };
    case 11:
      return { cmd: { type: 'UndelayRequest', request: req as RequestId } };
    case 12:
      return { cmd: { type: 'RemoveRequest', push: (r?.push ?? push) as PushId, request: req as RequestId, reason: 'breaks it' } };
    case 13:
      return { cmd: { type: 'DiscardPush', push: push as PushId } };
    case 14:
      return { cmd: { type: 'TakeOverPush', push: push as PushId } };
    case 15:
      return { cmd: { type: 'UnpickmeRequest', request: req as RequestId } };
    case 16:
      return { cmd: { type: 'DiscardRequest', request: req as RequestId } };
    default:
      return null; // a checklist, set below
  }
}

/** The server's build of a push's deploy branch: current again (nothing when it already is). */
function build(b: Board, push: PushId, n: number): Board {
  const merges = wantedMerges(b, push).map((w, i) => ({ ...w, commit: sha(1000 + n * 10 + i) }));
  const out = decide(b, { type: 'RecordBuild', push, deploySha: merges.at(-1)?.commit ?? sha(999), baseSha: sha(998), merges, dropped: [] }, { actor: systemActor('deploy-build'), now: now() });
  return isDomainError(out) ? b : evolveAll(b, out);
}

const item = (id: string, phase: ChecklistItem['phase'], done: boolean): ChecklistItem => ({ id, phase, text: `do ${id}`, requests: [], done, doneBy: done ? 'pm' : null });

/** A board reached by a random history through decide and evolve (refused steps are skipped), with checklists now and then. */
const boardArb: fc.Arbitrary<Board> = fc.array(stepArb, { minLength: 5, maxLength: 80, size: 'max' }).map((steps) => {
  let b = emptyBoard();
  steps.forEach((s, n) => {
    if (s.what === 17) {
      const p = b.pushes[(s.b % Math.max(1, b.nextPushId - 1)) + 1];
      if (!p) return;
      const phases: ChecklistItem['phase'][] = ['before-stage', 'after-stage', 'before-bless', 'after-bless', 'before-certify'];
      const items = [item(`i${n}`, phases[s.a % phases.length]!, s.flag)];
      b = evolveAll(b, [{ type: 'ChecklistSet', push: p.id, items, at: now(), actor: 'pushmanager', cause: 'checklist' }]);
      return;
    }
    const step = stepCommand(b, s, n);
    if (!step) return;
    // Mostly the one who may (the push's pushmaster, the request's owner), so histories get far into the train.
    const cmd = step.cmd as { push?: number; request?: number };
    const pm = cmd.push !== undefined ? b.pushes[cmd.push]?.pushmaster : undefined;
    const owner = cmd.request !== undefined ? b.requests[cmd.request]?.user : undefined;
    const who = s.a % 5 === 0 ? s.actor : pm ? userActor(pm, { pushmaster: true }) : owner ? userActor(owner) : s.actor;
    const out = decide(b, step.cmd, { actor: who, now: now(), certification: { tag: `t${n}`, masterSha: sha(n) } });
    if (isDomainError(out)) return;
    b = evolveAll(b, out);
    // As the server does after a change, mostly: the deploy branches built again (else they stay stale).
    if (s.b !== 3) for (const p of Object.values(b.pushes)) if (p.state !== 'live' && p.state !== 'discarded') b = build(b, p.id, n);
  });
  return b;
});

/** Valid input of the clients' kind for an action, drawn independently of the probe's. */
const inputArb = fc.record({ text: fc.stringMatching(/^[a-z][a-z ]{0,11}$/), env: fc.constantFrom('stage-a', 'stage-b', 'qa'), item: fc.nat() });
type Input = { text: string; env: string; item: number };

function requestCommand(b: Board, r: PushRequest, a: RequestActionName, i: Input): Command {
  const push = (r.push ?? accepting(b)?.id) as PushId;
  switch (a) {
    case 'pickme':
      return { type: 'PickmeRequest', request: r.id };
    case 'unpickme':
      return { type: 'UnpickmeRequest', request: r.id };
    case 'accept':
      return { type: 'AcceptRequests', push, requests: [r.id] };
    case 'remove':
      return { type: 'RemoveRequest', push, request: r.id, reason: i.text };
    case 'verify':
      return { type: 'VerifyRequest', request: r.id };
    case 'delay':
      return { type: 'DelayRequest', request: r.id, reason: i.text };
    case 'undelay':
      return { type: 'UndelayRequest', request: r.id };
    case 'discard':
      return { type: 'DiscardRequest', request: r.id, reason: i.text };
    case 'comment':
      return { type: 'CommentRequest', request: r.id, text: i.text };
    case 'edit':
      return { type: 'EditRequest', request: r.id, title: `${r.title} ${i.text}` };
  }
}

function pushCommand(p: Push, a: PushActionName, me: UserActor, i: Input): Command {
  const push = p.id;
  switch (a) {
    case 'rebuild':
      return { type: 'RebuildPush', push };
    case 'stage':
      return { type: 'StagePush', push, env: i.env };
    case 'verify':
      return { type: 'VerifyPush', push };
    case 'bless':
      return { type: 'BlessPush', push, force: false };
    case 'certify':
      return { type: 'CertifyPush', push, force: false };
    case 'discard':
      return { type: 'DiscardPush', push, reason: i.text };
    case 'message':
      return { type: 'MessagePushees', push, text: i.text };
    case 'pingme':
      return { type: 'PingmePush', push, on: !p.pingme.includes(me.name) };
    case 'takeOver':
      return { type: 'TakeOverPush', push };
    case 'tick': {
      // Any item of the checklist, ticked if open, unticked if done.
      const it = p.checklist[i.item % p.checklist.length]!;
      return { type: 'TickChecklist', push, item: it.id, done: !it.done };
    }
  }
}

describe('allowedActions agrees with decide', () => {
  it('every action offered is accepted by decide, every refusal shown is the one decide gives', () => {
    fc.assert(
      fc.property(boardArb, actorArb, inputArb, (b, me, input) => {
        // As the clients read them: through the wire form GET /api/board sends.
        const actions = expandActions(JSON.parse(JSON.stringify(compactActions(allowedActions(b, me)))));
        const ctx = { actor: me, now: now() };
        const check = (offered: { ok: boolean; code?: string } | undefined, cmd: Command, what: string) => {
          if (!offered) return;
          const out = decide(b, cmd, ctx);
          if (offered.ok) expect(isDomainError(out) ? `${what}: refused ${out.code} ${out.message}` : 'accepted').toBe('accepted');
          else expect(isDomainError(out) ? out.code : `${what}: accepted`).toBe(offered.code);
        };
        for (const r of Object.values(b.requests)) {
          const row = actions.requests[r.id];
          if (!row) continue;
          for (const a of REQUEST_ACTION_NAMES) check(row[a], requestCommand(b, r, a, input), `${a} #${r.id}`);
        }
        for (const p of Object.values(b.pushes)) {
          const row = actions.pushes[p.id];
          if (!row) continue;
          // Tick is offered for the first item; any other item, ticked or unticked, is decided the same way.
          for (const a of PUSH_ACTION_NAMES) if (row[a]) check(row[a], pushCommand(p, a, me, input), `${a} push ${p.id}`);
        }
        check(actions.openPush, { type: 'OpenPush', title: input.text, pushType: 'regular' }, 'open a push');
      }),
      params(150),
    );
  });

  it("an offered request action lands the request in the table's `to` state", () => {
    const TABLE: Partial<Record<RequestActionName, keyof typeof REQUEST_TRANSITIONS>> = { pickme: 'pickme', unpickme: 'unpickme', accept: 'accept', remove: 'remove', verify: 'verify', delay: 'delay', undelay: 'undelay', discard: 'discard', comment: 'comment', edit: 'edit' };
    fc.assert(
      fc.property(boardArb, actorArb, inputArb, (b, me, input) => {
        const actions = allowedActions(b, me);
        for (const [id, row] of Object.entries(actions.requests)) {
          const r = b.requests[Number(id)]!;
          for (const a of REQUEST_ACTION_NAMES) {
            if (!row[a]?.ok) continue;
            const out = decide(b, requestCommand(b, r, a, input), { actor: me, now: now() });
            if (isDomainError(out)) throw new Error(`${a} #${r.id} refused: ${out.message}`);
            const to = REQUEST_TRANSITIONS[TABLE[a]!].to;
            expect(evolveAll(b, out).requests[r.id]!.state).toBe(to ?? r.state);
          }
        }
        for (const [id, row] of Object.entries(actions.pushes)) {
          const p = b.pushes[Number(id)]!;
          for (const a of ['stage', 'bless', 'discard'] as const) {
            if (!row[a]?.ok) continue;
            const out = decide(b, pushCommand(p, a, me, input), { actor: me, now: now() });
            if (isDomainError(out)) throw new Error(`${a} push ${p.id} refused: ${out.message}`);
            expect(evolveAll(b, out).pushes[p.id]!.state).toBe(PUSH_TRANSITIONS[a].to);
          }
        }
      }),
      params(100),
    );
  });

  it('an admin is offered the train of a push someone else drives', () => {
    let b = emptyBoard();
    const pm = userActor('pm', { pushmaster: true });
    const root = userActor('root', { admin: true });
    const run = (cmd: Command, who = pm) => {
      const out = decide(b, cmd, { actor: who, now: now() });
      if (isDomainError(out)) throw new Error(out.message);
      b = evolveAll(b, out);
    };
    run({ type: 'OpenPush', title: 'Tue', pushType: 'regular' });
    run({ type: 'OpenRequest', ref: 'refs/pushreq/x', sha: sha(1), autoPickme: true }, userActor('alice'));
    const a = allowedActions(b, root);
    expect(a.requests[1]!.accept).toEqual({ ok: true });
    expect(a.pushes[1]!.discard).toEqual({ ok: true });
    const bob = allowedActions(b, userActor('bob'));
    expect(bob.requests[1]!.accept).toMatchObject({ ok: false, code: 'not-pushmaster-of-push' });
    expect(bob.openPush).toMatchObject({ ok: false, code: 'not-pushmaster', reason: 'bob is not in the pushmaster group and cannot open a push [not-pushmaster]' });
  });
});

describe('the wire form of the actions', () => {
  it('expandActions gives back exactly what allowedActions answered, after JSON', () => {
    fc.assert(
      fc.property(boardArb, actorArb, (b, me) => {
        const a = allowedActions(b, me);
        expect(expandActions(JSON.parse(JSON.stringify(compactActions(a))))).toEqual(a);
      }),
      params(150),
    );
  });

  it('a reason holding braces, `{id}` or the id inside other numbers comes back as it was', () => {
    const reasons = ['#7 {id} {{id}} {7} 17 7x v7 {', 'request 7 of push 7, not 70 or 77', '{{{{', '{id}'];
    const a = {
      openPush: { ok: false as const, code: 'not-pushmaster' as const, reason: 'push {id} 7 {' },
      requests: Object.fromEntries(reasons.map((reason, i) => [7 + i * 70, { pickme: { ok: false as const, code: 'illegal-transition' as const, reason: reason.replaceAll('7', String(7 + i * 70)) }, comment: { ok: true as const } }])),
      pushes: { 7: { stage: { ok: false as const, code: 'jobs-not-green' as const, reason: 'push 7 {id}' } } },
    };
    expect(expandActions(JSON.parse(JSON.stringify(compactActions(a))))).toEqual(a);
  });

  it('sends each distinct row once: rows do not grow with the number of requests in the same state', () => {
    let b = emptyBoard();
    const pm = userActor('pm', { pushmaster: true });
    const run = (cmd: Command, who: UserActor) => {
      const out = decide(b, cmd, { actor: who, now: now() });
      if (isDomainError(out)) throw new Error(out.message);
      b = evolveAll(b, out);
    };
    run({ type: 'OpenPush', title: 'Tue', pushType: 'regular' }, pm);
    for (let i = 1; i <= 1000; i++) run({ type: 'OpenRequest', ref: `refs/pushreq/r${i}`, sha: sha(i), autoPickme: i % 2 === 0 }, userActor(NAMES[i % 3]!));
    const c = compactActions(allowedActions(b, userActor('alice')));
    expect(Object.keys(c.requests)).toHaveLength(1000);
    // Mine or not, picked or not: four rows, and their reasons, for a thousand requests.
    expect(c.rows.length).toBeLessThanOrEqual(6);
    expect(JSON.stringify(c).length).toBeLessThan(1000 * 20);
  });
});
