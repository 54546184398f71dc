// Merge bases and changed paths computed in-process over one long-lived `git cat-file --batch`,
// for the common case of a push: a few new commits on a recent master. Every answer is exact or
// null ("ask git"), never a guess: a missed conflict is a real bug, a fallback only costs a process.
import { resolve as resolvePath, join } from 'node:path';
import { access } from 'node:fs/promises';
import { CatFileBatch, parseTreeObject } from './cat-file.js';
import { gitEnv, type GitCli } from './git-cli.js';
import { PushmanagerError } from '../../state/pushmanager-error.js';

const HEX40 = /^[0-9a-f]{40}$/;
/** Parsed trees kept: a few master bases' directories, a few MB at most. */
const TREE_CACHE = 64;

/** The header fields of a commit object that history walks need. */
export interface CommitHeader {
  readonly tree: string;
  readonly parents: readonly string[];
}

/** `tree` and `parent` lines of a raw commit object (header only: the message may contain anything). */
export function parseCommitObject(buf: Buffer): CommitHeader {
  const end = buf.indexOf('\n\n');
  const lines = buf.toString('latin1', 0, end < 0 ? buf.length : end).split('\n');
  let tree: string | null = null;
  const parents: string[] = [];
  for (const line of lines) {
    // Continuation lines of gpgsig/mergetag start with a space, so they never match these.
    if (line.startsWith('tree ')) tree = line.slice(5);
    else if (line.startsWith('parent ')) parents.push(line.slice(7));
  }
  if (tree === null || !HEX40.test(tree) || !parents.every((p) => HEX40.test(p))) throw new Error('a commit object cannot be parsed');
  return { tree, parents };
}

/** What a diff says about a SHA: the same meaning as ConflictChecker's diff-tree parse. */
export interface ChangedPaths {
  readonly paths: Set<string>;
  /** Renames (possible), submodules or type changes: the path set proves nothing. */
  readonly risky: boolean;
}

/**
 * The first `cap` commits of `git rev-list --topo-order <master>`, with their parents. Topological
 * order is what makes a truncated window usable: a parent is never listed before its child, so
 * every ancestor of a commit beyond the window is beyond it too.
 */
interface MasterWindow {
  readonly order: readonly string[];
  readonly position: ReadonlyMap<string, number>;
  readonly parents: readonly (readonly string[])[];
  /** True when master has more ancestors than the window holds. */
  readonly truncated: boolean;
}

export interface CommitWalkOptions {
  /** Master ancestors held per master (bounds memory: ~100 bytes each). */
  readonly windowCap?: number;
  /** Commits read from the pushed SHA's side before giving up. */
  readonly walkLimit?: number;
  /** Tree objects read by one diff before giving up (a diff that large is git's job). */
  readonly treeLimit?: number;
  /** A cat-file process to use (the caller closes it); by default one is started on first use and ended by close(). */
  readonly catFile?: CatFileBatch;
}

/** Not a failure: the fast path hands the question back to git. */
class GiveUp extends PushmanagerError {
  readonly code = 'fast-path-gave-up' as const;
  constructor(readonly why: string) {
    super(`fast path gave up: ${why}`, { why });
  }
}

/** Canonical mode as git compares them (`canon_mode`): odd historical modes like 100664 read as 100644. */
function canonMode(text: string): number {
  const m = parseInt(text, 8);
  const type = m & 0o170000;
  if (type === 0o100000) return m & 0o100 ? 0o100755 : 0o100644;
  if (type === 0o120000) return 0o120000;
  if (type === 0o040000) return 0o040000;
  return 0o160000;
}
const isTree = (mode: number) => mode === 0o040000;
const isGitlink = (mode: number) => mode === 0o160000;

interface Entry {
  readonly mode: number;
  readonly sha: string;
}

export class CommitWalk {
  private readonly windowCap: number;
  private readonly walkLimit: number;
  private readonly treeLimit: number;
  private cat: CatFileBatch | null;
  private readonly ownsCat: boolean;
  /** The last two masters' windows: master moves rarely, and a check may still be running on the previous one. */
  private readonly windows = new Map<string, Promise<MasterWindow | null>>();
  /** Parsed trees by id (objects never change); emptied when full. */
  private readonly trees = new Map<string, Map<string, Entry>>();
  /** Where shallow/grafts files would be, and whether replace refs existed when the walk started. */
  private repoFacts: Promise<{ commonDir: string; replaced: boolean }> | null = null;

  constructor(
    private readonly git: GitCli,
    opts: CommitWalkOptions = {},
  ) {
    this.windowCap = opts.windowCap ?? 20_000;
    this.walkLimit = opts.walkLimit ?? 200;
    this.treeLimit = opts.treeLimit ?? 2_000;
    this.cat = opts.catFile ?? null;
    this.ownsCat = !opts.catFile;
  }

  private catFile(): CatFileBatch {
    return (this.cat ??= new CatFileBatch(this.git.dir, gitEnv(this.git)));
  }

  /** Ends the cat-file process if this walk started it; a later call starts a new one. */
  close(): void {
    if (!this.ownsCat) return;
    this.cat?.close();
    this.cat = null;
  }

  /** A failed read may have left the batch process in any state: start afresh next time. */
  private reset(): void {
    if (this.ownsCat) this.close();
  }

  /**
   * `git merge-base --all master sha` when it can be found exactly and cheaply: the bases (as a set,
   * in no particular order), `[]` for unrelated histories, or null when git must be asked.
   *
   * Why the answer is exact. Let A = ancestors of master (master included), W ⊆ A the window.
   * The walk starts at `sha`, reads parents, and does not descend past commits in W; those are the
   * candidates C. git's answer is the maximal elements of A ∩ ancestors(sha).
   * - Complete window (W = A): for any common ancestor x, follow a parent path from sha down to x;
   *   the first commit on it that is in A was reached by the walk (everything before it is outside A,
   *   so the walk descended through it) and is a candidate c with x ≤ c. So every common ancestor is
   *   at or below a candidate, and C ⊆ common ancestors: the bases are exactly C's maximal elements.
   * - Truncated window: a commit of A beyond W has all its ancestors beyond W (topological order), so
   *   if the walk ever stepped on one it would go on down to a root commit, and reaching a root with a
   *   truncated window gives up. A walk that did not give up therefore met A only inside W, and the
   *   argument above holds as is.
   * Maximal elements: c1 < c2 in W means a parent path from c2 to c1; every commit on it is in A and
   * above c1, so in W too. Reachability inside the window's own parent lists is exact.
   */
  async mergeBaseFast(master: string, sha: string): Promise<string[] | null> {
    if (!HEX40.test(master) || !HEX40.test(sha)) return null;
    const w = await this.window(master);
    if (!w) return null;
    if (w.position.has(sha)) return [sha];
    try {
      const seen = new Set<string>([sha]);
      const candidates = new Set<string>();
      let frontier = [sha];
      let reads = 0;
      while (frontier.length > 0) {
        reads += frontier.length;
        if (reads > this.walkLimit) throw new GiveUp('walk limit');
        const heads = await Promise.all(frontier.map((s) => this.readCommit(s)));
        const next: string[] = [];
        for (const h of heads) {
          // A root outside a truncated window may be an ancestor of master beyond it.
          if (h.parents.length === 0 && w.truncated) throw new GiveUp('root beyond a truncated window');
          for (const p of h.parents) {
            if (seen.has(p)) continue;
            seen.add(p);
            if (w.position.has(p)) candidates.add(p);
            else next.push(p);
          }
        }
        frontier = next;
      }
      // No candidate: every path ended at a root outside master's (complete) history.
      return maximal(w, candidates);
    } catch (e) {
      if (!(e instanceof GiveUp)) this.reset();
      return null;
    }
  }

  /**
   * `git merge-base --is-ancestor ancestor descendant` when the answer is yes and near: a re-push is
   * almost always a fast-forward of the request's SHA a few commits down, asked on the push path (a
   * git process there is a fork of the whole server and an exec, 2–10 ms of the push's time on a busy
   * machine). True when a parent walk from `descendant` meets `ancestor` within the walk limit; null
   * (ask git) for anything else, a "no" included, which only a walk to the roots could prove.
   */
  async isAncestorFast(ancestor: string, descendant: string): Promise<true | null> {
    if (!HEX40.test(ancestor) || !HEX40.test(descendant)) return null;
    try {
      // Grafted, shallow or replaced history: git walks parents the raw objects do not list.
      if (await this.hasGrafts()) return null;
      const seen = new Set<string>([descendant]);
      let frontier = [descendant];
      let reads = 0;
      while (frontier.length > 0) {
        reads += frontier.length;
        if (reads > this.walkLimit) return null;
        // Read even when it is the ancestor itself: git answers yes only for a commit.
        const heads = await Promise.all(frontier.map((c) => this.readCommit(c)));
        if (frontier.includes(ancestor)) return true;
        const next: string[] = [];
        for (const h of heads)
          for (const p of h.parents) {
            if (seen.has(p)) continue;
            seen.add(p);
            next.push(p);
          }
        frontier = next;
      }
      return null;
    } catch (e) {
      if (!(e instanceof GiveUp)) this.reset();
      return null;
    }
  }

  /**
   * Paths changed between two commits' trees, read in-process, descending only into subtrees whose
   * ids differ; null when git must be asked (missing objects, odd names, very large diffs).
   * Without rename detection it is conservative: a diff with a deletion and an addition is risky
   * (that pair is what `-M` could call a rename), as is any submodule or type change.
   */
  async changedPathsFast(base: string, sha: string): Promise<ChangedPaths | null> {
    if (!HEX40.test(base) || !HEX40.test(sha)) return null;
    try {
      const [a, b] = await Promise.all([this.readCommit(base), this.readCommit(sha)]);
      const acc = { paths: new Set<string>(), deleted: 0, added: 0, risky: false, trees: 0 };
      await this.diffTrees(a.tree, b.tree, '', acc);
      return { paths: acc.paths, risky: acc.risky || (acc.deleted > 0 && acc.added > 0) };
    } catch (e) {
      if (!(e instanceof GiveUp)) this.reset();
      return null;
    }
  }

  private async diffTrees(
    ta: string,
    tb: string,
    prefix: string,
    acc: { paths: Set<string>; deleted: number; added: number; risky: boolean; trees: number },
  ): Promise<void> {
    if (ta === tb) return;
    const [ea, eb] = await Promise.all([this.readTree(ta, acc), this.readTree(tb, acc)]);
    const subdiffs: Promise<void>[] = [];
    const only = (e: Entry, path: string, side: 'deleted' | 'added') => {
      if (isTree(e.mode)) subdiffs.push(this.listBlobs(e.sha, `${path}/`, side, acc));
      else {
        acc.paths.add(path);
        acc[side]++;
        if (isGitlink(e.mode)) acc.risky = true;
      }
    };
    for (const [name, a] of ea) {
      const b = eb.get(name);
      // Most entries are unchanged: no path string for them.
      if (b && a.sha === b.sha && a.mode === b.mode) continue;
      const path = prefix + name;
      if (!b) {
        only(a, path, 'deleted');
        continue;
      }
      if (isTree(a.mode) && isTree(b.mode)) subdiffs.push(this.diffTrees(a.sha, b.sha, `${path}/`, acc));
      else if (isTree(a.mode) || isTree(b.mode)) {
        // A tree on one side, a file on the other: `diff-tree -r` shows every file under the tree and the file.
        only(a, path, 'deleted');
        only(b, path, 'added');
      } else {
        acc.paths.add(path);
        // A type change (file <-> symlink <-> submodule) is not a rename source for `-M`, but stay on the safe side.
        if ((a.mode & 0o170000) !== (b.mode & 0o170000) || isGitlink(a.mode) || isGitlink(b.mode)) acc.risky = true;
      }
    }
    for (const [name, b] of eb) if (!ea.has(name)) only(b, prefix + name, 'added');
    await Promise.all(subdiffs);
  }

  private async listBlobs(
    tree: string,
    prefix: string,
    side: 'deleted' | 'added',
    acc: { paths: Set<string>; deleted: number; added: number; risky: boolean; trees: number },
  ): Promise<void> {
    const entries = await this.readTree(tree, acc);
    const subs: Promise<void>[] = [];
    for (const [name, e] of entries) {
      if (isTree(e.mode)) subs.push(this.listBlobs(e.sha, `${prefix}${name}/`, side, acc));
      else {
        acc.paths.add(prefix + name);
        acc[side]++;
        if (isGitlink(e.mode)) acc.risky = true;
      }
    }
    await Promise.all(subs);
  }

  private async readTree(sha: string, acc: { trees: number }): Promise<Map<string, Entry>> {
    if (++acc.trees > this.treeLimit) throw new GiveUp('tree limit');
    // Most pushes branch from the same few master commits, so the base side's trees (a directory of
    // hundreds of entries each) are the same for every request: parsed once, not once per request.
    const cached = this.trees.get(sha);
    if (cached) return cached;
    const o = await this.catFile().readObject(sha);
    if (!o || o.type !== 'tree') throw new GiveUp(`tree ${sha} unreadable`);
    const out = new Map<string, Entry>();
    for (const e of parseTreeObject(o.body)) {
      // Names are decoded as UTF-8; one that is not valid UTF-8 might not compare or print as git's bytes do.
      if (e.name.includes('\uFFFD') || out.has(e.name)) throw new GiveUp('a name that is not plain UTF-8');
      out.set(e.name, { mode: canonMode(e.mode), sha: e.sha });
    }
    if (this.trees.size >= TREE_CACHE) this.trees.clear();
    this.trees.set(sha, out);
    return out;
  }

  private async readCommit(sha: string): Promise<CommitHeader> {
    const o = await this.catFile().readObject(sha);
    // A tag (git would peel it) or a missing object: git's answer, whatever it is, is the right one.
    if (!o || o.type !== 'commit') throw new GiveUp(`${sha} is not a commit here`);
    return parseCommitObject(o.body);
  }

  /** Master's window, loaded once per master by one `rev-list`; null when the repository's history cannot be read this way. */
  private window(master: string): Promise<MasterWindow | null> {
    let p = this.windows.get(master);
    if (!p) {
      p = this.loadWindow(master).catch(() => {
        this.windows.delete(master);
        return null;
      });
      this.windows.set(master, p);
      while (this.windows.size > 2) this.windows.delete(this.windows.keys().next().value!);
    }
    return p;
  }

  private async loadWindow(master: string): Promise<MasterWindow | null> {
    const [r, grafted] = await Promise.all([
      this.git.run(['rev-list', '--topo-order', '--parents', `--max-count=${this.windowCap + 1}`, master, '--']),
      this.hasGrafts(),
    ]);
    // Shallow, grafted or replaced history: git walks parents that raw commit objects may not list,
    // or a long-lived cat-file may not know of. Let git answer.
    if (grafted) return null;
    const lines = r.stdout.split('\n').filter(Boolean);
    const truncated = lines.length > this.windowCap;
    const order: string[] = [];
    const position = new Map<string, number>();
    const parents: string[][] = [];
    for (const line of lines.slice(0, this.windowCap)) {
      const [c, ...ps] = line.split(' ');
      if (!c || !HEX40.test(c)) throw new Error('rev-list: unexpected output');
      position.set(c, order.length);
      order.push(c);
      parents.push(ps);
    }
    return { order, position, parents, truncated };
  }

  /**
   * True when the repository is shallow, has a grafts file (two stat calls on every window load) or
   * had replace refs when the walk started (checked once: nothing but an operator's `git replace` in
   * the managed repository makes one, and pushes may only write refs/pushreq/*).
   */
  private async hasGrafts(): Promise<boolean> {
    const facts = (this.repoFacts ??= Promise.all([
      this.git.out(['rev-parse', '--git-common-dir']),
      this.git.out(['for-each-ref', '--count=1', '--format=%(refname)', 'refs/replace/']),
    ]).then(([d, replace]) => ({ commonDir: resolvePath(this.git.dir, d), replaced: replace !== '' })));
    const { commonDir: dir, replaced } = await facts.catch((e: unknown) => {
      this.repoFacts = null;
      throw e;
    });
    if (replaced) return true;
    const exists = (p: string) =>
      access(p).then(
        () => true,
        () => false,
      );
    const [shallow, grafts] = await Promise.all([exists(join(dir, 'shallow')), exists(join(dir, 'info', 'grafts'))]);
    return shallow || grafts;
  }
}

/**
 * The candidates no other candidate reaches, by one pass over the window in topological order:
 * a commit is marked when a candidate (or a marked commit) lists it as a parent, and children
 * always come before parents, so a mark is final by the time the pass gets to it.
 */
function maximal(w: MasterWindow, candidates: ReadonlySet<string>): string[] {
  if (candidates.size <= 1) return [...candidates];
  const at = [...candidates].map((c) => w.position.get(c)!).sort((x, y) => x - y);
  const isCandidate = new Set(at);
  const last = at[at.length - 1]!;
  const marked = new Uint8Array(last + 1);
  const out: number[] = [];
  for (let i = at[0]!; i <= last; i++) {
    const cand = isCandidate.has(i);
    if (cand && !marked[i]) out.push(i);
    if (!cand && !marked[i]) continue;
    for (const p of w.parents[i]!) {
      const j = w.position.get(p);
      // A parent beyond the window reaches no commit in it (see mergeBaseFast).
      if (j !== undefined && j <= last) marked[j] = 1;
    }
  }
  return out.map((i) => w.order[i]!);
}
