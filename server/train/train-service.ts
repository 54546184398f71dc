// The train: the git work around the single writer, as one Preparer for the write path, plus the
// background work that follows commits. Its parts, one idea each: the deploy builder service
// (deploy-builder-service.ts), the certifier (certifier.ts), the conflict service
// (conflict-service.ts), and the reactions table (reactions.ts: what to do after which events).
// Decisions stay in state/ (decide, plan); refs move in the same transaction as the state.
import type { Command } from '../../state/commands.js';
import type { Actor } from '../../state/decide.js';
import { domainError, isDomainError, type DomainError } from '../../state/errors.js';
import { buildIsCurrent, isOpenPush, type Board, type PushId, type RequestId } from '../../state/model.js';
import type { BuildFact, BuildNeed, Facts } from '../../state/plan.js';
import { safeLine } from '../../state/text.js';
import type { Committed, Dispatcher, Preparer } from '../app/dispatcher.js';
import type { EventBus } from '../app/event-bus.js';
import type { GitRepo } from '../git/git-repo.js';
import { Certifier, type CertifierOptions } from './certifier.js';
import { ConflictChecker, type FoundConflict } from './conflict-checker.js';
import { ConflictService, type EarlyCheck } from './conflict-service.js';
import { DeployBuilderService, RebuildScheduler } from './deploy-builder-service.js';
import { reactionsTo } from './reactions.js';
import { realTimers, sleep, type Timers } from './timers.js';
import { TrainError } from './errors.js';

export { messageBody } from './deploy-builder-service.js';
export type { EarlyCheck } from './conflict-service.js';

export interface TrainOptions {
  /** The managed repository (its owner closes it). */
  readonly repo: GitRepo;
  readonly dispatcher: Dispatcher;
  readonly bus: EventBus;
  readonly masterRef: string;
  readonly tagTemplate: string;
  readonly now: () => Date;
  readonly log: (level: 'info' | 'warn' | 'error', msg: string) => void;
  /** The schedulers' time (debounces, coalescing); real timers by default. */
  readonly timers?: Timers;
  /** Links for merge commit messages (Reviewboard, tickets), when configured. */
  readonly reviewUrl?: (id: string) => string;
  /** Called before a build or a check, e.g. to fetch master from upstream. */
  readonly refreshMaster?: () => Promise<void>;
  readonly onTimings?: (kind: 'rebuild' | 'conflicts', ms: number) => void;
  /** When set (Buildbot's blockBlessOnFailure): why the deploy SHA's builds fail, or null. */
  readonly deployBuildFailing?: (sha: string) => Promise<string | null>;
  readonly publishCertified?: CertifierOptions['publishCertified'];
}

export class Train implements Preparer {
  readonly checker: ConflictChecker;
  readonly builder: DeployBuilderService;
  readonly certifier: Certifier;
  readonly conflicts: ConflictService;
  private readonly rebuilds: RebuildScheduler;
  private readonly timers: Timers;
  private closed = false;
  /** Background work in flight, so tests and shutdown can wait for quiet. */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly o: TrainOptions) {
    this.timers = o.timers ?? realTimers;
    this.checker = new ConflictChecker(o.repo);
    const track = <T>(p: Promise<T>): Promise<T> => this.track(p);
    // Every part asks master through masterSha(), so one place says where master comes from.
    const master = (refresh = true) => this.masterSha(refresh);
    this.builder = new DeployBuilderService({ repo: o.repo, bus: o.bus, master, now: o.now, timers: this.timers, log: o.log, reviewUrl: o.reviewUrl, onTimings: o.onTimings });
    this.certifier = new Certifier({ repo: o.repo, dispatcher: o.dispatcher, masterRef: o.masterRef, tagTemplate: o.tagTemplate, now: o.now, master: () => this.masterSha(), publishCertified: o.publishCertified });
    this.conflicts = new ConflictService({ checker: this.checker, dispatcher: o.dispatcher, bus: o.bus, master, timers: this.timers, log: o.log, track, onTimings: o.onTimings });
    this.rebuilds = new RebuildScheduler((push) => this.builder.rebuildInBackground(o.dispatcher, push, () => this.closed), { timers: this.timers, log: o.log, track });
  }

  /** master's SHA in the managed repository; `refresh` (default) fetches it from upstream first when one is configured. */
  async masterSha(refresh = true): Promise<string> {
    if (refresh) await this.o.refreshMaster?.();
    const sha = await this.o.repo.readRef(this.o.masterRef);
    if (!sha) throw new TrainError('master-ref-missing', `${this.o.masterRef} does not exist in the managed repository`, { ref: this.o.masterRef });
    return sha;
  }

  /** Preparer: certify's git work and bless's build status, before the writer. */
  async prepare(cmd: Command, actor: Actor): Promise<Facts | DomainError | null> {
    if (cmd.type === 'BlessPush' && !cmd.force && this.o.deployBuildFailing) {
      const { board } = await this.o.dispatcher.read();
      const push = board.pushes[cmd.push];
      const failing = push?.deploySha ? await this.o.deployBuildFailing(push.deploySha) : null;
      if (failing) return domainError('builds-failing', `the deploy branch of push ${cmd.push} fails its builds (${failing}); fix or remove the culprit, or bless with --force`, { push: cmd.push });
    }
    if (cmd.type === 'CertifyPush') return this.certifier.prepare(cmd, actor);
    return null;
  }

  /** Preparer: the deploy branches the writer found missing. */
  build(needs: readonly BuildNeed[]): Promise<BuildFact[]> {
    return this.builder.build(needs);
  }

  /** Preparer: whether a re-push descends from the request's SHA. */
  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    // An object the repository does not hold (or not a commit id) descends from nothing.
    return this.o.repo.isAncestor(ancestor, descendant).catch(() => false);
  }

  /** A client command through the one write path, with this train as its git work. */
  async execute(cmd: Command, actor: Actor): Promise<Committed | DomainError> {
    const out = await this.o.dispatcher.execute(cmd, actor, { preparer: this });
    // "Being rebuilt" must be true: after a restart nothing else may be rebuilding a stale push.
    if (isDomainError(out) && out.code === 'deploy-branch-stale' && typeof out.data.push === 'number') this.scheduleRebuild(out.data.push);
    return out;
  }

  /**
   * Background work a previous run left undone (killed between a re-push and its rebuild): rebuilds
   * every open push whose deploy branch is stale and re-checks conflicts. Call once at startup.
   */
  async resume(): Promise<void> {
    const { board } = await this.o.dispatcher.read();
    for (const p of Object.values(board.pushes)) {
      if (!isOpenPush(p)) continue;
      if (!buildIsCurrent(board, p)) this.scheduleRebuild(p.id);
      this.conflicts.schedule(p.id);
    }
    this.conflicts.schedule(0);
  }

  checkEarly(sha: string, ref: string, board: Board): Promise<EarlyCheck> {
    return this.conflicts.checkEarly(sha, ref, board);
  }

  checkRequestNow(id: RequestId, board: Board, early?: Promise<EarlyCheck | null>): Promise<FoundConflict[] | null> {
    return this.conflicts.checkRequestNow(id, board, early);
  }

  /** After every commit: the background rebuilds and conflict checks the reactions table calls for. */
  readonly afterCommit = (c: Committed & { command: Command }): void => {
    if (this.closed) return;
    const { rebuild, check } = reactionsTo(c);
    for (const p of rebuild) this.scheduleRebuild(p);
    for (const p of check) this.conflicts.schedule(p);
  };

  scheduleRebuild(push: number): void {
    if (!this.closed) this.rebuilds.schedule(push);
  }

  scheduleConflictCheck(push: number): void {
    if (!this.closed) this.conflicts.schedule(push);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    return p;
  }

  /** Resolves when no background build or check is running or scheduled. */
  async idle(): Promise<void> {
    while (this.inFlight.size || this.conflicts.busy || this.rebuilds.busy) await Promise.allSettled([...this.inFlight, sleep(this.timers, 20)]);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.rebuilds.close();
    this.conflicts.stop();
    await Promise.allSettled([...this.inFlight]);
    await this.conflicts.flush();
    await this.checker.close();
  }
}

/** `remote:` lines about a request's conflicts, for the pusher. */
export function conflictLines(found: readonly FoundConflict[] | null, board: Board): string[] {
  if (found === null) return [];
  if (!found.length) return ['  conflicts: none (no-conflicts)'];
  return found.map((f) => {
    const other = f.with === 'master' ? undefined : board.requests[f.with];
    const who = f.with === 'master' ? 'master' : `request ${f.with}${other ? ` (${other.user}, "${safeLine(other.title)}")` : ''}`;
    return `  CONFLICT with ${who}${f.files.length ? ` in ${f.files.map(safeLine).join(', ')}` : ''}${f.reason ? `: ${safeLine(f.reason)}` : ''}`;
  });
}

export type { PushId };
