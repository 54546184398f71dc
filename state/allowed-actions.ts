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

// ---- The wire form (GET /api/board's `actions`)
//
// Sent as is, the answer above is about 1 KB per request on every board fetch (three quarters of the
// board's JSON), and nearly all of it repeats: requests in the same state and of the same kind of owner
// get the same row, word for word but for their own id. So the board sends each distinct row once,
// with the subject's id in its reasons written as `{id}`, and each request or push names its row.

/** A refusal on the wire: decide's code and the index of its reason (a template) in `reasons`. */
export type WireRefusal = readonly [code: DomainErrorCode, reason: number];

/** One row: the actions offered, by name, and the refusals. An action in neither has no subject. */
export interface WireActionRow {
  readonly ok: readonly string[];
  readonly no: Readonly<Record<string, WireRefusal>>;
}

/** AllowedActions as GET /api/board sends them; expandActions gives AllowedActions back exactly. */
export interface WireActions {
  /** Reasons as templates: `{id}` stands for the row's subject id, `{{` for a literal `{`. */
  readonly reasons: readonly string[];
  readonly rows: readonly WireActionRow[];
  /** null when offered. */
  readonly openPush: WireRefusal | null;
  /** Request id → index into `rows`. */
  readonly requests: Readonly<Record<number, number>>;
  /** Push id → index into `rows`. */
  readonly pushes: Readonly<Record<number, number>>;
}

const PLACEHOLDER = /\{\{|\{id\}/g;

/**
 * The reason with its subject's id as `{id}` (and `{` as `{{`, so a `{id}` in user text stays text):
 * exact whatever else the text holds, because expanding puts back exactly what was taken out.
 */
function template(reason: string, id: string | null): string {
  const escaped = reason.includes('{') ? reason.replace(/\{/g, '{{') : reason;
  if (id === null) return escaped;
  // By hand rather than a RegExp: a board of 1,500 requests templates some 15,000 reasons per fetch.
  let out = '';
  let from = 0;
  for (let at = escaped.indexOf(id); at >= 0; at = escaped.indexOf(id, at + id.length)) {
    // The id as a whole number only (not the 7 of 17 or 70): either way expanding gives the text back.
    if (isDigit(escaped.charCodeAt(at - 1)) || isDigit(escaped.charCodeAt(at + id.length))) continue;
    out += `${escaped.slice(from, at)}{id}`;
    from = at + id.length;
  }
  return from === 0 ? escaped : out + escaped.slice(from);
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

function untemplate(t: string, id: number | null): string {
  return t.replace(PLACEHOLDER, (m) => (m === '{{' ? '{' : String(id)));
}

/** The wire form of allowedActions' answer: each distinct reason and row once. */
export function compactActions(a: AllowedActions): WireActions {
  const reasons: string[] = [];
  const reasonIndex = new Map<string, number>();
  const rows: WireActionRow[] = [];
  const rowIndex = new Map<string, number>();
  const refusal = (v: Availability & { ok: false }, id: string | null): WireRefusal => {
    const t = template(v.reason, id);
    let i = reasonIndex.get(t);
    if (i === undefined) reasonIndex.set(t, (i = reasons.push(t) - 1));
    return [v.code, i];
  };
  const row = (r: Partial<Record<string, Availability>>, id: number): number => {
    const ok: string[] = [];
    const no: Record<string, WireRefusal> = {};
    const idText = String(id);
    let key = '';
    for (const [name, v] of Object.entries(r)) {
      if (!v) continue;
      if (v.ok) ok.push(name);
      else no[name] = refusal(v, idText);
      // Names and codes are plain words; the reason is its index: the key cannot be ambiguous.
      key += v.ok ? `${name} ` : `${name}:${no[name]![0]}:${no[name]![1]} `;
    }
    let i = rowIndex.get(key);
    if (i === undefined) rowIndex.set(key, (i = rows.push({ ok, no }) - 1));
    return i;
  };
  const requests: Record<number, number> = {};
  for (const [id, r] of Object.entries(a.requests)) requests[Number(id)] = row(r, Number(id));
  const pushes: Record<number, number> = {};
  for (const [id, p] of Object.entries(a.pushes)) pushes[Number(id)] = row(p, Number(id));
  return { reasons, rows, openPush: a.openPush.ok ? null : refusal(a.openPush, null), requests, pushes };
}

/**
 * AllowedActions from the wire form, as allowedActions gave them (the clients read this shape). A
 * name the client does not know is dropped; a row or reason index out of range reads as no row or
 * an empty reason, so a malformed answer cannot throw in a renderer.
 */
export function expandActions(w: WireActions): AllowedActions {
  // The dashboard expands on every frame: the same answer (a parsed board, never changed) once.
  const seen = expanded.get(w);
  if (seen) return seen;
  const out = expandUncached(w);
  expanded.set(w, out);
  return out;
}

const expanded = new WeakMap<WireActions, AllowedActions>();

function expandUncached(w: WireActions): AllowedActions {
  const availability = (x: WireRefusal | null | undefined, id: number | null): Availability =>
    !x ? { ok: true } : { ok: false, code: x[0], reason: untemplate(w.reasons[x[1]] ?? '', id) };
  const expandRow = <A extends string>(names: readonly A[], i: number | undefined, id: number): Partial<Record<A, Availability>> | undefined => {
    const r = i === undefined ? undefined : w.rows[i];
    if (!r) return undefined;
    const ok: readonly string[] = Array.isArray(r.ok) ? r.ok : [];
    const no: Readonly<Record<string, WireRefusal>> = r.no && typeof r.no === 'object' ? r.no : {};
    const out: Partial<Record<A, Availability>> = {};
    // In the order of the names, as allowedActions builds its rows.
    for (const a of names) {
      if (ok.includes(a)) out[a] = { ok: true };
      else if (Array.isArray(no[a])) out[a] = availability(no[a], id);
    }
    return out;
  };
  const requests: Record<number, Partial<Record<RequestActionName, Availability>>> = {};
  for (const [id, i] of Object.entries(w.requests)) {
    const row = expandRow(REQUEST_ACTION_NAMES, i, Number(id));
    if (row) requests[Number(id)] = row;
  }
  const pushes: Record<number, Partial<Record<PushActionName, Availability>>> = {};
  for (const [id, i] of Object.entries(w.pushes)) {
    const row = expandRow(PUSH_ACTION_NAMES, i, Number(id));
    if (row) pushes[Number(id)] = row;
  }
  return { openPush: availability(w.openPush, null), requests, pushes };
}
