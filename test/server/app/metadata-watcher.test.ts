// The metadata watcher on a real bare repo: refs moved by a separate `git` process (loose and packed)
// are noticed once each, bursts settle into one callback, and unchanged SHAs stay silent.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readRefSha, watchRef, type RefWatcher } from '../../../server/app/metadata-watcher.js';
import { commitFiles, fixedEnv, initRepo, type FixtureRepo } from '../../helpers/git-fixtures.js';
import { until } from '../../helpers/until.js';
import type { Timers } from '../../../server/train/timers.js';

const run = promisify(execFile);
const REF = 'refs/heads/pushmanager-meta';

let repo: FixtureRepo;
let shas: string[];
let watcher: RefWatcher | null = null;

/** git in a child process, as an operator would run it. */
const git = (...args: string[]) => run('git', args, { cwd: repo.dir, env: { ...process.env, ...fixedEnv() } });

/**
 * Resolves with the SHAs the watcher reported once there are `n`, or what it has after `ms`: a deadline
 * for a broken watcher, not a speed to meet (a move chokidar drops is read only by the settle read, a
 * second after, later still on a loaded machine).
 */
function collect(): { seen: (string | null)[]; until(n: number, ms?: number): Promise<(string | null)[]> } {
  const seen: (string | null)[] = [];
  return {
    seen,
    until: async (n, ms = 20_000) => {
      const end = Date.now() + ms;
      while (seen.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      return seen;
    },
  };
}

/** Timers moved by hand: `advance` runs what falls due, in order; `armed` counts setTimeout calls. */
function manualTimers(): { timers: Timers; readonly armed: number; advance(ms: number): void } {
  let now = 0;
  let next = 1;
  let armed = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  return {
    timers: {
      setTimeout: (fn, ms) => {
        armed++;
        pending.set(next, { at: now + ms, fn });
        return next++;
      },
      clearTimeout: (h) => void pending.delete(h as number),
      now: () => now,
    },
    get armed() {
      return armed;
    },
    advance(ms) {
      const to = now + ms;
      for (;;) {
        const due = [...pending].filter(([, p]) => p.at <= to).sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];
        if (!due) break;
        pending.delete(due[0]);
        now = due[1].at;
        due[1].fn();
      }
      now = to;
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
    // The watcher's time is the test's: however slowly git and the watch run on a loaded machine,
    // the quiet time only passes when the test says so (with real timers a git process stalled on
    // the disk for longer than the debounce split the burst into two callbacks).
    const t = manualTimers();
    const c = collect();
    watcher = watchRef(repo.dir, REF, (sha) => c.seen.push(sha), { debounceMs: 150, timers: t.timers });
    await watcher.ready;
    await git('update-ref', REF, shas[1]!);
    await until('the watcher to see the first move', () => t.armed > 0);
    t.advance(100); // less than the quiet time: nothing is read yet
    // The rest of the burst: one git process moving the ref twice more (a repair script). chokidar
    // may report these moves or not (it drops quick rewrites); the read after the quiet time sees them.
    await run('sh', ['-c', `git update-ref ${REF} ${shas[2]} && git update-ref ${REF} ${shas[3]}`], { cwd: repo.dir });
    t.advance(150);
    // Reads run one after another and report only a new SHA: once the final SHA is in, nothing can follow.
    await until('the callback after the quiet time', () => c.seen.length > 0);
    expect(c.seen).toEqual([shas[3]]);
  });

  it('keeps seeing a nested ref after `git pack-refs --prune` removed its folder and a later write made it again', async () => {
    const NESTED = 'refs/heads/pushmanager/meta';
    await git('update-ref', NESTED, shas[0]!);
    const c = collect();
    watcher = watchRef(repo.dir, NESTED, (sha) => c.seen.push(sha));
    await watcher.ready;
    await git('pack-refs', '--all', '--prune'); // refs/heads/pushmanager/ is gone, the SHA is packed
    await git('update-ref', NESTED, shas[1]!); // the folder is made again, the ref loose in it
    expect(await c.until(1)).toEqual([shas[1]]);
    // Later moves in the re-made folder are seen by the watch armed again on it, not only by chance.
    await git('update-ref', NESTED, shas[2]!);
    expect(await c.until(2)).toEqual([shas[1], shas[2]]);
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
