// The board as clients see it (`pushmanager status --json`, GET /api/board): SPEC §5 fields and more.
import { bisectionRuns, candidateLabels, candidateRef, describeBisection, type BisectionState } from './bisection.js';
import { isUnrun, unrunReason, type Job } from './jobs.js';
import { flakeCounts } from './job-queue.js';
import type { StatusJob } from './wire.js';
import { FINISHED_REQUEST_STATES, isOpenPush, queueOrder, requestsOfPush, type Board, type Push, type PushRequest, type PushState } from './model.js';
import { safeLine } from './text.js';

export interface StatusPush {
  readonly id: number;
  readonly title: string;
  readonly type: string;
  readonly state: PushState;
  readonly pushmaster: string;
  readonly deployBranch: string;
  readonly deploySha: string | null;
  readonly baseSha: string | null;
  readonly stageEnv: string | null;
  readonly tag: string | null;
  /**
   * Request ids in queue order (urgent first, then pick order), in every state of the push: a live
   * push lists the requests certified in it, a discarded one those it held when discarded (see
   * requestsOfPush).
   */
  readonly requests: readonly number[];
  readonly pingme: readonly string[];
  readonly checklist: Push['checklist'];
  readonly createdAt: string;
  /** The push's pipeline jobs, newest last (SPEC §6); absent until the server runs jobs. */
  readonly jobs?: readonly StatusJob[];
  /** Steps taken with --force (past unverified requests, open checklists or red jobs), with who, when and why. */
  readonly forced?: Push['forced'];
  /** A stage or bless whose deploy jobs run: the push is "staging" / "blessing" (its state is still the one before). */
  readonly deploying?: { readonly step: 'stage' | 'bless'; readonly env: string | null; readonly jobs: readonly string[] };
  /** The last search for the request that turns a build job red (issue 16); absent: none. */
  readonly bisection?: StatusBisection;
}

/** A bisection as clients see it: where it stands, how it narrowed, what it found, and its candidates. */
export interface StatusBisection {
  readonly state: BisectionState;
  /** The failed build job it started from, and the job's name. */
  readonly job: string;
  readonly name: string;
  /** Requests searched (the deploy branch's, at the last (re)start). */
  readonly requests: number;
  /** Suspects left after each result: [40, 20, 10]. */
  readonly sizes: readonly number[];
  readonly runs: number;
  readonly culprit?: number;
  readonly partner?: number;
  readonly reason?: string;
  /** "bisecting push 3 (test): 40 → 20 → 10 requests, 3 runs". */
  readonly summary: string;
  readonly startedAt: string;
  readonly finishedAt?: string;
  readonly candidates: readonly { readonly id: number; readonly ref: string; readonly sha: string | null; readonly requests: readonly number[]; readonly jobs: readonly string[] }[];
}

export function bisectionView(p: Push): StatusBisection | undefined {
  const b = p.bisection;
  if (!b) return undefined;
  return {
    state: b.state,
    job: b.job,
    name: b.name,
    requests: b.requests.length,
    sizes: b.sizes,
    runs: bisectionRuns(p),
    ...(b.culprit !== undefined && { culprit: b.culprit }),
    ...(b.partner !== undefined && { partner: b.partner }),
    ...(b.reason && { reason: b.reason }),
    summary: describeBisection(p) ?? '',
    startedAt: b.startedAt,
    ...(b.finishedAt && { finishedAt: b.finishedAt }),
    candidates: b.candidates.map((c) => ({ id: c.id, ref: candidateRef(p.id, c.id).replace(/^refs\/heads\//, ''), sha: c.sha, requests: c.members.map((m) => m.request), jobs: c.jobs })),
  };
}

/** A job as clients see it (SPEC §6 fields); a search's run with what its candidate held (recorded on it, or, for runs from before that was recorded, from the push's search). */
export function jobView(j: Job, candidates?: ReadonlyMap<string, string>): StatusJob {
  const candidate = j.candidate ?? candidates?.get(j.id);
  return {
    id: j.id,
    name: j.name,
    on: j.on,
    sha: j.sha,
    state: j.state,
    attempt: j.attempt,
    kind: j.kind,
    url: j.url,
    startedAt: j.startedAt,
    finishedAt: j.finishedAt,
    runner: j.runner,
    ...(j.flaky && { flaky: true }),
    ...(isUnrun(j) && { notRun: safeLine(unrunReason(j)) }),
    ...(candidate && { candidate }),
    ...(j.env && { env: j.env }),
    ...(j.rerun && { rerun: j.rerun }),
  };
}

export interface StatusRequest extends Omit<PushRequest, 'comments'> {
  readonly comments: number;
}

export interface StatusView {
  readonly version: string | null;
  readonly pushes: readonly StatusPush[];
  readonly requests: readonly StatusRequest[];
  /** How often each job passed only on a retry (flaky), over the board; absent when none did. */
  readonly flakes?: Readonly<Record<string, number>>;
}

export function pushView(board: Board, p: Push): StatusPush {
  const labels = candidateLabels(p);
  return {
    id: p.id,
    title: p.title,
    type: p.type,
    state: p.state,
    pushmaster: p.pushmaster,
    deployBranch: p.deployBranch.replace(/^refs\/heads\//, ''),
    deploySha: p.deploySha,
    baseSha: p.baseSha,
    stageEnv: p.stageEnv,
    tag: p.tag,
    requests: requestsOfPush(board, p).map((r) => r.id),
    pingme: p.pingme,
    checklist: p.checklist,
    createdAt: p.createdAt,
    ...(p.jobs && { jobs: p.jobs.map((j) => jobView(j, labels)) }),
    ...(p.forced.length > 0 && { forced: p.forced }),
    ...(p.deploying && { deploying: { step: p.deploying.step, env: p.deploying.env, jobs: p.deploying.jobs } }),
    ...(p.bisection && { bisection: bisectionView(p)! }),
  };
}

export const requestView = (r: PushRequest): StatusRequest => ({ ...r, comments: r.comments.length });

/** Open pushes first (newest first), then the rest; requests in id order. `all` includes finished ones. */
export function statusView(board: Board, version: string | null, opts: { all?: boolean; recentPushes?: number } = {}): StatusView {
  const pushes = Object.values(board.pushes).sort((a, b) => Number(isOpenPush(b)) - Number(isOpenPush(a)) || b.id - a.id);
  const shown = opts.all ? pushes : pushes.filter((p, i) => isOpenPush(p) || i < pushes.filter(isOpenPush).length + (opts.recentPushes ?? 5));
  const views = shown.map((p) => pushView(board, p));
  // Every request a shown push lists is shown too, so `pushes[].requests` always resolves.
  const listed = new Set(views.flatMap((p) => p.requests));
  const requests = Object.values(board.requests)
    .filter((r) => opts.all || !FINISHED_REQUEST_STATES.includes(r.state) || listed.has(r.id))
    .sort((a, b) => (a.push === b.push && a.push !== null ? queueOrder(a, b) : a.id - b.id));
  const flakes = flakeCounts(board);
  return { version, pushes: views, requests: requests.map(requestView), ...(Object.keys(flakes).length > 0 && { flakes }) };
}
