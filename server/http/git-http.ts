// Git smart HTTP, bridged to git's own `git http-backend` (CGI). The caller has authenticated the user;
// REMOTE_USER reaches the hooks, and the hook's way back to this server (the socket and the push's
// token) travels in the environment.
import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
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

export function serveGit(
  req: IncomingMessage,
  res: ServerResponse,
  opts: { projectRoot: string; route: GitRoute; user: string; remoteAddr: string; query: string; hook: { readonly socket: string; readonly token: string } | null },
): void {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
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
  // No CONTENT_LENGTH, on purpose: http-backend then lets the service read the body to its end, as for
  // a chunked request. With it, git 2.39's http-backend copies exactly that many bytes and, if the body
  // ends early (this server killed mid-push, so the pipe closes), reads EOF forever at full CPU: two
  // such orphans ran for minutes in the simulation. Node ends the pipe when the body ends.

  const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  req.pipe(child.stdin);
  child.stdin.on('error', () => undefined);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')).slice(-4000));

  let head: Buffer = Buffer.alloc(0);
  let headersDone = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (headersDone) {
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
  child.on('close', (code) => {
    if (!headersDone) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`git http-backend failed (exit ${code})\n`);
      return;
    }
    res.end();
  });
  child.on('error', () => {
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
  res.on('close', () => {
    // A client that went away must not leave a git process behind.
    if (!res.writableEnded && child.exitCode === null) child.kill('SIGTERM');
  });
}
