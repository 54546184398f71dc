// Disk full and a read-only data dir (issue 8): a clear error naming the cause, nothing half-written,
// the server stays up, and it works again once space or write access is back. The data dir is a small
// tmpfs mounted by the test (needs root, as in CI; elsewhere the test skips and says why).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { git, startFixture, type Fixture } from '../helpers/server-fixture.js';
import { tempDir, removeTempDirs } from '../helpers/temp-dir.js';
import { ServerRefusal } from '../../tui/client.js';
import { startServer } from '../../server/main.js';

const run = promisify(execFile);
let mountPoint = '';
let mounted = false;
let f: Fixture;
let why = '';

beforeAll(async () => {
  mountPoint = await tempDir('pm-tmpfs-');
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'size=12m', 'tmpfs', mountPoint]);
    mounted = true;
  } catch (e) {
    why = `cannot mount a tmpfs here (${(e as Error).message.split('\n')[0]}); needs root`;
    if (process.env.CI === 'true') throw new Error(why);
    return;
  }
  f = await startFixture({ dataDir: join(mountPoint, 'data') });
});

afterAll(async () => {
  await f?.close();
  if (mounted) await run('umount', ['-l', mountPoint]).catch(() => undefined);
  await removeTempDirs();
});

async function fill(): Promise<string> {
  const filler = join(mountPoint, 'filler');
  const chunk = Buffer.alloc(1024 * 1024);
  const { open } = await import('node:fs/promises');
  const h = await open(filler, 'w');
  try {
    for (;;) await h.write(chunk);
  } catch (e) {
    expect((e as NodeJS.ErrnoException).code).toBe('ENOSPC');
  } finally {
    await h.close();
  }
  return filler;
}

describe('storage faults', () => {
  it('disk full: a command is refused with "the disk is full", the state is unchanged, and it works once space is back', async (ctx) => {
    if (!mounted) return ctx.skip(why);
    const pm = f.client('pm');
    await pm.command({ type: 'OpenPush', title: 'before the disk filled' });
    const before = (await pm.board(true)).version;
    const filler = await fill();
    const comment = await pm.command({ type: 'PingmePush', push: 1, on: true }).catch((e: unknown) => e);
    expect(comment).toBeInstanceOf(ServerRefusal);
    expect((comment as ServerRefusal).status).toBe(507);
    expect((comment as ServerRefusal).message).toMatch(/the disk is full.*nothing was recorded/);
    expect((await pm.board(true)).version).toBe(before);
    expect((await fetch(`${f.server.url}/healthz`)).status).toBe(200);
    await rm(filler);
    await pm.command({ type: 'PingmePush', push: 1, on: true });
    expect((await pm.board(true)).version).not.toBe(before);
    const fsck = await git(f.server.repo.gitDir, ['fsck', '--no-dangling']);
    expect(fsck.code).toBe(0);
  });

  it('read-only data dir: the server refuses to start with a clear error and writes nothing', async (ctx) => {
    if (!mounted) return ctx.skip(why);
    const before = await git(f.server.repo.gitDir, ['for-each-ref', '--format=%(objectname) %(refname)']);
    await f.close();
    await run('mount', ['-o', 'remount,ro', mountPoint]);
    try {
      await expect(startServer({ port: 0, dataDir: join(mountPoint, 'data'), log: () => undefined })).rejects.toThrow(/data directory .* is read-only/);
    } finally {
      await run('mount', ['-o', 'remount,rw', mountPoint]);
    }
    expect((await git(f.server.repo.gitDir, ['for-each-ref', '--format=%(objectname) %(refname)'])).stdout).toBe(before.stdout);
    f = await startFixture({ dataDir: join(mountPoint, 'data') });
    await f.client('pm').command({ type: 'PingmePush', push: 1, on: false });
  });
});
