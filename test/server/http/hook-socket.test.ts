// The hook socket on its own: what it answers through the real Perl relay when git's bytes are broken
// or the push path fails, and how it takes its place in the data directory (a crash's leftover socket
// is replaced; a live server's is not; a path too long for a Unix socket is refused, naming the path).
import { spawn } from 'node:child_process';
import { mkdtemp, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReceiveDeps } from '../../../hooks/receive-handler.js';
import { PushTokens } from '../../../server/auth/push-tokens.js';
import { hookSocketPath, listenHookSocket, type HookSocket } from '../../../server/http/hook-socket.js';
import { userActor } from '../../../state/actor.js';

const pkt = (s: string) => (Buffer.byteLength(s) + 4).toString(16).padStart(4, '0') + s;
const PUSH = `${pkt('version=1\0push-options\n')}0000${pkt(`${'0'.repeat(40)} ${'1'.repeat(40)} refs/pushreq/x\n`)}0000${pkt('title=x\n')}0000`;

function relay(socket: string, token: string, input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('perl', [join(process.cwd(), 'hooks', 'proc-receive.pl')], { env: { PATH: process.env.PATH ?? '', PUSHMANAGER_HOOK_SOCKET: socket, PUSHMANAGER_PUSH_TOKEN: token }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

const failing = (why: string): ReceiveDeps => {
  const no = () => Promise.reject(new Error(why));
  return { record: no, lookupUser: no, refs: { master: 'master', metadata: 'pushmanager', deployPrefix: 'deploy/' } };
};

let open: HookSocket[] = [];
afterEach(async () => {
  for (const s of open) await s.close();
  open = [];
});
async function start(dataDir: string, receive = failing('not reached')) {
  const tokens = new PushTokens();
  const s = await listenHookSocket(hookSocketPath(dataDir), { tokens, receive });
  open.push(s);
  return { s, tokens };
}

describe('the hook socket', () => {
  it('a broken pkt-line from git: the relay exits 1 saying so, and the push path is never reached', async () => {
    const { s, tokens } = await start(await mkdtemp(join(tmpdir(), 'pm-sock-')));
    const r = await relay(s.path, tokens.issue(userActor('alice')).token, 'zzzz');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('pushmanager hook failed: bad pkt-line length\n');
  });

  it('when the push path throws, every ref is refused with why, nothing recorded, and the socket keeps serving', async () => {
    const { s, tokens } = await start(await mkdtemp(join(tmpdir(), 'pm-sock-')), failing('disk on fire'));
    for (let i = 0; i < 2; i++) {
      const r = await relay(s.path, tokens.issue(userActor('alice')).token, PUSH);
      expect(r.code).toBe(0);
      const why = 'the server failed to record the push (disk on fire); nothing was recorded';
      expect(r.stderr).toBe(`${why}\n`);
      expect(r.stdout).toBe(`${pkt('version=1\0push-options')}0000${pkt(`ng refs/pushreq/x ${why}`)}0000`);
    }
  });

  it('replaces a socket a crash left behind; refuses to start beside a live one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pm-sock-'));
    const first = await start(dir);
    await expect(listenHookSocket(hookSocketPath(dir), { tokens: new PushTokens(), receive: failing('x') })).rejects.toMatchObject({ code: 'hook-socket-in-use' });
    // A crash leaves the file but nothing listening: here, a plain file where the socket was.
    await first.s.close();
    open = [];
    await writeFile(hookSocketPath(dir), '');
    const again = await start(dir);
    expect((await stat(again.s.path)).isSocket()).toBe(true);
    expect((await stat(again.s.path)).mode & 0o777).toBe(0o600);
  });

  it('refuses a data directory whose socket path would be too long, naming the path', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'pm-sock-')), 'x'.repeat(120));
    await expect(listenHookSocket(hookSocketPath(dir), { tokens: new PushTokens(), receive: failing('x') })).rejects.toMatchObject({ code: 'hook-socket-path-too-long', message: expect.stringContaining(hookSocketPath(dir)) });
  });
});
