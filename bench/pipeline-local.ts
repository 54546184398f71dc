// Benchmark of the local runner (issue 15): the overhead per job — submitted → process started, and
// process exited → result reported — with a checkout of a small repo (target ≤ 100 ms median both ways
// together) and of one with 3000 files; how soon a line the job writes reaches a live follower (target
// ≤ 250 ms); and, for docs/decisions.md, four ways to make a job's checkout of 3000 files.
// Run alone: `npx tsx bench/pipeline-local.ts`.
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GitCli } from '../server/git/git-cli.js';
import { LocalRunner, type LocalJobUpdate } from '../server/pipeline/local-runner.js';
import { fixedEnv, makeTempDir } from '../test/helpers/git-fixtures.js';
import { median, percentile, printRows, round, type BenchRow } from './lib/bench-row.js';

const run = promisify(execFile);
const nowNs = () => process.hrtime.bigint();

/** A bare repo whose tip holds `files` files plus the bench scripts. */
async function benchRepo(files: number): Promise<{ bare: string; sha: string; dir: string }> {
  const dir = await makeTempDir('pm-bench-pipe-');
  const work = join(dir, 'work'), bare = join(dir, 'bare.git');
  await mkdir(work);
  const g = new GitCli(work, fixedEnv());
  await g.run(['init', '-q', '--initial-branch=master', '.']);
  for (let d = 0; d < Math.ceil(files / 50); d++) {
    await mkdir(join(work, `d${d}`));
    for (let f = 0; f < 50 && d * 50 + f < files; f++) await writeFile(join(work, `d${d}`, `f${f}.txt`), `file ${d} ${f}\n`.repeat(20));
  }
  // Prints the wall-clock time (ms) as its last act: the bench reads when the job exited.
  await writeFile(join(work, 'stamp.sh'), '#!/bin/sh\necho "t=$(date +%s%3N)"\n', { mode: 0o755 });
  await writeFile(join(work, 'ticker.sh'), '#!/bin/sh\ni=0\nwhile [ $i -lt 20 ]; do echo "t=$(date +%s%3N)"; sleep 0.1; i=$((i+1)); done\n', { mode: 0o755 });
  await g.run(['add', '.']);
  await g.run(['commit', '-q', '-m', 'bench']);
  await run('git', ['init', '-q', '--bare', bare]);
  await g.run(['push', '-q', bare, 'master']);
  return { bare, sha: await g.out(['rev-parse', 'HEAD']), dir };
}

async function overhead(files: number, jobs: number): Promise<{ start: number[]; finish: number[] }> {
  const repo = await benchRepo(files);
  const updates = new Map<string, LocalJobUpdate[]>();
  const runner = new LocalRunner({ repoDir: repo.bare, dataDir: join(repo.dir, 'data'), concurrency: 1, killGraceMs: 1000, log: { maxBytes: 1 << 20, tailBytes: 1 << 16, retentionDays: 1 }, onUpdate: (u) => updates.set(u.id, [...(updates.get(u.id) ?? []), u]) });
  const start: number[] = [], finish: number[] = [];
  for (let i = 0; i < jobs; i++) {
    const id = `b${i}`;
    const t0 = Date.now();
    runner.submit({ id, name: 'bench', sha: repo.sha, push: 1, branch: 'deploy/push-1', run: ['./stamp.sh'], timeoutSec: 60 });
    const r = await runner.result(id);
    const started = updates.get(id)!.find((u) => u.type === 'started') as Extract<LocalJobUpdate, { type: 'started' }>;
    const exitedAt = Number(/t=(\d+)/.exec(await readLog(repo.dir, r.log))![1]);
    start.push(started.at.getTime() - t0);
    finish.push(r.finishedAt.getTime() - exitedAt);
  }
  await runner.close();
  await rm(repo.dir, { recursive: true, force: true });
  return { start, finish };
}

async function readLog(dir: string, rel: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return readFile(join(dir, 'data', rel), 'utf8');
}

async function followLatency(): Promise<number[]> {
  const repo = await benchRepo(5);
  const runner = new LocalRunner({ repoDir: repo.bare, dataDir: join(repo.dir, 'data'), concurrency: 1, killGraceMs: 1000, log: { maxBytes: 1 << 20, tailBytes: 1 << 16, retentionDays: 1 } });
  runner.submit({ id: 'tick', name: 'bench', sha: repo.sha, push: 1, branch: 'deploy/push-1', run: ['./ticker.sh'], timeoutSec: 60 });
  const lat: number[] = [];
  let pending = '';
  for await (const chunk of runner.follow('tick')) {
    const at = Date.now();
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const l of lines) {
      const m = /^t=(\d+)$/.exec(l);
      if (m) lat.push(at - Number(m[1]));
    }
  }
  await rm(repo.dir, { recursive: true, force: true });
  return lat;
}

async function checkoutMethods(files: number, rounds: number): Promise<Record<string, number>> {
  const repo = await benchRepo(files);
  const methods: Record<string, (dir: string, i: number) => Promise<unknown>> = {
    'git archive | tar x': (d) => run('sh', ['-c', 'mkdir "$2" && git --git-dir "$1" archive "$3" | tar x -C "$2"', 'sh', repo.bare, d, repo.sha]),
    'read-tree + checkout-index (private index)': async (d) => {
      const env = { ...process.env, GIT_INDEX_FILE: `${d}.index` };
      await mkdir(d);
      await run('git', ['--git-dir', repo.bare, '--work-tree', d, 'read-tree', repo.sha], { env });
      await run('git', ['--git-dir', repo.bare, '--work-tree', d, 'checkout-index', '--all', '--force'], { env });
    },
    'worktree add --detach': (d) => run('git', ['--git-dir', repo.bare, 'worktree', 'add', '-q', '--detach', d, repo.sha]),
    'clone --shared --no-checkout + checkout': async (d) => {
      await run('git', ['clone', '-q', '--shared', '--no-checkout', repo.bare, d]);
      await run('git', ['-C', d, 'checkout', '-q', '--detach', repo.sha]);
    },
  };
  const out: Record<string, number[]> = {};
  for (let i = 0; i < rounds; i++) {
    for (const [name, make] of Object.entries(methods)) {
      const d = join(repo.dir, `co-${i}-${Object.keys(methods).indexOf(name)}`);
      const t0 = nowNs();
      await make(d, i);
      (out[name] ??= []).push(Number(nowNs() - t0) / 1e6);
      await rm(d, { recursive: true, force: true });
      await rm(`${d}.index`, { force: true });
    }
    await run('git', ['--git-dir', repo.bare, 'worktree', 'prune']);
  }
  await rm(repo.dir, { recursive: true, force: true });
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, round(median(v))]));
}

export async function runBench(): Promise<BenchRow[]> {
  const small = await overhead(5, 15);
  const large = await overhead(3000, 7);
  const both = small.start.map((s, i) => s + small.finish[i]!);
  const lat = await followLatency();
  const methods = await checkoutMethods(3000, 7);
  const row = (figure: string, value: number, target: string, pass: boolean, baselineName = '', baseline: number | null = null): BenchRow => ({ figure, value: round(value), unit: 'ms', baselineName, baseline, ratio: baseline ? round(value / baseline, 2) : null, target, pass });
  return [
    row('local job overhead, submitted→started + exited→result (5-file repo, median)', median(both), '≤ 100 ms', median(both) <= 100),
    row('  of which submitted→started (checkout included)', median(small.start), '-', true),
    row('  of which exited→result (group check, log close, checkout removed)', median(small.finish), '-', true),
    row('local job submitted→started, 3000-file checkout (median)', median(large.start), '-', true),
    row('live log line → follower (median)', median(lat), '≤ 250 ms', median(lat) <= 250),
    row('live log line → follower (p95)', percentile(lat, 95), '-', true),
    ...Object.entries(methods).map(([name, ms]) => row(`checkout of 3000 files: ${name} (median)`, ms, '-', true)),
  ];
}

export { runBench as run };

if (process.argv[1]?.endsWith('pipeline-local.ts') || process.argv[1]?.endsWith('pipeline-local.js')) {
  void runBench().then(printRows);
}
