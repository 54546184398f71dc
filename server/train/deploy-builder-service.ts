// The deploy builder service: builds the deploy branches the write path asks for (outside the
// writer, handed back as facts), and rebuilds stale ones in the background (a pushee's re-push, a
// certification that moved master), one build of a push at a time. Git work only; what a build
// means for the board is decided in state/plan.ts (and RecordBuild in state/decide.ts).
import { systemActor } from '../../state/decide.js';
import { isDomainError } from '../../state/errors.js';
import { buildIsCurrent, isOpenPush, mergedRequests, type Board, type MergedRequest, type Push, type PushId, type PushRequest, type RequestId } from '../../state/model.js';
import { masterEpoch, type BuildFact, type BuildNeed } from '../../state/plan.js';
import { safeLine, safeText } from '../../state/text.js';
import type { Dispatcher } from '../app/dispatcher.js';
import type { EventBus } from '../app/event-bus.js';
import type { GitRepo } from '../git/git-repo.js';
import { buildDeployBranch, type BuildOutcome } from './deploy-builder.js';
import { sleep, type Timers } from './timers.js';

export interface DeployBuilderOptions {
  readonly repo: GitRepo;
  readonly bus: EventBus;
  /** master's SHA; `refresh` (default true) fetches it from upstream first when one is configured. */
  readonly master: (refresh?: boolean) => Promise<string>;
  readonly now: () => Date;
  readonly timers: Timers;
  readonly log: (level: 'info' | 'warn' | 'error', msg: string) => void;
  /** Links for merge commit messages (Reviewboard, tickets), when configured. */
  readonly reviewUrl?: (id: string) => string;
  readonly onTimings?: (kind: 'rebuild', ms: number) => void;
}

/** The identity of the server's own commits (merges, tags). */
export const trainIdentity = (now: Date) => ({ name: 'Pushmanager', email: 'pushmanager@localhost', date: now.toISOString() });

export class DeployBuilderService {
  constructor(private readonly o: DeployBuilderOptions) {}

  /**
   * A request's merge commit message: the title line, the request's description (the original's whole
   * merge message was the description, so `git log` of the deploy branch explains each change), then
   * the links and the machine-readable lines, last so they stay the message's trailer block.
   */
  mergeMessage(r: PushRequest, push: Push): string {
    const lines = [`Merge request ${r.id} "${safeLine(r.title)}" (${r.user}) into push ${push.id}`, ''];
    const description = messageBody(r.description);
    if (description) lines.push(description, '');
    if (r.review) lines.push(`Review: ${this.o.reviewUrl ? this.o.reviewUrl(r.review) : r.review}`);
    if (r.ticket) lines.push(`Ticket: ${r.ticket}`);
    lines.push(`Request: ${r.id}`, `Owner: ${r.user}`, `Ref: ${r.ref}`, `Push: ${push.id} ${safeLine(push.title)}`);
    return lines.join('\n') + '\n';
  }

  private async run(push: Push, requests: readonly PushRequest[], mode: 'stop' | 'skip', base: string): Promise<BuildOutcome> {
    const items = requests.map((r) => ({ id: r.id, sha: r.sha, message: this.mergeMessage(r, push) }));
    const started = performance.now();
    const outcome = await buildDeployBranch(this.o.repo, base, items, {
      onConflict: mode,
      previous: push.baseSha ? { baseSha: push.baseSha, merges: push.merges.map((m) => ({ id: m.request, sha: m.sha, commit: m.commit })) } : undefined,
      identity: trainIdentity(this.o.now()),
      onProgress: (done, total) => this.o.bus.publish({ kind: 'progress', push: push.id, task: 'rebuild', done, total }),
    });
    this.o.onTimings?.('rebuild', performance.now() - started);
    return outcome;
  }

  /**
   * A bisection candidate: `requests` (a prefix of the push's, or a prefix and one more) merged onto `base`
   * with the deploy branch's own machinery. The deploy branch's merges are reused for the common prefix,
   * so a prefix candidate is usually one of the deploy branch's own merge commits: no git work at all.
   */
  async buildCandidate(push: Push, requests: readonly PushRequest[], base: string): Promise<{ readonly sha: string; readonly merges: readonly MergedRequest[] } | { readonly sha: null; readonly files: readonly string[] }> {
    if (requests.length === 0) return { sha: base, merges: [] };
    const outcome = await this.run(push, requests, 'stop', base);
    return outcome.ok ? { sha: outcome.sha, merges: outcome.merges.map((m) => ({ request: m.id as RequestId, sha: m.sha, commit: m.commit })) } : { sha: null, files: outcome.failed.files };
  }

  /** The builds the write path found missing: one per push, on master as it is now. */
  async build(needs: readonly BuildNeed[]): Promise<BuildFact[]> {
    const out: BuildFact[] = [];
    for (const need of needs) {
      const base = await this.o.master();
      const outcome = await this.run(need.push, need.requests, need.mode, base);
      out.push({
        push: need.push.id,
        mode: need.mode,
        epoch: need.epoch,
        inputs: need.requests.map((r) => ({ request: r.id, sha: r.sha })),
        baseSha: base,
        outcome: outcome.ok
          ? { ok: true, deploySha: outcome.sha, merges: outcome.merges.map((m) => ({ request: m.id as RequestId, sha: m.sha, commit: m.commit })), dropped: outcome.dropped.map((d) => ({ request: d.id as RequestId, files: d.files })) }
          : { ok: false, request: outcome.failed.id as RequestId, files: outcome.failed.files },
      });
    }
    return out;
  }

  /** Rebuilds a stale push outside the writer and records it (the server's own, background lane). */
  async rebuildInBackground(dispatcher: Dispatcher, id: PushId, closed: () => boolean): Promise<void> {
    for (let attempt = 0; attempt < 5 && !closed(); attempt++) {
      const { board } = await dispatcher.read();
      const push = board.pushes[id];
      if (!push || !isOpenPush(push)) return;
      const master = await this.o.master();
      if (buildIsCurrent(board, push) && push.baseSha === master) return;
      // Built outside the write queue, so pushes keep flowing while 50 merges are made.
      const [fact] = await this.build([{ push, requests: mergedRequests(board, id), mode: 'skip', epoch: masterEpoch(board as Board) }]);
      if (!fact || !fact.outcome.ok) return;
      const { deploySha, merges, dropped } = fact.outcome;
      const out = await dispatcher.execute({ type: 'RecordBuild', push: id, deploySha, baseSha: fact.baseSha, merges, dropped }, systemActor('deploy-build'), { lane: 'background' });
      if (!isDomainError(out)) return;
      if (out.code !== 'deploy-branch-stale') {
        this.o.log('warn', `recording the rebuild of push ${id} was refused: ${out.message}`);
        return;
      }
    }
  }
}

/** Background rebuilds, one at a time per push: asked again while one runs, it runs once more after it. */
export class RebuildScheduler {
  private readonly pending = new Map<number, Promise<void>>();
  private readonly running = new Set<number>();
  private readonly rerun = new Set<number>();
  private closed = false;

  constructor(
    private readonly rebuild: (push: PushId) => Promise<void>,
    private readonly o: { readonly timers: Timers; readonly log: DeployBuilderOptions['log']; readonly track: <T>(p: Promise<T>) => Promise<T> },
  ) {}

  get busy(): boolean {
    return this.pending.size > 0;
  }

  schedule(push: number): void {
    if (this.pending.has(push) || this.closed) return;
    if (this.running.has(push)) {
      this.rerun.add(push);
      return;
    }
    const job = this.o.track(
      (async () => {
        await sleep(this.o.timers, 10); // coalesce a burst of re-pushes
        this.pending.delete(push);
        this.running.add(push);
        try {
          await this.rebuild(push as PushId);
        } finally {
          this.running.delete(push);
          if (this.rerun.delete(push)) this.schedule(push);
        }
      })().catch((e: unknown) => this.o.log('error', `background rebuild of push ${push} failed: ${(e as Error).message}`)),
    );
    this.pending.set(push, job);
  }

  close(): void {
    this.closed = true;
  }
}

/**
 * A description as a commit message body: line breaks kept (CRLF read as one), terminal escapes and
 * control characters dropped (NUL would not even fit a commit object), blank lines at either end gone.
 */
export function messageBody(description: string): string {
  return safeText(description.replace(/\r\n?/g, '\n'))
    .replace(/[ \t]+$/gm, '')
    .replace(/^\n+|\n+$/g, '');
}
