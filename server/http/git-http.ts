// Git smart HTTP, bridged to git's own `git http-backend` (CGI). The caller has authenticated the user;
// REMOTE_USER reaches the hooks, and the hook's way back to this server (the socket and the push's
// token) travels in the environment. With the git spawner running (server/git/git-spawner.ts) the git
// processes are started there, not forked from this process, and a push's two requests run
// `git receive-pack --stateless-rpc` directly, with the headers http-backend would have sent.
import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { GitSpawner, SpawnKind } from '../git/git-spawner.js';
import { HOOK_SOCKET_ENV, PUSH_TOKEN_ENV } from '../../hooks/hook-protocol.js';

/** Only the smart protocol's endpoints: no dumb-protocol file access, no other paths. */
const GIT_PATH = /^\/([A-Za-z0-9][A-Za-z0-9._-]*)\.git(\/info\/refs|\/git-upload-pack|\/git-receive-pack)$/;

export interface GitRoute {
  readonly repo: string;
  readonly pathInfo: string;
  readonly service: 'upload' | 'receive';
}

/** Parses a request path (already URL-decoded by the caller's strict check) into a git route, or null. */
export function matchGitPath(pathname: string, query: URLSearchParams): GitRoute | null {
  const m = GIT_PATH.exec(pathname);
  if (!m) return null;
  const [, repo, rest] = m as unknown as [string, string, string];
  if (rest === '/info/refs') {
    const svc = query.get('service');
    if (svc !== 'git-upload-pack' && svc !== 'git-receive-pack') return null;
    return { repo, pathInfo: `/${repo}.git${rest}`, service: svc === 'git-receive-pack' ? 'receive' : 'upload' };
  }
  return { repo, pathInfo: `/${repo}.git${rest}`, service: rest === '/git-receive-pack' ? 'receive' : 'upload' };
}

export interface ServeGitOptions {
  readonly projectRoot: string;
  readonly route: GitRoute;
  readonly user: string;
  readonly remoteAddr: string;
  readonly query: string;
  readonly hook: { readonly socket: string; readonly token: string } | null;
  /** Start git through the spawner (server/git/git-spawner.ts) while it runs; without one, fork here. */
  readonly spawner?: GitSpawner | null;
  /**
   * Refs hidden from receive-pack that a push may still name (the metadata branch): a push whose commands
   * name one runs with that ref shown again, so that it reaches the hook and is refused with the server's
   * reason on `remote:`, not git's bare "deny updating a hidden ref".
   */
  readonly revealOnPush?: readonly string[];
}

/** Largest command section read ahead of receive-pack to find the refs a push names (git sends them first). */
const MAX_COMMANDS_PEEK = 256 * 1024;

/**
 * The refs named by the commands at the head of a receive-pack request body (pkt-lines: optional `shallow`
 * lines, then `<old> <new> <ref>[\0caps]`, then a flush), 'more' while the section is not complete, or
 * null when it is not of that shape (a signed push's certificate, say): then nothing is read ahead.
 */
export function pushedRefs(body: Buffer): string[] | 'more' | null {
  const refs: string[] = [];
  let pos = 0;
  for (;;) {
    if (body.length < pos + 4) return 'more';
    const len = parseInt(body.toString('latin1', pos, pos + 4), 16);
    if (!Number.isInteger(len) || !/^[0-9a-f]{4}$/i.test(body.toString('latin1', pos, pos + 4))) return null;
    if (len === 0) return refs;
    if (len < 4) return null;
    if (body.length < pos + len) return 'more';
    let line = body.toString('latin1', pos + 4, pos + len);
    pos += len;
    const nul = line.indexOf('\0');
    if (nul >= 0) line = line.slice(0, nul);
    line = line.replace(/\n$/, '');
    if (line.startsWith('shallow ')) continue;
    const parts = line.split(' ');
    if (parts.length !== 3) return null;
    refs.push(parts[2]!);
  }
}

/**
 * Reads the request up to the end of its command section (at most MAX_COMMANDS_PEEK); what was read is
 * handed on. A client gone before that: nothing to start.
 */
function peekCommands(req: IncomingMessage, done: (head: Buffer, refs: string[] | null) => void): void {
  let head = Buffer.alloc(0);
  const finish = (refs: string[] | null) => {
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('close', onClose);
    req.pause();
    done(head, refs);
  };
  const onClose = () => {
    req.off('data', onData);
    req.off('end', onEnd);
  };
  req.on('close', onClose);
  const onData = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    const r = pushedRefs(head);
    if (r !== 'more') finish(r);
    else if (head.length > MAX_COMMANDS_PEEK) finish(null);
  };
  const onEnd = () => finish(null);
  req.on('data', onData);
  req.on('end', onEnd);
}

/** The receive-pack protocol version a request asks for, as git's own determine_protocol_version_server reads it. */
function protocolVersion(header: string | undefined): number {
  let v = 0;
  for (const item of (header ?? '').split(':')) {
    const m = /^version=(\d+)$/.exec(item);
    if (m) v = Math.max(v, Number(m[1]));
  }
  return v;
}

// What git http-backend sends before receive-pack's own output, for the two requests of a push. Only
// these two, and only in their plain form, skip http-backend; anything else (a wrong method or content
// type, a compressed body, fetches) is still http-backend's to answer.
const NO_CACHE = { expires: 'Fri, 01 Jan 1980 00:00:00 GMT', pragma: 'no-cache', 'cache-control': 'no-cache, max-age=0, must-revalidate' };

function receiveKind(req: IncomingMessage, route: GitRoute): { kind: SpawnKind; headers: Record<string, string>; preamble: Buffer } | null {
  if (route.service !== 'receive') return null;
  if (route.pathInfo.endsWith('/info/refs')) {
    if (req.method !== 'GET') return null;
    // http-backend writes the service line unless the client asked for protocol v2 (receive-pack then speaks v0).
    const line = '# service=git-receive-pack\n';
    const preamble = protocolVersion(req.headers['git-protocol'] as string | undefined) === 2 ? Buffer.alloc(0) : Buffer.from(`${(line.length + 4).toString(16).padStart(4, '0')}${line}0000`, 'latin1');
    return { kind: 'receive-refs', headers: { ...NO_CACHE, 'content-type': 'application/x-git-receive-pack-advertisement' }, preamble };
  }
  if (req.method !== 'POST' || req.headers['content-type'] !== 'application/x-git-receive-pack-request' || req.headers['content-encoding']) return null;
  return { kind: 'receive-rpc', headers: { ...NO_CACHE, 'content-type': 'application/x-git-receive-pack-result' }, preamble: Buffer.alloc(0) };
}

/** A started git child, however it was started: its input, its output, and how to stop it. */
interface GitChild {
  readonly stdin: Writable;
  readonly stdout: Readable;
  /** Output bytes, the spawner's pid line already taken off. */
  onData(cb: (chunk: Buffer) => void): void;
  onDone(cb: (code: number | null) => void): void;
  kill(): void;
}

function forkedChild(env: Record<string, string>): GitChild {
  const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'ignore'] });
  child.on('error', () => undefined); // 'close' follows, with no output: a 500
  return {
    stdin: child.stdin,
    stdout: child.stdout,
    onData: (cb) => child.stdout.on('data', cb),
    onDone: (cb) => child.on('close', (code) => cb(code)),
    kill: () => {
      if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
}

function spawnedChild(spawner: GitSpawner, kind: SpawnKind, env: Record<string, string>): GitChild {
  const { socket } = spawner.open(kind, env);
  let pid: number | null = null;
  let pidLine: Buffer | null = Buffer.alloc(0);
  let closed = false;
  socket.on('error', () => undefined); // 'close' follows
  socket.on('close', () => (closed = true));
  return {
    stdin: socket,
    stdout: socket,
    onData: (cb) =>
      socket.on('data', (chunk: Buffer) => {
        if (pidLine === null) return cb(chunk);
        pidLine = Buffer.concat([pidLine, chunk]);
        const nl = pidLine.indexOf(0x0a);
        if (nl < 0) {
          if (pidLine.length > 16) socket.destroy(); // not the spawner's pid line: no answer
          return;
        }
        pid = Number(pidLine.subarray(0, nl).toString('latin1')) || null;
        const rest = pidLine.subarray(nl + 1);
        pidLine = null;
        if (rest.length) cb(rest);
      }),
    // The spawner does not tell the exit code; no output at all is the failure that matters (a 500).
    onDone: (cb) => socket.on('close', () => cb(null)),
    kill: () => {
      if (closed) return;
      // The child holds the other end: ours closed, it gets EOF or EPIPE; SIGTERM stops one that waits on neither.
      if (pid) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      socket.destroy();
    },
  };
}

export function serveGit(req: IncomingMessage, res: ServerResponse, opts: ServeGitOptions): void {
  const reveal = opts.revealOnPush ?? [];
  const isPushRpc = opts.route.service === 'receive' && opts.route.pathInfo.endsWith('/git-receive-pack') && req.method === 'POST' && !req.headers['content-encoding'];
  if (!reveal.length || !isPushRpc) return startGit(req, res, opts, Buffer.alloc(0), []);
  peekCommands(req, (head, refs) => startGit(req, res, opts, head, refs ? reveal.filter((r) => refs.some((x) => x === r || x.startsWith(`${r}/`))) : []));
}

function startGit(req: IncomingMessage, res: ServerResponse, opts: ServeGitOptions, readAhead: Buffer, reveal: readonly string[]): void {
  const env: Record<string, string> = {
    GIT_PROJECT_ROOT: opts.projectRoot,
    GIT_HTTP_EXPORT_ALL: '1',
    PATH_INFO: opts.route.pathInfo,
    REMOTE_USER: opts.user,
    REMOTE_ADDR: opts.remoteAddr,
    REQUEST_METHOD: req.method ?? 'GET',
    QUERY_STRING: opts.query,
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    GIT_HTTP_MAX_REQUEST_BUFFER: '100M',
  };
  if (opts.hook) {
    env[HOOK_SOCKET_ENV] = opts.hook.socket;
    env[PUSH_TOKEN_ENV] = opts.hook.token;
  }
  if (req.headers['git-protocol']) env.GIT_PROTOCOL = String(req.headers['git-protocol']);
  if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = String(req.headers['content-encoding']);
  // A later `!ref` entry of receive.hideRefs shows the ref again, for this run of receive-pack only. The
  // spawner passes GIT_CONFIG_*_0 only (server/git/git-spawner.pl's %KEYS): one ref, the metadata branch.
  reveal.forEach((ref, i) => {
    env[`GIT_CONFIG_KEY_${i}`] = 'receive.hideRefs';
    env[`GIT_CONFIG_VALUE_${i}`] = `!${ref}`;
  });
  if (reveal.length) env.GIT_CONFIG_COUNT = String(reveal.length);
  // No CONTENT_LENGTH, on purpose: http-backend then lets the service read the body to its end, as for
  // a chunked request. With it, git 2.39's http-backend copies exactly that many bytes and, if the body
  // ends early (this server killed mid-push, so the pipe closes), reads EOF forever at full CPU: two
  // such orphans ran for minutes in the simulation. Node ends the pipe when the body ends.

  const spawner = opts.spawner?.alive ? opts.spawner : null;
  // receive-pack run directly, as http-backend would run it: its committer for the reflog, from the pusher.
  const direct = spawner ? receiveKind(req, opts.route) : null;
  let child: GitChild;
  if (spawner && direct) {
    env.GIT_COMMITTER_NAME = opts.user;
    env.GIT_COMMITTER_EMAIL = `${opts.user}@http.${opts.remoteAddr || '(none)'}`;
    env.PUSHMANAGER_GIT_DIR = join(opts.projectRoot, `${opts.route.repo}.git`);
    child = spawnedChild(spawner, direct.kind, env);
  } else if (spawner) child = spawnedChild(spawner, 'http-backend', env);
  else child = forkedChild({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env });
  if (readAhead.length) child.stdin.write(readAhead);
  // git probes a push whose pack is over its http.postBuffer (1 MiB) with a body of one flush-pkt
  // ("0000") before it sends the chunked body. receive-pack answers that with nothing; http-backend
  // would send its headers and an empty body, so the direct path must too, not a 500.
  let body = readAhead.subarray(0, 5);
  let bodyLength = readAhead.length;
  if (direct?.kind === 'receive-rpc')
    req.on('data', (chunk: Buffer) => {
      if (body.length < 5) body = Buffer.concat([body, chunk.subarray(0, 5 - body.length)]);
      bodyLength += chunk.length;
    });
  // A body that ended while its head was read ahead has no 'end' left for pipe() to pass on.
  if (req.readableEnded) child.stdin.end();
  else req.pipe(child.stdin);
  child.stdin.on('error', () => undefined);

  let head: Buffer = Buffer.alloc(0);
  let headersDone = false;
  child.onData((chunk: Buffer) => {
    if (headersDone) {
      res.write(chunk);
      return;
    }
    if (direct) {
      // Headers once receive-pack has said something: a child that fails before a byte is still a 500.
      headersDone = true;
      res.writeHead(200, direct.headers);
      if (direct.preamble.length) res.write(direct.preamble);
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    let end = head.indexOf('\r\n\r\n');
    let sep = 4;
    if (end < 0) {
      end = head.indexOf('\n\n');
      sep = 2;
    }
    if (end < 0) return;
    headersDone = true;
    let status = 200;
    for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
      const i = line.indexOf(':');
      if (i < 0) continue;
      const k = line.slice(0, i).trim();
      const v = line.slice(i + 1).trim();
      if (k.toLowerCase() === 'status') status = parseInt(v, 10) || 200;
      else res.setHeader(k, v);
    }
    res.writeHead(status);
    const rest = head.subarray(end + sep);
    if (rest.length) res.write(rest);
  });
  child.onDone((code) => {
    if (!headersDone && direct?.kind === 'receive-rpc' && bodyLength === 4 && body.toString('latin1') === '0000') {
      res.writeHead(200, direct.headers);
      res.end();
      return;
    }
    if (!headersDone) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`git ${direct ? 'receive-pack' : 'http-backend'} failed${code === null ? '' : ` (exit ${code})`}\n`);
      return;
    }
    res.end();
  });
  res.on('close', () => {
    // A client that went away must not leave a git process behind.
    if (!res.writableEnded) child.kill();
  });
}
