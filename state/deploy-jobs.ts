// Deploy jobs (SPEC §6): `stage` and `bless` run their configured jobs before the step counts, and
// `certify` runs its jobs after it. Decided in the writer with the command (plan.ts), so the step, its
// jobs and the push showing them land in one commit, and the step is recorded in the commit of the job
// report that completes it: the pushees hear "please verify" only once the stage deploy passed. Pure.
import { actorName, systemActor, type SystemCause } from './actor.js';
import { domainError, type DomainError } from './errors.js';
import type { DomainEvent, EventOf } from './events.js';
import { isPending, logHint, newJob, type Job, type JobPhase } from './jobs.js';
import type { PipelineJobs } from './job-queue.js';
import { jobsOfPush, nextJobId, requestsInPush, type Board, type Deploying, type Push, type PushId } from './model.js';

const CAUSE: SystemCause = 'pipeline';
const pipelineActor = () => actorName(systemActor(CAUSE));

const phaseJobs = (pipeline: PipelineJobs | undefined, on: JobPhase) => pipeline?.jobs.filter((j) => j.on === on) ?? [];

/** The deploy's jobs as they are on the board (a job id the push no longer has is left out). */
export const deployJobs = (p: Push, d: Deploying): Job[] => d.jobs.map((id) => jobsOfPush(p).find((j) => j.id === id)).filter((j): j is Job => j !== undefined);

/** A second stage or bless while one's jobs run is refused: it names them and how to follow or stop them. */
export function deployingRefusal(p: Push): DomainError | null {
  const d = p.deploying;
  if (!d) return null;
  const running = deployJobs(p, d).filter((j) => j.state !== 'passed');
  const first = running[0]?.id ?? d.jobs[0] ?? '?';
  const what = running.map((j) => `${j.on} job ${j.name} (job ${j.id}) is ${j.state}`).join('; ');
  return domainError(
    'jobs-not-green',
    `push ${p.id} is ${d.step === 'stage' ? 'staging' : 'blessing'}${d.env && d.step === 'stage' ? ` on ${d.env}` : ''}: ${what || 'its jobs run'}; wait for it (${logHint(running[0] ?? deployJobs(p, d)[0], first, { follow: true })}) or stop it (pushmanager job cancel ${first})`,
    { push: p.id, step: d.step, jobs: d.jobs },
  );
}

/**
 * A stage or bless whose phase has jobs is not recorded yet: its PushStaged / PushBlessed becomes a
 * DeployStarted (the push shows it) and the phase's jobs are queued on the deploy SHA. With no jobs for
 * the phase the events are returned as they are.
 */
export function deferDeploySteps(board: Board, decided: readonly DomainEvent[], pipeline: PipelineJobs | undefined, at: string): DomainEvent[] {
  return decided.flatMap((e): DomainEvent[] => {
    if (e.type !== 'PushStaged' && e.type !== 'PushBlessed') return [e];
    const step = e.type === 'PushStaged' ? 'stage' : 'bless';
    const cfgs = phaseJobs(pipeline, step);
    const p = board.pushes[e.push];
    if (!cfgs.length || !p || p.deploySha === null || !pipeline) return [e];
    const env = e.type === 'PushStaged' ? e.env : p.stageEnv;
    const jobs = cfgs.map((cfg, i) => ({ ...newJob({ id: nextJobId(p, i), name: cfg.name, on: step, sha: p.deploySha!, push: p.id, kind: 'deploy', runner: pipeline.runner, at }), ...(env !== null && { env }) }));
    const deploying: Deploying = {
      step,
      env,
      jobs: jobs.map((j) => j.id),
      by: e.actor,
      at: e.at,
      ...(e.type === 'PushStaged' && e.forced && { forcedGate: e.forced }),
      ...(e.type === 'PushBlessed' && { blessForced: { forced: e.forced, ...(e.reason && { reason: e.reason }), ...(e.jobs && { jobs: e.jobs }) } }),
    };
    return [{ type: 'DeployStarted', push: p.id, deploying, at: e.at, actor: e.actor }, ...jobs.map((job): DomainEvent => ({ type: 'JobQueued', push: p.id, job, at, actor: pipelineActor(), cause: CAUSE }))];
  });
}

/**
 * After the command's events: a deploy whose job failed or was cancelled ends (DeployFailed, the push
 * stays where it was); one whose jobs all passed takes its step, recorded as the pushmaster's who asked
 * for it; a certification queues the `certify` jobs (they gate nothing).
 */
export function deployFollowEvents(after: Board, events: readonly DomainEvent[], pipeline: PipelineJobs | undefined, at: string): DomainEvent[] {
  const out: DomainEvent[] = [];
  const touched = new Set<PushId>();
  for (const e of events) if (e.type === 'JobFinished') touched.add(e.push);
  for (const id of touched) {
    const p = after.pushes[id];
    const d = p?.deploying;
    if (!p || !d) continue;
    const jobs = deployJobs(p, d);
    const bad = jobs.find((j) => j.state === 'failed' || j.state === 'cancelled');
    if (bad) {
      // The step is off: its other jobs still queued or running stop too, or they would deploy to the env
      // (or production) with the push no longer showing them, beside the next stage's own run.
      const why = `the ${d.step === 'stage' ? `stage of push ${p.id}${d.env ? ` to ${d.env}` : ''}` : `bless of push ${p.id}`} stopped: job ${bad.id} (${bad.name}) ${bad.state}`;
      for (const j of jobs) if (isPending(j.state)) out.push({ type: 'JobFinished', push: p.id, job: j.id, name: j.name, sha: j.sha, state: 'cancelled', reason: why, at, actor: pipelineActor(), cause: CAUSE });
      // The failed run's last lines ride on its JobFinished (not kept on the job): the notice quotes them, as a build failure's does.
      const tail = events.find((e): e is Extract<DomainEvent, { type: 'JobFinished' }> => e.type === 'JobFinished' && e.job === bad.id)?.tail;
      out.push({ type: 'DeployFailed', push: p.id, step: d.step, env: d.env, job: bad.id, name: bad.name, state: bad.state, ...(bad.reason && { reason: bad.reason }), ...(tail && { tail }), ...(d.blessForced?.forced && { forced: true as const }), at, actor: pipelineActor(), cause: CAUSE });
    } else if (jobs.length === d.jobs.length && jobs.every((j) => j.state === 'passed')) {
      out.push(completedStep(after, p, d, at));
    }
  }
  for (const e of events) if (e.type === 'PushCertified') out.push(...certifyJobs(after, e, pipeline, at));
  return out;
}

/** The step the passed deploy stands for, with the requests as they are now (one may have left meanwhile). */
function completedStep(after: Board, p: Push, d: Deploying, at: string): DomainEvent {
  const inPush = requestsInPush(after, p.id);
  if (d.step === 'stage') {
    const requests = inPush.filter((r) => r.state === 'added').map((r) => r.id);
    return { type: 'PushStaged', push: p.id, env: d.env ?? '', requests, ...(d.forcedGate && { forced: d.forcedGate }), at, actor: d.by };
  }
  const f = d.blessForced ?? { forced: false };
  const unverified = inPush.filter((r) => r.state === 'staged').map((r) => r.id);
  return { type: 'PushBlessed', push: p.id, forced: f.forced, unverified, ...(f.reason && { reason: f.reason }), ...(f.jobs && { jobs: f.jobs }), at, actor: d.by };
}

function certifyJobs(after: Board, e: EventOf<'PushCertified'>, pipeline: PipelineJobs | undefined, at: string): DomainEvent[] {
  const p = after.pushes[e.push];
  const cfgs = phaseJobs(pipeline, 'certify');
  if (!p || !pipeline || !cfgs.length || p.deploySha === null) return [];
  return cfgs.map((cfg, i): DomainEvent => ({
    type: 'JobQueued',
    push: p.id,
    job: newJob({ id: nextJobId(p, i), name: cfg.name, on: 'certify', sha: p.deploySha!, push: p.id, kind: 'deploy', runner: pipeline.runner, at }),
    at,
    actor: pipelineActor(),
    cause: CAUSE,
  }));
}
