// Benchmarks (b) and (c): the full conflict matrix of 50 pickmes (1,225 pairs, ~10% touching a
// common file) with ConflictChecker, against the original's method (a working copy: check out
// master, `git merge` one pickme, then the other) timed on a sample of pairs and scaled to all of
// them; and one new pickme against 50 others. Run alone: `npm run build && node dist/bench/train/conflicts.js`.
import { join } from 'node:path';
import { CliGitRepo } from '../../server/git/cli-git-repo.js';
import { GitCli } from '../../server/git/git-cli.js';
import { ConflictChecker, type Candidate } from '../../server/train/conflict-checker.js';
import { fixedEnv, seededRandom } from '../../test/helpers/git-fixtures.js';
import { makeBenchRepo, makeRequests } from './bench-repo.js';
import { isMain, median, printRows, type BenchRow } from '../lib/bench-row.js';

const PICKMES = 50;
const SAMPLE_PAIRS = 20;

/** The original's check of one pair in a working copy: reset to master, merge A, merge B. */
async function originalPair(wc: GitCli, master: string, a: string, b: string): Promise<void> {
  await wc.run(['checkout', '-q', '-f', '-B', 'conflict-check', master]);
  for (const sha of [a, b]) {
    const r = await wc.run(['merge', '-q', '--no-edit', '--no-ff', sha], { okCodes: [1] });
    if (r.exitCode !== 0) {
      await wc.run(['merge', '--abort'], { okCodes: [128] });
      break;
    }
  }
  await wc.run(['reset', '-q', '--hard', master]);
}

export async function run(): Promise<BenchRow[]> {
  const b = await makeBenchRepo();
  try {
    const shas = await makeRequests(b, PICKMES, { hotFiles: 10, prefix: 'pickme' });
    const candidates: Candidate[] = shas.map((sha, i) => ({ id: i + 1, sha }));
    const pairs = (PICKMES * (PICKMES - 1)) / 2;

    // (b) the whole matrix, cold caches.
    const checker = new ConflictChecker(b.repo.port);
    let t = performance.now();
    const matrix = await checker.checkAll(b.master, candidates);
    const full = performance.now() - t;
    const conflicted = [...matrix.values()].filter((c) => c.length > 0).length;
    const s = { ...checker.stats };

    // The original's method on a sample of pairs, in a working copy sharing the repo's objects.
    const wcDir = join(b.repo.dir, 'working-copy');
    await b.repo.git.run(['clone', '-q', '--shared', '--no-checkout', b.repo.dir, wcDir]);
    const wc = new GitCli(wcDir, fixedEnv());
    await wc.run(['checkout', '-q', '-f', '-B', 'conflict-check', b.master]);
    const rnd = seededRandom(99);
    const samples: number[] = [];
    for (let k = 0; k < SAMPLE_PAIRS; k++) {
      const i = Math.floor(rnd() * PICKMES);
      const j = (i + 1 + Math.floor(rnd() * (PICKMES - 1))) % PICKMES;
      t = performance.now();
      await originalPair(wc, b.master, shas[i]!, shas[j]!);
      samples.push(performance.now() - t);
    }
    const perPair = samples.reduce((s, x) => s + x, 0) / samples.length;
    const originalFull = perPair * pairs;
    const speedup = originalFull / full;

    // (c) one new pickme against the 50, as the server sees it: caches warm from the matrix.
    const [newSha] = await makeRequests(b, 1, { hotFiles: 10, prefix: 'newcomer', seed: 5 });
    const newcomer = { id: PICKMES + 1, sha: newSha! };
    t = performance.now();
    await checker.checkOne(b.master, newcomer, candidates);
    const warm = performance.now() - t;
    await checker.close();
    // The same with nothing cached (a freshly started server), for reference.
    const colds: number[] = [];
    for (let r = 0; r < 3; r++) {
      // A repository opened afresh too: its in-process walk (master's window, parsed trees) starts empty.
      const port = new CliGitRepo(b.repo.git, b.repo.dir);
      const fresh = new ConflictChecker(port);
      t = performance.now();
      await fresh.checkOne(b.master, newcomer, candidates);
      colds.push(performance.now() - t);
      await fresh.close();
      await port.close();
    }
    return [
      {
        figure: `conflict matrix, ${PICKMES} pickmes (${pairs} pairs; ${s.prunedPairs} pruned, ${s.trialMerges} trial-merged, ${conflicted} requests in conflict)`,
        value: full,
        unit: 'ms',
        baselineName: '',
        baseline: null,
        ratio: null,
        target: '≤ 3000 ms',
        pass: full <= 3000,
      },
      {
        figure: `conflict matrix vs original (working copy + git merge, ${SAMPLE_PAIRS} pairs timed, ${perPair.toFixed(0)} ms a pair, scaled to ${pairs})`,
        value: full,
        unit: 'ms',
        baselineName: 'original method, scaled',
        baseline: originalFull,
        ratio: speedup,
        target: 'speed-up ≥ 50×',
        pass: speedup >= 50,
      },
      {
        figure: `one new pickme against ${PICKMES} others (warm caches)`,
        value: warm,
        unit: 'ms',
        baselineName: '',
        baseline: null,
        ratio: null,
        target: '≤ 300 ms',
        pass: warm <= 300,
      },
      {
        figure: `one new pickme against ${PICKMES} others (cold caches, median of 3; reference)`,
        value: median(colds),
        unit: 'ms',
        baselineName: '',
        baseline: null,
        ratio: null,
        target: 'reported only',
        pass: true,
      },
    ];
  } finally {
    await b.repo.cleanup();
  }
}

if (isMain(import.meta.url)) printRows(await run());
