// The HTTP client every terminal front end uses (CLI verbs and the dashboard): one place for the server
// URL, credentials, typed refusals and the event stream.
import type { ApiCommandInput, BoardView, CommandAnswer, JobDetail, PushDetail, RequestDetail, StatusJob, WhoAmI } from '../state/wire.js';
import { PushmanagerError } from '../state/pushmanager-error.js';
import http from 'node:http';
import https from 'node:https';
import { storedToken } from './credentials.js';

/** The job commands (SPEC §6: `job retry ID`, `job cancel ID`), as the wire's ApiCommandInput has them. */
export type JobCommandInput = Extract<ApiCommandInput, { type: 'RetryJob' | 'CancelJob' }>;
/** Everything a terminal front end sends to POST /api/commands. */
export type ClientCommand = ApiCommandInput;
export const isJobCommand = (cmd: { readonly type: string }): cmd is JobCommandInput => cmd.type === 'RetryJob' || cmd.type === 'CancelJob';

export interface ClientOptions {
  readonly server: string;
  readonly user?: string;
  readonly password?: string;
  readonly token?: string;
}

/** A refusal or failure the server answered with: code, message and data, as sent. */
export class ServerRefusal extends PushmanagerError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    data: Record<string, unknown> = {},
  ) {
    super(message, data);
  }
}

/**
 * The server refused the credentials themselves (401): retrying them can only fail again and counts
 * against the login throttle, so every client stops here (or asks the person at the terminal).
 */
export class CredentialsRefused extends ServerRefusal {}

/** The server could not be reached at all. */
export class ServerUnreachable extends PushmanagerError {
  readonly code = 'server-unreachable' as const;
}

/** No credentials in the environment or on disk, and no terminal to ask on. */
export class NoCredentials extends PushmanagerError {
  readonly code = 'no-credentials' as const;
}

/** Why a connection failed, in the system's words: ECONNREFUSED, ENOTFOUND, or the message. */
const unreachableWhy = (e: unknown): string => {
  const err = e as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } };
  for (const c of [err.code, err.cause?.code, err.cause?.message, err.message]) if (typeof c === 'string' && c) return c;
  return String(e);
};

/**
 * Credentials: PUSHMANAGER_TOKEN, else PUSHMANAGER_USER/PASSWORD, else the token `pushmanager login`
 * stored (unless `stored` is false: `login` itself asks for a password rather than renew a token).
 */
export function clientOptionsFromEnv(env: NodeJS.ProcessEnv, server?: string, { stored: useStored = true } = {}): ClientOptions {
  const url = server ?? env.PUSHMANAGER_SERVER ?? 'http://127.0.0.1:7080';
  if (env.PUSHMANAGER_TOKEN) return { server: url, token: env.PUSHMANAGER_TOKEN };
  if (env.PUSHMANAGER_USER) return { server: url, user: env.PUSHMANAGER_USER, ...(env.PUSHMANAGER_PASSWORD !== undefined && { password: env.PUSHMANAGER_PASSWORD }) };
  if (!useStored) return { server: url };
  const stored = storedToken(url, env);
  return stored ? { server: url, token: stored.token } : { server: url };
}

/**
 * One request on its own connection (node:http). A CLI verb makes one call and exits; fetch's pooled
 * keep-alive socket kept the process alive ~200 ms after the answer, which doubled `status` time.
 */
function send(url: URL, method: string, headers: Record<string, string>, body?: string): Promise<{ ok: boolean; status: number; statusText: string; text: string }> {
  return new Promise((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.request(url, { method, headers: { ...headers, connection: 'close', ...(body !== undefined && { 'content-length': String(Buffer.byteLength(body)) }) }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        resolve({ ok: status >= 200 && status < 300, status, statusText: res.statusMessage ?? '', text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export class PushmanagerClient {
  constructor(readonly opts: ClientOptions) {}

  private headers(): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json' };
    if (this.opts.token) h.authorization = `Bearer ${this.opts.token}`;
    else if (this.opts.user !== undefined) h.authorization = `Basic ${Buffer.from(`${this.opts.user}:${this.opts.password ?? ''}`).toString('base64')}`;
    return h;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: { ok: boolean; status: number; statusText: string; text: string };
    try {
      res = await send(new URL(path, this.opts.server), method, { ...this.headers(), ...(body !== undefined && { 'content-type': 'application/json' }) }, body === undefined ? undefined : JSON.stringify(body));
    } catch (e) {
      throw new ServerUnreachable(`cannot reach ${this.opts.server} (${unreachableWhy(e)})`);
    }
    const text = res.text;
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      throw new ServerRefusal(res.status, 'bad-response', `the server answered ${res.status} with something that is not JSON`);
    }
    if (!res.ok) throw this.refusal(res.status, res.statusText, json);
    return json as T;
  }

  /** The typed refusal for a non-2xx answer; a 401 says whose credentials, at which server. */
  private refusal(status: number, statusText: string, json: unknown): ServerRefusal {
    const err = (json as { error?: { code?: string; message?: string; data?: Record<string, unknown> } } | null)?.error ?? {};
    const code = err.code ?? `http-${status}`;
    const message = err.message ?? statusText;
    if (status !== 401) return new ServerRefusal(status, code, message, err.data ?? {});
    const server = this.opts.server.replace(/\/+$/, '');
    if (this.opts.token) return new CredentialsRefused(status, code, `API token refused by ${server}: ${message}`, err.data ?? {});
    if (this.opts.user !== undefined) return new CredentialsRefused(status, code, `wrong user or password for ${this.opts.user} at ${server}`, err.data ?? {});
    return new CredentialsRefused(status, code, `${server} needs credentials: set PUSHMANAGER_USER and PUSHMANAGER_PASSWORD or PUSHMANAGER_TOKEN, or run \`pushmanager login\``, err.data ?? {});
  }

  board(all = false): Promise<BoardView> {
    return this.request('GET', `/api/board${all ? '?all=1' : ''}`);
  }
  requestDetail(id: number): Promise<RequestDetail> {
    return this.request('GET', `/api/requests/${id}`);
  }
  pushDetail(id: number): Promise<PushDetail> {
    return this.request('GET', `/api/pushes/${id}`);
  }
  login(label: string): Promise<{ token: string; id: string; expiresAt: string; user: string }> {
    return this.request('POST', '/api/tokens', { label });
  }
  outbox(): Promise<{ entries: { delivery: { channel: string; to: string[]; text: string; key: string }; status: string; attempts: number; lastError: string | null; enqueuedAt: string; nextAttemptAt: string | null }[] }> {
    return this.request('GET', '/api/outbox');
  }
  whoami(): Promise<WhoAmI> {
    return this.request('GET', '/api/whoami');
  }
  /** The jobs of one push, or of every open push. */
  jobs(push?: number): Promise<{ jobs: StatusJob[] }> {
    return this.request('GET', `/api/jobs${push !== undefined ? `?push=${push}` : ''}`);
  }

  /** A job's log: what is kept, or with `follow` that and then live output until the job ends. */
  async jobLog(id: string, follow: boolean, onChunk: (s: string) => void, signal?: AbortSignal): Promise<void> {
    let res: Response;
    try {
      res = await fetch(new URL(`/api/jobs/${encodeURIComponent(id)}/log${follow ? '?follow=1' : ''}`, this.opts.server), { headers: { ...this.headers(), accept: 'text/plain' }, ...(signal && { signal }) });
    } catch (e) {
      throw new ServerUnreachable(`cannot reach ${this.opts.server} (${unreachableWhy(e)})`);
    }
    if (!res.ok || !res.body) throw this.refusal(res.status, res.statusText, await res.json().catch(() => null));
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) onChunk(decoder.decode(chunk, { stream: true }));
    const rest = decoder.decode();
    if (rest) onChunk(rest);
  }

  command(cmd: ApiCommandInput): Promise<CommandAnswer> {
    return this.request('POST', '/api/commands', cmd);
  }
  /** GET /api/jobs/:id: the job, what it runs, how it ended. */
  job(id: string): Promise<JobDetail> {
    return this.request('GET', `/api/jobs/${encodeURIComponent(id)}`);
  }
  retryJob(id: string): Promise<CommandAnswer> {
    return this.command({ type: 'RetryJob', job: id });
  }
  cancelJob(id: string): Promise<CommandAnswer> {
    return this.command({ type: 'CancelJob', job: id });
  }

  /**
   * A job's log as it grows: GET /api/jobs/:id/log?follow=1 streams text/plain until the job ends, and
   * each chunk is yielded as it arrives (decoded as UTF-8 across chunk boundaries). Aborting the signal
   * ends the iteration quietly; a refusal (404: no such job) throws a ServerRefusal.
   */
  async *followJobLog(id: string, signal: AbortSignal): AsyncGenerator<string, void, undefined> {
    let res: Response;
    try {
      res = await fetch(new URL(`/api/jobs/${encodeURIComponent(id)}/log?follow=1`, this.opts.server), { headers: { ...this.headers(), accept: 'text/plain' }, signal });
    } catch (e) {
      if (signal.aborted) return;
      throw new ServerUnreachable(`cannot reach ${this.opts.server} (${unreachableWhy(e)})`);
    }
    if (!res.ok || !res.body) {
      const json: unknown = await res.json().catch(() => null);
      throw this.refusal(res.status, res.statusText, json);
    }
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        const text = decoder.decode(chunk, { stream: true });
        if (text) yield text;
      }
      const rest = decoder.decode();
      if (rest) yield rest;
    } catch (e) {
      if (signal.aborted) return;
      throw new ServerUnreachable(`the log of job ${id} stopped: ${unreachableWhy(e)}`);
    }
  }

  /** Server-sent events; calls onMessage per event, resolves when the stream ends. Abort with the signal. */
  async events(onMessage: (kind: string, data: unknown) => void, signal: AbortSignal): Promise<void> {
    let res: Response;
    try {
      res = await fetch(new URL('/api/events', this.opts.server), { headers: { ...this.headers(), accept: 'text/event-stream' }, signal });
    } catch (e) {
      // fetch says only "fetch failed"; the reason (ECONNREFUSED…) is its cause.
      throw new ServerUnreachable(`cannot reach ${this.opts.server} (${unreachableWhy(e)})`);
    }
    if (!res.ok || !res.body) {
      const json: unknown = await res.json().catch(() => null);
      if (res.status === 401) throw this.refusal(res.status, res.statusText, json);
      throw new ServerRefusal(res.status, `http-${res.status}`, 'the event stream was refused');
    }
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let kind = 'message';
        let data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) kind = line.slice(7);
          else if (line.startsWith('data: ')) data += line.slice(6);
        }
        if (data) onMessage(kind, JSON.parse(data));
      }
    }
  }
}

// The wire types live in state/wire.ts (shared with the server); re-exported for the client's users.
export type { CommandAnswer, HistoryItem, JobDetail, PushDetail, RequestDetail, StatusJob } from '../state/wire.js';
