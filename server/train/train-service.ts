// The train's git work around the state: builds deploy branches (synchronously for the pushmaster's own
// commands, in the background when a pushee's re-push changes an accepted request), checks conflicts
// (the pusher's own request at once, the rest of the push in the background), and certifies.
// Git work happens here; decisions stay in state/decide. Refs move in the same transaction as the state.
import type { Command } from '../../state/commands.js';
import { decide, systemActor, type Actor } from '../../state/decide.js';
import { domainError, isDomainError, type DomainError } from '../../state/errors.js';
import type { DomainEvent } from '../../state/events.js';
import { evolveAll } from '../../state/evolve.js';
import { mergePositions, type MergePosition } from '../../state/conflict-blame.js';
import {
  MERGED_STATES,
  buildIsCurrent,
  isActiveRequest,
  isOpenPush,
  mergedRequests,
  requestsInPush,
  type Board,
  type Conflict,
  type Push,
  type PushId,
  type PushRequest,
  type RequestId,
} from '../../state/model.js';
import { safeLine, safeText } from '../../state/text.js';
import type { Committed, Dispatcher, EffectPlanner } from '../app/dispatcher.js';
import type { EventBus } from '../app/event-bus.js';
import { pushreqRefUpdates } from '../app/pushreq-refs.js';
import type { GitCli } from '../git/git-cli.js';
import type { RefUpdate } from '../store/state-store.js';
import { advanceMaster, createAnnotatedTag, tagName } from './certify.js';
import { ConflictChecker, type Candidate, type FoundConflict } from './conflict-checker.js';
import { buildDeployBranch, type BuildOutcome } from './deploy-builder.js';
import { TrainError } from './errors.js';

/** At most one RecordConflicts commit per this many ms (findings in between are batched). */
const RECORD_CONFLICTS_INTERVAL_MS = 250;
// A push's whole matrix is checked again after each change to it; on a busy day changes come several
// a second, and each pusher already got their own answer in the push. At most one full check per push
// this often: the ones asked for meanwhile are folded into the next.
const PUSH_CHECK_INTERVAL_MS = 500;

type ConflictResult = { request: RequestId; sha: string; conflicts: Conflict[] };
const toConflicts = (fs: readonly FoundConflict[]): ConflictResult['conflicts'] =>
  fs.map((f) => ({ with: f.with === 'master' ? ('master' as const) : (f.with as RequestId), files: [...f.files], ...(f.reason !== undefined && { reason: f.reason }) }));

/** A push's requests as the conflict checker sees them: merged ones carry their place in the deploy branch (it wins a pair conflict). */
function candidatesOf(board: Board, requests: readonly PushRequest[]): Candidate[] {
  const positions = new Map<number, ReadonlyMap<RequestId, number>>();
  return requests.map((r) => ({ id: r.id, sha: r.sha, merged: positionOf(board, r, positions) }));
}
function positionOf(board: Board, r: PushRequest, cache: Map<number, ReadonlyMap<RequestId, number>>): MergePosition {
  if (r.push === null || !MERGED_STATES.includes(r.state)) return null;
  let pos = cache.get(r.push);
  if (!pos) cache.set(r.push, (pos = mergePositions(board, r.push)));
  return pos.get(r.id) ?? null;
}
/** What an early check was asked, to tell whether it still answers the board's question. */
const checkKey = (target: MergePosition, others: readonly Candidate[]) => `${target}|${others.map((x) => `${x.id}:${x.sha}:${x.merged}`).join(',')}`;

/** Commands whose caller waits for the deploy branch: the pushmaster's own steps. */
const SYNC_BUILD: ReadonlySet<Command['type']> = new Set(['OpenPush', 'AcceptRequests', 'RemoveRequest', 'RebuildPush', 'TakeOverPush']);

export interface TrainOptions {
  readonly git: GitCli;
  readonly dispatcher: Dispatcher;
  readonly bus: EventBus;
  readonly masterRef: string;
  readonly tagTemplate: string;
  readonly now: () => Date;
  readonly log: (level: 'info' | 'warn' | 'error', msg: string) => void;
  /** Links for merge commit messages (Reviewboard, tickets), when configured. */
  readonly reviewUrl?: (id: string) => string;
  /** Called before a build or a check, e.g. to fetch master from upstream; returns master's SHA. */
  readonly refreshMaster?: () => Promise<void>;
  readonly onTimings?: (kind: 'rebuild' | 'conflicts', ms: number) => void;
  /** When set (Buildbot's blockBlessOnFailure): why the deploy SHA's builds fail, or null. */
  readonly deployBuildFailing?: (sha: string) => Promise<string | null>;
  /** With an upstream: push master and the tag there first (atomically); a refusal text stops the certify. */
  readonly publishCertified?: (p: { masterSha: string; expectedOld: string; tag: { name: string; objectSha: string } }) => Promise<string | null>;
}

export class Train {
  readonly checker: ConflictChecker;
  private readonly pendingRebuild = new Map<number, Promise<void>>();
  private readonly runningRebuild = new Set<number>();
  private readonly rerunRebuild = new Set<number>();
  private readonly pendingCheck = new Map<number, ReturnType<typeof setTimeout>>();
  private readonly lastCheck = new Map<number, number>();
  private closed = false;
  private readonly conflictBatch = new Map<RequestId, ConflictResult>();
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private lastFlush = 0;
  /** Background work in flight, so tests and shutdown can wait for quiet. */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly o: TrainOptions) {
    this.checker = new ConflictChecker(o.git);
  }

  private identity() {
    return { name: 'Pushmanager', email: 'pushmanager@localhost', date: this.o.now().toISOString() };
  }

  async masterSha(): Promise<string> {
    await this.o.refreshMaster?.();
    const sha = await this.o.git.refSha(this.o.masterRef);
    if (!sha) throw new TrainError('master-ref-missing', `${this.o.masterRef} does not exist in the managed repository`, { ref: this.o.masterRef });
    return sha;
  }

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

  private async build(board: Board, push: Push, mode: 'stop' | 'skip'): Promise<{ outcome: BuildOutcome; base: string }> {
    const base = await this.masterSha();
    const items = mergedRequests(board, push.id).map((r) => ({ id: r.id, sha: r.sha, message: this.mergeMessage(r, push) }));
    const started = performance.now();
    const outcome = await buildDeployBranch(this.o.git, base, items, {
      onConflict: mode,
      previous: push.baseSha ? { baseSha: push.baseSha, merges: push.merges.map((m) => ({ id: m.request, sha: m.sha, commit: m.commit })) } : undefined,
      identity: this.identity(),
      onProgress: (done, total) => this.o.bus.publish({ kind: 'progress', push: push.id, task: 'rebuild', done, total }),
    });
    this.o.onTimings?.('rebuild', performance.now() - started);
    return { outcome, base };
  }

  /** The planner for every command: pushreq refs follow the board; deploy branches follow the pushmaster. */
  readonly planner: EffectPlanner = async ({ command, before, after, events: decided, ctx }) => {
    const refs: RefUpdate[] = pushreqRefUpdates(before, after);
    const events: DomainEvent[] = [];
    let board = after;
    for (const p of Object.values(after.pushes)) {
      const was = before.pushes[p.id];
      // A push that ended gives up its deploy branch: a live one's commits are on master and its tag.
      if (was && isOpenPush(was) && !isOpenPush(p) && was.deploySha) refs.push({ ref: p.deployBranch, newSha: null, oldSha: was.deploySha });
    }
    if (command.type === 'RecordBuild') {
      // The deploy ref moves when the build is recorded, from what this board says it is: a retry after
      // another build re-reads it, where a fixed old value would fail the compare-and-swap on every attempt.
      const was = before.pushes[command.push];
      const recorded = decided.some((e) => e.type === 'DeployBranchBuilt' && e.push === command.push);
      if (recorded && was && was.deploySha !== command.deploySha) refs.push({ ref: was.deployBranch, newSha: command.deploySha, oldSha: was.deploySha });
    }
    if (!SYNC_BUILD.has(command.type)) return { refs, events };
    for (const p of Object.values(after.pushes)) {
      if (!isOpenPush(p)) continue;
      const forced = command.type === 'RebuildPush' && command.push === p.id;
      if (buildIsCurrent(board, p) && !forced) continue;
      const { outcome, base } = await this.build(board, p, command.type === 'AcceptRequests' ? 'stop' : 'skip');
      if (!outcome.ok) {
        const r = board.requests[outcome.failed.id];
        return domainError('merge-conflict', `request ${outcome.failed.id}${r ? ` (${r.user})` : ''} does not merge onto push ${p.id}'s deploy branch: conflicts in ${outcome.failed.files.join(', ') || 'the tree'}; nothing changed`, { request: outcome.failed.id, files: outcome.failed.files, push: p.id });
      }
      const recorded = decide(board, { type: 'RecordBuild', push: p.id, deploySha: outcome.sha, baseSha: base, merges: outcome.merges.map((m) => ({ request: m.id as RequestId, sha: m.sha, commit: m.commit })), dropped: outcome.dropped.map((d) => ({ request: d.id as RequestId, files: d.files })) }, { ...ctx, actor: systemActor('deploy-build') });
      if (isDomainError(recorded)) return recorded;
      events.push(...recorded);
      board = evolveAll(board, recorded);
      if (outcome.sha !== p.deploySha) refs.push({ ref: p.deployBranch, newSha: outcome.sha, oldSha: before.pushes[p.id]?.deploySha ?? null });
    }
    return { refs, events };
  };

  /** Client commands: certify needs its git work first; the rest go straight to the dispatcher. */
  async execute(cmd: Command, actor: Actor): Promise<Committed | DomainError> {
    const out = await this.executeOnce(cmd, actor);
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
      this.scheduleConflictCheck(p.id);
    }
    this.scheduleConflictCheck(0);
  }

  private async executeOnce(cmd: Command, actor: Actor): Promise<Committed | DomainError> {
    if (cmd.type === 'BlessPush' && !cmd.force && this.o.deployBuildFailing) {
      const { board } = await this.o.dispatcher.read();
      const push = board.pushes[cmd.push];
      const failing = push?.deploySha ? await this.o.deployBuildFailing(push.deploySha) : null;
      if (failing) return domainError('builds-failing', `the deploy branch of push ${cmd.push} fails its builds (${failing}); fix or remove the culprit, or bless with --force`, { push: cmd.push });
    }
    if (cmd.type !== 'CertifyPush') return this.o.dispatcher.dispatch(cmd, actor);
    const snap = await this.o.dispatcher.read();
    const dry = decide(snap.board, cmd, { actor, now: this.o.now().toISOString() });
    if (isDomainError(dry)) return dry;
    const push = snap.board.pushes[cmd.push]!;
    const master = await this.masterSha();
    const adv = await advanceMaster(this.o.git, {
      masterSha: master,
      baseSha: push.baseSha ?? master,
      deploySha: push.deploySha!,
      message: `Merge ${this.o.masterRef.replace('refs/heads/', '')} into push ${push.id} at certification\n\nMaster moved after the deploy branch was built.\n`,
      identity: this.identity(),
    });
    if (!adv.ok)
      return domainError('merge-conflict', `master moved since push ${push.id} was built and now conflicts with it in ${adv.files.join(', ')}; rebuild the push (pushmanager push rebuild ${push.id}) and stage again`, { push: push.id, files: adv.files });
    const blessed = requestsInPush(snap.board, push.id).filter((r) => r.state === 'blessed');
    const name = await tagName(this.o.tagTemplate, { id: push.id, date: this.o.now() });
    const tagObject = await createAnnotatedTag(this.o.git, {
      name,
      target: adv.sha,
      message: `Push ${push.id}: ${safeLine(push.title)} (${push.type}), pushmaster ${push.pushmaster}\n\n${blessed.map((r) => `- request ${r.id} ${safeLine(r.title)} (${r.user})`).join('\n')}\n`,
      tagger: this.identity(),
    });
    // A re-push may have rebuilt the deploy branch while the git work ran: never publish the old build.
    if ((await this.o.dispatcher.read()).board.pushes[push.id]?.deploySha !== push.deploySha)
      return domainError('deploy-branch-stale', `the deploy branch of push ${push.id} was rebuilt while it was being certified (a request changed); check it and certify again`, { push: push.id });
    const refused = await this.o.publishCertified?.({ masterSha: adv.sha, expectedOld: master, tag: { name, objectSha: tagObject } });
    if (refused) return domainError('merge-conflict', `upstream refused the certification of push ${push.id}: ${refused}; rebuild (pushmanager push rebuild ${push.id}) and certify again`, { push: push.id });
    return this.o.dispatcher.dispatch(cmd, actor, {
      ctx: { certification: { tag: name, masterSha: adv.sha, deploySha: push.deploySha! } },
      refs: [
        { ref: this.o.masterRef, newSha: adv.sha, oldSha: master },
        { ref: `refs/tags/${name}`, newSha: tagObject, oldSha: null },
      ],
    });
  }

  /** Conflicts of one request, checked now and recorded; for the `remote:` answer of the push that made it. */
  /**
   * The pusher's check, started before the request is recorded so it runs alongside the commit: against
   * master and the push the request will be in (its own, or the accepting one it will join).
   */
  async checkEarly(sha: string, ref: string): Promise<EarlyCheck> {
    const { board } = await this.o.dispatcher.read();
    const existing = Object.values(board.requests).find((r) => r.ref === ref && isActiveRequest(r));
    const push = existing ? existing.push : (Object.values(board.pushes).find((p) => p.state === 'accepting')?.id ?? null);
    const master = await this.masterSha();
    const all = push !== null ? candidatesOf(board, requestsInPush(board, push)) : [];
    const others = all.filter((x) => x.id !== existing?.id);
    const merged = (existing && all.find((x) => x.id === existing.id)?.merged) ?? null;
    const found = await this.checker.checkOne(master, { id: 0, sha, merged }, others);
    return { sha, push, master, others: checkKey(merged, others), found };
  }

  async checkRequestNow(id: RequestId, early?: Promise<EarlyCheck | null>): Promise<FoundConflict[] | null> {
    const { board } = await this.o.dispatcher.read();
    const r = board.requests[id];
    if (!r || !isActiveRequest(r)) return null;
    const started = performance.now();
    const master = await this.masterSha();
    const all = r.push !== null ? candidatesOf(board, requestsInPush(board, r.push)) : [];
    const others = all.filter((x) => x.id !== r.id);
    const merged = all.find((x) => x.id === r.id)?.merged ?? null;
    const pre = await early?.catch(() => null);
    // Reuse the early answer only when it checked exactly what the board now says.
    const same = pre && pre.sha === r.sha && pre.push === r.push && pre.master === master && pre.others === checkKey(merged, others);
    const found = same ? pre.found : await this.checker.checkOne(master, { id: r.id, sha: r.sha, merged }, others);
    this.o.onTimings?.('conflicts', performance.now() - started);
    // The pusher gets the answer now; recording it joins the server's next batched commit, off the push path.
    this.recordConflicts([{ request: r.id, sha: r.sha, conflicts: toConflicts(found) }]);
    if (r.push !== null) this.scheduleConflictCheck(r.push);
    return found;
  }

  /**
   * Conflict findings wait here and are committed together, at most one commit per interval: on a busy
   * day each push used to add a commit of its own to the single writer's queue. A finding that is lost
   * to a crash is found again, since resume() re-checks every push at start.
   */
  private recordConflicts(results: readonly ConflictResult[]): void {
    for (const r of results) this.conflictBatch.set(r.request, r);
    if (this.flushTimer || this.closed) return;
    const wait = Math.max(20, RECORD_CONFLICTS_INTERVAL_MS - (performance.now() - this.lastFlush));
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      this.track(this.flushConflicts());
    }, wait);
  }

  private async flushConflicts(): Promise<void> {
    if (!this.conflictBatch.size) return;
    const results = [...this.conflictBatch.values()];
    this.conflictBatch.clear();
    this.lastFlush = performance.now();
    await this.o.dispatcher
      .dispatch({ type: 'RecordConflicts', results }, systemActor('conflict-check'), { lane: 'background' })
      .catch((e: unknown) => this.o.log('error', `recording conflicts of ${results.length} request(s) failed: ${(e as Error).message}`));
  }

  /** After every commit: background rebuilds and conflict checks that the commit calls for. */
  readonly afterCommit = (c: Committed & { command: Command }): void => {
    if (this.closed) return;
    const types = new Set(c.events.map((e) => e.type));
    if (types.has('PushCertified')) {
      // Master moved: every open push rebuilds on it, every waiting request is re-checked against it.
      for (const p of Object.values(c.board.pushes)) if (isOpenPush(p)) this.scheduleRebuild(p.id);
      this.scheduleConflictCheck(0);
    }
    for (const p of Object.values(c.board.pushes)) if (isOpenPush(p) && !buildIsCurrent(c.board, p) && !SYNC_BUILD.has(c.command.type)) this.scheduleRebuild(p.id);
    const touched = new Set<number>();
    for (const e of c.events) {
      if (e.type === 'RequestPicked' || e.type === 'RequestAccepted' || e.type === 'RequestUnpicked' || e.type === 'RequestRemoved' || e.type === 'RequestUpdated' || e.type === 'RequestWithdrawn' || e.type === 'PushOpened')
        touched.add(e.type === 'PushOpened' ? e.push.id : 'push' in e ? e.push : (c.board.requests[e.request]?.push ?? c.before.requests[e.request]?.push ?? 0));
    }
    if (c.command.type === 'RebuildPush') touched.add(c.command.push);
    for (const p of touched) if (p) this.scheduleConflictCheck(p);
  };

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    return p;
  }

  /** Resolves when no background build or check is running or scheduled. */
  async idle(): Promise<void> {
    while (this.inFlight.size || this.pendingCheck.size || this.pendingRebuild.size || this.flushTimer) await Promise.allSettled([...this.inFlight, new Promise((r) => setTimeout(r, 20))]);
  }

  scheduleRebuild(push: number): void {
    if (this.pendingRebuild.has(push) || this.closed) return;
    // One build of a push at a time: asked again while one runs, it runs once more afterwards.
    if (this.runningRebuild.has(push)) {
      this.rerunRebuild.add(push);
      return;
    }
    const job = this.track(
      (async () => {
        await new Promise((r) => setTimeout(r, 10)); // coalesce a burst of re-pushes
        this.pendingRebuild.delete(push);
        this.runningRebuild.add(push);
        try {
          await this.rebuildInBackground(push as PushId);
        } finally {
          this.runningRebuild.delete(push);
          if (this.rerunRebuild.delete(push)) this.scheduleRebuild(push);
        }
      })().catch((e: unknown) => this.o.log('error', `background rebuild of push ${push} failed: ${(e as Error).message}`)),
    );
    this.pendingRebuild.set(push, job);
  }

  private async rebuildInBackground(id: PushId): Promise<void> {
    for (let attempt = 0; attempt < 5 && !this.closed; attempt++) {
      const { board } = await this.o.dispatcher.read();
      const push = board.pushes[id];
      if (!push || !isOpenPush(push)) return;
      const master = await this.masterSha();
      if (buildIsCurrent(board, push) && push.baseSha === master) return;
      // Built outside the write queue, so pushes keep flowing while 50 merges are made.
      const { outcome, base } = await this.build(board, push, 'skip');
      if (!outcome.ok) return;
      const out = await this.o.dispatcher.dispatch(
        { type: 'RecordBuild', push: id, deploySha: outcome.sha, baseSha: base, merges: outcome.merges.map((m) => ({ request: m.id as RequestId, sha: m.sha, commit: m.commit })), dropped: outcome.dropped.map((d) => ({ request: d.id as RequestId, files: d.files })) },
        systemActor('deploy-build'),
        { lane: 'background' },
      );
      if (!isDomainError(out)) return;
      if (out.code !== 'deploy-branch-stale') {
        this.o.log('warn', `recording the rebuild of push ${id} was refused: ${out.message}`);
        return;
      }
    }
  }

  /** Debounced full check of a push's candidates (0: the waiting requests, against master only). */
  scheduleConflictCheck(push: number): void {
    if (this.pendingCheck.has(push) || this.closed) return;
    const since = performance.now() - (this.lastCheck.get(push) ?? -Infinity);
    this.pendingCheck.set(
      push,
      setTimeout(
        () => {
          this.pendingCheck.delete(push);
          this.lastCheck.set(push, performance.now());
          this.track(this.checkPush(push).catch((e: unknown) => this.o.log('error', `conflict check of push ${push} failed: ${(e as Error).message}`)));
        },
        Math.max(30, PUSH_CHECK_INTERVAL_MS - since),
      ),
    );
  }

  private async checkPush(push: number): Promise<void> {
    const { board } = await this.o.dispatcher.read();
    const master = await this.masterSha();
    const started = performance.now();
    const results: ConflictResult[] = [];
    if (push === 0) {
      for (const r of Object.values(board.requests).filter((x) => (x.state === 'requested' || x.state === 'delayed') && isActiveRequest(x)))
        results.push({ request: r.id, sha: r.sha, conflicts: toConflicts(await this.checker.checkOne(master, { id: r.id, sha: r.sha }, [])) });
    } else {
      const p = board.pushes[push];
      if (!p || !isOpenPush(p)) return;
      const candidates = requestsInPush(board, p.id);
      const all = await this.checker.checkAll(master, candidatesOf(board, candidates), (done, total) => this.o.bus.publish({ kind: 'progress', push: p.id, task: 'conflicts', done, total }));
      for (const r of candidates) results.push({ request: r.id, sha: r.sha, conflicts: toConflicts(all.get(r.id) ?? []) });
    }
    this.o.onTimings?.('conflicts', performance.now() - started);
    if (results.length) this.recordConflicts(results);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.pendingCheck.values()) clearTimeout(t);
    this.pendingCheck.clear();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    await Promise.allSettled([...this.inFlight]);
    await this.flushConflicts();
    await this.checker.close();
  }
}

export interface EarlyCheck {
  readonly sha: string;
  readonly push: number | null;
  readonly master: string;
  readonly others: string;
  readonly found: FoundConflict[];
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
