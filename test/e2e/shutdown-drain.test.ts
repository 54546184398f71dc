// A SIGTERM (a restart, a deploy of the server) while a push is under way: the server stops taking
// connections at once but lets the push finish, so the pusher's `git push` succeeds and the request is
// on the board after the restart. Before, the stop cut the connection: git said "RPC failed" and nothing
// was recorded. Real git, the real server as its own process, and a TCP proxy between them that passes
// about 1 MB a second, so the push is surely under way when the signal comes.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, ServerProcess } from '../../bench/lib/proc.js';
import { PushmanagerClient } from '../../tui/client.js';
import { gitOk } from '../helpers/server-fixture.js';
import { until } from '../helpers/until.js';

/** A proxy to `port` that passes client → server bytes at about `bytesPerSec`, and notes when a receive-pack POST starts. */
async function slowProxy(port: number, bytesPerSec: number): Promise<{ url: string; pushStarted: Promise<void>; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let started!: () => void;
  const pushStarted = new Promise<void>((r) => (started = r));
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    upstream.pipe(client);
    // Client bytes go on in slices, one every 50 ms: the push's pack takes seconds to arrive.
    const slice = Math.max(1, Math.floor(bytesPerSec / 20));
    let queue = Buffer.alloc(0);
    let timer: NodeJS.Timeout | null = null;
    const pump = () => {
      const n = Math.min(slice, queue.length);
      if (n) upstream.write(queue.subarray(0, n));
      queue = queue.subarray(n);
      if (queue.length === 0) {
        timer = null;
        client.resume();
      } else timer = setTimeout(pump, 50);
    };
    client.on('data', (d: Buffer) => {
      if (d.includes('POST /main.git/git-receive-pack')) started();
      queue = Buffer.concat([queue, d]);
      client.pause();
      if (!timer) pump();
    });
    const end = () => {
      if (timer) clearTimeout(timer);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    pushStarted,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('a SIGTERM while a push is under way (real server process, real git)', () => {
  let dir: string;
  let server: ServerProcess;
  let proxy: Awaited<ReturnType<typeof slowProxy>>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pm-drain-'));
    server = new ServerProcess({ dataDir: join(dir, 'data') });
    await server.start();
    proxy = await slowProxy(server.port, 1_000_000);
  }, 60_000);

  afterAll(async () => {
    await proxy?.close();
    await server?.kill();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the push finishes and is recorded; the server stops after it, and new connections are refused meanwhile', async () => {
    const work = join(dir, 'alice');
    await gitOk(dir, ['clone', '-q', `${proxy.url.replace('://', '://alice:alice@')}/main.git`, work]);
    await gitOk(work, ['checkout', '-q', '-b', 'big']);
    // Random bytes do not compress: about 3 MB of pack, three seconds through the proxy.
    await writeFile(join(work, 'blob.bin'), randomBytes(3_000_000));
    await gitOk(work, ['add', 'blob.bin']);
    await gitOk(work, ['-c', 'user.name=alice', '-c', 'user.email=alice@example.com', 'commit', '-q', '-m', 'a big one']);
    const push = run('git', ['push', 'origin', 'big:refs/pushreq/big', '-o', 'title=Big one'], { cwd: work });
    await proxy.pushStarted;
    await new Promise((r) => setTimeout(r, 300));
    const stopping = server.stop();
    // The listener is closed at once: a new connection is refused while the push goes on.
    await until('the listener to close', async () => {
      try {
        await fetch(`${server.url}/healthz`);
        return false;
      } catch {
        return true;
      }
    }, 5_000, 20);
    const pushed = await push;
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stderr).toContain('see it: pushmanager request show 1');
    await stopping;
    expect(server.log).toContain('SIGTERM: shutting down');
    expect(server.log).not.toContain('cut short');
    await server.start();
    const board = await new PushmanagerClient({ server: server.url, user: 'alice', password: 'alice' }).board();
    expect(board.requests.map((r) => [r.id, r.title, r.ref])).toEqual([[1, 'Big one', 'refs/pushreq/big']]);
  }, 60_000);
});
