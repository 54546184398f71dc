// Reviewboard: the link of a request's review, and marking the review submitted when the request
// goes live (the original did this on certify). Speaks Reviewboard's Web API 2.0:
// `PUT /api/review-requests/ID/` with a form body, `Authorization: token <api token>`.
import { asIntegrationError, DEFAULT_RETRY_DELAYS_MS, httpCall, jsonOf, trimBase, withRetries, type FetchLike } from './http-client.js';
import { IntegrationError } from './integration-error.js';

export interface ReviewboardOptions {
  /** Base URL, e.g. `https://reviews.example.com`. */
  readonly url: string;
  /** The account the API token belongs to; named in errors so an operator knows whose token failed. */
  readonly user?: string;
  /** A Reviewboard API token (My Account → API Tokens); without one, only links and reads work. */
  readonly apiToken?: string;
  readonly timeoutMs?: number;
  /** Waits between tries of markSubmitted while Reviewboard is down or restarting (default DEFAULT_RETRY_DELAYS_MS; [] tries once). */
  readonly retryDelaysMs?: readonly number[];
  readonly fetch?: FetchLike;
}

interface ReviewRequestAnswer {
  readonly stat?: string;
  readonly review_request?: { readonly id?: number; readonly status?: string; readonly ship_it_count?: number };
  readonly err?: { readonly code?: number; readonly msg?: string };
}

export class ReviewboardClient {
  private readonly base: string;
  private readonly timeoutMs: number;

  constructor(private readonly opts: ReviewboardOptions) {
    this.base = trimBase(opts.url);
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  /** Review ids are positive integers; anything else is refused before it reaches a URL. */
  static reviewId(id: string | number): string {
    const s = String(id).trim();
    if (!/^[1-9][0-9]{0,9}$/.test(s)) throw new IntegrationError('integration-bad-argument', 'reviewboard', `not a review id: ${JSON.stringify(String(id))}`, { id: String(id) });
    return s;
  }

  reviewUrl(id: string | number): string {
    return `${this.base}/r/${ReviewboardClient.reviewId(id)}`;
  }

  /**
   * Marks the review request submitted. Idempotent: an already submitted review stays submitted.
   * `retryDelaysMs` overrides the client's (the durable queue passes [] and does its own backoff).
   */
  async markSubmitted(id: string | number, opts: { readonly retryDelaysMs?: readonly number[] } = {}): Promise<{ status: string }> {
    try {
      const rid = ReviewboardClient.reviewId(id);
      if (!this.opts.apiToken) throw new IntegrationError('integration-auth-failed', 'reviewboard', 'reviewboard: no apiToken configured, cannot mark reviews submitted', { id: rid });
      const url = `${this.base}/api/review-requests/${rid}/`;
      // Certify happens once: a Reviewboard that is down at that moment is waited for, not skipped. The PUT is idempotent.
      const a = await withRetries(() => httpCall({
        service: 'reviewboard',
        method: 'PUT',
        url,
        headers: { Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `token ${this.opts.apiToken}` },
        body: new URLSearchParams({ status: 'submitted' }).toString(),
        timeoutMs: this.timeoutMs,
        fetch: this.opts.fetch,
      }), { delaysMs: opts.retryDelaysMs ?? this.opts.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS, idempotent: true }).catch((e: unknown) => {
        throw this.withUser(e);
      });
      const body = this.answer(jsonOf(a, 'reviewboard', url), url);
      return { status: body.review_request?.status ?? 'submitted' };
    } catch (e) {
      throw asIntegrationError(e, 'reviewboard');
    }
  }

  /** How many reviewers said "Ship it!". */
  async shipItCount(id: string | number): Promise<number> {
    try {
      const rid = ReviewboardClient.reviewId(id);
      const url = `${this.base}/api/review-requests/${rid}/`;
      const headers: Record<string, string> = { Accept: 'application/json' };
      if (this.opts.apiToken) headers.Authorization = `token ${this.opts.apiToken}`;
      const a = await httpCall({ service: 'reviewboard', method: 'GET', url, headers, timeoutMs: this.timeoutMs, fetch: this.opts.fetch });
      const n = this.answer(jsonOf(a, 'reviewboard', url), url).review_request?.ship_it_count;
      if (typeof n !== 'number') throw new IntegrationError('integration-bad-response', 'reviewboard', `reviewboard: ${url} has no ship_it_count`, { url });
      return n;
    } catch (e) {
      throw asIntegrationError(e, 'reviewboard');
    }
  }

  private answer(x: unknown, url: string): ReviewRequestAnswer {
    const a = x as ReviewRequestAnswer | null;
    if (typeof a !== 'object' || a === null || a.stat !== 'ok') {
      const err = a?.err;
      throw new IntegrationError('integration-bad-response', 'reviewboard', `reviewboard: ${url} answered ${err?.msg ? `"${err.msg}"` : 'without stat "ok"'}`, { url, rbCode: err?.code ?? null });
    }
    return a;
  }

  private withUser(e: unknown): unknown {
    if (e instanceof IntegrationError && e.code === 'integration-auth-failed' && this.opts.user) {
      return new IntegrationError(e.code, e.service, `${e.message} (token of ${this.opts.user})`, { ...e.data, user: this.opts.user }, { cause: e });
    }
    return e;
  }
}
