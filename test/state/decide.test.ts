// decide() over every request state × request command and push state × push command (SPEC §2): boards are
// built by evolving decided events, allowed steps must produce the right event types, refused ones the
// right DomainError code; then the who-may rules, actor by actor.
import { describe, expect, it } from 'vitest';
import type { Command } from '../../state/commands.js';
import { actorName, decide, systemActor, userActor, type Actor, type DecideContext } from '../../state/decide.js';
import { isDomainError, type DomainErrorCode } from '../../state/errors.js';
import { evolveAll } from '../../state/evolve.js';
import { emptyBoard, requestsOfPush, wantedMerges, type Board, type PushId, type PushState, type RequestId, type RequestState } from '../../state/model.js';

const actor = (name: string, pushmaster = false, admin = false): Actor => userActor(name, { pushmaster, admin });
/** The server's own work, by cause (never a user name). */
const BUILDER = systemActor('deploy-build');
const CHECKER = systemActor('conflict-check');

const ALICE = actor('alice'); // owner of request 1
const BOB = actor('bob'); // nobody to request 1
const CAROL = actor('carol'); // watcher of request 1
const PM = actor('pm', true); // pushmaster of push 1
const PM2 = actor('pm2', true); // another pushmaster
const ADMIN = actor('root', false, true);
/** An engineer whose name is the system's: the name grants nothing. */
const NAMESAKE = actor('pushmanager');

const R1 = 1 as RequestId;
const R2 = 2 as RequestId;
const P1 = 1 as PushId;
const sha = (c: string) => c.repeat(40).slice(0, 40);
const REF = 'refs/pushreq/feature';

let clock = 0;
const ctxFor = (who: Actor, extra: Partial<DecideContext> = {}): DecideContext => ({
  actor: who,
  now: new Date(Date.UTC(2025, 0, 7, 12, 0, clock++)).toISOString(),
  ...extra,
});

/** Decides and evolves; a refusal while building a board is a test bug, so it throws. */
function step(b: Board, cmd: Command, who: Actor, extra: Partial<DecideContext> = {}): Board {
  const out = decide(b, cmd, ctxFor(who, extra));
  if (isDomainError(out)) throw new Error(`building the board: ${cmd.type} by ${actorName(who)} refused: ${out.code} ${out.message}`);
  return evolveAll(b, out);
}

/** What the server records after building: the wanted merges with made-up merge commits. */
function built(b: Board, push: PushId): Board {
  const merges = wantedMerges(b, push).map((w, i) => ({ ...w, commit: sha(String.fromCharCode(97 + i)) }));
  return step(b, { type: 'RecordBuild', push, deploySha: merges.at(-1)?.commit ?? sha('0'), baseSha: sha('f'), merges, dropped: [] }, BUILDER);
}

const open = (b: Board, id: 'alice' | 'bob', ref: string, c: string, autoPickme = true): Board =>
  step(b, { type: 'OpenRequest', ref, sha: sha(c), autoPickme, title: `${id}'s change`, ...(id === 'alice' && { watchers: ['carol'] }) }, id === 'alice' ? ALICE : BOB);

/**
 * A board where request 1 (alice's, watched by carol) is in `state` and push 1 belongs to pm. When push 1
 * has moved past accepting, pm2 opens push 2 so that an accepting push exists for pickme commands.
 */
function requestBoard(state: RequestState): Board {
  let b = step(emptyBoard(), { type: 'OpenPush', title: 'Tue 14:00', pushType: 'regular' }, PM);
  b = open(b, 'alice', REF, '1', state !== 'requested' && state !== 'discarded');
  if (state === 'requested') return b;
  if (state === 'discarded') return step(b, { type: 'DiscardRequest', request: R1 }, ALICE);
  if (state === 'pickme') return b;
  if (state === 'delayed') return step(b, { type: 'DelayRequest', request: R1 }, ALICE);
  b = built(step(b, { type: 'AcceptRequests', push: P1, requests: [R1] }, PM), P1);
  if (state === 'added') return b;
  b = step(b, { type: 'StagePush', push: P1, env: 'stage-a' }, PM);
  if (state !== 'staged') {
    b = step(b, { type: 'VerifyRequest', request: R1 }, ALICE);
    if (state !== 'verified') {
      b = step(b, { type: 'BlessPush', push: P1, force: false }, PM);
      if (state === 'live') b = step(b, { type: 'CertifyPush', push: P1, force: false }, PM, { certification: { tag: 'push-20250107-1', masterSha: sha('e') } });
    }
  }
  return step(b, { type: 'OpenPush', title: 'Tue 16:00', pushType: 'regular' }, PM2);
}

type Expect = readonly string[] | DomainErrorCode;
const ALL: readonly RequestState[] = ['requested', 'pickme', 'added', 'staged', 'verified', 'blessed', 'live', 'delayed', 'discarded'];
const row = (allowed: readonly RequestState[], events: readonly string[], otherwise: DomainErrorCode, except: Partial<Record<RequestState, DomainErrorCode>> = {}) =>
  Object.fromEntries(ALL.map((s) => [s, allowed.includes(s) ? events : (except[s] ?? otherwise)])) as Record<RequestState, Expect>;

const ACTIVE: readonly RequestState[] = ['requested', 'pickme', 'added', 'staged', 'verified', 'blessed', 'delayed'];

/** Request commands, each with the actor SPEC §2 allows, and the expected outcome per state of request 1. */
const REQUEST_CASES: readonly { name: string; who: Actor; cmd: (b: Board) => Command; expect: Record<RequestState, Expect> }[] = [
  // Not once staged, as the ref's deletion: what was staged, verified and blessed is what certify makes master.
  { name: 're-push', who: ALICE, cmd: () => ({ type: 'UpdateRequest', ref: REF, sha: sha('9'), forced: false }), expect: row(['requested', 'pickme', 'added', 'delayed'], ['RequestUpdated'], 'ref-not-found', { staged: 'illegal-transition', verified: 'illegal-transition', blessed: 'illegal-transition' }) },
  { name: 'delete the ref', who: ALICE, cmd: () => ({ type: 'WithdrawRequest', ref: REF }), expect: row(['requested', 'pickme', 'added', 'delayed'], ['RequestWithdrawn'], 'illegal-transition', { live: 'ref-not-found', discarded: 'ref-not-found' }) },
  { name: 'pickme', who: ALICE, cmd: () => ({ type: 'PickmeRequest', request: R1 }), expect: row(['requested'], ['RequestPicked'], 'illegal-transition') },
  { name: 'unpickme', who: CAROL, cmd: () => ({ type: 'UnpickmeRequest', request: R1 }), expect: row(['pickme'], ['RequestUnpicked'], 'illegal-transition') },
  { name: 'accept', who: PM, cmd: () => ({ type: 'AcceptRequests', push: P1, requests: [R1] }), expect: row(['pickme'], ['RequestAccepted'], 'illegal-transition') },
  { name: 'remove', who: PM, cmd: () => ({ type: 'RemoveRequest', push: P1, request: R1, reason: 'breaks search' }), expect: row(['pickme', 'added', 'staged', 'verified', 'blessed'], ['RequestRemoved'], 'illegal-transition') },
  { name: 'verify', who: ALICE, cmd: () => ({ type: 'VerifyRequest', request: R1 }), expect: row(['staged'], ['RequestVerified', 'AllVerified'], 'illegal-transition') },
  { name: 'delay', who: ALICE, cmd: () => ({ type: 'DelayRequest', request: R1, reason: 'not today' }), expect: row(['requested', 'pickme'], ['RequestDelayed'], 'illegal-transition') },
  { name: 'undelay', who: ALICE, cmd: () => ({ type: 'UndelayRequest', request: R1 }), expect: row(['delayed'], ['RequestUndelayed'], 'illegal-transition') },
  { name: 'discard', who: ALICE, cmd: () => ({ type: 'DiscardRequest', request: R1 }), expect: row(['requested', 'delayed'], ['RequestDiscarded'], 'illegal-transition') },
  { name: 'comment', who: BOB, cmd: () => ({ type: 'CommentRequest', request: R1, text: 'looks good' }), expect: row(ALL, ['CommentAdded'], 'illegal-transition') },
  { name: 'edit', who: CAROL, cmd: () => ({ type: 'EditRequest', request: R1, title: 'Better title' }), expect: row(ACTIVE, ['RequestEdited'], 'illegal-transition') },
];

describe('decide: request state × request command', () => {
  for (const c of REQUEST_CASES) {
    it.each(ALL)(`${c.name} by ${actorName(c.who)} when request 1 is %s`, (state) => {
      const b = requestBoard(state);
      expect(b.requests[R1]!.state).toBe(state);
      const out = decide(b, c.cmd(b), ctxFor(c.who));
      const want = c.expect[state];
      if (typeof want === 'string') {
        expect(isDomainError(out) ? out.code : out.map((e) => e.type)).toBe(want);
        // Every refusal names what it refuses in words, for remote: lines and the CLI.
        expect(isDomainError(out) && out.message.length).toBeGreaterThan(10);
      } else {
        expect(isDomainError(out) ? `${out.code}: ${out.message}` : out.map((e) => e.type)).toEqual(want);
      }
    });
  }

  it('the allowed steps land in the states of SPEC §2', () => {
    const after = (state: RequestState, cmd: Command, who: Actor) => step(requestBoard(state), cmd, who).requests[R1]!;
    expect(after('requested', { type: 'PickmeRequest', request: R1 }, ALICE)).toMatchObject({ state: 'pickme', push: P1 });
    expect(after('pickme', { type: 'UnpickmeRequest', request: R1 }, ALICE)).toMatchObject({ state: 'requested', push: null });
    expect(after('pickme', { type: 'AcceptRequests', push: P1, requests: [R1] }, PM)).toMatchObject({ state: 'added', push: P1 });
    expect(after('staged', { type: 'RemoveRequest', push: P1, request: R1, reason: 'x' }, PM)).toMatchObject({ state: 'requested', push: null, reason: 'x' });
    expect(after('staged', { type: 'VerifyRequest', request: R1 }, CAROL).state).toBe('verified');
    expect(after('pickme', { type: 'DelayRequest', request: R1 }, PM)).toMatchObject({ state: 'delayed', push: null });
    expect(after('delayed', { type: 'UndelayRequest', request: R1 }, ALICE).state).toBe('requested');
    expect(after('delayed', { type: 'DiscardRequest', request: R1, reason: 'obsolete' }, ALICE)).toMatchObject({ state: 'discarded', reason: 'obsolete' });
    expect(after('added', { type: 'WithdrawRequest', ref: REF }, ALICE).state).toBe('discarded');
    expect(after('added', { type: 'UpdateRequest', ref: REF, sha: sha('8'), forced: true }, ALICE)).toMatchObject({ state: 'added', sha: sha('8') });
    expect(requestBoard('live').requests[R1]!.state).toBe('live');
  });

  it('unknown requests and pushes are refused by id', () => {
    const b = requestBoard('pickme');
    const code = (cmd: Command, who: Actor) => {
      const out = decide(b, cmd, ctxFor(who));
      return isDomainError(out) ? out.code : 'ok';
    };
    expect(code({ type: 'VerifyRequest', request: 99 as RequestId }, ALICE)).toBe('unknown-request');
    expect(code({ type: 'AcceptRequests', push: P1, requests: [99 as RequestId] }, PM)).toBe('unknown-request');
    expect(code({ type: 'StagePush', push: 9 as PushId, env: 's' }, PM)).toBe('unknown-push');
    expect(code({ type: 'PickmeRequest', request: R1, push: 9 as PushId }, ALICE)).toBe('unknown-push');
    expect(code({ type: 'UpdateRequest', ref: 'refs/pushreq/none', sha: sha('7'), forced: false }, ALICE)).toBe('ref-not-found');
  });
});

/** Who may do what to request 1 (owner alice, watcher carol) and push 1 (pushmaster pm). */
describe('decide: who may', () => {
  const WHO: readonly { name: string; state: RequestState; cmd: Command; allowed: readonly Actor[]; refused: readonly (readonly [Actor, DomainErrorCode])[] }[] = [
    { name: 're-push', state: 'pickme', cmd: { type: 'UpdateRequest', ref: REF, sha: sha('9'), forced: false }, allowed: [ALICE], refused: [[BOB, 'ref-owned-by-other'], [CAROL, 'ref-owned-by-other'], [PM, 'ref-owned-by-other']] },
    { name: 'delete the ref', state: 'pickme', cmd: { type: 'WithdrawRequest', ref: REF }, allowed: [ALICE], refused: [[BOB, 'ref-owned-by-other'], [PM, 'ref-owned-by-other']] },
    { name: 'pickme', state: 'requested', cmd: { type: 'PickmeRequest', request: R1 }, allowed: [ALICE, CAROL], refused: [[BOB, 'not-owner-or-watcher'], [PM, 'not-owner-or-watcher']] },
    { name: 'unpickme', state: 'pickme', cmd: { type: 'UnpickmeRequest', request: R1 }, allowed: [ALICE, CAROL], refused: [[BOB, 'not-owner-or-watcher'], [PM2, 'not-owner-or-watcher']] },
    { name: 'accept', state: 'pickme', cmd: { type: 'AcceptRequests', push: P1, requests: [R1] }, allowed: [PM, ADMIN], refused: [[BOB, 'not-pushmaster-of-push'], [ALICE, 'not-pushmaster-of-push'], [PM2, 'not-pushmaster-of-push']] },
    { name: 'remove', state: 'added', cmd: { type: 'RemoveRequest', push: P1, request: R1, reason: 'r' }, allowed: [PM], refused: [[ALICE, 'not-pushmaster-of-push'], [PM2, 'not-pushmaster-of-push']] },
    { name: 'stage', state: 'added', cmd: { type: 'StagePush', push: P1, env: 'stage-a' }, allowed: [PM], refused: [[ALICE, 'not-pushmaster-of-push'], [PM2, 'not-pushmaster-of-push']] },
    { name: 'verify', state: 'staged', cmd: { type: 'VerifyRequest', request: R1 }, allowed: [ALICE, CAROL, PM], refused: [[BOB, 'not-owner-or-watcher'], [PM2, 'not-owner-or-watcher']] },
    { name: 'verify the push', state: 'staged', cmd: { type: 'VerifyPush', push: P1 }, allowed: [ALICE, CAROL, PM], refused: [[BOB, 'nothing-to-do'], [PM2, 'nothing-to-do']] },
    { name: 'bless', state: 'verified', cmd: { type: 'BlessPush', push: P1, force: false }, allowed: [PM], refused: [[ALICE, 'not-pushmaster-of-push'], [PM2, 'not-pushmaster-of-push']] },
    { name: 'certify', state: 'blessed', cmd: { type: 'CertifyPush', push: P1, force: false }, allowed: [PM, ADMIN], refused: [[ALICE, 'not-pushmaster-of-push'], [BOB, 'not-pushmaster-of-push'], [PM2, 'not-pushmaster-of-push']] },
    { name: 'discard the push', state: 'added', cmd: { type: 'DiscardPush', push: P1 }, allowed: [PM], refused: [[ALICE, 'not-pushmaster-of-push'], [PM2, 'not-pushmaster-of-push']] },
    { name: 'rebuild', state: 'added', cmd: { type: 'RebuildPush', push: P1 }, allowed: [PM], refused: [[ALICE, 'not-pushmaster-of-push'], [PM2, 'not-pushmaster-of-push']] },
    { name: 'message pushees', state: 'added', cmd: { type: 'MessagePushees', push: P1, text: 'stage in 5' }, allowed: [PM], refused: [[ALICE, 'not-pushmaster-of-push'], [PM2, 'not-pushmaster-of-push']] },
    { name: 'ping me', state: 'added', cmd: { type: 'PingmePush', push: P1, on: true }, allowed: [ALICE, BOB, PM2], refused: [] },
    { name: 'take over', state: 'added', cmd: { type: 'TakeOverPush', push: P1 }, allowed: [PM2, ADMIN], refused: [[ALICE, 'not-pushmaster'], [PM, 'nothing-to-do']] },
    { name: 'delay', state: 'pickme', cmd: { type: 'DelayRequest', request: R1 }, allowed: [ALICE, PM], refused: [[BOB, 'not-owner'], [CAROL, 'not-owner'], [PM2, 'not-owner']] },
    { name: 'undelay', state: 'delayed', cmd: { type: 'UndelayRequest', request: R1 }, allowed: [ALICE], refused: [[CAROL, 'not-owner'], [PM, 'not-owner']] },
    { name: 'discard the request', state: 'requested', cmd: { type: 'DiscardRequest', request: R1 }, allowed: [ALICE], refused: [[BOB, 'not-owner'], [CAROL, 'not-owner'], [PM, 'not-owner']] },
    { name: 'edit', state: 'pickme', cmd: { type: 'EditRequest', request: R1, title: 'New' }, allowed: [ALICE, CAROL, PM], refused: [[BOB, 'not-owner-or-watcher'], [PM2, 'not-owner-or-watcher']] },
    { name: 'comment', state: 'live', cmd: { type: 'CommentRequest', request: R1, text: 'thanks' }, allowed: [ALICE, BOB, PM2], refused: [] },
    { name: 'open a push', state: 'staged', cmd: { type: 'OpenPush', title: 'Wed', pushType: 'urgent' }, allowed: [], refused: [[ALICE, 'not-pushmaster'], [PM, 'push-already-accepting']] },
    { name: 'record conflicts', state: 'pickme', cmd: { type: 'RecordConflicts', results: [{ request: R1, sha: sha('1'), conflicts: [] }] }, allowed: [CHECKER], refused: [[PM, 'not-pushmaster'], [ADMIN, 'not-pushmaster'], [NAMESAKE, 'not-pushmaster']] },
  ];

  for (const w of WHO) {
    for (const who of w.allowed)
      it(`${w.name} (request 1 ${w.state}): ${actorName(who)} may`, () => {
        const out = decide(requestBoard(w.state), w.cmd, ctxFor(who));
        expect(isDomainError(out) ? `${out.code}: ${out.message}` : 'allowed').toBe('allowed');
      });
    for (const [who, code] of w.refused)
      it(`${w.name} (request 1 ${w.state}): ${actorName(who)} is refused with ${code}`, () => {
        const out = decide(requestBoard(w.state), w.cmd, ctxFor(who));
        expect(isDomainError(out) ? out.code : out.map((e) => e.type)).toBe(code);
        if (isDomainError(out) && code.startsWith('not-') && w.name !== 'record conflicts') expect(out.message).toContain(actorName(who));
      });
  }

  it('the pushmaster-of-push refusal names the push and its pushmaster', () => {
    const out = decide(requestBoard('pickme'), { type: 'AcceptRequests', push: P1, requests: [R1] }, ctxFor(BOB));
    expect(isDomainError(out) && out.message).toMatch(/bob is not the pushmaster of push 1 \(pm is\)/);
  });

  it('after a take-over the new pushmaster drives the push and the old one no longer may', () => {
    const b = step(requestBoard('pickme'), { type: 'TakeOverPush', push: P1 }, PM2);
    expect(b.pushes[P1]!.pushmaster).toBe('pm2');
    expect(isDomainError(decide(b, { type: 'AcceptRequests', push: P1, requests: [R1] }, ctxFor(PM2)))).toBe(false);
    const old = decide(b, { type: 'AcceptRequests', push: P1, requests: [R1] }, ctxFor(PM));
    expect(isDomainError(old) && old.code).toBe('not-pushmaster-of-push');
  });
});

/** Push boards: push 1 (pm) with alice's request 1 and bob's request 2 (a pickme while push 1 accepts). */
function pushBoard(state: PushState | 'accepting-empty' | 'accepting-stale' | 'staged-unverified'): Board {
  // The server builds a push's (empty) deploy branch when it opens: master itself.
  let b = built(step(emptyBoard(), { type: 'OpenPush', title: 'Tue 14:00', pushType: 'regular' }, PM), P1);
  b = open(b, 'alice', REF, '1');
  b = open(b, 'bob', 'refs/pushreq/bobs', '2');
  if (state === 'accepting-empty') return b;
  b = step(b, { type: 'AcceptRequests', push: P1, requests: [R1] }, PM);
  if (state === 'accepting-stale') return b;
  b = built(b, P1);
  if (state === 'accepting') return b;
  if (state === 'discarded') return step(b, { type: 'DiscardPush', push: P1, reason: 'cancelled' }, PM);
  b = step(b, { type: 'StagePush', push: P1, env: 'stage-a' }, PM);
  if (state === 'staged-unverified') return b;
  b = step(b, { type: 'VerifyRequest', request: R1 }, ALICE);
  if (state === 'staged') return b;
  b = step(b, { type: 'BlessPush', push: P1, force: false }, PM);
  if (state === 'blessed') return b;
  return step(b, { type: 'CertifyPush', push: P1, force: false }, PM, { certification: { tag: 'push-20250107-1', masterSha: sha('e') } });
}

const PUSH_STATES_X = ['accepting-empty', 'accepting-stale', 'accepting', 'staged-unverified', 'staged', 'blessed', 'live', 'discarded'] as const;
type PushCase = (typeof PUSH_STATES_X)[number];
const prow = (m: Partial<Record<PushCase, Expect>>, otherwise: Expect = 'illegal-transition') =>
  Object.fromEntries(PUSH_STATES_X.map((s) => [s, m[s] ?? otherwise])) as Record<PushCase, Expect>;
const OPEN_ALL = (events: readonly string[]) => prow({ 'accepting-empty': events, 'accepting-stale': events, accepting: events, 'staged-unverified': events, staged: events, blessed: events });

const PUSH_CASES: readonly { name: string; who: Actor; cmd: Command; expect: Record<PushCase, Expect> }[] = [
  { name: 'accept bob\'s pickme', who: PM, cmd: { type: 'AcceptRequests', push: P1, requests: [R2] }, expect: prow({ 'accepting-empty': ['RequestAccepted'], 'accepting-stale': ['RequestAccepted'], accepting: ['RequestAccepted'] }) },
  { name: 'stage', who: PM, cmd: { type: 'StagePush', push: P1, env: 'stage-a' }, expect: prow({ 'accepting-empty': 'nothing-to-do', 'accepting-stale': 'deploy-branch-stale', accepting: ['PushStaged'], 'staged-unverified': 'nothing-to-do', staged: 'nothing-to-do' }) },
  { name: 'bless', who: PM, cmd: { type: 'BlessPush', push: P1, force: false }, expect: prow({ accepting: 'illegal-transition', 'staged-unverified': 'unverified-requests', staged: ['PushBlessed'] }) },
  { name: 'bless --force', who: PM, cmd: { type: 'BlessPush', push: P1, force: true }, expect: prow({ 'staged-unverified': ['PushBlessed'], staged: ['PushBlessed'] }) },
  { name: 'certify', who: PM, cmd: { type: 'CertifyPush', push: P1, force: false }, expect: prow({ blessed: ['PushCertified'] }) },
  { name: 'discard', who: PM, cmd: { type: 'DiscardPush', push: P1, reason: 'no' }, expect: OPEN_ALL(['PushDiscarded']) },
  { name: 'rebuild', who: PM, cmd: { type: 'RebuildPush', push: P1 }, expect: OPEN_ALL([]) },
  { name: 'message', who: PM, cmd: { type: 'MessagePushees', push: P1, text: 'hi' }, expect: OPEN_ALL(['PushMessageSent']) },
  { name: 'pingme', who: CAROL, cmd: { type: 'PingmePush', push: P1, on: true }, expect: OPEN_ALL(['PingmeChanged']) },
  { name: 'take over', who: PM2, cmd: { type: 'TakeOverPush', push: P1 }, expect: OPEN_ALL(['PushTakenOver']) },
  { name: 'verify the push', who: ALICE, cmd: { type: 'VerifyPush', push: P1 }, expect: prow({ 'staged-unverified': ['RequestVerified', 'AllVerified'] }, 'nothing-to-do') },
  { name: 'open another push', who: PM2, cmd: { type: 'OpenPush', title: 'Next', pushType: 'regular' }, expect: prow({ 'staged-unverified': ['PushOpened'], staged: ['PushOpened'], blessed: ['PushOpened'], live: ['PushOpened', 'RequestPicked'], discarded: ['PushOpened', 'RequestPicked', 'RequestPicked'] }, 'push-already-accepting') },
];

describe('decide: push state × push command', () => {
  for (const c of PUSH_CASES) {
    it.each(PUSH_STATES_X)(`${c.name} by ${actorName(c.who)} when push 1 is %s`, (state) => {
      const out = decide(pushBoard(state), c.cmd, ctxFor(c.who));
      const want = c.expect[state];
      if (typeof want === 'string') expect(isDomainError(out) ? out.code : out.map((e) => e.type)).toBe(want);
      else expect(isDomainError(out) ? `${out.code}: ${out.message}` : out.map((e) => e.type)).toEqual(want);
    });
  }

  it('bless --force with unverified requests is logged in push.forced; without unverified ones it is not', () => {
    const forced = step(pushBoard('staged-unverified'), { type: 'BlessPush', push: P1, force: true }, PM).pushes[P1]!;
    expect(forced.state).toBe('blessed');
    expect(forced.forced).toEqual([expect.objectContaining({ step: 'bless', by: 'pm' })]);
    expect(step(pushBoard('staged'), { type: 'BlessPush', push: P1, force: true }, PM).pushes[P1]!.forced).toEqual([]);
  });

  it('certify: blessed requests go live, left-over pickmes go back to requested, the tag is recorded', () => {
    const b = pushBoard('live');
    expect(b.pushes[P1]).toMatchObject({ state: 'live', tag: 'push-20250107-1' });
    expect(b.requests[R1]).toMatchObject({ state: 'live', push: P1 });
    expect(b.requests[R2]).toMatchObject({ state: 'requested', push: null });
  });

  it('certify whose git work started from an older deploy branch (rebuilt meanwhile) is stale', () => {
    const b = pushBoard('blessed');
    const current = b.pushes[P1]!.deploySha!;
    const at = (deploySha: string) => decide(b, { type: 'CertifyPush', push: P1, force: false }, ctxFor(PM, { certification: { tag: 't', masterSha: sha('e'), deploySha } }));
    const stale = at(sha('d'));
    expect(isDomainError(stale) && stale.code).toBe('deploy-branch-stale');
    const ok = at(current);
    expect(isDomainError(ok) ? ok.code : ok.map((e) => e.type)).toEqual(['PushCertified']);
  });

  it('discard: the push ends, every request in it waits again, the deploy branch is forgotten', () => {
    let b = step(pushBoard('accepting'), { type: 'AcceptRequests', push: P1, requests: [R2] }, PM);
    b = step(b, { type: 'DiscardPush', push: P1 }, PM);
    expect(b.pushes[P1]).toMatchObject({ state: 'discarded', deploySha: null, merges: [] });
    expect([b.requests[R1]!.state, b.requests[R2]!.state]).toEqual(['requested', 'requested']);
    // The push keeps the list of what it held, though the requests no longer name it.
    expect(b.pushes[P1]!.heldWhenDiscarded).toEqual([R1, R2]);
    expect(requestsOfPush(b, b.pushes[P1]!).map((r) => r.id)).toEqual([R1, R2]);
  });

  it('a live push lists the requests certified in it; a pickme that went back to waiting is not among them', () => {
    const blessed = pushBoard('blessed'); // bob's request 2 is still only a pickme
    expect(blessed.requests[R2]).toMatchObject({ state: 'pickme', push: P1 });
    const b = step(blessed, { type: 'CertifyPush', push: P1, force: false }, PM, { certification: { tag: 't', masterSha: sha('9') } });
    expect(b.pushes[P1]!.state).toBe('live');
    expect(requestsOfPush(b, b.pushes[P1]!).map((r) => r.id)).toEqual([R1]);
  });

  it('verify of the last staged request says AllVerified; of one of two it does not', () => {
    let b = step(pushBoard('accepting'), { type: 'AcceptRequests', push: P1, requests: [R2] }, PM);
    b = step(built(b, P1), { type: 'StagePush', push: P1, env: 'stage-a' }, PM);
    const first = decide(b, { type: 'VerifyRequest', request: R1 }, ctxFor(ALICE));
    expect(isDomainError(first) ? first.code : first.map((e) => e.type)).toEqual(['RequestVerified']);
    b = evolveAll(b, first as never);
    const last = decide(b, { type: 'VerifyRequest', request: R2 }, ctxFor(BOB));
    expect(isDomainError(last) ? last.code : last.map((e) => e.type)).toEqual(['RequestVerified', 'AllVerified']);
  });

  it('one accepting push at a time unless the repository allows more', () => {
    const b = pushBoard('accepting');
    const out = decide(b, { type: 'OpenPush', title: 'x', pushType: 'regular' }, ctxFor(PM2));
    expect(isDomainError(out) && out.code).toBe('push-already-accepting');
    const many = decide(b, { type: 'OpenPush', title: 'x', pushType: 'regular' }, ctxFor(PM2, { singleAcceptingPush: false }));
    expect(isDomainError(many) ? many.code : many.map((e) => e.type)).toEqual(['PushOpened']);
  });

  it('a new push picks every waiting auto-pickme request, not -o pickme=no ones; urgent pushes only urgent ones', () => {
    let b = open(emptyBoard(), 'alice', REF, '1');
    b = open(b, 'bob', 'refs/pushreq/bobs', '2', false);
    b = step(b, { type: 'OpenRequest', ref: 'refs/pushreq/hot', sha: sha('3'), autoPickme: true, tags: ['urgent'] }, CAROL);
    const regular = decide(b, { type: 'OpenPush', title: 'x', pushType: 'regular' }, ctxFor(PM));
    expect(isDomainError(regular) ? regular.code : regular.filter((e) => e.type === 'RequestPicked').map((e) => (e as { request: number }).request)).toEqual([1, 3]);
    const urgent = decide(b, { type: 'OpenPush', title: 'x', pushType: 'urgent' }, ctxFor(PM));
    expect(isDomainError(urgent) ? urgent.code : urgent.filter((e) => e.type === 'RequestPicked').map((e) => (e as { request: number }).request)).toEqual([3]);
  });

  it('watchers must be users the directory knows, on open, re-push and edit alike; names already watching are not asked again', () => {
    const known = { knownUsers: new Set(['carol', 'bob']) };
    const opened = decide(emptyBoard(), { type: 'OpenRequest', ref: REF, sha: sha('1'), autoPickme: true, watchers: ['carol', 'ghost'] }, ctxFor(ALICE, known));
    expect(isDomainError(opened) && [opened.code, opened.message, opened.data]).toEqual(['invalid-field', '"watchers": no user "ghost"', { field: 'watchers', user: 'ghost' }]);
    const b = requestBoard('requested'); // carol watches request 1
    const edit = decide(b, { type: 'EditRequest', request: R1, watchers: ['carol', 'nobody'] }, ctxFor(ALICE, known));
    expect(isDomainError(edit) && edit.message).toBe('"watchers": no user "nobody"');
    const repush = decide(b, { type: 'UpdateRequest', ref: REF, sha: sha('2'), forced: false, watchers: ['nobody'] }, ctxFor(ALICE, known));
    expect(isDomainError(repush) && repush.code).toBe('invalid-field');
    // carol has left the directory: keeping her while adding bob is still allowed.
    const kept = decide(b, { type: 'EditRequest', request: R1, watchers: ['carol', 'bob'] }, ctxFor(ALICE, { knownUsers: new Set(['bob']) }));
    expect(isDomainError(kept) ? kept.code : kept.map((e) => e.type)).toEqual(['RequestEdited']);
  });

  it('user tags never carry conflict tags; the server alone sets them', () => {
    const b = step(requestBoard('pickme'), { type: 'RecordConflicts', results: [{ request: R1, sha: sha('1'), conflicts: [{ with: 'master', files: ['a.txt'] }] }] }, CHECKER);
    expect(b.requests[R1]!.tags).toContain('conflict-master');
    const edited = step(b, { type: 'EditRequest', request: R1, tags: ['fix', 'no-conflicts'] }, ALICE).requests[R1]!;
    expect([...edited.tags].sort()).toEqual(['conflict-master', 'fix']);
  });
  it('records a pair conflict against the pickme only: the request already in the deploy branch wins', () => {
    // Request 1 is accepted into push 1, request 2 (bob's) is a pickme of it, and they clash.
    let b = open(requestBoard('added'), 'bob', 'refs/pushreq/bobs', '2');
    expect(b.requests[R2]).toMatchObject({ state: 'pickme', push: P1 });
    const clash = { type: 'RecordConflicts' as const, results: [{ request: R1, sha: sha('1'), conflicts: [{ with: R2, files: ['a.txt'] }] }, { request: R2, sha: sha('2'), conflicts: [{ with: R1, files: ['a.txt'] }] }] };
    const events = decide(b, clash, ctxFor(CHECKER));
    b = step(b, clash, CHECKER);
    expect([b.requests[R1]!.conflicts, b.requests[R1]!.tags]).toEqual([[], ['no-conflicts']]);
    expect([b.requests[R2]!.conflicts, b.requests[R2]!.tags]).toEqual([[{ with: R1, files: ['a.txt'] }], ['conflict-pickme']]);
    // Only the pickme hears about it (ConflictsFound tells the owner to rebase).
    expect(isDomainError(events) ? events : events.map((e) => [e.type, (e as unknown as { conflicts: unknown[] }).conflicts.length])).toEqual([['ConflictsFound', 0], ['ConflictsFound', 1]]);
  });
  it('records a request in conflict with master against master only', () => {
    const b = step(open(requestBoard('pickme'), 'bob', 'refs/pushreq/bobs', '2'), { type: 'RecordConflicts', results: [{ request: R2, sha: sha('2'), conflicts: [{ with: 'master', files: ['d.txt'], reason: 'why' }, { with: R1, files: ['d.txt'] }] }] }, CHECKER);
    expect(b.requests[R2]!.conflicts).toEqual([{ with: 'master', files: ['d.txt'], reason: 'why' }]);
    expect(b.requests[R2]!.tags).toEqual(['conflict-master']);
  });
  it('a build that names a request as dropped removes it once: a second, racing build does not remove it again', () => {
    const b = requestBoard('added');
    const drop = { type: 'RecordBuild' as const, push: P1, deploySha: sha('0'), baseSha: sha('f'), merges: [], dropped: [{ request: R1, files: ['a.txt'] }] };
    const once = step(b, drop, BUILDER);
    expect(once.requests[R1]).toMatchObject({ state: 'pickme', push: P1 });
    const again = decide(once, drop, ctxFor(BUILDER));
    expect(isDomainError(again) ? again.code : again.filter((e) => e.type === 'RequestRemoved')).toEqual([]);
  });
  it('a second build of what is already built records nothing, so a staged push keeps its deploy SHA', () => {
    const b = step(requestBoard('added'), { type: 'StagePush', push: P1, env: 'stage-a' }, PM);
    const merges = wantedMerges(b, P1).map((w) => ({ ...w, commit: sha('9') }));
    const again = decide(b, { type: 'RecordBuild', push: P1, deploySha: sha('9'), baseSha: sha('f'), merges, dropped: [] }, ctxFor(BUILDER));
    expect(again).toEqual([]);
    const onNewBase = decide(b, { type: 'RecordBuild', push: P1, deploySha: sha('8'), baseSha: sha('e'), merges, dropped: [] }, ctxFor(BUILDER));
    expect(isDomainError(onNewBase) ? onNewBase.code : onNewBase.map((e) => e.type)).toEqual(['DeployBranchBuilt']);
  });
});

describe('decide: actors are a type, not a name', () => {
  it("a user named pushmanager is refused what the system may do: accept, discard another's request, take its ref, record builds", () => {
    const code = (b: Board, cmd: Command, who: Actor) => {
      const out = decide(b, cmd, ctxFor(who));
      return isDomainError(out) ? out.code : out.map((e) => e.type);
    };
    const pickme = pushBoard('accepting');
    expect(code(pickme, { type: 'AcceptRequests', push: P1, requests: [R2] }, NAMESAKE)).toBe('not-pushmaster-of-push');
    expect(code(requestBoard('requested'), { type: 'DiscardRequest', request: R1 }, NAMESAKE)).toBe('not-owner');
    expect(code(requestBoard('pickme'), { type: 'UpdateRequest', ref: REF, sha: sha('9'), forced: true }, NAMESAKE)).toBe('ref-owned-by-other');
    expect(code(requestBoard('pickme'), { type: 'WithdrawRequest', ref: REF }, NAMESAKE)).toBe('ref-owned-by-other');
    const merges = wantedMerges(pickme, P1).map((w) => ({ ...w, commit: sha('9') }));
    expect(code(pickme, { type: 'RecordBuild', push: P1, deploySha: sha('9'), baseSha: sha('e'), merges, dropped: [] }, NAMESAKE)).toBe('not-pushmaster');
    // The same commands by the system go through: it is the kind that counts.
    expect(code(requestBoard('pickme'), { type: 'WithdrawRequest', ref: REF, reason: 'gone' }, systemActor('reconcile'))).toEqual(['RequestWithdrawn']);
  });

  it("the system's events name it and say why; a user's events carry no cause", () => {
    const sys = decide(requestBoard('pickme'), { type: 'UpdateRequest', ref: REF, sha: sha('9'), forced: true }, ctxFor(systemActor('reconcile')));
    expect(sys).toMatchObject([{ type: 'RequestUpdated', actor: 'pushmanager', cause: 'reconcile' }]);
    const mine = decide(requestBoard('pickme'), { type: 'UpdateRequest', ref: REF, sha: sha('9'), forced: true }, ctxFor(ALICE));
    expect(isDomainError(mine) ? mine.code : mine.map((e) => [e.actor, 'cause' in e])).toEqual([['alice', false]]);
  });

  it('only the system opens a request for someone else, and the owner it names is marked inferred', () => {
    const owner = { name: 'bob', inferredFrom: 'commit-author' as const };
    const cmd: Command = { type: 'OpenRequest', ref: 'refs/pushreq/found', sha: sha('7'), autoPickme: false, owner };
    const adopted = decide(emptyBoard(), cmd, ctxFor(systemActor('reconcile')));
    expect(adopted).toMatchObject([{ type: 'RequestOpened', actor: 'pushmanager', cause: 'reconcile', request: { user: 'bob', ownerInferredFrom: 'commit-author' } }]);
    const forged = decide(emptyBoard(), cmd, ctxFor(ALICE));
    expect(isDomainError(forged) && [forged.code, forged.message]).toEqual(['not-owner', 'alice cannot open a request for bob']);
    const pushed = decide(emptyBoard(), { ...cmd, owner: undefined }, ctxFor(ALICE));
    expect(isDomainError(pushed) ? pushed.code : pushed[0]).toMatchObject({ request: { user: 'alice' } });
    expect(isDomainError(pushed) ? pushed.code : 'ownerInferredFrom' in (pushed[0] as { request: object }).request).toBe(false);
    const nobody = decide(emptyBoard(), { ...cmd, owner: undefined }, ctxFor(systemActor('reconcile')));
    expect(isDomainError(nobody) && nobody.data).toEqual({ field: 'owner' });
  });
});
