// Packs for the load generator: made by real git (`git pack-objects`, ahead of time, for the capacity
// curve), or written here from objects read out of a clone (for the simulation, whose commits depend on
// master at the time of the push and so cannot be packed ahead). A pack is what `git push` sends after
// its commands: "PACK", version 2, the object count, each object (type and size header, zlib data), and
// the SHA-1 of everything before it.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { parseTreeObject, type CatFileBatch } from '../../server/git/cat-file.js';
import type { ObjectType } from '../../server/git/object-writer.js';

export interface PackObject {
  readonly type: ObjectType;
  readonly body: Buffer;
}

const TYPE_CODE: Record<ObjectType, number> = { commit: 1, tree: 2, blob: 3, tag: 4 };

/** A version-2 pack of whole (undeltified) objects; `[]` gives the empty pack git sends when the server has everything. */
export function buildPack(objects: readonly PackObject[]): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(12);
  header.write('PACK', 0, 'ascii');
  header.writeUInt32BE(2, 4);
  header.writeUInt32BE(objects.length, 8);
  parts.push(header);
  for (const o of objects) {
    // Size in 4 bits, then 7 bits a byte, little end first; the high bit says another byte follows.
    let size = o.body.length;
    const bytes = [(TYPE_CODE[o.type] << 4) | (size & 0x0f)];
    size = Math.floor(size / 16);
    while (size > 0) {
      bytes[bytes.length - 1]! |= 0x80;
      bytes.push(size & 0x7f);
      size = Math.floor(size / 128);
    }
    parts.push(Buffer.from(bytes), deflateSync(o.body, { level: 1 }));
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([body, createHash('sha1').update(body).digest()]);
}

/**
 * The objects `commit` adds to its first parent: the commit, and every tree and blob in its tree that
 * the parent's tree does not hold at the same path. What a push of `commit` must send to a server that
 * has the parent (and so everything reachable from it); read through one long-lived `cat-file --batch`.
 */
export async function objectsAddedByCommit(cat: CatFileBatch, commit: string): Promise<PackObject[]> {
  const c = await cat.readObject(commit);
  if (!c || c.type !== 'commit') throw new Error(`pack: ${commit} is not a commit in this clone`);
  const text = c.body.toString('utf8');
  const tree = /^tree ([0-9a-f]{40})$/m.exec(text)?.[1];
  const parent = /^parent ([0-9a-f]{40})$/m.exec(text)?.[1];
  if (!tree) throw new Error(`pack: commit ${commit} has no tree`);
  let parentTree: string | null = null;
  if (parent) {
    const p = await cat.readText(parent);
    parentTree = (p && /^tree ([0-9a-f]{40})$/m.exec(p)?.[1]) ?? null;
  }
  const out: PackObject[] = [{ type: 'commit', body: c.body }];
  await addTree(cat, tree, parentTree, out);
  return out;
}

async function addTree(cat: CatFileBatch, tree: string, old: string | null, out: PackObject[]): Promise<void> {
  if (tree === old) return;
  const raw = await cat.read(tree);
  if (!raw) throw new Error(`pack: tree ${tree} missing`);
  out.push({ type: 'tree', body: raw });
  const oldRaw = old ? await cat.read(old) : null;
  const before = new Map((oldRaw ? parseTreeObject(oldRaw) : []).map((e) => [e.name, e]));
  for (const e of parseTreeObject(raw)) {
    const prev = before.get(e.name);
    if (prev?.sha === e.sha) continue;
    if (e.mode === '40000') await addTree(cat, e.sha, prev?.mode === '40000' ? prev.sha : null, out);
    else if (e.mode === '160000') continue; // a submodule's commit lives elsewhere
    else {
      const blob = await cat.read(e.sha);
      if (!blob) throw new Error(`pack: blob ${e.sha} missing`);
      out.push({ type: 'blob', body: blob });
    }
  }
}

/** Real git's pack of what `tip` adds to `bases` (`git pack-objects --revs --stdout`, as `git push` makes it). */
export function gitPackObjects(gitDir: string, tip: string, bases: readonly string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['-C', gitDir, 'pack-objects', '--revs', '--stdout', '-q', '--thin'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' } });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`git pack-objects exited ${code}: ${stderr.trim()}`))));
    child.stdin.end(`${tip}\n${bases.map((b) => `^${b}\n`).join('')}`);
  });
}
