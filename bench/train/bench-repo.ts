// The benchmark repository: a generated history of ~5,000 files and ~2,000 commits, plus request
// branches made in one fast-import run. Deterministic (seeded), so every run measures the same work.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateLargeRepo, importCommits, initRepo, numberedLines, readFiles, seededRandom, type FixtureRepo } from '../../test/helpers/git-fixtures.js';

export interface BenchRepo {
  readonly repo: FixtureRepo;
  readonly master: string;
  readonly paths: readonly string[];
}

export async function makeBenchRepo(): Promise<BenchRepo> {
  const repo = await initRepo();
  const { master, paths } = await generateLargeRepo(repo.git, { files: 5000, commits: 2000, seed: 7 });
  return { repo, master, paths };
}

/**
 * `count` request branches off master, each editing one line of its own file plus, when
 * `hotFiles` > 0, one line of one of that many shared files (so about 1/hotFiles of the pairs
 * touch a common file, and some of those the same line: real conflicts).
 */
export async function makeRequests(b: BenchRepo, count: number, opts: { hotFiles?: number; seed?: number; prefix?: string } = {}): Promise<string[]> {
  const rnd = seededRandom(opts.seed ?? 1);
  const hot = opts.hotFiles ?? 0;
  // Own files from the upper half of the tree and hot files from the lower half never coincide.
  const own = (i: number) => b.paths[Math.floor(b.paths.length / 2) + ((i * 37) % Math.floor(b.paths.length / 2))]!;
  const hotPath = (k: number) => b.paths[k * 101]!;
  const needed = new Set<string>();
  for (let i = 0; i < count; i++) needed.add(own(i));
  for (let k = 0; k < hot; k++) needed.add(hotPath(k));
  // Edits start from master's content (the generated history rewrote some files), so a request
  // changes exactly one line of each file it touches.
  const current = await readFiles(b.repo.git, b.master, [...needed]);
  const edit = (path: string, line: number, tag: string) => {
    const lines = (current.get(path) ?? numberedLines(path, 20)).split('\n');
    lines[line - 1] = tag;
    return lines.join('\n');
  };
  const commits = Array.from({ length: count }, (_, i) => {
    const files: Record<string, string> = {};
    const mine = own(i);
    files[mine] = edit(mine, 1 + (i % 20), `${opts.prefix ?? 'request'} ${i} own edit`);
    if (hot > 0) {
      const h = hotPath(Math.floor(rnd() * hot));
      files[h] = edit(h, 1 + Math.floor(rnd() * 20), `${opts.prefix ?? 'request'} ${i} hot edit`);
    }
    return { ref: `refs/heads/${opts.prefix ?? 'request'}/${i}`, parents: [b.master], files, message: `request ${i}` };
  });
  return importCommits(b.repo.git, commits);
}

/** A file next to this module, also when running from the compiled dist/ tree. */
export function benchFile(name: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, name), resolve(here, '../../../bench/train', name)];
  return candidates.find((p) => existsSync(p)) ?? candidates[0]!;
}
