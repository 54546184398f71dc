// The one table of legal transitions and who may make them (SPEC §2), and its lookups. decide() asks
// it for every permission and from-state check, and allowedActions() asks decide, so what a client is
// offered and what the server accepts cannot drift apart.
import { actorName, hasRole, isSystem, type Actor } from './actor.js';
import { domainError, type DomainError } from './errors.js';
import { isUnrun, logHint, unrunReason, type Job, type JobPhase } from './jobs.js';
import {
  ACTIVE_REQUEST_STATES as ACTIVE,
  FINISHED_REQUEST_STATES,
  IN_PUSH_STATES as IN_PUSH,
  MERGED_STATES,
  OPEN_PUSH_STATES as OPEN_PUSH,
  PUSH_STATES,
  jobsOfPush,
  type Push,
  type PushRequest,
  type PushState,
  type RequestState,
} from './model.js';

/** Who may act: roles are relative to the request or push the command names. */
export type Role =
  | 'anyone' // any authenticated engineer
  | 'owner'
  | 'watcher'
  | 'pushmaster' // anyone in the pushmaster group
  | 'pushmaster-of-push' // the push's own pushmaster
  | 'ci' // an external CI's account (the directory's ci role): reports job results
  | 'server'; // the server's own findings (conflicts, builds)

export interface RequestTransition {
  readonly from: readonly RequestState[];
  /** null: the state does not change (a re-push, an edit, a comment). */
  readonly to: RequestState | null;
  readonly who: readonly Role[];
}

export const REQUEST_TRANSITIONS = {
  open: { from: [], to: 'requested', who: ['anyone'] }, // or straight on to pickme when a push is accepting
  // Not once staged: what was staged, verified and blessed is what certify makes master (a new SHA would
  // rebuild the deploy branch under them). The pushmaster removes it first; withdraw likewise.
  repush: { from: ['requested', 'pickme', 'added', 'delayed'], to: null, who: ['owner'] },
  edit: { from: ACTIVE, to: null, who: ['owner', 'watcher', 'pushmaster-of-push'] },
  comment: { from: [...ACTIVE, ...FINISHED_REQUEST_STATES], to: null, who: ['anyone'] },
  withdraw: { from: ['requested', 'pickme', 'added', 'delayed'], to: 'discarded', who: ['owner'] },
  pickme: { from: ['requested'], to: 'pickme', who: ['owner', 'watcher'] },
  unpickme: { from: ['pickme'], to: 'requested', who: ['owner', 'watcher'] },
  accept: { from: ['pickme'], to: 'added', who: ['pushmaster-of-push'] },
  remove: { from: IN_PUSH, to: 'requested', who: ['pushmaster-of-push'] },
  stage: { from: ['added'], to: 'staged', who: ['pushmaster-of-push'] },
  verify: { from: ['staged'], to: 'verified', who: ['owner', 'watcher', 'pushmaster-of-push'] },
  bless: { from: ['staged', 'verified'], to: 'blessed', who: ['pushmaster-of-push'] },
  certify: { from: ['blessed'], to: 'live', who: ['pushmaster-of-push'] }, // the others go back to requested
  returnFromPush: { from: IN_PUSH, to: 'requested', who: ['pushmaster-of-push'] }, // the push is discarded
  delay: { from: ['requested', 'pickme'], to: 'delayed', who: ['owner', 'pushmaster-of-push'] },
  undelay: { from: ['delayed'], to: 'requested', who: ['owner'] },
  discard: { from: ['requested', 'delayed'], to: 'discarded', who: ['owner'] },
  recordConflicts: { from: ACTIVE, to: null, who: ['server'] },
  drop: { from: MERGED_STATES, to: 'pickme', who: ['server'] }, // no longer merges at rebuild
} as const satisfies Record<string, RequestTransition>;

export type RequestAction = keyof typeof REQUEST_TRANSITIONS;

export interface PushTransition {
  readonly from: readonly PushState[];
  readonly to: PushState | null;
  readonly who: readonly Role[];
}

export const PUSH_TRANSITIONS = {
  open: { from: [], to: 'accepting', who: ['pushmaster'] },
  accept: { from: ['accepting'], to: null, who: ['pushmaster-of-push'] },
  remove: { from: OPEN_PUSH, to: null, who: ['pushmaster-of-push'] },
  rebuild: { from: OPEN_PUSH, to: null, who: ['pushmaster-of-push'] },
  stage: { from: ['accepting', 'staged'], to: 'staged', who: ['pushmaster-of-push'] },
  bless: { from: ['staged'], to: 'blessed', who: ['pushmaster-of-push'] },
  certify: { from: ['blessed'], to: 'live', who: ['pushmaster-of-push'] },
  discard: { from: OPEN_PUSH, to: 'discarded', who: ['pushmaster-of-push'] },
  message: { from: OPEN_PUSH, to: null, who: ['pushmaster-of-push'] },
  pingme: { from: OPEN_PUSH, to: null, who: ['anyone'] },
  takeOver: { from: OPEN_PUSH, to: null, who: ['pushmaster'] },
  tick: { from: OPEN_PUSH, to: null, who: ['pushmaster-of-push'] },
  recordBuild: { from: OPEN_PUSH, to: null, who: ['server'] },
  // Pipeline jobs: a runner's report may land after the push moved on (certified, discarded).
  recordJob: { from: PUSH_STATES, to: null, who: ['server'] },
  retryJob: { from: OPEN_PUSH, to: null, who: ['pushmaster-of-push'] },
  // Bisection candidates the server built for a push's running search (issue 16).
  testBisect: { from: OPEN_PUSH, to: null, who: ['server'] },
  cancelJob: { from: OPEN_PUSH, to: null, who: ['pushmaster-of-push'] },
  // An external CI's result: like a runner's report, it may land after the push moved on.
  reportJob: { from: PUSH_STATES, to: null, who: ['ci'] },
} as const satisfies Record<string, PushTransition>;

export type PushAction = keyof typeof PUSH_TRANSITIONS;

/** What concerns the repository rather than a request or a push. */
export const REPOSITORY_TRANSITIONS = {
  followUpstream: { who: ['server'] },
} as const satisfies Record<string, { readonly who: readonly Role[] }>;

/** Whether `actor` holds `role` for this request and push. An admin counts as every push's pushmaster. */
export function holdsRole(role: Role, actor: Actor, req: PushRequest | undefined, push: Push | undefined): boolean {
  switch (role) {
    case 'anyone':
      return true;
    case 'owner':
      return actor.kind === 'user' && req?.user === actor.name;
    case 'watcher':
      return actor.kind === 'user' && (req?.watchers.includes(actor.name) ?? false);
    case 'pushmaster':
      return hasRole(actor, 'pushmaster') || hasRole(actor, 'admin');
    case 'pushmaster-of-push':
      return actor.kind === 'user' && push !== undefined && (push.pushmaster === actor.name || hasRole(actor, 'admin'));
    case 'ci':
      return hasRole(actor, 'ci');
    case 'server':
      return isSystem(actor);
  }
}

/** The refusal for an actor who holds none of `roles`; `what` completes "cannot …". */
function refusalFor(roles: readonly Role[], who: Actor, what: string, push: Push | undefined): DomainError {
  const name = actorName(who);
  if (roles.length === 1 && roles[0] === 'ci') return domainError('not-ci', `${name} does not have the ci role and cannot ${what} (the directory grants it: ci: true for a local user, auth.ldap.ciGroup)`, { actor: name });
  if (roles.length === 1 && roles[0] === 'server') return domainError('not-pushmaster', `only the server may ${what}`, { actor: name });
  if (roles.includes('pushmaster-of-push') && !roles.includes('owner'))
    return domainError('not-pushmaster-of-push', `${name} is not the pushmaster of push ${push?.id ?? '?'} (${push?.pushmaster ?? 'nobody'} is) and cannot ${what}`, { actor: name, push: push?.id, pushmaster: push?.pushmaster });
  if (roles.includes('pushmaster') && roles.length === 1)
    return domainError('not-pushmaster', `${name} is not in the pushmaster group and cannot ${what}`, { actor: name });
  if (roles.includes('watcher'))
    return domainError('not-owner-or-watcher', `${name} is neither the owner nor a watcher and cannot ${what}`, { actor: name });
  return domainError('not-owner', `${name} is not the owner and cannot ${what}`, { actor: name });
}

/** The table's role check alone, for actions with no subject state (open a push, record findings). */
export function checkWho(t: { readonly who: readonly Role[] }, actor: Actor, what: string, req?: PushRequest, push?: Push): DomainError | null {
  return t.who.some((r) => holdsRole(r, actor, req, push)) ? null : refusalFor(t.who, actor, what, push);
}

/** A request action: the role (the system's own work is not asked), then the from-state. */
export function checkRequest(action: RequestAction, actor: Actor, req: PushRequest, push: Push | undefined, what: string): DomainError | null {
  const t: RequestTransition = REQUEST_TRANSITIONS[action];
  if (!isSystem(actor) && !t.who.some((r) => holdsRole(r, actor, req, push))) return refusalFor(t.who, actor, what, push);
  if (!t.from.includes(req.state))
    return domainError('illegal-transition', `request ${req.id} is ${req.state}; cannot ${what} (allowed from: ${t.from.join(', ')})`, { request: req.id, state: req.state, action });
  return null;
}

/** A push action: the role (the system's own work is not asked), then the from-state. */
export function checkPush(action: PushAction, actor: Actor, push: Push, what: string): DomainError | null {
  const t: PushTransition = PUSH_TRANSITIONS[action];
  if (!isSystem(actor) && !t.who.some((r) => holdsRole(r, actor, undefined, push))) return refusalFor(t.who, actor, what, push);
  if (!t.from.includes(push.state))
    return domainError('illegal-transition', `push ${push.id} is ${push.state}; cannot ${what} (allowed from: ${t.from.join(', ')})`, { push: push.id, state: push.state, action });
  return null;
}

/** Whether a request in `state` may take part in `action` (an effect of another command, e.g. certify). */
export const fromState = (action: RequestAction, state: RequestState): boolean => (REQUEST_TRANSITIONS[action].from as readonly RequestState[]).includes(state);

/**
 * Job gates (SPEC §6): the phases whose jobs on the push's current deploy SHA must have passed before
 * a step. `certify` jobs never gate; bless also waits for the stage deploy.
 */
export const JOB_GATES: Readonly<Partial<Record<PushAction, readonly JobPhase[]>>> = {
  stage: ['build'],
  bless: ['build', 'stage'],
};

/** The jobs that hold `step` back: per gating phase and name, the newest job on the current deploy SHA, unless it passed. */
export function redGateJobs(push: Push, step: PushAction): Job[] {
  const phases = JOB_GATES[step];
  if (!phases || push.deploySha === null) return [];
  const newest = new Map<string, Job>();
  for (const j of jobsOfPush(push)) if (phases.includes(j.on) && j.sha === push.deploySha) newest.set(`${j.on}/${j.name}`, j);
  return [...newest.values()].filter((j) => j.state !== 'passed');
}

/** The refusal of a step held back by red jobs: each job named with its state and how to read its log. */
export function jobGateRefusal(push: Push, step: PushAction, red: readonly Job[]): DomainError {
  // A job the runner could not run has no log to read: its reason is what there is (fix it, then retry).
  const what = red.map((j) => (isUnrun(j) ? `${j.on} job ${j.name} (job ${j.id}) could not run (${unrunReason(j)})` : `${j.on} job ${j.name} (job ${j.id}) is ${j.state}${j.reason && j.state !== 'queued' && j.state !== 'running' ? ` (${j.reason})` : ''}: ${logHint(j, j.id)}`)).join('; ');
  const waiting = red.every((j) => j.state === 'queued' || j.state === 'running');
  // A running culprit search (it moves to every new deploy branch) is the answer to the red build: a
  // retry beside it only takes a runner slot, and its result changes nothing the search does not know.
  const search = push.bisection?.state === 'running' ? push.bisection : null;
  const next = waiting
    ? 'wait for it to pass'
    : search
      ? `a culprit search runs (${search.name}): wait for it to remove the request that breaks it (pushmanager status; pushmanager job list --push ${push.id})`
      : `retry with pushmanager job retry ${red.find((j) => j.state !== 'queued' && j.state !== 'running')!.id}`;
  return domainError(
    'jobs-not-green',
    `push ${push.id} cannot ${step === 'stage' ? 'be staged' : 'be blessed'} yet: ${what}; ${next}, or ${step} with --force --reason TEXT`,
    { push: push.id, step, jobs: red.map((j) => ({ id: j.id, name: j.name, state: j.state })) },
  );
}
