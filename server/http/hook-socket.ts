// The hooks' own door: a Unix socket in the data directory, which the proc-receive relay connects to.
// Only this server's user can reach it (the socket is 0600 in a 0700 directory), and only with the
// per-push token the git HTTP endpoint issued for an authenticated pusher (server/auth/push-tokens.ts).
// Over it the server speaks git's proc-receive protocol itself (hooks/hook-protocol.ts): the relay
// pipes receive-pack's bytes in and writes the band frames we send back to its stdout and stderr.
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import type { UserActor } from '../../state/actor.js';
import { PushmanagerError } from '../../state/pushmanager-error.js';
import { MAX_TOKEN_LINE, readPush, type HookResponse, type NextPacket } from '../../hooks/hook-protocol.js';
import { renderHookOutput } from '../../hooks/hook-report.js';
import { BAND, FLUSH, PacketReader, encodeBand, type Band, type Packet } from '../../hooks/pkt-line.js';
import { handleReceive, type ReceiveDeps } from '../../hooks/receive-handler.js';
import type { PushTokens } from '../auth/push-tokens.js';

export class HookSocketError extends PushmanagerError {
  constructor(
    readonly code: 'hook-socket-path-too-long' | 'hook-socket-in-use',
    message: string,
    data: Readonly<Record<string, unknown>> = {},
  ) {
    super(message, data);
  }
}

/** Where the socket lives: `<data>/run/hook.sock`. */
export const hookSocketPath = (dataDir: string): string => join(resolve(dataDir), 'run', 'hook.sock');

// sockaddr_un holds 108 bytes on Linux, the terminating NUL included.
const MAX_SOCKET_PATH = 107;

export interface HookSocketDeps {
  readonly tokens: PushTokens;
  readonly receive: ReceiveDeps;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
  readonly metrics?: { observePushAnswered(ms: number): void };
  /** A connection silent this long is dropped (git is gone); the push's own work is not timed. */
  readonly idleMs?: number;
}

export interface HookSocket {
  readonly path: string;
  close(): Promise<void>;
}

const answersOnSocket = (path: string) =>
  new Promise<boolean>((done) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      done(true);
    });
    s.once('error', () => done(false));
  });

export async function listenHookSocket(path: string, deps: HookSocketDeps): Promise<HookSocket> {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH)
    throw new HookSocketError('hook-socket-path-too-long', `the hook socket path ${path} is ${Buffer.byteLength(path)} bytes; a Unix socket path has at most ${MAX_SOCKET_PATH}: choose a data directory with a shorter path`, { path });
  const dir = dirname(path);
  // 0700 before the socket exists: nobody else can reach it in the moment before its own chmod.
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  if (await lstat(path).then(() => true, () => false)) {
    if (await answersOnSocket(path)) throw new HookSocketError('hook-socket-in-use', `another pushmanager server answers on ${path}: two servers cannot share a data directory`, { path });
    await unlink(path); // left by a crash
  }
  const open = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true }, (sock) => {
    open.add(sock);
    sock.on('close', () => open.delete(sock));
    serve(sock, deps);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(path, () => {
      server.off('error', fail);
      ok();
    });
  });
  await chmod(path, 0o600);
  return {
    path,
    async close() {
      for (const s of open) s.destroy();
      await new Promise((r) => server.close(r)); // also removes the socket file
    },
  };
}

function serve(sock: Socket, deps: HookSocketDeps): void {
  sock.setTimeout(deps.idleMs ?? 120_000, () => sock.destroy());
  sock.on('error', () => undefined); // the relay died: nothing to answer
  const send = (band: Band, bytes: string | Buffer) => {
    if (!sock.destroyed) sock.write(encodeBand(band, bytes));
  };
  const fatal = (why: string) => {
    send(BAND.fatal, `pushmanager hook failed: ${why}\n`);
    sock.end();
  };

  const reader = new PacketReader();
  let head: Buffer | null = Buffer.alloc(0); // the token line, until its newline has come
  let ended = false;
  let waiting: { resolve: (p: Packet) => void; reject: (e: Error) => void } | null = null;
  const pump = () => {
    if (!waiting) return;
    const w = waiting;
    let p: Packet | null;
    try {
      p = reader.next();
    } catch (e) {
      waiting = null;
      w.reject(e as Error);
      return;
    }
    if (p) {
      waiting = null;
      w.resolve(p);
    } else if (ended) {
      waiting = null;
      w.reject(new Error('git closed the pipe in the middle of a packet'));
    }
  };
  const next: NextPacket = () =>
    new Promise<Packet>((resolve, reject) => {
      waiting = { resolve, reject };
      pump();
    });

  sock.on('data', (chunk: Buffer) => {
    if (head === null) {
      reader.push(chunk);
      pump();
      return;
    }
    head = Buffer.concat([head, chunk]);
    const nl = head.indexOf(0x0a);
    if (nl < 0) {
      if (head.length > MAX_TOKEN_LINE) fatal('the push token line is too long; nothing was recorded');
      return;
    }
    const token = head.subarray(0, nl).toString('latin1');
    reader.push(head.subarray(nl + 1));
    head = null;
    // Taken at once, before a single packet is read: a refused token never reaches the push path.
    const actor = deps.tokens.take(token);
    if (!actor) {
      deps.log?.('warn', 'hook socket: a connection without a valid push token was refused');
      fatal('the push token is missing, unknown, expired or already used; nothing was recorded (push through the server\'s git URL)');
      return;
    }
    converse(actor).catch((e: unknown) => {
      deps.log?.('error', `hook conversation failed: ${(e as Error).stack ?? String(e)}`);
      sock.destroy();
    });
  });
  sock.on('end', () => {
    ended = true;
    pump();
  });

  async function converse(actor: UserActor): Promise<void> {
    let push: Awaited<ReturnType<typeof readPush>>;
    try {
      push = await readPush(next, (bytes) => send(BAND.stdout, bytes));
    } catch (e) {
      fatal((e as Error).message);
      return;
    }
    // From here the server works and git waits, as long as the push takes (the HTTP hook had no idle limit either).
    sock.setTimeout(0);
    const started = performance.now();
    // The token already names the pusher as the front door authenticated them: no second lookup.
    const receive: ReceiveDeps = { ...deps.receive, lookupUser: (name) => (name === actor.name ? Promise.resolve(actor) : deps.receive.lookupUser(name)) };
    let answer: HookResponse;
    try {
      answer = await handleReceive({ user: actor.name, ...push }, receive, started);
      deps.metrics?.observePushAnswered(performance.now() - started);
    } catch (e) {
      // The pusher sees why in git's own status line; the server stays up.
      deps.log?.('error', `push could not be recorded: ${(e as Error).message}`);
      const reason = (e as { code?: string }).code === 'store-write-failed' ? (e as Error).message : `the server failed to record the push (${(e as Error).message}); nothing was recorded`;
      answer = { results: push.commands.map((c) => ({ ref: c.ref, ok: false, reason })), messages: [reason] };
    }
    const out = renderHookOutput(answer);
    send(BAND.stderr, out.stderr);
    send(BAND.stdout, out.stdout);
    if (!sock.destroyed) sock.end(FLUSH);
  }
}
