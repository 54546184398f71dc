// API routes beyond the board: API tokens for `pushmanager login` (issue, list, revoke) and the
// notification outbox for `pushmanager outbox`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { hasRole, type UserActor } from '../../state/decide.js';
import type { TokenStore } from '../auth/token-store.js';
import type { Outbox } from '../notify/outbox.js';
import { HttpError, readJson, sendJson } from './http-util.js';

// eslint-disable-next-line no-control-regex
const loginBody = z.strictObject({ label: z.string().max(200).regex(/^[^\u0000-\u001f\u007f-\u009f]*$/, 'one line without control characters').optional() });

export function accountRoutes(deps: { tokens: TokenStore; tokenTtlMs: number; outbox: Outbox }) {
  return async (actor: UserActor, req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    const parts = url.pathname.split('/').filter(Boolean).slice(1);
    const method = req.method ?? 'GET';
    if (parts[0] === 'tokens') {
      if (method === 'POST' && parts.length === 1) {
        // JSON even when empty: a browser page of another site may send a form or text/plain POST with the
        // user's cached Basic credentials without asking first (no CORS preflight), and mint tokens.
        if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) throw new HttpError(415, 'unsupported-media-type', 'send the body as application/json (it may be {})');
        const body = loginBody.safeParse(req.headers['content-length'] === '0' ? {} : await readJson(req, 16 * 1024));
        if (!body.success) throw new HttpError(422, 'invalid-field', `${body.error.issues[0]!.path.join('.') || 'body'}: ${body.error.issues[0]!.message}`);
        const t = await deps.tokens.issue(actor.name, { ttlMs: deps.tokenTtlMs, label: body.data.label ?? '' });
        sendJson(res, 201, { token: t.token, id: t.id, expiresAt: t.expiresAt, user: actor.name });
        return true;
      }
      if (method === 'GET' && parts.length === 1) {
        sendJson(res, 200, { tokens: await deps.tokens.list(actor.name) });
        return true;
      }
      if (method === 'DELETE' && parts.length === 2) {
        const revoked = await deps.tokens.revoke(parts[1]!, hasRole(actor, 'admin') ? {} : { user: actor.name });
        if (!revoked) throw new HttpError(404, 'unknown-token', `no token ${parts[1]} of ${actor.name}`);
        sendJson(res, 200, { revoked });
        return true;
      }
    }
    if (parts[0] === 'outbox' && method === 'GET' && parts.length === 1) {
      // Deliveries carry people's addresses: pushmasters and admins only.
      if (!hasRole(actor, 'pushmaster') && !hasRole(actor, 'admin')) throw new HttpError(403, 'not-pushmaster', `${actor.name} is not a pushmaster; the outbox shows other people's addresses`);
      sendJson(res, 200, { entries: deps.outbox.list() });
      return true;
    }
    return false;
  };
}
