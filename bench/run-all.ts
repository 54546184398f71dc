// `npm run bench`: every benchmark in one go, one table (figure, value, the baseline measured in the same
// run, ratio, target, pass/fail), also written to bench/results/latest.md with the machine's facts.
// Benchmarks run one after another, never in parallel, so they do not load each other.
// Options: --only intake,rebuild,conflicts,render,pipeline,pipeline-server   --out FILE   --no-write
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { markdownTable, textTable, type BenchRow } from './lib/bench-row.js';
import { packageRoot } from './lib/proc.js';

interface Suite {
  readonly name: string;
  readonly what: string;
  readonly run: () => Promise<BenchRow[]>;
}

const SUITES: readonly Suite[] = [
  { name: 'intake', what: 'intake (issue 2)', run: async () => (await import('./intake.js')).run() },
  { name: 'rebuild', what: 'train: deploy-branch rebuild', run: async () => (await import('./train/rebuild.js')).run() },
  { name: 'conflicts', what: 'train: conflict matrix and one new pickme', run: async () => (await import('./train/conflicts.js')).run() },
  { name: 'render', what: 'dashboard render', run: async () => (await import('./dashboard-render.js')).run() },
  { name: 'pipeline', what: 'pipeline: local job overhead, live log, checkouts', run: async () => (await import('./pipeline-local.js')).run() },
  { name: 'pipeline-server', what: 'pipeline through the server: job overhead vs a direct spawn, live log in job log --follow', run: async () => (await import('./pipeline-server.js')).run() },
];

function machine(): Record<string, string> {
  const gitVersion = (() => {
    try {
      return execFileSync('git', ['--version'], { encoding: 'utf8' }).trim().replace(/^git version /, '');
    } catch {
      return 'unknown';
    }
  })();
  const cpu = cpus();
  return {
    cores: `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown'}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
    git: gitVersion,
    platform: `${process.platform} ${process.arch}`,
  };
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(' / ');

/** A usage error: said on stderr with where the options are listed, exit code 2 (nothing was run). */
function usageError(msg: string): number {
  console.error(`bench: ${msg}; npm run bench -- --help lists the options`);
  return 2;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(
      [
        'usage: npm run bench -- [--only SUITE,SUITE] [--out FILE] [--no-write]     (or: node dist/bench/run-all.js …)',
        'One figure per row against a baseline measured in the same run, each with its target; exit 1 when one fails.',
        `  --only SUITE,…   run only these suites (${SUITES.map((s) => s.name).join(', ')})`,
        '  --out FILE       where the Markdown goes (default bench/results/latest.md)',
        '  --no-write       print only',
      ].join('\n'),
    );
    return 0;
  }
  // An option it does not know must not start a run of minutes that ignores it.
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--only' || a === '--out') {
      if (args[++i] === undefined) return usageError(`${a} needs a value`);
    } else if (a !== '--no-write') return usageError(`unknown option ${a}`);
  }
  const only = args.includes('--only') ? new Set(args[args.indexOf('--only') + 1]!.split(',')) : null;
  const unknown = only ? [...only].filter((n) => !SUITES.some((s) => s.name === n)) : [];
  if (unknown.length) return usageError(`no suite ${unknown.join(', ')} (there are: ${SUITES.map((s) => s.name).join(', ')})`);
  const out = args.includes('--out') ? args[args.indexOf('--out') + 1]! : join(packageRoot(), 'bench', 'results', 'latest.md');
  const started = new Date();
  const loadStart = load();
  const facts = machine();
  const rows: BenchRow[] = [];
  const failures: string[] = [];
  const timings: string[] = [];
  for (const s of SUITES) {
    if (only && !only.has(s.name)) continue;
    process.stderr.write(`bench: ${s.what}…\n`);
    const t = performance.now();
    try {
      rows.push(...(await s.run()));
    } catch (e) {
      failures.push(`${s.name}: ${(e as Error).stack ?? String(e)}`);
      rows.push({ figure: `${s.what}: the benchmark failed to run (${(e as Error).message.split('\n')[0]})`, value: NaN, unit: '', baselineName: '', baseline: null, ratio: null, target: 'runs', pass: false });
    }
    timings.push(`${s.name} ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  const loadEnd = load();
  const seconds = (Date.now() - started.getTime()) / 1000;
  const passed = rows.filter((r) => r.pass).length;

  console.log('');
  console.log(textTable(rows));
  console.log('');
  console.log(`${passed}/${rows.length} pass · ${seconds.toFixed(0)} s · load average (1/5/15 min) at start ${loadStart}, at end ${loadEnd}`);
  for (const f of failures) console.error(`\n${f}`);

  if (!args.includes('--no-write')) {
    const md = [
      '# Benchmark results (`npm run bench`)',
      '',
      `Run ${started.toISOString()}, ${seconds.toFixed(0)} s in all (${timings.join(', ')}).`,
      '',
      '| machine | |',
      '|---|---|',
      ...Object.entries(facts).map(([k, v]) => `| ${k} | ${v} |`),
      `| load average at start (1/5/15 min) | ${loadStart} |`,
      `| load average at end (1/5/15 min) | ${loadEnd} |`,
      '',
      'Every baseline was measured in this same run, on this machine, interleaved with our figure where the',
      'benchmark allows it. The machine may have been loaded by other work while this ran (a shared 2-core',
      'machine: see the load averages above); absolute times then grow, and ratios against a baseline from the',
      'same run are the figures to trust. Targets are from issues 2 (intake), the train issue (rebuild,',
      'conflicts) and the dashboard issue (render).',
      '',
      markdownTable(rows),
      '',
      `${passed} of ${rows.length} figures pass.`,
      ...(failures.length ? ['', 'Benchmarks that failed to run:', '', ...failures.map((f) => '```\n' + f + '\n```')] : []),
      '',
    ].join('\n');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, md);
    console.log(`written to ${out}`);
  }
  return rows.every((r) => r.pass) ? 0 : 1;
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
