// The GitRepo port on the real git, over the long-lived processes the server already keeps: one
// `cat-file --batch` for reads, one `update-ref --stdin` session for ref transactions, loose objects
// written from this process (ObjectWriter), ref reads from the ref files (no process on the push path).
// Only what has no long-lived form (a trial merge, an ancestry question, a history walk) starts a git.
import { CatFileBatch, type RawObject } from './cat-file.js';
import { GitCli, gitEnv } from './git-cli.js';
import { ObjectWriter, type TreeEntry } from './object-writer.js';
import { readRefSync } from './ref-reader.js';
import { RefSession } from './ref-session.js';
import { checkRefName, type CommitSpec, type GitRepo, type LogEntry, type LogQuery, type RefTransactionResult, type RefUpdate, type TreeListingEntry } from './git-repo.js';
import { mergeTree, type MergeTreeResult } from '../train/merge-tree.js';

/** Characters a basic regular expression (git's `--grep`) gives a meaning. */
const escapeBre = (s: string) => s.replace(/[\\.[\]*^$]/g, (c) => `\\${c}`);
const OID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

export class CliGitRepo implements GitRepo {
  private readonly writer: ObjectWriter;
  private readonly cat: CatFileBatch;
  private readonly refs: RefSession;

  constructor(
    /** Runs git in the repository, with the environment every call needs. */
    readonly git: GitCli,
    /** The repository's git directory (a bare repository's root). */
    readonly gitDir: string,
  ) {
    this.writer = new ObjectWriter(gitDir);
    this.cat = new CatFileBatch(gitDir, gitEnv(git));
    this.refs = new RefSession(git);
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

  async readObject(name: string): Promise<RawObject | null> {
    return this.cat.readObject(name);
  }

  async listTree(treeish: string): Promise<TreeListingEntry[]> {
    if (!OID.test(treeish)) throw new TypeError(`listTree takes an object id, got ${JSON.stringify(treeish)}`);
    const out = await this.git.out(['ls-tree', '-r', '-t', '-z', treeish]);
    const entries: TreeListingEntry[] = [];
    for (const line of out.split('\0')) {
      if (!line) continue;
      const tab = line.indexOf('\t');
      const [mode, type, sha] = line.slice(0, tab).split(' ') as [string, TreeListingEntry['type'], string];
      entries.push({ path: line.slice(tab + 1), type, mode, sha });
    }
    return entries;
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

  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    if (!OID.test(ancestor) || !OID.test(descendant)) throw new TypeError(`isAncestor takes object ids, got ${ancestor} ${descendant}`);
    // Exit 1 is the answer "no"; an unknown object is 128, which throws.
    return (await this.git.run(['merge-base', '--is-ancestor', ancestor, descendant], { okCodes: [1] })).exitCode === 0;
  }

  async mergeBases(a: string, b: string): Promise<string[]> {
    if (!OID.test(a) || !OID.test(b)) throw new TypeError(`mergeBases takes object ids, got ${a} ${b}`);
    const r = await this.git.run(['merge-base', '--all', a, b], { okCodes: [1] });
    return r.stdout.split('\n').filter(Boolean);
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
    await this.refs.close();
  }
}
