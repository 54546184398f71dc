// Which jobs the train queues and cancels after a command (SPEC §6), decided in the writer with the
// command itself, so a recorded build and the jobs on its SHA land in one commit: there is no moment
// in which a new deploy SHA has no build jobs and `push stage` would pass unchecked. Pure.
import { actorName, systemActor, type SystemCause } from './actor.js';
import { candidateLabels } from './bisection.js';
import { domainError, type DomainError } from './errors.js';
import type { DomainEvent } from './events.js';
import { isPending, isRed, laterRuns, logHint, newJob, retryJob, runAgain, type Job, type JobPhase, type JobRunner } from './jobs.js';
import { findJob, isOpenPush, jobsOfPush, nextJobId, type Board, type Push, type PushId } from './model.js';
import { shortSha } from './text.js';

/** The configured jobs, as far as the domain needs them (names and phases; what they run stays in the server). */
export interface PipelineJobs {
  readonly runner: JobRunner;
  readonly jobs: readonly { readonly name: string; readonly on: JobPhase }[];
  /** A failed build job is run this many more times before its gate counts it red (the config's default is 1; absent: 0). */
  readonly retries?: number;
  /** A build job that failed its retries: bisect (the default) to find the request that breaks it, or stop. */
  readonly onFailure?: 'bisect' | 'stop';
  /** Remove the culprit bisection finds (default true). */
  readonly autoRemove?: boolean;
}

const CAUSE: SystemCause = 'pipeline';

/**
 * For each push whose deploy SHA the events changed: pending jobs of the SHA it replaces are cancelled,
 * and the `build` jobs are queued on the new SHA (unless they already ran or run there; none while
 * nothing is merged). A push that ended (discarded) has its pending jobs cancelled.
 */
export function jobQueueEvents(before: Board, after: Board, events: readonly DomainEvent[], pipeline: PipelineJobs | undefined, at: string): DomainEvent[] {
  const actor = actorName(systemActor(CAUSE));
  const out: DomainEvent[] = [];
  const touched = new Set<PushId>();
  for (const e of events) if (e.type === 'DeployBranchBuilt' || e.type === 'PushDiscarded') touched.add(e.push);
  for (const id of touched) {
    const p = after.pushes[id];
    if (!p) continue;
    const was = before.pushes[id];
    const sha = isOpenPush(p) ? p.deploySha : null;
    if (sha !== null && was?.deploySha === sha) continue;
    const why = sha === null ? `push ${p.id} is ${p.state}` : `replaced by the build of ${shortSha(sha)}`;
    for (const j of jobsOfPush(p)) if (isPending(j.state) && j.sha !== sha) out.push({ type: 'JobFinished', push: p.id, job: j.id, name: j.name, sha: j.sha, state: 'cancelled', reason: why, at, actor, cause: CAUSE });
    // A push with nothing merged is master itself: nothing of the train's to test.
    if (sha === null || !pipeline || p.merges.length === 0) continue;
    for (const job of buildJobs(p, sha, pipeline, at)) out.push({ type: 'JobQueued', push: p.id, job, at, actor, cause: CAUSE });
  }
  return out;
}

/**
 * The build jobs a deploy SHA gets: every configured `build` job not already queued, running or passed on
 * it. One that already failed there (a culprit search's candidate that became the deploy branch) counts
 * as the first attempt: its retry is queued instead of a fresh run, while the attempts allow one.
 */
function buildJobs(p: Push, sha: string, pipeline: PipelineJobs, at: string): Job[] {
  const on = jobsOfPush(p).filter((j) => j.sha === sha && j.on === 'build');
  const out: Job[] = [];
  for (const cfg of pipeline.jobs) {
    if (cfg.on !== 'build' || on.some((j) => j.name === cfg.name && (isPending(j.state) || j.state === 'passed'))) continue;
    const id = nextJobId(p, out.length);
    const failed = on.filter((j) => j.name === cfg.name && isRed(j)).at(-1);
    const retry = failed && failed.attempt <= (pipeline.retries ?? 0) ? retryJob(failed, id, at, jobsOfPush(p)) : null;
    out.push(retry && !('code' in retry) ? retry : newJob({ id, name: cfg.name, on: 'build', sha, push: p.id, kind: 'build', runner: pipeline.runner, at }));
  }
  return out;
}

/**
 * `retries` (SPEC §6): a build job that failed on the push's current deploy SHA is run again at once as
 * a new job (kind `retry`, attempt + 1) while its attempts are not used up, in the same commit as the
 * failure, so the gate sees it queued (waiting), never red in between. A retry that passes is flaky.
 */
export function autoRetryEvents(after: Board, events: readonly DomainEvent[], pipeline: PipelineJobs | undefined, at: string): DomainEvent[] {
  const retries = pipeline?.retries ?? 0;
  if (retries <= 0) return [];
  const actor = actorName(systemActor(CAUSE));
  const out: DomainEvent[] = [];
  const queued = new Map<PushId, number>();
  for (const e of events) {
    if (e.type !== 'JobFinished' || e.state !== 'failed') continue;
    const found = findJob(after, e.job);
    if (!found) continue;
    const { push: p, job } = found;
    // One the runner could not run is no red build: the same run again would be refused the same way.
    if (job.on !== 'build' || !isRed(job) || job.attempt > retries || !isOpenPush(p) || p.deploySha !== job.sha) continue;
    // Someone (or something) already runs it again, or it passed meanwhile: nothing to add.
    if (runAgain(jobsOfPush(p), job)) continue;
    const n = queued.get(p.id) ?? 0;
    const retry = retryJob(job, nextJobId(p, n), at, jobsOfPush(p));
    if ('code' in retry) continue; // only failed jobs get here: retryJob accepts them
    queued.set(p.id, n + 1);
    out.push({ type: 'JobQueued', push: p.id, job: retry, at, actor, cause: CAUSE });
  }
  return out;
}

/** Flaky passes per job name over the whole board: how often each job passed only on a retry. */
export function flakeCounts(board: Board): Readonly<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const p of Object.values(board.pushes)) for (const j of jobsOfPush(p)) if (j.flaky) out[j.name] = (out[j.name] ?? 0) + 1;
  return out;
}

/**
 * Why `job retry` refuses a job, or null when it runs it again: a run of it on the same SHA is under way
 * already; or it is a run of a culprit search, which tested a
 * candidate, not the deploy branch: a retry of it would be a lone job on a SHA that gates nothing and
 * that the search does not read (the search re-runs candidates itself when it needs another result).
 * The answer says what to run instead.
 */
export function retryRefusal(p: Push, job: Job): DomainError | null {
  const deploy = deployRetryRefusal(p, job);
  if (deploy) return deploy;
  // Its automatic retry (or one asked for before) is queued or running on the same SHA: one more would be a
  // second run of the same thing, attempt 3 while attempt 2 has not said anything yet.
  const again = laterRuns(jobsOfPush(p), job).find((j) => isPending(j.state));
  if (again && job.kind !== 'bisect')
    return domainError('nothing-to-do', `job ${job.id} (${job.name}) is being run again already: job ${again.id} (attempt ${again.attempt}) is ${again.state}; follow it: ${logHint(again, again.id, { follow: true })}`, { job: job.id, running: again.id });
  if (job.kind !== 'bisect') return null;
  const search = p.bisection;
  const label = job.candidate ?? candidateLabels(p).get(job.id);
  const what = `job ${job.id} (${job.name}) is a run of push ${p.id}'s culprit search on candidate ${shortSha(job.sha)}${label ? ` (${label})` : ''}, not on the deploy branch`;
  const data = { job: job.id, push: p.id, ...(search && { bisection: search.job }) };
  if (search?.state === 'running') {
    return domainError('bisect-run', `${what}: the search runs its candidates again itself when it needs another result. Follow it: pushmanager job list --push ${p.id}; stop it: pushmanager job cancel ${search.job}`, data);
  }
  // The search ended: what can be run again is the build job of the deploy branch (red again, a new search starts).
  const build = [...jobsOfPush(p)].reverse().find((j) => j.on === 'build' && j.name === job.name && j.sha === p.deploySha);
  const next = !build
    ? `the deploy branch has no ${job.name} job to run again`
    : build.state === 'failed' || build.state === 'cancelled' || build.state === 'interrupted'
      ? `to run ${job.name} on the deploy branch again: pushmanager job retry ${build.id} (red again, it starts a new search)`
      : `${job.name} on the deploy branch is job ${build.id}, ${build.state}`;
  return domainError('bisect-run', `${what}, and the search ${search ? `ended (${search.state})` : 'is over'}: its result gates nothing; ${next}`, data);
}

/**
 * A stage or bless job is the push's step, not a lone job: run again by `job retry` it would deploy
 * with nothing following it (a pass would not stage or bless the push, yet count as a flake of the
 * deploy), so the refusal names the step that runs it again, with the job's env. A job of a push that
 * ended (a certify job's push is live) is run again by nothing.
 */
function deployRetryRefusal(p: Push, job: Job): DomainError | null {
  const what = `job ${job.id} (${job.name})`;
  const data = { job: job.id, push: p.id, on: job.on };
  if (!isOpenPush(p)) return domainError('deploy-job', `${what} is a ${job.on} job of push ${p.id}, which is ${p.state}: nothing of it runs again`, data);
  if (job.on !== 'stage' && job.on !== 'bless') return null;
  const env = job.env ?? p.stageEnv;
  const step = job.on === 'stage' ? `pushmanager push stage ${p.id} --env ${env ?? 'ENV'}` : `pushmanager push bless ${p.id}`;
  const to = job.on === 'stage' ? (env ? ` to ${env}` : '') : ' (production deploy)';
  return domainError('deploy-job', `${what} is a ${job.on} job of push ${p.id}${to}: a deploy runs again as its step, which the push follows: ${step}`, data);
}

/**
 * Why an external CI's report of `job` is refused when the job already has its result: a job takes one
 * report, and the first one stands (a CI that re-sends a report, say after a timeout, can read this as
 * "recorded already"). The answer says what is true of the job and what, if anything, runs it again:
 * `job retry` only of a failed job that nothing runs again (a passed one is never retried), not of a
 * culprit search's run. Null when the report is taken (the job waits for it, or ended without one).
 */
export function secondReportRefusal(p: Push, job: Job): DomainError | null {
  const what = `job ${job.id} (${job.name})`;
  const data = { job: job.id, state: job.state };
  if (job.state === 'passed') return domainError('nothing-to-do', `${what} already passed on ${shortSha(job.sha)}: its result stands (a job takes one report); nothing to do`, data);
  if (job.state === 'failed') {
    const later = laterRuns(jobsOfPush(p), job).find((j) => isPending(j.state) || j.state === 'passed');
    const next = later
      ? later.state === 'passed'
        ? `job ${later.id} ran it again and passed`
        : `it runs again as job ${later.id} (${later.state}): report that one`
      : !isOpenPush(p)
        ? `push ${p.id} is ${p.state}: nothing runs it again`
        : job.kind === 'bisect'
          ? `it is a run of push ${p.id}'s culprit search, which runs its candidates again itself`
          : `for a new result the pushmaster runs it again as a new job: pushmanager job retry ${job.id}`;
    return domainError('nothing-to-do', `${what} already failed on ${shortSha(job.sha)}: its result stands (a job takes one report); ${next}`, data);
  }
  const late = job.lateReport;
  if (!late || (job.state !== 'cancelled' && job.state !== 'interrupted')) return null;
  // Cancelled (its SHA replaced, or by the pushmaster) and reported late once: the first late result is kept.
  const current = isOpenPush(p) ? [...jobsOfPush(p)].reverse().find((j) => j.name === job.name && j.on === job.on && j.sha === p.deploySha && j.id !== job.id) : undefined;
  const now = current ? `; push ${p.id}'s ${job.name} job is ${current.id} now (${current.state})` : '';
  return domainError(
    'nothing-to-do',
    `${what} was ${job.state}${job.reason ? ` (${job.reason})` : ''} and its late report is recorded already (${late.state}, by ${late.by} at ${late.at}): a job takes one report, and a late one gates nothing${now}`,
    { ...data, reported: late.state },
  );
}
