// The Buildbot runner (SPEC §6, runner: buildbot): a job is a build forced on a named builder of a
// real Buildbot master through its REST API v2 — `POST /api/v2/forceschedulers/NAME` (JSON-RPC,
// revision = the SHA, branch = the deploy branch, the push and job ids as properties) — then
// followed through the build request to its build, whose state and step logs are read through the
// same API. A job is re-attached after a restart by its build request id (or build id): Buildbot
// keeps both, so nothing is lost while the server is down.
//
// The ForceScheduler must declare the properties `pushmanager_push` and `pushmanager_job` (e.g.
// `util.StringParameter(name='pushmanager_push')`): Buildbot silently drops forced properties a
// scheduler does not declare. The reason of each build names the job either way.
import { httpCall, jsonOf, trimBase, type FetchLike } from '../integrations/http-client.js';
import { IntegrationError } from '../integrations/integration-error.js';

export interface BuildbotRunnerOptions {
  readonly url: string;
  readonly scheduler: string;
  readonly pollMs?: number;
  readonly requestTimeoutMs?: number;
  readonly fetch?: FetchLike;
}

export interface BuildbotJobSpec {
  readonly id: string;
  readonly name: string;
  readonly builder: string;
  readonly sha: string;
  readonly branch: string;
  readonly push: number;
}

/** Where a job is on the master: enough to find it again after a restart. */
export interface BuildbotHandle {
  readonly buildRequestId: number;
  readonly buildId?: number;
}

export type BuildbotJobState = 'queued' | 'running' | 'passed' | 'failed' | 'cancelled';

export interface BuildbotProgress {
  readonly state: BuildbotJobState;
  readonly handle: BuildbotHandle;
  /** The build's page, once there is a build. */
  readonly url?: string;
  /** Buildbot's result code (buildbot.process.results) of a finished build. */
  readonly results?: number;
  /** Buildbot's own words: "failed 'sh -c ...' (failure)". */
  readonly stateString?: string;
}

export interface StepLog {
  readonly step: string;
  readonly stepNumber: number;
  readonly log: string;
  readonly text: string;
}

/** buildbot.process.results */
const SUCCESS = 0, WARNINGS = 1, FAILURE = 2, SKIPPED = 3, EXCEPTION = 4, RETRY = 5, CANCELLED = 6;

export function stateOfResults(results: number): BuildbotJobState {
  if (results === SUCCESS || results === WARNINGS || results === SKIPPED) return 'passed';
  if (results === CANCELLED) return 'cancelled';
  if (results === FAILURE || results === EXCEPTION) return 'failed';
  // RETRY: Buildbot starts another build for the same request.
  return 'running';
}

interface ApiBuild {
  readonly buildid: number;
  readonly builderid: number;
  readonly buildrequestid: number;
  readonly number: number;
  readonly complete: boolean;
  readonly results: number | null;
  readonly state_string?: string;
}
interface ApiBuildRequest {
  readonly buildrequestid: number;
  readonly complete: boolean;
  readonly results: number | null;
}
interface ApiStep {
  readonly stepid: number;
  readonly number: number;
  readonly name: string;
}
interface ApiLog {
  readonly logid: number;
  readonly name: string;
}

/**
 * The master is away (not there, not answering, or failing with a 5xx, 408 or 429), as against refusing
 * what was asked (an unknown builder or scheduler, a 4xx): an outage says nothing about the job, and a
 * job the master never ran must not be recorded red (a culprit search would blame a request for it).
 */
export function isOutage(e: unknown): e is IntegrationError {
  if (!(e instanceof IntegrationError)) return false;
  if (e.code === 'integration-unreachable' || e.code === 'integration-timeout') return true;
  const status = typeof e.data.status === 'number' ? e.data.status : 0;
  return e.code === 'integration-http-error' && (status >= 500 || status === 408 || status === 429);
}

export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      resolve();
    };
    // Removed when the time is up: a long build's polls would pile one listener each on its signal.
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', done);
      resolve();
    }, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

export class BuildbotRunner {
  private readonly base: string;
  private readonly pollMs: number;
  private readonly timeoutMs: number;
  private builderIds = new Map<string, number>();

  constructor(private readonly opts: BuildbotRunnerOptions) {
    this.base = trimBase(opts.url);
    this.pollMs = opts.pollMs ?? 2_000;
    this.timeoutMs = opts.requestTimeoutMs ?? 10_000;
  }

  /** Forces a build of `spec.sha` on `spec.builder`; resolves with the build request Buildbot queued. */
  async force(spec: BuildbotJobSpec): Promise<BuildbotHandle> {
    const builderid = await this.builderId(spec.builder);
    const result = await this.rpc(`/api/v2/forceschedulers/${encodeURIComponent(this.opts.scheduler)}`, 'force', {
      builderid,
      revision: spec.sha,
      branch: spec.branch,
      reason: `pushmanager job ${spec.id} (${spec.name}) of push ${spec.push}`,
      pushmanager_push: String(spec.push),
      pushmanager_job: spec.id,
    });
    // [buildsetid, {builderid: buildrequestid}]
    const brids = Array.isArray(result) ? (result[1] as Record<string, unknown> | undefined) : undefined;
    const brid = brids?.[String(builderid)];
    if (typeof brid !== 'number') throw this.bad(`the force scheduler's answer names no build request for builder ${spec.builder}: ${JSON.stringify(result).slice(0, 200)}`);
    return { buildRequestId: brid };
  }

  /** The names of the master's builders and force schedulers (a start-up check of the config against the master). */
  async names(): Promise<{ builders: string[]; schedulers: string[] }> {
    const [builders, schedulers] = await Promise.all([this.list<{ name: string }>('/api/v2/builders', 'builders'), this.list<{ name: string }>('/api/v2/forceschedulers', 'forceschedulers')]);
    return { builders: builders.map((b) => b.name), schedulers: schedulers.map((s) => s.name) };
  }

  /** A handle for a build known by id only (re-attaching from a recorded build id). */
  async attach(buildId: number): Promise<BuildbotHandle> {
    const b = await this.one<ApiBuild>(`/api/v2/builds/${buildId}`, 'builds');
    return { buildRequestId: b.buildrequestid, buildId: b.buildid };
  }

  /** Where the job is now: queued (no build yet), running, or finished with a state. */
  async poll(handle: BuildbotHandle): Promise<BuildbotProgress> {
    const build = await this.latestBuild(handle.buildRequestId);
    if (!build) {
      const br = await this.one<ApiBuildRequest>(`/api/v2/buildrequests/${handle.buildRequestId}`, 'buildrequests');
      // A request cancelled before any worker took it completes without a build.
      if (br.complete && br.results !== null) return { state: stateOfResults(br.results) === 'running' ? 'queued' : stateOfResults(br.results), handle, results: br.results };
      return { state: 'queued', handle };
    }
    const h = { buildRequestId: handle.buildRequestId, buildId: build.buildid };
    const url = `${this.base}/#/builders/${build.builderid}/builds/${build.number}`;
    const words = build.state_string ? { stateString: build.state_string } : {};
    if (!build.complete || build.results === null) return { state: 'running', handle: h, url, ...words };
    return { state: build.results === RETRY ? 'running' : stateOfResults(build.results), handle: h, url, results: build.results, ...words };
  }

  /**
   * Polls until the job is finished; `onProgress` hears each change of state or build. A master that
   * is briefly away (restarting, a network blip) is asked again: only `maxErrors` failures in a row
   * (default 30, a minute at the default poll) give up, with the last error. The job service asks
   * through any outage (maxErrors: Infinity), so that an outage never ends a job.
   */
  async wait(handle: BuildbotHandle, opts: { onProgress?: (p: BuildbotProgress) => void; onError?: (e: IntegrationError) => void; signal?: AbortSignal; maxErrors?: number } = {}): Promise<BuildbotProgress> {
    let last = '';
    let errors = 0;
    for (;;) {
      let p: BuildbotProgress;
      try {
        p = await this.poll(handle);
        errors = 0;
      } catch (e) {
        if (!isOutage(e) || ++errors > (opts.maxErrors ?? 30) || opts.signal?.aborted) throw e;
        opts.onError?.(e);
        await sleep(this.pollMs, opts.signal);
        continue;
      }
      const key = `${p.state}/${p.handle.buildId ?? ''}`;
      if (key !== last) opts.onProgress?.(p);
      last = key;
      if (p.state === 'passed' || p.state === 'failed' || p.state === 'cancelled') return p;
      if (opts.signal?.aborted) return p;
      handle = p.handle;
      await sleep(this.pollMs, opts.signal);
    }
  }

  /** Stops the job: the build with Buildbot's `stop` control, or the request if no build has started yet. */
  async cancel(handle: BuildbotHandle, reason: string): Promise<void> {
    const build = await this.latestBuild(handle.buildRequestId);
    if (build && !build.complete) {
      await this.rpc(`/api/v2/builds/${build.buildid}`, 'stop', { reason, results: CANCELLED });
      return;
    }
    if (!build) await this.rpc(`/api/v2/buildrequests/${handle.buildRequestId}`, 'cancel', { reason });
  }

  /** Every log of every step of a build, in step order, as text. */
  async stepLogs(buildId: number): Promise<StepLog[]> {
    const out: StepLog[] = [];
    const steps = (await this.list<ApiStep>(`/api/v2/builds/${buildId}/steps`, 'steps')).sort((a, b) => a.number - b.number);
    for (const s of steps) {
      for (const l of await this.list<ApiLog>(`/api/v2/steps/${s.stepid}/logs`, 'logs')) {
        out.push({ step: s.name, stepNumber: s.number, log: l.name, text: await this.rawLog(l.logid) });
      }
    }
    return out;
  }

  /**
   * The job's step logs as they grow, one chunk a poll (so the first is everything so far: what `job log`
   * without --follow prints), each step introduced by a header line on a line of its own, until the build
   * ends; the log ends with a line end.
   */
  async *followLog(handle: BuildbotHandle, opts: { signal?: AbortSignal } = {}): AsyncGenerator<string> {
    const seen = new Map<string, number>();
    let h = handle;
    // Whether what was yielded so far ends a line: a step's header starts one, and the log ends with one.
    let whole = true;
    for (;;) {
      const p = await this.poll(h);
      h = p.handle;
      let out = '';
      if (h.buildId !== undefined) {
        for (const l of await this.stepLogs(h.buildId)) {
          const key = `${l.stepNumber}/${l.log}`;
          const had = seen.get(key);
          if (had === undefined) {
            out += `${whole ? '' : '\n'}--- step ${l.stepNumber} ${l.step} (${l.log}) ---\n`;
            whole = true;
          }
          if (l.text.length > (had ?? 0)) {
            out += l.text.slice(had ?? 0);
            whole = l.text.endsWith('\n');
          }
          seen.set(key, Math.max(had ?? 0, l.text.length));
        }
      }
      const end = p.state === 'passed' || p.state === 'failed' || p.state === 'cancelled' || opts.signal?.aborted;
      if (end && !whole) out += '\n';
      if (out) yield out;
      if (end) return;
      await sleep(this.pollMs, opts.signal);
    }
  }

  private async latestBuild(buildRequestId: number): Promise<ApiBuild | null> {
    const builds = await this.list<ApiBuild>(`/api/v2/builds?buildrequestid=${buildRequestId}`, 'builds');
    return builds.reduce<ApiBuild | null>((a, b) => (!a || b.buildid > a.buildid ? b : a), null);
  }

  private async rawLog(logid: number): Promise<string> {
    const url = `${this.base}/api/v2/logs/${logid}/raw`;
    return (await httpCall({ service: 'buildbot', method: 'GET', url, timeoutMs: this.timeoutMs, fetch: this.opts.fetch })).text;
  }

  private async builderId(name: string): Promise<number> {
    const known = this.builderIds.get(name);
    if (known !== undefined) return known;
    const list = await this.list<{ builderid: number; name: string }>(`/api/v2/builders?name=${encodeURIComponent(name)}`, 'builders');
    const b = list.find((x) => x.name === name);
    if (!b) throw new IntegrationError('integration-not-found', 'buildbot', `buildbot: no builder "${name}" on ${this.base} (pipeline.jobs[].builder)`, { builder: name });
    this.builderIds.set(name, b.builderid);
    return b.builderid;
  }

  private async rpc(path: string, method: string, params: Record<string, unknown>): Promise<unknown> {
    const url = `${this.base}${path}`;
    const a = await httpCall({ service: 'buildbot', method: 'POST', url, headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify({ id: 1, jsonrpc: '2.0', method, params }), timeoutMs: this.timeoutMs, fetch: this.opts.fetch });
    const j = jsonOf(a, 'buildbot', url) as { result?: unknown; error?: { message?: string } } | null;
    if (j?.error) throw new IntegrationError('integration-http-error', 'buildbot', `buildbot: ${method} on ${path} refused: ${j.error.message ?? JSON.stringify(j.error)}`, { url, method });
    return j?.result;
  }

  private async list<T>(path: string, plural: string): Promise<T[]> {
    const url = `${this.base}${path}`;
    const a = await httpCall({ service: 'buildbot', method: 'GET', url, headers: { Accept: 'application/json' }, timeoutMs: this.timeoutMs, fetch: this.opts.fetch });
    const items = (jsonOf(a, 'buildbot', url) as Record<string, unknown> | null)?.[plural];
    if (!Array.isArray(items)) throw this.bad(`${url} has no "${plural}" list`);
    return items as T[];
  }

  private async one<T>(path: string, plural: string): Promise<T> {
    const [item] = await this.list<T>(path, plural);
    if (!item) throw new IntegrationError('integration-not-found', 'buildbot', `buildbot: nothing at ${this.base}${path}`, { path });
    return item;
  }

  private bad(message: string): IntegrationError {
    return new IntegrationError('integration-bad-response', 'buildbot', `buildbot: ${message}`);
  }
}
