// Ticket trackers: a link for a ticket key from a URL template (Trac, JIRA, anything with the key
// in the URL), ticket keys found in commit messages, and a comment on a JIRA issue when a request
// goes live (REST API v2 takes a plain-text body, v3 an Atlassian Document Format body).
import { asIntegrationError, DEFAULT_RETRY_DELAYS_MS, httpCall, jsonOf, trimBase, withRetries, type FetchLike } from './http-client.js';
import { IntegrationError } from './integration-error.js';

/** A JIRA-style key: project key (upper-case letter, then letters, digits, `_`), `-`, number. */
export const TICKET_KEY = /\b[A-Z][A-Z0-9_]+-[0-9]+\b/g;

export const isTicketKey = (s: string): boolean => /^[A-Z][A-Z0-9_]+-[0-9]+$/.test(s);

/**
 * The ticket's URL: `%TICKET%` in the template replaced with the (URL-encoded) ticket, e.g.
 * `https://jira.example.com/browse/%TICKET%` or `https://trac.example.com/ticket/%TICKET%`.
 */
export function ticketUrl(template: string, ticket: string): string {
  return template.replaceAll('%TICKET%', encodeURIComponent(ticket.trim()));
}

/** Distinct ticket keys in a text (commit messages, titles), in order of first appearance. */
export function ticketKeysIn(text: string): string[] {
  return [...new Set(text.match(TICKET_KEY) ?? [])];
}

export interface JiraOptions {
  /** Base URL, e.g. `https://example.atlassian.net`. */
  readonly url: string;
  /** The account's user name (Jira Cloud: its email address). */
  readonly user: string;
  /** An API token (Cloud) or password / personal token (Server) for Basic auth. */
  readonly apiToken: string;
  /** 2: plain-text comment bodies (Server/Data Center and Cloud); 3: ADF bodies (Cloud). */
  readonly apiVersion?: 2 | 3;
  readonly timeoutMs?: number;
  /** Waits between tries of a comment while JIRA is down or restarting (default DEFAULT_RETRY_DELAYS_MS; [] tries once). */
  readonly retryDelaysMs?: readonly number[];
  readonly fetch?: FetchLike;
}

/** A comment in Atlassian Document Format: one paragraph per blank-line-separated block, line breaks kept. */
export function adfDocument(text: string): unknown {
  const paragraphs = text.split(/\n\s*\n/).map((p) => p.replace(/\n+$/, '')).filter((p) => p.length > 0);
  return {
    type: 'doc',
    version: 1,
    content: paragraphs.map((p) => ({
      type: 'paragraph',
      content: p.split('\n').flatMap((line, i) => [...(i > 0 ? [{ type: 'hardBreak' }] : []), ...(line ? [{ type: 'text', text: line }] : [])]),
    })),
  };
}

export class JiraClient {
  private readonly base: string;
  private readonly version: 2 | 3;
  private readonly timeoutMs: number;

  constructor(private readonly opts: JiraOptions) {
    this.base = trimBase(opts.url);
    this.version = opts.apiVersion ?? 2;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  /**
   * Adds a comment to an issue; resolves with the new comment's id. With `marker` (a string the text
   * contains), the issue's latest comments are read first and one that holds the marker is taken as
   * this comment (`alreadyThere`): a comment posted by an earlier try whose answer was lost (a timeout,
   * a crash before it was recorded) is not posted twice, and so a timeout may be tried again.
   * `retryDelaysMs` overrides the client's (the durable queue passes [] and does its own backoff).
   */
  async comment(key: string, text: string, opts: { readonly marker?: string; readonly retryDelaysMs?: readonly number[] } = {}): Promise<{ id: string; alreadyThere?: true }> {
    try {
      if (!isTicketKey(key)) throw new IntegrationError('integration-bad-argument', 'jira', `not a JIRA issue key: ${JSON.stringify(key)}`, { key });
      const marker = opts.marker;
      if (marker !== undefined && !text.includes(marker)) throw new IntegrationError('integration-bad-argument', 'jira', 'jira: the comment text does not contain its marker', { key, marker });
      const url = `${this.base}/rest/api/${this.version}/issue/${key}/comment`;
      const body = this.version === 3 ? { body: adfDocument(text) } : { body: text };
      const post = async (): Promise<{ id: string; alreadyThere?: true }> => {
        if (marker !== undefined) {
          const there = await this.findComment(key, marker);
          if (there !== null) return { id: there, alreadyThere: true };
        }
        const a = await httpCall({ service: 'jira', method: 'POST', url, headers: this.headers(), body: JSON.stringify(body), timeoutMs: this.timeoutMs, fetch: this.opts.fetch });
        const id = (jsonOf(a, 'jira', url) as { id?: unknown } | null)?.id;
        if (typeof id !== 'string' && typeof id !== 'number') throw new IntegrationError('integration-bad-response', 'jira', `jira: ${url} answered without a comment id`, { url });
        return { id: String(id) };
      };
      // A JIRA that is down when the request goes live is waited for; without a marker a timeout is not resent (the comment may be there).
      return await withRetries(post, { delaysMs: opts.retryDelaysMs ?? this.opts.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS, idempotent: marker !== undefined });
    } catch (e) {
      throw asIntegrationError(e, 'jira');
    }
  }

  /**
   * The id of one of the issue's latest 100 comments whose body holds `marker` (v3: anywhere in its
   * ADF document), or null. `GET /rest/api/N/issue/KEY/comment?orderBy=-created&maxResults=100`.
   */
  async findComment(key: string, marker: string): Promise<string | null> {
    try {
      if (!isTicketKey(key)) throw new IntegrationError('integration-bad-argument', 'jira', `not a JIRA issue key: ${JSON.stringify(key)}`, { key });
      const url = `${this.base}/rest/api/${this.version}/issue/${key}/comment?orderBy=-created&maxResults=100`;
      const a = await httpCall({ service: 'jira', method: 'GET', url, headers: this.headers(), timeoutMs: this.timeoutMs, fetch: this.opts.fetch });
      const comments = (jsonOf(a, 'jira', url) as { comments?: unknown } | null)?.comments;
      if (!Array.isArray(comments)) throw new IntegrationError('integration-bad-response', 'jira', `jira: ${url} answered without a comments list`, { url });
      for (const c of comments as { id?: unknown; body?: unknown }[]) {
        const text = typeof c?.body === 'string' ? c.body : JSON.stringify(c?.body ?? '');
        if (text.includes(marker) && (typeof c.id === 'string' || typeof c.id === 'number')) return String(c.id);
      }
      return null;
    } catch (e) {
      throw asIntegrationError(e, 'jira');
    }
  }

  private headers(): Record<string, string> {
    return {
      Accept: 'application/json',
      'Content-Type': 'application/json',
      Authorization: `Basic ${Buffer.from(`${this.opts.user}:${this.opts.apiToken}`).toString('base64')}`,
    };
  }
}
