// decide(board, command, ctx) → events | DomainError. Pure: the clock and the actor come in ctx.
import { actorName, isSystem, type Actor } from './actor.js';
import type { Command, CommandOf, RequestFields } from './commands.js';
import { chargedConflicts, mergePositions } from './conflict-blame.js';
import { domainError, type DomainError } from './errors.js';
import { activeRequestFor } from './intake.js';
import type { DomainEvent, ForcedGate } from './events.js';
import { applyJobEvent, isPending, isRed, JOB_TAIL_BYTES, newJob, retryJob, type JobEvent } from './jobs.js';
import { candidateOf, describeCandidate, findCandidate, pendingRuns } from './bisection.js';
import { deployingRefusal } from './deploy-jobs.js';
import { retryRefusal, secondReportRefusal } from './job-queue.js';
import {
  findJob,
  nextJobId,
  CONFLICT_TAGS,
  accepting,
  MERGED_STATES,
  isActiveRequest,
  buildIsCurrent,
  requestsInPush,
  requestsOf,
  wantedMerges,
  type Board,
  type Conflict,
  type Push,
  type PushId,
  type PushRequest,
  type RequestId,
  type UserName,
} from './model.js';
import { checkPush, checkRequest, checkWho, fromState, jobGateRefusal, PUSH_TRANSITIONS, redGateJobs, REPOSITORY_TRANSITIONS, REQUEST_TRANSITIONS, type PushAction } from './transitions.js';
import { openGateItems } from './checklist.js';

export { SYSTEM_NAME, actorName, hasRole, isSystem, systemActor, userActor, type Actor, type SystemCause, type UserActor, type UserRole } from './actor.js';

export interface DecideContext {
  readonly actor: Actor;
  readonly now: string;
  /**
   * Set by the server when the git work of a certify is done: the tag made, master's new SHA, and the
   * deploy branch tip that work started from (a rebuild meanwhile makes the certification stale).
   */
  readonly certification?: { readonly tag: string; readonly masterSha: string; readonly deploySha?: string };
  /** Default true (SPEC: one accepting push at a time per repository). */
  readonly singleAcceptingPush?: boolean;
  /**
   * The user names the directory knows, among those the command names as watchers. The directory may
   * be LDAP, so the server looks them up before deciding (see Dispatcher); decide only reads the
   * answer. Absent: watchers are not checked (pure tests and tools that have no directory).
   */
  readonly knownUsers?: ReadonlySet<UserName>;
}

type Result = DomainEvent[] | DomainError;

const getRequest = (b: Board, id: RequestId): PushRequest | DomainError =>
  b.requests[id] ?? domainError('unknown-request', `no request ${id}`, { request: id });
const getPush = (b: Board, id: PushId): Push | DomainError =>
  b.pushes[id] ?? domainError('unknown-push', `no push ${id}`, { push: id });
/** How a pickme of one push becomes one of `to`: unpicked first (by its owner or a watcher), then picked there. */
const movePickme = (req: PushRequest, to: number): string =>
  `to move it, its owner (${req.user}) or a watcher runs pushmanager request unpickme ${req.id}, then pushmanager request pickme ${req.id} --push ${to}`;
const err = (x: unknown): x is DomainError => (x as DomainError)?.kind === 'domain-error';

const activeByRef = activeRequestFor;

/**
 * Whose request an OpenRequest makes: the pusher's own, or, when the system adopts a ref nobody
 * opened (reconcile), the owner it names, marked as inferred. Only the system opens for someone else.
 */
function ownerOf(c: CommandOf<'OpenRequest'>, actor: Actor): { readonly name: UserName; readonly inferredFrom?: 'commit-author' } | DomainError {
  if (actor.kind === 'user')
    return c.owner === undefined || c.owner.name === actor.name ? { name: actor.name } : domainError('not-owner', `${actor.name} cannot open a request for ${c.owner.name}`, { actor: actor.name, field: 'owner' });
  return c.owner ?? domainError('invalid-field', 'the server opens a request only for a named owner', { field: 'owner' });
}

/** User tags never carry the server's conflict tags; the current conflict tag is kept. */
function mergeUserTags(current: readonly string[], userTags: readonly string[]): string[] {
  const conflictTag = current.filter((t) => (CONFLICT_TAGS as readonly string[]).includes(t));
  const own = userTags.filter((t) => !(CONFLICT_TAGS as readonly string[]).includes(t));
  return [...new Set([...own, ...conflictTag])];
}

/**
 * The one check that watchers are users, for every door (push options, `request edit`, the API): a
 * name the directory does not know is refused, naming it. Names already on the request are not asked
 * again, so a watcher who left the directory does not block an unrelated edit.
 */
function unknownWatcher(current: readonly UserName[], f: RequestFields, ctx: DecideContext): DomainError | null {
  if (f.watchers === undefined || ctx.knownUsers === undefined) return null;
  const unknown = f.watchers.find((u) => !current.includes(u) && !ctx.knownUsers!.has(u));
  return unknown === undefined ? null : domainError('invalid-field', `"watchers": no user "${unknown}"`, { field: 'watchers', user: unknown });
}

function fieldChanges(req: PushRequest, f: RequestFields) {
  const changes: Record<string, unknown> = {};
  if (f.title !== undefined && f.title !== req.title) changes.title = f.title;
  if (f.description !== undefined && f.description !== req.description) changes.description = f.description;
  if (f.tags !== undefined) {
    const tags = mergeUserTags(req.tags, f.tags);
    if (tags.join(',') !== req.tags.join(',')) changes.tags = tags;
  }
  if (f.watchers !== undefined && f.watchers.join(',') !== req.watchers.join(',')) changes.watchers = [...f.watchers];
  if (f.review !== undefined && f.review !== req.review) changes.review = f.review;
  if (f.ticket !== undefined && f.ticket !== req.ticket) changes.ticket = f.ticket;
  return changes;
}

export function decide(board: Board, cmd: Command, ctx: DecideContext): Result {
  const handler = HANDLERS[cmd.type] as (b: Board, c: Command, x: DecideContext) => Result;
  return handler(board, cmd, ctx);
}

type Handlers = { [K in Command['type']]: (b: Board, c: CommandOf<K>, x: DecideContext) => Result };

/** Every event names its actor; the system's also say why it acted (a user's never carry a cause). */
const ev = <T extends DomainEvent['type']>(ctx: DecideContext, e: Omit<Extract<DomainEvent, { type: T }>, 'at' | 'actor' | 'cause'> & { type: T }): DomainEvent =>
  ({ at: ctx.now, actor: actorName(ctx.actor), ...(isSystem(ctx.actor) && { cause: ctx.actor.cause }), ...e }) as unknown as DomainEvent;

const HANDLERS: Handlers = {
  OpenRequest(b, c, ctx) {
    const owner = ownerOf(c, ctx.actor);
    if (err(owner)) return owner;
    const existing = activeByRef(b, c.ref);
    if (existing)
      return existing.user === owner.name
        ? domainError('invalid-field', `${c.ref} is already request ${existing.id}; push again to update it`, { ref: c.ref })
        : domainError('ref-owned-by-other', `${c.ref} belongs to ${existing.user}'s request ${existing.id}; pick another ref name`, { ref: c.ref, owner: existing.user, request: existing.id });
    // git keeps refs as paths: refs/pushreq/a and refs/pushreq/a/b cannot both exist, and the commit's
    // ref update would fail with git's own "cannot lock ref". Said here, naming the request in the way.
    const clash = requestsOf(b).find((r) => isActiveRequest(r) && (c.ref.startsWith(`${r.ref}/`) || r.ref.startsWith(`${c.ref}/`)));
    if (clash)
      return domainError('ref-name-clash', `${c.ref} cannot sit beside ${clash.ref} (request ${clash.id} by ${clash.user}): git keeps refs as paths, so one name cannot be a folder of another; pick another ref name`, { ref: c.ref, request: clash.id, clashesWith: clash.ref });
    const shaUser = requestsOf(b).find((r) => r.sha === c.sha && isActiveRequest(r));
    if (shaUser)
      return domainError('sha-in-use', `commit ${c.sha.slice(0, 12)} is already request ${shaUser.id} (${shaUser.ref}); push a new commit or update that request`, { sha: c.sha, request: shaUser.id });
    const badWatcher = unknownWatcher([], c, ctx);
    if (badWatcher) return badWatcher;
    const id = b.nextRequestId as RequestId;
    const request: PushRequest = {
      id,
      user: owner.name,
      ...(owner.inferredFrom && { ownerInferredFrom: owner.inferredFrom }),
      title: c.title?.trim() || c.ref.replace(/^refs\/pushreq\//, ''),
      description: c.description ?? '',
      ref: c.ref,
      sha: c.sha,
      state: REQUEST_TRANSITIONS.open.to,
      push: null,
      tags: mergeUserTags([], c.tags ?? []),
      conflicts: [],
      review: c.review ?? null,
      ticket: c.ticket ?? null,
      watchers: [...(c.watchers ?? [])],
      comments: [],
      autoPickme: c.autoPickme,
      createdAt: ctx.now,
      updatedAt: ctx.now,
      pickedAt: null,
      acceptedAt: null,
      reason: null,
    };
    const events: DomainEvent[] = [ev(ctx, { type: 'RequestOpened', request })];
    const open = accepting(b);
    if (open && c.autoPickme && offeredTo(open, request)) events.push(ev(ctx, { type: 'RequestPicked', request: id, push: open.id }));
    return events;
  },

  UpdateRequest(b, c, ctx) {
    const req = activeByRef(b, c.ref);
    if (!req) return domainError('ref-not-found', `no active request for ${c.ref}`, { ref: c.ref });
    const push = req.push !== null ? b.pushes[req.push] : undefined;
    const refusal = checkRequest('repush', ctx.actor, req, push, `update ${c.ref}`);
    if (refusal) {
      if (refusal.code === 'not-owner') return domainError('ref-owned-by-other', `${c.ref} belongs to ${req.user}'s request ${req.id}; pick another ref name`, { ref: c.ref, owner: req.user, request: req.id });
      if (refusal.code === 'illegal-transition' && push)
        return domainError('illegal-transition', `request ${req.id} is ${req.state} in push ${push.id}: its commit is the one staged there and can no longer change; ask ${push.pushmaster} to remove it (pushmanager push remove ${push.id} ${req.id} --reason …), then push again`, { ...refusal.data });
      return refusal;
    }
    const badWatcher = unknownWatcher(req.watchers, c, ctx);
    if (badWatcher) return badWatcher;
    const events: DomainEvent[] = [];
    if (c.sha !== req.sha) events.push(ev(ctx, { type: 'RequestUpdated', request: req.id, sha: c.sha, previousSha: req.sha, forced: c.forced }));
    const changes = fieldChanges(req, c);
    if (Object.keys(changes).length) events.push(ev(ctx, { type: 'RequestEdited', request: req.id, changes }));
    return events.length ? events : domainError('nothing-to-do', `request ${req.id} is already at ${c.sha.slice(0, 12)}`, { request: req.id });
  },

  WithdrawRequest(b, c, ctx) {
    const req = activeByRef(b, c.ref);
    if (!req) return domainError('ref-not-found', `no active request for ${c.ref}`, { ref: c.ref });
    const push = req.push !== null ? b.pushes[req.push] : undefined;
    const refusal = checkRequest('withdraw', ctx.actor, req, push, `withdraw ${c.ref}`);
    if (refusal) return refusal.code === 'not-owner' ? domainError('ref-owned-by-other', `${c.ref} belongs to ${req.user}'s request ${req.id}`, { ref: c.ref, owner: req.user, request: req.id }) : refusal;
    return [ev(ctx, { type: 'RequestWithdrawn', request: req.id, reason: c.reason ?? `withdrawn by ${actorName(ctx.actor)} (ref deleted)`, fromState: req.state })];
  },

  PickmeRequest(b, c, ctx) {
    const req = getRequest(b, c.request);
    if (err(req)) return req;
    const target = c.push !== undefined ? getPush(b, c.push) : accepting(b) ?? domainError('push-not-accepting', 'no push is accepting pickmes; wait for the pushmaster to open one', {});
    if (err(target)) return target;
    if (target.state !== 'accepting') return domainError('push-not-accepting', `push ${target.id} is ${target.state}, not accepting pickmes`, { push: target.id });
    const refusal = checkRequest('pickme', ctx.actor, req, target, `pick request ${req.id} into push ${target.id}`);
    // A pickme of another push moves in two steps: say them, not only the state it may be picked from.
    if (refusal?.code === 'illegal-transition' && req.state === 'pickme' && req.push !== null && req.push !== target.id)
      return domainError('illegal-transition', `request ${req.id} is a pickme of push ${req.push}, not of push ${target.id}; ${movePickme(req, target.id)}`, { request: req.id, state: req.state, action: 'pickme', push: req.push });
    if (refusal) return refusal;
    return [ev(ctx, { type: 'RequestPicked', request: req.id, push: target.id })];
  },

  UnpickmeRequest(b, c, ctx) {
    const req = getRequest(b, c.request);
    if (err(req)) return req;
    const refusal = checkRequest('unpickme', ctx.actor, req, undefined, `unpick request ${req.id}`);
    if (refusal) return refusal;
    return [ev(ctx, { type: 'RequestUnpicked', request: req.id, push: req.push as PushId })];
  },

  VerifyRequest(b, c, ctx) {
    const req = getRequest(b, c.request);
    if (err(req)) return req;
    const push = req.push !== null ? b.pushes[req.push] : undefined;
    const refusal = checkRequest('verify', ctx.actor, req, push, `verify request ${req.id}`);
    if (refusal) return refusal;
    return withAllVerified(b, push!, [req.id], ctx);
  },

  VerifyPush(b, c, ctx) {
    const push = getPush(b, c.push);
    if (err(push)) return push;
    const mine = requestsInPush(b, push.id).filter(
      (r) => checkRequest('verify', ctx.actor, r, push, `verify request ${r.id}`) === null,
    );
    if (!mine.length) return domainError('nothing-to-do', `push ${push.id} has no staged request that ${actorName(ctx.actor)} may verify`, { push: push.id });
    return withAllVerified(b, push, mine.map((r) => r.id), ctx);
  },

  DelayRequest(b, c, ctx) {
    const req = getRequest(b, c.request);
    if (err(req)) return req;
    const push = req.push !== null ? b.pushes[req.push] : undefined;
    const refusal = checkRequest('delay', ctx.actor, req, push, `delay request ${req.id}`);
    if (refusal) return refusal;
    return [ev(ctx, { type: 'RequestDelayed', request: req.id, reason: c.reason ?? '' })];
  },

  UndelayRequest(b, c, ctx) {
    const req = getRequest(b, c.request);
    if (err(req)) return req;
    const refusal = checkRequest('undelay', ctx.actor, req, undefined, `undelay request ${req.id}`);
    if (refusal) return refusal;
    return [ev(ctx, { type: 'RequestUndelayed', request: req.id })];
  },

  DiscardRequest(b, c, ctx) {
    const req = getRequest(b, c.request);
    if (err(req)) return req;
    const refusal = checkRequest('discard', ctx.actor, req, undefined, `discard request ${req.id}`);
    if (refusal) return refusal;
    return [ev(ctx, { type: 'RequestDiscarded', request: req.id, reason: c.reason ?? `discarded by ${actorName(ctx.actor)}` })];
  },

  CommentRequest(b, c, ctx) {
    const req = getRequest(b, c.request);
    if (err(req)) return req;
    const refusal = checkRequest('comment', ctx.actor, req, req.push !== null ? b.pushes[req.push] : undefined, `comment on request ${req.id}`);
    if (refusal) return refusal;
    if (!c.text.trim()) return domainError('invalid-field', 'comment text is empty', { field: 'text' });
    return [ev(ctx, { type: 'CommentAdded', request: req.id, comment: { at: ctx.now, user: actorName(ctx.actor), text: c.text } })];
  },

  EditRequest(b, c, ctx) {
    const req = getRequest(b, c.request);
    if (err(req)) return req;
    const push = req.push !== null ? b.pushes[req.push] : undefined;
    const refusal = checkRequest('edit', ctx.actor, req, push, `edit request ${req.id}`) ?? unknownWatcher(req.watchers, c, ctx);
    if (refusal) return refusal;
    const changes = fieldChanges(req, c);
    if (!Object.keys(changes).length) return domainError('nothing-to-do', `request ${req.id} already has those values`, { request: req.id });
    return [ev(ctx, { type: 'RequestEdited', request: req.id, changes })];
  },

  OpenPush(b, c, ctx) {
    const who = checkWho(PUSH_TRANSITIONS.open, ctx.actor, 'open a push');
    if (who) return who;
    const open = accepting(b);
    if (open && ctx.singleAcceptingPush !== false)
      return domainError('push-already-accepting', `push ${open.id} ("${open.title}", ${open.pushmaster}) is still accepting; stage or discard it first`, { push: open.id });
    if (!c.title.trim()) return domainError('invalid-field', 'push title is empty', { field: 'title' });
    const id = b.nextPushId as PushId;
    const push: Push = {
      id,
      title: c.title.trim(),
      type: c.pushType,
      state: 'accepting',
      pushmaster: actorName(ctx.actor),
      deployBranch: `refs/heads/deploy/push-${id}`,
      deploySha: null,
      baseSha: null,
      merges: [],
      stageEnv: null,
      pingme: [],
      removals: [],
      checklist: [],
      tag: null,
      createdAt: ctx.now,
      updatedAt: ctx.now,
      forced: [],
    };
    const events: DomainEvent[] = [ev(ctx, { type: 'PushOpened', push })];
    for (const r of requestsOf(b).sort((x, y) => x.id - y.id))
      if (r.state === 'requested' && r.autoPickme && offeredTo(push, r)) events.push(ev(ctx, { type: 'RequestPicked', request: r.id, push: id }));
    return events;
  },

  AcceptRequests(b, c, ctx) {
    const push = getPush(b, c.push);
    if (err(push)) return push;
    const p = checkPush('accept', ctx.actor, push, `accept into push ${push.id}`);
    if (p) return p;
    if (!c.requests.length) return domainError('invalid-field', 'name at least one request to accept', { field: 'requests' });
    const events: DomainEvent[] = [];
    for (const id of new Set(c.requests)) {
      const req = getRequest(b, id);
      if (err(req)) return req;
      if (req.push !== push.id) {
        const elsewhere = req.state === 'pickme' && req.push !== null ? `; it is a pickme of push ${req.push}: ${movePickme(req, push.id)}` : '';
        return domainError('illegal-transition', `request ${id} is not a pickme of push ${push.id}${elsewhere}`, { request: id, push: push.id });
      }
      const refusal = checkRequest('accept', ctx.actor, req, push, `accept request ${id}`);
      if (refusal) return refusal;
      events.push(ev(ctx, { type: 'RequestAccepted', request: id, push: push.id }));
    }
    return events;
  },

  RemoveRequest(b, c, ctx) {
    const push = getPush(b, c.push);
    if (err(push)) return push;
    const p = checkPush('remove', ctx.actor, push, `remove from push ${push.id}`);
    if (p) return p;
    const req = getRequest(b, c.request);
    if (err(req)) return req;
    if (req.push !== push.id) return domainError('illegal-transition', `request ${req.id} is not in push ${push.id}`, { request: req.id, push: push.id });
    const refusal = checkRequest('remove', ctx.actor, req, push, `remove request ${req.id}`);
    if (refusal) return refusal;
    if (!c.reason.trim()) return domainError('invalid-field', 'a removal needs a reason (--reason)', { field: 'reason' });
    return [ev(ctx, { type: 'RequestRemoved', request: req.id, push: push.id, reason: c.reason.trim(), fromState: req.state, toState: REQUEST_TRANSITIONS.remove.to })];
  },

  RebuildPush(b, c, ctx) {
    const push = getPush(b, c.push);
    if (err(push)) return push;
    const p = checkPush('rebuild', ctx.actor, push, `rebuild push ${push.id}`);
    // A rebuild changes no state by itself: the server's build and conflict findings are recorded after it.
    return p ?? [];
  },

  StagePush(b, c, ctx) {
    const push = getPush(b, c.push);
    if (err(push)) return push;
    const p = whileDeploying(checkPush('stage', ctx.actor, push, `stage push ${push.id}`), push);
    if (p) return p;
    if (!c.env.trim()) return domainError('invalid-field', 'name the stage environment (--env)', { field: 'env' });
    if (!buildIsCurrent(b, push)) return staleBuild(push);
    const added = requestsInPush(b, push.id).filter((r) => r.state === 'added');
    if (!added.length) return domainError('nothing-to-do', `push ${push.id} has no accepted request to stage`, { push: push.id });
    const open = openGateItems(push, 'stage');
    if (open.length) return domainError('open-checklist', `tick these first: ${open.map((i) => i.text).join('; ')}`, { push: push.id, items: open.map((i) => i.id) });
    const forced = passJobGate(push, 'stage', c.force ?? false, c.reason);
    if (err(forced)) return forced;
    return [ev(ctx, { type: 'PushStaged', push: push.id, env: c.env.trim(), requests: added.map((r) => r.id), ...(forced && { forced }) })];
  },

  BlessPush(b, c, ctx) {
    const push = getPush(b, c.push);
    if (err(push)) return push;
    const p = whileDeploying(checkPush('bless', ctx.actor, push, `bless push ${push.id}`), push);
    if (p) return p;
    if (!buildIsCurrent(b, push)) return staleBuild(push);
    const inPush = requestsInPush(b, push.id);
    const unstaged = inPush.filter((r) => r.state === 'added');
    if (unstaged.length) return domainError('illegal-transition', `requests ${unstaged.map((r) => r.id).join(', ')} are accepted but not staged; stage again first`, { push: push.id, requests: unstaged.map((r) => r.id) });
    const unverified = inPush.filter((r) => r.state === 'staged');
    if (unverified.length && !c.force)
      return domainError('unverified-requests', `requests ${unverified.map((r) => `${r.id} (${r.user})`).join(', ')} are not verified on stage; wait, remove them, or bless with --force`, { push: push.id, requests: unverified.map((r) => r.id) });
    const open = openGateItems(push, 'bless');
    if (open.length && !c.force) return domainError('open-checklist', `tick these first: ${open.map((i) => i.text).join('; ')}`, { push: push.id, items: open.map((i) => i.id) });
    if (!inPush.some((r) => r.state === 'staged' || r.state === 'verified')) return domainError('nothing-to-do', `push ${push.id} has nothing staged`, { push: push.id });
    const gate = passJobGate(push, 'bless', c.force, c.reason);
    if (err(gate)) return gate;
    return [ev(ctx, { type: 'PushBlessed', push: push.id, forced: c.force && (unverified.length > 0 || open.length > 0 || gate !== null), unverified: unverified.map((r) => r.id), ...(gate ?? (c.force && c.reason?.trim() ? { reason: c.reason.trim() } : {})) })];
  },

  CertifyPush(b, c, ctx) {
    const push = getPush(b, c.push);
    if (err(push)) return push;
    const p = checkPush('certify', ctx.actor, push, `certify push ${push.id}`);
    if (p) return p;
    const open = openGateItems(push, 'certify');
    if (open.length && !c.force) return domainError('open-checklist', `tick these first: ${open.map((i) => i.text).join('; ')} (or certify with --force)`, { push: push.id, items: open.map((i) => i.id) });
    if (!buildIsCurrent(b, push)) return staleBuild(push);
    // Master and the tag were made from the deploy branch as it was when certify started: if it was rebuilt since (a re-push), they are stale.
    if (ctx.certification?.deploySha !== undefined && ctx.certification.deploySha !== push.deploySha) return staleBuild(push);
    const inPush = requestsInPush(b, push.id);
    const cert = ctx.certification ?? { tag: '', masterSha: '' };
    return [
      ev(ctx, {
        type: 'PushCertified',
        push: push.id,
        tag: cert.tag,
        masterSha: cert.masterSha,
        requests: inPush.filter((r) => fromState('certify', r.state)).map((r) => r.id),
        returned: inPush.filter((r) => !fromState('certify', r.state)).map((r) => r.id),
      }),
    ];
  },

  DiscardPush(b, c, ctx) {
    const push = getPush(b, c.push);
    if (err(push)) return push;
    const p = checkPush('discard', ctx.actor, push, `discard push ${push.id}`);
    if (p) return p;
    return [ev(ctx, { type: 'PushDiscarded', push: push.id, reason: c.reason ?? '', returned: requestsInPush(b, push.id).filter((r) => fromState('returnFromPush', r.state)).map((r) => r.id) })];
  },

  MessagePushees(b, c, ctx) {
    const push = getPush(b, c.push);
    if (err(push)) return push;
    const p = checkPush('message', ctx.actor, push, `message the pushees of push ${push.id}`);
    if (p) return p;
    if (!c.text.trim()) return domainError('invalid-field', 'message text is empty', { field: 'text' });
    return [ev(ctx, { type: 'PushMessageSent', push: push.id, text: c.text, state: c.state ?? null })];
  },

  PingmePush(b, c, ctx) {
    const push = getPush(b, c.push);
    if (err(push)) return push;
    const p = checkPush('pingme', ctx.actor, push, `be pinged for push ${push.id}`);
    if (p) return p;
    if (push.pingme.includes(actorName(ctx.actor)) === c.on) return domainError('nothing-to-do', `${actorName(ctx.actor)} is already ${c.on ? 'on' : 'off'} the ping list of push ${push.id}`, { push: push.id });
    return [ev(ctx, { type: 'PingmeChanged', push: push.id, user: actorName(ctx.actor), on: c.on })];
  },

  TakeOverPush(b, c, ctx) {
    const push = getPush(b, c.push);
    if (err(push)) return push;
    const p = checkPush('takeOver', ctx.actor, push, `take over push ${push.id}`);
    if (p) return p;
    if (push.pushmaster === actorName(ctx.actor)) return domainError('nothing-to-do', `${actorName(ctx.actor)} already drives push ${push.id}`, { push: push.id });
    return [ev(ctx, { type: 'PushTakenOver', push: push.id, from: push.pushmaster, to: actorName(ctx.actor) })];
  },

  TickChecklist(b, c, ctx) {
    const push = getPush(b, c.push);
    if (err(push)) return push;
    const p = checkPush('tick', ctx.actor, push, `tick the checklist of push ${push.id}`);
    if (p) return p;
    const item = push.checklist.find((i) => i.id === c.item);
    if (!item) return domainError('invalid-field', `push ${push.id} has no checklist item ${c.item}`, { field: 'item', item: c.item });
    if (item.done === c.done) return domainError('nothing-to-do', `item ${c.item} is already ${c.done ? 'done' : 'open'}`, { item: c.item });
    return [ev(ctx, { type: 'ChecklistTicked', push: push.id, item: c.item, done: c.done })];
  },

  FollowUpstream(_b, c, ctx) {
    const who = checkWho(REPOSITORY_TRANSITIONS.followUpstream, ctx.actor, 'move master to upstream');
    if (who) return who;
    if (c.from === c.to) return [];
    return [ev(ctx, { type: 'MasterFollowedUpstream', from: c.from, to: c.to })];
  },

  RecordConflicts(b, c, ctx) {
    const who = checkWho(REQUEST_TRANSITIONS.recordConflicts, ctx.actor, 'record conflict checks');
    if (who) return who;
    const events: DomainEvent[] = [];
    // The check ran on an earlier board: who is in the deploy branch now decides who a pair conflict is charged to.
    const positions = new Map<PushId, ReadonlyMap<RequestId, number>>();
    for (const r of c.results) {
      const req = b.requests[r.request];
      if (!req || req.sha !== r.sha || !isActiveRequest(req)) continue; // stale finding: the request moved on
      const conflicts = recordedConflicts(b, req, r.conflicts, positions);
      const same = JSON.stringify(req.conflicts) === JSON.stringify(conflicts) && req.tags.some((t) => (CONFLICT_TAGS as readonly string[]).includes(t));
      if (!same) events.push(ev(ctx, { type: 'ConflictsFound', request: req.id, sha: r.sha, conflicts }));
    }
    return events;
  },

  RecordJob(b, c, ctx) {
    const who = checkWho(PUSH_TRANSITIONS.recordJob, ctx.actor, 'record jobs');
    if (who) return who;
    const found = findJob(b, c.job);
    if (!found) return unknownJob(c.job);
    const next = applyJobEvent(found.job, c.change);
    if (err(next)) return next;
    const e = jobChangeEvent(found.push.id, found.job, c.change);
    return err(e) ? e : [ev(ctx, e as Unstamped<Extract<JobChange, { type: 'JobStarted' }>>)];
  },

  RetryJob(b, c, ctx) {
    const found = findJob(b, c.job);
    if (!found) return unknownJob(c.job);
    const p = checkPush('retryJob', ctx.actor, found.push, `retry job ${c.job}`);
    if (p) return p;
    const refused = retryRefusal(found.push, found.job);
    if (refused) return refused;
    const job = retryJob(found.job, nextJobId(found.push), ctx.now, found.push.jobs ?? []);
    if (err(job)) return job;
    return [ev(ctx, { type: 'JobQueued', push: found.push.id, job })];
  },

  CancelJob(b, c, ctx) {
    const found = findJob(b, c.job);
    if (!found) return unknownJob(c.job);
    const p = checkPush('cancelJob', ctx.actor, found.push, `cancel job ${c.job}`);
    if (p) return p;
    const { job, push } = found;
    const reason = `cancelled by ${actorName(ctx.actor)}${c.reason?.trim() ? `: ${c.reason.trim()}` : ''}`;
    // Cancelling the failed job a search started from, or one of its runs, cancels the search (and its runs).
    const search = push.bisection?.state === 'running' && (push.bisection.job === job.id || (job.kind === 'bisect' && push.bisection.candidates.some((x) => x.jobs.includes(job.id)))) ? push.bisection : null;
    const pending = isPending(job.state);
    if (!pending && !search) return domainError('nothing-to-do', `job ${job.id} (${job.name}) already ${job.state}; nothing to cancel`, { job: job.id, state: job.state });
    const events: DomainEvent[] = [];
    if (pending) events.push(ev(ctx, { type: 'JobFinished', push: push.id, job: job.id, name: job.name, sha: job.sha, state: 'cancelled', reason }));
    if (search) {
      for (const j of pendingRuns(push, search)) {
        if (j.id !== job.id) events.push(ev(ctx, { type: 'JobFinished', push: push.id, job: j.id, name: j.name, sha: j.sha, state: 'cancelled', reason: `its bisection was ${reason}` }));
      }
      events.push(ev(ctx, { type: 'BisectionConcluded', push: push.id, outcome: 'cancelled', reason }));
    }
    return events;
  },

  TestBisectCandidates(b, c, ctx) {
    const who = checkWho(PUSH_TRANSITIONS.testBisect, ctx.actor, 'test bisection candidates');
    if (who) return who;
    const push = getPush(b, c.push);
    if (err(push)) return push;
    const p = checkPush('testBisect', ctx.actor, push, `bisect push ${push.id}`);
    if (p) return p;
    const search = push.bisection;
    if (!search || search.state !== 'running' || search.job !== c.bisection)
      return domainError('bisection-stale', `push ${push.id} has no running bisection started by job ${c.bisection}`, { push: push.id, job: c.bisection });
    const events: DomainEvent[] = [];
    let nextId = search.nextCandidate;
    let jobs = 0;
    const known = new Map((push.jobs ?? []).map((j) => [j.id, j]));
    for (const cand of c.candidates) {
      if (cand.base !== search.base || candidateOf(search.requests, cand.members) === null)
        return domainError('bisection-stale', `push ${push.id}'s bisection moved on (a new deploy branch); the candidates are chosen again`, { push: push.id });
      const same = findCandidate(search, cand.members, cand.base);
      if (same?.jobs.some((id) => { const j = known.get(id); return j !== undefined && isPending(j.state); })) continue;
      const id = same?.id ?? nextId++;
      const sha = same?.sha ?? cand.sha;
      // The same tree already ran the job on this push (an earlier deploy branch the candidate rebuilds
      // exactly, e.g. the push before a request came back): its results are the candidate's, no run more.
      const ran = sha === null || same ? [] : (push.jobs ?? []).filter((j) => j.on === 'build' && j.name === search.name && j.sha === sha && (j.state === 'passed' || isRed(j)));
      if (ran.length) {
        const merges = cand.merges;
        events.push(ev(ctx, { type: 'BisectCandidateTested', push: push.id, candidate: { id, members: cand.members, base: cand.base, sha, jobs: ran.map((j) => j.id), ...(merges && { merges }) } }));
        continue;
      }
      const job = { ...newJob({ id: nextJobId(push, jobs++), name: search.name, on: 'build', sha: sha ?? cand.base, push: push.id, kind: 'bisect', runner: c.runner, at: ctx.now }), candidate: describeCandidate(search.requests, cand.members) };
      const merges = same?.merges ?? cand.merges;
      events.push(ev(ctx, { type: 'BisectCandidateTested', push: push.id, candidate: { id, members: cand.members, base: cand.base, sha, jobs: [...(same?.jobs ?? []), job.id], ...(merges && { merges }) } }));
      events.push(ev(ctx, { type: 'JobQueued', push: push.id, job }));
      if (sha === null) {
        // It does not merge: its one run is red without running (the requests it holds need the ones left out).
        events.push(ev(ctx, { type: 'JobStarted', push: push.id, job: job.id }));
        events.push(ev(ctx, { type: 'JobFinished', push: push.id, job: job.id, name: job.name, sha: job.sha, state: 'failed', reason: `the candidate does not merge (conflicts in ${(cand.files ?? []).join(', ') || 'the tree'})` }));
      }
    }
    return events;
  },

  ReportJob(b, c, ctx) {
    const found = findJob(b, c.job);
    if (!found) return unknownJob(c.job);
    const p = checkPush('reportJob', ctx.actor, found.push, `report the result of job ${c.job}`);
    if (p) return p;
    const { job, push } = found;
    if (job.runner !== 'external')
      return domainError('invalid-field', `job ${job.id} (${job.name}) runs on the ${job.runner} runner, which reports its own result; only jobs of runner: external are reported`, { field: 'job', job: job.id, runner: job.runner });
    const url = c.url ? { url: c.url } : {};
    // A job takes one report: a second one (of a passed, failed or late-reported job) is refused, the first stands.
    const again = secondReportRefusal(push, job);
    if (again) return again;
    // Ended already: a late result (its SHA was replaced, or the pushmaster cancelled it) is kept and changes nothing.
    if (job.state === 'cancelled' || job.state === 'interrupted') return [ev(ctx, { type: 'JobReported', push: push.id, job: job.id, state: c.state, ...url })];
    const events: DomainEvent[] = [];
    if (job.state === 'queued') events.push(ev(ctx, { type: 'JobStarted', push: push.id, job: job.id }));
    const reason = c.state === 'failed' ? { reason: `reported failed by ${actorName(ctx.actor)}` } : {};
    events.push(ev(ctx, { type: 'JobFinished', push: push.id, job: job.id, name: job.name, sha: job.sha, state: c.state, ...reason, ...url }));
    return events;
  },

  RecordBuild(b, c, ctx) {
    const who = checkWho(PUSH_TRANSITIONS.recordBuild, ctx.actor, 'record builds');
    if (who) return who;
    const push = getPush(b, c.push);
    if (err(push)) return push;
    const dropped = new Set<number>(c.dropped.map((d) => d.request));
    const wanted = wantedMerges(b, push.id).filter((w) => !dropped.has(w.request));
    const matches = wanted.length === c.merges.length && wanted.every((w, i) => c.merges[i]!.request === w.request && c.merges[i]!.sha === w.sha);
    if (!matches) return domainError('deploy-branch-stale', `push ${push.id} changed while its deploy branch was built; building again`, { push: push.id });
    // A second build of what is already built (two rebuilds raced, or one outlived a restart) changes
    // nothing: replacing the branch with an equal one would move a staged push's deploy SHA under it.
    if (c.dropped.length === 0 && buildIsCurrent(b, push) && push.baseSha === c.baseSha) return [];
    const events: DomainEvent[] = [];
    for (const d of c.dropped) {
      const req = b.requests[d.request];
      // Only a request that is still merged is removed: a build that raced an earlier one may name it again.
      if (!req || req.push !== push.id || !fromState('drop', req.state)) continue;
      events.push(ev(ctx, { type: 'RequestRemoved', request: req.id, push: push.id, reason: `no longer merges (${d.files.join(', ')})`, fromState: req.state, toState: REQUEST_TRANSITIONS.drop.to }));
      events.push(ev(ctx, { type: 'ConflictsFound', request: req.id, sha: req.sha, conflicts: [{ with: 'master', files: d.files }] }));
    }
    if (c.deploySha !== push.deploySha || c.baseSha !== push.baseSha || JSON.stringify(c.merges) !== JSON.stringify(push.merges))
      events.push(ev(ctx, { type: 'DeployBranchBuilt', push: push.id, deploySha: c.deploySha, baseSha: c.baseSha, merges: c.merges }));
    return events;
  },

};

/**
 * What is recorded of a check's findings: a request in conflict with master is judged against master
 * only (as the original did), and a merged request is not charged with a pickme's conflict with it.
 */
function recordedConflicts(b: Board, req: PushRequest, found: readonly Conflict[], positions: Map<PushId, ReadonlyMap<RequestId, number>>): readonly Conflict[] {
  if (found.some((f) => f.with === 'master')) {
    const master = found.filter((f) => f.with === 'master');
    return master.length === found.length ? found : master;
  }
  if (req.push === null || !MERGED_STATES.includes(req.state) || found.length === 0) return found;
  let pos = positions.get(req.push);
  if (!pos) positions.set(req.push, (pos = mergePositions(b, req.push)));
  return chargedConflicts(req.id, found, pos);
}

const unknownJob = (id: string) => domainError('unknown-job', `no job ${id} (job ids look like 3.1; pushmanager job list shows them)`, { job: id });

type JobChange = Extract<DomainEvent, { type: 'JobStarted' | 'JobFinished' | 'JobRequeued' | 'JobAttached' }>;
/** The event that records a runner's report on a job (already checked against the job's transition table). */
type Unstamped<E> = E extends unknown ? Omit<E, 'at' | 'actor' | 'cause'> : never;
/**
 * A stage or bless asked for while a deploy runs: the running deploy is the reason, named with its job,
 * also where the push's state alone refuses (bless while staging read "push 1 is accepting; allowed
 * from: staged"). Who may ask is still checked first.
 */
function whileDeploying(refusal: DomainError | null, push: Push): DomainError | null {
  if (refusal && refusal.code !== 'illegal-transition') return refusal;
  return deployingRefusal(push) ?? refusal;
}

function jobChangeEvent(push: PushId, job: { readonly id: string; readonly name: string; readonly sha: string }, change: JobEvent): Unstamped<JobChange> | DomainError {
  const base = { push, job: job.id };
  switch (change.type) {
    case 'started':
      return { type: 'JobStarted', ...base, when: change.at, ...(change.handle && { handle: change.handle }), ...(change.log && { log: change.log }), ...(change.url && { url: change.url }) };
    case 'passed':
    case 'failed':
    case 'cancelled':
    case 'interrupted':
      return {
        type: 'JobFinished',
        ...base,
        when: change.at,
        name: job.name,
        sha: job.sha,
        state: change.type,
        ...('exitCode' in change && change.exitCode !== undefined && { exitCode: change.exitCode }),
        ...('reason' in change && change.reason && { reason: change.reason }),
        ...('url' in change && change.url && { url: change.url }),
        ...('tail' in change && change.tail && { tail: change.tail.slice(-JOB_TAIL_BYTES) }),
        ...('notRun' in change && change.notRun && { notRun: true as const }),
      };
    case 'requeued':
      return { type: 'JobRequeued', ...base };
    case 'attached':
      return { type: 'JobAttached', ...base, handle: change.handle, ...(change.url && { url: change.url }) };
  }
}

/**
 * The job gate of a step (transitions.ts JOB_GATES): null when green, the refusal when red and not
 * forced, and what is recorded when forced (a reason is required: it is the audit trail's why).
 */
function passJobGate(push: Push, step: PushAction, force: boolean, reason: string | undefined): ForcedGate | null | DomainError {
  const red = redGateJobs(push, step);
  if (!red.length) return null;
  if (!force) return jobGateRefusal(push, step, red);
  const why = reason?.trim();
  if (!why) return domainError('invalid-field', `"reason": ${step} --force past red jobs (${red.map((j) => `${j.name} ${j.state}`).join(', ')}) needs --reason TEXT`, { field: 'reason' });
  return { reason: why, jobs: red.map((j) => j.id) };
}

const staleBuild = (push: Push) =>
  domainError('deploy-branch-stale', `the deploy branch of push ${push.id} is being rebuilt (a request changed); try again in a moment or run \`pushmanager push rebuild ${push.id}\``, { push: push.id });

/** Which waiting requests a push offers itself to: urgent pushes take only urgent requests. */
function offeredTo(push: Push, r: PushRequest): boolean {
  return push.type === 'urgent' ? r.tags.includes('urgent') : true;
}

function withAllVerified(b: Board, push: Push, ids: RequestId[], ctx: DecideContext): DomainEvent[] {
  const events: DomainEvent[] = ids.map((id) => ev(ctx, { type: 'RequestVerified', request: id, push: push.id }));
  const stillStaged = requestsInPush(b, push.id).filter((r) => r.state === 'staged' && !ids.includes(r.id));
  if (!stillStaged.length) events.push(ev(ctx, { type: 'AllVerified', push: push.id }));
  return events;
}
