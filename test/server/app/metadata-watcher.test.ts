// The metadata watcher on a real bare repo: refs moved by a separate `git` process (loose and packed)
// are noticed once each, bursts settle into one callback, and unchanged SHAs stay silent.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readRefSha, watchRef, type RefWatcher } from '../../../server/app/metadata-watcher.js';
import { commitFiles, fixedEnv, initRepo, type FixtureRepo } from '../../helpers/git-fixtures.js';

const run = promisify(execFile);
const REF = 'refs/heads/pushmanager-meta';

let repo: FixtureRepo;
let shas: string[];
let watcher: RefWatcher | null = null;

/** git in a child process, as an operator would run it. */
const git = (...args: string[]) => run('git', args, { cwd: repo.dir, env: { ...process.env, ...fixedEnv() } });

/** Resolves with the next SHAs the watcher reports, or what it has after `ms`. */
function collect(): { seen: (string | null)[]; until(n: number, ms?: number): Promise<(string | null)[]> } {
  const seen: (string | null)[] = [];
  return {
    seen,
    until: async (n, ms = 3000) => {
      const end = Date.now() + ms;
      while (seen.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      return seen;
    },
  };
}

beforeEach(async () => {
  repo = await initRepo();
  shas = [];
  for (let i = 0; i < 4; i++) shas.push(await commitFiles(repo.git, { files: { 'state.json': `{"v":${i}}` }, message: `v${i}`, epoch: 1_700_000_000 + i }));
  await git('update-ref', REF, shas[0]!);
});
afterEach(async () => {
  await watcher?.close();
  watcher = null;
  await repo.cleanup();
});

describe('readRefSha', () => {
  it('reads loose refs, packed refs and missing refs', async () => {
    expect(await readRefSha(repo.dir, REF)).toBe(shas[0]);
    await git('pack-refs', '--all');
    expect(await readRefSha(repo.dir, REF)).toBe(shas[0]);
    expect(await readRefSha(repo.dir, 'refs/heads/nope')).toBeNull();
  });
});

describe('watchRef', () => {
  it('reports a ref moved by git update-ref in another process', async () => {
    const c = collect();
    watcher = watchRef(repo.dir, REF, (sha) => c.seen.push(sha));
    await watcher.ready;
    await git('update-ref', REF, shas[1]!, shas[0]!);
    expect(await c.until(1)).toEqual([shas[1]]);
  });

  it('sees changes in packed-refs once the loose file is gone, and deletion as null', async () => {
    await git('pack-refs', '--all');
    const c = collect();
    watcher = watchRef(repo.dir, REF, (sha) => c.seen.push(sha));
    await watcher.ready;
    // A fetch into a mirror often writes packed-refs only; simulate with update-ref then pack-refs.
    await git('update-ref', REF, shas[2]!);
    await git('pack-refs', '--all');
    expect(await c.until(1)).toEqual([shas[2]]);
    await git('update-ref', '-d', REF);
    expect(await c.until(2)).toEqual([shas[2], null]);
  });

  it('coalesces a burst into one callback with the final SHA', async () => {
    const c = collect();
    watcher = watchRef(repo.dir, REF, (sha) => c.seen.push(sha), { debounceMs: 150 });
    await watcher.ready;
    // One git process moving the ref three times in a row (a repair script).
    await run('sh', ['-c', `git update-ref ${REF} ${shas[1]} && git update-ref ${REF} ${shas[2]} && git update-ref ${REF} ${shas[3]}`], { cwd: repo.dir });
    await c.until(1);
    await new Promise((r) => setTimeout(r, 400));
    expect(c.seen).toEqual([shas[3]]);
  });

  it('stays silent when the SHA did not change and after close', async () => {
    const c = collect();
    watcher = watchRef(repo.dir, REF, (sha) => c.seen.push(sha));
    await watcher.ready;
    await git('update-ref', REF, shas[0]!); // same SHA, file rewritten
    await git('pack-refs', '--all'); // loose file removed, same SHA packed
    await new Promise((r) => setTimeout(r, 300));
    expect(c.seen).toEqual([]);
    await watcher.close();
    watcher = null;
    await git('update-ref', REF, shas[1]!);
    await new Promise((r) => setTimeout(r, 300));
    expect(c.seen).toEqual([]);
  });
});
