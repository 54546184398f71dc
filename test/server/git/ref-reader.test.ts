// Reading refs from the ref files agrees with git, loose or packed, through pack-refs, updates and
// deletions; what the files cannot say (symbolic refs) is left to git.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePackedRefs, readRefSync } from '../../../server/git/ref-reader.js';
import { commitFiles, initRepo, type FixtureRepo } from '../../helpers/git-fixtures.js';

describe('readRefSync', () => {
  let repo: FixtureRepo;
  let a: string;
  let b: string;
  beforeEach(async () => {
    repo = await initRepo();
    a = await commitFiles(repo.git, { files: { 'a.txt': 'a\n' }, ref: 'refs/heads/master' });
    b = await commitFiles(repo.git, { parents: [a], files: { 'b.txt': 'b\n' }, ref: 'refs/pushreq/topic' });
  });
  afterEach(async () => repo.cleanup());

  const gitSays = async (ref: string) => {
    const r = await repo.git.run(['rev-parse', '--verify', '-q', ref], { okCodes: [1] });
    return r.exitCode === 0 ? r.stdout.trim() : null;
  };
  const agree = async (refs: readonly string[]) => {
    for (const ref of refs) expect(readRefSync(repo.dir, ref), ref).toBe(await gitSays(ref));
  };

  it('reads loose refs, and says null for a ref that does not exist', async () => {
    await agree(['refs/heads/master', 'refs/pushreq/topic', 'refs/pushreq/none', 'refs/heads/master/below']);
  });

  it('reads packed refs, then a loose update over a packed one, then deletions of either', async () => {
    await repo.git.run(['pack-refs', '--all', '--prune']);
    await agree(['refs/heads/master', 'refs/pushreq/topic']);
    await repo.git.run(['update-ref', 'refs/pushreq/topic', a, b]); // loose now, stale in packed-refs
    await agree(['refs/pushreq/topic']);
    await repo.git.run(['pack-refs', '--all', '--prune']);
    await agree(['refs/pushreq/topic']);
    await repo.git.run(['update-ref', '-d', 'refs/pushreq/topic']); // packed-refs rewritten without it
    await agree(['refs/pushreq/topic', 'refs/heads/master']);
    await repo.git.run(['update-ref', 'refs/pushreq/other', b]);
    await repo.git.run(['update-ref', '-d', 'refs/pushreq/other']); // loose only
    await agree(['refs/pushreq/other']);
  });

  it('gives an annotated tag the tag object, as the ref holds it, not the peeled commit', async () => {
    await repo.git.run(['tag', '-a', '-m', 'release', 'push-1', a]);
    const tagObject = await repo.git.out(['rev-parse', 'refs/tags/push-1']);
    expect(readRefSync(repo.dir, 'refs/tags/push-1')).toBe(tagObject);
    await repo.git.run(['pack-refs', '--all', '--prune']);
    expect(readRefSync(repo.dir, 'refs/tags/push-1')).toBe(tagObject);
  });

  it('leaves symbolic refs and names outside refs/ to git', async () => {
    await repo.git.run(['symbolic-ref', 'refs/heads/alias', 'refs/heads/master']);
    expect(readRefSync(repo.dir, 'refs/heads/alias')).toBeUndefined();
    expect(readRefSync(repo.dir, 'HEAD')).toBeUndefined();
    expect(readRefSync(repo.dir, 'refs/heads/../../config')).toBeUndefined();
  });

  it('parses packed-refs with a header and peeled lines', () => {
    const x = 'a'.repeat(40);
    const y = 'b'.repeat(40);
    const refs = parsePackedRefs(`# pack-refs with: peeled fully-peeled sorted \n${x} refs/heads/master\n${y} refs/tags/v1\n^${x}\nbroken line\n`);
    expect([...refs]).toEqual([
      ['refs/heads/master', x],
      ['refs/tags/v1', y],
    ]);
  });
});
