// The external runner (SPEC §6, runner: external): any other CI runs the train's jobs. Each queued job
// is announced once with a signed POST through the webhook queue (server/integrations/webhooks.ts: an
// fsync'd journal, retried with backoff while the CI is down, a key sent once across restarts), and
// the CI reports the result back with `pushmanager job report ID --state passed|failed [--url U]` or
// POST /api/commands {type: "ReportJob"}, as a user or token with the `ci` role (state/decide.ts).
// The server runs nothing itself: across a restart an external job simply keeps waiting, and start-up
// announces again whatever is still queued (the queue drops what it already sent).
import { jobBranch } from '../../state/bisection.js';
import { join } from 'node:path';
import type { Job } from '../../state/jobs.js';
import { isOpenPush, type Board } from '../../state/model.js';
import type { Committed, Dispatcher } from '../app/dispatcher.js';
import type { FetchLike } from '../integrations/http-client.js';
import { WebhookDispatcher } from '../integrations/webhooks.js';
import { JobLogError } from './job-service.js';
import type { ExternalRunnerConfig } from './pipeline-config.js';
import type { PipelineService } from './pipeline-service.js';

/** The body of one announcement (what the CI receives; docs/integrations.md). */
export interface JobAnnouncement {
  /** Also the X-Pushmanager-Delivery header: `job:<id>`, the same on a repeated delivery. */
  readonly id: string;
  readonly type: 'JobQueued';
  readonly at: string;
  readonly job: {
    readonly id: string;
    readonly name: string;
    readonly on: Job['on'];
    readonly sha: string;
    readonly push: number;
    /** The deploy branch the SHA is the tip of, without refs/heads/ (fetch it from the server). */
    readonly branch: string;
    readonly attempt: number;
    readonly kind: Job['kind'];
    /** The stage environment of a stage or bless job. */
    readonly env?: string;
  };
  /** How to report the result back: as a user or token with the ci role. */
  readonly report: {
    readonly role: 'ci';
    readonly cli: string;
    readonly api: { readonly method: 'POST'; readonly url: string; readonly body: { readonly type: 'ReportJob'; readonly job: string; readonly state: 'passed | failed'; readonly url: '<optional: the CI run page>' } };
  };
}

/**
 * The CI is told when a job it was given is cancelled: a newer build replaced its SHA, a culprit search
 * moved on or stopped, or the pushmaster cancelled it. Its run can stop there; a report for it is still
 * recorded (and gates nothing). Without it a CI kept testing replaced SHAs to the end.
 */
export interface JobCancellation {
  /** `job:<id>:cancelled`, the same on a repeated delivery. */
  readonly id: string;
  readonly type: 'JobCancelled';
  readonly at: string;
  readonly job: JobAnnouncement['job'];
  /** Why, in words ("replaced by the build of 1a2b3c4d5e", "cancelled by pm"). */
  readonly reason: string;
}

/** The cancellation notice of `job` (cancelled) on `board`: pure. */
export function jobCancellation(job: Job, board: Board, at: string): JobCancellation {
  const { job: what } = jobAnnouncement(job, board, '', at);
  return { id: `job:${job.id}:cancelled`, type: 'JobCancelled', at, job: what, reason: job.reason ?? 'cancelled' };
}

export interface ExternalJobServiceOptions {
  readonly dispatcher: Dispatcher;
  readonly external: ExternalRunnerConfig;
  readonly dataDir: string;
  readonly log: (level: 'info' | 'warn' | 'error', msg: string) => void;
  readonly fetch?: FetchLike;
}

/** The announcement of `job` on `board`, naming where to report: pure. */
export function jobAnnouncement(job: Job, board: Board, serverUrl: string, at: string): JobAnnouncement {
  const push = board.pushes[job.push];
  // The job's own env (fixed when its step queued it), not the push's current one, which a later stage may have moved.
  const jobEnv = job.on === 'stage' || job.on === 'bless' ? (job.env ?? push?.stageEnv ?? null) : null;
  const env = jobEnv ? { env: jobEnv } : {};
  return {
    id: `job:${job.id}`,
    type: 'JobQueued',
    at,
    job: { id: job.id, name: job.name, on: job.on, sha: job.sha, push: job.push, branch: (push ? jobBranch(push, job) : '').replace(/^refs\/heads\//, ''), attempt: job.attempt, kind: job.kind, ...env },
    report: {
      role: 'ci',
      cli: `pushmanager job report ${job.id} --state passed|failed [--url URL]`,
      api: { method: 'POST', url: `${serverUrl.replace(/\/+$/, '')}/api/commands`, body: { type: 'ReportJob', job: job.id, state: 'passed | failed', url: '<optional: the CI run page>' } },
    },
  };
}

export class ExternalJobService implements PipelineService {
  private url: string | null = null;
  private closed = false;
  private readonly inFlight = new Set<Promise<unknown>>();

  private constructor(
    private readonly o: ExternalJobServiceOptions,
    private readonly queue: WebhookDispatcher,
  ) {
    queue.on('failed', (e) => o.log('warn', `pipeline: announcing ${e.id} to ${e.url} failed (attempt ${e.attempts}): ${e.error}${e.willRetry ? '; retrying' : '; given up'}`));
  }

  /** Opens the announcement queue (replaying its journal: what a crash left unsent goes out). */
  static async open(o: ExternalJobServiceOptions): Promise<ExternalJobService> {
    const queue = await WebhookDispatcher.open({ receivers: [{ url: o.external.url, secret: o.external.secret }], dir: join(o.dataDir, 'jobs', 'announce'), timeoutMs: o.external.timeoutMs, fetch: o.fetch });
    return new ExternalJobService(o, queue);
  }

  readonly afterCommit = (c: Committed): void => {
    if (this.closed || this.url === null) return;
    const jobs: Job[] = [];
    const cancelled: Job[] = [];
    for (const e of c.events) {
      if (e.type === 'JobFinished' && e.state === 'cancelled') {
        const found = c.board.pushes[e.push]?.jobs?.find((j) => j.id === e.job);
        if (found && found.runner === 'external' && found.state === 'cancelled') cancelled.push(found);
        continue;
      }
      if (e.type !== 'JobQueued' && e.type !== 'JobRequeued') continue;
      const id = e.type === 'JobQueued' ? e.job.id : e.job;
      const found = c.board.pushes[e.push]?.jobs?.find((j) => j.id === id);
      if (found && found.runner === 'external' && found.state === 'queued') jobs.push(found);
    }
    if (jobs.length || cancelled.length) this.track(this.announce(jobs, c.board, cancelled));
  };

  /** Nothing runs here: an external job waits for its report across restarts. Announcing needs the URL (started). */
  async resume(): Promise<void> {}

  async started(url: string): Promise<void> {
    this.url = url;
    // A crash between a job's commit and its announcement, or jobs queued before: the queue skips what it sent.
    const { board } = await this.o.dispatcher.read();
    const waiting = Object.values(board.pushes).flatMap((p) => (p.jobs ?? []).filter((j) => j.runner === 'external' && j.state === 'queued'));
    // And the cancels a crash kept from going out, on pushes still open (the queue skips those it sent).
    const cancelled = Object.values(board.pushes)
      .filter(isOpenPush)
      .flatMap((p) => (p.jobs ?? []).filter((j) => j.runner === 'external' && j.state === 'cancelled' && !j.lateReport));
    if (waiting.length || cancelled.length) await this.track(this.announce(waiting, board, cancelled));
  }

  // eslint-disable-next-line require-yield
  async *follow(job: Job): AsyncGenerator<Buffer> {
    throw new JobLogError(`job ${job.id} (${job.name}) runs on an external CI: its log is there${job.url ? ` (${job.url})` : ' (the CI reports its page with --url)'}`, { job: job.id });
  }

  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
    await this.queue.idle();
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
    await this.queue.close();
  }

  private async announce(jobs: readonly Job[], board: Board, cancelled: readonly Job[] = []): Promise<void> {
    const at = new Date().toISOString();
    const ids = [...jobs, ...cancelled].map((j) => j.id).join(', ');
    try {
      const items = [
        ...jobs.map((j) => {
          const body = jobAnnouncement(j, board, this.url!, at);
          return { key: body.id, type: body.type, body };
        }),
        ...cancelled.map((j) => {
          const body = jobCancellation(j, board, at);
          return { key: body.id, type: body.type, body };
        }),
      ];
      const n = await this.queue.enqueueBodies(items);
      if (n) this.o.log('info', `pipeline: announced ${jobs.length ? `job${jobs.length > 1 ? 's' : ''} ${jobs.map((j) => j.id).join(', ')}` : ''}${jobs.length && cancelled.length ? ' and ' : ''}${cancelled.length ? `the cancel of ${cancelled.map((j) => j.id).join(', ')}` : ''} to ${this.o.external.url}`);
    } catch (e) {
      this.o.log('error', `pipeline: could not queue the announcement of jobs ${ids}: ${(e as Error).message}; the next start announces them`);
    }
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    return p;
  }
}
