// One contract suite, two GitRepo implementations: the in-memory one and the real git in a temp repo.
// Same inputs, same object ids: what the memory repo computes is what git stores.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { CliGitRepo } from '../../../server/git/cli-git-repo.js';
import { GitCli } from '../../../server/git/git-cli.js';
import type { GitRepo, Identity } from '../../../server/git/git-repo.js';
import { MemoryGitRepo } from '../../../server/git/memory-git-repo.js';
import { removeTempDirs, tempDir } from '../../helpers/temp-dir.js';

afterAll(removeTempDirs);

const repos: GitRepo[] = [];
afterAll(async () => {
  for (const r of repos) await r.close();
});

async function cliRepo(): Promise<GitRepo> {
  const dir = await tempDir();
  execFileSync('git', ['init', '-q', '--bare', dir]);
  const r = new CliGitRepo(new GitCli(dir), dir);
  repos.push(r);
  return r;
}

const implementations: [string, () => Promise<GitRepo>][] = [
  ['memory', async () => new MemoryGitRepo()],
  ['git', cliRepo],
];

const at = (epoch: number): Identity => ({ name: 'Ada Lovelace', email: 'ada@example.test', date: `${epoch} +0000` });

/** A commit with these files (path → text) on these parents. */
async function commit(repo: GitRepo, files: Record<string, string>, parents: string[], epoch: number, message = `at ${epoch}`): Promise<string> {
  const byDir = new Map<string, Map<string, { mode: '100644' | '40000'; sha: string }>>([['', new Map()]]);
  for (const [path, text] of Object.entries(files)) {
    const parts = path.split('/');
    for (let i = 0; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!byDir.has(dir)) byDir.set(dir, new Map());
    }
    byDir.get(parts.slice(0, -1).join('/'))!.set(parts[parts.length - 1]!, { mode: '100644', sha: await repo.writeBlob(text) });
  }
  const dirs = [...byDir.keys()].sort((a, b) => b.split('/').length - a.split('/').length || (a < b ? 1 : -1));
  const trees = new Map<string, string>();
  for (const dir of dirs) {
    const entries = [...byDir.get(dir)!].map(([name, e]) => ({ name, ...e }));
    for (const [d, sha] of trees) if (d !== dir && d.slice(0, d.lastIndexOf('/') < 0 ? 0 : d.lastIndexOf('/')) === dir && d !== '') entries.push({ name: d.slice(d.lastIndexOf('/') + 1), mode: '40000', sha });
    trees.set(dir, await repo.writeTree(entries));
  }
  return repo.writeCommit({ tree: trees.get('')!, parents, author: at(epoch), message });
}

describe.each(implementations)('GitRepo contract: %s', (_name, make) => {
  it('writes objects under the ids git gives them and reads them back', async () => {
    const repo = await make();
    const blob = await repo.writeBlob('hello\n');
    expect(blob).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
    expect(await repo.readObject(blob)).toEqual({ type: 'blob', body: Buffer.from('hello\n') });
    const c = await commit(repo, { 'a.txt': 'hello\n', 'dir/b.txt': 'b\n' }, [], 1_700_000_000, 'first\n\nTrailer-One: 1\n');
    // git mktree + commit-tree give this id for the same files, identity and message.
    expect(c).toBe('6acc3d1118e8bafca22bf9e880938bee3fa27bef');
    expect((await repo.readObject(`${c}:dir/b.txt`))?.body.toString()).toBe('b\n');
    expect(await repo.readObject('0'.repeat(40))).toBeNull();
    expect((await repo.listTree(c)).map((e) => [e.path, e.type])).toEqual([
      ['a.txt', 'blob'],
      ['dir', 'tree'],
      ['dir/b.txt', 'blob'],
    ]);
  });

  it('refuses an identity it would have to alter, naming the field, and keeps the zone an ISO date gives', async () => {
    const repo = await make();
    const tree = await repo.writeTree([]);
    await expect(repo.writeCommit({ tree, parents: [], author: { name: 'Eve <root>', email: 'e@example.test', date: '1700000000 +0000' }, message: 'x' })).rejects.toMatchObject({ code: 'bad-identity', data: { field: 'name' } });
    const c = await repo.writeCommit({ tree, parents: [], author: { name: 'Ada', email: 'ada@example.test', date: '2026-01-01T10:00:00+02:00' }, message: 'x' });
    expect((await repo.readObject(c))?.body.toString()).toContain('author Ada <ada@example.test> 1767254400 +0200\n');
  });

  it('moves refs together with compare-and-swap; a lost one names the ref, the expected and the actual value', async () => {
    const repo = await make();
    const a = await commit(repo, { 'f': 'a\n' }, [], 1_700_000_000);
    const b = await commit(repo, { 'f': 'b\n' }, [a], 1_700_000_001);
    expect(await repo.readRef('refs/heads/main')).toBeNull();
    expect(await repo.updateRefs([{ ref: 'refs/heads/main', newSha: a, oldSha: null }, { ref: 'refs/heads/other', newSha: a }])).toEqual({ ok: true });
    const lost = await repo.updateRefs([{ ref: 'refs/heads/other', newSha: b, oldSha: a }, { ref: 'refs/heads/main', newSha: b, oldSha: b }]);
    expect(lost).toMatchObject({ ok: false, reason: 'ref-changed', ref: 'refs/heads/main', expected: b, actual: a });
    expect(await repo.readRef('refs/heads/other')).toBe(a); // nothing moved
    expect(await repo.updateRefs([{ ref: 'refs/heads/new', newSha: b, oldSha: null }, { ref: 'refs/heads/main', newSha: null, oldSha: a }])).toEqual({ ok: true });
    expect([await repo.readRef('refs/heads/main'), await repo.readRef('refs/heads/new')]).toEqual([null, b]);
    expect(await repo.updateRefs([{ ref: 'refs/heads/new', newSha: a, oldSha: null }])).toMatchObject({ ok: false, ref: 'refs/heads/new', expected: null, actual: b });
    await expect(repo.updateRefs([{ ref: 'refs/heads/x y', newSha: a }])).rejects.toThrow(/not a full ref name/);
    await expect(repo.updateRefs([{ ref: 'refs/heads/ghost', newSha: 'e'.repeat(40) }])).rejects.toThrow();
    expect(await repo.readRef('refs/heads/ghost')).toBeNull();
  });

  it('answers ancestry, merge bases and trial merges', async () => {
    const repo = await make();
    const base = await commit(repo, { 'a.txt': 'a\n', 'b.txt': 'b\n' }, [], 1_700_000_000);
    const left = await commit(repo, { 'a.txt': 'left\n', 'b.txt': 'b\n' }, [base], 1_700_000_001);
    const right = await commit(repo, { 'a.txt': 'a\n', 'b.txt': 'right\n' }, [base], 1_700_000_002);
    const clash = await commit(repo, { 'a.txt': 'clash\n', 'b.txt': 'b\n' }, [base], 1_700_000_003);
    expect(await repo.isAncestor(base, left)).toBe(true);
    expect(await repo.isAncestor(left, base)).toBe(false);
    expect(await repo.isAncestor(left, left)).toBe(true);
    // git's answers, the yeses in-process (a re-push asks this on the push path), the no from a git process.
    if (repo instanceof CliGitRepo) expect(repo.stats).toMatchObject({ fastAncestry: 2, gitAncestry: 1 });
    expect(await repo.mergeBases(left, right)).toEqual([base]);
    const both = await commit(repo, { 'a.txt': 'left\n', 'b.txt': 'right\n' }, [left, right], 1_700_000_004);
    const merged = await repo.mergeTree(left, right);
    // The merged tree is the tree of a commit holding both changes.
    const bothTree = /^tree ([0-9a-f]{40})$/m.exec((await repo.readObject(both))!.body.toString())![1];
    expect(merged).toEqual({ clean: true, tree: bothTree, files: [] });
    const conflict = await repo.mergeTree(left, clash);
    expect([conflict.clean, conflict.files]).toEqual([false, ['a.txt']]);
  });

  it('walks history newest first, by path, by trailer line, by date, and lists a range oldest first', async () => {
    const repo = await make();
    const c1 = await commit(repo, { 'req/1.json': '1\n' }, [], 1_700_000_000, 'open 1\n\nPm-Push: 7\nPm-Actor: alice\n');
    const c2 = await commit(repo, { 'req/1.json': '1\n', 'req/2.json': '2\n' }, [c1], 1_700_000_100, 'open 2\n\nPm-Push: 8\n');
    const c3 = await commit(repo, { 'req/1.json': '1 edited\n', 'req/2.json': '2\n' }, [c2], 1_700_000_200, 'edit 1\nsecond line\n\nPm-Push: 7\n');
    expect((await repo.log({ tip: c3 })).map((e) => e.sha)).toEqual([c3, c2, c1]);
    expect((await repo.log({ tip: c3, path: 'req/1.json' })).map((e) => e.sha)).toEqual([c3, c1]);
    expect((await repo.log({ tip: c3, grepLine: 'Pm-Push: 7' })).map((e) => e.sha)).toEqual([c3, c1]);
    expect((await repo.log({ tip: c3, since: 1_700_000_100 })).map((e) => e.sha)).toEqual([c3, c2]);
    expect((await repo.log({ tip: c3, limit: 1 })).map((e) => e.sha)).toEqual([c3]);
    const [first] = await repo.log({ tip: c1 });
    expect(first).toEqual({ sha: c1, committedAt: '2023-11-14T22:13:20+00:00', subject: 'open 1', trailers: ['Pm-Push: 7', 'Pm-Actor: alice'] });
    expect((await repo.log({ tip: c3, limit: 1 }))[0]?.subject).toBe('edit 1 second line');
    expect(await repo.revList(c3)).toEqual([c1, c2, c3]);
    expect(await repo.revList(c3, c1)).toEqual([c2, c3]);
    expect(await repo.revList(c3, c3)).toEqual([]);
  });

  it('lists entries at given paths, tells object types, merges in a batch and in a session, writes tags', async () => {
    const repo = await make();
    const base = await commit(repo, { 'a.txt': 'a\n', 'b.txt': 'b\n', 'dir/c.txt': 'c\n' }, [], 1_700_000_000);
    const left = await commit(repo, { 'a.txt': 'left\n', 'b.txt': 'b\n', 'dir/c.txt': 'c\n' }, [base], 1_700_000_001);
    const right = await commit(repo, { 'a.txt': 'a\n', 'b.txt': 'right\n', 'dir/c.txt': 'c\n' }, [base], 1_700_000_002);
    const clash = await commit(repo, { 'a.txt': 'clash\n', 'b.txt': 'b\n', 'dir/c.txt': 'c\n' }, [base], 1_700_000_003);
    const blob = await repo.writeBlob('c\n');
    expect((await repo.lsTree(base, ['dir/c.txt', 'a.txt', 'nope', 'dir/nope'])).map((e) => [e.path, e.type, e.mode, e.sha])).toEqual([
      ['a.txt', 'blob', '100644', await repo.writeBlob('a\n')],
      ['dir/c.txt', 'blob', '100644', blob],
    ]);
    const missing = 'e'.repeat(40);
    const types = await repo.objectTypes([blob, base, missing]);
    expect([...types].sort()).toEqual([[base, 'commit'], [blob, 'blob']].sort());
    // A batch answers as one merge at a time would.
    expect(await repo.mergeTrees([[left, right], [left, clash]])).toEqual([await repo.mergeTree(left, right), await repo.mergeTree(left, clash)]);
    // A session takes dependent merges: the second starts from a commit made of the first.
    const session = repo.openMergeSession();
    try {
      const first = await session.merge(left, right);
      const tip = await repo.writeCommit({ tree: first.tree, parents: [left, right], author: at(1_700_000_004), message: 'merge' });
      const second = await session.merge(tip, clash);
      expect([second.clean, second.files]).toEqual([false, ['a.txt']]);
      expect(first).toEqual(await repo.mergeTree(left, right));
    } finally {
      await session.close();
    }
    // Annotated tags: the same bytes git mktag stores, so the same id on both.
    const tag = await repo.writeTag({ object: base, name: 'push-1', tagger: at(1_700_000_005), message: 'Push 1\n\nlive' });
    expect((await repo.readObject(tag))?.body.toString()).toBe(`object ${base}\ntype commit\ntag push-1\ntagger Ada Lovelace <ada@example.test> 1700000005 +0000\n\nPush 1\n\nlive\n`);
    // `git hash-object -t tag --stdin` (which checks the format) gives this id for the same bytes.
    expect(tag).toBe('36c3cb925033bd5eb71ddbe7b9c37b6bb0f5201b');
    await expect(repo.writeTag({ object: missing, name: 'push-2', tagger: at(1_700_000_005), message: 'x' })).rejects.toThrow();
  });

  it('diffs trees in one batch (renames detected or not) and sums up the paths a commit changed', async () => {
    const repo = await make();
    const base = await commit(repo, { 'a.txt': 'a\n', 'b.txt': 'b\n', 'dir/c.txt': 'c\n' }, [], 1_700_000_000);
    const edit = await commit(repo, { 'a.txt': 'edited\n', 'b.txt': 'b\n', 'dir/c.txt': 'c\n', 'd.txt': 'd\n' }, [base], 1_700_000_001);
    const moved = await commit(repo, { 'a.txt': 'a\n', 'b.txt': 'b\n', 'e/c.txt': 'c\n' }, [base], 1_700_000_002);
    const removed = await commit(repo, { 'a.txt': 'a\n', 'dir/c.txt': 'c\n' }, [base], 1_700_000_003);
    // A submodule (gitlink) added beside the files.
    const baseTree = /^tree ([0-9a-f]{40})$/m.exec((await repo.readObject(base))!.body.toString())![1]!;
    const rootEntries = (await repo.listTree(base)).filter((e) => !e.path.includes('/'));
    const subTree = await repo.writeTree([...rootEntries.map((e) => ({ name: e.path, mode: (e.type === 'tree' ? '40000' : '100644') as '40000' | '100644', sha: e.sha })), { name: 'vendor', mode: '160000', sha: '3'.repeat(40) }]);
    expect(subTree).not.toBe(baseTree);
    const sub = await repo.writeCommit({ tree: subTree, parents: [base], author: at(1_700_000_004), message: 'submodule' });
    const byPath = <T extends { path: string }>(es: readonly T[]) => [...es].sort((x, y) => (x.path < y.path ? -1 : 1));
    const [e1, e2, e3, e4] = await repo.diffTrees([[edit, base], [moved, base], [removed, base], [sub, base]], { renames: true });
    const blob = (t: string) => repo.writeBlob(t);
    const zero = '0'.repeat(40);
    expect(byPath(e1!)).toEqual([
      { status: 'M', oldMode: '100644', newMode: '100644', oldSha: await blob('a\n'), newSha: await blob('edited\n'), path: 'a.txt' },
      { status: 'A', oldMode: '000000', newMode: '100644', oldSha: zero, newSha: await blob('d\n'), path: 'd.txt' },
    ]);
    expect(e2).toEqual([{ status: 'R100', oldMode: '100644', newMode: '100644', oldSha: await blob('c\n'), newSha: await blob('c\n'), from: 'dir/c.txt', path: 'e/c.txt' }]);
    expect(e3).toEqual([{ status: 'D', oldMode: '100644', newMode: '000000', oldSha: await blob('b\n'), newSha: zero, path: 'b.txt' }]);
    expect(e4).toEqual([{ status: 'A', oldMode: '000000', newMode: '160000', oldSha: zero, newSha: '3'.repeat(40), path: 'vendor' }]);
    const [plain] = await repo.diffTrees([[moved, base]], { renames: false });
    expect(byPath(plain!).map((e) => [e.status, e.path])).toEqual([['D', 'dir/c.txt'], ['A', 'e/c.txt']]);
    expect(await repo.diffTrees([])).toEqual([]);
    // Changed paths: a rename and a submodule make the paths prove nothing (risky); plain edits do not.
    const changed = await repo.changedPaths([edit, moved, removed, sub].map((sha) => ({ sha, bases: [base] })));
    expect(changed.map((c) => [[...c.paths].sort(), c.risky])).toEqual([
      [['a.txt', 'd.txt'], false],
      [['dir/c.txt', 'e/c.txt'], true],
      [['b.txt'], false],
      [['vendor'], true],
    ]);
    // Several bases (a criss-cross): the changes since each, united.
    const [both] = await repo.changedPaths([{ sha: edit, bases: [base, removed] }]);
    expect([...both!.paths].sort()).toEqual(['a.txt', 'b.txt', 'd.txt']);
  });
});
