// Issue 2: on start the server makes refs and state agree again, so nothing is lost while it was down.
import { afterAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { git, gitOk, startFixture, type Fixture } from '../helpers/server-fixture.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

let f: Fixture | undefined;
afterAll(async () => {
  await f?.close();
  await removeTempDirs();
});

describe('reconcile at start-up', () => {
  it('adopts an unknown refs/pushreq ref, withdraws a request whose ref is gone, follows a moved ref', async () => {
    const data = join(await tempDir(), 'data');
    f = await startFixture({ dataDir: data });
    const alice = await f.clone('alice');
    const keep = await f.commit(alice, 'keep', { 'keep.txt': 'keep\n' });
    await gitOk(alice, ['push', '-q', 'origin', 'keep:refs/pushreq/keep']);
    await f.commit(alice, 'gone', { 'gone.txt': 'gone\n' });
    await gitOk(alice, ['push', '-q', 'origin', 'gone:refs/pushreq/gone']);
    const moved = await f.commit(alice, 'moved', { 'moved.txt': 'moved\n' });
    await gitOk(alice, ['push', '-q', 'origin', 'moved:refs/pushreq/tmp-moved']);
    await f.server.train.idle();
    const gitDir = f.server.repo.gitDir;
    await f.close();
    const beforeRestart = await gitOk(gitDir, ['rev-parse', 'refs/heads/pushmanager/meta']);

    // While the server is down, refs move behind its back (an operator, a restore from backup).
    await gitOk(gitDir, ['update-ref', '-d', 'refs/pushreq/gone']);
    // A commit by alice that no request knows (the owner is taken from a known author).
    const orphan = (await git(gitDir, ['commit-tree', 'master^{tree}', '-p', 'master', '-m', 'orphan'], { GIT_AUTHOR_NAME: 'alice' })).stdout.trim();
    await gitOk(gitDir, ['update-ref', 'refs/pushreq/adopt-me', orphan]);
    await gitOk(gitDir, ['update-ref', 'refs/pushreq/keep', moved]);
    // A crash in the middle of git update-ref leaves its lock file; it must not block writes forever.
    await writeFile(join(gitDir, 'refs', 'heads', 'pushmanager', 'meta.lock'), '');

    f = await startFixture({ dataDir: data });
    expect(f.server.reconciled.withdrawn).toEqual(['refs/pushreq/gone']);
    expect(f.server.reconciled.adopted).toEqual(['refs/pushreq/adopt-me']);
    expect(f.server.reconciled.updated).toEqual(['refs/pushreq/keep']);
    const board = await f.client('alice').board(true);
    const byRef = (ref: string) => board.requests.filter((r) => r.ref === ref);
    expect(byRef('refs/pushreq/gone')[0]).toMatchObject({ state: 'discarded', reason: expect.stringMatching(/deleted outside pushmanager/) });
    expect(byRef('refs/pushreq/adopt-me')[0]).toMatchObject({ state: 'requested', sha: orphan, user: 'alice' });
    expect(byRef('refs/pushreq/keep')[0]).toMatchObject({ sha: moved });
    // Nobody did these: the audit trail names the system and why, never alice (issue 14), and the adopted
    // request's owner is a guess from the commit's author, marked as such.
    await f.server.train.idle();
    const mine = (await gitOk(gitDir, ['log', '--format=%H', `${beforeRestart}..refs/heads/pushmanager/meta`])).split('\n');
    const fixes: string[] = [];
    for (const c of mine) {
      const t = await gitOk(gitDir, ['log', '-1', '--format=%(trailers:key=Pushmanager-Command,key=Pushmanager-Actor,key=Pushmanager-Cause,valueonly,separator=%x20)', c]);
      if (/^Record(Conflicts|Build) /.test(t)) continue; // the train's own checks after start-up
      const events = JSON.parse(await gitOk(gitDir, ['show', `${c}:events.json`])) as { actor: string; cause?: string }[];
      fixes.push(`${t} ${events.map((e) => `${e.actor}/${e.cause}`).join(',')}`);
    }
    expect(fixes.sort()).toEqual(['OpenRequest pushmanager reconcile pushmanager/reconcile', 'UpdateRequest pushmanager reconcile pushmanager/reconcile', 'WithdrawRequest pushmanager reconcile pushmanager/reconcile']);
    const adopted = (await f.server.dispatcher.read()).board.requests[byRef('refs/pushreq/adopt-me')[0]!.id]!;
    expect(adopted).toMatchObject({ user: 'alice', ownerInferredFrom: 'commit-author' });
    expect((await f.server.dispatcher.read()).board.requests[byRef('refs/pushreq/keep')[0]!.id]!.ownerInferredFrom).toBeUndefined();
    expect(f.server.repo.staleLocks).toEqual(['refs/heads/pushmanager/meta.lock']);
    await f.client('alice').command({ type: 'CommentRequest', request: byRef('refs/pushreq/keep')[0]!.id, text: 'writes work again' });
    expect(keep).not.toBe(moved);
    // A second start finds nothing to do.
    await f.close();
    f = await startFixture({ dataDir: data });
    expect(f.server.reconciled).toEqual({ adopted: [], withdrawn: [], updated: [] });
    expect((await git(gitDir, ['fsck', '--no-dangling'])).code).toBe(0);
  });
});
