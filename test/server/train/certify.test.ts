// Certification on real repos: master fast-forwards or merges when it moved, tag objects, tag names.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildDeployBranch } from '../../../server/train/deploy-builder.js';
import { advanceMaster, createAnnotatedTag, formatTagName, tagName } from '../../../server/train/certify.js';
import { commitFiles, initRepo, numberedLines, readBlob, type FixtureRepo } from '../../helpers/git-fixtures.js';

const identity = { name: 'Push Master', email: 'pm@example.test', date: '1700000200 +0000' };
let repo: FixtureRepo;
let base: string;
let deploySha: string;

const edited = (line: number, text: string) => {
  const lines = numberedLines('app.txt', 10).split('\n');
  lines[line - 1] = text;
  return lines.join('\n');
};

beforeEach(async () => {
  repo = await initRepo();
  base = await commitFiles(repo.git, { files: { 'app.txt': numberedLines('app.txt', 10) }, message: 'base', ref: 'refs/heads/master' });
  const r1 = await commitFiles(repo.git, { parents: [base], files: { 'app.txt': edited(2, 'request') }, message: 'r1' });
  const built = await buildDeployBranch(repo.port, base, [{ id: 1, sha: r1, message: 'merge 1' }], { identity });
  if (!built.ok) throw new Error('build');
  deploySha = built.sha;
});
afterEach(() => repo.cleanup());

describe('advanceMaster', () => {
  it('fast-forwards when master is still the base', async () => {
    expect(await advanceMaster(repo.port, { masterSha: base, baseSha: base, deploySha, message: 'm', identity })).toEqual({ ok: true, sha: deploySha, fastForward: true });
  });

  it('merges master into the deploy tip when master moved', async () => {
    const moved = await commitFiles(repo.git, { parents: [base], files: { 'app.txt': edited(9, 'hotfix') }, message: 'hotfix' });
    const out = await advanceMaster(repo.port, { masterSha: moved, baseSha: base, deploySha, message: 'Certify push 1', identity });
    if (!out.ok) throw new Error('expected a merge');
    expect(out.fastForward).toBe(false);
    expect(await repo.git.out(['rev-parse', `${out.sha}^1`, `${out.sha}^2`])).toBe(`${deploySha}\n${moved}`);
    const app = (await readBlob(repo.git, out.sha, 'app.txt'))!.split('\n');
    expect([app[1], app[8]]).toEqual(['request', 'hotfix']);
    expect(await repo.git.out(['log', '-1', '--format=%s|%an|%at', out.sha])).toBe('Certify push 1|Push Master|1700000200');
    // No ref moved: the caller does that with its state.
    expect(await repo.git.resolve('refs/heads/master')).toBe(base);
  });

  it('reports the conflicting files when master moved in a way that does not merge', async () => {
    const moved = await commitFiles(repo.git, { parents: [base], files: { 'app.txt': edited(2, 'hotfix on the same line') }, message: 'hotfix' });
    expect(await advanceMaster(repo.port, { masterSha: moved, baseSha: base, deploySha, message: 'm', identity })).toEqual({ ok: false, files: ['app.txt'] });
  });
});

describe('tags', () => {
  it('writes an annotated tag object and no ref', async () => {
    const sha = await createAnnotatedTag(repo.port, { name: 'push-20231114-7', target: deploySha, message: 'Push 7\n\nlive', tagger: identity });
    expect(await repo.git.out(['cat-file', '-t', sha])).toBe('tag');
    expect(await repo.git.out(['cat-file', '-p', sha])).toBe(
      `object ${deploySha}\ntype commit\ntag push-20231114-7\ntagger Push Master <pm@example.test> 1700000200 +0000\n\nPush 7\n\nlive`,
    );
    expect(await repo.git.out(['for-each-ref', 'refs/tags'])).toBe('');
    // Same inputs, same object: certification can be retried safely.
    expect(await createAnnotatedTag(repo.port, { name: 'push-20231114-7', target: deploySha, message: 'Push 7\n\nlive', tagger: identity })).toBe(sha);
  });

  it('refuses a tag name git would refuse', async () => {
    await expect(createAnnotatedTag(repo.port, { name: 'bad..name', target: deploySha, message: 'x', tagger: identity })).rejects.toMatchObject({ code: 'bad-tag-name' });
  });

  it('fills templates with the id and the UTC date', async () => {
    expect(await tagName('push-{date}-{id}', { id: 42, date: new Date('2024-03-05T23:30:00Z') })).toBe('push-20240305-42');
    expect(await tagName('deploy/{id}', { id: 7, date: '2024-01-02T00:00:00Z' })).toBe('deploy/7');
    expect(formatTagName('{id}', { id: 1, date: new Date(0) })).toBe('1');
    // Shell syntax is just characters: git accepts them in a ref name and nothing evaluates them.
    expect(await tagName('push-$(id);-{id}', { id: 3, date: new Date(0) })).toBe('push-$(id);-3');
  });

  it.each([
    ['push {id}', 'space'],
    ['push-{id}.lock', '.lock'],
    ['push..{id}', 'double dot'],
    ['push-{id}~1', 'tilde'],
    ['-{id}', 'leading dash'],
    ['push-{nope}', 'unknown placeholder'],
  ])('refuses the template %j (%s)', async (template) => {
    await expect(tagName(template, { id: 3, date: new Date('2024-01-01T00:00:00Z') })).rejects.toMatchObject({ code: 'bad-tag-name' });
  });
});
