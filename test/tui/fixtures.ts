// Boards and a fake client for the dashboard's UI tests: fixed dates (the frames show ages relative to
// NOW), fixed SHAs, and a client object with PushmanagerClient's methods that records what was sent.
import { userActor } from '../../state/actor.js';
import { allowedActions, compactActions } from '../../state/allowed-actions.js';
import { isOpenPush, wantedMerges, type Board, type Push as BoardPush, type PushRequest } from '../../state/model.js';
import type { StatusView } from '../../state/status-view.js';
import type { BoardView, JobDetail, StatusJob } from '../../state/wire.js';
import { ServerRefusal, type ClientCommand, type CommandAnswer, type RequestDetail } from '../../tui/client.js';
import type { DashboardClient } from '../../tui/dashboard/live-board.js';

type Req = StatusView['requests'][number];
type Push = StatusView['pushes'][number];

export const NOW = new Date('2024-05-01T12:00:00Z');
export const now = () => NOW;
const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000).toISOString();
export const sha = (n: number) => (n.toString(16).padStart(2, '0').repeat(20)).slice(0, 40);

export function req(id: number, over: Partial<Omit<Req, 'id'>> = {}): Req {
  return {
    id,
    user: 'alice',
    title: `Change number ${id}`,
    description: '',
    ref: `refs/pushreq/change-${id}`,
    sha: sha(id),
    state: 'requested',
    push: null,
    tags: [],
    conflicts: [],
    review: null,
    ticket: null,
    watchers: [],
    comments: 0,
    autoPickme: true,
    createdAt: minutesAgo(id * 7),
    updatedAt: minutesAgo(id),
    pickedAt: null,
    acceptedAt: null,
    reason: null,
    ...over,
  } as Req;
}

export function push(id: number, over: Partial<Omit<Push, 'id'>> = {}): Push {
  return {
    id,
    title: `Push ${id}`,
    type: 'regular',
    state: 'accepting',
    pushmaster: 'pm',
    deployBranch: `deploy/push-${id}`,
    deploySha: null,
    baseSha: sha(200),
    stageEnv: null,
    tag: null,
    requests: [],
    pingme: [],
    checklist: [],
    createdAt: minutesAgo(90),
    ...over,
  } as Push;
}

/**
 * The board a status view came from, as far as decide needs it: open pushes' deploy branches built and
 * current (the dashboard's tests are not about a rebuild in flight), comments as many as counted.
 */
export function boardOf(view: StatusView): Board {
  const requests = Object.fromEntries(view.requests.map((r) => [r.id, { ...r, comments: Array.from({ length: r.comments }, () => ({ at: r.createdAt, user: r.user, text: '' })) } as PushRequest]));
  const pushes = Object.fromEntries(
    view.pushes.map((p) => [p.id, { ...p, deployBranch: `refs/heads/${p.deployBranch}`, deploySha: p.deploySha ?? sha(300 + p.id), merges: [], removals: [], forced: [], checklist: p.checklist ?? [], updatedAt: p.createdAt } as unknown as BoardPush]),
  );
  const b: Board = { nextRequestId: Math.max(0, ...view.requests.map((r) => r.id)) + 1, nextPushId: Math.max(0, ...view.pushes.map((p) => p.id)) + 1, requests, pushes };
  for (const p of Object.values(pushes)) if (isOpenPush(p)) (p as { merges: unknown }).merges = wantedMerges(b, p.id).map((w, i) => ({ ...w, commit: sha(400 + i) }));
  return b;
}

/** The view with what `me` may do, as GET /api/board sends it (state/allowed-actions.ts on the same board). */
export function withActions<V extends StatusView>(view: V, me: { name: string; pushmaster: boolean; admin?: boolean } | null): V & BoardView {
  if (!me) return view;
  return { ...view, actions: compactActions(allowedActions(boardOf(view), userActor(me.name, { pushmaster: me.pushmaster, admin: me.admin ?? false }))) };
}

/** The board most tests use: push 3 accepting with two pickmes and one added; two waiting, one delayed; push 2 live. */
export function sampleBoard(): StatusView {
  const requests = [
    req(1, { state: 'pickme', push: 3 as never, user: 'bob', title: 'Fix login redirect', tags: ['urgent'], review: '1234', ticket: 'WEB-42', pickedAt: minutesAgo(30) }),
    req(2, { state: 'pickme', push: 3 as never, user: 'alice', title: 'Faster search', tags: ['conflict-pickme'], conflicts: [{ with: 4 as never, files: ['search.ts'] }], pickedAt: minutesAgo(20) }),
    req(4, { state: 'added', push: 3 as never, user: 'carol', title: 'New footer', tags: ['no-conflicts'], pickedAt: minutesAgo(40), acceptedAt: minutesAgo(10) }),
    req(5, { user: 'alice', title: 'Waiting for a push', watchers: ['bob'] }),
    req(6, { user: 'carol', title: 'Dark mode \u001b[2J\u001b[Hgotcha' }),
    req(7, { state: 'delayed', user: 'bob', title: 'Not this week' }),
  ];
  return {
    version: sha(99),
    pushes: [push(3, { title: 'Wednesday train', requests: [1, 2, 4] as never }), push(2, { title: 'Tuesday train', state: 'live', tag: 'push-2', requests: [] })],
    requests,
  };
}

/** N requests in one push, for the 200-row frame and the benchmark. */
export function bigBoard(n: number): StatusView {
  const requests: Req[] = [];
  const states = ['pickme', 'added', 'staged', 'verified'] as const;
  for (let i = 1; i <= n; i++) {
    const inPush = i % 5 !== 0;
    requests.push(req(i, { state: inPush ? states[i % 4]! : 'requested', push: (inPush ? 1 : null) as never, user: ['alice', 'bob', 'carol', 'dave'][i % 4]!, tags: i % 7 === 0 ? ['urgent'] : [], createdAt: minutesAgo(i) }));
  }
  return { version: sha(1), pushes: [push(1, { requests: requests.filter((r) => r.push !== null).map((r) => r.id) as never })], requests };
}

export function detailOf(r: Req): RequestDetail {
  return {
    request: { ...r, description: 'Line one of the description.\nSecond line.', comments: [{ at: '2024-05-01T11:00:00Z', user: 'pm', text: 'looks good' }] } as RequestDetail['request'],
    push: null,
    history: [{ version: sha(50), at: '2024-05-01T10:00:00Z', actor: r.user, command: 'OpenRequest', subject: `Open request #${r.id}`, events: ['RequestOpened'] }],
  };
}

/** Events by name (`'Done'`) or as objects with the fields the answer's sentence reads. */
type Handler = (cmd: ClientCommand, client: FakeClient) => (string | { readonly type: string; readonly [k: string]: unknown })[] | ServerRefusal;

/** Same methods as PushmanagerClient; `onCommand` decides the answer and may change the board. */
export class FakeClient implements DashboardClient {
  readonly sent: ClientCommand[] = [];
  /** Each job's log as the server would stream it: tests write to it and end it. */
  readonly logs = new Map<string, FakeLog>();
  logOpens = 0;
  private emit: ((kind: string, data: unknown) => void) | null = null;
  streams = 0;
  boardFetches = 0;
  down = false;

  constructor(
    public view: StatusView,
    public me: { name: string; pushmaster: boolean; admin?: boolean } = { name: 'pm', pushmaster: true },
    public onCommand: Handler = () => ['Done'],
  ) {}

  async board(): Promise<BoardView> {
    this.boardFetches++;
    if (this.down) throw new Error('cannot reach the pushmanager server at http://test: ECONNREFUSED');
    // As the server does: with what the signed-in user may do.
    return withActions(this.view, this.me);
  }
  async requestDetail(id: number): Promise<RequestDetail> {
    const r = this.view.requests.find((x) => x.id === id);
    if (!r) throw new ServerRefusal(404, 'not-found', `no request #${id}`);
    return detailOf(r);
  }
  async whoami() {
    return { user: { admin: false, ...this.me } };
  }
  log(id: string): FakeLog {
    let l = this.logs.get(id);
    if (!l) this.logs.set(id, (l = new FakeLog()));
    return l;
  }
  async job(id: string): Promise<JobDetail> {
    const j = this.view.pushes.flatMap((p) => p.jobs ?? []).find((x) => x.id === id);
    const p = this.view.pushes.find((x) => x.jobs?.some((y) => y.id === id));
    if (!j || !p) throw new ServerRefusal(404, 'not-found', `no job ${id}`);
    return jobDetailOf(j, p.id);
  }
  followJobLog(id: string, signal: AbortSignal): AsyncIterable<string> {
    this.logOpens++;
    return this.log(id).follow(signal);
  }
  async command(cmd: ClientCommand) {
    this.sent.push(cmd);
    const out = this.onCommand(cmd, this);
    if (out instanceof ServerRefusal) throw out;
    // As the server answers: the events, and the pushes and requests as they are after the command.
    const changes = out.map((e) => ({ at: NOW.toISOString(), actor: this.me.name, ...(typeof e === 'string' ? { type: e } : e) })) as unknown as CommandAnswer['changes'];
    return { ok: true as const, version: 'v', events: changes.map((e) => e.type), changes, pushes: this.view.pushes, requests: this.view.requests };
  }
  events(onMessage: (kind: string, data: unknown) => void, signal: AbortSignal): Promise<void> {
    if (this.down) return Promise.reject(new Error('event stream: fetch failed'));
    this.streams++;
    this.emit = onMessage;
    return new Promise((resolve) => {
      this.closeStream = () => {
        this.emit = null;
        resolve();
      };
      signal.addEventListener('abort', () => this.closeStream(), { once: true });
    });
  }
  closeStream: () => void = () => undefined;
  /** What the server's event stream would send. */
  send(kind: string, data: unknown): void {
    this.emit?.(kind, data);
  }
  /** The server goes away: the stream ends and fetches fail until `up()`. */
  goDown(): void {
    this.down = true;
    this.closeStream();
  }
  up(): void {
    this.down = false;
  }
}

/** Frames with SHAs and clock times replaced, so snapshots do not depend on them. */
export const scrub = (frame: string | undefined): string =>
  (frame ?? '').replace(/\b[0-9a-f]{10,40}\b/g, '<sha>').replace(/\b\d\d:\d\d:\d\d\b/g, '<time>');

export const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

/** Waits until the last frame satisfies `ok` (renders are asynchronous). */
export async function waitFor(get: () => string | undefined, ok: (f: string) => boolean, ms = 2000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const f = get() ?? '';
    if (ok(f)) return f;
    if (Date.now() > end) throw new Error(`timed out; last frame:\n${f}`);
    await tick(5);
  }
}

/** sampleBoard with a checklist on push 3 (one item ticked by pm) and integration links and builds. */
export function checklistBoard(): StatusView & { links: Record<number, unknown>; builds: Record<number, unknown> } {
  const b = sampleBoard();
  const checklist = [
    { id: 'db-migration-run', phase: 'before-stage', text: 'Run the migration for #4', requests: [4], done: false, doneBy: null },
    { id: 'smoke', phase: 'after-stage', text: 'Smoke test \u001b[31mstage', requests: [], done: true, doneBy: 'pm' },
    { id: 'announce', phase: 'before-certify', text: 'Announce in #ops', requests: [], done: false, doneBy: null },
  ];
  return {
    ...b,
    pushes: [{ ...b.pushes[0]!, checklist: checklist as never }, b.pushes[1]!],
    links: {
      1: { review: 'https://rb.example/r/1234/', ticket: 'https://jira.example/browse/WEB-42', shipIts: 2, build: { state: 'fail', failedBuilders: ['builder-a'], link: 'https://bb.example/b/1' } },
      2: { shipIts: 0, build: { state: 'running', failedBuilders: [], link: 'https://bb.example/b/2' } },
      5: { build: { state: 'unknown', failedBuilders: [], link: '', error: 'buildbot is slow to answer' } },
    },
    builds: { 3: { state: 'pass', failedBuilders: [], link: 'https://bb.example/deploy/3' } },
  };
}

/** A job's log stream as GET /api/jobs/:id/log?follow=1 sends it: what was written so far, then each write as it comes, until end(). */
export class FakeLog {
  private readonly chunks: string[] = [];
  private ended = false;
  private wake: (() => void) | null = null;
  followers = 0;
  aborted = 0;

  write(text: string): void {
    this.chunks.push(text);
    this.wake?.();
  }
  end(): void {
    this.ended = true;
    this.wake?.();
  }
  async *follow(signal: AbortSignal): AsyncGenerator<string> {
    this.followers++;
    let at = 0;
    const onAbort = () => {
      this.aborted++;
      this.wake?.();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (signal.aborted) return;
        if (at < this.chunks.length) {
          yield this.chunks[at++]!;
          continue;
        }
        if (this.ended) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
}

const at = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000).toISOString();

export function job(id: string, over: Partial<Omit<StatusJob, 'id'>> = {}): StatusJob {
  return { id, name: 'test', on: 'build', sha: sha(300 + 3), state: 'passed', attempt: 1, kind: 'build', url: null, startedAt: at(10), finishedAt: at(7), ...over };
}

export function jobDetailOf(j: StatusJob, push: number): JobDetail {
  return { ...j, push, runner: 'local', command: ['npm', 'test'], builder: null, exitCode: j.state === 'failed' ? 1 : j.state === 'passed' ? 0 : null, reason: j.state === 'failed' ? 'exited with 1' : null, log: `/api/jobs/${j.id}/log` };
}

/**
 * sampleBoard with push 3's jobs: a lint that passed, a test that failed and passed on its retry
 * (flaky), an e2e running for 2m05s, a deploy queued; NOW fixed, so the elapsed times are too.
 */
export function jobsBoard(): StatusView {
  const b = sampleBoard();
  const running = new Date(NOW.getTime() - 125_000).toISOString();
  const jobs: StatusJob[] = [
    job('j1', { name: 'lint', startedAt: at(20), finishedAt: new Date(Date.parse(at(20)) + 42_000).toISOString() }),
    job('j2', { name: 'test', state: 'failed', startedAt: at(18), finishedAt: new Date(Date.parse(at(18)) + 185_000).toISOString() }),
    job('j3', { name: 'test', kind: 'retry', attempt: 2, flaky: true, startedAt: at(14), finishedAt: new Date(Date.parse(at(14)) + 100_000).toISOString() }),
    job('j4', { name: 'e2e-browser-suite', state: 'running', startedAt: running, finishedAt: null }),
    job('j5', { name: 'deploy-stage', on: 'stage', kind: 'deploy', state: 'queued', startedAt: null, finishedAt: null }),
  ];
  return { ...b, pushes: [{ ...b.pushes[0]!, deploySha: sha(303), jobs }, b.pushes[1]!] };
}
