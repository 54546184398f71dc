// The single writer's whole decision for one command: decide(board, command, facts) → every event
// (the command's, the server's build record, the checklists) and every ref to move with them. Pure:
// the git work it needs (deploy-branch builds, certify's master and tag) is done before, outside the
// writer, and handed in as facts; facts that no longer fit the board are reported, never used.
import { systemActor } from './actor.js';
import { checklistEvents } from './checklist.js';
import type { Command } from './commands.js';
import { decide, type DecideContext } from './decide.js';
import { domainError, isDomainError, type DomainError } from './errors.js';
import type { DomainEvent } from './events.js';
import { evolveAll } from './evolve.js';
import { buildIsCurrent, isOpenPush, mergedRequests, type Board, type MergedRequest, type Push, type PushId, type PushRequest, type RequestId } from './model.js';
import { endedDeployBranches, pushreqRefIntents, type RefIntent } from './ref-intents.js';
import type { TagRegistry, TagsConfig } from './tags.js';
import { autoRetryEvents, jobQueueEvents, type PipelineJobs } from './job-queue.js';
import { deferDeploySteps, deployFollowEvents } from './deploy-jobs.js';
import { bisectionEvents, bisectionFollowEvents, bisectRefIntents } from './bisection.js';

/** Commands whose caller waits for the deploy branch: the pushmaster's own steps build it in the command. */
export const SYNC_BUILD: ReadonlySet<Command['type']> = new Set(['OpenPush', 'AcceptRequests', 'RemoveRequest', 'RebuildPush', 'TakeOverPush']);

/** Which master a build stands on, as far as the board tells: the last certification (master moves only then). */
export function masterEpoch(board: Board): number {
  let last = 0;
  for (const p of Object.values(board.pushes)) if (p.state === 'live' && p.id > last) last = p.id;
  return last;
}

/** A deploy branch to build: the push's merged requests in order, onto master. */
export interface BuildNeed {
  readonly push: Push;
  readonly requests: readonly PushRequest[];
  /** stop: the first request that does not merge refuses the command; skip: it is dropped. */
  readonly mode: 'stop' | 'skip';
  readonly epoch: number;
}

/** A build made for a BuildNeed: what it was made from, and what came out. */
export interface BuildFact {
  readonly push: PushId;
  readonly mode: 'stop' | 'skip';
  readonly epoch: number;
  /** The merged requests it was built from, in order. */
  readonly inputs: readonly { readonly request: RequestId; readonly sha: string }[];
  readonly baseSha: string;
  readonly outcome:
    | { readonly ok: true; readonly deploySha: string; readonly merges: readonly MergedRequest[]; readonly dropped: readonly { readonly request: RequestId; readonly files: readonly string[] }[] }
    | { readonly ok: false; readonly request: RequestId; readonly files: readonly string[] };
}

/** What was found out before the writer, for the command to be decided with. */
export interface Facts {
  readonly builds?: readonly BuildFact[];
  /** Certify's git work: the tag made, master's new SHA, the deploy tip it started from. */
  readonly certification?: DecideContext['certification'];
  /** Refs the prepared git work moves with the command (certify: master and the tag). */
  readonly refs?: readonly RefIntent[];
}

export interface PlanContext extends DecideContext {
  /** Tag definitions: what checklist items merged requests call for. */
  readonly tags?: TagsConfig | TagRegistry;
  /** The configured pipeline jobs: a new deploy SHA queues its build jobs in the same commit. */
  readonly pipeline?: PipelineJobs;
}

export interface Planned {
  readonly kind: 'planned';
  readonly events: readonly DomainEvent[];
  readonly board: Board;
  readonly refs: readonly RefIntent[];
}
/** The facts are missing or were gathered for another board: gather these outside the writer, then decide again. */
export interface NeedsBuilds {
  readonly kind: 'needs-builds';
  readonly builds: readonly BuildNeed[];
}

const sameInputs = (fact: BuildFact, need: BuildNeed): boolean =>
  fact.push === need.push.id && fact.mode === need.mode && fact.epoch === need.epoch && fact.inputs.length === need.requests.length && fact.inputs.every((x, i) => x.request === need.requests[i]!.id && x.sha === need.requests[i]!.sha);

/** The deploy branches a command's board calls for: open pushes whose build is not current (or forced). */
function buildNeeds(after: Board, command: Command): BuildNeed[] {
  if (!SYNC_BUILD.has(command.type)) return [];
  const epoch = masterEpoch(after);
  const mode = command.type === 'AcceptRequests' ? 'stop' : 'skip';
  const out: BuildNeed[] = [];
  for (const p of Object.values(after.pushes)) {
    if (!isOpenPush(p)) continue;
    const forced = command.type === 'RebuildPush' && command.push === p.id;
    if (buildIsCurrent(after, p) && !forced) continue;
    out.push({ push: p, requests: mergedRequests(after, p.id), mode, epoch });
  }
  return out;
}

/** decide, then the server's own events and the refs that go with them, each event applied once. */
export function plan(board: Board, command: Command, ctx: PlanContext, facts: Facts = {}): Planned | NeedsBuilds | DomainError {
  const judged = decide(board, command, { ...ctx, ...(facts.certification && { certification: facts.certification }) });
  if (isDomainError(judged)) return judged;
  // A stage or bless with deploy jobs is recorded once they pass (deploy-jobs.ts): here its jobs start.
  const decided = deferDeploySteps(board, judged, ctx.pipeline, ctx.now);
  const events: DomainEvent[] = [...decided];
  let after = evolveAll(board, decided);
  const refs: RefIntent[] = [...(facts.refs ?? []), ...pushreqRefIntents(board, after), ...endedDeployBranches(board, after)];
  if (command.type === 'RecordBuild') {
    // The deploy ref moves when the build is recorded, from what this board says it is: a retry after
    // another build re-reads it, where a fixed old value would fail the compare-and-swap on every attempt.
    const was = board.pushes[command.push];
    const recorded = decided.some((e) => e.type === 'DeployBranchBuilt' && e.push === command.push);
    if (recorded && was && was.deploySha !== command.deploySha) refs.push({ ref: was.deployBranch, newSha: command.deploySha, oldSha: was.deploySha });
  }
  const needs = buildNeeds(after, command);
  const missing = needs.filter((n) => !facts.builds?.some((f) => sameInputs(f, n)));
  if (missing.length) return { kind: 'needs-builds', builds: missing };
  const builder = { ...ctx, actor: systemActor('deploy-build') };
  for (const need of needs) {
    const fact = facts.builds!.find((f) => sameInputs(f, need))!;
    const p = need.push;
    if (!fact.outcome.ok) {
      const r = after.requests[fact.outcome.request];
      return domainError('merge-conflict', `request ${fact.outcome.request}${r ? ` (${r.user})` : ''} does not merge onto push ${p.id}'s deploy branch: conflicts in ${fact.outcome.files.join(', ') || 'the tree'}; nothing changed`, { request: fact.outcome.request, files: fact.outcome.files, push: p.id });
    }
    const { deploySha, merges, dropped } = fact.outcome;
    const recorded = decide(after, { type: 'RecordBuild', push: p.id, deploySha, baseSha: fact.baseSha, merges, dropped }, builder);
    if (isDomainError(recorded)) return recorded;
    events.push(...recorded);
    after = evolveAll(after, recorded);
    if (deploySha !== p.deploySha) refs.push({ ref: p.deployBranch, newSha: deploySha, oldSha: board.pushes[p.id]?.deploySha ?? null });
  }
  const jobs = jobQueueEvents(board, after, events, ctx.pipeline, ctx.now);
  if (jobs.length) {
    events.push(...jobs);
    after = evolveAll(after, jobs);
  }
  // What the recorded jobs lead to: a failed build job run again, a deploy that passed or failed, certify's jobs.
  const follow = [...autoRetryEvents(after, events, ctx.pipeline, ctx.now)];
  if (follow.length) after = evolveAll(after, follow);
  const deploys = deployFollowEvents(after, events, ctx.pipeline, ctx.now);
  if (deploys.length) after = evolveAll(after, deploys);
  events.push(...follow, ...deploys);
  // A red build starts (or a new deploy branch moves) a culprit search; a result may settle it.
  const searches = bisectionEvents(board, after, events, ctx.pipeline, ctx.now);
  if (searches.length) {
    events.push(...searches);
    after = evolveAll(after, searches);
  }
  const settled = bisectionFollowEvents(after, events, ctx.pipeline, ctx.now);
  if (settled.length) {
    const beforeSettled = after;
    events.push(...settled);
    after = evolveAll(after, settled);
    // A culprit whose branch without it ran: that candidate is the deploy branch now (its ref moves
    // here), and the jobs of the SHA it replaces are cancelled; its run is its build job's (passed: done;
    // failed: the first attempt, and its retry is queued).
    for (const e of settled) {
      if (e.type !== 'DeployBranchBuilt') continue;
      const was = beforeSettled.pushes[e.push];
      if (was && e.deploySha !== was.deploySha) refs.push({ ref: was.deployBranch, newSha: e.deploySha, oldSha: board.pushes[e.push]?.deploySha ?? null });
    }
    const jobs2 = jobQueueEvents(beforeSettled, after, settled, ctx.pipeline, ctx.now);
    if (jobs2.length) {
      events.push(...jobs2);
      after = evolveAll(after, jobs2);
    }
  }
  // The culprit's removal leaves the same commit; the push's deploy branch is rebuilt without it by the
  // background lane (the build no longer holds what the board wants), and tested again there.
  refs.push(...bisectRefIntents(board, after));
  if (ctx.tags) {
    const checklist = checklistEvents(after, ctx.tags, ctx.now);
    if (checklist.length) {
      events.push(...checklist);
      after = evolveAll(after, checklist);
    }
  }
  return { kind: 'planned', events, board: after, refs };
}
