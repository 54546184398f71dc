// Pipeline jobs as data (SPEC §6): what a job is, and which moves between its states are legal.
// Pure: times come in as ISO strings from the caller, ids are the caller's. A retry or a bisection
// candidate is a new job (its own id, log and result), so a job's history is never rewritten; the
// one move out of a final state is `interrupted` → `queued`, the run again after a server crash.
import { domainError, type DomainError } from './errors.js';
import { safeLine } from './text.js';

export const JOB_STATES = ['queued', 'running', 'passed', 'failed', 'cancelled', 'interrupted'] as const;
export type JobState = (typeof JOB_STATES)[number];
export const JOB_KINDS = ['build', 'retry', 'bisect', 'deploy'] as const;
export type JobKind = (typeof JOB_KINDS)[number];
export type JobPhase = 'build' | 'stage' | 'bless' | 'certify';
export type JobRunner = 'local' | 'buildbot' | 'external';

/** Where a job's process is, so a restarted server can find it again. */
export type JobHandle =
  /** Local: the process group and its leader's start time (clock ticks since boot, /proc/PID/stat), on this boot. */
  | { readonly runner: 'local'; readonly pgid: number; readonly startTicks: number; readonly bootId: string }
  /** Buildbot: the build request and, once it started, the build. */
  | { readonly runner: 'buildbot'; readonly buildRequestId: number; readonly buildId?: number }
  | { readonly runner: 'external' };

export interface Job {
  readonly id: string;
  readonly name: string;
  readonly on: JobPhase;
  readonly sha: string;
  readonly push: number;
  readonly state: JobState;
  /** 1 for the first run; a retry has the attempt it repeats plus one. */
  readonly attempt: number;
  readonly kind: JobKind;
  readonly runner: JobRunner;
  /** Where a person looks at the job (Buildbot's build page, the external CI's run); null for local jobs until the API serves logs. */
  readonly url: string | null;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly exitCode?: number;
  /** Passed on a retry after failing. */
  readonly flaky?: boolean;
  /**
   * Failed without running: the runner could not run it (a builder the master does not have, no checkout
   * of the SHA, a command that cannot start; `reason` says which). It says nothing of the tree, so it is
   * no red build: not retried, no culprit search, no flake when a later run passes. It still holds its gate.
   */
  readonly notRun?: true;
  readonly handle?: JobHandle;
  /** Where the log is kept (a path under the data dir for local jobs, a URL for others). */
  readonly log?: string;
  /** Why it ended the way it did, in words: "timed out after 1800 s", "cancelled by pm". */
  readonly reason?: string;
  /** Run again from scratch after the server stopped while it ran: how often, and when the last stop was seen. */
  readonly rerun?: { readonly times: number; readonly at: string };
  /** A culprit search's run: what its candidate held ("master + #1 … #4 (4)"), fixed when it was queued, so it outlives the search. */
  readonly candidate?: string;
  /** A stage or bless job's environment (its `{env}`), fixed when the step queued it. */
  readonly env?: string;
  /** An external CI's result that came after the job had ended (its SHA replaced): kept, gating nothing. */
  readonly lateReport?: { readonly state: 'passed' | 'failed'; readonly by: string; readonly at: string; readonly url?: string };
}

export type JobEvent =
  | { readonly type: 'started'; readonly at: string; readonly handle?: JobHandle; readonly url?: string; readonly log?: string }
  /** More of where the job is, while it runs (Buildbot: the build that a request started). */
  | { readonly type: 'attached'; readonly handle: JobHandle; readonly url?: string }
  | { readonly type: 'passed'; readonly at: string; readonly exitCode?: number; readonly url?: string }
  /** `tail`: the last lines of a local job's log (≤ JOB_TAIL_BYTES), for the failure notice; not kept on the job. */
  | { readonly type: 'failed'; readonly at: string; readonly exitCode?: number; readonly reason?: string; readonly url?: string; readonly tail?: string; readonly notRun?: true }
  | { readonly type: 'cancelled'; readonly at: string; readonly reason?: string }
  /** The server stopped while the job ran (crash, restart): its result is unknown. */
  | { readonly type: 'interrupted'; readonly at: string }
  /** An interrupted job is run again. */
  | { readonly type: 'requeued' };
export type JobEventType = JobEvent['type'];

/** At most this much of a failed job's log rides on its JobFinished (the metadata branch keeps every event). */
export const JOB_TAIL_BYTES = 2048;
/** And at most this many lines of it. */
export const JOB_TAIL_LINES = 10;

/** The last non-blank lines of a log's end (at most JOB_TAIL_LINES, JOB_TAIL_BYTES): a failure notice's quote. `cut`: the text's first line was cut short. */
export function logTail(text: string, cut = false): string {
  const end = text.length > JOB_TAIL_BYTES ? text.slice(-JOB_TAIL_BYTES) : text;
  let lines = end.split('\n');
  if (cut || end.length < text.length) lines = lines.slice(1);
  return lines.filter((l) => l.trim() !== '').slice(-JOB_TAIL_LINES).join('\n');
}

/** The transition table: for each state, the events it accepts and the state each leads to. */
export const JOB_TRANSITIONS: Readonly<Record<JobState, Partial<Record<JobEventType, JobState>>>> = {
  queued: { started: 'running', cancelled: 'cancelled', interrupted: 'interrupted', failed: 'failed' },
  running: { attached: 'running', passed: 'passed', failed: 'failed', cancelled: 'cancelled', interrupted: 'interrupted' },
  passed: {},
  failed: {},
  cancelled: {},
  interrupted: { requeued: 'queued', cancelled: 'cancelled' },
};

export const isFinal = (s: JobState): boolean => s === 'passed' || s === 'failed' || s === 'cancelled';
/** Gating: a job in one of these states holds its phase back. */
export const isPending = (s: JobState): boolean => s === 'queued' || s === 'running' || s === 'interrupted';

/** The same job (name, phase) on the same SHA as `job`, among `jobs`: its runs there, oldest first. */
const runsOnSha = (jobs: readonly Job[], job: Job): Job[] => jobs.filter((j) => j.name === job.name && j.on === job.on && j.sha === job.sha);

/**
 * Whether a later job of `jobs` (a push's, oldest first) runs `job` again: same name, phase and SHA, and
 * under way or passed. Then `job`'s failure blames no one yet (retries, the notice, a culprit search).
 */
export function runAgain(jobs: readonly Job[], job: Job): boolean {
  return laterRuns(jobs, job).some((j) => isPending(j.state) || j.state === 'passed');
}

/** A run that failed on its tree (red): one the runner could not run (`notRun`) says nothing of the tree. */
export const isRed = (j: Job): boolean => j.state === 'failed' && !j.notRun;

/** A run the runner could not run: failed, but no red build (see Job.notRun). */
export const isUnrun = (j: Job): boolean => j.state === 'failed' && j.notRun === true;

/** Why the runner could not run `j`, in words (its recorded reason). */
export const unrunReason = (j: Job): string => j.reason ?? 'the runner could not run it';

/** The runs of `job` after it among `jobs` (a push's, oldest first): same name, phase and SHA. */
export const laterRuns = (jobs: readonly Job[], job: Job): Job[] => runsOnSha(jobs.slice(jobs.indexOf(job) + 1), job);

/** The job after `ev`, or an `illegal-transition` error naming the job, its state and the event. */
export function applyJobEvent(job: Job, ev: JobEvent): Job | DomainError {
  const next = JOB_TRANSITIONS[job.state][ev.type];
  if (!next) {
    return domainError('illegal-transition', `job ${job.id} (${job.name}) is ${job.state}: it cannot be ${ev.type}`, { job: job.id, state: job.state, event: ev.type });
  }
  switch (ev.type) {
    case 'started':
      return { ...job, state: next, startedAt: ev.at, ...(ev.handle && { handle: ev.handle }), ...(ev.url && { url: ev.url }), ...(ev.log && { log: ev.log }) };
    case 'attached':
      return { ...job, state: next, handle: ev.handle, ...(ev.url && { url: ev.url }) };
    case 'passed':
      return { ...job, state: next, finishedAt: ev.at, ...(ev.exitCode !== undefined && { exitCode: ev.exitCode }), ...(ev.url && { url: ev.url }), ...(job.kind === 'retry' && { flaky: true }) };
    case 'failed':
      return { ...job, state: next, finishedAt: ev.at, ...(ev.exitCode !== undefined && { exitCode: ev.exitCode }), ...(ev.reason && { reason: ev.reason }), ...(ev.url && { url: ev.url }), ...(ev.notRun && { notRun: true as const }) };
    case 'cancelled':
      return { ...job, state: next, finishedAt: ev.at, ...(ev.reason && { reason: ev.reason }) };
    case 'interrupted':
      return { ...job, state: next, finishedAt: ev.at, reason: 'the server stopped while the job ran' };
    case 'requeued': {
      // A run again from scratch: what the interrupted run left (its process, times, result) is gone.
      // What it keeps: that it was run again, and when the stop cut the run short, so job show can say so.
      const { handle: _h, exitCode: _e, reason: _r, ...rest } = job;
      return { ...rest, state: next, startedAt: null, finishedAt: null, rerun: { times: (job.rerun?.times ?? 0) + 1, at: job.finishedAt ?? job.startedAt ?? '' } };
    }
  }
}

export interface NewJob {
  readonly id: string;
  readonly name: string;
  readonly on: JobPhase;
  readonly sha: string;
  readonly push: number;
  readonly kind: JobKind;
  readonly runner: JobRunner;
  readonly at: string;
}

export const newJob = (j: NewJob): Job => ({ id: j.id, name: j.name, on: j.on, sha: j.sha, push: j.push, state: 'queued', attempt: 1, kind: j.kind, runner: j.runner, url: null, createdAt: j.at, startedAt: null, finishedAt: null });

/**
 * A later run of `job` (same name, phase and SHA, among `jobs`, oldest first) that passed: `job`'s failure
 * was a flake, already told by that run. `job show` says so instead of offering to run it again.
 */
export function passedLater(jobs: readonly Job[], job: Job): Job | undefined {
  return laterRuns(jobs, job).find((j) => j.state === 'passed');
}

/**
 * The retry of a failed, cancelled or interrupted job: a new job on the same SHA. Its attempt follows the
 * job's runs on that SHA among `jobs` (the push's), so no two share an attempt number. It is kind `retry`
 * (flaky if it passes) only while the job has failed on that SHA and not passed there: a pass proves a
 * flake only after a red run. Before any red run (the job was cancelled, or its result lost to a crash)
 * or once the SHA is known to pass, a run more is a plain re-run (the phase's own kind).
 */
export function retryJob(job: Job, id: string, at: string, jobs: readonly Job[] = []): Job | DomainError {
  if (job.state !== 'failed' && job.state !== 'cancelled' && job.state !== 'interrupted') {
    return domainError('illegal-transition', `job ${job.id} (${job.name}) is ${job.state}: only a failed, cancelled or interrupted job is retried`, { job: job.id, state: job.state, event: 'retry' });
  }
  const runs = runsOnSha(jobs, job);
  const attempt = Math.max(job.attempt, ...runs.map((j) => j.attempt)) + 1;
  const failed = isRed(job) || runs.some(isRed);
  const passed = runs.some((j) => j.state === 'passed');
  const kind: JobKind = failed && !passed ? 'retry' : job.on === 'build' ? 'build' : 'deploy';
  return { ...newJob({ id, name: job.name, on: job.on, sha: job.sha, push: job.push, kind, runner: job.runner, at }), attempt, ...(job.env && { env: job.env }) };
}

/**
 * Where to read a job's log, for a refusal or a notice: `pushmanager job log ID` for the server's own
 * runners, the run page an external CI reported (the server keeps no log of its jobs and refuses `job
 * log` there), or that it is on the CI. `code` wraps a command (a notice's backticks); a URL is left bare.
 */
export function logHint(j: { readonly runner?: JobRunner; readonly url?: string | null } | undefined, id: string, o: { cli?: string; follow?: boolean; code?: (s: string) => string } = {}): string {
  if (j?.runner === 'external') return j.url ? safeLine(j.url) : `on the external CI (no run page reported for job ${id})`;
  const cmd = `${o.cli ?? 'pushmanager'} job log ${id}${o.follow ? ' --follow' : ''}`;
  // A Buildbot job's log is read from the master; its build page is one click for whoever has a browser.
  const page = j?.runner === 'buildbot' && j.url ? ` (build page: ${safeLine(j.url)})` : '';
  return `${o.code ? o.code(cmd) : cmd}${page}`;
}
