// The long-lived `update-ref --stdin` session behind every state commit: many transactions in one
// process, each atomic; a lost compare-and-swap is an answer (and the next transaction still works);
// anything that is not a full ref name is refused before it reaches git.
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RefSession } from '../../../server/git/ref-session.js';
import { commitFiles, initRepo, type FixtureRepo } from '../../helpers/git-fixtures.js';

let repo: FixtureRepo;
let session: RefSession;
let a: string;
let b: string;

beforeEach(async () => {
  repo = await initRepo();
  a = await commitFiles(repo.git, { files: { 'x.txt': 'a\n' }, message: 'a' });
  b = await commitFiles(repo.git, { files: { 'x.txt': 'b\n' }, message: 'b' });
  session = new RefSession(repo.git);
});
afterEach(async () => {
  await session.close();
  await repo.cleanup();
});

const at = (ref: string) => repo.git.resolve(ref);

describe('RefSession', () => {
  it('runs many transactions, each moving several refs together, and deletes with an expected value', async () => {
    expect(await session.transaction([{ ref: 'refs/heads/one', newSha: a, oldSha: null }, { ref: 'refs/heads/two', newSha: a, oldSha: null }])).toEqual({ ok: true });
    expect(await session.transaction([{ ref: 'refs/heads/one', newSha: b, oldSha: a }])).toEqual({ ok: true });
    expect(await session.transaction([{ ref: 'refs/heads/two', newSha: null, oldSha: a }])).toEqual({ ok: true });
    expect([await at('refs/heads/one'), await at('refs/heads/two')]).toEqual([b, null]);
  });

  it('a lost compare-and-swap moves nothing, says why, and the next transaction works', async () => {
    await session.transaction([{ ref: 'refs/heads/one', newSha: a, oldSha: null }]);
    const lost = await session.transaction([
      { ref: 'refs/heads/two', newSha: b, oldSha: null },
      { ref: 'refs/heads/one', newSha: b, oldSha: b }, // it is at a
    ]);
    expect(lost.ok).toBe(false);
    expect(!lost.ok && lost.detail).toMatch(/refs\/heads\/one/);
    expect([await at('refs/heads/one'), await at('refs/heads/two')]).toEqual([a, null]);
    expect(await session.transaction([{ ref: 'refs/heads/one', newSha: b, oldSha: a }])).toEqual({ ok: true });
    expect(await at('refs/heads/one')).toBe(b);
  });

  it('concurrent callers are queued, not interleaved', async () => {
    const all = await Promise.all(Array.from({ length: 10 }, (_, i) => session.transaction([{ ref: `refs/heads/r${i}`, newSha: i % 2 ? a : b, oldSha: null }])));
    expect(all.every((r) => r.ok)).toBe(true);
    for (let i = 0; i < 10; i++) expect(await at(`refs/heads/r${i}`)).toBe(i % 2 ? a : b);
  });

  it('refuses a ref that is not one full name without running it', async () => {
    for (const ref of ['HEAD', 'refs/heads/x\nupdate refs/heads/y', 'refs/heads/with space', '']) await expect(session.transaction([{ ref, newSha: a }])).rejects.toThrow(/not a full ref name/);
    expect(await at('refs/heads/y')).toBeNull();
  });

  it('a lost compare-and-swap is told by the refs, naming the ref, what was expected and what is there', async () => {
    await session.transaction([{ ref: 'refs/heads/one', newSha: a, oldSha: null }]);
    expect(await session.transaction([{ ref: 'refs/heads/one', newSha: b, oldSha: null }])).toMatchObject({ ok: false, reason: 'ref-changed', ref: 'refs/heads/one', expected: null, actual: a });
  });

  it('a ref locked for a moment (maintenance packing refs) is not a lost race: the transaction is tried again and lands', async () => {
    await session.transaction([{ ref: 'refs/heads/one', newSha: a, oldSha: null }]);
    const lock = join(repo.dir, 'refs', 'heads', 'one.lock');
    await writeFile(lock, '');
    // Longer than git's own wait for a lock (core.filesRefLockTimeout, 100 ms).
    setTimeout(() => void rm(lock), 200);
    expect(await session.transaction([{ ref: 'refs/heads/one', newSha: b, oldSha: a }])).toEqual({ ok: true });
    expect(await at('refs/heads/one')).toBe(b);
  });

  it('a failure that is no race (an object the repository does not have) is an error, not a conflict', async () => {
    await expect(session.transaction([{ ref: 'refs/heads/ghost', newSha: 'e'.repeat(40), oldSha: null }])).rejects.toMatchObject({ code: 'git-failed' });
    expect(await at('refs/heads/ghost')).toBeNull();
  });
});
