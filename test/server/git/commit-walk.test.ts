// The in-process merge base and diff against the real thing: every answer the fast path gives is
// compared with `git merge-base --all` and `git diff-tree -r -M` on real repos, hand-made and random.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommitWalk, parseCommitObject, type ChangedPaths } from '../../../server/git/commit-walk.js';
import type { GitCli } from '../../../server/git/git-cli.js';
import { commitFiles, importCommits, initRepo, seededRandom, type FileChange, type FixtureRepo, type ImportCommit } from '../../helpers/git-fixtures.js';

let repo: FixtureRepo;
const walks: CommitWalk[] = [];
const newWalk = (opts: ConstructorParameters<typeof CommitWalk>[1] = {}) => {
  const w = new CommitWalk(repo.git, opts);
  walks.push(w);
  return w;
};
beforeAll(async () => {
  repo = await initRepo();
});
afterAll(async () => {
  for (const w of walks) w.close();
  await repo.cleanup();
});

async function gitBases(git: GitCli, master: string, sha: string): Promise<string[]> {
  const r = await git.run(['merge-base', '--all', master, sha], { okCodes: [1] });
  return r.stdout.split('\n').filter(Boolean).sort();
}

/** What ConflictChecker reads from `diff-tree -r -M`: every path named, risky on renames and submodules. */
async function gitDiff(git: GitCli, base: string, sha: string): Promise<ChangedPaths> {
  const r = await git.run(['diff-tree', '-r', '-z', '--raw', '-M', '--no-ext-diff', base, sha]);
  const tokens = r.stdout.split('\0');
  const paths = new Set<string>();
  let risky = false;
  for (let i = 0; i < tokens.length; ) {
    const t = tokens[i++]!;
    if (!t.startsWith(':')) continue;
    const [oldMode, newMode, , , status = ''] = t.slice(1).split(' ');
    const two = status.startsWith('R') || status.startsWith('C');
    paths.add(tokens[i++]!);
    if (two) paths.add(tokens[i++]!);
    if (two || oldMode === '160000' || newMode === '160000') risky = true;
  }
  return { paths, risky };
}

const sorted = (xs: readonly string[] | null) => (xs ? [...xs].sort() : xs);

/** The fast diff must name exactly git's paths, and be risky at least whenever git's is. */
async function expectSameDiff(w: CommitWalk, base: string, sha: string): Promise<ChangedPaths> {
  const fast = await w.changedPathsFast(base, sha);
  const git = await gitDiff(repo.git, base, sha);
  expect(fast).not.toBeNull();
  expect([...fast!.paths].sort()).toEqual([...git.paths].sort());
  if (git.risky) expect(fast!.risky).toBe(true);
  return fast!;
}

/** A linear chain of `n` commits on `ref`, each editing one file; returns their SHAs oldest first. */
function chain(n: number, tag: string, opts: { ref?: string; from?: string; epoch?: number } = {}): ImportCommit[] {
  return Array.from({ length: n }, (_, i) => ({
    ref: opts.ref,
    parents: i === 0 ? (opts.from ? [opts.from] : undefined) : undefined,
    files: { [`${tag}.txt`]: `${tag} ${i}\n` },
    message: `${tag} ${i}`,
    epoch: (opts.epoch ?? 1_700_000_000) + i,
  }));
}

describe('parseCommitObject', () => {
  it('reads tree and parents from the header only, skipping signature continuation lines', () => {
    const t = 'a'.repeat(40);
    const p1 = 'b'.repeat(40);
    const p2 = 'c'.repeat(40);
    const body = `tree ${t}\nparent ${p1}\nparent ${p2}\nauthor X <x> 1 +0000\ncommitter X <x> 1 +0000\ngpgsig -----BEGIN-----\n parent ${'d'.repeat(40)}\n -----END-----\n\nparent ${'e'.repeat(40)}\n`;
    expect(parseCommitObject(Buffer.from(body))).toEqual({ tree: t, parents: [p1, p2] });
    expect(() => parseCommitObject(Buffer.from('author X\n\n'))).toThrow();
  });
});

describe('CommitWalk.mergeBaseFast', () => {
  let m: string[];
  beforeAll(async () => {
    // Master: 12 linear commits.
    m = await importCommits(repo.git, chain(12, 'master', { ref: 'refs/heads/master' }));
  });

  it('finds the fork point of a branch made on an old master commit', async () => {
    const b = await importCommits(repo.git, chain(3, 'topic', { ref: 'refs/heads/topic', from: m[2]!, epoch: 1_800_000_000 }));
    const w = newWalk();
    expect(await w.mergeBaseFast(m[11]!, b[2]!)).toEqual([m[2]!]);
    expect(await gitBases(repo.git, m[11]!, b[2]!)).toEqual([m[2]!]);
  });

  it('answers [sha] for a SHA already in master, and for master itself', async () => {
    const w = newWalk();
    for (const sha of [m[4]!, m[11]!, m[0]!]) {
      expect(await w.mergeBaseFast(m[11]!, sha)).toEqual([sha]);
      expect(await gitBases(repo.git, m[11]!, sha)).toEqual([sha]);
    }
  });

  it('takes the later master commit when the branch merged master in', async () => {
    const [b1, merge, b3] = await importCommits(repo.git, [
      { ref: 'refs/heads/merger', parents: [m[1]!], files: { 'merger.txt': '1\n' }, message: 'merger 1' },
      { ref: 'refs/heads/merger', parents: [':1', m[8]!], files: { 'merger.txt': '2\n' }, message: 'merge master' },
      { ref: 'refs/heads/merger', files: { 'merger.txt': '3\n' }, message: 'merger 3' },
    ]);
    const w = newWalk();
    for (const sha of [merge!, b3!]) {
      expect(await w.mergeBaseFast(m[11]!, sha)).toEqual([m[8]!]);
      expect(await gitBases(repo.git, m[11]!, sha)).toEqual([m[8]!]);
    }
    expect(await w.mergeBaseFast(m[11]!, b1!)).toEqual([m[1]!]);
  });

  it('gives git’s answer on a criss-cross merge (two bases)', async () => {
    const [x1, y1, x2, y2] = await importCommits(repo.git, [
      { ref: 'refs/heads/x', parents: [m[3]!], files: { 'x.txt': 'x1\n' }, message: 'x1' },
      { ref: 'refs/heads/y', parents: [m[3]!], files: { 'y.txt': 'y1\n' }, message: 'y1' },
      { ref: 'refs/heads/x', parents: [':1', ':2'], files: { 'x.txt': 'x2\n' }, message: 'x2' },
      { ref: 'refs/heads/y', parents: [':2', ':1'], files: { 'y.txt': 'y2\n' }, message: 'y2' },
    ]);
    const git = await gitBases(repo.git, x2!, y2!);
    expect(git).toEqual([x1!, y1!].sort());
    const fast = await newWalk().mergeBaseFast(x2!, y2!);
    if (fast !== null) expect(sorted(fast)).toEqual(git);
  });

  it('answers [] for unrelated history with a complete window, and asks git when the window is truncated', async () => {
    const u = await importCommits(repo.git, chain(4, 'unrelated', { ref: 'refs/heads/unrelated' }));
    expect(await gitBases(repo.git, m[11]!, u[3]!)).toEqual([]);
    expect(await newWalk().mergeBaseFast(m[11]!, u[3]!)).toEqual([]);
    // 5 of master's 12 commits: the unrelated root could be one of the 7 beyond the window.
    expect(await newWalk({ windowCap: 5 }).mergeBaseFast(m[11]!, u[3]!)).toBeNull();
  });

  it('stays exact with a truncated window: answers within it, asks git beyond it', async () => {
    const w = newWalk({ windowCap: 5 });
    const recent = await importCommits(repo.git, chain(2, 'recent', { ref: 'refs/heads/recent', from: m[9]! }));
    const old = await importCommits(repo.git, chain(2, 'old', { ref: 'refs/heads/old', from: m[2]! }));
    expect(await w.mergeBaseFast(m[11]!, recent[1]!)).toEqual([m[9]!]);
    expect(await w.mergeBaseFast(m[11]!, old[1]!)).toBeNull();
    // An old master commit itself: beyond the window, so the walk goes down to the root and gives up.
    expect(await w.mergeBaseFast(m[11]!, m[1]!)).toBeNull();
  });

  it('asks git when the branch is deeper than the walk limit', async () => {
    const deep = await importCommits(repo.git, chain(30, 'deep', { ref: 'refs/heads/deep', from: m[5]! }));
    expect(await newWalk({ walkLimit: 20 }).mergeBaseFast(m[11]!, deep[29]!)).toBeNull();
    expect(await newWalk({ walkLimit: 40 }).mergeBaseFast(m[11]!, deep[29]!)).toEqual([m[5]!]);
  });

  it('asks git for a tag, a missing object or a name that is not a full SHA', async () => {
    await repo.git.run(['tag', '-a', '-m', 'a tag', 'v1', m[3]!]);
    const tag = await repo.git.out(['rev-parse', 'v1']);
    const w = newWalk();
    expect(await w.mergeBaseFast(m[11]!, tag)).toBeNull();
    expect(await w.mergeBaseFast(m[11]!, 'f'.repeat(40))).toBeNull();
    expect(await w.mergeBaseFast(m[11]!, 'master')).toBeNull();
    // …and the walk still works afterwards.
    expect(await w.mergeBaseFast(m[11]!, m[3]!)).toEqual([m[3]!]);
  });
});

describe('CommitWalk.isAncestorFast (a re-push: does the new SHA descend from the request\'s?)', () => {
  let m: string[];
  beforeAll(async () => {
    m = await importCommits(repo.git, chain(6, 'anc', { ref: 'refs/heads/anc' }));
  });
  const gitIsAncestor = async (a: string, d: string) => (await repo.git.run(['merge-base', '--is-ancestor', a, d], { okCodes: [1] })).exitCode === 0;

  it('says yes in-process for a fast-forward a few commits down, through a merge, and for the commit itself', async () => {
    const [side, merge] = await importCommits(repo.git, [
      { ref: 'refs/heads/anc-side', parents: [m[1]!], files: { 'side.txt': 's\n' }, message: 'side' },
      { ref: 'refs/heads/anc-merge', parents: [m[5]!, ':1'], files: { 'merge.txt': 'm\n' }, message: 'merge' },
    ]);
    const w = newWalk();
    for (const [a, d] of [[m[4]!, m[5]!], [m[0]!, m[5]!], [side!, merge!], [m[1]!, merge!], [m[3]!, m[3]!]] as const) {
      expect(await gitIsAncestor(a, d)).toBe(true);
      expect(await w.isAncestorFast(a, d)).toBe(true);
    }
  });

  it('leaves every "no" to git, and what it cannot read or reach within the walk limit', async () => {
    const w = newWalk({ walkLimit: 3 });
    // Not an ancestor: only a walk to the roots could prove it.
    expect(await gitIsAncestor(m[5]!, m[4]!)).toBe(false);
    expect(await w.isAncestorFast(m[5]!, m[4]!)).toBeNull();
    // Five commits down, past the limit of 3.
    expect(await w.isAncestorFast(m[0]!, m[5]!)).toBeNull();
    expect(await w.isAncestorFast(m[3]!, m[5]!)).toBe(true);
    // Missing objects, a tag, a name that is not a full SHA.
    await repo.git.run(['tag', '-a', '-m', 'anc tag', 'anc-v1', m[2]!]);
    const tag = await repo.git.out(['rev-parse', 'anc-v1']);
    expect(await w.isAncestorFast('f'.repeat(40), m[5]!)).toBeNull();
    expect(await w.isAncestorFast(m[4]!, 'f'.repeat(40))).toBeNull();
    expect(await w.isAncestorFast(tag, tag)).toBeNull();
    expect(await w.isAncestorFast('anc', m[5]!)).toBeNull();
    expect(await w.isAncestorFast(m[4]!, m[5]!)).toBe(true);
  });
});

describe('CommitWalk.changedPathsFast', () => {
  let base: string;
  beforeAll(async () => {
    base = await commitFiles(repo.git, {
      files: { 'top.txt': 't\n', 'a/b/c.txt': 'c\n', 'a/b/d.txt': 'd\n', 'a/e.txt': 'e\n', 'file-then-dir': 'f\n', 'dir-then-file/x.txt': 'x\n', 'dir-then-file/y/z.txt': 'z\n', 'moved.txt': 'some content that is long enough to be recognised as a rename\n'.repeat(5) },
      message: 'diff base',
    });
  });
  const after = (files: Record<string, FileChange>, message: string) => commitFiles(repo.git, { parents: [base], files, message });

  it('names changed files in nested directories and nothing else', async () => {
    const sha = await after({ 'a/b/c.txt': 'c2\n', 'a/b/new.txt': 'n\n' }, 'nested');
    const d = await expectSameDiff(newWalk(), base, sha);
    expect([...d.paths].sort()).toEqual(['a/b/c.txt', 'a/b/new.txt']);
    expect(d.risky).toBe(false);
  });

  it('counts a mode change as a change', async () => {
    const sha = await after({ 'a/e.txt': { content: 'e\n', executable: true } }, 'chmod');
    const d = await expectSameDiff(newWalk(), base, sha);
    expect([...d.paths]).toEqual(['a/e.txt']);
    expect(d.risky).toBe(false);
  });

  it('lists both sides of a file replaced by a directory and of a directory replaced by a file, as risky', async () => {
    const sha = await after({ 'file-then-dir': null, 'file-then-dir/inner.txt': 'i\n', 'dir-then-file/x.txt': null, 'dir-then-file/y/z.txt': null, 'dir-then-file': 'now a file\n' }, 'file <-> dir');
    const d = await expectSameDiff(newWalk(), base, sha);
    expect([...d.paths].sort()).toEqual(['dir-then-file', 'dir-then-file/x.txt', 'dir-then-file/y/z.txt', 'file-then-dir', 'file-then-dir/inner.txt']);
    expect(d.risky).toBe(true);
  });

  it('marks a deletion with an addition risky (a rename git would see), a deletion alone not', async () => {
    const renamed = await after({ 'moved.txt': null, 'a/moved.txt': 'some content that is long enough to be recognised as a rename\n'.repeat(5) }, 'rename');
    const d = await expectSameDiff(newWalk(), base, renamed);
    expect((await gitDiff(repo.git, base, renamed)).risky).toBe(true);
    expect([...d.paths].sort()).toEqual(['a/moved.txt', 'moved.txt']);
    const deleted = await after({ 'a/b/d.txt': null }, 'delete');
    expect((await expectSameDiff(newWalk(), base, deleted)).risky).toBe(false);
  });

  it('marks a submodule entry risky', async () => {
    const sha = await after({ vendor: { submodule: '1'.repeat(40) } }, 'submodule');
    const d = await expectSameDiff(newWalk(), base, sha);
    expect([...d.paths]).toEqual(['vendor']);
    expect(d.risky).toBe(true);
  });

  it('names a file that became a symlink (and calls it risky, to be safe)', async () => {
    const sha = await after({ 'top.txt': { symlink: 'a/e.txt' } }, 'symlink');
    const d = await expectSameDiff(newWalk(), base, sha);
    expect([...d.paths]).toEqual(['top.txt']);
    expect(d.risky).toBe(true);
  });

  it('is empty for identical trees, and asks git past its tree limit', async () => {
    const same = await commitFiles(repo.git, { parents: [base], files: {}, message: 'no change' });
    const d = await expectSameDiff(newWalk(), base, same);
    expect(d.paths.size).toBe(0);
    const sha = await after({ 'a/b/c.txt': 'c3\n' }, 'deep edit');
    expect(await newWalk({ treeLimit: 3 }).changedPathsFast(base, sha)).toBeNull();
  });
});

describe('CommitWalk on random histories', () => {
  // Processes are what is slow here: all histories go in one fast-import, and each history asks
  // one master about a few SHAs (one rev-list per master, one merge-base per question).
  it('agrees with git whenever it answers (seeded)', { timeout: 180_000 }, async () => {
    const PATHS = ['a.txt', 'd1/b.txt', 'd1/d2/c.txt', 'd1/d2/d3/e.txt', 'x', 'x/y.txt', 'z/q.txt', 'z'];
    const HISTORIES = 24;
    const commits: ImportCommit[] = [];
    const ranges: [number, number][] = [];
    for (let seed = 1; seed <= HISTORIES; seed++) {
      const rnd = seededRandom(seed);
      const first = commits.length;
      const n = 12 + Math.floor(rnd() * 14);
      for (let i = 0; i < n; i++) {
        const files: Record<string, FileChange> = {};
        for (let k = 0, edits = 1 + Math.floor(rnd() * 3); k < edits; k++) {
          const p = PATHS[Math.floor(rnd() * PATHS.length)]!;
          const r = rnd();
          files[p] = r < 0.15 ? null : r < 0.25 ? { content: `${seed}.${i}\n`, executable: true } : r < 0.3 ? { symlink: `t${i}` } : `${seed}.${i}.${k}\n`;
        }
        // fast-import cannot hold a file and a directory of the same name at once: keep only one.
        if ('x' in files && 'x/y.txt' in files) delete files['x'];
        if ('z' in files && 'z/q.txt' in files) delete files['z'];
        const r = rnd();
        const mark = () => `:${first + 1 + Math.floor(rnd() * i)}`;
        const parents = i === 0 || r < 0.05 ? [] : r < 0.5 && i > 1 ? [mark(), mark()] : [mark()];
        // Skewed dates on purpose: the window's topological order must not depend on them.
        commits.push({ ref: `refs/random/${seed}/${i}`, parents: [...new Set(parents)], files, message: `random ${seed} ${i}`, epoch: 1_700_000_000 + Math.floor(rnd() * 1000) });
      }
      ranges.push([first, commits.length]);
    }
    const shas = await importCommits(repo.git, commits);
    const walks = [newWalk({ windowCap: 4 }), newWalk({ windowCap: 10, walkLimit: 6 }), newWalk()];
    let answered = 0;
    let asked = 0;
    let multi = 0;
    let diffs = 0;
    for (const [h, [first, end]] of ranges.entries()) {
      const rnd = seededRandom(1000 + h);
      const pick = () => shas[first + Math.floor(rnd() * (end - first))]!;
      const walk = walks[h % walks.length]!;
      // The last commits of a history are the likeliest to have merges below them.
      const master = shas[end - 1 - Math.floor(rnd() * 3)]!;
      for (let q = 0; q < 5; q++) {
        // Now and then a SHA from another history: unrelated.
        const sha = q === 4 && h > 0 ? shas[Math.floor(rnd() * first)]! : pick();
        const fast = await walk.mergeBaseFast(master, sha);
        const git = await gitBases(repo.git, master, sha);
        if (fast === null) {
          asked++;
          continue;
        }
        answered++;
        if (fast.length > 1) multi++;
        expect(sorted(fast), `history ${h}: merge-base ${master} ${sha}`).toEqual(git);
        if (fast.length === 1 && fast[0] !== sha) {
          await expectSameDiff(walk, fast[0]!, sha);
          diffs++;
        }
      }
    }
    // The fast path must actually be exercised, multi-base answers included, not just fall back.
    expect(answered, JSON.stringify({ answered, asked, multi, diffs })).toBeGreaterThan(40);
    expect(asked).toBeGreaterThan(3);
    expect(diffs).toBeGreaterThan(15);
    expect(multi, JSON.stringify({ answered, asked, multi, diffs })).toBeGreaterThan(1);
  });
});
