// The one object writer: git objects (blobs, trees, commits) straight into a repository's object store as
// loose objects, and the one commit serialiser (`commitObject`, identities checked by `identLine`), for the
// state store, the managed repository and the train alike.
// Why not `git hash-object`/`mktree`/`commit-tree`: each is a process (~3–5 ms here); a state write
// needs several, and the push path is measured against a bare `git push`. The loose-object format is
// git's stable on-disk format (zlib of "<type> <size>\0<content>", named by its SHA-1).
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { PushmanagerError } from '../../state/pushmanager-error.js';
import type { GitCli } from './git-cli.js';

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

  tree(entries: readonly TreeEntry[]): Promise<string> {
    return this.write('tree', ObjectWriter.treeContent(entries));
  }

  /** A tree object's content. Entries are sorted the way git sorts them (a tree's name compares as if it ended in "/"). */
  static treeContent(entries: readonly TreeEntry[]): Buffer {
    const key = (e: TreeEntry) => (e.mode === '40000' ? `${e.name}/` : e.name);
    const sorted = [...entries].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    const parts: Buffer[] = [];
    for (const e of sorted) parts.push(Buffer.from(`${e.mode} ${e.name}\0`, 'utf8'), Buffer.from(e.sha, 'hex'));
    return Buffer.concat(parts);
  }

  /** A commit object's text (see `commitObject`). */
  static commitContent(c: { tree: string; parents: readonly string[]; author: Identity; committer?: Identity; message: string }): string {
    return commitObject({ tree: c.tree, parents: c.parents, author: identLine(c.author), committer: identLine(c.committer ?? c.author), message: c.message });
  }

  /** A commit object, serialised by `commitObject` (identities and message checked, as for the train's merges). */
  async commit(c: { tree: string; parents: readonly string[]; author: Identity; committer?: Identity; message: string }): Promise<string> {
    return this.write('commit', ObjectWriter.commitContent(c));
  }
}

/**
 * Who makes a commit or tag. `date`: ISO 8601 with a zone (`2026-01-01T00:00:00.000Z`, `…+02:00`) or git's
 * raw `<epoch> <±hhmm>`; other forms git accepts are left to git (`resolveIdents`). One type for the state
 * store, the managed repository's first commit and the train's merges and tags.
 */
export interface Identity {
  readonly name: string;
  readonly email: string;
  readonly date?: string;
}

export type GitObjectErrorCode = 'bad-identity' | 'bad-message' | 'object-writer-failed';

/** A commit or tag that cannot be written as asked (shaped like GitError: a code, data, toJSON). */
export class GitObjectError extends PushmanagerError {
  constructor(
    readonly code: GitObjectErrorCode,
    message: string,
    data: Readonly<Record<string, unknown>> = {},
    options?: { cause?: unknown },
  ) {
    super(message, data, options);
  }
}

/** Refuses what would break the `name <email> date` line of an object (never strips: a changed name is a different person). */
export function checkIdentity(who: Identity): void {
  for (const [field, v] of [['name', who.name], ['email', who.email], ['date', who.date ?? '']] as const) {
    if (/[<>\n\0]/.test(v)) throw new GitObjectError('bad-identity', `identity ${field} must not contain <, >, newline or NUL`, { field, value: v });
  }
  if (who.name.trim() === '' || who.email.trim() === '') throw new GitObjectError('bad-identity', 'identity needs a name and an email', { ...who });
}

const RAW_DATE = /^\d+ [+-]\d{4}$/;
const ISO_ZONED = /^\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(Z|[+-]\d\d:?\d\d)$/;

/** `<epoch> <±hhmm>` for a date in one of the forms this process reads as git does; null for the others. */
export function gitDate(date: string): string | null {
  if (RAW_DATE.test(date)) return date;
  const m = ISO_ZONED.exec(date);
  const ms = m ? Date.parse(date) : NaN;
  if (!m || !Number.isFinite(ms)) return null;
  const zone = m[1] === 'Z' ? '+0000' : m[1]!.replace(':', '');
  return `${Math.floor(ms / 1000)} ${zone}`;
}

/** `Name <email> <epoch> <±hhmm>`, as git writes it (git keeps the zone written in an ISO date). */
export function identLine(who: Identity): string {
  checkIdentity(who);
  const date = who.date === undefined ? null : gitDate(who.date);
  if (date === null) throw new GitObjectError('bad-identity', `identity date must be ISO 8601 with a zone or "<epoch> <+hhmm>", got ${JSON.stringify(who.date ?? null)}`, { field: 'date', value: who.date ?? null });
  return `${who.name} <${who.email}> ${date}`;
}

/**
 * `Name <email> <epoch> <tz>` lines as git would write them, for the given identity or, without one,
 * git's own idea of author and committer (env and config). A date this process reads is formatted here
 * (no process); any other form, or none (now, in the server's zone), goes through `git var`.
 */
export async function resolveIdents(git: GitCli, who?: Identity): Promise<{ author: string; committer: string }> {
  if (who) {
    checkIdentity(who);
    if (who.date !== undefined && gitDate(who.date) !== null) {
      const line = identLine(who);
      return { author: line, committer: line };
    }
    const env: Record<string, string> = { GIT_COMMITTER_NAME: who.name, GIT_COMMITTER_EMAIL: who.email };
    if (who.date !== undefined) env.GIT_COMMITTER_DATE = who.date;
    const line = await git.out(['var', 'GIT_COMMITTER_IDENT'], { env });
    return { author: line, committer: line };
  }
  const [author, committer] = await Promise.all([git.out(['var', 'GIT_AUTHOR_IDENT']), git.out(['var', 'GIT_COMMITTER_IDENT'])]);
  return { author, committer };
}

/** A commit message as stored: no NUL, exactly one trailing newline. */
export function normalizeMessage(message: string): string {
  if (message.includes('\0')) throw new GitObjectError('bad-message', 'a commit message must not contain NUL');
  return `${message.replace(/\n+$/, '')}\n`;
}

/** The raw text of a commit object: the one commit serialiser (identity lines from `identLine` or `resolveIdents`). */
export function commitObject(c: { tree: string; parents: readonly string[]; author: string; committer: string; message: string }): string {
  let s = `tree ${c.tree}\n`;
  for (const p of c.parents) s += `parent ${p}\n`;
  return `${s}author ${c.author}\ncommitter ${c.committer}\n\n${normalizeMessage(c.message)}`;
}

/** The repository's git directory for a GitCli: its own dir when that is a bare repository (no process). */
const gitDirs = new WeakMap<GitCli, Promise<string>>();
export function gitDirOf(git: GitCli): Promise<string> {
  let dir = gitDirs.get(git);
  if (!dir) {
    dir = (async () => {
      const bare = await Promise.all([stat(join(git.dir, 'objects')), stat(join(git.dir, 'HEAD'))]).then(
        () => true,
        () => false,
      );
      return bare ? git.dir : git.out(['rev-parse', '--absolute-git-dir']);
    })();
    gitDirs.set(git, dir);
  }
  return dir;
}

/**
 * Commit objects for the train (merge commits, conflict-check helpers) as loose objects from this
 * process, through the same `ObjectWriter` as the state store, instead of a `git commit-tree` process
 * each: a build or a conflict check writes many. The text comes from `commitObject`; `close()` is kept
 * for callers' symmetry.
 */
export class CommitWriter {
  private writer: Promise<ObjectWriter> | null = null;
  private closed = false;

  constructor(private readonly git: GitCli) {}

  /** Writes one commit object (its raw text, see `commitObject`) and resolves to its id. */
  async write(objectText: string): Promise<string> {
    if (this.closed) throw new GitObjectError('object-writer-failed', 'CommitWriter is closed');
    this.writer ??= gitDirOf(this.git).then((dir) => new ObjectWriter(dir));
    try {
      return await (await this.writer).write('commit', objectText);
    } catch (e) {
      throw new GitObjectError('object-writer-failed', `writing a commit object failed: ${(e as Error).message}`, {}, { cause: e });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
