// The two proc-receive relays (Node: dist/hooks/proc-receive.js, Perl: hooks/proc-receive.pl) fed the
// same bytes git would send, against a stand-in for the server's Unix socket that records what reaches
// it and answers with chosen band frames: both must pass every byte through unchanged, both ways, and
// write byte-for-byte the same thing. What the bytes mean is the server's (hook-socket.test.ts and the
// e2e tests). Child processes are spawned asynchronously: the socket they call runs in this process.
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BAND, FLUSH, encodeBand } from '../../hooks/pkt-line.js';

const ROOT = process.cwd();
const RUNTIMES = {
  node: [process.execPath, join(ROOT, 'dist', 'hooks', 'proc-receive.js')],
  perl: ['perl', join(ROOT, 'hooks', 'proc-receive.pl')],
} as const;
type Runtime = keyof typeof RUNTIMES;

const pkt = (data: Buffer | string) => {
  const b = Buffer.from(data);
  return Buffer.concat([Buffer.from((b.length + 4).toString(16).padStart(4, '0')), b]);
};

interface HookRun {
  code: number | null;
  stdout: Buffer;
  stderr: Buffer;
}

function runHook(runtime: Runtime, input: Buffer, env: Record<string, string>): Promise<HookRun> {
  const [cmd, script] = RUNTIMES[runtime];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [script], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err) }));
    child.stdin.on('error', () => undefined); // a relay that exits early closes its stdin
    child.stdin.end(input);
  });
}

// The stand-in: records every byte of a connection; once the relay's stdin has ended (it half-closes
// the socket), sends `answer()`'s frames and closes.
let received: Buffer[] = [];
let answer: () => Buffer = () => Buffer.from(FLUSH);
const sockets = new Set<Socket>();
const server = createServer({ allowHalfOpen: true }, (sock) => {
  sockets.add(sock);
  const got: Buffer[] = [];
  sock.on('data', (c: Buffer) => got.push(c));
  sock.on('end', () => {
    received.push(Buffer.concat(got));
    sock.end(answer());
  });
  sock.on('error', () => undefined);
});
let socketPath = '';

beforeAll(async () => {
  socketPath = join(await mkdtemp(join(tmpdir(), 'pm-relay-')), 'hook.sock');
  await new Promise<void>((r) => server.listen(socketPath, r));
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
});

async function both(input: Buffer, env: Record<string, string>) {
  const runs = {} as Record<Runtime, HookRun & { sent?: Buffer }>;
  for (const rt of Object.keys(RUNTIMES) as Runtime[]) {
    received = [];
    const r = await runHook(rt, input, env);
    runs[rt] = { ...r, sent: received[0] };
  }
  return runs;
}

const envFor = (path: string, token = 'tok-123') => ({ PUSHMANAGER_HOOK_SOCKET: path, PUSHMANAGER_PUSH_TOKEN: token });
const EVERY_BYTE = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const A = '0'.repeat(40);
const B = 'b'.repeat(40);
/** What git sends: capabilities, commands, options, with every byte value in an option. */
const GIT_INPUT = Buffer.concat([pkt('version=1\0atomic push-options\n'), Buffer.from(FLUSH), pkt(`${A} ${B} refs/pushreq/café\n`), Buffer.from(FLUSH), pkt(Buffer.concat([Buffer.from('description='), EVERY_BYTE])), Buffer.from(FLUSH)]);

describe('both relays are the same byte pipe', () => {
  it('send the token line, then git\'s bytes unchanged; write each band\'s bytes unchanged (every byte value, frames split past 64 KiB)', async () => {
    const bigStderr = Buffer.concat(Array.from({ length: 300 }, () => EVERY_BYTE)); // 76,800 bytes: two frames
    const stdout = Buffer.concat([pkt('version=1\0push-options'), Buffer.from(FLUSH), pkt('ok refs/pushreq/café'), pkt('option forced-update'), Buffer.from(FLUSH)]);
    answer = () => Buffer.concat([encodeBand(BAND.stdout, stdout.subarray(0, 10)), encodeBand(BAND.stderr, bigStderr), encodeBand(BAND.stdout, stdout.subarray(10)), Buffer.from(FLUSH)]);
    const { node, perl } = await both(GIT_INPUT, envFor(socketPath));
    for (const r of [node, perl]) {
      expect(r.code).toBe(0);
      expect(r.sent!.equals(Buffer.concat([Buffer.from('tok-123\n'), GIT_INPUT]))).toBe(true);
      expect(r.stdout.equals(stdout)).toBe(true);
      expect(r.stderr.equals(bigStderr)).toBe(true);
    }
  });

  it('a token with a newline in it cannot start a second line: newlines are dropped', async () => {
    answer = () => Buffer.from(FLUSH);
    const { node, perl } = await both(GIT_INPUT, envFor(socketPath, 'a\r\nb\n'));
    for (const r of [node, perl]) expect(r.sent!.subarray(0, 3).toString()).toBe('ab\n');
  });

  it.each(['node', 'perl'] as const)('%s: a fatal frame goes to stderr, then exit 1', async (rt) => {
    answer = () => Buffer.concat([encodeBand(BAND.stderr, 'first\n'), encodeBand(BAND.fatal, 'pushmanager hook failed: bad pkt-line length\n')]);
    const r = await runHook(rt, GIT_INPUT, envFor(socketPath));
    expect(r.code).toBe(1);
    expect(r.stderr.toString()).toBe('first\npushmanager hook failed: bad pkt-line length\n');
  });

  it.each(['node', 'perl'] as const)('%s: fails (exit 1, says why) when the server closes without its closing flush', async (rt) => {
    answer = () => encodeBand(BAND.stdout, 'half');
    const r = await runHook(rt, GIT_INPUT, envFor(socketPath));
    expect(r.code).toBe(1);
    expect(r.stdout.toString()).toBe('half');
    expect(r.stderr.toString()).toBe('pushmanager hook failed: the server closed the connection without an answer\n');
  });

  it.each(['node', 'perl'] as const)('%s: fails when the server sends a frame that is not one', async (rt) => {
    answer = () => Buffer.from('zzzz');
    const r = await runHook(rt, GIT_INPUT, envFor(socketPath));
    expect(r.code).toBe(1);
    expect(r.stderr.toString()).toBe('pushmanager hook failed: the server sent a bad frame\n');
  });

  it('say the same thing, exit 1, when nothing listens or the variable is missing', async () => {
    const dead = `${socketPath}.gone`;
    const cases: [Record<string, string>, string][] = [
      [envFor(dead), `pushmanager server unreachable (connect to ${dead}: ENOENT); nothing was recorded, try again\n`],
      [{}, 'pushmanager server unreachable (PUSHMANAGER_HOOK_SOCKET is not set); nothing was recorded, try again\n'],
    ];
    for (const [env, said] of cases) {
      const { node, perl } = await both(GIT_INPUT, env);
      for (const r of [node, perl]) {
        expect(r.code).toBe(1);
        expect(r.stderr.toString()).toBe(said);
        expect(r.stdout.length).toBe(0);
      }
    }
  });
});

describe('the Perl relay, started once per push, loads nothing it does not need', () => {
  /** Runs the Perl relay with an @INC hook first in line that reports each module perl looks for (and lets perl find it). */
  const traced = (env: Record<string, string>): Promise<HookRun & { loaded: string[] }> =>
    new Promise((resolve, reject) => {
      const script = RUNTIMES.perl[1];
      const prog = `BEGIN { unshift @INC, sub { print STDERR "LOADED $_[1]\\n"; return } } do $ENV{RELAY} or do { print STDERR $@; exit 9 }`;
      const child = spawn('perl', ['-e', prog], { env: { PATH: process.env.PATH ?? '', RELAY: script, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      child.on('error', reject);
      child.on('close', (code) => {
        const text = Buffer.concat(err).toString();
        const loaded = [...text.matchAll(/^LOADED (\S+)$/gm)].map((m) => m[1]!);
        resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.from(text.replace(/^LOADED \S+\n/gm, '')), loaded });
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(GIT_INPUT);
    });

  it.skipIf(process.platform !== 'linux')('on Linux relays a whole push with strict.pm alone (no Socket, Carp, Exporter or Errno)', async () => {
    answer = () => Buffer.concat([encodeBand(BAND.stderr, 'remote says hi\n'), Buffer.from(FLUSH)]);
    received = [];
    const r = await traced(envFor(socketPath));
    expect(r.code, r.stderr.toString()).toBe(0);
    expect(r.stderr.toString()).toBe('remote says hi\n');
    expect(received[0]!.equals(Buffer.concat([Buffer.from('tok-123\n'), GIT_INPUT]))).toBe(true);
    expect(r.loaded).toEqual(['strict.pm']);
  });

  it('loads Socket (and Errno for the name) only when it cannot connect, and says why as before', async () => {
    const dead = `${socketPath}.gone`;
    const r = await traced(envFor(dead));
    expect(r.code).toBe(1);
    expect(r.stderr.toString()).toBe(`pushmanager server unreachable (connect to ${dead}: ENOENT); nothing was recorded, try again\n`);
    expect(r.loaded).toEqual(expect.arrayContaining(['Socket.pm', 'Errno.pm']));
  });
});
