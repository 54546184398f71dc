// The one HTTP call the API clients share: fetch with a timeout, turning every failure into an
// IntegrationError with a code (timeouts, refused connections, HTTP statuses, non-JSON bodies).
import { IntegrationError, type IntegrationService } from './integration-error.js';

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface HttpCall {
  readonly service: IntegrationService;
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly timeoutMs: number;
  readonly fetch?: FetchLike;
}

export interface HttpAnswer {
  readonly status: number;
  readonly text: string;
}

/** Sends the request; resolves with a 2xx answer, rejects with an IntegrationError otherwise. */
export async function httpCall(c: HttpCall): Promise<HttpAnswer> {
  const doFetch = c.fetch ?? ((url, init) => fetch(url, init));
  const where = { method: c.method, url: c.url };
  let res: Response;
  let text: string;
  try {
    // One signal for the whole exchange, body included: a server that sends headers and then stalls still times out.
    const signal = AbortSignal.timeout(c.timeoutMs);
    res = await doFetch(c.url, { method: c.method, headers: { ...c.headers }, body: c.body, signal, redirect: 'error' });
    text = await res.text();
  } catch (e) {
    const name = (e as { name?: string } | null)?.name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      throw new IntegrationError('integration-timeout', c.service, `${c.service}: no answer from ${c.method} ${c.url} within ${c.timeoutMs} ms`, where, { cause: e });
    }
    const cause = (e as { cause?: { code?: string; message?: string } } | null)?.cause;
    const why = cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
    throw new IntegrationError('integration-unreachable', c.service, `${c.service}: cannot reach ${c.url} (${why})`, { ...where, cause: why }, { cause: e });
  }
  if (res.status >= 200 && res.status < 300) return { status: res.status, text };
  const code = res.status === 401 || res.status === 403 ? 'integration-auth-failed' : res.status === 404 ? 'integration-not-found' : 'integration-http-error';
  const snippet = text.replace(/\s+/g, ' ').slice(0, 300);
  throw new IntegrationError(code, c.service, `${c.service}: ${c.method} ${c.url} answered HTTP ${res.status}${snippet ? `: ${snippet}` : ''}`, { ...where, status: res.status, body: snippet });
}

/** The answer's body as JSON, or an `integration-bad-response` error. */
export function jsonOf(a: HttpAnswer, service: IntegrationService, url: string): unknown {
  try {
    return JSON.parse(a.text) as unknown;
  } catch (e) {
    throw new IntegrationError('integration-bad-response', service, `${service}: ${url} did not answer JSON`, { url, body: a.text.slice(0, 300) }, { cause: e });
  }
}

/** Base URL without trailing slashes, so paths can be appended with a single `/`. */
export const trimBase = (url: string): string => url.replace(/\/+$/, '');

/** Any thrown value as an IntegrationError: clients promise never to reject with anything untyped. */
export function asIntegrationError(e: unknown, service: IntegrationService): IntegrationError {
  if (e instanceof IntegrationError) return e;
  return new IntegrationError('integration-bad-response', service, `${service}: ${e instanceof Error ? e.message : String(e)}`, {}, { cause: e });
}

/** Waits before the 2nd, 3rd, … try of a call that failed for a passing reason: about 6 minutes in all, so a restart or a short outage of the service is ridden out. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [1_000, 5_000, 30_000, 120_000, 240_000];

/**
 * Whether a failed call may be sent again: the service was down (nothing reached it) or said it is
 * overloaded or restarting (429, 502, 503, 504). A timeout is retried only when `idempotent`: the
 * call may have landed (a second JIRA comment), while marking a review submitted twice changes nothing.
 * Refusals (401/403/404, a bad answer) stay refusals and are reported at once.
 */
export function isPassingFailure(e: unknown, idempotent: boolean): boolean {
  if (!(e instanceof IntegrationError)) return false;
  if (e.code === 'integration-unreachable') return true;
  if (e.code === 'integration-timeout') return idempotent;
  return e.code === 'integration-http-error' && [429, 502, 503, 504].includes(e.data.status as number);
}

/** Runs `call`, and again after each of `delaysMs` while it fails for a passing reason; rejects with the last error. The timers do not hold the process open. */
export async function withRetries<T>(call: () => Promise<T>, opts: { readonly delaysMs: readonly number[]; readonly idempotent: boolean }): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (e) {
      const wait = opts.delaysMs[attempt];
      if (wait === undefined || !isPassingFailure(e, opts.idempotent)) throw e;
      await new Promise<void>((resolve) => setTimeout(resolve, wait).unref());
    }
  }
}
