// Writes git objects (blobs, trees, commits) straight into a repository's object store as loose objects.
// Why not `git hash-object`/`mktree`/`commit-tree`: each is a process (~3–5 ms here); a state write
// needs several, and the push path is measured against a bare `git push`. The loose-object format is
// git's stable on-disk format (zlib of "<type> <size>\0<content>", named by its SHA-1).
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

export type ObjectType = 'blob' | 'tree' | 'commit' | 'tag';

export interface TreeEntry {
  readonly name: string;
  readonly mode: '100644' | '40000' | '100755' | '160000';
  readonly sha: string;
}

/**
 * How long "this object is on disk" may be trusted without writing it again. Repository maintenance
 * (server/repo/maintenance.ts) prunes unreachable loose objects older than PRUNE_EXPIRE; an object
 * this writer skipped could be such a one (a state write whose compare-and-swap lost, a conflict
 * check's helper commit). Writing it again renames a fresh copy into place, which also freshens its
 * time, so nothing trusted here is ever older than this, far below the prune expiry.
 */
export const KNOWN_OBJECT_TTL_MS = 60 * 60 * 1000;

export class ObjectWriter {
  private readonly known = new Set<string>();
  private knownSince = Date.now();
  private readonly dirs = new Set<string>();
  private tmpCounter = 0;

  /** `gitDir` is the repository's git directory (a bare repository's root). */
  constructor(private readonly gitDir: string) {}

  static hash(type: ObjectType, content: Buffer): { sha: string; raw: Buffer } {
    const raw = Buffer.concat([Buffer.from(`${type} ${content.length}\0`), content]);
    return { sha: createHash('sha1').update(raw).digest('hex'), raw };
  }

  async write(type: ObjectType, content: Buffer | string): Promise<string> {
    const { sha, raw } = ObjectWriter.hash(type, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
    if (Date.now() - this.knownSince > KNOWN_OBJECT_TTL_MS) {
      this.known.clear();
      this.knownSince = Date.now();
    }
    if (this.known.has(sha)) return sha;
    const dir = join(this.gitDir, 'objects', sha.slice(0, 2));
    const file = join(dir, sha.slice(2));
    // Fewer file-system calls per object (each state commit writes several): the fan-out directories
    // made once per process, and no existence check; rewriting an object that exists puts the same bytes.
    // Synchronous on purpose: a few small writes take microseconds each, while every trip through
    // libuv's thread pool waits for a core, which on a busy 2-core server was most of a state write.
    if (!this.dirs.has(dir)) {
      mkdirSync(dir, { recursive: true });
      this.dirs.add(dir);
    }
    // Write under a temporary name and rename, so a reader never sees half an object.
    const tmp = join(dir, `tmp_obj_pm_${process.pid}_${this.tmpCounter++}`);
    const data = deflateSync(raw, { level: 1 });
    try {
      writeFileSync(tmp, data, { mode: 0o444 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      // `git prune` removes empty fan-out directories: make it again.
      mkdirSync(dir, { recursive: true });
      writeFileSync(tmp, data, { mode: 0o444 });
    }
    renameSync(tmp, file);
    this.known.add(sha);
    if (this.known.size > 50_000) this.known.clear();
    return sha;
  }

  blob(text: string): Promise<string> {
    return this.write('blob', text);
  }

  /** Entries are sorted the way git sorts them (a tree's name compares as if it ended in "/"). */
  tree(entries: readonly TreeEntry[]): Promise<string> {
    const key = (e: TreeEntry) => (e.mode === '40000' ? `${e.name}/` : e.name);
    const sorted = [...entries].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    const parts: Buffer[] = [];
    for (const e of sorted) parts.push(Buffer.from(`${e.mode} ${e.name}\0`, 'utf8'), Buffer.from(e.sha, 'hex'));
    return this.write('tree', Buffer.concat(parts));
  }

  commit(c: { tree: string; parents: readonly string[]; author: Identity; committer?: Identity; message: string }): Promise<string> {
    const lines = [`tree ${c.tree}`, ...c.parents.map((p) => `parent ${p}`), `author ${ident(c.author)}`, `committer ${ident(c.committer ?? c.author)}`];
    return this.write('commit', `${lines.join('\n')}\n\n${c.message}`);
  }
}

export interface Identity {
  readonly name: string;
  readonly email: string;
  /** ISO time. */
  readonly date: string;
}

function ident(i: Identity): string {
  const clean = (s: string) => s.replace(/[<>\n\0]/g, '');
  const seconds = Math.floor(new Date(i.date).getTime() / 1000);
  return `${clean(i.name)} <${clean(i.email)}> ${seconds} +0000`;
}
