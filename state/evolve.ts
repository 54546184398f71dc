// evolve(board, event) → board. Pure and total: an event was already decided, so it always applies.
// Unchanged requests and pushes keep their object identity, which the git store uses to write only what changed.
import type { DomainEvent } from './events.js';
import { applyJobEvent, type Job, type JobEvent } from './jobs.js';
import { CONFLICT_TAGS, type Board, type Conflict, type Push, type PushId, type PushRequest, type RequestId } from './model.js';

// The request and push maps are copied when an event changes them, so every board stays as it was.
// evolveAll applies many events (50 conflict findings, a push's 98 acceptances) to a board that holds
// thousands of requests: copying the whole map for each one made megabytes of garbage per command. So
// while evolveAll runs, the maps it has already copied are its own (`owned`) and later events write
// into them; the board it returns owns nothing, and a lone evolve() always copies.
let batching = false;
const owned = new WeakSet<object>();
function writable<T extends object>(map: T): T {
  if (batching && owned.has(map)) return map;
  const copy = { ...map };
  if (batching) owned.add(copy);
  return copy;
}
const withRequest = (b: Board, r: PushRequest): Board => {
  const requests = writable(b.requests) as Record<number, PushRequest>;
  requests[r.id] = r;
  return { ...b, requests };
};
const withPush = (b: Board, p: Push): Board => {
  const pushes = writable(b.pushes) as Record<number, Push>;
  pushes[p.id] = p;
  return { ...b, pushes };
};
const setRequest = (b: Board, id: RequestId, f: (r: PushRequest) => PushRequest, at: string): Board => {
  const r = b.requests[id];
  return r ? withRequest(b, { ...f(r), updatedAt: at }) : b;
};
const setPush = (b: Board, id: PushId, f: (p: Push) => Push, at: string): Board => {
  const p = b.pushes[id];
  return p ? withPush(b, { ...f(p), updatedAt: at }) : b;
};
/** A job's move by its own transition table; an event that does not apply (never decided so) leaves the board as it is. */
function setJob(b: Board, push: PushId, id: string, change: JobEvent, at: string): Board {
  const p = b.pushes[push];
  const i = p?.jobs?.findIndex((j) => j.id === id) ?? -1;
  if (!p || i < 0) return b;
  const next = applyJobEvent(p.jobs![i]!, change);
  if ('code' in next) return b; // a DomainError (a Job has no code)
  const jobs: Job[] = [...p.jobs!];
  jobs[i] = next;
  return withPush(b, { ...p, jobs, updatedAt: at });
}
const leavePush = (r: PushRequest): PushRequest => ({ ...r, push: null, pickedAt: null, acceptedAt: null });

export function conflictTag(conflicts: readonly Conflict[]): string {
  if (conflicts.some((c) => c.with === 'master')) return 'conflict-master';
  if (conflicts.length) return 'conflict-pickme';
  return 'no-conflicts';
}
const withConflictTag = (tags: readonly string[], tag: string | null) => [
  ...tags.filter((t) => !(CONFLICT_TAGS as readonly string[]).includes(t)),
  ...(tag ? [tag] : []),
];

export function evolve(b: Board, e: DomainEvent): Board {
  switch (e.type) {
    case 'RequestOpened':
      return { ...withRequest(b, e.request), nextRequestId: Math.max(b.nextRequestId, e.request.id + 1) };
    case 'RequestUpdated':
      // A new SHA invalidates the last conflict check.
      return setRequest(b, e.request, (r) => ({ ...r, sha: e.sha, conflicts: [], tags: withConflictTag(r.tags, null) }), e.at);
    case 'RequestEdited':
      return setRequest(b, e.request, (r) => ({ ...r, ...e.changes }), e.at);
    case 'RequestWithdrawn':
      return setRequest(b, e.request, (r) => ({ ...leavePush(r), state: 'discarded', reason: e.reason }), e.at);
    case 'RequestPicked':
      return setRequest(b, e.request, (r) => ({ ...r, state: 'pickme', push: e.push, pickedAt: e.at }), e.at);
    case 'RequestUnpicked':
      return setRequest(b, e.request, (r) => ({ ...leavePush(r), state: 'requested' }), e.at);
    case 'RequestAccepted':
      return setRequest(b, e.request, (r) => ({ ...r, state: 'added', acceptedAt: e.at }), e.at);
    case 'RequestRemoved': {
      const next = setRequest(
        b,
        e.request,
        (r) => (e.toState === 'pickme' ? { ...r, state: 'pickme', acceptedAt: null, reason: e.reason } : { ...leavePush(r), state: e.toState, reason: e.reason }),
        e.at,
      );
      return setPush(next, e.push, (p) => ({ ...p, removals: [...p.removals, { request: e.request, by: e.actor, reason: e.reason, fromState: e.fromState, at: e.at }] }), e.at);
    }
    case 'RequestVerified':
      return setRequest(b, e.request, (r) => ({ ...r, state: 'verified' }), e.at);
    case 'AllVerified':
      return b;
    case 'RequestDelayed':
      return setRequest(b, e.request, (r) => ({ ...leavePush(r), state: 'delayed', reason: e.reason || r.reason }), e.at);
    case 'RequestUndelayed':
      return setRequest(b, e.request, (r) => ({ ...r, state: 'requested' }), e.at);
    case 'RequestDiscarded':
      return setRequest(b, e.request, (r) => ({ ...leavePush(r), state: 'discarded', reason: e.reason }), e.at);
    case 'CommentAdded':
      return setRequest(b, e.request, (r) => ({ ...r, comments: [...r.comments, e.comment] }), e.at);
    case 'ConflictsFound':
      return setRequest(b, e.request, (r) => ({ ...r, conflicts: e.conflicts, tags: withConflictTag(r.tags, conflictTag(e.conflicts)) }), e.at);
    case 'PushOpened':
      return { ...withPush(b, e.push), nextPushId: Math.max(b.nextPushId, e.push.id + 1) };
    case 'DeployBranchBuilt':
      return setPush(b, e.push, (p) => ({ ...p, deploySha: e.deploySha, baseSha: e.baseSha, merges: e.merges }), e.at);
    case 'PushStaged': {
      let next = setPush(b, e.push, (p) => ({ ...withoutDeploying(p), state: 'staged', stageEnv: e.env, ...(e.forced && { forced: [...p.forced, { step: 'stage', by: e.actor, at: e.at, reason: e.forced.reason, jobs: e.forced.jobs }] }) }), e.at);
      for (const id of e.requests) next = setRequest(next, id, (r) => ({ ...r, state: 'staged' }), e.at);
      return next;
    }
    case 'PushBlessed': {
      let next = setPush(b, e.push, (p) => ({ ...withoutDeploying(p), state: 'blessed', forced: e.forced ? [...p.forced, { step: 'bless', by: e.actor, at: e.at, ...(e.reason && { reason: e.reason }), ...(e.jobs && { jobs: e.jobs }) }] : p.forced }), e.at);
      for (const r of Object.values(next.requests))
        if (r.push === e.push && (r.state === 'staged' || r.state === 'verified')) next = setRequest(next, r.id, (x) => ({ ...x, state: 'blessed' }), e.at);
      return next;
    }
    case 'PushCertified': {
      let next = setPush(b, e.push, (p) => ({ ...p, state: 'live', tag: e.tag }), e.at);
      for (const id of e.requests) next = setRequest(next, id, (r) => ({ ...r, state: 'live' }), e.at);
      for (const id of e.returned) next = setRequest(next, id, (r) => ({ ...leavePush(r), state: 'requested' }), e.at);
      return next;
    }
    case 'PushDiscarded': {
      let next = setPush(b, e.push, (p) => ({ ...withoutDeploying(p), state: 'discarded', deploySha: null, merges: [], heldWhenDiscarded: e.returned }), e.at);
      for (const id of e.returned) next = setRequest(next, id, (r) => ({ ...leavePush(r), state: 'requested' }), e.at);
      return next;
    }
    case 'PushMessageSent':
      return b;
    case 'PingmeChanged':
      return setPush(b, e.push, (p) => ({ ...p, pingme: e.on ? [...p.pingme, e.user] : p.pingme.filter((u) => u !== e.user) }), e.at);
    case 'PushTakenOver':
      return setPush(b, e.push, (p) => ({ ...p, pushmaster: e.to }), e.at);
    case 'MasterFollowedUpstream':
      // The ref moved with the commit; the board keeps no master of its own.
      return b;
    case 'ChecklistSet':
      return setPush(b, e.push, (p) => ({ ...p, checklist: e.items }), e.at);
    case 'JobQueued':
      return setPush(b, e.push, (p) => ({ ...p, jobs: [...(p.jobs ?? []), e.job] }), e.at);
    case 'JobStarted':
      return setJob(b, e.push, e.job, { type: 'started', at: e.when ?? e.at, ...(e.handle && { handle: e.handle }), ...(e.log && { log: e.log }), ...(e.url && { url: e.url }) }, e.at);
    case 'JobFinished': {
      const when = e.when ?? e.at;
      const codes = { ...(e.exitCode !== undefined && { exitCode: e.exitCode }), ...(e.url && { url: e.url }) };
      const change: JobEvent =
        e.state === 'passed' ? { type: 'passed', at: when, ...codes }
        : e.state === 'failed' ? { type: 'failed', at: when, ...codes, ...(e.reason && { reason: e.reason }), ...(e.notRun && { notRun: true as const }) }
        : e.state === 'cancelled' ? { type: 'cancelled', at: when, ...(e.reason && { reason: e.reason }) }
        : { type: 'interrupted', at: when };
      const next = setJob(b, e.push, e.job, change, e.at);
      return e.state === 'failed' && e.tail ? setPush(next, e.push, (p) => withCandidateTail(p, e.job, e.tail!), e.at) : next;
    }
    case 'BisectionStarted':
      return setPush(b, e.push, (p) => ({
        ...p,
        bisection: { job: e.job, name: e.name, state: 'running', base: e.base, requests: e.requests, candidates: e.inherited, nextCandidate: Math.max(p.bisection?.nextCandidate ?? 1, ...e.inherited.map((c) => c.id + 1)), sizes: [e.requests.length], startedAt: e.at },
      }), e.at);
    case 'BisectCandidateTested':
      return setPush(b, e.push, (p) => {
        if (!p.bisection) return p;
        const others = p.bisection.candidates.filter((c) => c.id !== e.candidate.id);
        return { ...p, bisection: { ...p.bisection, candidates: [...others, e.candidate].sort((x, y) => x.id - y.id), nextCandidate: Math.max(p.bisection.nextCandidate, e.candidate.id + 1) } };
      }, e.at);
    case 'BisectionRebased':
      return setPush(b, e.push, (p) => (p.bisection ? { ...p, bisection: { ...p.bisection, base: e.base, requests: e.requests, candidates: p.bisection.candidates.filter((c) => e.kept.includes(c.id)), sizes: [e.requests.length] } } : p), e.at);
    case 'BisectionNarrowed':
      return setPush(b, e.push, (p) => (p.bisection ? { ...p, bisection: { ...p.bisection, sizes: [...p.bisection.sizes, e.suspects] } } : p), e.at);
    case 'BisectionConcluded':
      return setPush(b, e.push, (p) => {
        if (!p.bisection) return p;
        const { outcome, culprit, partner, proof, reason } = e;
        return { ...p, bisection: { ...p.bisection, state: outcome, finishedAt: e.at, reason, ...(culprit !== undefined && { culprit }), ...(partner !== undefined && { partner }), ...(proof && { proof }) } };
      }, e.at);
    case 'JobRequeued':
      return setJob(b, e.push, e.job, { type: 'requeued' }, e.at);
    case 'DeployStarted':
      return setPush(b, e.push, (p) => ({ ...p, deploying: e.deploying }), e.at);
    case 'DeployFailed':
      return setPush(b, e.push, withoutDeploying, e.at);
    case 'JobAttached':
      return setJob(b, e.push, e.job, { type: 'attached', handle: e.handle, ...(e.url && { url: e.url }) }, e.at);
    case 'JobReported': {
      const p = b.pushes[e.push];
      const i = p?.jobs?.findIndex((j) => j.id === e.job) ?? -1;
      if (!p || i < 0) return b;
      const jobs: Job[] = [...p.jobs!];
      jobs[i] = { ...jobs[i]!, lateReport: { state: e.state, by: e.actor, at: e.at, ...(e.url && { url: e.url }) } };
      return withPush(b, { ...p, jobs, updatedAt: e.at });
    }
    case 'ChecklistTicked':
      return setPush(b, e.push, (p) => ({ ...p, checklist: p.checklist.map((i) => (i.id === e.item ? { ...i, done: e.done, doneBy: e.done ? e.actor : null } : i)) }), e.at);
  }
}

/** A failed run of a bisection candidate keeps its log's last lines on the candidate, for the culprit's notice. */
function withCandidateTail(p: Push, job: string, tail: string): Push {
  const b = p.bisection;
  const i = b?.candidates.findIndex((c) => c.jobs.includes(job)) ?? -1;
  if (!b || i < 0) return p;
  const candidates = [...b.candidates];
  candidates[i] = { ...candidates[i]!, tail };
  return { ...p, bisection: { ...b, candidates } };
}

/** The push with no deploy in progress (the field left out, as on pushes that never had one). */
function withoutDeploying(p: Push): Push {
  const { deploying: _d, ...rest } = p;
  return rest;
}

export function evolveAll(b: Board, events: readonly DomainEvent[]): Board {
  if (batching) return events.reduce(evolve, b); // never nested today; if it were, the outer call owns the maps
  batching = true;
  try {
    const out = events.reduce(evolve, b);
    owned.delete(out.requests);
    owned.delete(out.pushes);
    return out;
  } finally {
    batching = false;
  }
}
