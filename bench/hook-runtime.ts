// The proc-receive hook's runtime, Node vs Perl: what one hook process costs to start, and what a
// `git push` of a new request costs end to end with each. Run alone:
// `npm run build && node dist/bench/hook-runtime.js [--pushes 30]`.
//
// Two servers run side by side as their own processes (PUSHMANAGER_HOOK_RUNTIME=node and =perl), and
// each round pushes to both, alternating which goes first, so both runtimes see the same machine load.
// A plain git push to http-backend (no hook, no server work) in the same rounds is the floor.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMain, median, percentile, printRows, round, type BenchRow } from './lib/bench-row.js';
import { startPlainGitServer } from './lib/plain-git-server.js';
import { git, packageRoot, run as exec, scrapeMetrics, ServerProcess } from './lib/proc.js';

const WARMUP = 3;
type Runtime = 'node' | 'perl';
const RUNTIMES: readonly Runtime[] = ['node', 'perl'];

/** Wall time of `n` runs of a command (after 2 unmeasured ones). */
async function startCost(cmd: string, args: readonly string[], n: number, env?: NodeJS.ProcessEnv, input?: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n + 2; i++) {
    const r = await exec(cmd, args, { ...(env && { env }), ...(input !== undefined && { input }) });
    if (i >= 2) times.push(r.ms);
  }
  return times;
}

export async function run(opts: { pushes?: number } = {}): Promise<BenchRow[]> {
  const n = opts.pushes ?? 30;
  const dir = mkdtempSync(join(tmpdir(), 'pm-bench-hook-'));
  const servers = new Map<Runtime, ServerProcess>();
  let plain: Awaited<ReturnType<typeof startPlainGitServer>> | null = null;
  try {
    const rows: BenchRow[] = [];

    // Start-up alone: the bare interpreters, then each hook relay run to completion against a socket
    // where nothing listens (start, try to connect, say why): the relay's own cost minus the server.
    const root = packageRoot();
    const pkt = (s: string) => (Buffer.byteLength(s) + 4).toString(16).padStart(4, '0') + s;
    const input = `${pkt('version=1\0push-options\n')}0000${pkt(`${'0'.repeat(40)} ${'1'.repeat(40)} refs/pushreq/x\n`)}0000${pkt('title=x\n')}0000`;
    const hookEnv = { ...process.env, PUSHMANAGER_HOOK_SOCKET: join(dir, 'nothing-listens.sock'), PUSHMANAGER_PUSH_TOKEN: 'bench' };
    const starts = {
      node: await startCost(process.execPath, ['-e', '0'], 20),
      perl: await startCost('perl', ['-e', '0'], 20),
      nodeHook: await startCost(process.execPath, [join(root, 'dist', 'hooks', 'proc-receive.js')], 20, hookEnv, input),
      perlHook: await startCost('perl', [join(root, 'hooks', 'proc-receive.pl')], 20, hookEnv, input),
    };
    rows.push(
      { figure: 'interpreter start, `node -e 0` vs `perl -e 0`, median of 20', value: round(median(starts.node)), unit: 'ms', baselineName: 'perl', baseline: round(median(starts.perl)), ratio: round(median(starts.node) / median(starts.perl), 1), target: 'reported only', pass: true },
      { figure: 'one hook process, Node vs Perl (server unreachable), median of 20', value: round(median(starts.nodeHook)), unit: 'ms', baselineName: 'perl hook', baseline: round(median(starts.perlHook)), ratio: round(median(starts.nodeHook) / median(starts.perlHook), 1), target: 'reported only', pass: true },
    );

    const work = new Map<Runtime, string>();
    for (const rt of RUNTIMES) {
      const saved = process.env.PUSHMANAGER_HOOK_RUNTIME;
      process.env.PUSHMANAGER_HOOK_RUNTIME = rt; // ServerProcess passes this process's environment on
      const server = new ServerProcess({ dataDir: join(dir, `data-${rt}`) });
      servers.set(rt, server);
      try {
        await server.start();
      } finally {
        if (saved === undefined) delete process.env.PUSHMANAGER_HOOK_RUNTIME;
        else process.env.PUSHMANAGER_HOOK_RUNTIME = saved;
      }
      const w = join(dir, `work-${rt}`);
      await git(dir, ['clone', '-q', `${server.url.replace('://', '://alice:alice@')}/main.git`, w]);
      work.set(rt, w);
    }

    const bare = join(dir, 'plain', 'main.git');
    await git(dir, ['clone', '-q', '--bare', work.get('perl')!, bare]);
    plain = await startPlainGitServer(bare);
    await git(work.get('perl')!, ['remote', 'add', 'plain', plain.url]);

    const times: Record<Runtime | 'plain', number[]> = { node: [], perl: [], plain: [] };
    for (let i = 0; i < n + WARMUP; i++) {
      const order = i % 2 ? RUNTIMES : [...RUNTIMES].reverse();
      for (const rt of order) {
        const w = work.get(rt)!;
        await git(w, ['checkout', '-q', '-B', `b${i}`, 'origin/master']);
        await git(w, ['commit', '-q', '--allow-empty', '-m', `change ${i}`]);
        const r = await exec('git', ['push', '-q', 'origin', `b${i}:refs/pushreq/b${i}`, '-o', `title=bench ${i}`], { cwd: w });
        if (r.code !== 0) throw new Error(`git push (${rt} hook) failed: ${r.stderr}`);
        if (i >= WARMUP) times[rt].push(r.ms);
      }
      const p = await exec('git', ['push', '-q', 'plain', `b${i}:refs/heads/b${i}`], { cwd: work.get('perl')! });
      if (p.code !== 0) throw new Error(`plain git push failed: ${p.stderr}`);
      if (i >= WARMUP) times.plain.push(p.ms);
    }
    for (const rt of RUNTIMES) {
      // The server's whole answer to the hook (conflict lines included); older builds had only push_to_recorded.
      const metrics = await scrapeMetrics(servers.get(rt)!.url);
      const inside = metrics?.get('pushmanager_push_answered_seconds') ?? metrics?.get('pushmanager_push_to_recorded_seconds');
      const mean = inside?.count ? (inside.sum / inside.count) * 1000 : NaN;
      rows.push(
        { figure: `git push of a new request, ${rt} hook, median of ${n}`, value: round(median(times[rt])), unit: 'ms', baselineName: 'inside the server (hook call → answer), mean', baseline: round(mean), ratio: null, target: 'reported only', pass: true },
        { figure: `git push of a new request, ${rt} hook, p95`, value: round(percentile(times[rt], 95)), unit: 'ms', baselineName: '-', baseline: null, ratio: null, target: '≤ 300 ms', pass: percentile(times[rt], 95) <= 300 },
      );
    }
    rows.push({ figure: `plain git push to http-backend (no hook), median of ${n}`, value: round(median(times.plain)), unit: 'ms', baselineName: 'p95', baseline: round(percentile(times.plain, 95)), ratio: null, target: 'reported only', pass: true });
    rows.push({ figure: 'git push median, Node hook / Perl hook', value: round(median(times.node) - median(times.perl)), unit: 'ms saved', baselineName: 'perl median', baseline: round(median(times.perl)), ratio: round(median(times.node) / median(times.perl), 2), target: 'reported only', pass: true });
    return rows;
  } catch (e) {
    for (const [rt, s] of servers) if (s.log) process.stderr.write(`--- ${rt} server log (tail) ---\n${s.log.slice(-3000)}\n`);
    throw e;
  } finally {
    await plain?.close();
    for (const s of servers.values()) await s.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const i = process.argv.indexOf('--pushes');
  run(i > 0 ? { pushes: Number(process.argv[i + 1]) } : {}).then(printRows, (e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
