// The conflict service: the pusher's own check (started alongside the recording of the push, answered
// in the push), debounced full checks of a push's requests in the background, and the findings
// committed together, at most one commit per interval. Git work only; decide records the findings.
import { systemActor } from '../../state/decide.js';
import { mergePositions, type MergePosition } from '../../state/conflict-blame.js';
import { activeRequestFor } from '../../state/intake.js';
import { MERGED_STATES, isActiveRequest, isOpenPush, requestsInPush, type Board, type Conflict, type PushRequest, type RequestId } from '../../state/model.js';
import type { Dispatcher } from '../app/dispatcher.js';
import type { EventBus } from '../app/event-bus.js';
import type { Candidate, ConflictChecker, FoundConflict } from './conflict-checker.js';
import type { Timers } from './timers.js';

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

export interface EarlyCheck {
  readonly sha: string;
  readonly push: number | null;
  readonly master: string;
  readonly others: string;
  readonly found: FoundConflict[];
}

export interface ConflictServiceOptions {
  readonly checker: ConflictChecker;
  readonly dispatcher: Dispatcher;
  readonly bus: EventBus;
  /** master's SHA; `refresh` (default true) fetches it from upstream first when one is configured. */
  readonly master: (refresh?: boolean) => Promise<string>;
  readonly timers: Timers;
  readonly log: (level: 'info' | 'warn' | 'error', msg: string) => void;
  readonly track: <T>(p: Promise<T>) => Promise<T>;
  readonly onTimings?: (kind: 'conflicts', ms: number) => void;
}

export class ConflictService {
  private readonly pendingCheck = new Map<number, unknown>();
  private readonly lastCheck = new Map<number, number>();
  private readonly batch = new Map<RequestId, ConflictResult>();
  private flushTimer: unknown = null;
  private lastFlush = 0;
  private closed = false;

  constructor(private readonly o: ConflictServiceOptions) {}

  get busy(): boolean {
    return this.pendingCheck.size > 0 || this.flushTimer !== null;
  }

  /**
   * The pusher's check, started before the request is recorded so it runs alongside the commit: against
   * master and the push the request will be in (its own, or the accepting one it will join), on the
   * board the push is decided on. It is the one upstream fetch the push waits for.
   */
  async checkEarly(sha: string, ref: string, board: Board): Promise<EarlyCheck> {
    const existing = activeRequestFor(board, ref);
    const push = existing ? existing.push : (Object.values(board.pushes).find((p) => p.state === 'accepting')?.id ?? null);
    const all = push !== null ? candidatesOf(board, requestsInPush(board, push)) : [];
    const others = all.filter((x) => x.id !== existing?.id);
    const merged = (existing && all.find((x) => x.id === existing.id)?.merged) ?? null;
    const master = await this.o.master();
    const found = await this.o.checker.checkOne(master, { id: 0, sha, merged }, others);
    return { sha, push, master, others: checkKey(merged, others), found };
  }

  /** Conflicts of one request on `board` (the one its push left), for the `remote:` answer; recorded in the next batch. */
  async checkRequestNow(id: RequestId, board: Board, early?: Promise<EarlyCheck | null>): Promise<FoundConflict[] | null> {
    const r = board.requests[id];
    if (!r || !isActiveRequest(r)) return null;
    const started = performance.now();
    const pre = await early?.catch(() => null);
    // The early check fetched master already: this one reads it as that fetch left it.
    const master = await this.o.master(!pre);
    const all = r.push !== null ? candidatesOf(board, requestsInPush(board, r.push)) : [];
    const others = all.filter((x) => x.id !== r.id);
    const merged = all.find((x) => x.id === r.id)?.merged ?? null;
    // Reuse the early answer only when it checked exactly what the board now says.
    const same = pre && pre.sha === r.sha && pre.push === r.push && pre.master === master && pre.others === checkKey(merged, others);
    const found = same ? pre.found : await this.o.checker.checkOne(master, { id: r.id, sha: r.sha, merged }, others);
    this.o.onTimings?.('conflicts', performance.now() - started);
    // The pusher gets the answer now; recording it joins the server's next batched commit, off the push path.
    this.record([{ request: r.id, sha: r.sha, conflicts: toConflicts(found) }]);
    if (r.push !== null) this.schedule(r.push);
    return found;
  }

  /**
   * Conflict findings wait here and are committed together, at most one commit per interval: on a busy
   * day each push used to add a commit of its own to the single writer's queue. A finding that is lost
   * to a crash is found again, since the train's resume() re-checks every push at start.
   */
  private record(results: readonly ConflictResult[]): void {
    for (const r of results) this.batch.set(r.request, r);
    if (this.flushTimer !== null || this.closed) return;
    const wait = Math.max(20, RECORD_CONFLICTS_INTERVAL_MS - (this.o.timers.now() - this.lastFlush));
    this.flushTimer = this.o.timers.setTimeout(() => {
      this.flushTimer = null;
      void this.o.track(this.flush());
    }, wait);
  }

  async flush(): Promise<void> {
    if (!this.batch.size) return;
    const results = [...this.batch.values()];
    this.batch.clear();
    this.lastFlush = this.o.timers.now();
    await this.o.dispatcher
      .execute({ type: 'RecordConflicts', results }, systemActor('conflict-check'), { lane: 'background' })
      .catch((e: unknown) => this.o.log('error', `recording conflicts of ${results.length} request(s) failed: ${(e as Error).message}`));
  }

  /** Debounced full check of a push's candidates (0: the waiting requests, against master only). */
  schedule(push: number): void {
    if (this.pendingCheck.has(push) || this.closed) return;
    const since = this.o.timers.now() - (this.lastCheck.get(push) ?? -Infinity);
    this.pendingCheck.set(
      push,
      this.o.timers.setTimeout(
        () => {
          this.pendingCheck.delete(push);
          this.lastCheck.set(push, this.o.timers.now());
          void this.o.track(this.checkPush(push).catch((e: unknown) => this.o.log('error', `conflict check of push ${push} failed: ${(e as Error).message}`)));
        },
        Math.max(30, PUSH_CHECK_INTERVAL_MS - since),
      ),
    );
  }

  private async checkPush(push: number): Promise<void> {
    const { board } = await this.o.dispatcher.read();
    const master = await this.o.master();
    const started = performance.now();
    const results: ConflictResult[] = [];
    if (push === 0) {
      for (const r of Object.values(board.requests).filter((x) => (x.state === 'requested' || x.state === 'delayed') && isActiveRequest(x)))
        results.push({ request: r.id, sha: r.sha, conflicts: toConflicts(await this.o.checker.checkOne(master, { id: r.id, sha: r.sha }, [])) });
    } else {
      const p = board.pushes[push];
      if (!p || !isOpenPush(p)) return;
      const candidates = requestsInPush(board, p.id);
      const all = await this.o.checker.checkAll(master, candidatesOf(board, candidates), (done, total) => this.o.bus.publish({ kind: 'progress', push: p.id, task: 'conflicts', done, total }));
      for (const r of candidates) results.push({ request: r.id, sha: r.sha, conflicts: toConflicts(all.get(r.id) ?? []) });
    }
    this.o.onTimings?.('conflicts', performance.now() - started);
    if (results.length) this.record(results);
  }

  /** Stops the timers; what is batched is still committed by flush(). */
  stop(): void {
    this.closed = true;
    for (const t of this.pendingCheck.values()) this.o.timers.clearTimeout(t);
    this.pendingCheck.clear();
    if (this.flushTimer !== null) this.o.timers.clearTimeout(this.flushTimer);
    this.flushTimer = null;
  }
}
