// The domain model: push requests, pushes, the board that holds them. Plain data, serialisable as JSON.
import type { Bisection } from './bisection.js';
import type { Job } from './jobs.js';

export type RequestId = number & { readonly __brand: 'RequestId' };
export type PushId = number & { readonly __brand: 'PushId' };
export type UserName = string;

export const REQUEST_STATES = [
  'requested',
  'pickme',
  'added',
  'staged',
  'verified',
  'blessed',
  'live',
  'delayed',
  'discarded',
] as const;
export type RequestState = (typeof REQUEST_STATES)[number];

export const PUSH_STATES = ['accepting', 'staged', 'blessed', 'live', 'discarded'] as const;
export type PushState = (typeof PUSH_STATES)[number];

export const PUSH_TYPES = ['regular', 'urgent', 'morning', 'private'] as const;
export type PushType = (typeof PUSH_TYPES)[number];

/** Tags only the server sets: the result of the latest conflict check. */
export const CONFLICT_TAGS = ['conflict-master', 'conflict-pickme', 'no-conflicts'] as const;
export type ConflictTag = (typeof CONFLICT_TAGS)[number];

/** A conflict found by a trial merge: with master, or with another request of the same push. */
export interface Conflict {
  readonly with: 'master' | RequestId;
  readonly files: readonly string[];
  /** Why, when the files alone do not say it (a submodule moved to a commit that is not a fast-forward). */
  readonly reason?: string;
}

export interface Comment {
  readonly at: string;
  readonly user: UserName;
  readonly text: string;
}

export interface PushRequest {
  readonly id: RequestId;
  readonly user: UserName;
  /**
   * Set when the server adopted the ref and guessed the owner (the commit's author) rather than the
   * owner pushing it; absent on every request its owner opened, and on boards from before it existed.
   */
  readonly ownerInferredFrom?: 'commit-author';
  readonly title: string;
  readonly description: string;
  /** The ref the owner pushed to, e.g. `refs/pushreq/fix-login`. */
  readonly ref: string;
  readonly sha: string;
  readonly state: RequestState;
  /** The push this request is a pickme of or accepted into; null when waiting. */
  readonly push: PushId | null;
  /** User-set tags plus at most one conflict tag (server-set). */
  readonly tags: readonly string[];
  readonly conflicts: readonly Conflict[];
  readonly review: string | null;
  readonly ticket: string | null;
  readonly watchers: readonly UserName[];
  readonly comments: readonly Comment[];
  /** False when pushed with `-o pickme=no`: never offered to a push automatically. */
  readonly autoPickme: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** When the request became a pickme of its current push (queue order). */
  readonly pickedAt: string | null;
  /** When it was accepted into its current push (merge order). */
  readonly acceptedAt: string | null;
  /** Why it ended (discarded) or last left a push (removed). */
  readonly reason: string | null;
}

export interface Removal {
  readonly request: RequestId;
  readonly by: UserName;
  readonly reason: string;
  readonly fromState: RequestState;
  readonly at: string;
}

export interface ChecklistItem {
  readonly id: string;
  readonly phase: 'before-stage' | 'after-stage' | 'before-bless' | 'after-bless' | 'before-certify';
  readonly text: string;
  readonly requests: readonly RequestId[];
  readonly done: boolean;
  readonly doneBy: UserName | null;
}

/** One merge commit of a deploy branch: which request, at which SHA, made which commit. */
export interface MergedRequest {
  readonly request: RequestId;
  readonly sha: string;
  readonly commit: string;
}

export interface Push {
  readonly id: PushId;
  readonly title: string;
  readonly type: PushType;
  readonly state: PushState;
  readonly pushmaster: UserName;
  /** The deploy branch, e.g. `refs/heads/deploy/push-3`. */
  readonly deployBranch: string;
  /** Tip of the deploy branch as recorded with the state; null before the first build. */
  readonly deploySha: string | null;
  /** Master's SHA the deploy branch was built on. */
  readonly baseSha: string | null;
  /** The merges of the current deploy branch, in merge order. */
  readonly merges: readonly MergedRequest[];
  readonly stageEnv: string | null;
  readonly pingme: readonly UserName[];
  readonly removals: readonly Removal[];
  readonly checklist: readonly ChecklistItem[];
  readonly tag: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Steps taken past a gate with --force; `reason` and `jobs` (the red jobs passed) when a job gate was red. */
  readonly forced: readonly ForcedStep[];
  /**
   * The push's pipeline jobs (SPEC §6), oldest first; a job's id is `<push>.<n>`, n counting from 1.
   * Kept on the push because every job belongs to one and its events change only that push's file.
   * Absent on pushes from before pipelines (read as none).
   */
  readonly jobs?: readonly Job[];
  /**
   * A stage or bless whose deploy jobs run (SPEC §6): the push stays in its state (accepting, staged)
   * until every one of them passed, then the step is recorded (staged / blessed); a failure clears it.
   * Absent when no deploy runs.
   */
  readonly deploying?: Deploying;
  /**
   * Set when the push is discarded: the requests it held then (pickmes and accepted, in queue order).
   * They went back to requested and no longer name the push, so the push keeps the list. Absent on
   * pushes discarded before it was recorded, and on every other push.
   */
  readonly heldWhenDiscarded?: readonly RequestId[];
  /** The last search for the request that turns a build job red (state/bisection.ts); absent: none yet. */
  readonly bisection?: Bisection;
}

/** A step waiting for its deploy jobs, and what it records when they pass (the command's force, who and when). */
export interface Deploying {
  readonly step: 'stage' | 'bless';
  /** The environment: stage's --env; bless deploys to production (the push's stage env is kept). */
  readonly env: string | null;
  /** The deploy jobs, all on the deploy SHA the step was asked for. */
  readonly jobs: readonly string[];
  readonly by: UserName;
  readonly at: string;
  /** Stage: past red build jobs (--force). */
  readonly forcedGate?: { readonly reason: string; readonly jobs: readonly string[] };
  /** Bless: --force given (past unverified requests, open checklist or red jobs), with its reason and jobs. */
  readonly blessForced?: { readonly forced: boolean; readonly reason?: string; readonly jobs?: readonly string[] };
}

export interface ForcedStep {
  readonly step: string;
  readonly by: UserName;
  readonly at: string;
  readonly reason?: string;
  readonly jobs?: readonly string[];
}

export interface Board {
  readonly nextRequestId: number;
  readonly nextPushId: number;
  readonly requests: Readonly<Record<number, PushRequest>>;
  readonly pushes: Readonly<Record<number, Push>>;
}

export const emptyBoard = (): Board => ({ nextRequestId: 1, nextPushId: 1, requests: {}, pushes: {} });

/** States of a request still in play: waiting, in a push, or held back. */
export const ACTIVE_REQUEST_STATES: readonly RequestState[] = ['requested', 'pickme', 'added', 'staged', 'verified', 'blessed', 'delayed'];
export const isActiveRequest = (r: PushRequest): boolean => ACTIVE_REQUEST_STATES.includes(r.state);

/** States of a push that is still moving (not live, not discarded). */
export const OPEN_PUSH_STATES: readonly PushState[] = ['accepting', 'staged', 'blessed'];
export const isOpenPush = (p: { readonly state: string }): boolean => (OPEN_PUSH_STATES as readonly string[]).includes(p.state);

/**
 * States of a request that sits in a push (pickme or accepted), in train order: the dashboard's
 * sections, `push message --state`, the API's MessagePushees.state. One list, typed two ways.
 */
export const IN_PUSH_STATE_NAMES = ['pickme', 'added', 'staged', 'verified', 'blessed'] as const;
export type InPushState = (typeof IN_PUSH_STATE_NAMES)[number];
export const IN_PUSH_STATES: readonly RequestState[] = IN_PUSH_STATE_NAMES;
/** States whose commits are merged into the push's deploy branch. */
export const MERGED_STATES: readonly RequestState[] = ['added', 'staged', 'verified', 'blessed'];
/** States a request ends in. */
export const FINISHED_REQUEST_STATES: readonly RequestState[] = ['live', 'discarded'];

export const requestsOf = (board: Board): PushRequest[] => Object.values(board.requests);
export const pushesOf = (board: Board): Push[] => Object.values(board.pushes);

export const isUrgent = (r: PushRequest): boolean => r.tags.includes('urgent');

/**
 * Queue order of a push's requests: urgent first, then no-verify, then by the time they were
 * picked (the original's order, minus its tests tag), then by id so the order is total.
 */
export function queueOrder(a: PushRequest, b: PushRequest): number {
  const rank = (r: PushRequest) => (isUrgent(r) ? 0 : r.tags.includes('no-verify') ? 1 : 2);
  return (
    rank(a) - rank(b) ||
    (a.pickedAt ?? a.createdAt).localeCompare(b.pickedAt ?? b.createdAt) ||
    a.id - b.id
  );
}

/** Merge order of the deploy branch: urgent first, then acceptance order. */
export function mergeOrder(a: PushRequest, b: PushRequest): number {
  const rank = (r: PushRequest) => (isUrgent(r) ? 0 : 1);
  return rank(a) - rank(b) || (a.acceptedAt ?? '').localeCompare(b.acceptedAt ?? '') || a.id - b.id;
}

export const requestsInPush = (board: Board, push: PushId): PushRequest[] =>
  requestsOf(board)
    .filter((r) => r.push === push && IN_PUSH_STATES.includes(r.state))
    .sort(queueOrder);

/**
 * The requests a push lists, in every state of the push: while open, those in it (pickme to blessed);
 * once live, those certified in it (the others went back to requested at certification: they never
 * reached production with it); once discarded, those it held when it was discarded, whatever they
 * have become since (requested again, picked into a later push…), because that is what the push was.
 */
export function requestsOfPush(board: Board, push: Push): PushRequest[] {
  if (push.state === 'live') return requestsOf(board).filter((r) => r.push === push.id && r.state === 'live').sort(queueOrder);
  if (push.state === 'discarded') return (push.heldWhenDiscarded ?? []).map((id) => board.requests[id]).filter((r): r is PushRequest => r !== undefined);
  return requestsInPush(board, push.id);
}

export const mergedRequests = (board: Board, push: PushId): PushRequest[] =>
  requestsOf(board)
    .filter((r) => r.push === push && MERGED_STATES.includes(r.state))
    .sort(mergeOrder);

/** What the deploy branch should contain now: the merged requests at their current SHAs, in merge order. */
export const wantedMerges = (board: Board, push: PushId): { request: RequestId; sha: string }[] =>
  mergedRequests(board, push).map((r) => ({ request: r.id, sha: r.sha }));

/** True when the recorded deploy branch holds exactly the wanted merges (base freshness aside). */
export function buildIsCurrent(board: Board, push: Push): boolean {
  const wanted = wantedMerges(board, push.id);
  return (
    push.deploySha !== null &&
    wanted.length === push.merges.length &&
    wanted.every((w, i) => push.merges[i]!.request === w.request && push.merges[i]!.sha === w.sha)
  );
}

export const accepting = (board: Board): Push | undefined => pushesOf(board).find((p) => p.state === 'accepting');

/** A push's jobs (none on pushes from before pipelines). */
export const jobsOfPush = (p: Push): readonly Job[] => p.jobs ?? [];

/** The push a job id names (`<push>.<n>`), or null when the id is not one. */
export function pushOfJobId(id: string): PushId | null {
  const m = /^([0-9]{1,9})\.[0-9]{1,9}$/.exec(id);
  return m ? (Number(m[1]) as PushId) : null;
}

/** The job with this id, and its push. */
export function findJob(board: Board, id: string): { readonly push: Push; readonly job: Job } | null {
  const pid = pushOfJobId(id);
  const push = pid === null ? undefined : board.pushes[pid];
  const job = push?.jobs?.find((j) => j.id === id);
  return push && job ? { push, job } : null;
}

/** The id the push's next job gets. */
export const nextJobId = (p: Push, offset = 0): string => `${p.id}.${(p.jobs?.length ?? 0) + 1 + offset}`;
