// Conflict checks on real repos: master and pickme conflicts, pruning of unrelated pairs, caches,
// requests already in master, renames and submodules, awkward file names.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictChecker, type Candidate } from '../../../server/train/conflict-checker.js';
import { commitFiles, initRepo, numberedLines, type FixtureRepo } from '../../helpers/git-fixtures.js';

const WEIRD = ['a file with spaces.txt', 'quo"te\'s.txt', '$(touch pwned).sh', 'semi;colon.txt', 'ünïcødé/日本語.txt'];

let repo: FixtureRepo;
let base: string;
let master: string;

/** `path`'s base content with line `line` replaced. */
const edited = (path: string, line: number, text: string) => {
  const lines = numberedLines(path, 10).split('\n');
  lines[line - 1] = text;
  return lines.join('\n');
};

beforeEach(async () => {
  repo = await initRepo();
  const files: Record<string, string> = {};
  for (const p of ['a.txt', 'b.txt', 'c.txt', 'd.txt', ...WEIRD]) files[p] = numberedLines(p, 10);
  base = await commitFiles(repo.git, { files, message: 'base' });
  // Master moves on after the requests branched: it rewrote line 1 of d.txt.
  master = await commitFiles(repo.git, { parents: [base], files: { 'd.txt': edited('d.txt', 1, 'master was here') }, message: 'master', ref: 'refs/heads/master' });
});
const checkers: ConflictChecker[] = [];
/** A checker closed after the test (it keeps a merge process for small checks). */
const newChecker = () => {
  const c = new ConflictChecker(repo.git);
  checkers.push(c);
  return c;
};
afterEach(async () => {
  await Promise.all(checkers.splice(0).map((c) => c.close()));
  await repo.cleanup();
});

const req = async (id: number, files: Record<string, string | null | { submodule: string }>, parent = base): Promise<Candidate> => ({
  id,
  sha: await commitFiles(repo.git, { parents: [parent], files, message: `request ${id}`, epoch: 1_700_000_000 + id }),
});

describe('ConflictChecker', () => {
  it('finds a conflict with master, naming the file', async () => {
    const r = await req(1, { 'd.txt': edited('d.txt', 1, 'request 1 was here'), 'a.txt': edited('a.txt', 5, 'x') });
    const checker = newChecker();
    expect(await checker.checkOne(master, r, [])).toEqual([{ with: 'master', files: ['d.txt'] }]);
  });

  it('finds a pickme conflict between two requests that each merge with master, naming the file on both', async () => {
    const file = WEIRD[4]!;
    const r1 = await req(1, { [file]: edited(file, 3, 'one') });
    const r2 = await req(2, { [file]: edited(file, 3, 'two') });
    const r3 = await req(3, { 'b.txt': edited('b.txt', 3, 'three') });
    const checker = newChecker();
    const all = await checker.checkAll(master, [r1, r2, r3]);
    expect(all.get(1)).toEqual([{ with: 2, files: [file] }]);
    expect(all.get(2)).toEqual([{ with: 1, files: [file] }]);
    expect(all.get(3)).toEqual([]);
    expect(await checker.checkOne(master, r2, [r1, r3])).toEqual([{ with: 1, files: [file] }]);
  });

  it('does not trial-merge pairs that change different files, and trial-merges pairs on the same file', async () => {
    const rs = await Promise.all([
      req(1, { 'a.txt': edited('a.txt', 2, 'one') }),
      req(2, { 'b.txt': edited('b.txt', 2, 'two') }),
      req(3, { 'c.txt': edited('c.txt', 2, 'three') }),
      req(4, { 'a.txt': edited('a.txt', 8, 'four') }), // same file as 1, other line: merges cleanly
    ]);
    const checker = newChecker();
    const progress: [number, number][] = [];
    const all = await checker.checkAll(master, rs, (d, t) => progress.push([d, t]));
    expect([...all.values()].every((c) => c.length === 0)).toBe(true);
    expect(checker.stats.trialMerges).toBe(1);
    expect(checker.stats.prunedPairs).toBe(5);
    expect(checker.stats.masterMerges).toBe(4);
    expect(progress.at(-1)).toEqual([4 + 6, 4 + 6]);
  });

  it('answers a re-check from its caches without merging again', async () => {
    const r1 = await req(1, { 'a.txt': edited('a.txt', 2, 'one') });
    const r2 = await req(2, { 'a.txt': edited('a.txt', 2, 'two') });
    const checker = newChecker();
    const first = await checker.checkOne(master, r1, [r2]);
    const merges = { ...checker.stats };
    // The same pair asked from the other side is the same cached result.
    const again = await checker.checkOne(master, r2, [r1]);
    expect(first).toEqual([{ with: 2, files: ['a.txt'] }]);
    expect(again).toEqual([{ with: 1, files: ['a.txt'] }]);
    expect(checker.stats.trialMerges).toBe(merges.trialMerges);
    expect(checker.stats.masterMerges).toBe(merges.masterMerges);
    expect(checker.stats.pairCacheHits).toBe(1);
    expect(checker.stats.shaCacheHits).toBe(2);
    // A new pickme only costs its own merges.
    const r3 = await req(3, { 'a.txt': edited('a.txt', 9, 'three') });
    await checker.checkOne(master, r3, [r1, r2]);
    expect(checker.stats.masterMerges).toBe(merges.masterMerges + 1);
    expect(checker.stats.trialMerges).toBe(merges.trialMerges + 2);
  });

  it('reports nothing for a request already merged into master', async () => {
    const r1 = await req(1, { 'a.txt': edited('a.txt', 2, 'one') });
    const r2 = await req(2, { 'a.txt': edited('a.txt', 2, 'two') });
    const merged = await commitFiles(repo.git, { parents: [master, r1.sha], files: { 'a.txt': edited('a.txt', 2, 'one') }, message: 'merged 1' });
    const checker = newChecker();
    expect(await checker.checkOne(merged, r1, [r2])).toEqual([]);
    // …and it does not count as a conflict for the others (r2 now conflicts with master instead).
    expect(await checker.checkOne(merged, r2, [r1])).toEqual([{ with: 'master', files: ['a.txt'] }]);
    expect(checker.stats.trialMerges).toBe(0);
  });

  it('always trial-merges renames, even when the paths look disjoint', async () => {
    const r1 = await req(1, { 'a.txt': null, 'moved/a.txt': numberedLines('a.txt', 10) });
    const r2 = await req(2, { 'c.txt': edited('c.txt', 1, 'two') });
    const checker = newChecker();
    expect(await checker.checkOne(master, r1, [r2])).toEqual([]);
    expect(checker.stats.trialMerges).toBe(1);
    expect(checker.stats.prunedPairs).toBe(0);
  });

  it('detects a rename/modify clash and a submodule clash', async () => {
    const r1 = await req(1, { 'b.txt': null, 'renamed/b.txt': numberedLines('b.txt', 10) });
    const r2 = await req(2, { 'b.txt': null });
    const sub1 = await req(3, { vendor: { submodule: '1111111111111111111111111111111111111111' } });
    const sub2 = await req(4, { vendor: { submodule: '2222222222222222222222222222222222222222' } });
    const checker = newChecker();
    const all = await checker.checkAll(master, [r1, r2, sub1, sub2]);
    expect(all.get(1)).toEqual([{ with: 2, files: ['renamed/b.txt'] }]);
    expect(all.get(3)).toEqual([{ with: 4, files: ['vendor'] }]);
    expect(all.get(4)).toEqual([{ with: 3, files: ['vendor'] }]);
  });

  it('handles file names with spaces, quotes, $(...), ; and unicode', async () => {
    const rs: Candidate[] = [];
    for (const [k, w] of WEIRD.entries()) rs.push(await req(10 + k, { [w]: edited(w, 4, `first ${k}`) }));
    for (const [k, w] of WEIRD.entries()) rs.push(await req(20 + k, { [w]: edited(w, 4, `second ${k}`) }));
    const checker = newChecker();
    const all = await checker.checkAll(master, rs);
    for (const [k, w] of WEIRD.entries()) {
      expect(all.get(10 + k)).toEqual([{ with: 20 + k, files: [w] }]);
      expect(all.get(20 + k)).toEqual([{ with: 10 + k, files: [w] }]);
    }
    expect(checker.stats.trialMerges).toBe(WEIRD.length);
  });

  it('forgets the least recently used entries beyond its cache size', async () => {
    const r1 = await req(1, { 'a.txt': edited('a.txt', 2, 'one') });
    const r2 = await req(2, { 'a.txt': edited('a.txt', 2, 'two') });
    const r3 = await req(3, { 'a.txt': edited('a.txt', 2, 'three') });
    const checker = new ConflictChecker(repo.git, { cacheSize: 2 });
    await checker.checkAll(master, [r1, r2, r3]);
    const before = checker.stats.masterMerges;
    await checker.checkOne(master, r1, []);
    expect(checker.stats.masterMerges).toBe(before + 1);
  });
});
