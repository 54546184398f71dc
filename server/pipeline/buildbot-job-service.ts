// The Buildbot runner wired into the train (SPEC §6, runner: buildbot): each queued job is a build
// forced on its configured builder (buildbot-runner.ts), followed until it ends; what happens is
// recorded through the one write path as the system (cause `pipeline`): started with the build
// request, attached with the build and its page once a worker takes it, then passed / failed /
// cancelled with the build's URL. The build runs on the master, not here: a server that stops (or is
// SIGKILLed) leaves it running, and the next start re-attaches each running job by its recorded build
// id (or build request id, when no build had started) and follows it on. Logs are Buildbot's step
// logs, read through the same REST API.
import { jobBranch } from '../../state/bisection.js';
import { isPending, logTail, type Job, type JobEvent } from '../../state/jobs.js';
import { findJob, type Board } from '../../state/model.js';
import type { Committed, Dispatcher } from '../app/dispatcher.js';
import { recordJobChange } from './record-job.js';
import { BuildbotRunner, isOutage, sleep, type BuildbotHandle, type BuildbotProgress } from './buildbot-runner.js';
import { JobLogError } from './job-service.js';
import type { BuildbotRunnerConfig, PipelineConfig } from './pipeline-config.js';
import type { PipelineService } from './pipeline-service.js';
import type { FetchLike } from '../integrations/http-client.js';

export interface BuildbotJobServiceOptions {
  readonly dispatcher: Dispatcher;
  readonly pipeline: PipelineConfig;
  readonly buildbot: BuildbotRunnerConfig;
  readonly log: (level: 'info' | 'warn' | 'error', msg: string) => void;
  readonly fetch?: FetchLike;
}

interface Active {
  readonly abort: AbortController;
  handle?: BuildbotHandle;
  /** Cancelled on the board before the build request was known: stopped as soon as it is. */
  cancel?: string;
}

const now = () => new Date().toISOString();

/** The master's refusal in words, once prefixed: the runner's errors already start "buildbot: ". */
const said = (e: unknown): string => (e as Error).message.replace(/^buildbot: /i, '');
const refusal = (e: unknown): string => `Buildbot: ${said(e)}`;

export class BuildbotJobService implements PipelineService {
  readonly runner: BuildbotRunner;
  private readonly active = new Map<string, Active>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  constructor(private readonly o: BuildbotJobServiceOptions) {
    this.runner = new BuildbotRunner({ url: o.buildbot.url, scheduler: o.buildbot.scheduler, pollMs: o.buildbot.pollMs, requestTimeoutMs: o.buildbot.requestTimeoutMs, ...(o.fetch && { fetch: o.fetch }) });
  }

  readonly afterCommit = (c: Committed): void => {
    if (this.closed) return;
    for (const e of c.events) {
      if (e.type === 'JobQueued' || e.type === 'JobRequeued') {
        const found = findJob(c.board, e.type === 'JobQueued' ? e.job.id : e.job);
        if (found && found.job.runner === 'buildbot' && found.job.state === 'queued') this.start(found.job, c.board);
      } else if (e.type === 'JobFinished' && e.state === 'cancelled' && this.active.has(e.job)) {
        this.track(this.stop(e.job, e.reason ?? 'cancelled'));
      }
    }
  };

  /** Start-up: running jobs are re-attached to their builds (which ran on while we were down); queued ones forced. */
  async resume(): Promise<void> {
    this.track(this.checkConfig());
    const { board } = await this.o.dispatcher.read();
    for (const p of Object.values(board.pushes)) {
      for (const j of p.jobs ?? []) {
        if (j.runner !== 'buildbot') continue;
        if (j.state === 'running' && j.handle?.runner === 'buildbot') {
          this.reattach(j, { buildRequestId: j.handle.buildRequestId, ...(j.handle.buildId !== undefined && { buildId: j.handle.buildId }) });
        } else if (j.state === 'queued' || (j.state === 'running' && !j.handle)) {
          // Queued, or recorded started without a request (cannot happen today): forced (again).
          if (j.state === 'queued') this.start(j, board);
          else {
            await this.report(j.id, { type: 'interrupted', at: now() });
            await this.report(j.id, { type: 'requeued' });
          }
        } else if (j.state === 'interrupted') {
          await this.report(j.id, { type: 'requeued' });
        }
      }
    }
  }

  /** The build's step logs, each introduced by a header line; live until the build ends while it runs. */
  async *follow(job: Job): AsyncGenerator<Buffer> {
    const h = job.handle?.runner === 'buildbot' ? job.handle : null;
    if (!h && job.notRun) throw new JobLogError(`job ${job.id} (${job.name}) never ran on Buildbot (${job.reason ?? 'the master refused it'}): there is no log`, { job: job.id });
    if (!h) throw new JobLogError(`job ${job.id} (${job.name}) has no build on Buildbot${isPending(job.state) ? ' yet' : ''}: it is ${job.state}`, { job: job.id });
    const handle: BuildbotHandle = { buildRequestId: h.buildRequestId, ...(h.buildId !== undefined && { buildId: h.buildId }) };
    if (job.state !== 'queued' && job.state !== 'running' && handle.buildId === undefined) throw new JobLogError(`job ${job.id} (${job.name}) ended (${job.state}) before Buildbot started a build: there is no log`, { job: job.id });
    // A running build's chunks as they come (the first is all so far); a finished build's log in one piece.
    for await (const text of this.runner.followLog(handle)) {
      yield Buffer.from(text);
      if (this.closed) return;
    }
  }

  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /** Stops following (the builds run on, on the master); the next start re-attaches them. */
  async close(): Promise<void> {
    this.closed = true;
    for (const a of this.active.values()) a.abort.abort();
    await this.idle();
  }

  /**
   * At start, the config against the master: a builder or force scheduler it does not have would make
   * every such job fail unrun, so the log says so now, naming the field, rather than on the first push.
   * A master that does not answer is not waited for (its jobs wait for it anyway).
   */
  private async checkConfig(): Promise<void> {
    let names: Awaited<ReturnType<BuildbotRunner['names']>>;
    try {
      names = await this.runner.names();
    } catch (e) {
      this.o.log('warn', `pipeline: could not ask Buildbot at ${this.o.buildbot.url} for its builders (${(e as Error).message}); jobs wait for it`);
      return;
    }
    const list = (xs: readonly string[]) => (xs.length ? xs.map((x) => `"${x}"`).join(', ') : 'none');
    if (!names.schedulers.includes(this.o.buildbot.scheduler))
      this.o.log('error', `pipeline.buildbot.scheduler: Buildbot at ${this.o.buildbot.url} has no force scheduler "${this.o.buildbot.scheduler}" (it has: ${list(names.schedulers)}); no job can run until it does`);
    this.o.pipeline.jobs.forEach((j, i) => {
      if (j.builder && !names.builders.includes(j.builder))
        this.o.log('error', `pipeline.jobs[${i}].builder: Buildbot at ${this.o.buildbot.url} has no builder "${j.builder}" (it has: ${list(names.builders)}); job ${j.name} cannot run until it does`);
    });
  }

  private start(job: Job, board: Board): void {
    if (this.closed || this.active.has(job.id)) return;
    const cfg = this.o.pipeline.jobs.find((j) => j.name === job.name && j.on === job.on);
    const push = board.pushes[job.push];
    if (!cfg?.builder || !push) {
      this.track(this.report(job.id, { type: 'failed', at: now(), reason: `no ${job.on} job named ${job.name} with builder: in the pipeline config`, notRun: true }));
      return;
    }
    const entry: Active = { abort: new AbortController() };
    this.active.set(job.id, entry);
    const builder = cfg.builder;
    this.track(
      (async () => {
        try {
          const handle = await this.forceThroughOutages(job, entry, { id: job.id, name: job.name, builder, sha: job.sha, branch: jobBranch(push, job).replace(/^refs\/heads\//, ''), push: job.push });
          if (!handle) {
            this.active.delete(job.id);
            return;
          }
          entry.handle = handle;
          await this.report(job.id, { type: 'started', at: now(), handle: { runner: 'buildbot', buildRequestId: handle.buildRequestId } });
          if (entry.cancel !== undefined) await this.runner.cancel(handle, entry.cancel);
          await this.watch(job, entry, handle, undefined);
        } catch (e) {
          this.active.delete(job.id);
          if (this.closed) return;
          if (!entry.handle) {
            // Refused by the master (an outage keeps it queued): the build never ran.
            this.o.log('error', `job ${job.id} (${job.name}): ${refusal(e)}; it is recorded failed, not run (fix the pipeline config, restart, then: pushmanager job retry ${job.id})`);
            await this.report(job.id, { type: 'failed', at: now(), reason: refusal(e), notRun: true });
            return;
          }
          // The master took the build, then refused to say more of it (it forgot it): its result is unknown, not red.
          this.o.log('error', `job ${job.id} (${job.name}): Buildbot took build request ${entry.handle.buildRequestId}, then ${said(e)}; its result is unknown (run it again: pushmanager job retry ${job.id})`);
          await this.report(job.id, { type: 'failed', at: now(), reason: `${refusal(e)} (after it took the build; its result is unknown)`, notRun: true });
        }
      })(),
    );
  }

  /**
   * Forces the build, asking again while the master is away (backing off to 30 s), until it takes it, the
   * job is cancelled or the service closes (null). A refusal (unknown builder, scheduler) is thrown: that is
   * the config's, and the job fails with it. An outage never fails the job: it stays queued.
   */
  private async forceThroughOutages(job: Job, entry: Active, spec: Parameters<BuildbotRunner['force']>[0]): Promise<BuildbotHandle | null> {
    let wait = Math.max(100, this.o.buildbot.pollMs);
    for (let tries = 1; ; tries++) {
      try {
        return await this.runner.force(spec);
      } catch (e) {
        if (!isOutage(e) || this.closed) throw e;
        if (entry.cancel !== undefined) return null;
        if (tries === 1 || tries % 20 === 0) this.o.log('warn', `job ${job.id} (${job.name}): Buildbot is away (${e.message}); the job stays queued and is forced when it answers (try ${tries})`);
        await sleep(wait, entry.abort.signal);
        if (this.closed || entry.cancel !== undefined) return null;
        wait = Math.min(wait * 2, 30_000);
      }
    }
  }

  private reattach(job: Job, handle: BuildbotHandle): void {
    if (this.active.has(job.id)) return;
    const entry: Active = { abort: new AbortController(), handle };
    this.active.set(job.id, entry);
    this.o.log('info', `job ${job.id} (${job.name}): re-attached to Buildbot ${handle.buildId !== undefined ? `build ${handle.buildId}` : `build request ${handle.buildRequestId}`}`);
    this.track(
      this.watch(job, entry, handle, handle.buildId).catch(async (e: unknown) => {
        this.active.delete(job.id);
        // The master refuses to say more of the build (it forgot it): its result is unknown, not red.
        if (!this.closed) await this.report(job.id, { type: 'failed', at: now(), reason: refusal(e), notRun: true });
      }),
    );
  }

  /** Follows the build to its end; records the build once it exists, then the result. Returns early on close. */
  private async watch(job: Job, entry: Active, handle: BuildbotHandle, knownBuild: number | undefined): Promise<void> {
    let attached = knownBuild;
    let chain: Promise<void> = Promise.resolve();
    const onProgress = (p: BuildbotProgress) => {
      entry.handle = p.handle;
      if (p.handle.buildId !== undefined && p.handle.buildId !== attached) {
        attached = p.handle.buildId;
        const h = { runner: 'buildbot' as const, buildRequestId: p.handle.buildRequestId, buildId: p.handle.buildId };
        chain = chain.then(() => this.report(job.id, { type: 'attached', handle: h, ...(p.url && { url: p.url }) }));
      }
    };
    // Through any outage: a build the master runs on is followed again when it answers; nothing is concluded from its silence.
    let silent = 0;
    const onError = (e: Error) => {
      if (silent++ % 30 === 0) this.o.log('warn', `job ${job.id}: Buildbot did not answer (${e.message}); asking again${silent > 1 ? ` (${silent} times)` : ''}`);
    };
    const done = await this.runner.wait(handle, { signal: entry.abort.signal, onProgress, onError, maxErrors: Number.POSITIVE_INFINITY });
    await chain;
    this.active.delete(job.id);
    if (done.state !== 'passed' && done.state !== 'failed' && done.state !== 'cancelled') return; // closed while it ran
    const url = done.url ? { url: done.url } : {};
    const at = now();
    const change: JobEvent =
      done.state === 'passed' ? { type: 'passed', at, ...url }
      : done.state === 'failed' ? { type: 'failed', at, ...url, reason: done.stateString ? `Buildbot: ${done.stateString}` : `Buildbot results ${done.results ?? '?'}`, ...(await this.tailOf(job, done.handle)) }
      : { type: 'cancelled', at, reason: done.stateString ? `Buildbot: ${done.stateString}` : 'cancelled on Buildbot' };
    await this.report(job.id, change);
  }

  /** The last lines of the build's last step log that has output (the step that failed, as a rule), for the failure and culprit notices. */
  private async tailOf(job: Job, handle: BuildbotHandle): Promise<{ tail?: string }> {
    if (handle.buildId === undefined) return {};
    try {
      const logs = (await this.runner.stepLogs(handle.buildId)).filter((l) => l.text.trim() !== '');
      const last = logs.at(-1);
      if (!last) return {};
      // A ShellCommand's stdio starts with Buildbot's header (the command, the worker's whole environment,
      // "using PTY: …") and ends with "elapsedTime=…": quote the step's own output and exit line only.
      const body = last.text.replace(/^[\s\S]*?^\s*using PTY: .*$\n?/m, '').replace(/^elapsedTime=.*$/gm, '');
      const tail = logTail(body);
      return tail ? { tail: `step ${last.stepNumber} ${last.step} (${last.log}):\n${tail}` } : {};
    } catch (e) {
      this.o.log('warn', `job ${job.id}: could not read its build's log for the notice (${(e as Error).message})`);
      return {};
    }
  }

  private async stop(id: string, reason: string): Promise<void> {
    const entry = this.active.get(id);
    if (!entry) return;
    if (!entry.handle) {
      entry.cancel = reason;
      return;
    }
    try {
      await this.runner.cancel(entry.handle, reason);
    } catch (e) {
      this.o.log('warn', `job ${id}: stopping its Buildbot build failed: ${(e as Error).message}`);
    }
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
