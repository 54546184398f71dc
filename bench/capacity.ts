// The server's throughput curve and its knee (issue 17). Steps the offered load (open loop, Poisson
// arrivals) through pushes/s, and at each step reports achieved throughput, push latency from the
// client's view (due → answer, GET + POST as `git push` makes them) and from the server's /metrics
// (push-to-recorded), the server's CPU (its process and its git children) and RSS, and the write-queue
// depth. The same steps, with the same packs, run against a plain `git http-backend` with no hooks on the
// same machine, interleaved step by step: that is the ceiling of the machinery Pushmanager stands on.
//
//   npm run capacity -- [--steps 1,2,4,8,16,32|wide] [--step-seconds 60] [--settle-seconds 10] [--pool 100]
//                       [--users 50] [--seed 1] [--no-push] [--targets pushmanager,plain] [--max-in-flight 128]
//                       [--report FILE] [--keep] [--profile DIR] [--stop-after-misses 2]
//
// --steps wide: 16, 32, 48, 56, 60, 64, 72, 80, 88, 96/s, high enough to find plain http-backend's knee on
// a 2-core machine in the same run as Pushmanager's. --stop-after-misses N: a target that missed the bound at N steps in a row
// runs no higher steps (its knee is behind it; 0 runs every step).
//
// --profile DIR: the server runs with --cpu-prof (its profile lands in DIR when it stops), and each step's
// window samples the per-process CPU of both servers' children (bench/load/proc-tree-sampler.ts) into
// DIR/children-TARGET-RATE.json, with the step's ok pushes, to break a push's cost down by process.
//
// The pushes are the day's kinds: new requests (a quarter of them editing a line of a shared file, so the
// conflict check has real merges to do), fast-forward re-pushes and withdrawals, mixed so that the number
// of open requests stays near --pool (filled before the first step, not measured). One push is accepting
// throughout (unless --no-push), so every new request is a pickme checked against the others. Packs are
// made before the run by real git (`git pack-objects --revs --thin`), one per planned commit; the load
// generator (bench/load/) then costs almost nothing per push, so the server sets the pace.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PushmanagerClient } from '../tui/client.js';
import { median, percentile } from './lib/bench-row.js';
import { git, histogramQuantile, packageRoot, procStats, run, scrapeMetrics, ServerProcess, type Histogram } from './lib/proc.js';
import { seeded, sleep } from './lib/sync.js';
import { offerLoad } from './load/open-loop.js';
import { gitPackObjects } from './load/pack.js';
import { ReceivePackClient, ZERO_SHA } from './load/receive-pack-client.js';

// ---------------------------------------------------------------- options

interface Options {
  steps: number[];
  stepSeconds: number;
  settleSeconds: number;
  pool: number;
  users: number;
  seed: number;
  openPush: boolean;
  targets: ('pushmanager' | 'plain')[];
  maxInFlight: number;
  report: string | null;
  keep: boolean;
  profile: string | null;
  /** The knee's bound on p95, ms. */
  p95Ms: number;
  /** A target that missed the bound at this many steps in a row runs no higher steps (0: every step). */
  stopAfterMisses: number;
}

/**
 * `--steps wide`: high enough for plain http-backend's knee on a 2-core machine (64 to ≥ 80/s measured:
 * both cores are full near 96), and finer where the knees were found (steps of 4–8, i.e. 7–14%).
 */
export const WIDE_STEPS = [16, 32, 48, 56, 60, 64, 72, 80, 88, 96];

const USAGE = 'usage: capacity [--steps 1,2,4,8,16,32|wide] [--step-seconds 60] [--settle-seconds N] [--pool 100] [--users 50] [--seed 1] [--no-push] [--targets pushmanager,plain] [--max-in-flight 128] [--report FILE] [--keep] [--profile DIR] [--stop-after-misses 2]';

const CAPACITY_HELP = `Offered load stepped up, open loop, against Pushmanager and a plain git http-backend, step by step
(docs/operations.md, "Capacity"); the knee is the highest step with client p95 <= 300 ms and no failed push.
  --steps R,R,…|wide     pushes/s of each step (default 1,2,4,8,16,32; wide: ${WIDE_STEPS.join(',')})
  --step-seconds S       length of a step (default 60)
  --settle-seconds S     start of a step not measured (default min(10, step/5))
  --pool N               open requests kept on the board while measured (default 100)
  --users N              pushing users (default 50)
  --seed N               seed of the packs and the schedule (default 1)
  --no-push              do not open a push (the requests wait as requested)
  --targets pushmanager,plain   which servers to measure (default both)
  --max-in-flight N      pushes in flight at most; an arrival beyond it is dropped and counted (default 128)
  --stop-after-misses N  a target that missed the bound at N steps in a row runs no higher (default 2)
  --report FILE          also write the Markdown report to FILE
  --profile DIR          the server's --cpu-prof and each child process's CPU by kind, into DIR
  --keep                 keep the temporary directories
  -h, --help             this text`;

function parseArgs(argv: string[]): Options {
  const o: Options = { steps: [1, 2, 4, 8, 16, 32], stepSeconds: 60, settleSeconds: NaN, pool: 100, users: 50, seed: 1, openPush: true, targets: ['pushmanager', 'plain'], maxInFlight: 128, report: null, keep: false, profile: null, p95Ms: 300, stopAfterMisses: 2 };
  const die = (msg: string): never => {
    console.error(`capacity: ${msg}\n${USAGE}`);
    process.exit(2);
  };
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(`${USAGE}\n${CAPACITY_HELP}`);
    process.exit(0);
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const num = (min = 0) => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < min) die(`${a} needs a number ≥ ${min}`);
      return v;
    };
    if (a === '--steps' && argv[i + 1] === 'wide') {
      i++;
      o.steps = [...WIDE_STEPS];
    } else if (a === '--steps') {
      const v = (argv[++i] ?? '').split(',').map(Number);
      if (!v.length || v.some((x) => !Number.isFinite(x) || x <= 0)) die('--steps needs rates in pushes/s, e.g. 1,2,4');
      o.steps = v;
    } else if (a === '--step-seconds') o.stepSeconds = num(1);
    else if (a === '--settle-seconds') o.settleSeconds = num(0);
    else if (a === '--pool') o.pool = Math.floor(num(1));
    else if (a === '--users') o.users = Math.floor(num(1));
    else if (a === '--seed') o.seed = Math.floor(num(0));
    else if (a === '--max-in-flight') o.maxInFlight = Math.floor(num(1));
    else if (a === '--no-push') o.openPush = false;
    else if (a === '--targets') {
      const v = (argv[++i] ?? '').split(',');
      if (!v.length || v.some((x) => x !== 'pushmanager' && x !== 'plain')) die('--targets takes pushmanager and/or plain');
      o.targets = v as Options['targets'];
    } else if (a === '--report') o.report = argv[++i] ?? die('--report needs a file');
    else if (a === '--keep') o.keep = true;
    else if (a === '--profile') o.profile = argv[++i] ?? die('--profile needs a directory');
    else if (a === '--stop-after-misses') o.stopAfterMisses = Math.floor(num(0));
    else die(`unknown option ${a}`);
  }
  if (Number.isNaN(o.settleSeconds)) o.settleSeconds = Math.min(10, o.stepSeconds / 5);
  if (o.settleSeconds >= o.stepSeconds) die('--settle-seconds must be shorter than --step-seconds');
  return o;
}

// ---------------------------------------------------------------- the plan

const HOT_FILES = 20;
const HOT_LINES = 40;
const hotPath = (k: number) => `hot/shared-${String(k).padStart(2, '0')}.txt`;
const hotLines = (k: number) => Array.from({ length: HOT_LINES }, (_, i) => `shared file ${k} line ${i + 1}`);

interface PlannedPush {
  readonly n: number;
  readonly kind: 'open' | 'repush' | 'withdraw';
  readonly user: string;
  readonly ref: string;
  /** fast-import mark of the new commit (0 for a withdrawal); its SHA and pack are filled in later. */
  readonly mark: number;
  readonly parentMark: number | null;
  readonly options: readonly string[];
  sha: string;
  parent: string;
  pack: Buffer | null;
}

interface RefPlan {
  readonly ref: string;
  readonly user: string;
  readonly hot: { file: number; line: number } | null;
  version: number;
  lastMark: number;
}

/**
 * The push sequence every target gets, in order: `pool` opens first, then a mix that keeps the open
 * requests near the pool size (opens 40%, re-pushes 20%, withdrawals 40% once the pool is full).
 * Re-pushes and withdrawals take from the oldest half of the pool, so their previous push is long done.
 */
function planPushes(count: number, o: Options, rnd: () => number): { pushes: PlannedPush[]; refs: Map<string, RefPlan> } {
  const pushes: PlannedPush[] = [];
  const refs = new Map<string, RefPlan>();
  const pool: RefPlan[] = [];
  let marks = 0;
  let opened = 0;
  const open = (n: number) => {
    const user = `u${1 + Math.floor(rnd() * o.users)}`;
    const ref = `refs/pushreq/${user}-${++opened}`;
    const hot = rnd() < 0.25 ? { file: Math.floor(rnd() * HOT_FILES), line: Math.floor(rnd() * HOT_LINES) } : null;
    const r: RefPlan = { ref, user, hot, version: 1, lastMark: ++marks };
    refs.set(ref, r);
    pool.push(r);
    pushes.push({ n, kind: 'open', user, ref, mark: r.lastMark, parentMark: null, options: [`title=capacity ${ref.slice(13)}`, ...(rnd() < 0.05 ? ['tags=urgent'] : [])], sha: '', parent: '', pack: null });
  };
  for (let n = 0; n < count; n++) {
    if (pool.length < o.pool) {
      open(n);
      continue;
    }
    const u = rnd();
    if (u < 0.4) open(n);
    else {
      const i = Math.floor(rnd() * Math.max(1, pool.length / 2));
      const r = pool[i]!;
      if (u < 0.6) {
        const parentMark = r.lastMark;
        r.version++;
        r.lastMark = ++marks;
        pool.splice(i, 1);
        pool.push(r);
        pushes.push({ n, kind: 'repush', user: r.user, ref: r.ref, mark: r.lastMark, parentMark, options: [], sha: '', parent: '', pack: null });
      } else {
        pool.splice(i, 1);
        pushes.push({ n, kind: 'withdraw', user: r.user, ref: r.ref, mark: 0, parentMark: null, options: [], sha: ZERO_SHA, parent: '', pack: null });
      }
    }
  }
  return { pushes, refs };
}

/** Every planned commit, made in one `git fast-import` in the seed repository; marks → SHAs. */
async function makeCommits(seedDir: string, master: string, plan: { pushes: PlannedPush[]; refs: Map<string, RefPlan> }): Promise<Map<number, string>> {
  const chunks: string[] = [];
  const data = (s: string) => `data ${Buffer.byteLength(s)}\n${s}\n`;
  const version = new Map<string, number>();
  let t = 1_700_000_000;
  for (const p of plan.pushes) {
    if (p.kind === 'withdraw') continue;
    const r = plan.refs.get(p.ref)!;
    const v = (version.get(p.ref) ?? 0) + 1;
    version.set(p.ref, v);
    const who = `${p.user} <${p.user}@example.com> ${t++} +0000`;
    chunks.push(`commit refs/capacity/scratch\nmark :${p.mark}\nauthor ${who}\ncommitter ${who}\n${data(`change ${p.ref.slice(13)} v${v}\n`)}from ${p.parentMark === null ? master : `:${p.parentMark}`}\n`);
    chunks.push(`M 100644 inline teams/${p.user}/${p.ref.slice(13)}.txt\n${data(`${p.ref} version ${v}\nby ${p.user}\n`)}`);
    if (p.kind === 'open' && r.hot) {
      const lines = hotLines(r.hot.file);
      lines[r.hot.line] = `${p.ref}: edited by ${p.user}`;
      chunks.push(`M 100644 inline ${hotPath(r.hot.file)}\n${data(lines.join('\n') + '\n')}`);
    }
    chunks.push('\n');
  }
  const marksFile = join(seedDir, '..', 'capacity-marks');
  const r = await run('git', ['fast-import', '--quiet', `--export-marks=${marksFile}`], { cwd: seedDir, input: chunks.join('') });
  if (r.code !== 0) throw new Error(`git fast-import failed: ${r.stderr.slice(0, 1000)}`);
  const marks = new Map<number, string>();
  for (const line of readFileSync(marksFile, 'utf8').split('\n')) {
    const m = /^:(\d+) ([0-9a-f]{40})$/.exec(line);
    if (m) marks.set(Number(m[1]), m[2]!);
  }
  return marks;
}

// ---------------------------------------------------------------- targets

interface Target {
  readonly name: 'pushmanager' | 'plain';
  readonly label: string;
  readonly url: (user: string) => string;
  readonly pid: () => number | undefined;
  /** The server's /metrics and /healthz base URL (Pushmanager only). */
  readonly api: string | null;
  cursor: number;
  stop(): Promise<void>;
}

async function startPlainProcess(bare: string): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [join(packageRoot(), 'dist', 'bench', 'load', 'plain-server-main.js'), bare], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve((JSON.parse(out.slice(0, nl)) as { url: string }).url);
    });
    child.on('exit', (code) => reject(new Error(`the plain git server exited (${code}) before it listened`)));
  });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  return {
    url,
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

// ---------------------------------------------------------------- measuring one step

interface StepResult {
  target: Target['name'];
  rate: number;
  windowS: number;
  /** Arrivals due inside the window (the measured ones); `offeredAll` counts the settle time's too. */
  offered: number;
  offeredAll: number;
  dropped: number;
  ok: number;
  refused: number;
  failed: number;
  /** ok pushes finished inside the window, per second. */
  achieved: number;
  clientMs: number[];
  server: Histogram | null;
  cpuPct: number;
  /** The server process's own share of cpuPct (its JS, GC and I/O; the rest is its git children). */
  selfCpuPct: number;
  machineBusyPct: number;
  generatorCpuPct: number;
  rssMb: number;
  hwmMb: number;
  queue: number[];
  firstErrors: string[];
}

/** A minus B, bucket by bucket (both cumulative): what was observed between two scrapes. */
function histogramDelta(a: Histogram | undefined, b: Histogram | undefined): Histogram | null {
  if (!a) return null;
  return { buckets: a.buckets.map(([le, c]) => [le, c - (b?.buckets.find((x) => x[0] === le)?.[1] ?? 0)] as [number, number]), sum: a.sum - (b?.sum ?? 0), count: a.count - (b?.count ?? 0) };
}

/** Busy and total jiffies of the whole machine (/proc/stat), for its load beside the server's. */
function machineTicks(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const total = f.reduce((s, x) => s + x, 0);
  return { busy: total - idle, total };
}

const PUSH_TO_RECORDED = 'pushmanager_push_to_recorded_seconds';

async function runStep(target: Target, rate: number, plan: PlannedPush[], o: Options, rnd: () => number): Promise<StepResult> {
  const res: StepResult = { target: target.name, rate, windowS: o.stepSeconds - o.settleSeconds, offered: 0, offeredAll: 0, dropped: 0, ok: 0, refused: 0, failed: 0, achieved: 0, clientMs: [], server: null, cpuPct: NaN, selfCpuPct: NaN, machineBusyPct: NaN, generatorCpuPct: NaN, rssMb: NaN, hwmMb: NaN, queue: [], firstErrors: [] };
  const t0 = performance.now();
  const windowStart = t0 + o.settleSeconds * 1000;
  const windowEnd = t0 + o.stepSeconds * 1000;
  let okInWindow = 0;
  const clients = new Map<string, ReceivePackClient>();
  const clientOf = (user: string) => clients.get(user) ?? clients.set(user, new ReceivePackClient({ url: target.url(user) })).get(user)!;

  // At the window's start: the server's counters and CPU, the machine's and the generator's CPU.
  let sampler: { child: ReturnType<typeof spawn>; out: string } | null = null;
  let before: { metrics: Map<string, Histogram> | null; cpu: number; self: number; machine: { busy: number; total: number }; gen: NodeJS.CpuUsage } | null = null;
  const takeBefore = async () => {
    const st = procStats(target.pid()!);
    if (o.profile) {
      const out = join(o.profile, `children-${target.name}-${rate}.json`);
      sampler = { out, child: spawn('nice', ['-n', '5', process.execPath, join(packageRoot(), 'dist', 'bench', 'load', 'proc-tree-sampler.js'), String(target.pid()), out], { stdio: 'inherit' }) };
    }
    before = { metrics: target.api ? await scrapeMetrics(target.api) : null, cpu: st ? st.cpuMs + st.childCpuMs : NaN, self: st ? st.cpuMs : NaN, machine: machineTicks(), gen: process.cpuUsage() };
  };
  const sampling = (async () => {
    await sleep(windowStart - performance.now());
    await takeBefore();
    while (performance.now() < windowEnd) {
      if (target.api) {
        try {
          const h = (await (await fetch(`${target.api}/healthz`)).json()) as { pending?: number };
          if (typeof h.pending === 'number') res.queue.push(h.pending);
        } catch {
          /* a slow answer is itself a sign; the next sample comes */
        }
      }
      await sleep(250);
    }
  })();

  const offer = await offerLoad({
    rate,
    seconds: o.stepSeconds,
    rnd,
    maxInFlight: o.maxInFlight,
    take: () => plan[target.cursor++] ?? null,
    keyOf: (p) => p.ref,
    run: async (p, arrival) => {
      const a = await clientOf(p.user).push({ updates: [{ ref: p.ref, new: p.sha }], options: p.options, pack: p.pack });
      const done = performance.now();
      const measured = arrival.due >= windowStart && arrival.due < windowEnd;
      if (a.outcome === 'ok' && done >= windowStart && done < windowEnd) okInWindow++;
      if (!measured) return;
      res.offered++;
      if (a.outcome === 'ok') {
        res.ok++;
        res.clientMs.push(done - arrival.due);
      } else {
        if (a.outcome === 'refused') res.refused++;
        else res.failed++;
        if (res.firstErrors.length < 5) res.firstErrors.push(`${p.kind} ${p.ref}: ${a.error ?? a.refs.find((r) => !r.ok)?.reason ?? `unpack ${a.unpack}`}`);
      }
    },
  });
  await sampling;
  // At the window's end (arrivals may still be in flight: they are the queue this rate builds).
  const st = procStats(target.pid()!);
  const after = { metrics: target.api ? await scrapeMetrics(target.api) : null, machine: machineTicks(), gen: process.cpuUsage() };
  const b = before!;
  const windowMs = o.stepSeconds * 1000 - o.settleSeconds * 1000;
  if (st) {
    res.cpuPct = (100 * (st.cpuMs + st.childCpuMs - b.cpu)) / windowMs;
    res.selfCpuPct = (100 * (st.cpuMs - b.self)) / windowMs;
    res.rssMb = st.rssKb / 1024;
    res.hwmMb = st.hwmKb / 1024;
  }
  const sp = sampler as { child: ReturnType<typeof spawn>; out: string } | null;
  if (sp) {
    const done = new Promise((r) => sp.child.on('exit', r));
    sp.child.kill('SIGTERM');
    await done;
    try {
      const j = JSON.parse(readFileSync(sp.out, 'utf8')) as Record<string, unknown>;
      writeFileSync(sp.out, JSON.stringify({ target: target.name, rate, okInWindow, windowS: windowMs / 1000, serverSelfCpuMs: st ? st.cpuMs - b.self : null, ...j }, null, 2));
    } catch (e) {
      process.stderr.write(`capacity: the children sampler wrote nothing usable: ${(e as Error).message}\n`);
    }
  }
  res.machineBusyPct = (100 * (after.machine.busy - b.machine.busy)) / Math.max(1, after.machine.total - b.machine.total);
  res.generatorCpuPct = (100 * (after.gen.user + after.gen.system - b.gen.user - b.gen.system)) / 1000 / windowMs;
  res.server = histogramDelta(after.metrics?.get(PUSH_TO_RECORDED), b.metrics?.get(PUSH_TO_RECORDED));
  res.offeredAll = offer.offered;
  res.dropped = offer.dropped;
  // Arrivals still waiting are the backlog: they finish (or time out) before the next step starts.
  const drainStart = performance.now();
  await offer.drained;
  const drainS = (performance.now() - drainStart) / 1000;
  if (drainS > 1) process.stderr.write(`capacity: ${target.name} at ${rate}/s: ${drainS.toFixed(1)} s to drain the backlog after the step\n`);
  res.achieved = okInWindow / (windowMs / 1000);
  // A few quiet seconds for the server's background checks before the next step.
  if (target.api) {
    for (let i = 0; i < 100; i++) {
      const h = (await (await fetch(`${target.api}/healthz`)).json().catch(() => ({}))) as { pending?: number };
      if (!h.pending) break;
      await sleep(100);
    }
  }
  await sleep(1000);
  return res;
}

// ---------------------------------------------------------------- the report

const ms = (v: number) => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v.toFixed(1)) : '—');
const LABEL: Record<Target['name'], string> = { pushmanager: 'Pushmanager', plain: 'plain git http-backend' };

function passes(r: StepResult, o: Options): boolean {
  return r.clientMs.length > 0 && percentile(r.clientMs, 95) <= o.p95Ms && r.failed + r.refused + r.dropped === 0 && r.achieved >= 0.9 * (r.offered / r.windowS);
}

/**
 * The highest offered rate at which this step and every lower one passed: p95 ≤ bound, no failure, and
 * the server kept up (pushes finished in the window ≥ 90% of the arrivals due in it: Poisson arrivals
 * vary by themselves, so the comparison is with what actually arrived, not with the nominal rate).
 */
function knee(rs: StepResult[], o: Options): number | null {
  let k: number | null = null;
  for (const r of [...rs].sort((a, b) => a.rate - b.rate)) {
    if (!passes(r, o)) break;
    k = r.rate;
  }
  return k;
}

function textChart(results: StepResult[], o: Options): string {
  const width = 50;
  const cap = Math.max(o.p95Ms * 2, ...results.map((r) => Math.min(percentile(r.clientMs, 95), 5000)).filter(Number.isFinite));
  const scale = (v: number) => Math.max(1, Math.round((Math.min(v, cap) / cap) * width));
  const mark = Math.round((o.p95Ms / cap) * width);
  const lines = [`client p95 (ms) by offered load; '|' at ${o.p95Ms} ms, bars capped at ${ms(cap)} ms`];
  for (const rate of o.steps) {
    for (const r of results.filter((x) => x.rate === rate)) {
      const p95 = percentile(r.clientMs, 95);
      const n = Number.isFinite(p95) ? scale(p95) : 0;
      const bar = Array.from({ length: width }, (_, i) => (i < n ? (r.target === 'pushmanager' ? '#' : '=') : i === mark ? '|' : ' ')).join('');
      lines.push(`${String(rate).padStart(4)}/s ${r.target === 'pushmanager' ? 'PM   ' : 'plain'} ${bar} ${ms(p95)}${p95 > cap ? '+' : ''}`);
    }
  }
  return lines.join('\n');
}

function report(results: StepResult[], o: Options, x: { started: Date; load0: string; pool: number; prepS: number; packsKb: number; elapsedS: number }): string {
  const rows = results.map((r) => {
    const s = r.server;
    const q = (p: number) => (s?.count ? `≤ ${ms(histogramQuantile(s, p) * 1000)}` : '—');
    return [
      LABEL[r.target],
      String(r.rate),
      `${r.achieved.toFixed(2)} (arrived ${(r.offered / r.windowS).toFixed(2)})`,
      `${r.ok}/${r.offered}${r.refused + r.failed + r.dropped ? ` (${r.refused} refused, ${r.failed} failed, ${r.dropped} dropped)` : ''}`,
      `${ms(median(r.clientMs))} / ${ms(percentile(r.clientMs, 95))} / ${ms(percentile(r.clientMs, 99))}`,
      r.target === 'pushmanager' ? `${q(0.5)} / ${q(0.95)} / ${q(0.99)}` : 'no such figure',
      `${r.cpuPct.toFixed(0)}% (own ${r.selfCpuPct.toFixed(0)}%)`,
      `${r.rssMb.toFixed(0)} (peak ${r.hwmMb.toFixed(0)})`,
      r.queue.length ? `${median(r.queue)} / ${Math.max(...r.queue)}` : '—',
      `${r.machineBusyPct.toFixed(0)}% / ${r.generatorCpuPct.toFixed(0)}%`,
      passes(r, o) ? 'yes' : 'no',
    ];
  });
  const head = ['server', 'offered /s', 'achieved /s (arrivals in the window /s)', 'ok / offered', 'client p50 / p95 / p99 ms', 'server push-to-recorded p50 / p95 / p99 ms', 'server CPU (incl. git children, % of one core; own: the server process alone)', 'RSS MB', 'write queue p50 / max', 'machine busy / generator CPU', 'within bound'];
  const table = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  const pmKnee = knee(results.filter((r) => r.target === 'pushmanager'), o);
  const plainKnee = knee(results.filter((r) => r.target === 'plain'), o);
  const ratio = pmKnee !== null && plainKnee ? pmKnee / plainKnee : null;
  const serverKnee = (() => {
    let k: number | null = null;
    for (const r of results.filter((x) => x.target === 'pushmanager').sort((a, b) => a.rate - b.rate)) {
      if (!r.server?.count || histogramQuantile(r.server, 0.95) * 1000 > o.p95Ms || r.achieved < 0.9 * (r.offered / r.windowS)) break;
      k = r.rate;
    }
    return k;
  })();
  const errors = results.flatMap((r) => r.firstErrors.map((e) => `- ${LABEL[r.target]} at ${r.rate}/s: ${e}`));
  const top = Math.max(...o.steps);
  const lowerBounds = ([['pushmanager', pmKnee], ['plain', plainKnee]] as const)
    .filter(([t, k]) => k === top && o.targets.includes(t))
    .map(([t]) => `${LABEL[t]} passed every step, so its knee is only "≥ ${top}/s"${t === 'plain' && pmKnee !== null ? ', and the ratio an upper bound' : ''}: run higher steps to find it.`);
  const notRun = o.targets.flatMap((t) => {
    const ran = new Set(results.filter((r) => r.target === t).map((r) => r.rate));
    const skipped = o.steps.filter((s) => !ran.has(s));
    return skipped.length ? [`${LABEL[t]} did not run ${skipped.join(', ')}/s: it had missed the bound at ${o.stopAfterMisses} steps in a row (\`--stop-after-misses\`).`] : [];
  });
  return [
    '# Capacity: throughput curve and knee (`npm run capacity`)',
    '',
    `Run ${x.started.toISOString()}: steps ${o.steps.join(', ')} pushes/s, ${o.stepSeconds} s each (the first ${o.settleSeconds} s to settle, not counted), seed ${o.seed}; ${o.users} users; ${x.pool} open requests kept on the board${o.openPush ? ', all pickmes of one accepting push' : ''}. Targets interleaved step by step: ${o.targets.map((t) => LABEL[t]).join(', ')}. Machine: ${cpus().length} cores, node ${process.version}, load average at start ${x.load0}. Wall time ${x.elapsedS.toFixed(0)} s, of which ${x.prepS.toFixed(0)} s making commits and packs (${x.packsKb.toFixed(0)} KB of packs).`,
    '',
    'Each push is what `git push` does: GET info/refs, then POST the commands, push options and a pack (made beforehand by `git pack-objects --revs --thin`), read by the load generator (bench/load/) as git reads it: a push counts only when its `ok` line came back. Client latency runs from when the push was due (open loop, Poisson arrivals) to its answer, so a server that falls behind shows its queue. Server CPU is the server process and its waited-for children (`git http-backend`, `receive-pack`, the hook), from /proc.',
    '',
    table,
    '',
    `Knee (highest offered load at which it and every lower step kept client p95 ≤ ${o.p95Ms} ms, finished ≥ 90% of the pushes that arrived in the window, no failed or dropped push; only as fine as the steps): **Pushmanager ${pmKnee ?? 'below the first step'} pushes/s; plain git http-backend ${plainKnee ?? 'below the first step'} pushes/s; ratio ${ratio === null ? 'n/a' : ratio.toFixed(2)}** (target ≥ 0.70: ${ratio === null ? 'not measured' : ratio >= 0.7 ? 'pass' : 'FAIL'}).`,
    `By the server's own push-to-recorded p95 (bucket bounds): Pushmanager's knee ${serverKnee ?? 'below the first step'} pushes/s.`,
    ...lowerBounds,
    ...notRun,
    '',
    `Server CPU per push (ms, the server and its git children / the server process alone), from the table's CPU and achieved rate: ${o.targets.map((t) => `${LABEL[t]} ${results.filter((r) => r.target === t && r.achieved > 0).map((r) => `${r.rate}/s ${((r.cpuPct * 10) / r.achieved).toFixed(1)} / ${((r.selfCpuPct * 10) / r.achieved).toFixed(1)}`).join(', ')}`).join('; ')}.`,
    '',
    '```',
    textChart(results, o),
    '```',
    '',
    ...(errors.length ? ['First failures:', '', ...errors.slice(0, 30), ''] : []),
  ].join('\n');
}

// ---------------------------------------------------------------- the run

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  const started = new Date();
  const load0 = loadavg().map((v) => v.toFixed(2)).join(' / ');
  const rnd = seeded(o.seed);
  const dir = mkdtempSync(join(tmpdir(), 'pm-capacity-'));
  const t0 = performance.now();
  const targets: Target[] = [];
  try {
    // The seed: master with a README and the shared files.
    const seedDir = join(dir, 'seed');
    mkdirSync(join(seedDir, 'hot'), { recursive: true });
    await git(seedDir, ['init', '-q', '--initial-branch=master']);
    writeFileSync(join(seedDir, 'README.md'), '# main\n\nThe capacity run\'s repository.\n');
    for (let k = 0; k < HOT_FILES; k++) writeFileSync(join(seedDir, hotPath(k)), hotLines(k).join('\n') + '\n');
    await git(seedDir, ['add', '-A']);
    await git(seedDir, ['commit', '-q', '-m', 'Seed: shared files']);
    const master = await git(seedDir, ['rev-parse', 'HEAD']);

    // The plan: enough pushes for every step at its rate (Poisson: a margin), the same for each target.
    const count = o.pool + o.steps.reduce((s, r) => s + Math.ceil(r * o.stepSeconds * 1.25 + 10), 0);
    const plan = planPushes(count, o, rnd);
    process.stderr.write(`capacity: making ${plan.pushes.filter((p) => p.kind !== 'withdraw').length} commits and their packs for ${count} planned pushes in ${dir}\n`);
    const marks = await makeCommits(seedDir, master, plan);
    const gitDir = join(seedDir, '.git');
    let packBytes = 0;
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < plan.pushes.length; i = next++) {
        const p = plan.pushes[i]!;
        if (p.kind === 'withdraw') continue;
        p.sha = marks.get(p.mark)!;
        p.parent = p.parentMark === null ? master : marks.get(p.parentMark)!;
        p.pack = await gitPackObjects(gitDir, p.sha, [p.parent]);
        packBytes += p.pack.length;
      }
    };
    await Promise.all([worker(), worker()]);
    const prepS = (performance.now() - t0) / 1000;

    // The servers, each with its own copy of master.
    const users = ['pm', ...Array.from({ length: o.users }, (_, i) => `u${i + 1}`)];
    if (o.targets.includes('pushmanager')) {
      const dataDir = join(dir, 'data');
      const repo = join(dataDir, 'repos', 'main.git');
      mkdirSync(dirname(repo), { recursive: true });
      await git(dir, ['init', '-q', '--bare', '--initial-branch=master', repo]);
      await git(seedDir, ['push', '-q', repo, 'master']);
      const yaml = ['server:', '  host: 127.0.0.1', `  dataDir: ${JSON.stringify(dataDir)}`, 'auth:', '  strategy: local', '  users:', ...users.map((u) => `    - { name: ${u}, password: ${u}${u === 'pm' ? ', pushmaster: true' : ''} }`), ''].join('\n');
      writeFileSync(join(dir, 'pushmanager.yaml'), yaml);
      if (o.profile) mkdirSync(o.profile, { recursive: true });
      const server = new ServerProcess({ dataDir, config: join(dir, 'pushmanager.yaml'), nodeFlags: o.profile ? ['--cpu-prof', `--cpu-prof-dir=${o.profile}`] : [] });
      await server.start(60_000);
      if (o.openPush) {
        await new PushmanagerClient({ server: server.url, user: 'pm', password: 'pm' }).command({ type: 'OpenPush', title: 'Capacity run', pushType: 'regular' });
      }
      targets.push({ name: 'pushmanager', label: LABEL.pushmanager, url: (u) => `http://${u}:${u}@127.0.0.1:${server.port}/main.git`, pid: () => server.pid, api: server.url, cursor: 0, stop: () => server.stop() });
    }
    if (o.targets.includes('plain')) {
      const bare = join(dir, 'plain', 'main.git');
      mkdirSync(dirname(bare), { recursive: true });
      await git(dir, ['init', '-q', '--bare', '--initial-branch=master', bare]);
      await git(seedDir, ['push', '-q', bare, 'master']);
      await git(bare, ['config', 'receive.advertisePushOptions', 'true']);
      const plain = await startPlainProcess(bare);
      targets.push({ name: 'plain', label: LABEL.plain, url: () => plain.url, pid: () => plain.pid, api: null, cursor: 0, stop: () => plain.stop() });
    }

    // Fill the pool (not measured): two pushes at a time.
    for (const t of targets) {
      const fill = plan.pushes.slice(0, o.pool);
      let i = 0;
      const one = async () => {
        for (let k = i++; k < fill.length; k = i++) {
          const p = fill[k]!;
          const a = await new ReceivePackClient({ url: t.url(p.user) }).push({ updates: [{ ref: p.ref, new: p.sha }], options: p.options, pack: p.pack });
          if (a.outcome !== 'ok') throw new Error(`${t.name}: filling the pool, ${p.ref} was not recorded: ${a.error ?? a.refs.map((r) => r.reason).join('; ')}`);
        }
      };
      await Promise.all([one(), one()]);
      t.cursor = o.pool;
      process.stderr.write(`capacity: ${t.name}: ${o.pool} open requests on the board\n`);
    }

    const results: StepResult[] = [];
    const misses = new Map<string, number>();
    for (const rate of [...o.steps].sort((a, b) => a - b))
      for (const t of targets) {
        // Its knee is behind it: higher steps would only load the machine the other target's steps share.
        if (o.stopAfterMisses && (misses.get(t.name) ?? 0) >= o.stopAfterMisses) {
          process.stderr.write(`capacity: ${t.name} ${rate}/s: not run (missed the bound at ${o.stopAfterMisses} steps in a row)\n`);
          continue;
        }
        const r = await runStep(t, rate, plan.pushes, o, rnd);
        misses.set(t.name, passes(r, o) ? 0 : (misses.get(t.name) ?? 0) + 1);
        results.push(r);
        process.stderr.write(`capacity: ${t.name} ${rate}/s: achieved ${r.achieved.toFixed(2)}/s, client p95 ${ms(percentile(r.clientMs, 95))} ms, ${r.failed + r.refused} not ok, server CPU ${r.cpuPct.toFixed(0)}%\n`);
      }
    const text = report(results, o, { started, load0, pool: o.pool, prepS, packsKb: packBytes / 1024, elapsedS: (performance.now() - t0) / 1000 });
    console.log(text);
    if (o.report) {
      mkdirSync(dirname(o.report), { recursive: true });
      writeFileSync(o.report, text);
      console.log(`written to ${o.report}`);
    }
    return results.some((r) => r.failed + r.refused > 0) ? 1 : 0;
  } finally {
    for (const t of targets) await t.stop().catch(() => undefined);
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
    else console.log(`data kept in ${dir}`);
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e);
    process.exitCode = 2;
  },
);
