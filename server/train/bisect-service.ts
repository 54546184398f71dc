// The bisection service (issue 16): the git work of a running culprit search. After every commit that
// touches a push's search, and at start-up (a search a crash cut off goes on), it asks the search which
// candidates to run next (state/bisection.ts → state/bisect.ts), builds them outside the writer with the
// deploy branch's merge machinery (no work tree), and records them with TestBisectCandidates, which
// queues their jobs (kind bisect) for the runner. Conclusions and the culprit's removal are decided in
// the writer (state/bisection.ts); this service only builds. One search step per push at a time.
import { bisectionStep, findCandidate, membersOf, runningCandidateJobs, touchedPushes } from '../../state/bisection.js';
import type { BisectCandidateBuilt } from '../../state/commands.js';
import { systemActor } from '../../state/decide.js';
import { isDomainError } from '../../state/errors.js';
import type { JobRunner } from '../../state/jobs.js';
import { isOpenPush, type PushId, type PushRequest } from '../../state/model.js';
import type { Committed, Dispatcher } from '../app/dispatcher.js';
import type { DeployBuilderService } from './deploy-builder-service.js';

export interface BisectServiceOptions {
  readonly dispatcher: Dispatcher;
  readonly builder: DeployBuilderService;
  readonly runner: JobRunner;
  /** Candidates run at once (pipeline.bisectParallel). */
  readonly parallel: number;
  readonly log: (level: 'info' | 'warn' | 'error', msg: string) => void;
}

export class BisectService {
  private readonly running = new Set<PushId>();
  private readonly again = new Set<PushId>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  constructor(private readonly o: BisectServiceOptions) {}

  readonly afterCommit = (c: Committed): void => {
    if (this.closed) return;
    for (const id of touchedPushes(c.events)) if (c.board.pushes[id]?.bisection?.state === 'running') this.schedule(id);
  };

  /** Start-up: every search the last run left running goes on (its interrupted runs are the job service's). */
  async resume(): Promise<void> {
    const { board } = await this.o.dispatcher.read();
    for (const p of Object.values(board.pushes)) if (p.bisection?.state === 'running' && isOpenPush(p)) this.schedule(p.id);
  }

  schedule(id: PushId): void {
    if (this.closed) return;
    if (this.running.has(id)) {
      this.again.add(id);
      return;
    }
    this.running.add(id);
    const work = this.step(id)
      .catch((e: unknown) => this.o.log('error', `bisection of push ${id}: ${(e as Error).message}`))
      .finally(() => {
        this.running.delete(id);
        if (this.again.delete(id)) this.schedule(id);
      });
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  /** Waits until no search step is under way (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
  }

  private async step(id: PushId): Promise<void> {
    for (let attempt = 0; attempt < 5 && !this.closed; attempt++) {
      const { board } = await this.o.dispatcher.read();
      const push = board.pushes[id];
      const search = push?.bisection;
      if (!push || !search || search.state !== 'running' || !isOpenPush(push)) return;
      const step = bisectionStep(board, push, Math.max(0, this.o.parallel - runningCandidateJobs(push)));
      if (!step || step.type !== 'test' || step.candidates.length === 0) return;
      const built: BisectCandidateBuilt[] = [];
      for (const cand of step.candidates) {
        const members = membersOf(search.requests, cand);
        const known = findCandidate(search, members, search.base);
        if (known) {
          built.push({ members, base: search.base, sha: known.sha });
          continue;
        }
        // The request records at the SHAs the search holds (a re-push since then makes the record stale, and the step is taken again).
        const requests = members.map((m) => ({ ...board.requests[m.request]!, sha: m.sha }) as PushRequest);
        const out = await this.o.builder.buildCandidate(push, requests, search.base);
        built.push(out.sha === null ? { members, base: search.base, sha: null, files: out.files } : { members, base: search.base, sha: out.sha, merges: out.merges });
      }
      const res = await this.o.dispatcher.execute({ type: 'TestBisectCandidates', push: id, bisection: search.job, runner: this.o.runner, candidates: built }, systemActor('pipeline'), { lane: 'background' });
      if (!isDomainError(res)) return;
      if (res.code !== 'bisection-stale') {
        this.o.log('warn', `bisection of push ${id}: recording candidates was refused: ${res.message}`);
        return;
      }
    }
  }
}
