// The GitRepo port: everything the server asks of its repository, as operations rather than git command
// lines — objects (read, write), refs (read, an atomic compare-and-swap transaction with a typed answer),
// trial merges, ancestry and history walks. One implementation runs the real git (`cli-git-repo.ts`, over
// the long-lived processes: cat-file --batch, update-ref --stdin); `memory-git-repo.ts` keeps objects and
// refs in memory with the same object ids. Both pass test/server/git/git-repo-contract.test.ts.
import type { RawObject } from './cat-file.js';
import { identLine, normalizeMessage, type Identity, type TreeEntry } from './object-writer.js';
import type { MergeTreeResult } from './merge-tree.js';
import type { ChangedPaths } from './commit-walk.js';

export type { RawObject } from './cat-file.js';
export type { Identity, TreeEntry } from './object-writer.js';
export type { MergeTreeResult } from './merge-tree.js';
export type { ChangedPaths } from './commit-walk.js';

/** One ref moved in a transaction (a state commit's metadata branch, a deploy branch, a pushreq ref, master, a tag). */
export interface RefUpdate {
  readonly ref: string;
  /** null deletes the ref. */
  readonly newSha: string | null;
  /** null: the ref must not exist yet; undefined: do not check. */
  readonly oldSha?: string | null;
}

/** A compare-and-swap that lost: which ref, what the caller expected and what it is (null: absent). Nothing moved. */
export interface RefChanged {
  readonly ok: false;
  readonly reason: 'ref-changed';
  readonly ref: string;
  readonly expected: string | null;
  readonly actual: string | null;
  /** The same, said for a log line or a message. */
  readonly detail: string;
}

export type RefTransactionResult = { readonly ok: true } | RefChanged;

export const refChanged = (ref: string, expected: string | null, actual: string | null): RefChanged => ({
  ok: false,
  reason: 'ref-changed',
  ref,
  expected,
  actual,
  detail: `${ref} is at ${actual ?? 'nothing'}, expected ${expected ?? 'nothing'}`,
});

/** A commit to write; the message is stored with exactly one trailing newline. */
export interface CommitSpec {
  readonly tree: string;
  readonly parents: readonly string[];
  readonly author: Identity;
  readonly committer?: Identity;
  readonly message: string;
}

/** An annotated tag to write; the message is stored with exactly one trailing newline. */
export interface TagSpec {
  readonly object: string;
  /** The tag's name (as in `refs/tags/<name>`; checked by the caller). */
  readonly name: string;
  readonly tagger: Identity;
  readonly message: string;
}

/** The raw text of an annotated tag object, as `git mktag` takes it. */
export function tagObject(t: TagSpec, type: string): string {
  if (/[\s\0]/.test(t.name)) throw new TypeError(`not a tag name: ${JSON.stringify(t.name)}`);
  return `object ${t.object}\ntype ${type}\ntag ${t.name}\ntagger ${identLine(t.tagger)}\n\n${normalizeMessage(t.message)}`;
}

/** One entry of a recursive tree listing (directories included, before their contents). */
export interface TreeListingEntry {
  readonly path: string;
  readonly type: 'blob' | 'tree' | 'commit';
  readonly mode: string;
  readonly sha: string;
}

export interface LogQuery {
  /** Walk from here (a commit id). */
  readonly tip: string;
  readonly limit?: number;
  /** Epoch seconds: no commit older than this (by committer date). */
  readonly since?: number;
  /** A line of the message must match this (line-anchored `^`/`$`, characters taken literally otherwise). */
  readonly grepLine?: string;
  /** Only commits that changed this path. */
  readonly path?: string;
}

export interface LogEntry {
  readonly sha: string;
  /** Committer date, strict ISO 8601 with its zone (`2026-01-01T00:00:00+00:00`). */
  readonly committedAt: string;
  /** The message's first paragraph on one line. */
  readonly subject: string;
  /** The trailer block, `Key: value` lines, folded lines joined. */
  readonly trailers: readonly string[];
}

/** One changed path between two commits' trees, as `diff-tree -r --raw` lists it. */
export interface DiffEntry {
  /** `A`, `D`, `M`, `T`, or `R<score>` / `C<score>` (renames and copies, with `from`). */
  readonly status: string;
  /** Six-digit modes; `000000` on the side where the path is absent. */
  readonly oldMode: string;
  readonly newMode: string;
  /** Object ids; all zeros on the side where the path is absent. */
  readonly oldSha: string;
  readonly newSha: string;
  /** The path on the commit's side (the destination of a rename). */
  readonly path: string;
  /** The source path of a rename or copy. */
  readonly from?: string;
}

/** A commit and the commits it is compared with (its merge bases): the changes since them, united. */
export interface ChangesSince {
  readonly sha: string;
  readonly bases: readonly string[];
}

/** Dependent merges (each starting from the commit the previous one made) answered in order; always `close()`. */
export interface MergeSession {
  merge(a: string, b: string): Promise<MergeTreeResult>;
  close(): Promise<void>;
}

export interface GitRepo {
  // Objects
  writeBlob(content: string | Buffer): Promise<string>;
  writeTree(entries: readonly TreeEntry[]): Promise<string>;
  writeCommit(c: CommitSpec): Promise<string>;
  /** An annotated tag object for `object` (its type read from the repository; throws when absent); no ref is written. */
  writeTag(t: TagSpec): Promise<string>;
  /** The object's type and content, or null when absent. `name`: an object id or `<commit>:<path>`. */
  readObject(name: string): Promise<RawObject | null>;
  /** Every entry under a commit's or tree's root, recursively. */
  listTree(treeish: string): Promise<TreeListingEntry[]>;
  /** The entries at exactly these paths (taken literally) of a commit's tree; absent paths are left out. */
  lsTree(commit: string, paths: readonly string[]): Promise<TreeListingEntry[]>;
  /** The type (`commit`, `tree`, `blob`, `tag`) of each of these object ids that the repository holds; absent ones are left out. */
  objectTypes(ids: readonly string[]): Promise<Map<string, string>>;

  // Refs
  /** The object id a full ref (`refs/…`) points at, or null when absent. */
  readRef(ref: string): Promise<string | null>;
  /** Every ref moves or none does. A lost compare-and-swap is an answer (RefChanged), anything else throws. */
  updateRefs(updates: readonly RefUpdate[]): Promise<RefTransactionResult>;

  // Merges and ancestry
  /** A trial merge of two commits: no work tree, no index, no ref moves. */
  mergeTree(a: string, b: string): Promise<MergeTreeResult>;
  /** Whether `ancestor` is `descendant` or one of its ancestors. Throws for an unknown object. */
  isAncestor(ancestor: string, descendant: string): Promise<boolean>;
  /** The best common ancestors (`merge-base --all`), in no particular order; [] for unrelated histories. */
  mergeBases(a: string, b: string): Promise<string[]>;
  /** Many independent trial merges at once (one git process), results in the order of `pairs`. */
  mergeTrees(pairs: readonly (readonly [string, string])[]): Promise<MergeTreeResult[]>;
  /** A session for dependent merges (a deploy branch's), kept in one long-lived process where git allows. */
  openMergeSession(): MergeSession;

  // Diffs
  /** `diff-tree -r` of each `[commit, base]` pair, all in one batch: the entries of each pair, in input order. `renames`: detect renames (`-M`). */
  diffTrees(pairs: readonly (readonly [string, string])[], opts?: { readonly renames?: boolean }): Promise<DiffEntry[][]>;
  /**
   * The paths each commit changed since its bases (old and new names of a rename), in input order, for
   * the conflict checker's pruning. `risky` is true whenever the paths alone prove nothing: a rename,
   * a submodule, and (where renames are not detected) any deletion beside an addition.
   */
  changedPaths(items: readonly ChangesSince[]): Promise<ChangedPaths[]>;

  // History
  /** Commits from `tip`, newest first. */
  log(q: LogQuery): Promise<LogEntry[]>;
  /** Commits reachable from `tip` and not from `exclude`, oldest first. */
  revList(tip: string, exclude?: string | null): Promise<string[]>;

  /** Ends the long-lived processes (a later call starts them again). */
  close(): Promise<void>;
}

/** A line of `ref` names as git accepts them in one transaction line: a newline or space would be a second instruction. */
export function checkRefName(ref: string): void {
  if (!/^refs\/[^\s\0]+$/.test(ref)) throw new TypeError(`not a full ref name: ${JSON.stringify(ref)}`);
}

/** The changed-path summary of `diff-tree -M` entries: a rename or copy, or a submodule on either side, makes it risky. */
export function summarizeDiff(entries: readonly DiffEntry[], into: { paths: Set<string>; risky: boolean } = { paths: new Set(), risky: false }): ChangedPaths {
  for (const e of entries) {
    into.paths.add(e.path);
    if (e.from !== undefined) into.paths.add(e.from);
    if (e.from !== undefined || e.oldMode === '160000' || e.newMode === '160000') into.risky = true;
  }
  return into;
}
