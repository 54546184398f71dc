// The GitRepo port on the real git, over the long-lived processes the server already keeps: one
// `cat-file --batch` for reads, one `update-ref --stdin` session for ref transactions, loose objects
// written from this process (ObjectWriter), ref reads from the ref files (no process on the push path).
// Merge bases and changed paths are found in-process over a cat-file walk where that is exact
// (commit-walk.ts), dependent merges share one `merge-tree --stdin` (MergeTreeStream). Only what has
// no long-lived form (a batch of merges or diffs, an ancestry question, a history walk) starts a git.
import { CatFileBatch, type RawObject } from './cat-file.js';
import { CommitWalk, type ChangedPaths } from './commit-walk.js';
import { GitCli, GitOutputError, gitEnv } from './git-cli.js';
import { ObjectWriter, type TreeEntry } from './object-writer.js';
import { readRefSync } from './ref-reader.js';
import { RefSession } from './ref-session.js';
import {
  checkRefName,
  summarizeDiff,
  tagObject,
  type ChangesSince,
  type CommitSpec,
  type DiffEntry,
  type GitRepo,
  type LogEntry,
  type LogQuery,
  type MergeSession,
  type RefTransactionResult,
  type RefUpdate,
  type TagSpec,
  type TreeListingEntry,
} from './git-repo.js';
import { mergeTree, mergeTreeBatch, MergeTreeStream, type MergeTreeResult } from './merge-tree.js';

/** Characters a basic regular expression (git's `--grep`) gives a meaning. */
const escapeBre = (s: string) => s.replace(/[\\.[\]*^$]/g, (c) => `\\${c}`);
const OID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

export interface CliGitRepoOptions {
  /** Merge bases and changed paths in-process where exact (default); false: always ask git. */
  readonly fastPaths?: boolean;
}

/** How merge bases and changed paths were answered: in-process (the cat-file walk) or by a git process (counted per SHA). */
export interface CliGitRepoStats {
  fastMergeBases: number;
  gitMergeBases: number;
  fastDiffs: number;
  gitDiffs: number;
  /** Ancestry questions (is-ancestor) answered by the walk, and by a `merge-base --is-ancestor` process. */
  fastAncestry: number;
  gitAncestry: number;
}

/** `merge-base` processes at once: git has no batch form, and the machine has two cores. */
const MERGE_BASE_PROCESSES = 2;

export class CliGitRepo implements GitRepo {
  readonly stats: CliGitRepoStats = { fastMergeBases: 0, gitMergeBases: 0, fastDiffs: 0, gitDiffs: 0, fastAncestry: 0, gitAncestry: 0 };
  private readonly writer: ObjectWriter;
  private readonly cat: CatFileBatch;
  private readonly refs: RefSession;
  /** In-process merge bases and diffs over a cat-file process of its own (started on first use), so they never queue behind the store's reads. */
  private readonly walk: CommitWalk | null;
  private readonly mergeBaseSlots = new Slots(MERGE_BASE_PROCESSES);

  constructor(
    /** Runs git in the repository, with the environment every call needs. */
    readonly git: GitCli,
    /** The repository's git directory (a bare repository's root). */
    readonly gitDir: string,
    opts: CliGitRepoOptions = {},
  ) {
    this.writer = new ObjectWriter(gitDir);
    this.cat = new CatFileBatch(gitDir, gitEnv(git));
    this.refs = new RefSession(git);
    this.walk = opts.fastPaths === false ? null : new CommitWalk(git);
  }

  async writeBlob(content: string | Buffer): Promise<string> {
    return this.writer.write('blob', content);
  }

  async writeTree(entries: readonly TreeEntry[]): Promise<string> {
    return this.writer.tree(entries);
  }

  async writeCommit(c: CommitSpec): Promise<string> {
    return this.writer.commit(c);
  }

  async writeTag(t: TagSpec): Promise<string> {
    const target = await this.cat.readObject(t.object);
    if (!target) throw new TypeError(`writeTag: no object ${t.object}`);
    return this.writer.write('tag', tagObject(t, target.type));
  }

  async readObject(name: string): Promise<RawObject | null> {
    return this.cat.readObject(name);
  }

  async listTree(treeish: string): Promise<TreeListingEntry[]> {
    if (!OID.test(treeish)) throw new TypeError(`listTree takes an object id, got ${JSON.stringify(treeish)}`);
    const out = await this.git.out(['ls-tree', '-r', '-t', '-z', treeish]);
    return parseLsTree(out);
  }

  async lsTree(commit: string, paths: readonly string[]): Promise<TreeListingEntry[]> {
    if (!OID.test(commit)) throw new TypeError(`lsTree takes an object id, got ${JSON.stringify(commit)}`);
    if (paths.length === 0) return [];
    // Literal pathspecs: a path named `*` or `:(top)` means itself.
    const out = await this.git.out(['--literal-pathspecs', 'ls-tree', '-z', commit, '--', ...paths]);
    return parseLsTree(out);
  }

  async objectTypes(ids: readonly string[]): Promise<Map<string, string>> {
    for (const id of ids) if (!OID.test(id)) throw new TypeError(`objectTypes takes object ids, got ${JSON.stringify(id)}`);
    const held = new Map<string, string>();
    if (ids.length === 0) return held;
    const r = await this.git.run(['cat-file', '--batch-check=%(objectname) %(objecttype)'], { input: ids.map((id) => `${id}\n`).join('') });
    for (const line of r.stdout.split('\n')) {
      const [id, type] = line.split(' ');
      // Absent objects print "<id> missing".
      if (id && type && type !== 'missing') held.set(id, type);
    }
    return held;
  }

  async readRef(ref: string): Promise<string | null> {
    checkRefName(ref);
    // From the ref files (41 bytes, or the cached packed-refs); git only when they cannot say (a symbolic ref).
    const sha = readRefSync(this.gitDir, ref);
    if (sha !== undefined) return sha;
    const r = await this.git.run(['rev-parse', '--verify', '-q', '--end-of-options', ref], { okCodes: [1] });
    return r.exitCode === 0 ? r.stdout.trim() : null;
  }

  async updateRefs(updates: readonly RefUpdate[]): Promise<RefTransactionResult> {
    return this.refs.transaction(updates);
  }

  async mergeTree(a: string, b: string): Promise<MergeTreeResult> {
    if (!OID.test(a) || !OID.test(b)) throw new TypeError(`mergeTree takes object ids, got ${a} ${b}`);
    return mergeTree(this.git, a, b);
  }

  async mergeTrees(pairs: readonly (readonly [string, string])[]): Promise<MergeTreeResult[]> {
    return mergeTreeBatch(this.git, pairs);
  }

  openMergeSession(): MergeSession {
    return new MergeTreeStream(this.git);
  }

  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    if (!OID.test(ancestor) || !OID.test(descendant)) throw new TypeError(`isAncestor takes object ids, got ${ancestor} ${descendant}`);
    // A fast-forward a few commits down (a re-push) in-process; every other answer from git.
    if (this.walk && (await this.walk.isAncestorFast(ancestor, descendant))) {
      this.stats.fastAncestry++;
      return true;
    }
    this.stats.gitAncestry++;
    // Exit 1 is the answer "no"; an unknown object is 128, which throws.
    return (await this.git.run(['merge-base', '--is-ancestor', ancestor, descendant], { okCodes: [1] })).exitCode === 0;
  }

  /** `a` is the side whose history the in-process walk holds a window of (master, for the conflict checker). */
  async mergeBases(a: string, b: string): Promise<string[]> {
    if (!OID.test(a) || !OID.test(b)) throw new TypeError(`mergeBases takes object ids, got ${a} ${b}`);
    // In-process when the walk over `a`'s history can decide exactly (a push: a few commits on a recent master).
    const fast = this.walk ? await this.walk.mergeBaseFast(a, b) : null;
    if (fast) {
      this.stats.fastMergeBases++;
      return fast;
    }
    this.stats.gitMergeBases++;
    const r = await this.mergeBaseSlots.run(() => this.git.run(['merge-base', '--all', a, b], { okCodes: [1] }));
    return r.stdout.split('\n').filter(Boolean);
  }

  async diffTrees(pairs: readonly (readonly [string, string])[], opts: { readonly renames?: boolean } = {}): Promise<DiffEntry[][]> {
    if (pairs.length === 0) return [];
    for (const [c, base] of pairs) if (!OID.test(c) || !OID.test(base)) throw new TypeError(`diffTrees takes object ids, got ${c} ${base}`);
    const input = pairs.map(([c, base]) => `${c} ${base}\n`).join('');
    // --always prints each commit's header even for an empty diff, so records stay aligned with input lines.
    const r = await this.git.run(['diff-tree', '--stdin', '--always', '-r', '-z', '--raw', opts.renames ? '-M' : '--no-renames', '--no-ext-diff'], { input });
    const tokens = r.stdout.split('\0');
    const out: DiffEntry[][] = [];
    let current: DiffEntry[] | null = null;
    for (let i = 0; i < tokens.length; ) {
      const t = tokens[i++]!;
      if (t === '') continue;
      if (!t.startsWith(':')) {
        // A record header: the commit id of the next input line.
        const expected = pairs[out.length];
        if (!expected || t !== expected[0]) throw new GitOutputError('diff-tree --stdin: records out of step', { got: t });
        out.push((current = []));
        continue;
      }
      if (!current) throw new GitOutputError('diff-tree: entry before header');
      // ":<old mode> <new mode> <old id> <new id> <status>" then one path, two for renames and copies.
      const [oldMode = '', newMode = '', oldSha = '', newSha = '', status = ''] = t.slice(1).split(' ');
      const twoPaths = status.startsWith('R') || status.startsWith('C');
      const first = tokens[i++]!;
      current.push(twoPaths ? { status, oldMode, newMode, oldSha, newSha, from: first, path: tokens[i++]! } : { status, oldMode, newMode, oldSha, newSha, path: first });
    }
    if (out.length !== pairs.length) throw new GitOutputError('diff-tree --stdin: fewer records than input lines', { records: out.length, lines: pairs.length });
    return out;
  }

  async changedPaths(items: readonly ChangesSince[]): Promise<ChangedPaths[]> {
    // In-process for a single base (the common case); the rest, and whatever the walk gives up on, from one diff-tree.
    const fast = await Promise.all(items.map((it) => (this.walk && it.bases.length === 1 ? this.walk.changedPathsFast(it.bases[0]!, it.sha) : Promise.resolve(null))));
    const rest: (readonly [string, string])[] = [];
    const owner: number[] = [];
    items.forEach((it, k) => {
      if (fast[k]) return;
      for (const base of it.bases) {
        rest.push([it.sha, base]);
        owner.push(k);
      }
    });
    const slow = new Map<number, ChangedPaths>();
    const diffs = await this.diffTrees(rest, { renames: true });
    diffs.forEach((entries, j) => {
      const k = owner[j]!;
      slow.set(k, summarizeDiff(entries, slow.get(k) ?? { paths: new Set(), risky: false }));
    });
    const out = items.map((_, k) => fast[k] ?? slow.get(k) ?? { paths: new Set<string>(), risky: false });
    const nFast = fast.filter(Boolean).length;
    this.stats.fastDiffs += nFast;
    this.stats.gitDiffs += items.length - nFast;
    return out;
  }

  async log(q: LogQuery): Promise<LogEntry[]> {
    if (!OID.test(q.tip)) throw new TypeError(`log takes a commit id, got ${JSON.stringify(q.tip)}`);
    const args = ['log', '--format=%H%x1f%cI%x1f%s%x1f%(trailers:only,unfold)%x1e'];
    if (q.limit !== undefined) args.push(`-n${q.limit}`);
    if (q.since !== undefined) args.push(`--since=@${Math.floor(q.since)}`);
    if (q.grepLine !== undefined) {
      if (/[\n\0]/.test(q.grepLine)) throw new TypeError('a grep line must be one line');
      args.push(`--grep=^${escapeBre(q.grepLine)}$`);
    }
    args.push(q.tip, '--');
    if (q.path !== undefined) args.push(q.path);
    const out = await this.git.out(['--literal-pathspecs', ...args]);
    return out
      .split('\x1e')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((rec) => {
        const [sha = '', committedAt = '', subject = '', trailers = ''] = rec.split('\x1f');
        return { sha, committedAt, subject, trailers: trailers.split('\n').filter((l) => l.trim() !== '') };
      });
  }

  async revList(tip: string, exclude?: string | null): Promise<string[]> {
    if (!OID.test(tip) || (exclude && !OID.test(exclude))) throw new TypeError(`revList takes commit ids, got ${tip} ${exclude}`);
    const out = await this.git.out(['rev-list', '--reverse', ...(exclude ? [`${exclude}..${tip}`] : [tip])]);
    return out.split('\n').filter(Boolean);
  }

  async close(): Promise<void> {
    this.cat.close();
    this.walk?.close();
    await this.refs.close();
  }
}

/** `ls-tree -z` records: "<mode> <type> <id>\t<path>". */
function parseLsTree(out: string): TreeListingEntry[] {
  const entries: TreeListingEntry[] = [];
  for (const line of out.split('\0')) {
    const tab = line.indexOf('\t');
    if (tab < 0) continue;
    const [mode, type, sha] = line.slice(0, tab).split(' ') as [string, TreeListingEntry['type'], string];
    entries.push({ path: line.slice(tab + 1), type, mode, sha });
  }
  return entries;
}

/** At most `n` tasks at once; the others wait their turn, in order. */
class Slots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly n: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    // A finished task hands its slot straight to the next in line, so a newcomer cannot slip in between.
    if (this.running >= this.n) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
