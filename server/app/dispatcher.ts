// The one write path, for every door (a git push, an API command, the server's own bookkeeping):
// prepare facts outside the writer (git work: builds, certify's master and tag, ancestry) → in the
// single writer, read the board and plan purely (state/plan.ts: every event and every ref to move)
// → commit with compare-and-swap → publish. A lost compare-and-swap is decided again on the new board
// with the same facts while they still fit it; facts that no longer fit are gathered again outside
// the writer (a build is redone only when what it is built from changed). Refusals are DomainError values.
import type { Command } from '../../state/commands.js';
import { actorName, type Actor } from '../../state/decide.js';
import { commitMessage, type CommitMessage } from '../../state/describe.js';
import { isDomainError, type DomainError } from '../../state/errors.js';
import type { DomainEvent } from '../../state/events.js';
import { ancestryKey, resolvePushedRef, type PushedRef, type PushResolution } from '../../state/intake.js';
import type { Board } from '../../state/model.js';
import { plan, type BuildFact, type BuildNeed, type Facts, type PlanContext } from '../../state/plan.js';
import { mergeRefIntents } from '../../state/ref-intents.js';
import type { TagsConfig } from '../../state/tags.js';
import type { PipelineJobs } from '../../state/job-queue.js';
import type { RefUpdate, Snapshot, StateStore } from '../store/state-store.js';
import type { Clock } from './clock.js';
import { WriteQueue, type Lane } from './write-queue.js';
import { DispatchError } from './dispatch-error.js';

export { mergeRefIntents as mergeRefUpdates } from '../../state/ref-intents.js';

export interface Committed {
  readonly ok: true;
  readonly version: string;
  readonly events: readonly DomainEvent[];
  readonly board: Board;
  readonly before: Board;
}

/**
 * The git work around the writer (the train): facts a command needs before it is decided, and the
 * ones the writer finds missing. Runs outside the writer, so other commands keep flowing meanwhile.
 */
export interface Preparer {
  /** Facts a command needs before it is decided (certify's master and tag), or a refusal. */
  prepare?(command: Command, actor: Actor): Promise<Facts | DomainError | null>;
  /** Builds the deploy branches the writer found missing (or built for another board). */
  build(needs: readonly BuildNeed[]): Promise<BuildFact[]>;
  /** Whether `descendant` descends from `ancestor`: a re-push that does not is forced. */
  isAncestor(ancestor: string, descendant: string): Promise<boolean>;
}

/** `command` is the first of `commands`; `commands` holds more than one after a batch. */
export type Listener = (c: Committed & { readonly command: Command; readonly commands: readonly Command[]; readonly actor: string }) => void;

/** A batch's refusal: the command at `index` was refused with `error`; none was recorded. */
export interface BatchRefused {
  readonly ok: false;
  readonly index: number;
  readonly error: DomainError;
}

/** A push's refusal: the ref at `index` was refused, by decide (`error`) or before it (`reason` alone). */
export interface PushRefused {
  readonly ok: false;
  readonly index: number;
  readonly error?: DomainError;
  readonly reason: string;
  /** The command refused by decide, when it was one. */
  readonly command?: Command;
}

export interface PushRecorded extends Committed {
  /** Per pushed ref: its command and the request it named on the board it was decided on. */
  readonly resolved: readonly Extract<PushResolution, { kind: 'command' }>[];
}

export interface DispatchOptions {
  /** Facts gathered by the caller (tests, tools); a preparer adds its own. */
  readonly facts?: Facts;
  /** Which waiting commands go first (see write-queue.ts): a git push's, a person's, the server's own. */
  readonly lane?: Lane;
  /** The git work for this command; default: the one the dispatcher was made with. */
  readonly preparer?: Preparer | null;
}

/** What the writer is asked to decide: the commands, found on the board it holds. */
type Resolve = (board: Board, ancestry: ReadonlyMap<string, boolean>) => { readonly commands: readonly Command[] } | { readonly refused: number; readonly reason: string } | { readonly ancestry: readonly [string, string][] };

type Done = (Committed & { readonly commands: readonly Command[] }) | { readonly ok: false; readonly index: number; readonly error?: DomainError; readonly reason: string };
type Turn = Done | { readonly kind: 'needs'; readonly builds: readonly BuildNeed[]; readonly ancestry: readonly [string, string][] };

/** How many times facts may go stale under one command before it gives up (each time a build changed meanwhile). */
const MAX_PREPARE_ROUNDS = 5;

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
  /** lastWriteMs: the state commit alone; lastCommandMs: read, decide and commit in the writer. */
  readonly stats = { commits: 0, casRetries: 0, lastWriteMs: 0, lastCommandMs: 0, prepareRounds: 0 };

  constructor(
    private readonly store: StateStore,
    private readonly clock: Clock,
    private readonly preparer: Preparer | null = null,
    private readonly options: {
      singleAcceptingPush?: boolean;
      maxAttempts?: number;
      /** Whether the directory knows a user: asked for the watchers a command names (decide checks them). */
      knowsUser?: (name: string) => Promise<boolean>;
      /** Tag definitions, for the checklists the write path keeps in step. */
      tags?: TagsConfig;
      /** The configured pipeline jobs: builds queue theirs in the same commit (state/job-queue.ts). */
      pipeline?: PipelineJobs;
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

  /** Called with how long each command held the writer: what the queue behind it waited for. */
  onHeld: ((type: Command['type'], ms: number) => void) | null = null;

  /** One command: prepared, decided in the writer, committed. */
  async execute(command: Command, actor: Actor, opts: DispatchOptions = {}): Promise<Committed | DomainError> {
    const out = await this.run(() => ({ commands: [command] }), [command], actor, opts, command.type);
    return out.ok ? out : out.error!;
  }

  /** The same as execute: kept for callers that name the dispatcher's old verb. */
  dispatch(command: Command, actor: Actor, opts: DispatchOptions = {}): Promise<Committed | DomainError> {
    return this.execute(command, actor, opts);
  }

  /**
   * Several commands by one actor as one: each is decided on the board the previous one left, and all
   * are committed in one state commit with every ref they move, or, if any is refused, none is.
   */
  async dispatchAll(commands: readonly Command[], actor: Actor, opts: DispatchOptions = {}): Promise<Committed | BatchRefused> {
    const first = commands[0];
    if (!first) throw new DispatchError('no-commands', 'dispatchAll needs at least one command');
    const out = await this.run(() => ({ commands }), commands, actor, opts, first.type);
    return out.ok ? out : { ok: false, index: out.index, error: out.error! };
  }

  /**
   * A git push: the refs it moved, turned into Open/Update/WithdrawRequest on the board the writer
   * holds (one read), all committed in one state commit or none (`git push --atomic`; pass one ref
   * per call otherwise). `onDecided` hears the board the commands were decided on, before the commit.
   */
  async recordPush(pushed: readonly PushedRef[], actor: Actor, opts: DispatchOptions & { onDecided?: (board: Board, resolved: PushRecorded['resolved']) => void } = {}): Promise<PushRecorded | PushRefused> {
    if (!pushed.length) throw new DispatchError('no-commands', 'recordPush needs at least one ref');
    let resolved: PushRecorded['resolved'] = [];
    let told = false;
    const resolve: Resolve = (board, ancestry) => {
      const out: Extract<PushResolution, { kind: 'command' }>[] = [];
      const needed: [string, string][] = [];
      for (const [index, p] of pushed.entries()) {
        // The ref's old value is the request's SHA unless something moved it behind our back.
        const r = resolvePushedRef(board, p, ancestry);
        if (r.kind === 'refused') return { refused: index, reason: r.reason };
        if (r.kind === 'needs-ancestry') needed.push([r.ancestor, r.descendant]);
        else out.push(r);
      }
      if (needed.length) return { ancestry: needed };
      resolved = out;
      if (!told) {
        told = true;
        opts.onDecided?.(board, out);
      }
      return { commands: out.map((r) => r.command) };
    };
    // The one git look-up a re-push needs, made before the writer from the ref's old value.
    const preparer = opts.preparer === undefined ? this.preparer : opts.preparer;
    const ancestry = new Map<string, boolean>();
    if (preparer)
      await Promise.all(
        pushed.filter((p) => !/^0{40}$/.test(p.oldSha) && !/^0{40}$/.test(p.newSha) && p.oldSha !== p.newSha).map(async (p) => ancestry.set(ancestryKey(p.oldSha, p.newSha), await preparer.isAncestor(p.oldSha, p.newSha))),
      );
    const watchers = pushed.flatMap((p) => p.fields.watchers ?? []);
    const out = await this.run(resolve, [{ type: 'OpenRequest', ref: '', sha: '', autoPickme: true, watchers }], actor, opts, 'OpenRequest', ancestry);
    return out.ok ? { ...out, resolved } : { ...out, ...(out.error && resolved[out.index] && { command: resolved[out.index]!.command }) };
  }

  private context(actor: Actor, knownUsers: ReadonlySet<string> | undefined): PlanContext {
    return { actor, now: this.clock.now().toISOString(), singleAcceptingPush: this.options.singleAcceptingPush ?? true, ...(knownUsers && { knownUsers }), ...(this.options.tags && { tags: this.options.tags }), ...(this.options.pipeline && { pipeline: this.options.pipeline }) };
  }

  /**
   * Directory look-ups are I/O (LDAP): done before taking the writer, their answers handed to decide.
   * The actor is a user the directory already knows; it is not asked again.
   */
  private async knownUsers(commands: readonly Command[], actor: Actor): Promise<ReadonlySet<string> | undefined> {
    const knows = this.options.knowsUser;
    if (!knows) return undefined;
    const self = actor.kind === 'user' ? actor.name : null;
    const names = [...new Set(commands.flatMap((c) => ('watchers' in c && c.watchers ? c.watchers : [])))];
    const known = new Set<string>();
    await Promise.all(names.map(async (n) => (n === self || (await knows(n))) && known.add(n)));
    return known;
  }

  /** Prepare → writer turns → gather what went stale → … until committed or refused. */
  private async run(resolve: Resolve, named: readonly Command[], actor: Actor, opts: DispatchOptions, heldAs: Command['type'], ancestry = new Map<string, boolean>()): Promise<Done> {
    const preparer = opts.preparer === undefined ? this.preparer : opts.preparer;
    const knownUsers = await this.knownUsers(named, actor);
    let facts: Facts = opts.facts ?? {};
    if (preparer?.prepare && named.length === 1) {
      const prepared = await preparer.prepare(named[0]!, actor);
      if (isDomainError(prepared)) return { ok: false, index: 0, error: prepared, reason: prepared.message };
      if (prepared) facts = { ...facts, ...prepared, builds: [...(facts.builds ?? []), ...(prepared.builds ?? [])] };
    }
    for (let round = 1; ; round++) {
      const turn = await this.queue.run(async () => {
        const started = performance.now();
        try {
          return await this.commitLoop(resolve, actor, knownUsers, facts, ancestry);
        } finally {
          this.onHeld?.(heldAs, performance.now() - started);
        }
      }, opts.lane);
      if (!('kind' in turn && turn.kind === 'needs')) return turn as Done;
      if (!preparer) throw new DispatchError('no-preparer', `${heldAs} needs git work (deploy-branch builds or ancestry) and this dispatcher has no preparer`, { command: heldAs });
      if (round >= MAX_PREPARE_ROUNDS) throw new DispatchError('prepare-rounds-exhausted', `could not build what ${heldAs} needs: the board kept changing under it (${round} rounds)`, { command: heldAs, rounds: round });
      this.stats.prepareRounds++;
      // Outside the writer: the builds and look-ups the board it held called for.
      const [built] = await Promise.all([
        turn.builds.length ? preparer.build(turn.builds) : Promise.resolve([]),
        ...turn.ancestry.map(async ([a, d]) => ancestry.set(ancestryKey(a, d), await preparer.isAncestor(a, d))),
      ]);
      facts = { ...facts, builds: [...(facts.builds ?? []), ...built] };
    }
  }

  /** In the writer: read → resolve → plan → commit with compare-and-swap, retried with backoff and jitter; then tell the listeners. */
  private async commitLoop(resolve: Resolve, actor: Actor, knownUsers: ReadonlySet<string> | undefined, facts: Facts, ancestry: ReadonlyMap<string, boolean>): Promise<Turn> {
    const maxAttempts = this.options.maxAttempts ?? 8;
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      const snap = await this.store.read();
      const found = resolve(snap.board, ancestry);
      if ('refused' in found) return { ok: false, index: found.refused, reason: found.reason };
      if ('ancestry' in found) return { kind: 'needs', builds: [], ancestry: found.ancestry };
      const { commands } = found;
      const ctx = this.context(actor, knownUsers);
      let board = snap.board;
      const events: DomainEvent[] = [];
      const refs: RefUpdate[] = [];
      const messages: CommitMessage[] = [];
      for (const [index, command] of commands.entries()) {
        const planned = plan(board, command, ctx, index === 0 ? facts : { builds: facts.builds ?? [] });
        if (isDomainError(planned)) return { ok: false, index, error: planned, reason: planned.message };
        if (planned.kind === 'needs-builds') return { kind: 'needs', builds: planned.builds, ancestry: [] };
        messages.push(commitMessage(command, planned.events, actor, changedRequests(board, planned.board)));
        board = planned.board;
        events.push(...planned.events);
        refs.push(...planned.refs);
      }
      const command = commands[0]!;
      if (!events.length && !refs.length) return { ok: true, version: snap.version ?? '', events, board, before: snap.board, commands };
      const message = messages.length === 1 ? messages[0]! : batchMessage(commands, messages, events, actor, changedRequests(snap.board, board));
      const writeStarted = performance.now();
      const result = await this.store.commit({ expected: snap.version, board, events, refs: commands.length > 1 ? mergeRefIntents(refs) : refs, message, at: ctx.now });
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
        return { ...committed, commands };
      }
      this.stats.casRetries++;
      if (attempt >= maxAttempts) throw new DispatchError('commit-retries-exhausted', `could not commit ${commands.map((c) => c.type).join(', ')} after ${attempt} attempts: ${result.detail}`, { commands: commands.map((c) => c.type), attempts: attempt, detail: result.detail });
      // Backoff with full jitter: concurrent writers spread out instead of colliding again.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(200, 5 * 2 ** attempt)));
    }
  }
}

/** A batch's commit: every command's subject, all its events, a Command trailer per command. */
function batchMessage(commands: readonly Command[], messages: readonly CommitMessage[], events: readonly DomainEvent[], actor: Actor, changed: readonly number[]): CommitMessage {
  const all = commitMessage(commands[0]!, events, actor, changed);
  const shown = messages.slice(0, 5).map((m) => m.subject);
  const subject = `${shown.join('; ')}${messages.length > shown.length ? `; and ${messages.length - shown.length} more` : ''} (one atomic push)`;
  const extra = commands.slice(1).map((c) => ['Pushmanager-Command', c.type] as const);
  const at = all.trailers.findIndex(([k]) => k === 'Pushmanager-Command') + 1;
  return { subject, body: all.body, trailers: [...all.trailers.slice(0, at), ...extra, ...all.trailers.slice(at)] };
}
