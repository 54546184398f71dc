// Small HTTP helpers: JSON answers, bounded body reading, strict path checks.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PushmanagerError } from '../../state/pushmanager-error.js';

/** A request the server answers with an error status: the body is `{ error: toJSON() }`. */
export class HttpError extends PushmanagerError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    data: Record<string, unknown> = {},
  ) {
    super(message, data);
  }
}

/** Credentials refused (401), throttled (429) or the directory down (503); a 429 says when to come back. */
export class AuthRefused extends HttpError {
  constructor(
    status: number,
    code: string,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(status, code, message);
  }

  /** Answer in text/plain (for git clients, which show such a body to the user). */
  asText = false;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, e: HttpError, headers: Record<string, string> = {}): void {
  if (e instanceof AuthRefused && e.asText) {
    const text = `${e.message} [${e.code}]\n`;
    res.writeHead(e.status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
    res.end(text);
    return;
  }
  sendJson(res, e.status, { error: e.toJSON() }, headers);
}

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      reject(new HttpError(413, 'body-too-large', `request body is ${declared} bytes; at most ${limit}`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        // Drain the rest instead of destroying the socket, so the client gets its 413.
        chunks.length = 0;
        if (size - c.length <= limit) reject(new HttpError(413, 'body-too-large', `request body is larger than ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = String(req.headers['content-type'] ?? '');
  if (!type.startsWith('application/json')) throw new HttpError(415, 'unsupported-media-type', 'send the body as application/json');
  const body = await readBody(req, limit);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new HttpError(400, 'bad-json', `request body is not JSON: ${(e as Error).message}`);
  }
}

/**
 * Refuses paths that try to climb out or hide what they are: dot segments, encoded slashes or dots,
 * backslashes, NUL and other controls. Checked on the raw path, before any decoding.
 */
export function checkRawPath(rawUrl: string): string | null {
  const path = rawUrl.split('?')[0] ?? '';
  if (!path.startsWith('/')) return 'the path must start with /';
  if (path.startsWith('//')) return 'the path must not start with //';
  if (path.length > 2048) return 'the path is too long';
  if (/%(2e|2f|5c|00)/i.test(path)) return 'encoded dots, slashes and NULs are not allowed in paths';
  // eslint-disable-next-line no-control-regex
  if (/[\\\u0000-\u001f\u007f]/.test(path)) return 'backslashes and control characters are not allowed in paths';
  if (path.split('/').some((seg) => seg === '.' || seg === '..')) return 'dot segments are not allowed in paths';
  return null;
}
