// The job service (SPEC §6, issue 15): runs the jobs the board queues on the local runner and records
// what the runner reports (started, passed, failed, cancelled, interrupted) through the one write path,
// as the system (cause `pipeline`). Which jobs exist is decided in the writer (state/job-queue.ts,
// RetryJob, CancelJob); this service only acts on committed events, so a job runs only once it is
// recorded, and a crash between the two leaves a queued job that start-up runs.
import { readFile } from 'node:fs/promises';
import { readLogEnd } from './job-log.js';
import { join } from 'node:path';
import type { DomainEvent } from '../../state/events.js';
import { isPending, JOB_TAIL_BYTES, logTail, type Job, type JobEvent } from '../../state/jobs.js';
import { jobBranch } from '../../state/bisection.js';
import { findJob, type Board } from '../../state/model.js';
import type { Committed, Dispatcher } from '../app/dispatcher.js';
import { recordJobChange } from './record-job.js';
import type { PipelineConfig } from './pipeline-config.js';
import { LocalRunner, type LocalJobUpdate } from './local-runner.js';
import { killOrphanGroup } from './process-group.js';
import { PushmanagerError } from '../../state/pushmanager-error.js';

export interface JobServiceOptions {
  readonly dispatcher: Dispatcher;
  readonly pipeline: PipelineConfig;
  /** The managed (bare) repository checkouts are made from. */
  readonly repoDir: string;
  readonly dataDir: string;
  readonly log: (level: 'info' | 'warn' | 'error', msg: string) => void;
  /** The server's environment (default process.env): read only for PATH, LANG, TZ and passEnv. */
  readonly serverEnv?: NodeJS.ProcessEnv;
}

export class JobLogError extends PushmanagerError {
  readonly code = 'job-log-missing' as const;
}


/** What the committed events ask of the runner: jobs to start, jobs to stop. */
export function jobReactions(events: readonly DomainEvent[]): { readonly run: readonly string[]; readonly cancel: readonly string[] } {
  const run: string[] = [];
  const cancel: string[] = [];
  for (const e of events) {
    if (e.type === 'JobQueued' && e.job.runner === 'local') run.push(e.job.id);
    else if (e.type === 'JobRequeued') run.push(e.job);
    // The runner's own report of a cancel is also a JobFinished: cancelling an ended job is a no-op there.
    else if (e.type === 'JobFinished' && e.state === 'cancelled') cancel.push(e.job);
  }
  return { run, cancel };
}

export class JobService {
  readonly runner: LocalRunner;
  private closed = false;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly o: JobServiceOptions) {
    const p = o.pipeline;
    this.runner = new LocalRunner({
      repoDir: o.repoDir,
      dataDir: o.dataDir,
      concurrency: p.concurrency,
      killGraceMs: p.killGraceSec * 1000,
      log: p.log,
      passEnv: p.passEnv,
      ...(o.serverEnv && { serverEnv: o.serverEnv }),
      onUpdate: (u) => this.track(this.record(u)),
    });
  }

  /** After every commit: start what was queued, stop what was cancelled. */
  readonly afterCommit = (c: Committed): void => {
    if (this.closed) return;
    const { run, cancel } = jobReactions(c.events);
    for (const id of cancel) if (this.runner.status(id) !== undefined) this.runner.cancel(id, findJob(c.board, id)?.job.reason ?? 'cancelled');
    for (const id of run) {
      const found = findJob(c.board, id);
      if (found && found.job.state === 'queued') this.submit(found.job, c.board);
    }
  };

  /**
   * Start-up, before taking commands: a local job the last run left `running` was cut off by a crash:
   * what is left of its process group is killed, it is recorded `interrupted` and run again; queued
   * jobs (and interrupted ones) are run. Work dirs the crash left are removed first.
   */
  async resume(): Promise<void> {
    await this.runner.sweepWork();
    void this.runner.pruneLogs().catch(() => undefined);
    const { board } = await this.o.dispatcher.read();
    for (const p of Object.values(board.pushes)) {
      for (const j of p.jobs ?? []) {
        if (j.runner !== 'local') continue;
        if (j.state === 'running') {
          if (j.handle?.runner === 'local') {
            const out = await killOrphanGroup(j.handle, this.o.pipeline.killGraceSec * 1000);
            if (out.outcome === 'killed') this.o.log('warn', `job ${j.id} (${j.name}): killed what a crashed run left of it (pids ${out.pids.join(', ')})`);
          }
          await this.report(j.id, { type: 'interrupted', at: new Date().toISOString() });
          await this.report(j.id, { type: 'requeued' });
        } else if (j.state === 'interrupted') {
          await this.report(j.id, { type: 'requeued' });
        } else if (j.state === 'queued') {
          this.submit(j, board);
        }
      }
    }
  }

  /** The job's log so far and, while it runs, live until it ends; a finished job's log as kept. */
  async *follow(job: Job): AsyncGenerator<Buffer> {
    if (this.runner.status(job.id) !== undefined) {
      yield* this.runner.follow(job.id);
      return;
    }
    if (!job.log && job.notRun) throw new JobLogError(`job ${job.id} (${job.name}) never ran (${job.reason ?? 'the runner could not run it'}): there is no log`, { job: job.id });
    if (!job.log) throw new JobLogError(`job ${job.id} (${job.name}) has no log${isPending(job.state) ? ' yet' : ''}: it is ${job.state}`, { job: job.id });
    try {
      yield await readFile(join(this.o.dataDir, job.log));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new JobLogError(`the log of job ${job.id} is gone (logs are kept ${this.o.pipeline.log.retentionDays} days)`, { job: job.id });
      throw e;
    }
  }

  /** Waits until every report is recorded (tests). */
  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /** Shutdown: running jobs end as interrupted (recorded), to be run again by the next start. */
  async close(): Promise<void> {
    await this.runner.close();
    await this.idle();
    this.closed = true;
  }

  private submit(job: Job, board: Board): void {
    if (this.closed || this.runner.status(job.id) !== undefined) return;
    const cfg = this.o.pipeline.jobs.find((j) => j.name === job.name && j.on === job.on);
    const push = board.pushes[job.push];
    if (!cfg?.run || !push) {
      void this.track(this.report(job.id, { type: 'failed', at: new Date().toISOString(), reason: `no ${job.on} job named ${job.name} with run: in the pipeline config`, notRun: true }));
      return;
    }
    this.runner.submit({
      id: job.id,
      name: job.name,
      sha: job.sha,
      push: job.push,
      branch: jobBranch(push, job).replace(/^refs\/heads\//, ''),
      // The environment the step queued the job with (a stage job runs before the push records its env).
      ...((job.on === 'stage' || job.on === 'bless') && (job.env ?? push.stageEnv) !== null && { env: (job.env ?? push.stageEnv)! }),
      attempt: job.attempt,
      run: cfg.run,
      timeoutSec: cfg.timeoutSec,
    });
  }

  private async record(u: LocalJobUpdate): Promise<void> {
    if (u.type === 'started')
      return this.report(u.id, { type: 'started', at: u.at.toISOString(), handle: { runner: 'local', pgid: u.pgid, startTicks: u.startTicks, bootId: u.bootId }, log: u.log });
    const at = u.finishedAt.toISOString();
    const code = u.exitCode !== undefined ? { exitCode: u.exitCode } : {};
    const change: JobEvent =
      u.state === 'passed' ? { type: 'passed', at, ...code }
      : u.state === 'failed' ? { type: 'failed', at, ...code, reason: u.reason, ...(u.notRun ? { notRun: true as const } : this.tailOf(u.log)) }
      : u.state === 'cancelled' ? { type: 'cancelled', at, reason: u.reason }
      : { type: 'interrupted', at };
    return this.report(u.id, change);
  }

  /**
   * The last lines of a finished job's log (the runner closed it before reporting), so the failure
   * notice can say what went wrong without anyone opening the log: raw bytes here, made safe where shown.
   */
  private tailOf(log: string): { tail?: string } {
    // No log to quote: the notice still names the job and how to read it.
    const end = readLogEnd(join(this.o.dataDir, log), JOB_TAIL_BYTES);
    const tail = end ? logTail(end.text, end.cut) : '';
    return tail ? { tail } : {};
  }

  /** One report through the write path; one the board no longer takes (the job was cancelled meanwhile) is dropped. */
  private report(job: string, change: JobEvent): Promise<void> {
    return recordJobChange(this.o.dispatcher, this.o.log, job, change);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    return p;
  }
}
