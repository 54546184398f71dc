// Catch-up between the metadata branch and the outbox. A cursor (persisted next to the journal)
// names the last metadata commit whose events became deliveries; at start-up, the commits after
// it are routed and enqueued again, so a crash between a state commit and its enqueue loses
// nothing. Re-enqueueing is safe: delivery keys derive from the commit SHA, the outbox ignores
// keys it already has or has sent.
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DomainEvent } from '../../state/events.js';
import type { Board } from '../../state/model.js';
import type { Delivery, RoutingConfig } from '../../state/notify/delivery.js';
import { routeCommit } from '../../state/notify/routing.js';

/** One metadata commit: its events (the `events.json` blob) and the board it committed. */
export interface MetadataCommit {
  readonly sha: string;
  readonly events: readonly DomainEvent[];
  readonly board: Board;
}

export interface CursorStore {
  /** The last commit whose deliveries are in the outbox; null before the first. */
  read(): Promise<string | null>;
  write(sha: string): Promise<void>;
}

export const CURSOR_FILE = 'notify-cursor.json';

/** A cursor in a small JSON file, replaced atomically (temp file, fsync, rename). */
export class FileCursorStore implements CursorStore {
  readonly file: string;

  constructor(dirOrFile: string, fileName = CURSOR_FILE) {
    this.file = dirOrFile.endsWith('.json') ? dirOrFile : join(dirOrFile, fileName);
  }

  async read(): Promise<string | null> {
    try {
      const v = JSON.parse(await readFile(this.file, 'utf8')) as { sha?: unknown };
      return typeof v.sha === 'string' ? v.sha : null;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async write(sha: string): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.write(`${JSON.stringify({ sha })}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.file);
  }
}

/**
 * A cursor written behind the commits it follows: at most one write every `delayMs` (the latest commit
 * handed to `advance`), and on `flush`. The cursor only saves start-up work: whatever is after it is routed
 * again and the outbox drops keys it already has or has sent, so a cursor a second behind after a crash
 * costs a second's re-routing and loses or repeats nothing. Writing it after every commit (mkdir, open,
 * write, fsync, close, rename) was a fifth of the notifications' part of a push (issue 17).
 * `advance` must only be handed a commit whose deliveries (and those of every commit before it) are journaled.
 */
export class LazyCursor {
  private pending: string | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: CursorStore,
    private readonly delayMs = 1000,
    private readonly onError: (e: unknown) => void = () => undefined,
  ) {}

  advance(sha: string): void {
    this.pending = sha;
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, this.delayMs);
    this.timer.unref?.();
  }

  /** Writes the latest commit handed to `advance`, if not yet written; resolves when it is on disk. */
  flush(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.writing = this.writing.then(async () => {
      const sha = this.pending;
      if (sha === null) return;
      this.pending = null;
      await this.store.write(sha).catch(this.onError);
    });
    return this.writing;
  }
}

export interface Enqueuer {
  enqueue(deliveries: readonly Delivery[]): Promise<number>;
}

/** Routes one commit, enqueues its deliveries durably, then advances the cursor: one step of a catch-up (after each live commit, server/app/notifications.ts does the same with a cursor written behind). */
export async function notifyCommit(commit: MetadataCommit, deps: { outbox: Enqueuer; cursor: CursorStore; routing: RoutingConfig }): Promise<number> {
  const n = await deps.outbox.enqueue(routeCommit(commit.sha, commit.events, commit.board, deps.routing));
  await deps.cursor.write(commit.sha);
  return n;
}

export interface CatchUpResult {
  readonly commits: number;
  readonly enqueued: number;
  readonly cursor: string | null;
}

/**
 * Enqueues the deliveries of every commit after the cursor, oldest first, advancing the cursor
 * after each. `commits` must yield the commits after `await cursor.read()` in order (the
 * integrator reads them with `git rev-list --reverse --first-parent CURSOR..REF`).
 */
export async function catchUp(deps: { outbox: Enqueuer; cursor: CursorStore; routing: RoutingConfig; commits: AsyncIterable<MetadataCommit> | Iterable<MetadataCommit> }): Promise<CatchUpResult> {
  let commits = 0;
  let enqueued = 0;
  let cursor = await deps.cursor.read();
  for await (const c of deps.commits) {
    enqueued += await notifyCommit(c, deps);
    cursor = c.sha;
    commits++;
  }
  return { commits, enqueued, cursor };
}

/**
 * Enqueues what each metadata commit after the cursor asks for, oldest first, moving the cursor after
 * each: run at start-up, so a crash between a state commit and its enqueue, or commits made while this
 * process was not running, lose nothing. Re-enqueueing is safe: keys derive from the commit's content.
 */
export async function catchUpCommits(deps: {
  enqueue: (c: MetadataCommit) => Promise<number>;
  cursor: CursorStore;
  commits: AsyncIterable<MetadataCommit> | Iterable<MetadataCommit>;
}): Promise<{ commits: number; enqueued: number }> {
  let commits = 0;
  let enqueued = 0;
  for await (const c of deps.commits) {
    enqueued += await deps.enqueue(c);
    await deps.cursor.write(c.sha);
    commits++;
  }
  return { commits, enqueued };
}

/** A cursor before the first metadata commit (no SHA is empty). */
export const FROM_THE_BEGINNING = '';

/**
 * Where a consumer of the metadata branch (notifications, webhooks, Reviewboard/JIRA calls) starts, at
 * start-up: with no cursor, at the head (history is not replayed), or on a store with no commit yet at its
 * beginning (a cursor left unwritten there read as "first start" after a crash, and skipped the commits
 * made before it); with one, every commit after it, enqueued; a cursor the branch does not have (a
 * restored backup: its commits were acted on then) goes on from the head, logged. `board`: what each
 * commit is read with (the board now).
 */
export async function catchUpFromCursor(o: {
  cursor: CursorStore;
  snapshot: { readonly version: string | null; readonly board: Board };
  eventsSince: (version: string | null) => AsyncIterable<{ readonly version: string; readonly events: readonly DomainEvent[] }>;
  enqueue: (c: MetadataCommit) => Promise<number>;
  what: string;
  log: (level: 'info' | 'warn' | 'error', msg: string) => void;
}): Promise<{ commits: number; enqueued: number } | undefined> {
  const start = await o.cursor.read();
  const { version, board } = o.snapshot;
  if (start === null) {
    await o.cursor.write(version ?? FROM_THE_BEGINNING);
    return undefined;
  }
  const commits = (async function* () {
    for await (const c of o.eventsSince(start === FROM_THE_BEGINNING ? null : start)) yield { sha: c.version, events: c.events, board };
  })();
  try {
    return await catchUpCommits({ enqueue: o.enqueue, cursor: o.cursor, commits });
  } catch (e) {
    if (!((e as { code?: string }).code === 'store-unknown-version') || !version) throw e;
    o.log('warn', `${o.what}: the catch-up cursor ${start.slice(0, 10)} is not on the metadata branch (restored from a backup?); nothing is sent again, ${o.what} go on from ${version.slice(0, 10)}`);
    await o.cursor.write(version);
    return undefined;
  }
}
