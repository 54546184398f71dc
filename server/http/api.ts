// The JSON API behind the CLI and the dashboard: board, one request or push with its history, commands,
// and a server-sent event stream. Refusals are typed errors with the domain's code.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hasRole, type Actor, type UserActor } from '../../state/decide.js';
import { allowedActions, compactActions } from '../../state/allowed-actions.js';
import { domainErrorJson, isDomainError, type DomainError } from '../../state/errors.js';
import { ACTIVE_REQUEST_STATES, isOpenPush, type PushId, type RequestId } from '../../state/model.js';
import { pushView, requestView, statusView, type StatusView } from '../../state/status-view.js';
import type { ApiErrorBody, BoardView, JobDetail } from '../../state/wire.js';
import { passedLater, type Job } from '../../state/jobs.js';
import { findJob, jobsOfPush, type Board } from '../../state/model.js';
import { flakeCounts, retryRefusal } from '../../state/job-queue.js';
import { jobView } from '../../state/status-view.js';
import { candidateLabels } from '../../state/bisection.js';
import type { Command } from '../../state/commands.js';
import { commandOutcome } from '../../state/describe.js';
import type { Committed, Dispatcher } from '../app/dispatcher.js';
import type { EventBus } from '../app/event-bus.js';
import type { StateStore } from '../store/state-store.js';
import { parseApiCommand } from './api-schema.js';
import { HttpError, readJson, sendJson } from './http-util.js';

export interface ApiDeps {
  readonly dispatcher: Dispatcher;
  readonly store: StateStore;
  readonly bus: EventBus;
  readonly maxBodyBytes: number;
  /** As the dispatcher decides with it: what the board offers must be what a command would get. */
  readonly singleAcceptingPush?: boolean;
  /** Runs a client command; the train replaces plain dispatch for commands with git work. */
  readonly execute: (cmd: Command, actor: Actor) => Promise<Committed | DomainError>;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
  readonly metrics?: import('./metrics.js').Metrics;
  /** Adds links and build results from the integrations, when configured. */
  readonly decorateBoard?: (v: StatusView) => Promise<BoardView>;
  /** Pipeline jobs: their logs, and what each runs (from the config). Absent: no pipeline. */
  readonly jobs?: {
    follow(job: Job): AsyncIterable<Buffer>;
    command(job: Job): { readonly command: readonly string[] | null; readonly builder: string | null };
  };
  readonly extraRoutes?: (actor: UserActor, req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;
}

/** The wire form of who is asking (SPEC §5, read by the CLI and the dashboard): unchanged by the Actor type. */
export const userJson = (a: UserActor) => ({ name: a.name, pushmaster: hasRole(a, 'pushmaster'), admin: hasRole(a, 'admin') });

export function domainStatus(e: DomainError): number {
  if (e.code.startsWith('not-')) return 403;
  if (e.code.startsWith('unknown-')) return 404;
  if (e.code === 'invalid-field' || e.code === 'bad-push-option' || e.code === 'bad-ref-name') return 422;
  return 409;
}

const idParam = (s: string | undefined, what: string): number => {
  if (!s || !/^[0-9]{1,9}$/.test(s)) throw new HttpError(400, 'bad-id', `${what} id must be a positive number`);
  return Number(s);
};

export async function handleApi(deps: ApiDeps, actor: UserActor, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const parts = url.pathname.split('/').filter(Boolean).slice(1); // drop "api"
  const method = req.method ?? 'GET';
  const [head, arg] = parts;

  if (method === 'GET' && head === 'whoami' && parts.length === 1) return sendJson(res, 200, { user: userJson(actor) });

  if (method === 'GET' && head === 'board' && parts.length === 1) {
    const snap = await deps.dispatcher.read();
    const status = statusView(snap.board, snap.version, { all: url.searchParams.get('all') === '1' });
    // What the asking user may do now, for the requests and pushes shown that are still in play: the
    // clients show these offers and refusals instead of re-deriving the rules (additive: SPEC §5's fields stay).
    // Sent compact (each distinct row and reason once): the clients expand it with expandActions.
    const actions = compactActions(
      allowedActions(snap.board, actor, {
        ...(deps.singleAcceptingPush !== undefined && { singleAcceptingPush: deps.singleAcceptingPush }),
        requests: status.requests.filter((r) => ACTIVE_REQUEST_STATES.includes(r.state)).map((r) => r.id as RequestId),
        pushes: status.pushes.filter(isOpenPush).map((p) => p.id as PushId),
      }),
    );
    const view: BoardView = { ...status, actions };
    return sendJson(res, 200, deps.decorateBoard ? { ...(await deps.decorateBoard(status)), actions } : view);
  }

  if (method === 'GET' && head === 'requests' && parts.length === 2) {
    const id = idParam(arg, 'request');
    const snap = await deps.dispatcher.read();
    const r = snap.board.requests[id];
    if (!r) throw new HttpError(404, 'unknown-request', `no request ${id}`);
    const history = await deps.store.history({ request: id, limit: 100, since: r.createdAt });
    const push = r.push !== null ? snap.board.pushes[r.push] : undefined;
    return sendJson(res, 200, { request: { ...requestView(r), comments: r.comments }, push: push ? pushView(snap.board, push) : null, history });
  }

  if (method === 'GET' && head === 'pushes' && parts.length === 2) {
    const id = idParam(arg, 'push');
    const snap = await deps.dispatcher.read();
    const p = snap.board.pushes[id];
    if (!p) throw new HttpError(404, 'unknown-push', `no push ${id}`);
    const history = await deps.store.history({ push: id, limit: 200 });
    return sendJson(res, 200, { push: { ...pushView(snap.board, p), removals: p.removals, forced: p.forced }, history });
  }

  if (method === 'GET' && head === 'jobs') return jobRoutes(deps, parts, req, res, url);

  if (method === 'POST' && head === 'commands' && parts.length === 1) {
    const body = await readJson(req, deps.maxBodyBytes);
    const parsed = parseApiCommand(body);
    if (!parsed.ok) throw new HttpError(422, 'invalid-field', parsed.message, { field: parsed.field });
    const out = await deps.execute(parsed.value, actor);
    if (isDomainError(out)) return sendJson(res, domainStatus(out), { error: domainErrorJson(out) } satisfies ApiErrorBody);
    // Event names for scripts that read them, plus the events and what they touched as the board is now:
    // what a client needs to say what happened (ids, SHAs, states) without fetching the board again.
    return sendJson(res, 200, { ok: true, version: out.version, events: out.events.map((e) => e.type), ...commandOutcome(out.board, parsed.value, out.events) });
  }

  if (method === 'GET' && head === 'events' && parts.length === 1) return streamEvents(deps, req, res);

  if (deps.extraRoutes && (await deps.extraRoutes(actor, req, res, url))) return;
  throw new HttpError(404, 'not-found', `no API route ${method} ${url.pathname}`);
}

/** A job as GET /api/jobs/:id answers it. */
export function jobDetail(job: Job, deps: Pick<ApiDeps, 'jobs'>, board?: Board): JobDetail {
  const what = deps.jobs?.command(job) ?? { command: null, builder: null };
  const flakes = board ? (flakeCounts(board)[job.name] ?? 0) : 0;
  const push = board?.pushes[job.push];
  const later = push ? passedLater(jobsOfPush(push), job) : undefined;
  const refused = push ? retryRefusal(push, job) : null;
  return {
    ...jobView(job, push ? candidateLabels(push) : undefined),
    push: job.push,
    runner: job.runner,
    command: what.command,
    builder: what.builder,
    exitCode: job.exitCode ?? null,
    reason: job.reason ?? null,
    log: job.log || job.startedAt ? `/api/jobs/${job.id}/log` : null,
    ...(flakes > 0 && { flakes }),
    ...(later && { passedLater: { job: later.id, attempt: later.attempt } }),
    ...(refused && { retryRefused: refused.message }),
  };
}

/** GET /api/jobs?push=N, /api/jobs/:id, /api/jobs/:id/log[?follow=1] (text/plain, streamed while the job runs). */
async function jobRoutes(deps: ApiDeps, parts: string[], req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const snap = await deps.dispatcher.read();
  if (parts.length === 1) {
    const pushParam = url.searchParams.get('push');
    const pushes = pushParam === null ? Object.values(snap.board.pushes).filter(isOpenPush) : [snap.board.pushes[idParam(pushParam, 'push')]];
    if (pushParam !== null && !pushes[0]) throw new HttpError(404, 'unknown-push', `no push ${pushParam}`);
    return sendJson(res, 200, { jobs: pushes.flatMap((p) => {
      const labels = candidateLabels(p!);
      return jobsOfPush(p!).map((j) => jobView(j, labels));
    }) });
  }
  const id = parts[1]!;
  if (!/^[0-9]{1,9}\.[0-9]{1,9}$/.test(id)) throw new HttpError(400, 'bad-id', 'a job id looks like 3.1 (push 3, its first job)');
  const found = findJob(snap.board, id);
  if (!found) throw new HttpError(404, 'unknown-job', `no job ${id} (pushmanager job list --push N shows a push's jobs)`);
  if (parts.length === 2) return sendJson(res, 200, jobDetail(found.job, deps, snap.board));
  if (parts.length !== 3 || parts[2] !== 'log') throw new HttpError(404, 'not-found', `no API route GET ${url.pathname}`);
  if (!deps.jobs) throw new HttpError(404, 'job-log-missing', `job ${id} has no log on this server (no pipeline runner)`);
  const follow = url.searchParams.get('follow') === '1';
  // Without follow: what is kept now. With it: the same, then live output until the job ends.
  const iter = follow ? deps.jobs.follow(found.job) : keptLog(deps.jobs, found.job);
  const it = iter[Symbol.asyncIterator]();
  let first: IteratorResult<Buffer>;
  try {
    first = await it.next();
  } catch (e) {
    throw new HttpError(404, 'job-log-missing', (e as Error).message);
  }
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  let gone = false;
  req.on('close', () => {
    gone = true;
    void it.return?.(undefined);
  });
  for (let r = first; !r.done && !gone; r = await it.next()) res.write(r.value);
  res.end();
}

/** A log as it is now, without waiting for more: a running job's follow, cut at the first pause. */
async function* keptLog(jobs: NonNullable<ApiDeps['jobs']>, job: Job): AsyncGenerator<Buffer> {
  if (job.state === 'queued') return; // nothing written yet
  if (job.state !== 'running') {
    yield* jobs.follow(job);
    return;
  }
  const it = jobs.follow(job)[Symbol.asyncIterator]();
  // The first chunk is everything written so far (the file, then live): that is the log now.
  const r = await it.next();
  void it.return?.(undefined);
  if (!r.done) yield r.value;
}

/** Server-sent events: every commit and progress report, with a heartbeat so proxies keep it open. */
function streamEvents(deps: ApiDeps, _req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.write(`retry: 1000\n\n`);
  const unsubscribe = deps.bus.subscribe((m) => res.write(`event: ${m.kind}\ndata: ${JSON.stringify(m)}\n\n`));
  const beat = setInterval(() => res.write(': heartbeat\n\n'), 15_000);
  res.on('close', () => {
    clearInterval(beat);
    unsubscribe();
  });
}
