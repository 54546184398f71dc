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
import type { Board } from '../../state/model.js';
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
  const env = push?.stageEnv && (job.on === 'stage' || job.on === 'bless') ? { env: push.stageEnv } : {};
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
    for (const e of c.events) {
      if (e.type !== 'JobQueued' && e.type !== 'JobRequeued') continue;
      const id = e.type === 'JobQueued' ? e.job.id : e.job;
      const found = c.board.pushes[e.push]?.jobs?.find((j) => j.id === id);
      if (found && found.runner === 'external' && found.state === 'queued') jobs.push(found);
    }
    if (jobs.length) this.track(this.announce(jobs, c.board));
  };

  /** Nothing runs here: an external job waits for its report across restarts. Announcing needs the URL (started). */
  async resume(): Promise<void> {}

  async started(url: string): Promise<void> {
    this.url = url;
    // A crash between a job's commit and its announcement, or jobs queued before: the queue skips what it sent.
    const { board } = await this.o.dispatcher.read();
    const waiting = Object.values(board.pushes).flatMap((p) => (p.jobs ?? []).filter((j) => j.runner === 'external' && j.state === 'queued'));
    if (waiting.length) await this.track(this.announce(waiting, board));
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

  private async announce(jobs: readonly Job[], board: Board): Promise<void> {
    const at = new Date().toISOString();
    try {
      const items = jobs.map((j) => {
        const body = jobAnnouncement(j, board, this.url!, at);
        return { key: body.id, type: body.type, body };
      });
      const n = await this.queue.enqueueBodies(items);
      if (n) this.o.log('info', `pipeline: announced job${n > 1 ? 's' : ''} ${jobs.map((j) => j.id).join(', ')} to ${this.o.external.url}`);
    } catch (e) {
      this.o.log('error', `pipeline: could not queue the announcement of jobs ${jobs.map((j) => j.id).join(', ')}: ${(e as Error).message}; the next start announces them`);
    }
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    return p;
  }
}
