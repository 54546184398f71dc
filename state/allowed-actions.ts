// What an actor may do now, per request and per push: each action offered, or the refusal decide would
// give, with its code and rendered reason. The clients show this instead of re-deriving the rules; it
// is computed by asking decide itself (which asks the table in transitions.ts) with a probe command per
// action, so an offered action is one decide accepts and a refusal is one decide gives.
import type { UserActor } from './actor.js';
import type { Command } from './commands.js';
import { decide } from './decide.js';
import { describeError, isDomainError, type DomainErrorCode } from './errors.js';
import { accepting, isActiveRequest, isOpenPush, type Board, type Push, type PushId, type PushRequest, type RequestId } from './model.js';
import { checkRequest, type RequestAction } from './transitions.js';

/** The request actions a client offers (the dashboard's keys, the CLI's `request` verbs). */
export const REQUEST_ACTION_NAMES = ['pickme', 'unpickme', 'accept', 'remove', 'verify', 'delay', 'undelay', 'discard', 'comment', 'edit'] as const;
export type RequestActionName = (typeof REQUEST_ACTION_NAMES)[number];
/** The push actions a client offers (the dashboard's train keys, the CLI's `push` verbs). */
export const PUSH_ACTION_NAMES = ['rebuild', 'stage', 'verify', 'bless', 'certify', 'discard', 'message', 'pingme', 'takeOver', 'tick'] as const;
export type PushActionName = (typeof PUSH_ACTION_NAMES)[number];

/** An action offered, or why not: the code callers branch on and the reason as describeError renders it. */
export type Availability = { readonly ok: true } | { readonly ok: false; readonly code: DomainErrorCode; readonly reason: string };

export interface AllowedActions {
  /** `push open` (OpenPush). */
  readonly openPush: Availability;
  /**
   * Per request id. An action is absent when it has no subject: accept or remove for a request that is
   * in no push while no push is accepting.
   */
  readonly requests: Readonly<Record<number, Partial<Record<RequestActionName, Availability>>>>;
  /** Per push id. `tick` is absent for a push without a checklist. */
  readonly pushes: Readonly<Record<number, Partial<Record<PushActionName, Availability>>>>;
}

export interface AllowedActionsOptions {
  /** As the server decides with it (default true). */
  readonly singleAcceptingPush?: boolean;
  /** Which requests to answer for; default every active one (finished requests offer only a comment). */
  readonly requests?: Iterable<RequestId>;
  /** Which pushes; default every open one. */
  readonly pushes?: Iterable<PushId>;
}

/** Probe inputs stand for any valid input: decide checks only that they are not empty. */
const ANY_TEXT = 'any text';
const NOW = '1970-01-01T00:00:00.000Z';

/** The command that stands for a request action, or null when the action has no subject. */
export function requestProbe(board: Board, r: PushRequest, action: RequestActionName): Command | null {
  const request = r.id;
  switch (action) {
    case 'pickme':
      return { type: 'PickmeRequest', request };
    case 'unpickme':
      return { type: 'UnpickmeRequest', request };
    case 'accept': {
      const push = r.push ?? accepting(board)?.id;
      return push === undefined ? null : { type: 'AcceptRequests', push, requests: [request] };
    }
    case 'remove': {
      const push = r.push ?? accepting(board)?.id;
      return push === undefined ? null : { type: 'RemoveRequest', push, request, reason: ANY_TEXT };
    }
    case 'verify':
      return { type: 'VerifyRequest', request };
    case 'delay':
      return { type: 'DelayRequest', request };
    case 'undelay':
      return { type: 'UndelayRequest', request };
    case 'discard':
      return { type: 'DiscardRequest', request };
    case 'comment':
      return { type: 'CommentRequest', request, text: ANY_TEXT };
    case 'edit':
      // Any change at all: the description with one more space.
      return { type: 'EditRequest', request, description: `${r.description} ` };
  }
}

/** The command that stands for a push action, or null when the action has no subject. */
export function pushProbe(p: Push, action: PushActionName, actor: UserActor): Command | null {
  const push = p.id;
  switch (action) {
    case 'rebuild':
      return { type: 'RebuildPush', push };
    case 'stage':
      return { type: 'StagePush', push, env: p.stageEnv ?? 'stage' };
    case 'verify':
      return { type: 'VerifyPush', push };
    case 'bless':
      return { type: 'BlessPush', push, force: false };
    case 'certify':
      return { type: 'CertifyPush', push, force: false };
    case 'discard':
      return { type: 'DiscardPush', push };
    case 'message':
      return { type: 'MessagePushees', push, text: ANY_TEXT };
    case 'pingme':
      // The toggle: on when the actor is not on the list yet, off when they are.
      return { type: 'PingmePush', push, on: !p.pingme.includes(actor.name) };
    case 'takeOver':
      return { type: 'TakeOverPush', push };
    case 'tick': {
      const first = p.checklist[0];
      return first ? { type: 'TickChecklist', push, item: first.id, done: !first.done } : null;
    }
  }
}

/**
 * Request actions that decide refuses only through the table (its handler checks the table and then
 * always decides): answered from the table directly, with decide's own wording, so a board of a
 * thousand requests does not run decide's per-push work (verify looks at the whole push) a thousand
 * times. The property test (test/state/allowed-actions.test.ts) holds this claim to decide.
 */
const TABLE_ONLY: Partial<Record<RequestActionName, { readonly action: RequestAction; readonly what: string; readonly withPush: boolean }>> = {
  unpickme: { action: 'unpickme', what: 'unpick request', withPush: false },
  verify: { action: 'verify', what: 'verify request', withPush: true },
  delay: { action: 'delay', what: 'delay request', withPush: true },
  undelay: { action: 'undelay', what: 'undelay request', withPush: false },
  discard: { action: 'discard', what: 'discard request', withPush: false },
};

export function allowedActions(board: Board, actor: UserActor, opts: AllowedActionsOptions = {}): AllowedActions {
  const ctx = { actor, now: NOW, ...(opts.singleAcceptingPush !== undefined && { singleAcceptingPush: opts.singleAcceptingPush }) };
  const judge = (cmd: Command): Availability => {
    const out = decide(board, cmd, ctx);
    return isDomainError(out) ? { ok: false, code: out.code, reason: describeError(out) } : { ok: true };
  };
  const requests: Record<number, Partial<Record<RequestActionName, Availability>>> = {};
  const requestIds = opts.requests ?? Object.values(board.requests).filter(isActiveRequest).map((r) => r.id);
  for (const id of requestIds) {
    const r = board.requests[id];
    if (!r) continue;
    const row: Partial<Record<RequestActionName, Availability>> = {};
    for (const a of REQUEST_ACTION_NAMES) {
      const t = TABLE_ONLY[a];
      if (t) {
        const refusal = checkRequest(t.action, actor, r, t.withPush && r.push !== null ? board.pushes[r.push] : undefined, `${t.what} ${r.id}`);
        row[a] = refusal ? { ok: false, code: refusal.code, reason: describeError(refusal) } : { ok: true };
        continue;
      }
      const cmd = requestProbe(board, r, a);
      if (cmd) row[a] = judge(cmd);
    }
    requests[id] = row;
  }
  const pushes: Record<number, Partial<Record<PushActionName, Availability>>> = {};
  const pushIds = opts.pushes ?? Object.values(board.pushes).filter(isOpenPush).map((p) => p.id);
  for (const id of pushIds) {
    const p = board.pushes[id];
    if (!p) continue;
    const row: Partial<Record<PushActionName, Availability>> = {};
    for (const a of PUSH_ACTION_NAMES) {
      const cmd = pushProbe(p, a, actor);
      if (cmd) row[a] = judge(cmd);
    }
    pushes[id] = row;
  }
  return { openPush: judge({ type: 'OpenPush', title: ANY_TEXT, pushType: 'regular' }), requests, pushes };
}
