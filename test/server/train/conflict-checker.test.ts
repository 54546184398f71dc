// Conflict checks on real repos: master and pickme conflicts, pruning of unrelated pairs, caches,
// requests already in master, renames and submodules, awkward file names; who a pair conflict is
// charged to (the request already in the deploy branch wins; a request in conflict with master is
// judged against master only); the submodule fast-forward guard.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliGitRepo, type CliGitRepoOptions } from '../../../server/git/cli-git-repo.js';
import { ConflictChecker, UNRELATED_HISTORY, type Candidate } from '../../../server/train/conflict-checker.js';
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
const ports = new Map<ConflictChecker, CliGitRepo>();
/**
 * A checker on a repository of its own (the CLI GitRepo, with or without its in-process fast paths),
 * both closed after the test (they keep a merge process for small checks and a cat-file process).
 */
const newChecker = (opts: ConstructorParameters<typeof ConflictChecker>[1] & CliGitRepoOptions = {}) => {
  const port = new CliGitRepo(repo.git, repo.dir, { fastPaths: opts.fastPaths });
  const c = new ConflictChecker(port, opts);
  checkers.push(c);
  ports.set(c, port);
  return c;
};
/** The checker's counts and its repository's (how merge bases and changed paths were answered). */
const statsOf = (c: ConflictChecker) => ({ ...c.stats, ...ports.get(c)!.stats });
afterEach(async () => {
  await Promise.all(checkers.splice(0).map((c) => c.close()));
  await Promise.all([...ports.values()].map((p) => p.close()));
  ports.clear();
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
    const checker = newChecker({ cacheSize: 2 });
    await checker.checkAll(master, [r1, r2, r3]);
    const before = checker.stats.masterMerges;
    await checker.checkOne(master, r1, []);
    expect(checker.stats.masterMerges).toBe(before + 1);
  });

  it('finds merge bases and changed paths in-process, with the same results as asking git', async () => {
    const rs = [
      await req(1, { 'd.txt': edited('d.txt', 1, 'one'), 'a.txt': edited('a.txt', 2, 'one') }), // conflicts with master
      await req(2, { 'a.txt': edited('a.txt', 2, 'two') }), // pickme conflict with 1
      await req(3, { 'b.txt': edited('b.txt', 5, 'three') }),
      await req(4, { 'c.txt': null, 'moved/c.txt': numberedLines('c.txt', 10) }), // a rename: risky
      await req(5, { vendor: { submodule: '3'.repeat(40) } }),
    ];
    // One branch merged master in (its base is master itself), one is already in master.
    rs.push({ id: 6, sha: await commitFiles(repo.git, { parents: [rs[2]!.sha, master], files: { 'b.txt': edited('b.txt', 5, 'six') }, message: 'merged master' }) });
    rs.push({ id: 7, sha: base });
    const fast = newChecker();
    const slow = newChecker({ fastPaths: false });
    const a = await fast.checkAll(master, rs);
    const b = await slow.checkAll(master, rs);
    expect(a).toEqual(b);
    // 1 conflicts with master: it is judged against master only, and 2 is not charged with it.
    expect(a.get(1)).toEqual([{ with: 'master', files: ['d.txt'] }]);
    expect(a.get(2)).toEqual([]);
    expect(statsOf(fast)).toMatchObject({ fastMergeBases: 7, gitMergeBases: 0, fastDiffs: 6, gitDiffs: 0 });
    expect(statsOf(slow)).toMatchObject({ fastMergeBases: 0, gitMergeBases: 7, fastDiffs: 0, gitDiffs: 6 });
    // Same pruning: the in-process diff's risky flags and path sets agree with diff-tree's here.
    expect({ ...statsOf(fast), fastMergeBases: 0, gitMergeBases: 0, fastDiffs: 0, gitDiffs: 0 }).toEqual({ ...statsOf(slow), fastMergeBases: 0, gitMergeBases: 0, fastDiffs: 0, gitDiffs: 0 });
    // A checker used again after close() starts its processes again.
    await fast.close();
    const r8 = await req(8, { 'c.txt': edited('c.txt', 3, 'eight') });
    expect(await fast.checkOne(master, r8, rs)).toEqual(await slow.checkOne(master, r8, rs));
    expect(statsOf(fast).fastMergeBases).toBe(8);
  });

  it('matches git on a criss-cross (two bases: changed paths from diff-tree) and on unrelated history', async () => {
    const x1 = await commitFiles(repo.git, { parents: [base], files: { 'a.txt': edited('a.txt', 3, 'x1') }, message: 'x1' });
    const y1 = await commitFiles(repo.git, { parents: [base], files: { 'b.txt': edited('b.txt', 3, 'y1') }, message: 'y1' });
    const x2 = await commitFiles(repo.git, { parents: [x1, y1], files: { 'c.txt': edited('c.txt', 3, 'x2') }, message: 'x2' });
    const y2 = await commitFiles(repo.git, { parents: [y1, x1], files: { 'c.txt': edited('c.txt', 3, 'y2') }, message: 'y2' });
    const rs: Candidate[] = [{ id: 1, sha: y2 }, await req(3, { 'c.txt': edited('c.txt', 3, 'three') })];
    const fast = newChecker();
    const slow = newChecker({ fastPaths: false });
    expect(await fast.checkAll(x2, rs)).toEqual(await slow.checkAll(x2, rs));
    expect(statsOf(fast)).toMatchObject({ fastMergeBases: 2, gitMergeBases: 0, fastDiffs: 1, gitDiffs: 1 });
    // Unrelated history is a conflict with master, found without any merge-base process.
    const unrelated: Candidate = { id: 2, sha: await commitFiles(repo.git, { files: { 'a.txt': 'other\n' }, message: 'unrelated root' }) };
    expect(await fast.checkOne(x2, unrelated, [])).toEqual(await slow.checkOne(x2, unrelated, []));
    expect(await fast.checkOne(x2, unrelated, [])).toEqual([{ with: 'master', files: [], reason: UNRELATED_HISTORY }]);
    expect(statsOf(fast).fastMergeBases).toBe(3);
    // Beside others (git refuses to merge unrelated histories at all): its conflict is with master only,
    // and the others' checks go through.
    const other: Candidate = { id: 3, sha: await commitFiles(repo.git, { parents: [x2], files: { 'a.txt': 'other\n' }, message: 'a request on master' }) };
    for (const c of [fast, slow]) {
      expect(await c.checkOne(x2, unrelated, [other])).toEqual([{ with: 'master', files: [], reason: UNRELATED_HISTORY }]);
      expect(await c.checkOne(x2, other, [unrelated])).toEqual([]);
      const all = await c.checkAll(x2, [other, unrelated]);
      expect([all.get(3), all.get(2)]).toEqual([[], [{ with: 'master', files: [], reason: UNRELATED_HISTORY }]]);
    }
  });

  it('charges a pair conflict to the pickme, not to the request already in the deploy branch (both merged: the later one)', async () => {
    const r1 = await req(1, { 'a.txt': edited('a.txt', 2, 'one') });
    const r2 = await req(2, { 'a.txt': edited('a.txt', 2, 'two') });
    const r3 = await req(3, { 'a.txt': edited('a.txt', 2, 'three') });
    const checker = newChecker();
    // 1 is accepted (first in the deploy branch), 2 and 3 are pickmes: both are told, naming 1 and each other; 1 is not.
    const accepted1 = { ...r1, merged: 0 };
    const all = await checker.checkAll(master, [accepted1, r2, r3]);
    expect(all.get(1)).toEqual([]);
    expect(all.get(2)).toEqual([{ with: 1, files: ['a.txt'] }, { with: 3, files: ['a.txt'] }]);
    expect(all.get(3)).toEqual([{ with: 1, files: ['a.txt'] }, { with: 2, files: ['a.txt'] }]);
    // The pusher's own check says the same from either side.
    expect(await checker.checkOne(master, accepted1, [r2, r3])).toEqual([]);
    expect(await checker.checkOne(master, r2, [accepted1, r3])).toEqual([{ with: 1, files: ['a.txt'] }, { with: 3, files: ['a.txt'] }]);
    // Two in the deploy branch (a re-push made them clash): the later one in merge order is charged.
    const both = await checker.checkAll(master, [{ ...r2, merged: 1 }, accepted1]);
    expect([both.get(1), both.get(2)]).toEqual([[], [{ with: 1, files: ['a.txt'] }]]);
    expect(await checker.checkOne(master, accepted1, [{ ...r2, merged: 1 }])).toEqual([]);
  });

  it('does not charge a rename-only or submodule-only pickme with a partner\'s own conflict with master', async () => {
    // q branched before master rewrote d.txt's first line and rewrites it too: its conflict is with master.
    const q = await req(1, { 'd.txt': edited('d.txt', 1, 'request 1 was here') });
    // p and s branched from today's master and touch nothing of q's: one renames a file, one adds a submodule.
    const p = await req(2, { 'c.txt': null, 'moved/c.txt': numberedLines('c.txt', 10) }, master);
    const s = await req(3, { vendor: { submodule: '4'.repeat(40) } }, master);
    // r really conflicts with q, but q is judged against master only (as the original did): r stays clean.
    const r = await req(4, { 'd.txt': edited('d.txt', 1, 'request 4 was here') }, master);
    for (const checker of [newChecker(), newChecker({ fastPaths: false })]) {
      const all = await checker.checkAll(master, [q, p, s, r]);
      expect(all.get(1)).toEqual([{ with: 'master', files: ['d.txt'] }]);
      expect(all.get(2)).toEqual([]);
      expect(all.get(3)).toEqual([]);
      expect(all.get(4)).toEqual([]);
      expect(await checker.checkOne(master, p, [q, s, r])).toEqual([]);
      expect(await checker.checkOne(master, q, [p, s, r])).toEqual([{ with: 'master', files: ['d.txt'] }]);
    }
  });

  describe('submodule guard', () => {
    // The submodule's history, made available in the checked repo under a ref of its own (as an
    // operator's mirror would): s0 - m - ff, and a side branch s0 - side.
    let s0: string;
    let m: string;
    let ff: string;
    let side: string;
    let withSub: string;
    const sub = (sha: string) => ({ 'lib/sub': { submodule: sha } });
    beforeEach(async () => {
      s0 = await commitFiles(repo.git, { files: { 'x.c': 'zero\n' }, message: 'sub: zero' });
      m = await commitFiles(repo.git, { parents: [s0], files: { 'x.c': 'master\n' }, message: 'sub: master' });
      ff = await commitFiles(repo.git, { parents: [m], files: { 'x.c': 'forward\n' }, message: 'sub: forward', ref: 'refs/submodules/sub/forward' });
      side = await commitFiles(repo.git, { parents: [s0], files: { 'x.c': 'side\n' }, message: 'sub: side', ref: 'refs/submodules/sub/side' });
      // Master points lib/sub at m.
      withSub = await commitFiles(repo.git, { parents: [master], files: sub(m), message: 'add submodule', ref: 'refs/heads/master' });
    });
    const short = (sha: string) => sha.slice(0, 12);

    it('passes a fast-forward bump; a sideways move or a rewind is a conflict with master naming the path and both SHAs', async () => {
      const bump = await req(1, sub(ff), withSub);
      const sideways = await req(2, sub(side), withSub);
      const rewind = await req(3, { ...sub(s0), 'a.txt': edited('a.txt', 1, 'three') }, withSub);
      const same = await req(4, { 'b.txt': edited('b.txt', 1, 'four') }, withSub);
      for (const checker of [newChecker(), newChecker({ fastPaths: false })]) {
        const all = await checker.checkAll(withSub, [bump, sideways, rewind, same]);
        expect(all.get(1)).toEqual([]);
        expect(all.get(2)).toEqual([{ with: 'master', files: ['lib/sub'], reason: `Submodule lib/sub is not a fast-forward of ${short(m)} (master's commit): the request moves it to ${short(side)}` }]);
        expect(all.get(3)).toEqual([{ with: 'master', files: ['lib/sub'], reason: `Submodule lib/sub is not a fast-forward of ${short(m)} (master's commit): the request moves it to ${short(s0)}` }]);
        expect(all.get(4)).toEqual([]);
        expect(await checker.checkOne(withSub, sideways, [])).toEqual(all.get(2));
      }
    });

    it('counts a move to a commit the repository does not hold as a conflict with master (it cannot be shown to be a fast-forward)', async () => {
      const missing = 'e'.repeat(40);
      const r = await req(1, sub(missing), withSub);
      // Master's own commit missing while the request's is there: m is not in ff's history, so not a fast-forward.
      const gone = 'd'.repeat(40);
      const onGone = await commitFiles(repo.git, { parents: [withSub], files: sub(gone), message: 'master moves lib/sub to a commit it does not hold' });
      const r2 = await req(2, sub(ff), onGone);
      const checker = newChecker();
      expect(await checker.checkOne(withSub, r, [])).toEqual([
        { with: 'master', files: ['lib/sub'], reason: `Submodule lib/sub moves to ${short(missing)}, which the managed repository does not hold: it cannot be shown to be a fast-forward of ${short(m)} (master's commit)` },
      ]);
      expect(await checker.checkOne(onGone, r2, [])).toEqual([
        { with: 'master', files: ['lib/sub'], reason: `Submodule lib/sub is not a fast-forward of ${short(gone)} (master's commit): the request moves it to ${short(ff)}` },
      ]);
      // A submodule that master does not have yet is new, not moved: nothing to fast-forward.
      expect(await checker.checkOne(master, await req(3, { vendor: { submodule: missing } }, master), [])).toEqual([]);
    });
  });
});
