// The GitRepo port in memory, for tests of code above the port: objects are stored as git would store
// them (same content, same ids, so a SHA computed here is the one git computes), refs in a map. Merges
// are three-way by file (a path changed on both sides differently is a conflict; git would also merge
// the lines of such a file). History walks follow commit dates, newest first. Diffs detect exact renames
// only (the same blob under a new name), so changedPaths also counts a deletion beside an addition as risky.
import { parseTreeObject, type RawObject } from './cat-file.js';
import { ObjectWriter, type ObjectType, type TreeEntry } from './object-writer.js';
import {
  checkRefName,
  refChanged,
  summarizeDiff,
  tagObject,
  type ChangedPaths,
  type ChangesSince,
  type CommitSpec,
  type DiffEntry,
  type GitRepo,
  type LogEntry,
  type LogQuery,
  type MergeSession,
  type MergeTreeResult,
  type RefTransactionResult,
  type RefUpdate,
  type TagSpec,
  type TreeListingEntry,
} from './git-repo.js';

interface Commit {
  readonly tree: string;
  readonly parents: readonly string[];
  /** Committer date, epoch seconds, and its zone (`+0000`). */
  readonly time: number;
  readonly zone: string;
  readonly message: string;
}

const typeOfMode = (mode: string): TreeListingEntry['type'] => (mode === '40000' ? 'tree' : mode === '160000' ? 'commit' : 'blob');

export class MemoryGitRepo implements GitRepo {
  private readonly objects = new Map<string, { type: ObjectType; body: Buffer }>();
  private readonly refs = new Map<string, string>();

  private put(type: ObjectType, content: Buffer | string): string {
    const body = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    const { sha } = ObjectWriter.hash(type, body);
    this.objects.set(sha, { type, body });
    return sha;
  }

  async writeBlob(content: string | Buffer): Promise<string> {
    return this.put('blob', content);
  }

  async writeTree(entries: readonly TreeEntry[]): Promise<string> {
    return this.put('tree', ObjectWriter.treeContent(entries));
  }

  async writeCommit(c: CommitSpec): Promise<string> {
    for (const sha of [c.tree, ...c.parents]) if (!this.objects.has(sha)) throw new Error(`writeCommit: object ${sha} is missing`);
    return this.put('commit', ObjectWriter.commitContent(c));
  }

  async writeTag(t: TagSpec): Promise<string> {
    const target = this.objects.get(t.object);
    if (!target) throw new TypeError(`writeTag: no object ${t.object}`);
    return this.put('tag', tagObject(t, target.type));
  }

  async readObject(name: string): Promise<RawObject | null> {
    const colon = name.indexOf(':');
    if (colon < 0) return this.objects.get(name) ?? null;
    const root = this.treeOf(name.slice(0, colon));
    if (root === null) return null;
    let sha: string | null = root;
    for (const part of name.slice(colon + 1).split('/')) {
      const entries: ReturnType<typeof parseTreeObject> | null = sha ? this.treeEntries(sha) : null;
      sha = entries?.find((e) => e.name === part)?.sha ?? null;
    }
    return sha ? (this.objects.get(sha) ?? null) : null;
  }

  async listTree(treeish: string): Promise<TreeListingEntry[]> {
    const root = this.treeOf(treeish);
    if (root === null) throw new Error(`listTree: ${treeish} is not a tree or commit`);
    const out: TreeListingEntry[] = [];
    const walk = (sha: string, prefix: string) => {
      for (const e of this.treeEntries(sha) ?? []) {
        const type = typeOfMode(e.mode);
        out.push({ path: prefix + e.name, type, mode: e.mode.padStart(6, '0'), sha: e.sha });
        if (type === 'tree') walk(e.sha, `${prefix}${e.name}/`);
      }
    };
    walk(root, '');
    return out;
  }

  async lsTree(commit: string, paths: readonly string[]): Promise<TreeListingEntry[]> {
    const root = this.treeOf(commit);
    if (root === null) throw new Error(`lsTree: ${commit} is not a tree or commit`);
    const out: TreeListingEntry[] = [];
    for (const path of new Set(paths)) {
      const slash = path.lastIndexOf('/');
      const dir = slash < 0 ? root : this.entryAt(root, path.slice(0, slash));
      const e = dir ? this.treeEntries(dir)?.find((x) => x.name === path.slice(slash + 1)) : undefined;
      if (e) out.push({ path, type: typeOfMode(e.mode), mode: e.mode.padStart(6, '0'), sha: e.sha });
    }
    // git lists them in its tree order (by path).
    return out.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
  }

  async objectTypes(ids: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const id of ids) {
      const o = this.objects.get(id);
      if (o) out.set(id, o.type);
    }
    return out;
  }

  async readRef(ref: string): Promise<string | null> {
    checkRefName(ref);
    return this.refs.get(ref) ?? null;
  }

  async updateRefs(updates: readonly RefUpdate[]): Promise<RefTransactionResult> {
    for (const u of updates) checkRefName(u.ref);
    for (const u of updates) {
      if (u.oldSha === undefined) continue;
      const actual = this.refs.get(u.ref) ?? null;
      if (actual !== u.oldSha) return refChanged(u.ref, u.oldSha, actual);
    }
    for (const u of updates) if (u.newSha !== null && !this.objects.has(u.newSha)) throw new Error(`cannot move ${u.ref} to ${u.newSha}: no such object`);
    for (const u of updates) {
      if (u.newSha === null) this.refs.delete(u.ref);
      else this.refs.set(u.ref, u.newSha);
    }
    return { ok: true };
  }

  async mergeTree(a: string, b: string): Promise<MergeTreeResult> {
    const bases = await this.mergeBases(a, b);
    const base = bases[0] ? this.files(this.commit(bases[0]).tree) : new Map<string, TreeListingEntry>();
    const ours = this.files(this.commit(a).tree);
    const theirs = this.files(this.commit(b).tree);
    const merged = new Map<string, TreeListingEntry>();
    const conflicts: string[] = [];
    const same = (x?: TreeListingEntry, y?: TreeListingEntry) => x?.sha === y?.sha && x?.mode === y?.mode;
    for (const path of [...new Set([...ours.keys(), ...theirs.keys()])].sort()) {
      const o = ours.get(path);
      const t = theirs.get(path);
      const s = base.get(path);
      const take = same(o, t) || same(t, s) ? o : same(o, s) ? t : (conflicts.push(path), o ?? t);
      if (take) merged.set(path, take);
    }
    return { clean: conflicts.length === 0, tree: await this.writeFiles(merged), files: conflicts };
  }

  async mergeTrees(pairs: readonly (readonly [string, string])[]): Promise<MergeTreeResult[]> {
    const out: MergeTreeResult[] = [];
    for (const [a, b] of pairs) out.push(await this.mergeTree(a, b));
    return out;
  }

  openMergeSession(): MergeSession {
    return { merge: (a, b) => this.mergeTree(a, b), close: async () => {} };
  }

  async diffTrees(pairs: readonly (readonly [string, string])[], opts: { readonly renames?: boolean } = {}): Promise<DiffEntry[][]> {
    const ZERO = '0'.repeat(40);
    return pairs.map(([c, base]) => {
      const before = this.files(this.commit(base).tree);
      const after = this.files(this.commit(c).tree);
      const out: DiffEntry[] = [];
      for (const path of [...new Set([...before.keys(), ...after.keys()])].sort()) {
        const o = before.get(path);
        const n = after.get(path);
        if (o && n && o.sha === n.sha && o.mode === n.mode) continue;
        const status = !o ? 'A' : !n ? 'D' : typeOfMode(o.mode) !== typeOfMode(n.mode) || (o.mode === '120000') !== (n.mode === '120000') ? 'T' : 'M';
        out.push({ status, oldMode: o ? o.mode.padStart(6, '0') : '000000', newMode: n ? n.mode.padStart(6, '0') : '000000', oldSha: o?.sha ?? ZERO, newSha: n?.sha ?? ZERO, path });
      }
      if (!opts.renames) return out;
      // Exact renames: a deleted file whose blob was added under another name.
      const added = out.filter((e) => e.status === 'A' && e.newMode !== '160000');
      const renamed: DiffEntry[] = [];
      const gone = new Set<DiffEntry>();
      for (const d of out.filter((e) => e.status === 'D' && e.oldMode !== '160000')) {
        const a = added.find((x) => !gone.has(x) && x.newSha === d.oldSha);
        if (!a) continue;
        gone.add(a).add(d);
        renamed.push({ status: 'R100', oldMode: d.oldMode, newMode: a.newMode, oldSha: d.oldSha, newSha: a.newSha, from: d.path, path: a.path });
      }
      return [...out.filter((e) => !gone.has(e)), ...renamed].sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
    });
  }

  async changedPaths(items: readonly ChangesSince[]): Promise<ChangedPaths[]> {
    return Promise.all(
      items.map(async (it) => {
        const acc = { paths: new Set<string>(), risky: false };
        for (const entries of await this.diffTrees(it.bases.map((b) => [it.sha, b] as const), { renames: true })) {
          summarizeDiff(entries, acc);
          // Renames that are not exact go undetected here: a deletion beside an addition may be one.
          if (entries.some((e) => e.status === 'D') && entries.some((e) => e.status === 'A')) acc.risky = true;
          if (entries.some((e) => e.status === 'T')) acc.risky = true;
        }
        return acc;
      }),
    );
  }

  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    this.commit(ancestor);
    return this.ancestors(descendant).has(ancestor);
  }

  async mergeBases(a: string, b: string): Promise<string[]> {
    const ofB = this.ancestors(b);
    const common = [...this.ancestors(a)].filter((c) => ofB.has(c));
    // The best ones: no other common ancestor descends from them.
    return common.filter((c) => !common.some((d) => d !== c && this.ancestors(d).has(c)));
  }

  async log(q: LogQuery): Promise<LogEntry[]> {
    const out: LogEntry[] = [];
    for (const sha of this.byDate(this.ancestors(q.tip))) {
      if (q.limit !== undefined && out.length >= q.limit) break;
      const c = this.commit(sha);
      if (q.since !== undefined && c.time < q.since) continue;
      if (q.grepLine !== undefined && !c.message.split('\n').includes(q.grepLine)) continue;
      if (q.path !== undefined) {
        const here = this.entryAt(c.tree, q.path);
        const parents = c.parents.map((p) => this.entryAt(this.commit(p).tree, q.path!));
        if (parents.length ? parents.some((p) => p === here) : here === null) continue;
      }
      const paragraphs = c.message.replace(/\n+$/, '').split(/\n\n+/);
      const last = paragraphs.length > 1 ? (paragraphs[paragraphs.length - 1] ?? '').split('\n') : [];
      const trailers = last.every((l) => /^[A-Za-z0-9-]+: /.test(l)) ? last : [];
      out.push({ sha, committedAt: isoDate(c.time, c.zone), subject: (paragraphs[0] ?? '').split('\n').join(' '), trailers });
    }
    return out;
  }

  async revList(tip: string, exclude?: string | null): Promise<string[]> {
    const skip = exclude ? this.ancestors(exclude) : new Set<string>();
    return this.byDate(this.ancestors(tip))
      .filter((c) => !skip.has(c))
      .reverse();
  }

  async close(): Promise<void> {}

  private commit(sha: string): Commit {
    const o = this.objects.get(sha);
    if (!o || o.type !== 'commit') throw new Error(`${sha} is not a commit here`);
    const text = o.body.toString('utf8');
    const blank = text.indexOf('\n\n');
    const head = text.slice(0, blank).split('\n');
    const committer = /^committer .* (\d+) ([+-]\d{4})$/.exec(head.find((l) => l.startsWith('committer ')) ?? '');
    return {
      tree: head[0]!.slice('tree '.length),
      parents: head.filter((l) => l.startsWith('parent ')).map((l) => l.slice('parent '.length)),
      time: Number(committer?.[1] ?? 0),
      zone: committer?.[2] ?? '+0000',
      message: text.slice(blank + 2),
    };
  }

  /** The root tree of a commit or tree id (or `refs/…`), or null. */
  private treeOf(name: string): string | null {
    const sha = name.startsWith('refs/') ? (this.refs.get(name) ?? '') : name;
    const o = this.objects.get(sha);
    if (o?.type === 'tree') return sha;
    return o?.type === 'commit' ? this.commit(sha).tree : null;
  }

  private treeEntries(sha: string): ReturnType<typeof parseTreeObject> | null {
    const o = this.objects.get(sha);
    return o?.type === 'tree' ? parseTreeObject(o.body) : null;
  }

  private entryAt(tree: string, path: string): string | null {
    let sha: string | null = tree;
    for (const part of path.split('/')) sha = (sha && this.treeEntries(sha)?.find((e) => e.name === part)?.sha) ?? null;
    return sha;
  }

  /** Every file (not directory) under a tree, by path. */
  private files(tree: string): Map<string, TreeListingEntry> {
    const out = new Map<string, TreeListingEntry>();
    const walk = (sha: string, prefix: string) => {
      for (const e of this.treeEntries(sha) ?? []) {
        if (e.mode === '40000') walk(e.sha, `${prefix}${e.name}/`);
        else out.set(prefix + e.name, { path: prefix + e.name, type: typeOfMode(e.mode), mode: e.mode, sha: e.sha });
      }
    };
    walk(tree, '');
    return out;
  }

  /** Writes the trees for a set of files and returns the root's id. */
  private async writeFiles(files: ReadonlyMap<string, TreeListingEntry>): Promise<string> {
    const write = async (prefix: string): Promise<string> => {
      const entries: TreeEntry[] = [];
      const dirs = new Set<string>();
      for (const [path, f] of files) {
        if (!path.startsWith(prefix)) continue;
        const rest = path.slice(prefix.length);
        const slash = rest.indexOf('/');
        if (slash < 0) entries.push({ name: rest, mode: f.mode as TreeEntry['mode'], sha: f.sha });
        else dirs.add(rest.slice(0, slash));
      }
      for (const d of dirs) entries.push({ name: d, mode: '40000', sha: await write(`${prefix}${d}/`) });
      return this.writeTree(entries);
    };
    return write('');
  }

  private ancestors(sha: string): Set<string> {
    const seen = new Set<string>();
    const todo = [sha];
    while (todo.length) {
      const c = todo.pop()!;
      if (seen.has(c)) continue;
      seen.add(c);
      todo.push(...this.commit(c).parents);
    }
    return seen;
  }

  /** Newest first by committer date; a child before its parents when dates tie. */
  private byDate(commits: ReadonlySet<string>): string[] {
    const order: string[] = [];
    const placed = new Set<string>();
    const visit = (c: string) => {
      if (placed.has(c)) return;
      placed.add(c);
      for (const p of this.commit(c).parents) if (commits.has(p)) visit(p);
      order.push(c);
    };
    for (const c of commits) visit(c);
    const topo = new Map(order.map((c, i) => [c, i]));
    return [...commits].sort((x, y) => this.commit(y).time - this.commit(x).time || topo.get(y)! - topo.get(x)!);
  }
}

function isoDate(epoch: number, zone: string): string {
  const sign = zone[0] === '-' ? -1 : 1;
  const offsetMin = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5)));
  const local = new Date((epoch + offsetMin * 60) * 1000).toISOString().replace(/\.\d{3}Z$/, '');
  return `${local}${zone.slice(0, 3)}:${zone.slice(3)}`;
}
