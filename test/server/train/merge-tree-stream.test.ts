// The long-lived `merge-tree --stdin` used by deploy builds: dependent merges (each on the commit the
// previous one made) give the same trees and conflicts as one `merge-tree` process per merge, streamed
// or not, and a bad object fails the merge instead of hanging.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MergeTreeStream, mergeTree } from '../../../server/git/merge-tree.js';
import { CommitWriter, commitObject } from '../../../server/git/object-writer.js';
import { commitFiles, initRepo, numberedLines, type FixtureRepo } from '../../helpers/git-fixtures.js';

let repo: FixtureRepo;
let base: string;
const IDENT = 'T <t@example.test> 1700000000 +0000';

beforeEach(async () => {
  repo = await initRepo();
  base = await commitFiles(repo.git, { files: { 'shared.txt': numberedLines('shared', 10), 'odd name $(x).txt': 'x\n' }, message: 'base', ref: 'refs/heads/master' });
});
afterEach(() => repo.cleanup());

const edit = (n: number, line: number, file = 'shared.txt') => {
  const lines = numberedLines('shared', 10).split('\n');
  lines[line - 1] = `request ${n} was here`;
  return commitFiles(repo.git, { parents: [base], files: { [file]: lines.join('\n') }, message: `request ${n}`, epoch: 1_700_000_000 + n });
};

describe.each([true, false])('MergeTreeStream (streaming %s)', (streaming) => {
  it('chains dependent merges, reports a conflict with its file, and agrees with one process per merge', async () => {
    const requests = [await edit(1, 1), await edit(2, 5), await edit(3, 1), await edit(4, 9)];
    const stream = new MergeTreeStream(repo.git, streaming);
    const writer = new CommitWriter(repo.git);
    try {
      let tip = base;
      const seen: { clean: boolean; files: readonly string[] }[] = [];
      for (const r of requests) {
        const [got, want] = await Promise.all([stream.merge(tip, r), mergeTree(repo.git, tip, r)]);
        expect(got).toEqual(want);
        seen.push({ clean: got.clean, files: got.files });
        // The next merge starts from a commit written after the stream started: it must see it.
        if (got.clean) tip = await writer.write(commitObject({ tree: got.tree, parents: [tip, r], author: IDENT, committer: IDENT, message: 'm' }));
      }
      expect(seen).toEqual([
        { clean: true, files: [] },
        { clean: true, files: [] },
        { clean: false, files: ['shared.txt'] },
        { clean: true, files: [] },
      ]);
    } finally {
      await Promise.all([stream.close(), writer.close()]);
    }
  });

  it('a missing object fails that merge with git’s reason', async () => {
    const stream = new MergeTreeStream(repo.git, streaming);
    try {
      await expect(stream.merge(base, 'f'.repeat(40))).rejects.toThrow();
    } finally {
      await stream.close();
    }
  });
});
