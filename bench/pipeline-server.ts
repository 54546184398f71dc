// Benchmark of local jobs through the running server (issue 15), as a pushmaster gets them: a real
// server process (bench/lib/proc.ts), real git pushes, a build job per accepted request. Measured:
// Pushmanager's overhead per job — the build recorded (the commit that queued the job, as it arrives on
// the event stream) → the job's process started (the job stamps `date +%s%N` first), and the process's
// exit (its last stamp) → the result recorded (the JobFinished commit arriving on the event stream).
// Both ends are seen through the same stream, so its delivery delay (a millisecond or so) is taken off
// the first half and added to the second: the sum is the overhead. (The push's history is no use here:
// its times are the commits' git times, whole seconds.) Against the same script run directly by a spawn (spawn →
// first stamp, last stamp → close); target ≤ 100 ms median both ways together. And how soon a line a
// job writes appears in `pushmanager job log ID --follow` (the CLI as users run it): ≤ 250 ms.
// Run alone: `npm run build && node dist/bench/pipeline-server.js`.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PushmanagerClient } from '../tui/client.js';
import { median, percentile, printRows, round, type BenchRow } from './lib/bench-row.js';
import { git, packageRoot, ServerProcess } from './lib/proc.js';

const JOBS = 10;

// Stamps its start and, as its last act, its exit (ns); in tick mode it waits for the bench's
// follower, then writes 20 lines a tenth of a second apart, each carrying the time it was written.
const SCRIPT = `#!/bin/sh
d="$PM_BENCH_DIR"
date +%s%N > "$d/$PUSHMANAGER_JOB_ID.start"
if [ -e "$d/tick" ]; then
  while [ ! -e "$d/go" ]; do sleep 0.01; done
  i=0
  while [ $i -lt 20 ]; do echo "t=$(date +%s%N)"; sleep 0.1; i=$((i+1)); done
fi
date +%s%N > "$d/$PUSHMANAGER_JOB_ID.exit"
`;

interface Seen {
  readonly at: number;
  readonly command: string;
  readonly events: readonly string[];
}

const nsToMs = (s: string) => Number(BigInt(s.trim()) / 1000n) / 1000;
const stamp = async (dir: string, id: string, which: 'start' | 'exit') => nsToMs(await readFile(join(dir, `${id}.${which}`), 'utf8'));

async function until<T>(what: string, f: () => T | null | undefined | false | Promise<T | null | undefined | false>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The script run directly: spawn → its start stamp, its exit stamp → close. */
async function direct(work: string, stamps: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const id = `direct-${i}`;
    const t0 = Date.now();
    const closed = await new Promise<number>((resolve, reject) => {
      const c = spawn('sh', ['ci/job.sh'], { cwd: work, env: { PATH: process.env.PATH, PM_BENCH_DIR: stamps, PUSHMANAGER_JOB_ID: id }, stdio: 'ignore' });
      c.once('error', reject);
      c.once('close', () => resolve(Date.now()));
    });
    out.push(((await stamp(stamps, id, 'start')) - t0) + (closed - (await stamp(stamps, id, 'exit'))));
  }
  return out;
}

export async function runBench(): Promise<BenchRow[]> {
  const dir = await mkdtemp(join(tmpdir(), 'pm-bench-pipesrv-'));
  const stamps = join(dir, 'stamps');
  await mkdir(stamps);
  const config = join(dir, 'pushmanager.config.yaml');
  await writeFile(config, [
    'pipeline:',
    '  concurrency: 1',
    '  retries: 0',
    '  passEnv: [PM_BENCH_DIR]',
    '  jobs:',
    '    - { name: bench, on: build, run: [sh, ci/job.sh], timeoutSec: 60 }',
    '',
  ].join('\n'));
  const before = process.env.PM_BENCH_DIR;
  process.env.PM_BENCH_DIR = stamps; // the server passes it on to jobs (passEnv)
  const server = new ServerProcess({ dataDir: join(dir, 'data'), config });
  const abort = new AbortController();
  try {
    await server.start();
    const pm = new PushmanagerClient({ server: server.url, user: 'pm', password: 'pm' });
    const seen: Seen[] = [];
    void pm.events((kind, data) => {
      if (kind === 'commit') seen.push({ at: Date.now(), ...(data as Omit<Seen, 'at'>) });
    }, abort.signal).catch(() => undefined);
    const work = join(dir, 'alice');
    await git(dir, ['clone', '-q', `${server.url.replace('://', '://alice:alice@')}/main.git`, work]);
    const branch = async (name: string, files: Record<string, string>) => {
      await git(work, ['checkout', '-q', '-B', name, 'origin/master']);
      for (const [p, c] of Object.entries(files)) {
        await mkdir(join(work, p, '..'), { recursive: true });
        await writeFile(join(work, p), c);
      }
      await git(work, ['add', '-A']);
      await git(work, ['commit', '-q', '-m', name]);
      await git(work, ['push', '-q', 'origin', `${name}:refs/pushreq/${name}`]);
    };
    // Request 1 brings the job's script; 2..JOBS+2 add a file each (the last one is the ticker's build).
    await branch('script', { 'ci/job.sh': SCRIPT });
    for (let i = 0; i <= JOBS; i++) await branch(`r${i}`, { [`f${i}.txt`]: `${i}\n` });
    await pm.command({ type: 'OpenPush', title: 'bench' });
    const requests = (await pm.board()).requests.map((r) => r.id).sort((a, b) => a - b);
    if (requests.length !== JOBS + 2) throw new Error(`expected ${JOBS + 2} requests, the board has ${requests.length}`);
    const jobOf = async (n: number) => until(`job ${n} to be queued`, async () => (await pm.board()).pushes.find((p) => p.id === 1)?.jobs?.[n - 1]);

    /** Accepts one request and waits for the build job of the new SHA to be recorded finished. */
    const acceptAndRun = async (request: number, n: number) => {
      const from = seen.length;
      await pm.command({ type: 'AcceptRequests', push: 1, requests: [request] });
      const job = await jobOf(n);
      const queued = await until(`the commit queueing job ${job.id}`, () => seen.slice(from).find((s) => s.events.includes('JobQueued')));
      const finished = await until(`job ${job.id} to finish`, () => seen.slice(from).find((s) => s.command === 'RecordJob' && s.events.includes('JobFinished')));
      return { job, queuedSeen: queued.at, finishedSeen: finished.at };
    };

    await acceptAndRun(requests[0]!, 1); // warm-up: first checkout, first spawn
    const start: number[] = [], finish: number[] = [];
    for (let i = 1; i <= JOBS; i++) {
      const { job, queuedSeen, finishedSeen } = await acceptAndRun(requests[i]!, i + 1);
      start.push((await stamp(stamps, job.id, 'start')) - queuedSeen);
      finish.push(finishedSeen - (await stamp(stamps, job.id, 'exit')));
    }
    // A negative half would mean the stream saw the commit after the job had started: the split is then meaningless.
    if (Math.min(...start, ...finish) < 0) throw new Error(`a negative half (started ${start.join(', ')}; finished ${finish.join(', ')}): the stream lagged the job`);
    const both = start.map((s, i) => s + finish[i]!);
    await git(work, ['checkout', '-q', 'script']); // the branch with ci/job.sh
    const base = await direct(work, stamps, JOBS);

    // Live log: the ticker's build; the CLI follows it, and the job starts writing once the CLI has its first bytes.
    await writeFile(join(stamps, 'tick'), '');
    await pm.command({ type: 'AcceptRequests', push: 1, requests: [requests[JOBS + 1]!] });
    const tickJob = await jobOf(JOBS + 2);
    await until(`job ${tickJob.id} to start`, () => readFile(join(stamps, `${tickJob.id}.start`)).then(() => true, () => false));
    const lat: number[] = [];
    await new Promise<void>((resolve, reject) => {
      const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PUSHMANAGER_'))), PUSHMANAGER_SERVER: server.url, PUSHMANAGER_USER: 'pm', PUSHMANAGER_PASSWORD: 'pm' };
      const c = spawn(process.execPath, [join(packageRoot(), 'dist', 'tui', 'cli', 'main.js'), 'job', 'log', tickJob.id, '--follow'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let pending = '';
      let go = false;
      c.stdout.on('data', (d: Buffer) => {
        const at = Date.now();
        if (!go) {
          go = true;
          void writeFile(join(stamps, 'go'), '');
        }
        pending += d.toString();
        const lines = pending.split('\n');
        pending = lines.pop()!;
        for (const l of lines) {
          const m = /^t=(\d+)$/.exec(l.trim());
          if (m) lat.push(at - nsToMs(m[1]!));
        }
      });
      c.once('error', reject);
      c.once('close', () => resolve());
    });
    if (lat.length < 10) throw new Error(`job log --follow showed ${lat.length} of the ticker's 20 lines`);

    const row = (figure: string, value: number, target: string, pass: boolean, baselineName = '', baseline: number | null = null): BenchRow => ({ figure, value: round(value), unit: 'ms', baselineName, baseline: baseline === null ? null : round(baseline), ratio: baseline ? round(value / baseline, 2) : null, target, pass });
    const overhead = median(both);
    return [
      row(`local job through the server: build recorded→started + exited→result seen (median of ${JOBS})`, overhead, '≤ 100 ms', overhead <= 100, 'same script spawned directly', median(base)),
      row('  of which build recorded→process started (checkout included)', median(start), '-', true),
      row('  of which process exited→JobFinished seen by a client', median(finish), '-', true),
      row(`  both ways, p95 of ${JOBS}`, percentile(both, 95), '-', true),
      row('live log line → `job log --follow` (CLI), median', median(lat), '≤ 250 ms', median(lat) <= 250),
      row('live log line → `job log --follow` (CLI), p95', percentile(lat, 95), '-', true),
    ];
  } finally {
    abort.abort();
    await server.stop().catch(() => server.kill());
    if (before === undefined) delete process.env.PM_BENCH_DIR;
    else process.env.PM_BENCH_DIR = before;
    await rm(dir, { recursive: true, force: true });
  }
}

export { runBench as run };

if (process.argv[1]?.endsWith('pipeline-server.ts') || process.argv[1]?.endsWith('pipeline-server.js')) {
  void runBench().then(printRows, (e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
