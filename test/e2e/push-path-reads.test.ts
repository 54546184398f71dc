// What one `git push` to refs/pushreq/* costs the server, counted on the real server with an upstream:
// the board is read once per push (the open/update/withdraw choice, the early conflict check and the
// answer all use the board the writer decided on), and the push waits on at most one upstream fetch.
// Background work the push schedules (the push-wide check, the batched recording of findings) is held
// off while counting, so the counts are what the pusher waits for.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startPlainGitServer } from '../../bench/lib/plain-git-server.js';
import { parseConfig } from '../../server/config/config.js';
import { gitOk, startFixture, type Fixture } from '../helpers/server-fixture.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

let f: Fixture;
let upstream: { url: string; close(): Promise<void> };
let work: string;

beforeAll(async () => {
  const dir = await tempDir();
  const upstreamDir = join(dir, 'upstream.git');
  await gitOk(dir, ['init', '-q', '--bare', '--initial-branch=master', upstreamDir]);
  const seed = join(dir, 'seed');
  await gitOk(dir, ['clone', '-q', upstreamDir, seed]);
  await gitOk(seed, ['commit', '-q', '--allow-empty', '-m', 'upstream root']);
  await gitOk(seed, ['push', '-q', 'origin', 'HEAD:master']);
  upstream = await startPlainGitServer(upstreamDir);
  f = await startFixture({ config: parseConfig(`integrations:\n  upstream: { url: "${upstream.url}" }\n`, 'push-path-reads.yaml') });
  work = await f.clone('alice');
});

afterAll(async () => {
  await f?.close();
  await upstream?.close();
  await removeTempDirs();
});

/** Counts board reads and upstream fetches while `run` runs, with the push's background work held off. */
async function counted(run: () => Promise<void>): Promise<{ reads: number; fetches: number }> {
  await f.server.train.idle();
  const store = f.server.store as unknown as { read: () => Promise<unknown> };
  const up = f.server.integrations.upstream as unknown as { fetchMaster: (...a: unknown[]) => Promise<string> };
  // The scheduled parts, wherever the train keeps them (held off: they run after the pusher has the answer).
  const train = f.server.train as unknown as Record<string, unknown> & { conflicts?: Record<string, unknown> };
  const held: [Record<string, unknown>, string, unknown][] = [];
  for (const [o, k] of [[train, 'scheduleConflictCheck'], [train, 'recordConflicts'], [train.conflicts, 'schedule'], [train.conflicts, 'record']] as const)
    if (o && typeof o[k] === 'function') {
      held.push([o, k, o[k]]);
      o[k] = () => undefined;
    }
  const read = store.read;
  const fetchMaster = up.fetchMaster;
  const n = { reads: 0, fetches: 0 };
  store.read = function (this: unknown) {
    n.reads++;
    return read.call(this);
  };
  up.fetchMaster = function (this: unknown, ...a: unknown[]) {
    n.fetches++;
    return fetchMaster.apply(this, a);
  };
  try {
    await run();
  } finally {
    store.read = read;
    up.fetchMaster = fetchMaster;
    for (const [o, k, v] of held) o[k] = v;
  }
  return n;
}

describe('one push, one board read, at most one upstream fetch', () => {
  it('a new request: the board is read once and upstream fetched once', async () => {
    await f.commit(work, 'reads-a', { 'reads-a.txt': 'a\n' });
    const n = await counted(async () => void (await gitOk(work, ['push', '-q', 'origin', 'reads-a:refs/pushreq/reads-a'])));
    expect(n).toEqual({ reads: 1, fetches: 1 });
  });

  it('a re-push of it: the same', async () => {
    await gitOk(work, ['commit', '-q', '--allow-empty', '-m', 'again']);
    const n = await counted(async () => void (await gitOk(work, ['push', '-q', 'origin', 'reads-a:refs/pushreq/reads-a'])));
    expect(n).toEqual({ reads: 1, fetches: 1 });
  });
});
