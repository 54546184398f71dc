// Child processes for benchmarks and the simulation, all asynchronous: the Pushmanager server runs as
// its own process (the built CLI, `serve`), so nothing here can block it, and git clients never run
// synchronously beside a server that must answer them (that deadlocks: the server waits for its event
// loop, the client waits for the server).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setPriority } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall time of the command, ms. */
  readonly ms: number;
}

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly input?: string;
  /** Kill the command after this long (ms) and report code null. */
  readonly timeoutMs?: number;
  /** Run at nice level N: work that would run elsewhere in real life, e.g. engineers' git clients. */
  readonly nice?: number;
}

/** Runs a command asynchronously and times it; never throws for a non-zero exit. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const t = performance.now();
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    // Lowered right after the spawn rather than through `nice -n`: one exec less per git client,
    // which counts when every process start costs 10-40 ms here. The child's own children
    // (git push starts three) inherit it: git reads its config before starting any.
    if (opts.nice && child.pid) {
      try {
        setPriority(child.pid, opts.nice);
      } catch {
        /* already gone: nothing to lower */
      }
    }
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : null;
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolvePromise({ code, stdout, stderr, ms: performance.now() - t });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Like run, but throws with the command's stderr when it fails. */
export async function runOk(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim().slice(0, 2000)}`);
  return r;
}

export const GIT_IDENTITY_ENV = (name = 'bench', email = `${name}@example.com`): NodeJS.ProcessEnv => ({
  GIT_AUTHOR_NAME: name,
  GIT_AUTHOR_EMAIL: email,
  GIT_COMMITTER_NAME: name,
  GIT_COMMITTER_EMAIL: email,
});

/** git with a fixed identity and no user config; returns trimmed stdout, throws on failure. */
export async function git(cwd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, nice?: number): Promise<string> {
  const r = await runOk('git', args, { cwd, nice, env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', ...GIT_IDENTITY_ENV(), ...env } });
  return r.stdout.trim();
}

/** A free TCP port on loopback (the kernel picks it; released before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolvePromise(port));
    });
  });
}

/** The package root (where dist/ and package.json are), from this module in src or in dist. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = resolve(dir, '..');
  }
  return process.cwd();
}

export const cliPath = (): string => join(packageRoot(), 'dist', 'tui', 'cli', 'main.js');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Process facts from /proc: resident memory now and at peak (KiB), CPU time used (ms), and the CPU time
 * of its children that have ended and been waited for (git http-backend and, through it, receive-pack
 * and the hooks: most of a push's work).
 */
export function procStats(pid: number): { rssKb: number; hwmKb: number; cpuMs: number; childCpuMs: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    const f = statFields(pid)!;
    const ticks = Number(f[11]) + Number(f[12]); // utime + stime (fields 14 and 15)
    const childTicks = Number(f[13]) + Number(f[14]) + liveChildrenTicks(pid); // cutime + cstime (fields 16 and 17)
    return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM'), cpuMs: (ticks * 1000) / 100, childCpuMs: (childTicks * 1000) / 100 };
  } catch {
    return null;
  }
}

/** /proc/PID/stat's fields after the command name (which may hold spaces), from field 3 on. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/**
 * The CPU of the children still running, their own reaped children included: cutime counts a child only
 * once it has been waited for, so a long-lived child that starts processes for the server (the git
 * spawner, server/git/git-spawner.ts) or works for it (cat-file, merge-tree sessions) would not count.
 */
function liveChildrenTicks(pid: number): number {
  let sum = 0;
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return 0;
  }
  for (const t of tasks) {
    let kids: string[] = [];
    try {
      kids = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' ').filter(Boolean);
    } catch {
      continue;
    }
    for (const k of kids) {
      const f = statFields(Number(k));
      if (f) sum += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    }
  }
  return sum;
}

/**
 * Node flags the server runs with in production, as `npm start` and docs/pushmanager.service give
 * them (keep the three alike): measured here as the server users get.
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4', '--optimize-for-size'];

export interface ServerProcessOptions {
  readonly dataDir: string;
  readonly port?: number;
  readonly config?: string;
  /** Where the server's stderr (its log) goes; appended. */
  readonly logFile?: string;
  /** More node flags, e.g. `--cpu-prof` for a profile of the server (bench/capacity.ts --profile). */
  readonly nodeFlags?: readonly string[];
}

/** The Pushmanager server as a separate process (the built CLI), on a loopback port. */
export class ServerProcess {
  private child: ReturnType<typeof spawn> | null = null;
  private exited: Promise<void> = Promise.resolve();
  port = 0;
  log = '';

  constructor(private readonly o: ServerProcessOptions) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get pid(): number | undefined {
    return this.child?.pid;
  }
  get running(): boolean {
    return this.child !== null;
  }

  /** Starts the server and resolves when GET /healthz answers 200 (start-up includes reconcile). */
  async start(timeoutMs = 30_000): Promise<number> {
    if (!this.port) this.port = this.o.port ?? (await freePort());
    const args = [...SERVER_NODE_FLAGS, ...(this.o.nodeFlags ?? []), cliPath(), 'serve', '--port', String(this.port), '--data', this.o.dataDir, '--host', '127.0.0.1'];
    if (this.o.config) args.push('--config', this.o.config);
    const t = performance.now();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'production' } });
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => this.append(d.toString()));
    child.stderr!.on('data', (d: Buffer) => this.append(d.toString()));
    this.exited = new Promise((r) => child.on('exit', () => r()));
    void this.exited.then(() => {
      if (this.child === child) this.child = null;
    });
    for (;;) {
      if (this.child !== child) throw new Error(`the server exited during start-up:\n${this.log.slice(-3000)}`);
      try {
        const res = await fetch(`${this.url}/healthz`);
        if (res.ok) {
          await res.text();
          return performance.now() - t;
        }
      } catch {
        /* not listening yet */
      }
      if (performance.now() - t > timeoutMs) throw new Error(`the server did not answer /healthz within ${timeoutMs} ms:\n${this.log.slice(-3000)}`);
      await sleep(25);
    }
  }

  private append(s: string): void {
    this.log = (this.log + s).slice(-200_000);
  }

  /** SIGKILL: no shutdown code runs, as in a crash. Resolves when the process is gone. */
  async kill(): Promise<void> {
    const c = this.child;
    if (!c) return;
    c.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM: the server's own clean shutdown. */
  async stop(): Promise<void> {
    const c = this.child;
    if (!c) return;
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 15_000); // past the server's 8 s grace for writes under way
    await this.exited;
    clearTimeout(t);
  }

  stats(): ReturnType<typeof procStats> {
    return this.pid ? procStats(this.pid) : null;
  }
}

/** Prometheus text → histogram series (name → { buckets le→count, sum, count }); null when absent. */
export interface Histogram {
  buckets: [number, number][];
  sum: number;
  count: number;
}

export async function scrapeMetrics(url: string): Promise<Map<string, Histogram> | null> {
  let text: string;
  try {
    const res = await fetch(`${url}/metrics`);
    if (!res.ok) {
      await res.text();
      return null;
    }
    text = await res.text();
  } catch {
    return null;
  }
  const out = new Map<string, Histogram>();
  const get = (n: string) => {
    let h = out.get(n);
    if (!h) out.set(n, (h = { buckets: [], sum: 0, count: 0 }));
    return h;
  };
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    // Each histogram summed over its labels under its name, and each labelled series also under
    // `name{labels}` (e.g. pushmanager_writer_held_seconds{command="OpenRequest"}).
    const m = /^([a-z_:][a-z0-9_:]*)_(bucket|sum|count)(\{([^}]*)\})? (\S+)$/i.exec(line);
    if (!m) continue;
    const [, name, kind, , labels, value] = m;
    const v = Number(value);
    const others = (labels ?? '').replace(/,?le="[^"]+"/, '').replace(/^,/, '');
    for (const h of others ? [get(name!), get(`${name}{${others}}`)] : [get(name!)]) {
      if (kind === 'bucket') {
        const le = /le="([^"]+)"/.exec(labels ?? '')?.[1];
        if (le === undefined) continue;
        const bound = le === '+Inf' ? Infinity : Number(le);
        const existing = h.buckets.find((b) => b[0] === bound);
        if (existing) existing[1] += v;
        else h.buckets.push([bound, v]);
      } else if (kind === 'sum') h.sum += v;
      else h.count += v;
    }
  }
  for (const h of out.values()) h.buckets.sort((a, b) => a[0] - b[0]);
  return out;
}

/** Adds histogram b into a (same bucket bounds), for summing across server restarts. */
export function addHistogram(a: Histogram | undefined, b: Histogram): Histogram {
  if (!a) return { buckets: b.buckets.map(([le, c]) => [le, c]), sum: b.sum, count: b.count };
  const buckets = a.buckets.map(([le, c]) => [le, c + (b.buckets.find((x) => x[0] === le)?.[1] ?? 0)] as [number, number]);
  return { buckets, sum: a.sum + b.sum, count: a.count + b.count };
}

/** The upper bound of the bucket holding quantile q (0..1), in the histogram's unit. */
export function histogramQuantile(h: Histogram, q: number): number {
  if (!h.count) return NaN;
  const want = q * h.count;
  for (const [le, c] of h.buckets) if (c >= want) return le;
  return Infinity;
}
