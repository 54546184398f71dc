// The HTTP front door: git smart HTTP (bridged to git http-backend), the JSON API and its event stream,
// health. Every git and API request is authenticated. The hooks come back through a Unix socket
// instead (hook-socket.ts), with a per-push token issued here.
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { userActor, type UserActor } from '../../state/decide.js';
import type { ReceiveDeps } from '../../hooks/receive-handler.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { PushTokens } from '../auth/push-tokens.js';
import { isLoopbackHost, normalizeRemoteAddress } from '../auth/net-address.js';
import type { Config } from '../config/config.js';
import type { GitSpawner } from '../git/git-spawner.js';
import { metadataRef, type ManagedRepo } from '../repo/managed-repo.js';
import { handleApi, type ApiDeps } from './api.js';
import { METRICS_CONTENT_TYPE } from './metrics.js';
import { matchGitPath, serveGit } from './git-http.js';
import type { InFlight } from './in-flight.js';
import { AuthRefused, HttpError, checkRawPath, sendError, sendJson } from './http-util.js';

export interface ServerDeps extends ApiDeps {
  readonly config: Config;
  readonly repo: ManagedRepo;
  readonly authenticator: Authenticator;
  readonly receive: Omit<ReceiveDeps, 'lookupUser'> & { lookupUser: ReceiveDeps['lookupUser'] };
  /** The hook socket (hook-socket.ts) and the per-push tokens it takes: how a push's hook reaches us. */
  readonly hookSocket: string;
  readonly pushTokens: PushTokens;
  /** Starts the git processes of each request (server/git/git-spawner.ts); absent or dead: they fork from here. */
  readonly gitSpawner?: GitSpawner | null;
  /** The writes under way (POSTs), which a stopping server lets finish (server/main.ts close). */
  readonly inFlight?: InFlight;
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

/**
 * A server on loopback answers only requests addressed to it by a loopback name (or its publicUrl's). A
 * web page can point a name of its own at 127.0.0.1 (DNS rebinding) and then read what this server
 * answers it, as the same origin: with the demo users' well-known passwords that is the whole board and
 * every pushmaster command. The browser still sends the page's name as Host, so that is what is checked.
 */
export function misdirectedHost(cfg: Config['server'], hostHeader: string | undefined): string | null {
  if (!isLoopbackHost(cfg.host) || hostHeader === undefined) return null;
  let name: string;
  try {
    name = new URL(`http://${hostHeader}`).hostname;
  } catch {
    return 'the Host header is not a host name';
  }
  if (isLoopbackHost(name)) return null;
  if (cfg.publicUrl && new URL(cfg.publicUrl).hostname === name) return null;
  return `this server listens on ${cfg.host} and answers requests addressed to it by a loopback name only, not "${name}" (behind a proxy that forwards another name, set server.publicUrl)`;
}

export async function route(deps: ServerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const misdirected = misdirectedHost(deps.config.server, req.headers.host);
  if (misdirected) throw new HttpError(421, 'misdirected-host', misdirected);
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
    const actor = await authenticate(deps, req).catch((e: unknown) => {
      // git prints a text/plain error body as "remote: …" but drops a JSON one: an LDAP outage or a
      // throttle would read as a bare "The requested URL returned error: 503".
      if (e instanceof AuthRefused) e.asText = true;
      throw e;
    });
    if (git.repo !== deps.repo.name) throw new HttpError(404, 'no-such-repository', `no repository ${git.repo}; this server manages ${deps.repo.name}.git`);
    // Only the receive-pack run itself starts the hook: it alone gets a token, which dies with the request.
    const push = git.service === 'receive' && git.pathInfo.endsWith('/git-receive-pack') ? deps.pushTokens.issue(actor) : null;
    if (push) res.once('close', push.revoke);
    serveGit(req, res, {
      projectRoot: dirname(deps.repo.gitDir),
      route: git,
      user: actor.name,
      remoteAddr: req.socket.remoteAddress ?? '',
      query: url.search.slice(1),
      hook: push && { socket: deps.hookSocket, token: push.token },
      spawner: deps.gitSpawner,
      revealOnPush: [metadataRef(deps.config.repository)],
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

export function createServer(deps: ServerDeps): Server {
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    deps.inFlight?.track(req, res);
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
