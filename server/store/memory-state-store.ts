// An in-memory StateStore for fast domain tests; it passes the same contract suite as the git store.
import type { DomainEvent } from '../../state/events.js';
import { emptyBoard } from '../../state/model.js';
import { StoreError, type CommitRequest, type CommitResult, type HistoryEntry, type HistoryFilter, type Snapshot, type StateStore } from './state-store.js';

interface MemoryCommit {
  readonly version: string;
  readonly snapshot: Snapshot;
  readonly entry: HistoryEntry;
  readonly events: readonly DomainEvent[];
  readonly requests: ReadonlySet<number>;
  readonly pushes: ReadonlySet<number>;
}

export class MemoryStateStore implements StateStore {
  private commits: MemoryCommit[] = [];
  readonly refs = new Map<string, string>();

  async read(): Promise<Snapshot> {
    return this.commits.at(-1)?.snapshot ?? { board: emptyBoard(), version: null };
  }

  async commit(req: CommitRequest): Promise<CommitResult> {
    const tip = this.commits.at(-1)?.version ?? null;
    if (tip !== req.expected) return { ok: false, reason: 'conflict', detail: `expected ${req.expected}, tip is ${tip}` };
    for (const r of req.refs ?? [])
      if (r.oldSha !== undefined && (this.refs.get(r.ref) ?? null) !== r.oldSha)
        return { ok: false, reason: 'conflict', detail: `${r.ref} moved` };
    for (const r of req.refs ?? []) {
      if (r.newSha === null) this.refs.delete(r.ref);
      else this.refs.set(r.ref, r.newSha);
    }
    const version = `mem-${this.commits.length + 1}`;
    const get = (k: string) => req.message.trailers.filter(([key]) => key === k).map(([, v]) => v);
    this.commits.push({
      version,
      snapshot: { board: req.board, version },
      events: req.events,
      requests: new Set(get('Pushmanager-Request').map(Number)),
      pushes: new Set(get('Pushmanager-Push').map(Number)),
      entry: {
        version,
        at: req.at,
        actor: get('Pushmanager-Actor')[0] ?? '',
        ...(get('Pushmanager-Cause')[0] && { cause: get('Pushmanager-Cause')[0] }),
        command: get('Pushmanager-Command')[0] ?? '',
        subject: req.message.subject,
        events: req.events.map((e) => e.type),
      },
    });
    return { ok: true, version };
  }

  async history(filter: HistoryFilter): Promise<HistoryEntry[]> {
    return this.commits
      .filter((c) => (filter.request === undefined || c.requests.has(filter.request)) && (filter.push === undefined || c.pushes.has(filter.push)))
      .map((c) => c.entry)
      .reverse()
      .slice(0, filter.limit ?? Infinity);
  }

  async *eventsSince(since: string | null): AsyncIterable<{ version: string; events: DomainEvent[] }> {
    const at = since === null ? -1 : this.commits.findIndex((c) => c.version === since);
    if (since !== null && at < 0) throw new StoreError('store-unknown-version', `${since} is not a commit of this store`, { version: since });
    const start = at + 1;
    for (const c of this.commits.slice(start)) yield { version: c.version, events: [...c.events] };
  }
}
