// The one write path: load → decide → evolve → plan git effects → commit with CAS → publish.
// Retries on a CAS conflict with backoff and jitter; refusals come back as DomainError values.
import type { Command } from '../../state/commands.js';
import { decide, type Actor, type DecideContext } from '../../state/decide.js';
import { commitMessage } from '../../state/describe.js';
import { isDomainError, type DomainError } from '../../state/errors.js';
import type { DomainEvent } from '../../state/events.js';
import { evolveAll } from '../../state/evolve.js';
import type { Board } from '../../state/model.js';
import type { RefUpdate, Snapshot, StateStore } from '../store/state-store.js';
import type { Clock } from './clock.js';
import { WriteQueue, type Lane } from './write-queue.js';

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

export type Listener = (c: Committed & { readonly command: Command; readonly actor: string }) => void;

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
    // Directory look-ups are I/O (LDAP): done before taking the writer, their answers handed to decide.
    // A command that names no watcher is queued at once, so commands keep the order they came in.
    const names = 'watchers' in command && command.watchers ? [...new Set(command.watchers)] : [];
    const knows = this.options.knowsUser;
    if (!knows || !names.length) return this.enqueue(command, actor, opts, knows ? new Set() : undefined);
    return Promise.all(names.map(async (n) => ((await knows(n)) ? n : null))).then((known) =>
      this.enqueue(command, actor, opts, new Set(known.filter((n): n is string => n !== null))),
    );
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

  /** Called with how long each command held the writer: what the queue behind it waited for. */
  onHeld: ((type: Command['type'], ms: number) => void) | null = null;

  private async attempt(command: Command, actor: Actor, opts: DispatchOptions, knownUsers: ReadonlySet<string> | undefined): Promise<Committed | DomainError> {
    const maxAttempts = this.options.maxAttempts ?? 8;
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      const snap = await this.store.read();
      const ctx: DecideContext = { actor, now: this.clock.now().toISOString(), singleAcceptingPush: this.options.singleAcceptingPush ?? true, ...(knownUsers && { knownUsers }), ...opts.ctx };
      const decided = decide(snap.board, command, ctx);
      if (isDomainError(decided)) return decided;
      let events = decided;
      let board = evolveAll(snap.board, events);
      const refs: RefUpdate[] = [...(opts.refs ?? [])];
      if (this.planner) {
        const planned = await this.planner({ command, before: snap.board, after: board, events, ctx });
        if (isDomainError(planned)) return planned;
        refs.push(...planned.refs);
        if (planned.events.length) {
          events = [...events, ...planned.events];
          board = evolveAll(board, planned.events);
        }
      }
      if (!events.length && !refs.length) return { ok: true, version: snap.version ?? '', events, board, before: snap.board };
      const writeStarted = performance.now();
      const result = await this.store.commit({ expected: snap.version, board, events, refs, message: commitMessage(command, events, actor.name, changedRequests(snap.board, board)), at: ctx.now });
      if (result.ok) {
        this.stats.commits++;
        this.stats.lastWriteMs = performance.now() - writeStarted;
        this.stats.lastCommandMs = performance.now() - started;
        const committed: Committed = { ok: true, version: result.version, events, board, before: snap.board };
        for (const l of this.listeners) {
          try {
            l({ ...committed, command, actor: actor.name });
          } catch {
            /* a listener's failure must not undo a committed command */
          }
        }
        return committed;
      }
      this.stats.casRetries++;
      if (attempt >= maxAttempts) throw new Error(`could not commit ${command.type} after ${attempt} attempts: ${result.detail}`);
      // Backoff with full jitter: concurrent writers spread out instead of colliding again.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(200, 5 * 2 ** attempt)));
    }
  }
}
