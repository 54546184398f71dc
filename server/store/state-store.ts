// The StateStore port: read the board at the tip, commit a new board with compare-and-swap, read history.
import type { DomainEvent } from '../../state/events.js';
import type { Board } from '../../state/model.js';
import type { CommitMessage } from '../../state/describe.js';
import { PushmanagerError } from '../../state/pushmanager-error.js';
import type { RefUpdate } from '../git/git-repo.js';

export interface Snapshot {
  readonly board: Board;
  /** The metadata commit the board was read from; null before the first commit. */
  readonly version: string | null;
}

/** Another ref moved in the same transaction as the state (deploy branch, pushreq ref, master, tag): the port's one type. */
export type { RefUpdate } from '../git/git-repo.js';

export interface CommitRequest {
  readonly expected: string | null;
  readonly board: Board;
  readonly events: readonly DomainEvent[];
  readonly message: CommitMessage;
  readonly refs?: readonly RefUpdate[];
  /** ISO time of the command, used as the commit date. */
  readonly at: string;
}

export type CommitResult = { readonly ok: true; readonly version: string } | { readonly ok: false; readonly reason: 'conflict'; readonly detail: string };

export interface HistoryEntry {
  readonly version: string;
  readonly at: string;
  /** The Pushmanager-Actor trailer: a user's name, or `pushmanager` for the system. */
  readonly actor: string;
  /** The Pushmanager-Cause trailer: present only on the system's commits (why it acted). */
  readonly cause?: string;
  readonly command: string;
  readonly subject: string;
  readonly events: readonly string[];
}

export interface HistoryFilter {
  readonly request?: number;
  readonly push?: number;
  readonly limit?: number;
  /**
   * A hint: no commit before this ISO time concerns the query (a request's `createdAt`), so a store
   * may stop looking there instead of reading the whole history.
   */
  readonly since?: string;
}

export interface StateStore {
  read(): Promise<Snapshot>;
  commit(req: CommitRequest): Promise<CommitResult>;
  /** Commits touching one request or push, newest first. */
  history(filter: HistoryFilter): Promise<HistoryEntry[]>;
  /**
   * Commits after `since` (exclusive), oldest first, with their events: for the outbox catch-up. A `since`
   * the store never held (a cursor older than a restored backup's branch) throws StoreError `store-unknown-version`.
   */
  eventsSince(since: string | null): AsyncIterable<{ version: string; events: DomainEvent[] }>;
}

export class StoreError extends PushmanagerError {
  constructor(
    readonly code: 'store-corrupt' | 'store-write-failed' | 'store-unknown-version',
    message: string,
    data: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, data, options);
  }
}
