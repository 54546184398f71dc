// The one write path: load → decide → evolve → plan git effects → commit with CAS → publish.
// Retries on a CAS conflict with backoff and jitter; refusals come back as DomainError values.
// dispatchAll runs several commands as one: decided in order on the board each leaves, committed
// together in one state commit (with every ref they move), or not at all (`git push --atomic`).
import type { Command } from '../../state/commands.js';
import { actorName, decide, type Actor, type DecideContext } from '../../state/decide.js';
import { commitMessage, type CommitMessage } from '../../state/describe.js';
import { isDomainError, type DomainError } from '../../state/errors.js';
import type { DomainEvent } from '../../state/events.js';
import { evolveAll } from '../../state/evolve.js';
import type { Board } from '../../state/model.js';
import type { RefUpdate, Snapshot, StateStore } from '../store/state-store.js';
import type { Clock } from './clock.js';
import { WriteQueue, type Lane } from './write-queue.js';
import { DispatchError } from './dispatch-error.js';

export interface Committed {
  readonly ok: true;
  readonly version: string;
  readonly events: readonly DomainEvent[];
  readonly board: Board;
  readonly before: Board;
}

/**
 * Git work that goes with a command (moving a pushreq ref, rebuilding a deploy branch, certifying):
 * given the board before and after, returns the refs to move in the same transaction, extra server
 * events to record with it (e.g. the build result), or a refusal.
 */
export type EffectPlanner = (input: {
  readonly command: Command;
  readonly before: Board;
  readonly after: Board;
  readonly events: readonly DomainEvent[];
  readonly ctx: DecideContext;
}) => Promise<{ refs: RefUpdate[]; events: DomainEvent[] } | DomainError>;

/** `command` is the first of `commands`; `commands` holds more than one after dispatchAll. */
export type Listener = (c: Committed & { readonly command: Command; readonly commands: readonly Command[]; readonly actor: string }) => void;

/** dispatchAll's refusal: the command at `index` was refused with `error`; none was recorded. */
export interface BatchRefused {
  readonly ok: false;
  readonly index: number;
  readonly error: DomainError;
}

interface Planned {
  readonly events: readonly DomainEvent[];
  readonly board: Board;
  readonly refs: readonly RefUpdate[];
}

export interface DispatchOptions {
  /** Extra context for decide (e.g. a certification's git results). */
  readonly ctx?: Partial<Pick<DecideContext, 'certification'>>;
  /** Refs to move with this command, besides those the planner adds. */
  readonly refs?: readonly RefUpdate[];
  /** Which waiting commands go first (see write-queue.ts): a git push's, a person's, the server's own. */
  readonly lane?: Lane;
}

/**
 * Ids of the requests whose record differs between two boards. evolve keeps an unchanged request's
 * object, so identity says it: one pass over the map, no comparison of contents.
 */
function changedRequests(before: Board, after: Board): number[] {
  if (before.requests === after.requests) return [];
  const out: number[] = [];
  for (const id in after.requests) if (after.requests[id] !== before.requests[id]) out.push(Number(id));
  return out;
}

export class Dispatcher {
  private readonly queue = new WriteQueue();
  private readonly listeners = new Set<Listener>();
  /** lastWriteMs: the state commit alone; lastCommandMs: read, decide, git effects and commit. */
  readonly stats = { commits: 0, casRetries: 0, lastWriteMs: 0, lastCommandMs: 0 };

  constructor(
    private readonly store: StateStore,
    private readonly clock: Clock,
    private readonly planner: EffectPlanner | null = null,
    private readonly options: {
      singleAcceptingPush?: boolean;
      maxAttempts?: number;
      /** Whether the directory knows a user: asked for the watchers a command names (decide checks them). */
      knowsUser?: (name: string) => Promise<boolean>;
    } = {},
  ) {}

  onCommit(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  get pending(): number {
    return this.queue.length;
  }

  read(): Promise<Snapshot> {
    return this.store.read();
  }

  dispatch(command: Command, actor: Actor, opts: DispatchOptions = {}): Promise<Committed | DomainError> {
    return this.withKnownUsers([command], (knownUsers) => this.enqueue(command, actor, opts, knownUsers));
  }

  /**
   * Directory look-ups are I/O (LDAP): done before taking the writer, their answers handed to decide.
   * Commands that name no watcher are queued at once, so commands keep the order they came in.
   */
  private withKnownUsers<T>(commands: readonly Command[], then: (knownUsers: ReadonlySet<string> | undefined) => Promise<T>): Promise<T> {
    const names = [...new Set(commands.flatMap((c) => ('watchers' in c && c.watchers ? c.watchers : [])))];
    const knows = this.options.knowsUser;
    if (!knows || !names.length) return then(knows ? new Set() : undefined);
    return Promise.all(names.map(async (n) => ((await knows(n)) ? n : null))).then((known) => then(new Set(known.filter((n): n is string => n !== null))));
  }

  private enqueue(command: Command, actor: Actor, opts: DispatchOptions, knownUsers: ReadonlySet<string> | undefined): Promise<Committed | DomainError> {
    return this.queue.run(async () => {
      const started = performance.now();
      try {
        return await this.attempt(command, actor, opts, knownUsers);
      } finally {
        this.onHeld?.(command.type, performance.now() - started);
      }
    }, opts.lane);
  }

  /**
   * Several commands by one actor as one: each is decided on the board the previous one left, and all
   * are committed in one state commit with every ref they move, or, if any is refused, none is. Meant
   * for the push path (Open/Update/WithdrawRequest); listeners hear one commit with all its events.
   */
  dispatchAll(commands: readonly Command[], actor: Actor, opts: DispatchOptions = {}): Promise<Committed | BatchRefused> {
    const first = commands[0];
    if (!first) throw new DispatchError('no-commands', 'dispatchAll needs at least one command');
    return this.withKnownUsers(commands, (knownUsers) =>
      this.queue.run(async () => {
        const started = performance.now();
        try {
          return await this.attemptAll(commands, actor, opts, knownUsers);
        } finally {
          this.onHeld?.(first.type, performance.now() - started);
        }
      }, opts.lane),
    );
  }

  /** Called with how long each command held the writer: what the queue behind it waited for. */
  onHeld: ((type: Command['type'], ms: number) => void) | null = null;

  private context(actor: Actor, opts: DispatchOptions, knownUsers: ReadonlySet<string> | undefined): DecideContext {
    return { actor, now: this.clock.now().toISOString(), singleAcceptingPush: this.options.singleAcceptingPush ?? true, ...(knownUsers && { knownUsers }), ...opts.ctx };
  }

  /** decide → evolve → plan git effects, for one command on `board`. No I/O but the planner's. */
  private async plan(board: Board, command: Command, ctx: DecideContext): Promise<Planned | DomainError> {
    const decided = decide(board, command, ctx);
    if (isDomainError(decided)) return decided;
    let events = decided;
    let after = evolveAll(board, events);
    const refs: RefUpdate[] = [];
    if (this.planner) {
      const planned = await this.planner({ command, before: board, after, events, ctx });
      if (isDomainError(planned)) return planned;
      refs.push(...planned.refs);
      if (planned.events.length) {
        events = [...events, ...planned.events];
        after = evolveAll(after, planned.events);
      }
    }
    return { events, board: after, refs };
  }

  private async attempt(command: Command, actor: Actor, opts: DispatchOptions, knownUsers: ReadonlySet<string> | undefined): Promise<Committed | DomainError> {
    return this.commitLoop([command], actor, opts, knownUsers, async (snap, ctx) => {
      const planned = await this.plan(snap.board, command, ctx);
      if (isDomainError(planned)) return planned;
      return { ...planned, refs: [...(opts.refs ?? []), ...planned.refs], message: commitMessage(command, planned.events, actor, changedRequests(snap.board, planned.board)) };
    });
  }

  private async attemptAll(commands: readonly Command[], actor: Actor, opts: DispatchOptions, knownUsers: ReadonlySet<string> | undefined): Promise<Committed | BatchRefused> {
    let refused: BatchRefused | null = null;
    const out = await this.commitLoop(commands, actor, opts, knownUsers, async (snap, ctx) => {
      let board = snap.board;
      const events: DomainEvent[] = [];
      const refs: RefUpdate[] = [...(opts.refs ?? [])];
      const messages: CommitMessage[] = [];
      for (const [index, command] of commands.entries()) {
        const planned = await this.plan(board, command, ctx);
        if (isDomainError(planned)) {
          refused = { ok: false, index, error: planned };
          return planned;
        }
        messages.push(commitMessage(command, planned.events, actor, changedRequests(board, planned.board)));
        board = planned.board;
        events.push(...planned.events);
        refs.push(...planned.refs);
      }
      return { events, board, refs: mergeRefUpdates(refs), message: batchMessage(commands, messages, events, actor, changedRequests(snap.board, board)) };
    });
    if (isDomainError(out)) return refused ?? { ok: false, index: 0, error: out };
    return out;
  }

  /** Read → plan → commit with compare-and-swap, retried with backoff and jitter; then tell the listeners. */
  private async commitLoop(
    commands: readonly Command[],
    actor: Actor,
    opts: DispatchOptions,
    knownUsers: ReadonlySet<string> | undefined,
    prepare: (snap: Snapshot, ctx: DecideContext) => Promise<(Planned & { message: CommitMessage }) | DomainError>,
  ): Promise<Committed | DomainError> {
    const maxAttempts = this.options.maxAttempts ?? 8;
    const command = commands[0]!;
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      const snap = await this.store.read();
      const ctx = this.context(actor, opts, knownUsers);
      const prepared = await prepare(snap, ctx);
      if (isDomainError(prepared)) return prepared;
      const { events, board, refs, message } = prepared;
      if (!events.length && !refs.length) return { ok: true, version: snap.version ?? '', events, board, before: snap.board };
      const writeStarted = performance.now();
      const result = await this.store.commit({ expected: snap.version, board, events, refs, message, at: ctx.now });
      if (result.ok) {
        this.stats.commits++;
        this.stats.lastWriteMs = performance.now() - writeStarted;
        this.stats.lastCommandMs = performance.now() - started;
        const committed: Committed = { ok: true, version: result.version, events, board, before: snap.board };
        for (const l of this.listeners) {
          try {
            l({ ...committed, command, commands, actor: actorName(actor) });
          } catch {
            /* a listener's failure must not undo a committed command */
          }
        }
        return committed;
      }
      this.stats.casRetries++;
      if (attempt >= maxAttempts) throw new DispatchError('commit-retries-exhausted', `could not commit ${commands.map((c) => c.type).join(', ')} after ${attempt} attempts: ${result.detail}`, { commands: commands.map((c) => c.type), attempts: attempt, detail: result.detail });
      // Backoff with full jitter: concurrent writers spread out instead of colliding again.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(200, 5 * 2 ** attempt)));
    }
  }
}

/**
 * One ref moved by several commands of a batch is one update in the transaction (git refuses a ref
 * twice): the first command's expected old value, the last one's new value.
 */
export function mergeRefUpdates(refs: readonly RefUpdate[]): RefUpdate[] {
  const byRef = new Map<string, RefUpdate>();
  for (const r of refs) {
    const seen = byRef.get(r.ref);
    byRef.set(r.ref, seen ? { ref: r.ref, newSha: r.newSha, ...(seen.oldSha !== undefined && { oldSha: seen.oldSha }) } : r);
  }
  return [...byRef.values()];
}

/** A batch's commit: every command's subject, all its events, a Command trailer per command. */
function batchMessage(commands: readonly Command[], messages: readonly CommitMessage[], events: readonly DomainEvent[], actor: Actor, changed: readonly number[]): CommitMessage {
  if (messages.length === 1) return messages[0]!;
  const all = commitMessage(commands[0]!, events, actor, changed);
  const shown = messages.slice(0, 5).map((m) => m.subject);
  const subject = `${shown.join('; ')}${messages.length > shown.length ? `; and ${messages.length - shown.length} more` : ''} (one atomic push)`;
  const extra = commands.slice(1).map((c) => ['Pushmanager-Command', c.type] as const);
  const at = all.trailers.findIndex(([k]) => k === 'Pushmanager-Command') + 1;
  return { subject, body: all.body, trailers: [...all.trailers.slice(0, at), ...extra, ...all.trailers.slice(at)] };
}
