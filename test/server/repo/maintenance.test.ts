// Repository maintenance on a real bare repository: it packs refs and loose objects, prunes only
// unreachable objects older than the expiry, keeps everything reachable, and runs only when due.
// And the object writer's promise that nothing it trusts without writing is older than an hour.
import { existsSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ObjectWriter, KNOWN_OBJECT_TTL_MS } from '../../../server/git/object-writer.js';
import { RepoMaintenance, type MaintenanceRun } from '../../../server/repo/maintenance.js';
import { commitFiles, initRepo, type FixtureRepo } from '../../helpers/git-fixtures.js';

const looseFile = (dir: string, sha: string) => join(dir, 'objects', sha.slice(0, 2), sha.slice(2));

describe('RepoMaintenance', () => {
  let repo: FixtureRepo;
  beforeEach(async () => {
    repo = await initRepo();
  });
  afterEach(async () => repo.cleanup());

  /** 12 commits on 12 refs (36 objects), one old and one young unreachable blob. */
  async function populate() {
    const tips: string[] = [];
    let parent: string | null = null;
    for (let i = 0; i < 12; i++) {
      parent = await commitFiles(repo.git, { parents: parent ? [parent] : [], files: { [`f${i}.txt`]: `content ${i}\n` }, ref: `refs/pushreq/topic-${i}` });
      tips.push(parent);
    }
    const old = await repo.git.out(['hash-object', '-w', '--stdin'], { input: 'old garbage\n' });
    const young = await repo.git.out(['hash-object', '-w', '--stdin'], { input: 'young garbage\n' });
    const threeDaysAgo = Date.now() / 1000 - 3 * 24 * 3600;
    utimesSync(looseFile(repo.dir, old), threeDaysAgo, threeDaysAgo);
    return { tips, old, young };
  }

  it('counts loose objects exactly when every fan-out directory is read, and packs', async () => {
    await populate();
    const m = new RepoMaintenance({ git: repo.git, sampleDirs: 256, intervalMs: 0 });
    const exact = Number((await repo.git.out(['count-objects', '-v'])).match(/^count: (\d+)$/m)![1]);
    expect(m.counts()).toEqual({ loose: exact, packs: 0 });
    expect(exact).toBe(12 * 3 + 2);
  });

  it('packs refs alone, with no full run, once loose refs pass their limit (every push reads each one)', async () => {
    const { tips } = await populate();
    const m = new RepoMaintenance({ git: repo.git, sampleDirs: 256, looseLimit: 1000, looseRefLimit: 20, intervalMs: 0, refsIntervalMs: 0 });
    expect(m.looseRefs()).toBe(12);
    expect(await m.maybePackRefs()).toBe(false);
    // Archive refs, as discarded requests leave them: 12 + 10 loose refs, over the limit of 20.
    await repo.git.run(['update-ref', '--stdin'], { input: Array.from({ length: 10 }, (_, i) => `create refs/pushmanager/archive/${i} ${tips[i]}\n`).join('') });
    expect(m.looseRefs()).toBe(21); // counted only up to one past the limit
    expect(await m.maybePackRefs()).toBe(true);
    expect(m.refPacks).toBe(1);
    expect(m.looseRefs()).toBe(0);
    expect(m.runs).toBe(0);
    expect(m.counts().packs).toBe(0); // objects untouched: that is the full run's
    expect((await repo.git.out(['for-each-ref', '--format=%(refname)'])).split('\n')).toHaveLength(22);
    await m.close();
    // Closed: no more runs.
    await repo.git.run(['update-ref', '--stdin'], { input: Array.from({ length: 25 }, (_, i) => `create refs/pushmanager/archive/x${i} ${tips[0]}\n`).join('') });
    expect(await m.maybePackRefs()).toBe(false);
  });

  it('closed from the moment close() is called: a pack asked for while it waits starts nothing', async () => {
    const { tips } = await populate();
    await repo.git.run(['update-ref', '--stdin'], { input: Array.from({ length: 10 }, (_, i) => `create refs/pushmanager/archive/y${i} ${tips[0]}\n`).join('') });
    const m = new RepoMaintenance({ git: repo.git, sampleDirs: 256, looseLimit: 1000, looseRefLimit: 5, intervalMs: 0, refsIntervalMs: 0 });
    const closing = m.close();
    const late = m.maybePackRefs();
    await closing;
    expect(await late).toBe(false);
    expect(m.refPacks).toBe(0);
    expect(m.looseRefs()).toBeGreaterThan(5);
  });

  it('does nothing below the limits', async () => {
    await populate();
    const m = new RepoMaintenance({ git: repo.git, sampleDirs: 256, looseLimit: 1000, intervalMs: 0 });
    expect(m.due()).toBe(false);
    expect(await m.maybeRun()).toBeNull();
    expect(m.counts().packs).toBe(0);
  });

  it('packs refs and reachable objects, prunes old garbage, keeps young garbage and every commit', async () => {
    const { tips, old, young } = await populate();
    const runs: MaintenanceRun[] = [];
    const m = new RepoMaintenance({ git: repo.git, sampleDirs: 256, looseLimit: 10, intervalMs: 0, onRun: (r) => runs.push(r) });
    expect(m.due()).toBe(true);
    const run = await m.maybeRun();
    expect(run).toMatchObject({ ok: true, full: false, before: { loose: 38, packs: 0 }, after: { loose: 1, packs: 1 } });
    expect(runs).toEqual([run]);

    // Refs: one packed-refs file, no loose ref files left.
    expect(existsSync(join(repo.dir, 'packed-refs'))).toBe(true);
    expect(readdirSync(join(repo.dir, 'refs', 'pushreq'))).toEqual([]);
    expect((await repo.git.out(['for-each-ref', '--format=%(objectname)', 'refs/pushreq/'])).split('\n').sort()).toEqual([...tips].sort());
    // Objects: every commit and its tree still readable; the old unreachable blob is gone, the young one stays.
    for (const t of tips) expect((await repo.git.run(['cat-file', '-e', `${t}^{tree}`], { okCodes: [1] })).exitCode).toBe(0);
    expect((await repo.git.run(['cat-file', '-e', old], { okCodes: [1, 128] })).exitCode).not.toBe(0);
    expect((await repo.git.run(['cat-file', '-e', young], { okCodes: [1, 128] })).exitCode).toBe(0);
    await repo.git.run(['fsck', '--no-dangling', '--no-progress']);
    // Young garbage over the limit would make it back off instead of walking the repository again.
    expect(m.due()).toBe(false);
  });

  it('rewrites every pack into one when packs pile up', async () => {
    await populate();
    // Three packs: pack the loose objects three times over with objects added in between.
    for (let i = 0; i < 3; i++) {
      await commitFiles(repo.git, { parents: [], files: { [`extra${i}`]: `x${i}\n` }, ref: `refs/heads/extra-${i}` });
      await repo.git.run(['repack', '-d', '-q']);
    }
    const m = new RepoMaintenance({ git: repo.git, sampleDirs: 256, packLimit: 2, intervalMs: 0 });
    expect(m.counts().packs).toBe(3);
    const run = await m.maybeRun();
    expect(run).toMatchObject({ ok: true, full: true, after: { packs: 1 } });
    await repo.git.run(['fsck', '--no-dangling', '--no-progress']);
  });

  it('runs one at a time: a second call while one runs gets the same run', async () => {
    await populate();
    const m = new RepoMaintenance({ git: repo.git, sampleDirs: 256, looseLimit: 10, intervalMs: 0 });
    const [a, b] = await Promise.all([m.run(), m.run()]);
    expect(a).toBe(b);
    expect(m.runs).toBe(1);
  });

  it('reports a failure, backs off, and never throws', async () => {
    await populate();
    const logs: string[] = [];
    const m = new RepoMaintenance({ git: repo.git, sampleDirs: 256, looseLimit: 10, intervalMs: 0, log: (_l, msg) => logs.push(msg) });
    await repo.cleanup(); // the repository disappears under it
    const run = await m.run();
    expect(run.ok).toBe(false);
    expect(run.error).toMatch(/pack-refs|cannot change|not a git repository/);
    expect(logs.some((l) => l.startsWith('repository maintenance failed'))).toBe(true);
    expect(m.due()).toBe(false);
  });
});

describe('ObjectWriter after maintenance', () => {
  let repo: FixtureRepo;
  beforeEach(async () => {
    repo = await initRepo();
  });
  afterEach(async () => {
    vi.useRealTimers();
    await repo.cleanup();
  });

  it('writes a known object again once the hour is over, so a pruned one comes back', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const w = new ObjectWriter(repo.dir);
    const sha = await w.write('blob', 'state shard\n');
    const file = looseFile(repo.dir, sha);
    expect(existsSync(file)).toBe(true);
    // As if pruned while unreachable: within the hour the writer trusts its memory...
    rmSync(file, { force: true });
    await w.write('blob', 'state shard\n');
    expect(existsSync(file)).toBe(false);
    // ...after it, it writes (and so freshens) the object again.
    vi.setSystemTime(Date.now() + KNOWN_OBJECT_TTL_MS + 1);
    await w.write('blob', 'state shard\n');
    expect(existsSync(file)).toBe(true);
    expect(await repo.git.out(['cat-file', '-p', sha])).toBe('state shard');
  });
});
