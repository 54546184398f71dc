// The StateStore on a git metadata branch: one commit per command, compare-and-swap on the ref,
// other refs (deploy branch, pushreq refs, master, tags) moved in the same `update-ref --stdin` transaction.
// Reads come from the tip (never a replay): cached in memory, refreshed incrementally by walking trees.
// Every git operation goes through the GitRepo port (server/git/git-repo.ts).
import {
  EVENTS_PATH,
  SCHEMA_PATH,
  applyFiles,
  encodeEvents,
  encodePush,
  encodeRequest,
  encodeSchema,
  pushPath,
  requestPath,
} from '../../state/codec.js';
import { renderCommitMessage } from '../../state/describe.js';
import type { DomainEvent } from '../../state/events.js';
import { emptyBoard, type Board } from '../../state/model.js';
import { parseTreeObject } from '../git/cat-file.js';
import { CliGitRepo } from '../git/cli-git-repo.js';
import { GitCli, GitError } from '../git/git-cli.js';
import type { GitRepo, Identity, TreeEntry } from '../git/git-repo.js';
import { checkIdentity } from '../git/object-writer.js';
import { StoreError, type CommitRequest, type CommitResult, type HistoryEntry, type HistoryFilter, type RefUpdate, type Snapshot, type StateStore } from './state-store.js';

/** The tree of one metadata commit, by directory: dir ('' is the root) → name → blob SHA. */
type Files = Map<string, Map<string, string>>;

interface Cached {
  readonly version: string;
  readonly board: Board;
  readonly files: Files;
  /** dir → tree SHA, for every directory of `files`. */
  readonly trees: Map<string, string>;
}

const STORAGE_CODES: Record<string, string> = { ENOSPC: 'the disk is full', EDQUOT: 'the disk quota is used up', EROFS: 'the file system is read-only', EACCES: 'permission denied', EPERM: 'permission denied' };

/** A write that failed for lack of space or permission becomes one clear error; nothing was committed. */
function storageError(e: unknown, gitDir: string): unknown {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  const text = e instanceof GitError ? e.stderr : (e as Error).message ?? '';
  const why = STORAGE_CODES[code] ?? (/No space left/i.test(text) ? STORAGE_CODES.ENOSPC : /Read-only file system/i.test(text) ? STORAGE_CODES.EROFS : null);
  if (!why) return e;
  return new StoreError('store-write-failed', `cannot record the change: ${why} (${gitDir}); nothing was recorded, the state is as before`, { gitDir, code: code || 'io' }, { cause: e });
}

/** How far before `since` a history walk still looks: commit dates come from the server's clock, which may be stepped back. */
const HISTORY_SLACK_S = 24 * 3600;

const dirOf = (path: string) => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');
const baseOf = (path: string) => path.slice(path.lastIndexOf('/') + 1);

export class GitStateStore implements StateStore {
  private cache: Cached | null = null;
  private readonly repo: GitRepo;
  /** A repository this store opened itself (from a GitCli) is closed with it. */
  private readonly ownsRepo: boolean;

  constructor(
    /** The repository: the port, or a GitCli for which the store opens the CLI implementation. */
    git: GitRepo | GitCli,
    /** The repository's git directory (bare repository root), named in storage errors. */
    private readonly gitDir: string,
    readonly ref = 'refs/heads/pushmanager/meta',
    private readonly identity: { name: string; email: string } = { name: 'Pushmanager', email: 'pushmanager@localhost' },
  ) {
    // Checked now, not at the first commit: an identity git cannot store is a configuration error.
    checkIdentity(identity);
    this.ownsRepo = git instanceof GitCli;
    this.repo = git instanceof GitCli ? new CliGitRepo(git, gitDir) : git;
  }

  close(): void {
    if (this.ownsRepo) void this.repo.close();
  }

  /** The ref's SHA: the port reads the ref files (fast path) and asks git only when they cannot say. */
  tip(): Promise<string | null> {
    return this.repo.readRef(this.ref);
  }

  private async readText(name: string): Promise<string | null> {
    const o = await this.repo.readObject(name);
    return o === null ? null : o.body.toString('utf8');
  }

  /** A commit's root tree, from the long-lived cat-file process rather than one rev-parse each. */
  private async treeOf(commit: string): Promise<string> {
    const text = await this.readText(commit);
    const m = text ? /^tree ([0-9a-f]{40})$/m.exec(text) : null;
    if (!m) throw new StoreError('store-corrupt', `metadata commit ${commit} cannot be read`, { commit });
    return m[1]!;
  }

  async read(): Promise<Snapshot> {
    const tip = await this.tip();
    if (tip === null) return { board: emptyBoard(), version: null };
    if (this.cache?.version === tip) return this.cache;
    this.cache = this.cache ? await this.loadIncremental(this.cache, tip) : await this.loadFull(tip);
    return this.cache;
  }

  private async loadFull(tip: string): Promise<Cached> {
    const files: Files = new Map([['', new Map()]]);
    const trees = new Map<string, string>();
    const blobs: [string, string][] = [];
    for (const { path, type, sha } of await this.repo.listTree(tip)) {
      if (type === 'tree') {
        trees.set(path, sha);
        files.set(path, files.get(path) ?? new Map());
      } else {
        const dir = dirOf(path);
        if (!files.has(dir)) files.set(dir, new Map());
        files.get(dir)!.set(baseOf(path), sha);
        if (path !== EVENTS_PATH) blobs.push([path, sha]);
      }
    }
    trees.set('', await this.treeOf(tip));
    const texts = new Map<string, string>();
    await Promise.all(blobs.map(async ([path, sha]) => texts.set(path, (await this.readText(sha)) ?? '')));
    const board = this.decode(texts, emptyBoard());
    return { version: tip, board, files, trees };
  }

  /** A tree object's entries, or null when it is missing. */
  private async readTree(sha: string): Promise<{ mode: string; name: string; sha: string }[] | null> {
    const buf = (await this.repo.readObject(sha))?.body;
    if (!buf) return null;
    try {
      return parseTreeObject(buf);
    } catch {
      throw new StoreError('store-corrupt', `metadata tree ${sha} cannot be parsed`, { tree: sha });
    }
  }

  /**
   * Another writer moved the tip: walk the new tree from the root through the long-lived cat-file,
   * descending only into directories whose tree id changed (one shard of requests for a typical commit),
   * instead of a `diff-tree` process. Falls back to a full load when an object is missing.
   */
  private async loadIncremental(base: Cached, tip: string): Promise<Cached> {
    // Shallow: a walked directory gets a new map of its own, the others are shared and never written.
    const files: Files = new Map(base.files);
    const trees = new Map(base.trees);
    const changed = new Map<string, string | null>();
    const forget = (dir: string) => {
      for (const [name] of files.get(dir) ?? []) changed.set(dir ? `${dir}/${name}` : name, null);
      files.delete(dir);
      trees.delete(dir);
      for (const d of [...trees.keys()]) if (d.startsWith(`${dir}/`)) forget(d);
    };
    const walk = async (dir: string, sha: string): Promise<boolean> => {
      if (trees.get(dir) === sha && files.has(dir)) return true;
      const entries = await this.readTree(sha);
      if (!entries) return false;
      trees.set(dir, sha);
      const prefix = dir ? `${dir}/` : '';
      const old = files.get(dir) ?? new Map<string, string>();
      const now = new Map<string, string>();
      const subdirs = new Set<string>();
      const descents: Promise<boolean>[] = [];
      for (const e of entries) {
        if (e.mode === '40000') {
          subdirs.add(prefix + e.name);
          descents.push(walk(prefix + e.name, e.sha));
        } else {
          now.set(e.name, e.sha);
          if (old.get(e.name) !== e.sha) changed.set(prefix + e.name, e.sha);
        }
      }
      for (const [name] of old) if (!now.has(name)) changed.set(prefix + name, null);
      files.set(dir, now);
      for (const d of [...trees.keys()]) if (d && dirOf(d) === dir && !subdirs.has(d)) forget(d);
      return (await Promise.all(descents)).every(Boolean);
    };
    if (!(await walk('', await this.treeOf(tip)))) return this.loadFull(tip); // history rewritten or object missing: start over
    changed.delete(EVENTS_PATH);
    const texts = new Map<string, string>();
    const removed: string[] = [];
    await Promise.all(
      [...changed].map(async ([path, sha]) => {
        if (sha === null) removed.push(path);
        else texts.set(path, (await this.readText(sha)) ?? '');
      }),
    );
    if (!texts.has(SCHEMA_PATH)) texts.set(SCHEMA_PATH, (await this.readText(files.get('')!.get(SCHEMA_PATH)!)) ?? '');
    let board = this.decode(texts, base.board);
    if (removed.length) {
      const requests = { ...board.requests };
      const pushes = { ...board.pushes };
      for (const p of removed) {
        const id = Number(baseOf(p).replace(/\.json$/, ''));
        if (p.startsWith('requests/')) delete requests[id];
        if (p.startsWith('pushes/')) delete pushes[id];
      }
      board = { ...board, requests, pushes };
    }
    return { version: tip, board, files, trees };
  }

  /** Applies changed files onto a board; the schema file is checked first so a newer format is refused. */
  private decode(texts: Map<string, string>, base: Board): Board {
    if (!texts.has(SCHEMA_PATH)) throw new StoreError('store-corrupt', `the metadata branch ${this.ref} has no ${SCHEMA_PATH}`, { ref: this.ref });
    return applyFiles(base, texts);
  }

  async commit(req: CommitRequest): Promise<CommitResult> {
    try {
      return await this.commitUnguarded(req);
    } catch (e) {
      throw storageError(e, this.gitDir);
    }
  }

  private async commitUnguarded(req: CommitRequest): Promise<CommitResult> {
    let base: Cached | null = this.cache;
    if (req.expected !== (base?.version ?? null)) {
      await this.read();
      base = this.cache;
      if (req.expected !== (base?.version ?? null)) return { ok: false, reason: 'conflict', detail: `the metadata branch moved to ${base?.version ?? 'nothing'}` };
    }
    const files: Files = new Map(base ? [...base.files].map(([d, m]) => [d, m] as const) : [['', new Map()]]);
    const trees = new Map(base?.trees ?? []);
    const dirty = new Set<string>(['']);
    const copied = new Set<string>();
    const put = async (path: string, text: string) => {
      const dir = dirOf(path);
      const sha = await this.repo.writeBlob(text);
      // Copy-on-write, after the await so concurrent puts into one directory all land in the same copy.
      if (!copied.has(dir)) {
        files.set(dir, new Map(files.get(dir) ?? []));
        copied.add(dir);
      }
      files.get(dir)!.set(baseOf(path), sha);
      for (let d = dir; ; d = dirOf(d)) {
        dirty.add(d);
        if (d === '') break;
        if (!files.has(d)) files.set(d, new Map());
      }
    };
    const prev = base?.board ?? emptyBoard();
    const writes: Promise<void>[] = [];
    for (const r of Object.values(req.board.requests)) if (prev.requests[r.id] !== r) writes.push(put(requestPath(r.id), encodeRequest(r)));
    for (const p of Object.values(req.board.pushes)) if (prev.pushes[p.id] !== p) writes.push(put(pushPath(p.id), encodePush(p)));
    writes.push(put(SCHEMA_PATH, encodeSchema(req.board)));
    writes.push(put(EVENTS_PATH, encodeEvents(req.events)));
    await Promise.all(writes);

    // Write dirty trees bottom-up: deepest directories first.
    const depth = (d: string) => (d === '' ? 0 : d.split('/').length);
    const order = [...dirty].sort((a, b) => depth(b) - depth(a) || (a < b ? -1 : 1));
    for (const dir of order) {
      const entries: TreeEntry[] = [...(files.get(dir) ?? [])].map(([name, sha]) => ({ name, mode: '100644', sha }));
      const prefix = dir ? `${dir}/` : '';
      for (const [d, sha] of trees) if (d && dirOf(d) === dir && !dirty.has(d)) entries.push({ name: d.slice(prefix.length), mode: '40000', sha });
      for (const d of dirty) if (d && dirOf(d) === dir) entries.push({ name: d.slice(prefix.length), mode: '40000', sha: trees.get(d)! });
      trees.set(dir, await this.repo.writeTree(entries));
    }
    const who: Identity = { ...this.identity, date: req.at };
    const version = await this.repo.writeCommit({ tree: trees.get('')!, parents: base ? [base.version] : [], author: who, message: renderCommitMessage(req.message) });

    const moved = await this.updateRefs([{ ref: this.ref, newSha: version, oldSha: base?.version ?? null }, ...(req.refs ?? [])]);
    if (!moved.ok) return moved;
    this.cache = { version, board: req.board, files, trees };
    return { ok: true, version };
  }

  /** One atomic transaction: every ref moves or none does. A stale old value is a conflict, not an error. */
  private async updateRefs(updates: readonly RefUpdate[]): Promise<CommitResult> {
    try {
      const r = await this.repo.updateRefs(updates);
      return r.ok ? { ok: true, version: '' } : { ok: false, reason: 'conflict', detail: r.detail };
    } catch (e) {
      throw new StoreError('store-write-failed', `could not move ${updates.map((u) => u.ref).join(', ')}: ${(e as Error).message}`, { refs: updates.map((u) => u.ref) }, { cause: e });
    }
  }

  /**
   * A request's history is every commit that changed its file (`git log -- requests/<shard>/<id>.json`),
   * not only the commits whose trailers name it: a push-wide step (stage, bless, certify, discard)
   * rewrites every request of the push, and commits made before those got their own trailers named
   * only the push. One `git log` walk, as the trailer grep was: git compares the tree entries on the
   * path (root, requests/, the shard) per commit, and skips them with changed-path Bloom filters when
   * a commit-graph holds them. With `since` (the request's creation) the walk stops at the first
   * commit older than a day before it (`git log --since` stops there; the day is slack for a clock
   * stepped back), so a request's history costs the commits made since it was opened, not the board's
   * whole history. A push's history is still the commits that name it.
   */
  async history(filter: HistoryFilter): Promise<HistoryEntry[]> {
    const tip = await this.tip();
    if (!tip) return [];
    const since = filter.since === undefined ? NaN : Date.parse(filter.since);
    const entries = await this.repo.log({
      tip,
      limit: filter.limit ?? 200,
      ...(Number.isFinite(since) && { since: Math.floor(since / 1000) - HISTORY_SLACK_S }),
      ...(filter.push !== undefined && { grepLine: `Pushmanager-Push: ${filter.push}` }),
      ...(filter.request !== undefined && { path: requestPath(filter.request) }),
    });
    return entries.map(({ sha: version, committedAt: at, subject, trailers }) => {
        const t = (k: string) => trailers.filter((l) => l.startsWith(`${k}: `)).map((l) => l.slice(k.length + 2).trim());
        const cause = t('Pushmanager-Cause')[0];
        return { version, at, subject, actor: t('Pushmanager-Actor')[0] ?? '', ...(cause && { cause }), command: t('Pushmanager-Command')[0] ?? '', events: (t('Pushmanager-Events')[0] ?? '').split(' ').filter((x) => x && x !== 'none') };
      });
  }

  async *eventsSince(since: string | null): AsyncIterable<{ version: string; events: DomainEvent[] }> {
    const tip = await this.tip();
    if (!tip) return;
    // A cursor from a history this repository never held (restored from an older backup): say so, typed.
    if (since !== null && (await this.repo.objectTypes([since])).get(since) !== 'commit')
      throw new StoreError('store-unknown-version', `${since} is not a commit of ${this.gitDir} (the metadata branch was restored or replaced)`, { version: since, ref: this.ref });
    for (const version of await this.repo.revList(tip, since)) {
      const text = await this.readText(`${version}:${EVENTS_PATH}`);
      yield { version, events: text ? (JSON.parse(text) as DomainEvent[]) : [] };
    }
  }
}
