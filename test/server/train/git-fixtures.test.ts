// The fixture helpers other tests rely on: deterministic SHAs, awkward paths, bulk import, LRU bounds.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitFiles, importCommits, initRepo, readFiles, type FixtureRepo } from '../../helpers/git-fixtures.js';

const PATHS = ['a file with spaces.txt', 'quo"te\'s.txt', '$(touch pwned).sh', 'semi;colon.txt', 'ünïcødé/日本語.txt', 'back\\slash'];
let repos: FixtureRepo[] = [];
const repo = async () => {
  const r = await initRepo();
  repos.push(r);
  return r;
};
beforeEach(() => {
  repos = [];
});
afterEach(() => Promise.all(repos.map((r) => r.cleanup())));

describe('git fixtures', () => {
  it('give the same SHAs in different repos, whether written with plumbing or fast-import', async () => {
    const files = Object.fromEntries(PATHS.map((p) => [p, `content of ${p}\n`]));
    const [r1, r2] = [await repo(), await repo()];
    const viaPlumbing = await commitFiles(r1.git, { files, message: 'same' });
    const [viaImport] = await importCommits(r2.git, [{ files, message: 'same' }]);
    expect(viaImport).toBe(viaPlumbing);
    const read = await readFiles(r1.git, viaPlumbing, [...PATHS, 'missing']);
    for (const p of PATHS) expect(read.get(p)).toBe(`content of ${p}\n`);
    expect(read.get('missing')).toBeNull();
    // fast-import's scratch ref is gone, and no other ref was written.
    expect(await r2.git.out(['for-each-ref'])).toBe('');
  });

  it('import parents by mark, deletions and submodules', async () => {
    const r = await repo();
    const [c1, c2] = await importCommits(r.git, [
      { ref: 'refs/heads/master', files: { keep: 'k\n', gone: 'g\n' } },
      { ref: 'refs/heads/master', parents: [':1'], files: { gone: null, sub: { submodule: '1'.repeat(40) } }, epoch: 1_700_000_001 },
    ]);
    expect(await r.git.out(['rev-parse', `${c2}^`])).toBe(c1);
    expect(await r.git.out(['ls-tree', '--name-only', c2!])).toBe('keep\nsub');
    expect(await r.git.out(['ls-tree', c2!, 'sub'])).toBe(`160000 commit ${'1'.repeat(40)}\tsub`);
    expect(await r.git.resolve('refs/heads/master')).toBe(c2);
  });
});
