// Reads a ref's SHA from the repository's files, as git does: the loose ref file first, then the
// `packed-refs` file. Refs are read before every command and on every push; a `git rev-parse` for each
// costs a process start from the server (forking the server process blocks its event loop), and since
// repository maintenance packs refs (server/repo/maintenance.ts), most refs live in `packed-refs`.
// Synchronous on purpose: a few small reads, where a trip through libuv's thread pool waits for a core.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const SHA = /^[0-9a-f]{40}$/;
const PLAIN_REF = /^refs\/[A-Za-z0-9._/-]+$/;

interface PackedRefs {
  readonly key: string;
  readonly refs: ReadonlyMap<string, string>;
}

const packedCache = new Map<string, PackedRefs>();

/** Parses a `packed-refs` file: "<sha> <ref>" lines; "^<sha>" peels the line before; "#" is the header. */
export function parsePackedRefs(text: string): Map<string, string> {
  const refs = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith('^')) continue;
    const sp = line.indexOf(' ');
    const sha = line.slice(0, sp);
    if (sp === 40 && SHA.test(sha)) refs.set(line.slice(sp + 1), sha);
  }
  return refs;
}

/** The parsed packed-refs of `gitDir`, read again only when the file changed (git replaces it by rename). */
function packedRefs(gitDir: string): ReadonlyMap<string, string> {
  const file = join(gitDir, 'packed-refs');
  let key: string;
  try {
    const s = statSync(file);
    key = `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    packedCache.delete(gitDir);
    return new Map();
  }
  const hit = packedCache.get(gitDir);
  if (hit?.key === key) return hit.refs;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return new Map(); // replaced between the stat and the read: the caller's next read sees the new one
  }
  const refs = parsePackedRefs(text);
  packedCache.set(gitDir, { key, refs });
  return refs;
}

/**
 * The SHA a plain ref (`refs/...`) points at: a string; null when the ref does not exist; undefined
 * when the files cannot say (a symbolic ref, an unusual name): ask git then.
 */
export function readRefSync(gitDir: string, ref: string): string | null | undefined {
  if (!PLAIN_REF.test(ref) || ref.includes('..')) return undefined;
  try {
    const text = readFileSync(join(gitDir, ref), 'utf8').trim();
    return SHA.test(text) ? text : undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // ENOTDIR/EISDIR: a prefix of the name is a file, or the name is a directory: not a loose ref.
    if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EISDIR') return undefined;
  }
  // Loose first, then packed: pack-refs writes packed-refs before it deletes the loose files, so a
  // ref missing from both was absent at the moment of the second read.
  return packedRefs(gitDir).get(ref) ?? null;
}
