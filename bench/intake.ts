// Intake benchmarks (issue 2): push-to-recorded vs a plain git push, state write, board read, status round trip.
// Run alone: `npm run build && node dist/bench/intake.js`.
//
// The Pushmanager server runs as its own process (the built CLI, `serve`), as in production: a git
// client run synchronously in the server's process would block the server it waits for. Every git
// command here runs asynchronously. The baseline server (plain http-backend behind Node) runs in this
// process; it does no work of its own besides streaming to git, and this process only waits.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../server/app/clock.js';
import { Dispatcher } from '../server/app/dispatcher.js';
import { GitCli } from '../server/git/git-cli.js';
import { GitStateStore } from '../server/store/git-state-store.js';
import { userActor } from '../state/decide.js';
import { emptyBoard, type Board, type PushRequest, type RequestId } from '../state/model.js';
import { isMain, median, percentile, printRows, round, type BenchRow } from './lib/bench-row.js';
import { startPlainGitServer } from './lib/plain-git-server.js';
import { cliPath, git, run as exec, scrapeMetrics, histogramQuantile, ServerProcess } from './lib/proc.js';

const WARMUP = 3;

async function timedPush(cwd: string, args: string[]): Promise<number> {
  const r = await exec('git', args, { cwd });
  if (r.code !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
  return r.ms;
}

export async function run(opts: { pushes?: number } = {}): Promise<BenchRow[]> {
  const n = opts.pushes ?? 30;
  const dir = mkdtempSync(join(tmpdir(), 'pm-bench-intake-'));
  const dataDir = join(dir, 'data');
  const server = new ServerProcess({ dataDir });
  let plain: Awaited<ReturnType<typeof startPlainGitServer>> | null = null;
  try {
    await server.start();
    const remote = `${server.url.replace('://', '://alice:alice@')}/main.git`;
    const work = join(dir, 'work');
    await git(dir, ['clone', '-q', remote, work]);
    const bare = join(dir, 'plain', 'main.git');
    await git(dir, ['clone', '-q', '--bare', remote, bare]);
    plain = await startPlainGitServer(bare);
    await git(work, ['remote', 'add', 'plain', plain.url]);

    const ours: number[] = [];
    const base: number[] = [];
    for (let i = 0; i < n + WARMUP; i++) {
      await git(work, ['checkout', '-q', '-B', `b${i}`, 'origin/master']);
      await git(work, ['commit', '-q', '--allow-empty', '-m', `change ${i}`]);
      // Interleave, alternating which goes first, so both see the same machine load; the first
      // pushes warm caches (and the server's JIT) and are dropped.
      const pushOurs = () => timedPush(work, ['push', '-q', 'origin', `b${i}:refs/pushreq/b${i}`]);
      const pushPlain = () => timedPush(work, ['push', '-q', 'plain', `b${i}:refs/heads/b${i}`]);
      let a: number;
      let b: number;
      if (i % 2) {
        a = await pushOurs();
        b = await pushPlain();
      } else {
        b = await pushPlain();
        a = await pushOurs();
      }
      if (i >= WARMUP) {
        ours.push(a);
        base.push(b);
      }
    }
    await plain.close();
    plain = null;

    const auth = { authorization: `Basic ${Buffer.from('alice:alice').toString('base64')}` };
    const boardRes = await fetch(`${server.url}/api/board?all=1`, { headers: auth });
    const board = (await boardRes.json()) as { requests: unknown[] };
    if (board.requests.length !== n + WARMUP) throw new Error(`expected ${n + WARMUP} requests recorded, found ${board.requests.length}`);

    // A state write through the API, as a client sees it (HTTP + auth + decide + commit + CAS).
    const apiWrites: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t = performance.now();
      const res = await fetch(`${server.url}/api/commands`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'CommentRequest', request: 1, text: `bench ${i}` }) });
      await res.text();
      if (!res.ok) throw new Error(`comment failed: ${res.status}`);
      apiWrites.push(performance.now() - t);
    }

    // Status round trip: the built CLI (a fresh node process each time) against the running server.
    const status: number[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await exec(process.execPath, [cliPath(), 'status', '--server', server.url], { env: { ...process.env, PUSHMANAGER_USER: 'alice', PUSHMANAGER_PASSWORD: 'alice' } });
      if (r.code !== 0) throw new Error(`status failed: ${r.stderr}`);
      if (i >= 2) status.push(r.ms);
    }
    const metrics = await scrapeMetrics(server.url);
    const serverPushToRecorded = metrics?.get('pushmanager_push_to_recorded_seconds');
    await server.stop();

    // State write, the server's own path without HTTP: decide + evolve + commit + compare-and-swap on
    // the metadata branch of the very repository the pushes above went to (server stopped).
    const gitDir = join(dataDir, 'repos', 'main.git');
    const store = new GitStateStore(new GitCli(gitDir), gitDir, 'refs/heads/pushmanager/meta');
    const dispatcher = new Dispatcher(store, systemClock, null);
    const writes: number[] = [];
    for (let i = 0; i < 60; i++) {
      const t = performance.now();
      const out = await dispatcher.dispatch({ type: 'CommentRequest', request: 1 as RequestId, text: `bench ${i}` }, userActor('pm', { pushmaster: true }));
      if (!('ok' in out)) throw new Error(`state write refused: ${out.message}`);
      if (i >= 5) writes.push(performance.now() - t);
    }
    store.close();

    const boardRead = await benchBoardRead(join(dir, 'big.git'));
    const ratio = median(ours) / median(base);
    const p95 = percentile(ours, 95);
    const rows: BenchRow[] = [
      { figure: `push to refs/pushreq recorded (incl. conflict answer), median of ${n}`, value: round(median(ours)), unit: 'ms', baselineName: 'plain git push to http-backend', baseline: round(median(base)), ratio: round(ratio, 2), target: 'ratio ≤ 2.0', pass: ratio <= 2.0 },
      { figure: 'push to refs/pushreq recorded, p95', value: round(p95), unit: 'ms', baselineName: 'plain git push p95', baseline: round(percentile(base, 95)), ratio: round(p95 / percentile(base, 95), 2), target: '≤ 150 ms', pass: p95 <= 150 },
    ];
    if (serverPushToRecorded?.count)
      rows.push({ figure: 'push to recorded inside the server (hook call → commit), mean, /metrics', value: round((serverPushToRecorded.sum / serverPushToRecorded.count) * 1000), unit: 'ms', baselineName: '-', baseline: null, ratio: null, target: `reported only (p95 bucket ≤ ${histogramQuantile(serverPushToRecorded, 0.95) * 1000} ms)`, pass: true });
    rows.push(
      { figure: 'state write (one command committed), p95', value: round(percentile(writes, 95)), unit: 'ms', baselineName: 'median', baseline: round(median(writes)), ratio: null, target: '≤ 50 ms', pass: percentile(writes, 95) <= 50 },
      { figure: 'state write through the API (HTTP + auth + commit), p95', value: round(percentile(apiWrites, 95)), unit: 'ms', baselineName: 'median', baseline: round(median(apiWrites)), ratio: null, target: 'reported only', pass: true },
      ...boardRead,
      { figure: '`pushmanager status` round trip (new node process), median', value: round(median(status)), unit: 'ms', baselineName: '-', baseline: null, ratio: null, target: '≤ 300 ms', pass: median(status) <= 300 },
    );
    return rows;
  } catch (e) {
    if (server.log) process.stderr.write(`--- server log (tail) ---\n${server.log.slice(-4000)}\n`);
    throw e;
  } finally {
    await plain?.close();
    await server.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** 10,000 requests on the metadata branch; read by a second store after another writer commits. */
async function benchBoardRead(gitDir: string): Promise<BenchRow[]> {
  execFileSync('git', ['init', '-q', '--bare', gitDir]); // no server in this process: a sync call is fine
  const writer = new GitStateStore(new GitCli(gitDir), gitDir);
  const requests: Record<number, PushRequest> = {};
  const at = '2026-01-01T00:00:00.000Z';
  for (let id = 1; id <= 10_000; id++)
    requests[id] = { id: id as RequestId, user: `u${id % 500}`, title: `request ${id}`, description: '', ref: `refs/pushreq/r${id}`, sha: id.toString(16).padStart(40, '0'), state: id > 9_900 ? 'requested' : 'live', push: null, tags: [], conflicts: [], review: null, ticket: null, watchers: [], comments: [], autoPickme: true, createdAt: at, updatedAt: at, pickedAt: null, acceptedAt: null, reason: null };
  let board: Board = { ...emptyBoard(), nextRequestId: 10_001, requests };
  const msg = { subject: 'seed', body: '', trailers: [] };
  let version = (await writer.commit({ expected: null, board, events: [], message: msg, at })) as { ok: true; version: string };
  const reader = new GitStateStore(new GitCli(gitDir), gitDir);
  const c0 = performance.now();
  await reader.read();
  const cold = performance.now() - c0;
  const incremental: number[] = [];
  const cached: number[] = [];
  for (let i = 0; i < 20; i++) {
    const r = board.requests[10_000 - i]!;
    board = { ...board, requests: { ...board.requests, [r.id]: { ...r, title: `changed ${i}` } } };
    version = (await writer.commit({ expected: version.version, board, events: [], message: msg, at })) as { ok: true; version: string };
    let t = performance.now();
    await reader.read();
    incremental.push(performance.now() - t);
    t = performance.now();
    await reader.read();
    cached.push(performance.now() - t);
  }
  writer.close();
  reader.close();
  return [
    { figure: 'board read, 10,000 requests, tip moved by another writer (p95)', value: round(percentile(incremental, 95)), unit: 'ms', baselineName: 'cold full load (start-up)', baseline: round(cold), ratio: round(percentile(incremental, 95) / cold, 3), target: '≤ 20 ms', pass: percentile(incremental, 95) <= 20 },
    { figure: 'board read, 10,000 requests, unchanged tip (p95)', value: round(percentile(cached, 95), 2), unit: 'ms', baselineName: '-', baseline: null, ratio: null, target: '≤ 20 ms', pass: percentile(cached, 95) <= 20 },
  ];
}

if (isMain(import.meta.url)) {
  run().then(printRows, (e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
