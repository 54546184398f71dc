// Deploy-branch builds on real repos: clean merges, conflicts (stop and skip), prefix reuse, no items.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildDeployBranch, type MergeInput } from '../../../server/train/deploy-builder.js';
import { messageBody } from '../../../server/train/train-service.js';
import { commitFiles, initRepo, numberedLines, readBlob, type FixtureRepo } from '../../helpers/git-fixtures.js';

const identity = { name: 'Push Master', email: 'pm@example.test', date: '1700000100 +0000' };
const WEIRD = ['a file with spaces.txt', 'quo"te\'s.txt', '$(rm -rf ~).sh', 'semi;colon.txt', 'ünïcødé/日本語.txt'];

let repo: FixtureRepo;
let base: string;

beforeEach(async () => {
  repo = await initRepo();
  const files: Record<string, string> = { 'shared.txt': numberedLines('shared', 10) };
  for (const w of WEIRD) files[w] = numberedLines(w, 5);
  base = await commitFiles(repo.git, { files, message: 'base', ref: 'refs/heads/master' });
});
afterEach(() => repo.cleanup());

/** A request branched from base editing one line of each given file. */
const request = (n: number, edits: Record<string, number>) => {
  const files: Record<string, string> = {};
  for (const [path, line] of Object.entries(edits)) {
    const lines = (path === 'shared.txt' ? numberedLines('shared', 10) : numberedLines(path, 5)).split('\n');
    lines[line - 1] = `request ${n} was here`;
    files[path] = lines.join('\n');
  }
  return commitFiles(repo.git, { parents: [base], files, message: `request ${n}`, epoch: 1_700_000_000 + n });
};

describe('buildDeployBranch', () => {
  it('with zero items the result is the base', async () => {
    const out = await buildDeployBranch(repo.port, base, []);
    expect(out).toEqual({ ok: true, sha: base, baseSha: base, merges: [], dropped: [], reused: 0 });
  });

  it('merges requests in order as two-parent merge commits with the given messages, writing no refs', async () => {
    const r1 = await request(1, { 'shared.txt': 1 });
    const r2 = await request(2, { 'shared.txt': 5, [WEIRD[3]!]: 2 });
    const refsBefore = await repo.git.out(['for-each-ref']);
    const progress: [number, number, number][] = [];
    const items: MergeInput[] = [
      { id: 1, sha: r1, message: 'Merge request 1' },
      { id: 2, sha: r2, message: 'Merge request 2\n\nwith a body' },
    ];
    const out = await buildDeployBranch(repo.port, base, items, { identity, onProgress: (d, t, id) => progress.push([d, t, id]) });
    if (!out.ok) throw new Error('expected a build');
    expect(out.merges.map((m) => m.id)).toEqual([1, 2]);
    expect(out.sha).toBe(out.merges[1]!.commit);
    expect(await repo.git.out(['rev-parse', `${out.sha}^1`, `${out.sha}^2`])).toBe(`${out.merges[0]!.commit}\n${r2}`);
    expect(await repo.git.out(['rev-parse', `${out.merges[0]!.commit}^1`, `${out.merges[0]!.commit}^2`])).toBe(`${base}\n${r1}`);
    expect(await repo.git.out(['log', '-1', '--format=%B', out.sha])).toBe('Merge request 2\n\nwith a body\n');
    expect(await repo.git.out(['log', '-1', '--format=%an <%ae> %at|%cn <%ce> %ct', out.sha])).toBe(
      'Push Master <pm@example.test> 1700000100|Push Master <pm@example.test> 1700000100',
    );
    const shared = (await readBlob(repo.git, out.sha, 'shared.txt'))!.split('\n');
    expect(shared[0]).toBe('request 1 was here');
    expect(shared[4]).toBe('request 2 was here');
    expect(progress).toEqual([
      [1, 2, 1],
      [2, 2, 2],
    ]);
    expect(await repo.git.out(['for-each-ref'])).toBe(refsBefore);
    // The objects are well-formed for git itself.
    await repo.git.run(['fsck', '--no-dangling', '--strict']);
  });

  it('is deterministic with a fixed identity: the same inputs give the same SHA', async () => {
    const r1 = await request(1, { 'shared.txt': 1 });
    const a = await buildDeployBranch(repo.port, base, [{ id: 1, sha: r1, message: 'm' }], { identity });
    const b = await buildDeployBranch(repo.port, base, [{ id: 1, sha: r1, message: 'm' }], { identity });
    expect(a.ok && b.ok && a.sha === b.sha).toBe(true);
    // The same commit git commit-tree would make.
    const tree = await repo.git.out(['rev-parse', `${a.ok ? a.sha : ''}^{tree}`]);
    const viaCommitTree = await repo.git.out(['commit-tree', tree, '-p', base, '-p', r1, '-m', 'm'], {
      env: { GIT_AUTHOR_NAME: identity.name, GIT_AUTHOR_EMAIL: identity.email, GIT_AUTHOR_DATE: identity.date, GIT_COMMITTER_NAME: identity.name, GIT_COMMITTER_EMAIL: identity.email, GIT_COMMITTER_DATE: identity.date },
    });
    expect(a.ok && a.sha).toBe(viaCommitTree);
  });

  it('stops at the first request that does not merge, naming the files', async () => {
    const r1 = await request(1, { 'shared.txt': 3, [WEIRD[0]!]: 1, [WEIRD[4]!]: 1 });
    const r2 = await request(2, { 'shared.txt': 7 });
    const r3 = await request(3, { 'shared.txt': 3, [WEIRD[0]!]: 1, [WEIRD[4]!]: 1, [WEIRD[2]!]: 1 });
    const out = await buildDeployBranch(repo.port, base, [
      { id: 1, sha: r1, message: '1' },
      { id: 2, sha: r2, message: '2' },
      { id: 3, sha: r3, message: '3' },
    ]);
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.failed.id).toBe(3);
    expect([...out.failed.files].sort()).toEqual([WEIRD[0]!, 'shared.txt', WEIRD[4]!].sort());
  });

  it('skips a request that does not merge, lists it as dropped and merges the rest', async () => {
    const r1 = await request(1, { 'shared.txt': 3 });
    const r2 = await request(2, { 'shared.txt': 3, [WEIRD[1]!]: 2 });
    const r3 = await request(3, { [WEIRD[1]!]: 4 });
    const out = await buildDeployBranch(
      repo.port,
      base,
      [
        { id: 1, sha: r1, message: '1' },
        { id: 2, sha: r2, message: '2' },
        { id: 3, sha: r3, message: '3' },
      ],
      { onConflict: 'skip', identity },
    );
    if (!out.ok) throw new Error('skip never fails');
    expect(out.dropped).toEqual([{ id: 2, files: ['shared.txt'] }]);
    expect(out.merges.map((m) => m.id)).toEqual([1, 3]);
    expect(await repo.git.out(['rev-parse', `${out.sha}^2`])).toBe(r3);
  });

  it('reuses the longest common prefix of a previous build and ends at the same SHA as a full rebuild', async () => {
    const shas = await Promise.all([1, 2, 3, 4].map((n) => request(n, { 'shared.txt': n * 2 })));
    const items = shas.map((sha, k) => ({ id: k + 1, sha, message: `merge ${k + 1}` }));
    const first = await buildDeployBranch(repo.port, base, items.slice(0, 3), { identity });
    if (!first.ok) throw new Error('build');
    // Request 3 is re-pushed and request 4 added: merges 1 and 2 stand.
    const r3b = await request(33, { 'shared.txt': 6 });
    const next = [items[0]!, items[1]!, { id: 3, sha: r3b, message: 'merge 3' }, items[3]!];
    const incremental = await buildDeployBranch(repo.port, base, next, { identity, previous: { baseSha: base, merges: first.merges } });
    const full = await buildDeployBranch(repo.port, base, next, { identity });
    if (!incremental.ok || !full.ok) throw new Error('build');
    expect(incremental.reused).toBe(2);
    expect(full.reused).toBe(0);
    expect(incremental.sha).toBe(full.sha);
    expect(incremental.merges).toEqual(full.merges);
  });

  it('reuses nothing when the base moved, and everything when nothing changed', async () => {
    const r1 = await request(1, { 'shared.txt': 1 });
    const items = [{ id: 1, sha: r1, message: '1' }];
    const first = await buildDeployBranch(repo.port, base, items, { identity });
    if (!first.ok) throw new Error('build');
    const same = await buildDeployBranch(repo.port, base, items, { identity, previous: first });
    expect(same.ok && same.reused === 1 && same.sha === first.sha).toBe(true);
    const moved = await commitFiles(repo.git, { parents: [base], files: { 'other.txt': 'x' }, message: 'master moved' });
    const rebuilt = await buildDeployBranch(repo.port, moved, items, { identity, previous: first });
    expect(rebuilt.ok && rebuilt.reused).toBe(0);
  });

  it('keeps a multi-line message with odd characters byte for byte, as git commit-tree would store it', async () => {
    const r1 = await request(1, { 'shared.txt': 1 });
    const message = [
      'Merge request 1 "Quo\'tes" (alice) into push 1',
      '',
      messageBody('\r\n\r\nFirst line\u001b[31m red\u001b[0m\r\n\r\n  indented $(touch x) `y`; z & | <>\r\n\tü 日本語 ✓   \r\n# not a comment\n---\nnul:\u0000 bell:\u0007\n\n\n'),
      '',
      'Request: 1',
    ].join('\n');
    const out = await buildDeployBranch(repo.port, base, [{ id: 1, sha: r1, message }], { identity });
    if (!out.ok) throw new Error('expected a build');
    const expected = 'Merge request 1 "Quo\'tes" (alice) into push 1\n\nFirst line red\n\n  indented $(touch x) `y`; z & | <>\n\tü 日本語 ✓\n# not a comment\n---\nnul: bell:\n\nRequest: 1\n';
    expect((await repo.git.run(['log', '-1', '--format=%B', out.sha])).stdout).toBe(`${expected}\n`);
    const tree = await repo.git.out(['rev-parse', `${out.sha}^{tree}`]);
    const viaCommitTree = await repo.git.out(['commit-tree', tree, '-p', base, '-p', r1, '-F', '-'], {
      input: expected,
      env: { GIT_AUTHOR_NAME: identity.name, GIT_AUTHOR_EMAIL: identity.email, GIT_AUTHOR_DATE: identity.date, GIT_COMMITTER_NAME: identity.name, GIT_COMMITTER_EMAIL: identity.email, GIT_COMMITTER_DATE: identity.date },
    });
    expect(out.sha).toBe(viaCommitTree);
    expect(messageBody('')).toBe('');
    expect(messageBody(' \n\t\n')).toBe('');
  });
});
