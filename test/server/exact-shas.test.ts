// Exact SHAs, as isomorphic-git's tests assert them: fixed identities and dates make every object the same
// on every machine, so a change to what the server writes (a deploy branch's merges, a state commit's tree,
// files or message) shows here as a changed SHA, with the raw object alongside to say what changed.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decide, userActor, type Actor } from '../../state/decide.js';
import { commitMessage } from '../../state/describe.js';
import { isDomainError } from '../../state/errors.js';
import { evolveAll } from '../../state/evolve.js';
import type { Command } from '../../state/commands.js';
import { GitStateStore } from '../../server/store/git-state-store.js';
import { buildDeployBranch } from '../../server/train/deploy-builder.js';
import { commitFiles, initRepo, type FixtureRepo } from '../helpers/git-fixtures.js';

let repo: FixtureRepo;
beforeEach(async () => {
  repo = await initRepo();
});
afterEach(() => repo.cleanup());

/** master with two files; two requests from it, each editing its own file. All at fixed dates. */
async function fixture() {
  const base = await commitFiles(repo.git, { files: { 'a.txt': 'a\n', 'b.txt': 'b\n' }, message: 'base', ref: 'refs/heads/master' });
  const r1 = await commitFiles(repo.git, { parents: [base], files: { 'a.txt': 'a by request 1\n' }, message: 'request 1', epoch: 1_700_000_001 });
  const r2 = await commitFiles(repo.git, { parents: [base], files: { 'b.txt': 'b by request 2\n' }, message: 'request 2', epoch: 1_700_000_002 });
  return { base, r1, r2 };
}

describe('exact SHAs from fixed identities and dates', () => {
  it('the fixture commits', async () => {
    const { base, r1, r2 } = await fixture();
    expect([base, r1, r2]).toEqual(['a8c82ccb0fd1f36db47fded4f0ba480acda85261', '40e9d84ba3219bd1a570ab79c95cfd0fc4319a6a', '2c34e801a85875e79d6f45d1470bc3ce1373ac49']);
  });

  it('a deploy-branch build', async () => {
    const { base, r1, r2 } = await fixture();
    const identity = { name: 'Push Master', email: 'pm@example.test', date: '1700000100 +0000' };
    const out = await buildDeployBranch(repo.port, base, [
      { id: 1, sha: r1, message: 'Merge request 1: request 1' },
      { id: 2, sha: r2, message: 'Merge request 2: request 2' },
    ], { identity });
    if (!out.ok) throw new Error('expected a build');
    expect(await repo.git.out(['cat-file', 'commit', out.sha])).toBe(
      [
        'tree 579e1e9da0941fea057626c26ebb2e9f054dc32c',
        'parent 5111f7696ff62b4598033a8d0ce8bde46d6cfd79',
        `parent ${r2}`,
        'author Push Master <pm@example.test> 1700000100 +0000',
        'committer Push Master <pm@example.test> 1700000100 +0000',
        '',
        'Merge request 2: request 2',
      ].join('\n'),
    );
    expect(out.merges.map((m) => m.commit)).toEqual(['5111f7696ff62b4598033a8d0ce8bde46d6cfd79', '39c5dbfff6ed532094aafd51d23b7609165a3831']);
    expect(out.sha).toBe('39c5dbfff6ed532094aafd51d23b7609165a3831');
  });

  it('a state commit', async () => {
    const store = new GitStateStore(repo.git, repo.dir, 'refs/heads/pushmanager/meta', { name: 'Pushmanager', email: 'pushmanager@example.test' });
    try {
      const alice: Actor = userActor('alice', { pushmaster: false });
      const cmd: Command = { type: 'OpenRequest', ref: 'refs/pushreq/fix-login', sha: 'f'.repeat(40), autoPickme: true, title: 'Fix login' };
      const ctx = { actor: alice, now: '2026-01-01T00:00:00.000Z' };
      const events = decide((await store.read()).board, cmd, ctx);
      if (isDomainError(events)) throw new Error(events.message);
      const out = await store.commit({ expected: null, board: evolveAll((await store.read()).board, events), events, message: commitMessage(cmd, events, alice), at: ctx.now });
      if (!out.ok) throw new Error(out.detail);
      expect(await repo.git.out(['cat-file', 'commit', out.version])).toBe(
        [
          'tree 23ea618f683ccf98aa51f04f55ec0cef63586bed',
          'author Pushmanager <pushmanager@example.test> 1767225600 +0000',
          'committer Pushmanager <pushmanager@example.test> 1767225600 +0000',
          '',
          'Open request 1: Fix login',
          '',
          '- RequestOpened',
          '',
          'Pushmanager-Command: OpenRequest',
          'Pushmanager-Actor: alice',
          'Pushmanager-Request: 1',
          'Pushmanager-Events: RequestOpened',
          'Pushmanager-Schema: 1',
        ].join('\n'),
      );
      expect(await repo.git.out(['ls-tree', '-r', out.version])).toBe(
        [
          '100644 blob 01eaae9e6aba3b2bed16cf8135954f1bbaf2c9b5\tevents.json',
          '100644 blob a49cafed64cd9ace1a25ff6c06b72eb560d930bd\trequests/0000/1.json',
          '100644 blob 716a6dd6a45658cfad16f023b487cbbae3e88e81\tschema.json',
        ].join('\n'),
      );
      expect(out.version).toBe('8558013ed1f2f8daf151fdab7dca626629f5873c');
      expect(await repo.git.out(['rev-parse', 'refs/heads/pushmanager/meta'])).toBe(out.version);
    } finally {
      store.close();
    }
  });
});
