// docs/operations.md "Backups" and "Restore", done as an operator does them: a mirror clone of the managed
// repository taken while the server runs, more work after it, then the documented restore into the same
// data directory (whose notification and webhook cursors name commits the backup never had) and into a new one.
import { afterAll, describe, expect, it } from 'vitest';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfig } from '../../server/config/config.js';
import { gitOk, startFixture, type Fixture } from '../helpers/server-fixture.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

const open: Fixture[] = [];
afterAll(async () => {
  for (const f of open.splice(0)) await f.close();
  await removeTempDirs();
});

// A webhook receiver nobody listens on: the queue keeps retrying, which is all this test needs of it.
const config = parseConfig(['integrations:', '  webhooks:', '    - url: http://127.0.0.1:7549/hook', '      secret: 0123456789abcdef0123'].join('\n'), 'backup-restore test');

const boardOf = async (f: Fixture) => {
  const b = await f.client('pm').board(true);
  return {
    requests: b.requests.map((r) => ({ id: r.id, state: r.state, sha: r.sha, ref: r.ref, push: r.push })),
    pushes: b.pushes.map((p) => ({ id: p.id, state: p.state, requests: p.requests })),
  };
};

describe('backup and restore (docs/operations.md)', () => {
  it('a mirror taken while the server runs restores into the same data dir and into a new one, with the same board and history', async () => {
    const data = join(await tempDir(), 'data');
    const f = await startFixture({ dataDir: data, config });
    open.push(f);
    const alice = await f.clone('alice');
    await f.commit(alice, 'one', { 'one.txt': '1\n' });
    await gitOk(alice, ['push', '-q', 'origin', 'one:refs/pushreq/one', '-o', 'title=One']);
    const pm = f.client('pm');
    await pm.command({ type: 'OpenPush', title: 'Tue' });
    await pm.command({ type: 'AcceptRequests', push: 1, requests: [1] });
    await f.server.train.idle();
    await f.server.notifications.flushed();

    // The backup, while the server runs (docs: "safe while the server runs").
    const backup = join(await tempDir(), 'main.git');
    await gitOk(data, ['clone', '-q', '--mirror', f.server.repo.gitDir, backup]);
    const atBackup = await boardOf(f);
    const historyAtBackup = (await pm.requestDetail(1)).history.map((h) => h.version);

    // Work after the backup: the cursors of notifications and webhooks move past what the backup holds.
    await f.commit(alice, 'two', { 'two.txt': '2\n' });
    await gitOk(alice, ['push', '-q', 'origin', 'two:refs/pushreq/two', '-o', 'title=Two']);
    await f.server.train.idle();
    open.splice(open.indexOf(f), 1);
    await f.close();

    // Restore, step 2: replace the repository; step 3: start.
    const repos = join(data, 'repos');
    await rename(join(repos, 'main.git'), join(repos, 'main.git.broken'));
    await gitOk(repos, ['clone', '-q', '--mirror', backup, 'main.git']);
    const restored = await startFixture({ dataDir: data, config });
    open.push(restored);
    expect(await boardOf(restored)).toEqual(atBackup);
    expect((await restored.client('pm').requestDetail(1)).history.map((h) => h.version)).toEqual(historyAtBackup);
    // It takes pushes again: the request made after the backup is pushed anew.
    const work = await restored.clone('alice');
    await restored.commit(work, 'two', { 'two.txt': '2\n' });
    await gitOk(work, ['push', '-q', 'origin', 'two:refs/pushreq/two', '-o', 'title=Two']);
    expect((await boardOf(restored)).requests.map((r) => r.ref)).toEqual(['refs/pushreq/one', 'refs/pushreq/two']);

    // Into a new server: a fresh data dir holding only the mirror.
    const fresh = join(await tempDir(), 'data');
    await gitOk(backup, ['clone', '-q', '--mirror', backup, join(fresh, 'repos', 'main.git')]);
    const second = await startFixture({ dataDir: fresh, config });
    open.push(second);
    expect(await boardOf(second)).toEqual(atBackup);
  }, 60_000);
});
