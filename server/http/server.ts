// The HTTP front door: git smart HTTP (bridged to git http-backend), the JSON API and its event stream,
// the hook endpoint (loopback + per-start secret), health. Every git and API request is authenticated.
import { timingSafeEqual } from 'node:crypto';
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { userActor, type UserActor } from '../../state/decide.js';
import { handleReceive, type ReceiveDeps } from '../../hooks/receive-handler.js';
import { HOOK_PATH, HOOK_REPORT_TYPE, HOOK_SECRET_HEADER, type HookRequest, type HookResponse } from '../../hooks/hook-protocol.js';
import { encodeHookReport } from '../../hooks/hook-report.js';
import type { Authenticator } from '../auth/authenticator.js';
import { isLoopbackHost, normalizeRemoteAddress } from '../auth/net-address.js';
import type { Config } from '../config/config.js';
import type { ManagedRepo } from '../repo/managed-repo.js';
import { handleApi, type ApiDeps } from './api.js';
import { METRICS_CONTENT_TYPE } from './metrics.js';
import { matchGitPath, serveGit } from './git-http.js';
import { AuthRefused, HttpError, checkRawPath, readJson, sendError, sendJson } from './http-util.js';

export interface ServerDeps extends ApiDeps {
  readonly config: Config;
  readonly repo: ManagedRepo;
  readonly authenticator: Authenticator;
  readonly hookSecret: string;
  readonly receive: Omit<ReceiveDeps, 'lookupUser'> & { lookupUser: ReceiveDeps['lookupUser'] };
  /** Set once listening: how hooks reach this server. */
  hookUrl: string;
}

const AUTH_STATUS: Record<string, number> = { 'bad-credentials': 401, 'unknown-user': 401, 'rate-limited': 429, 'directory-unavailable': 503 };

export async function authenticate(deps: Pick<ServerDeps, 'authenticator'>, req: IncomingMessage): Promise<UserActor> {
  const r = await deps.authenticator.authenticateHeader(req.headers.authorization, req.socket.remoteAddress ?? '');
  // Whoever the directory authenticates is a user, whatever the name: system work never comes through HTTP.
  if (r.ok) return userActor(r.user.name, r.user);
  throw new AuthRefused(AUTH_STATUS[r.code] ?? 401, r.code, r.message, r.retryAfterMs);
}

function authHeaders(e: HttpError): Record<string, string> {
  const h: Record<string, string> = {};
  if (e.status === 401) h['www-authenticate'] = 'Basic realm="pushmanager", charset="UTF-8"';
  if (e.status === 429 && e instanceof AuthRefused && e.retryAfterMs) h['retry-after'] = String(Math.ceil(e.retryAfterMs / 1000));
  return h;
}

function secretMatches(given: string | string[] | undefined, secret: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function route(deps: ServerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const raw = req.url ?? '/';
  const bad = checkRawPath(raw);
  if (bad) throw new HttpError(400, 'bad-path', bad);
  const url = new URL(raw, 'http://localhost');
  const path = url.pathname;

  if (path === '/healthz' && req.method === 'GET') {
    const snap = await deps.dispatcher.read();
    sendJson(res, 200, { ok: true, version: snap.version, pending: deps.dispatcher.pending });
    return;
  }

  if (path === '/metrics' && req.method === 'GET' && deps.metrics) {
    // Counts only, no names; still, only loopback scrapers unless the operator opens it up.
    if (!deps.config.server.metricsPublic && !isLoopbackHost(normalizeRemoteAddress(req.socket.remoteAddress ?? '')))
      throw new HttpError(403, 'forbidden', 'metrics are served to loopback only (set server.metricsPublic: true to open them)');
    const text = deps.metrics.render();
    res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
    res.end(text);
    return;
  }

  const git = matchGitPath(path, url.searchParams);
  if (git) {
    const actor = await authenticate(deps, req);
    if (git.repo !== deps.repo.name) throw new HttpError(404, 'no-such-repository', `no repository ${git.repo}; this server manages ${deps.repo.name}.git`);
    serveGit(req, res, {
      projectRoot: dirname(deps.repo.gitDir),
      route: git,
      user: actor.name,
      remoteAddr: req.socket.remoteAddress ?? '',
      query: url.search.slice(1),
      env: { PUSHMANAGER_HOOK_URL: deps.hookUrl, PUSHMANAGER_HOOK_SECRET: deps.hookSecret },
    });
    return;
  }

  if (path.startsWith('/api/')) {
    const actor = await authenticate(deps, req);
    await handleApi(deps, actor, req, res, url);
    return;
  }
  throw new HttpError(404, 'not-found', `nothing at ${path}`);
}

/**
 * The hooks' own door: plain HTTP on 127.0.0.1 at a random port, separate from the public server (which
 * may be HTTPS and bound elsewhere), answering one path, and only with the secret this process made.
 */
export function createHookServer(deps: ServerDeps): Server {
  return http.createServer((req, res) => {
    (async () => {
      if (req.url !== HOOK_PATH || req.method !== 'POST' || !isLoopbackHost(normalizeRemoteAddress(req.socket.remoteAddress ?? '')) || !secretMatches(req.headers[HOOK_SECRET_HEADER], deps.hookSecret))
        throw new HttpError(403, 'forbidden', 'not allowed');
      const body = (await readJson(req, 1024 * 1024)) as HookRequest;
      // The Perl hook has no JSON parser: it asks for the bytes it will write, rendered here.
      const wantsReport = String(req.headers.accept ?? '').includes(HOOK_REPORT_TYPE);
      const answerWith = (answer: HookResponse) => {
        if (!wantsReport) return sendJson(res, 200, answer);
        const report = encodeHookReport(answer);
        res.writeHead(200, { 'content-type': HOOK_REPORT_TYPE, 'content-length': report.length });
        res.end(report);
      };
      try {
        const started = performance.now();
        const answer = await handleReceive(body, deps.receive, started);
        deps.metrics?.observePushAnswered(performance.now() - started);
        answerWith(answer);
      } catch (e) {
        // The pusher sees why in git's own status line; the server stays up.
        deps.log?.('error', `push could not be recorded: ${(e as Error).message}`);
        const reason = (e as { code?: string }).code === 'store-write-failed' ? (e as Error).message : `the server failed to record the push (${(e as Error).message}); nothing was recorded`;
        answerWith({ results: body.commands.map((c) => ({ ref: c.ref, ok: false, reason })), messages: [reason] });
      }
    })().catch((e: unknown) => {
      if (e instanceof HttpError) sendError(res, e);
      else {
        deps.log?.('error', `hook call failed: ${(e as Error).stack ?? String(e)}`);
        sendError(res, new HttpError(500, 'internal-error', (e as Error).message));
      }
    });
  });
}

export function createServer(deps: ServerDeps): Server {
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    route(deps, req, res).catch((e: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (e instanceof HttpError) sendError(res, e, authHeaders(e));
      else if ((e as { code?: string }).code === 'store-write-failed') sendError(res, new HttpError(507, 'store-write-failed', (e as Error).message));
      else {
        deps.log?.('error', `request ${req.method} ${req.url?.slice(0, 200)} failed: ${(e as Error).stack ?? String(e)}`);
        sendError(res, new HttpError(500, 'internal-error', `internal error: ${(e as Error).message}`));
      }
    });
  };
  const tls = deps.config.server.tls;
  const server = tls ? https.createServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, handler) : http.createServer(handler);
  server.headersTimeout = 30_000;
  server.requestTimeout = 0; // big pushes may take long; idle sockets are closed by keepAlive
  return server;
}
