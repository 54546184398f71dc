// Commit objects for the train (merge commits, conflict-check helpers) written without a process each:
// loose objects from this process, through the same writer as the state store. Also: author/committer
// lines resolved by git once per batch.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { GitCli } from '../git/git-cli.js';
import { ObjectWriter } from '../git/object-writer.js';
import { TrainError } from './errors.js';

/** Who makes a commit or tag. `date` is anything git accepts (e.g. `1700000000 +0000`, ISO 8601). */
export interface Identity {
  readonly name: string;
  readonly email: string;
  readonly date?: string;
}

function checkIdentity(who: Identity): void {
  // These would break the `name <email> date` line of the object.
  for (const [field, v] of [['name', who.name], ['email', who.email], ['date', who.date ?? '']] as const) {
    if (/[<>\n\0]/.test(v)) throw new TrainError('bad-identity', `identity ${field} must not contain <, >, newline or NUL`, { field, value: v });
  }
  if (who.name.trim() === '' || who.email.trim() === '') throw new TrainError('bad-identity', 'identity needs a name and an email', { ...who });
}

/**
 * `Name <email> <epoch> <tz>` lines as git would write them (git parses the date), for the
 * given identity or, without one, git's own idea of author and committer (env and config).
 */
export async function resolveIdents(git: GitCli, who?: Identity): Promise<{ author: string; committer: string }> {
  if (who) {
    checkIdentity(who);
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
  if (message.includes('\0')) throw new TrainError('bad-message', 'a commit message must not contain NUL');
  return `${message.replace(/\n+$/, '')}\n`;
}

/** The raw text of a commit object. */
export function commitObject(c: { tree: string; parents: readonly string[]; author: string; committer: string; message: string }): string {
  let s = `tree ${c.tree}\n`;
  for (const p of c.parents) s += `parent ${p}\n`;
  return `${s}author ${c.author}\ncommitter ${c.committer}\n\n${normalizeMessage(c.message)}`;
}

/** The repository's git directory for a GitCli: its own dir when that is a bare repository (no process). */
const gitDirs = new WeakMap<GitCli, Promise<string>>();
function gitDirOf(git: GitCli): Promise<string> {
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
 * Writes commit objects as loose objects from this process (zlib + SHA-1, as the state store does),
 * instead of a `git commit-tree` process each: a build or a conflict check writes many. The text comes
 * from `commitObject`, which checks identities and messages; `close()` is kept for callers' symmetry.
 */
export class CommitWriter {
  private writer: Promise<ObjectWriter> | null = null;
  private closed = false;

  constructor(private readonly git: GitCli) {}

  /** Writes one commit object (its raw text, see `commitObject`) and resolves to its id. */
  async write(objectText: string): Promise<string> {
    if (this.closed) throw new TrainError('object-writer-failed', 'CommitWriter is closed');
    this.writer ??= gitDirOf(this.git).then((dir) => new ObjectWriter(dir));
    try {
      return await (await this.writer).write('commit', objectText);
    } catch (e) {
      throw new TrainError('object-writer-failed', `writing a commit object failed: ${(e as Error).message}`, {}, { cause: e });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
