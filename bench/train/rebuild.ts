// Benchmark (a): rebuilding a deploy branch of 50 accepted requests on a ~5,000-file, ~2,000-commit
// repo with buildDeployBranch, against a plain bash loop of merge-tree + commit-tree over the same
// SHAs. Target: at most 1.3× the loop. Run alone: `npm run build && node dist/bench/train/rebuild.js`.
import { spawn } from 'node:child_process';
import { buildDeployBranch } from '../../server/train/deploy-builder.js';
import { fixedEnv, FIXED_EPOCH, FIXTURE_IDENTITY, writeListFile } from '../../test/helpers/git-fixtures.js';
import { benchFile, makeBenchRepo, makeRequests } from './bench-repo.js';
import { isMain, median, printRows, type BenchRow } from '../lib/bench-row.js';

const REQUESTS = 50;
const ROUNDS = 3;

function runLoop(dir: string, base: string, listFile: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [benchFile('merge-loop.sh'), base, listFile], { cwd: dir, env: { ...process.env, ...fixedEnv(), LC_ALL: 'C' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`merge-loop.sh exited ${code}: ${err}`))));
  });
}

export async function run(): Promise<BenchRow[]> {
  const b = await makeBenchRepo();
  try {
    const shas = await makeRequests(b, REQUESTS, { prefix: 'accepted' });
    const listFile = await writeListFile(b.repo.dir, 'requests.txt', shas);
    const items = shas.map((sha, i) => ({ id: i + 1, sha, message: `Merge request ${sha}` }));
    const identity = { ...FIXTURE_IDENTITY, date: `${FIXED_EPOCH} +0000` };
    const ours: number[] = [];
    const loop: number[] = [];
    let oursSha = '';
    let loopSha = '';
    // Interleaved rounds, so drift in machine load hits both sides alike.
    for (let r = 0; r < ROUNDS; r++) {
      let t = performance.now();
      const built = await buildDeployBranch(b.repo.port, b.master, items, { identity });
      ours.push(performance.now() - t);
      if (!built.ok || built.merges.length !== REQUESTS) throw new Error('benchmark requests should all merge');
      oursSha = built.sha;
      t = performance.now();
      loopSha = await runLoop(b.repo.dir, b.master, listFile);
      loop.push(performance.now() - t);
    }
    // Same inputs, same identity and messages: both must make the very same commits.
    if (oursSha !== loopSha) throw new Error(`deploy tips differ: ${oursSha} vs ${loopSha}`);
    const value = median(ours);
    const baseline = median(loop);
    const ratio = value / baseline;
    return [
      {
        figure: `deploy-branch rebuild, ${REQUESTS} requests, 5,000 files / 2,000 commits`,
        value,
        unit: 'ms',
        baselineName: 'bash loop of merge-tree + commit-tree',
        baseline,
        ratio,
        target: 'ratio ≤ 1.3',
        pass: ratio <= 1.3,
      },
    ];
  } finally {
    await b.repo.cleanup();
  }
}

if (isMain(import.meta.url)) printRows(await run());
