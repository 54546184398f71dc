// The long fuzz run (issue 8): the same fast-check properties `npm test` runs in test/fuzz/, with many
// more runs. The properties live in the test folder (tsconfig keeps test/ out of the build), so this runs
// them through vitest with FUZZ_RUNS set; every property scales from its default by FUZZ_RUNS / 200.
//
//   npm run build && node dist/bench/fuzz-long.js [runs=5000] [vitest filter…]
//   FUZZ_SEED=<seed from a failure> node dist/bench/fuzz-long.js 5000 test/fuzz/parsers.test.ts
//
// At 5000: each parser and the dashboard keys 5000 runs, the API bodies and raw paths 3750 each
// against the running server, real git pushes 750 (about 5 minutes on two cores in all).
import { spawn } from 'node:child_process';
import { packageRoot } from '../server/repo/managed-repo.js';

export async function run(runs: number, filters: readonly string[] = []): Promise<number> {
  const root = await packageRoot();
  const started = performance.now();
  const args = ['vitest', 'run', ...(filters.length ? filters : ['test/fuzz']), '--reporter=verbose'];
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn('npx', args, { cwd: root, stdio: 'inherit', env: { ...process.env, FUZZ_RUNS: String(runs) } });
    child.on('error', reject);
    child.on('close', (c) => resolve(c ?? 1));
  });
  process.stderr.write(`fuzz-long: FUZZ_RUNS=${runs}${process.env.FUZZ_SEED ? ` FUZZ_SEED=${process.env.FUZZ_SEED}` : ''} ${code === 0 ? 'passed' : 'FAILED'} in ${Math.round((performance.now() - started) / 1000)} s\n`);
  return code;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.slice(2).some((a) => a === '--help' || a === '-h')) {
    console.log(
      [
        'usage: npm run fuzz -- [RUNS] [vitest filter…]     (or: node dist/bench/fuzz-long.js [RUNS] [filter…])',
        "The fast-check properties of test/fuzz/ with more runs: each scales from its default by RUNS / 200 (default RUNS 5000,",
        'about 5 minutes on two cores). A filter (a test file or a part of its name) runs only those files.',
        '  FUZZ_SEED=<seed printed by a failure>  replays that failure',
        'exit: vitest\'s (0 when every property held).',
      ].join('\n'),
    );
    process.exit(0);
  }
  const [first, ...rest] = process.argv.slice(2);
  const runs = first !== undefined && /^[0-9]+$/.test(first) ? Number(first) : 5000;
  const filters = first !== undefined && !/^[0-9]+$/.test(first) ? [first, ...rest] : rest;
  process.exitCode = await run(runs, filters);
}
