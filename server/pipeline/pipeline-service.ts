// What the composition root asks of whichever runner the pipeline config names (SPEC §6): react to
// committed events, pick up after a restart, serve a job's log, stop. The local runner's JobService
// (job-service.ts), the Buildbot one (buildbot-job-service.ts) and the external CI's
// (external-job-service.ts) each implement it; which jobs exist is decided in the writer either way.
import type { Job } from '../../state/jobs.js';
import type { Committed } from '../app/dispatcher.js';

export interface PipelineService {
  /** After every commit: act on jobs queued, requeued or cancelled by it. */
  readonly afterCommit: (c: Committed) => void;
  /** Start-up, before taking commands: what the last run left (running, queued) is picked up. */
  resume(): Promise<void>;
  /** Once the server listens (its URL known): work that names it (announcements) may go out. */
  started?(url: string): Promise<void>;
  /** The job's log so far and, while it runs, live until it ends. */
  follow(job: Job): AsyncGenerator<Buffer>;
  /** Waits until every report is recorded (tests). */
  idle(): Promise<void>;
  close(): Promise<void>;
}
