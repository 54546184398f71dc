// The dashboard's keys: what each is called and does, and whether it may be used now. Who may do what
// is the server's answer (board.actions, computed by decide itself, so an admin or any other role is
// seen exactly as the server sees it); the screen adds only what it alone knows.
import type { AllowedActions, PushActionName, RequestActionName } from '../../state/allowed-actions.js';
import { openGateItems } from '../../state/checklist.js';
import { safeLine } from '../../state/text.js';
import type { StatusJob, StatusPush, StatusRequest } from '../../state/wire.js';
import type { Me } from './ui-state.js';

export const KEY_NAMES = [
  'move',
  'select',
  'detail',
  'filter',
  'accept',
  'remove',
  'rebuild',
  'stage',
  'bless',
  'certify',
  'discard',
  'message',
  'pickme',
  'unpickme',
  'verify',
  'delay',
  'comment',
  'checklist',
  'open',
  'jobs',
  'job-log',
  'job-retry',
  'job-cancel',
  'next-push',
  'help',
  'quit',
] as const;
export type KeyName = (typeof KEY_NAMES)[number];

export interface KeyState {
  readonly name: KeyName;
  readonly keys: string;
  readonly label: string;
  readonly short: string;
  readonly enabled: boolean;
  /** Why the key cannot be used now; null when enabled. */
  readonly reason: string | null;
  /** The requests the action would apply to (those of the targets that qualify). */
  readonly ids: readonly number[];
}

export const KEY_DEFS: Record<KeyName, { keys: string; label: string; short: string }> = {
  move: { keys: 'j/k ↑/↓', label: 'move the cursor (PgUp/PgDn, g/G)', short: 'move' },
  select: { keys: 'space', label: 'select or unselect the request, then move down (space space space picks a run)', short: 'select' },
  detail: { keys: 'enter', label: 'open the request: description, history, conflicts, links', short: 'detail' },
  filter: { keys: '/', label: 'filter by text, owner:NAME, tag:TAG, #ID (esc clears)', short: 'filter' },
  accept: { keys: 'a', label: 'accept pickmes into the deploy branch', short: 'accept' },
  remove: { keys: 'x', label: 'remove from the push (asks for a reason)', short: 'remove' },
  rebuild: { keys: 'r', label: 'rebuild the deploy branch', short: 'rebuild' },
  stage: { keys: 's', label: 'stage the push (asks for the environment)', short: 'stage' },
  bless: { keys: 'b', label: 'bless: send the push to production', short: 'bless' },
  certify: { keys: 'c', label: 'certify: master becomes the deploy branch', short: 'certify' },
  discard: { keys: 'D', label: 'discard the push (its requests wait again)', short: 'discard' },
  message: { keys: 'm', label: 'message every pushee of the push', short: 'message' },
  pickme: { keys: 'p', label: 'pickme: offer a waiting request to the push', short: 'pickme' },
  unpickme: { keys: 'u', label: 'unpickme: take a pickme back out', short: 'unpick' },
  verify: { keys: 'v', label: 'verify a staged request', short: 'verify' },
  delay: { keys: 'd', label: 'delay a request (undelay a delayed one)', short: 'delay' },
  comment: { keys: 'C', label: 'comment on the request', short: 'comment' },
  checklist: { keys: 't', label: "tick or untick an item of the push's checklist", short: 'tick' },
  open: { keys: 'O', label: 'open a new push (asks for a title)', short: 'open' },
  jobs: { keys: 'J', label: "move the cursor into the push's jobs (j/k choose, J or esc goes back to the requests)", short: 'jobs' },
  'job-log': { keys: 'L', label: "open the job's log and follow it live (enter in the jobs; esc closes)", short: 'log' },
  'job-retry': { keys: 'R', label: 'retry the job: run it again on the same SHA (a failed, cancelled or interrupted one)', short: 'retry' },
  'job-cancel': { keys: 'X', label: 'cancel the job (a queued, running or interrupted one)', short: 'cancel job' },
  'next-push': { keys: 'tab', label: 'show the next open push', short: 'next push' },
  help: { keys: '?', label: 'show every key and why some are unavailable', short: 'keys' },
  quit: { keys: 'q', label: 'quit', short: 'quit' },
};

/** Footer order: help and quit always fit, then the train, a pushee's keys, navigation. */
export const FOOTER_KEYS: readonly KeyName[] = ['help', 'quit', 'accept', 'remove', 'rebuild', 'stage', 'bless', 'certify', 'job-log', 'job-retry', 'job-cancel', 'jobs', 'discard', 'message', 'checklist', 'pickme', 'unpickme', 'verify', 'delay', 'comment', 'open', 'detail', 'filter'];
/** With the cursor in the jobs: their keys first. */
export const JOBS_FOOTER_KEYS: readonly KeyName[] = ['help', 'quit', 'job-log', 'job-retry', 'job-cancel', 'jobs', 'rebuild', 'stage', 'bless', 'certify'];
/** Keys about jobs: left out of the footer for a push that has none (a server without a pipeline). */
export const JOB_KEYS: ReadonlySet<KeyName> = new Set(['jobs', 'job-log', 'job-retry', 'job-cancel']);

export interface KeyContext {
  readonly me: Me | null;
  readonly push: StatusPush | null;
  readonly actions: AllowedActions | undefined;
  readonly targets: readonly StatusRequest[];
  readonly cursorReq: StatusRequest | null;
  readonly openPushes: number;
  /** The job L, R and X act on (the jobs cursor's, or the open log's); null when the push has none. */
  readonly job: StatusJob | null;
}

type Avail = { enabled: boolean; reason: string | null; ids: readonly number[] };
// Reasons come from the server and may quote what users and config named (titles, job names): made safe here, once.
const off = (reason: string): Avail => ({ enabled: false, reason: safeLine(reason), ids: [] });
const NOT_SAID = 'the server did not say whether you may (an older server?)';

/** Applies a request action to the targets: enabled when the server offers it for at least one, else the first refusal. */
function perRequest(ctx: KeyContext, pick: (r: StatusRequest) => RequestActionName): Avail {
  if (!ctx.me) return off('still signing in');
  if (!ctx.targets.length) return off('no request under the cursor');
  const reasons = ctx.targets.map((r) => {
    const a = ctx.actions?.requests[r.id]?.[pick(r)];
    return a === undefined ? (ctx.actions ? `#${r.id} is in no push and no push is accepting` : NOT_SAID) : a.ok ? null : a.reason;
  });
  const ids = ctx.targets.filter((_, i) => reasons[i] === null).map((r) => r.id);
  return ids.length ? { enabled: true, reason: null, ids } : off(reasons.find((x) => x !== null) ?? 'not possible');
}

/** A push action on the push shown. */
function pushAction(ctx: KeyContext, name: PushActionName, absent: string): Avail {
  if (!ctx.me) return off('still signing in');
  if (!ctx.push) return off('no open push');
  const a = ctx.actions?.pushes[ctx.push.id]?.[name];
  if (a === undefined) return off(ctx.actions ? absent : NOT_SAID);
  return a.ok ? { enabled: true, reason: null, ids: [] } : off(a.reason);
}

/**
 * Bless asks to force when the only refusal is unverified requests (the confirm names them); an open
 * checklist item still holds it back, as decide would once they are verified.
 */
function blessKey(ctx: KeyContext): Avail {
  const a = pushAction(ctx, 'bless', 'not possible');
  const refusal = ctx.push ? ctx.actions?.pushes[ctx.push.id]?.bless : undefined;
  if (a.enabled || !ctx.push || refusal?.ok !== false || refusal.code !== 'unverified-requests') return a;
  const open = openGateItems({ checklist: ctx.push.checklist ?? [] }, 'bless');
  return open.length ? off(`tick the checklist first (t): ${open.map((i) => safeLine(i.id)).join(', ')}`) : { enabled: true, reason: null, ids: [] };
}

// As state/jobs.ts: retryJob takes these states, and these accept a `cancelled` event.
const RETRYABLE = new Set(['failed', 'cancelled', 'interrupted']);
const CANCELLABLE = new Set(['queued', 'running', 'interrupted']);

/**
 * Retry and cancel of the chosen job. The server does not send job actions in board.actions yet, so
 * this checks what state/jobs.ts allows (retryJob; the cancel transitions) and that the user drives
 * the push (its pushmaster, as for rebuild); the server decides in the end and its refusal is shown.
 */
function jobAction(ctx: KeyContext, allowed: ReadonlySet<string>, verb: string, states: string): Avail {
  if (!ctx.me) return off('still signing in');
  const j = ctx.job;
  if (!j) return off(ctx.push ? `push #${ctx.push.id} has no jobs` : 'no open push');
  if (!allowed.has(j.state)) return off(`job ${safeLine(j.id)} (${safeLine(j.name)}) is ${safeLine(String(j.state))}: only a ${states} job is ${verb}`);
  if (ctx.push && ctx.push.pushmaster !== ctx.me.name) return off(`${safeLine(ctx.me.name)} is not the pushmaster of push ${ctx.push.id} (${safeLine(ctx.push.pushmaster)} is)`);
  return { enabled: true, reason: null, ids: [] };
}

/** R: as jobAction, and not on a run of a culprit search, which the server refuses (bisect-run): it re-runs candidates itself. */
function retryKey(ctx: KeyContext): Avail {
  const j = ctx.job;
  if (j?.kind === 'bisect' && ctx.me) {
    const search = ctx.push?.bisection;
    if (search?.state === 'running') return off(`job ${safeLine(j.id)} is a run of the culprit search, which runs its candidates again itself (X on job ${safeLine(search.job)} stops it)`);
    return off(`job ${safeLine(j.id)} was a run of a culprit search that ended: its result gates nothing; R on the deploy branch's failed build job runs it again`);
  }
  return jobAction(ctx, RETRYABLE, 'retried', 'failed, cancelled or interrupted');
}

export function keyStates(ctx: KeyContext): Record<KeyName, KeyState> {
  const always: Avail = { enabled: true, reason: null, ids: [] };
  const onCursor: Avail = ctx.cursorReq ? { ...always, ids: [ctx.cursorReq.id] } : off('no request under the cursor');
  const p = ctx.push;
  const s: Record<KeyName, Avail> = {
    move: always,
    select: onCursor,
    detail: onCursor,
    filter: always,
    accept: p ? perRequest(ctx, () => 'accept') : off('no open push'),
    remove: p ? perRequest(ctx, () => 'remove') : off('no open push'),
    rebuild: pushAction(ctx, 'rebuild', 'not possible'),
    stage: pushAction(ctx, 'stage', 'not possible'),
    bless: blessKey(ctx),
    certify: pushAction(ctx, 'certify', 'not possible'),
    checklist: pushAction(ctx, 'tick', `push #${p?.id ?? '-'} has no checklist`),
    discard: pushAction(ctx, 'discard', 'not possible'),
    message: pushAction(ctx, 'message', 'not possible'),
    pickme: perRequest(ctx, () => 'pickme'),
    unpickme: perRequest(ctx, () => 'unpickme'),
    verify: perRequest(ctx, () => 'verify'),
    delay: perRequest(ctx, (r) => (r.state === 'delayed' ? 'undelay' : 'delay')),
    comment: ctx.cursorReq ? perRequest({ ...ctx, targets: [ctx.cursorReq] }, () => 'comment') : onCursor,
    open: !ctx.me ? off('still signing in') : !ctx.actions ? off(NOT_SAID) : ctx.actions.openPush.ok ? always : off(ctx.actions.openPush.reason),
    jobs: !ctx.push ? off('no open push') : ctx.push.jobs?.length ? always : off(`push #${ctx.push.id} has no jobs yet`),
    'job-log': ctx.job ? always : off(ctx.push ? `push #${ctx.push.id} has no jobs yet` : 'no open push'),
    'job-retry': retryKey(ctx),
    'job-cancel': jobAction(ctx, CANCELLABLE, 'cancelled', 'queued, running or interrupted'),
    'next-push': ctx.openPushes > 1 ? always : off('only one open push'),
    help: always,
    quit: always,
  };
  const out = {} as Record<KeyName, KeyState>;
  for (const name of KEY_NAMES) out[name] = { name, ...KEY_DEFS[name], ...s[name] };
  return out;
}
