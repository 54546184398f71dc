// Buildbot: the build results of a SHA (a request's commit or a push's deploy branch tip), read
// from Buildbot's REST API v2 and summarised as pass / fail / running / unknown. Cached per SHA
// so a dashboard refresh does not become a request storm; a Buildbot that is down yields
// `unknown` with the reason and never an exception, since build status is advice, not state.
import { httpCall, jsonOf, trimBase, type FetchLike } from './http-client.js';
import { IntegrationError, isIntegrationError } from './integration-error.js';

export type BuildState = 'pass' | 'fail' | 'running' | 'unknown';

export interface BuildSummary {
  readonly state: BuildState;
  /** Builders whose latest build for the SHA failed, sorted. */
  readonly failedBuilders: readonly string[];
  /** Where a person looks at the builds. */
  readonly link: string;
  /** Latest build per builder, by outcome. */
  readonly counts: { readonly passed: number; readonly failed: number; readonly running: number };
  /** Why the state is `unknown` because of Buildbot (down, slow, odd answer); absent when it simply has no builds. */
  readonly error?: string;
  readonly errorCode?: string;
}

export interface BuildbotOptions {
  /** Base URL of the Buildbot web UI, e.g. `https://buildbot.example.com`. */
  readonly url: string;
  /** How long a summary is reused (default 30 s). */
  readonly ttlMs?: number;
  /** How long a failure to reach Buildbot is reused before asking again (default 5 s). */
  readonly errorTtlMs?: number;
  readonly timeoutMs?: number;
  /** Milliseconds clock, injected so tests control expiry. */
  readonly now?: () => number;
  readonly fetch?: FetchLike;
}

/** Buildbot's result codes (buildbot.process.results). */
const SUCCESS = 0, WARNINGS = 1, FAILURE = 2, SKIPPED = 3, EXCEPTION = 4, RETRY = 5, CANCELLED = 6;
const PASSED = new Set([SUCCESS, WARNINGS, SKIPPED]);
const FAILED = new Set([FAILURE, EXCEPTION, CANCELLED]);

interface ApiChange { readonly changeid: number }
interface ApiBuild { readonly buildid: number; readonly builderid: number; readonly number: number; readonly complete: boolean; readonly results: number | null }
interface ApiBuilder { readonly builderid: number; readonly name: string }

const SHA = /^[0-9a-f]{4,64}$/;
/** At most this many changes per SHA are looked at (the same commit seen on several branches or codebases). */
const MAX_CHANGES = 10;

export class BuildbotClient {
  private readonly base: string;
  private readonly ttlMs: number;
  private readonly errorTtlMs: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly cache = new Map<string, { readonly until: number; readonly value: BuildSummary }>();
  private readonly inFlight = new Map<string, Promise<BuildSummary>>();
  private builders: { readonly until: number; readonly byId: ReadonlyMap<number, string> } | null = null;

  constructor(private readonly opts: BuildbotOptions) {
    this.base = trimBase(opts.url);
    this.ttlMs = opts.ttlMs ?? 30_000;
    this.errorTtlMs = opts.errorTtlMs ?? 5_000;
    this.timeoutMs = opts.timeoutMs ?? 5_000;
    this.now = opts.now ?? Date.now;
  }

  /** The builds of a change, or the change list when the change is not known. */
  changeLink(changeid?: number): string {
    return changeid === undefined ? `${this.base}/#/changes` : `${this.base}/#/changes/${changeid}`;
  }

  /** The summary for a SHA; never rejects. Concurrent calls for one SHA share one lookup. */
  status(sha: string): Promise<BuildSummary> {
    const key = sha.toLowerCase();
    const hit = this.cache.get(key);
    if (hit && hit.until > this.now()) return Promise.resolve(hit.value);
    const running = this.inFlight.get(key);
    if (running) return running;
    const p = this.lookup(key).then((value) => {
      this.cache.set(key, { until: this.now() + (value.errorCode ? this.errorTtlMs : this.ttlMs), value });
      this.inFlight.delete(key);
      return value;
    });
    this.inFlight.set(key, p);
    return p;
  }

  /** Drops cached summaries (one SHA or all): after a rebuild, say. */
  forget(sha?: string): void {
    if (sha === undefined) this.cache.clear();
    else this.cache.delete(sha.toLowerCase());
  }

  private async lookup(sha: string): Promise<BuildSummary> {
    const empty = { failedBuilders: [], counts: { passed: 0, failed: 0, running: 0 } };
    if (!SHA.test(sha)) return { state: 'unknown', ...empty, link: this.changeLink(), error: `not a SHA: ${JSON.stringify(sha)}`, errorCode: 'integration-bad-argument' };
    try {
      const changes = (await this.list<ApiChange>(`/api/v2/changes?revision=${sha}`, 'changes')).filter((c) => typeof c.changeid === 'number');
      changes.sort((a, b) => b.changeid - a.changeid);
      const link = this.changeLink(changes[0]?.changeid);
      const builds: ApiBuild[] = [];
      for (const c of changes.slice(0, MAX_CHANGES)) builds.push(...(await this.list<ApiBuild>(`/api/v2/changes/${c.changeid}/builds`, 'builds')));
      if (builds.length === 0) return { state: 'unknown', ...empty, link };
      // A builder may have built the SHA more than once (retries, rebuilds): its latest build counts.
      const latest = new Map<number, ApiBuild>();
      for (const b of builds) {
        const prev = latest.get(b.builderid);
        if (!prev || b.buildid > prev.buildid) latest.set(b.builderid, b);
      }
      const names = await this.builderNames();
      const failed: string[] = [];
      let passed = 0, running = 0;
      for (const b of latest.values()) {
        if (!b.complete || b.results === null || b.results === RETRY) running++;
        else if (FAILED.has(b.results)) failed.push(names.get(b.builderid) ?? `builder ${b.builderid}`);
        else if (PASSED.has(b.results)) passed++;
        else running++;
      }
      const state: BuildState = failed.length ? 'fail' : running ? 'running' : 'pass';
      return { state, failedBuilders: failed.sort(), link, counts: { passed, failed: failed.length, running } };
    } catch (e) {
      const err = isIntegrationError(e) ? e : new IntegrationError('integration-bad-response', 'buildbot', `buildbot: ${e instanceof Error ? e.message : String(e)}`);
      return { state: 'unknown', ...empty, link: this.changeLink(), error: err.message, errorCode: err.code };
    }
  }

  private async builderNames(): Promise<ReadonlyMap<number, string>> {
    // Builders change only with Buildbot's config: keep their names ten times longer than results.
    if (this.builders && this.builders.until > this.now()) return this.builders.byId;
    const list = await this.list<ApiBuilder>('/api/v2/builders', 'builders');
    const byId = new Map(list.map((b) => [b.builderid, b.name]));
    this.builders = { until: this.now() + this.ttlMs * 10, byId };
    return byId;
  }

  /** A collection: Buildbot answers `{ "<plural>": [...], "meta": { "total": n } }`. */
  private async list<T>(path: string, plural: string): Promise<T[]> {
    const url = `${this.base}${path}`;
    const a = await httpCall({ service: 'buildbot', method: 'GET', url, headers: { Accept: 'application/json' }, timeoutMs: this.timeoutMs, fetch: this.opts.fetch });
    const items = (jsonOf(a, 'buildbot', url) as Record<string, unknown> | null)?.[plural];
    if (!Array.isArray(items)) throw new IntegrationError('integration-bad-response', 'buildbot', `buildbot: ${url} has no "${plural}" list`, { url });
    return items as T[];
  }
}
