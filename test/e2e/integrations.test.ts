// Issue 7 through the running server: an upstream git server (a second bare repository over HTTP),
// Reviewboard and JIRA (HTTP servers in the test that speak their documented APIs and record what they
// got: neither can be installed here), and a webhook receiver that checks the HMAC signature.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../server/main.js';
import { parseConfig } from '../../server/config/config.js';
import { PushmanagerClient } from '../../tui/client.js';
import { startPlainGitServer } from '../../bench/lib/plain-git-server.js';
import { ServerProcess as BenchServerProcess } from '../../bench/lib/proc.js';
import { git, gitOk } from '../helpers/server-fixture.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';
import { until } from '../helpers/until.js';
import { closedPort, startRecordingServer, type Answer, type Recorded, type RecordingServer } from '../server/integrations/recording-server.js';

interface Seen {
  method: string;
  path: string;
  auth: string;
  body: string;
  headers: http.IncomingHttpHeaders;
}
const seen: Seen[] = [];
let recorder: http.Server;
let upstream: { url: string; close(): Promise<void> };
let upstreamDir: string;
let server: RunningServer;
let dir: string;
const SECRET = 'a-webhook-secret-of-some-length';

beforeAll(async () => {
  dir = await tempDir();
  recorder = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method!, path: req.url!, auth: req.headers.authorization ?? '', body: Buffer.concat(chunks).toString('utf8'), headers: req.headers });
      res.setHeader('content-type', 'application/json');
      if (req.url!.startsWith('/api/review-requests/')) res.end(JSON.stringify({ stat: 'ok', review_request: { id: 77, status: 'submitted', ship_it_count: 2 } }));
      else if (req.url!.startsWith('/rest/api/2/issue/') && req.method === 'GET') res.end(JSON.stringify({ startAt: 0, maxResults: 100, total: 0, comments: [] }));
      else if (req.url!.startsWith('/rest/api/2/issue/')) res.writeHead(201).end(JSON.stringify({ id: '10001' }));
      else res.end('{}');
    });
  });
  recorder.listen(0, '127.0.0.1');
  await once(recorder, 'listening');
  const rec = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;

  // The company's main repository, with its own history.
  upstreamDir = join(dir, 'upstream', 'web.git');
  await gitOk(dir, ['init', '-q', '--bare', '--initial-branch=master', upstreamDir]);
  const seed = join(dir, 'seed');
  await gitOk(dir, ['clone', '-q', upstreamDir, seed]);
  await gitOk(seed, ['commit', '-q', '--allow-empty', '-m', 'upstream root']);
  await gitOk(seed, ['push', '-q', 'origin', 'HEAD:master']);
  upstream = await startPlainGitServer(upstreamDir);

  const yaml = `
integrations:
  upstream: { url: "${upstream.url}" }
  reviewboard: { url: "${rec}", apiToken: rb-token }
  tickets:
    urlTemplate: "https://jira.example/browse/%TICKET%"
    jira: { url: "${rec}", user: pushbot, apiToken: jira-token, apiVersion: 2 }
  webhooks:
    - { url: "${rec}/hook", secret: ${SECRET} }
`;
  server = await startServer({ config: parseConfig(yaml, 'integrations-test.yaml'), port: 0, dataDir: join(dir, 'data'), log: () => undefined });
});

afterAll(async () => {
  await server?.close();
  await upstream?.close();
  recorder?.close();
  await removeTempDirs();
});

const client = (u: string) => new PushmanagerClient({ server: server.url, user: u, password: u });

describe('integrations through the train', () => {
  it('master comes from upstream; certify pushes master and the tag there; Reviewboard, JIRA and webhooks hear it', async () => {
    const upstreamMaster = await gitOk(upstreamDir, ['rev-parse', 'master']);
    const remote = `${server.url.replace('://', '://alice:alice@')}/main.git`;
    const work = join(dir, 'alice');
    await gitOk(dir, ['clone', '-q', remote, work]);
    expect(await gitOk(work, ['rev-parse', 'origin/master'])).toBe(upstreamMaster);
    await gitOk(work, ['checkout', '-q', '-b', 'feature']);
    await gitOk(work, ['commit', '-q', '--allow-empty', '-m', 'feature WEB-7']);
    const push = await git(work, ['push', 'origin', 'feature:refs/pushreq/feature', '-o', 'title=Feature', '-o', 'review=77', '-o', 'ticket=WEB-7']);
    expect(push.code).toBe(0);

    const pm = client('pm');
    await pm.command({ type: 'OpenPush', title: 'with integrations' });
    const board = await pm.board();
    const req = board.requests.find((r) => r.ref === 'refs/pushreq/feature')!;
    expect((board as unknown as { links: Record<number, { review: string; ticket: string; shipIts: number }> }).links[req.id]).toMatchObject({ review: expect.stringContaining('/r/77'), ticket: 'https://jira.example/browse/WEB-7', shipIts: 2 });

    // Someone lands a commit on upstream master meanwhile: certify must merge it, not lose it.
    await gitOk(join(dir, 'seed'), ['commit', '-q', '--allow-empty', '-m', 'hotfix upstream']);
    await gitOk(join(dir, 'seed'), ['push', '-q', 'origin', 'HEAD:master']);
    const hotfix = await gitOk(upstreamDir, ['rev-parse', 'master']);

    await pm.command({ type: 'AcceptRequests', push: 1, requests: [req.id] });
    await server.train.idle();
    await pm.command({ type: 'StagePush', push: 1, env: 'stage-a' });
    await client('alice').command({ type: 'VerifyRequest', request: req.id });
    await pm.command({ type: 'BlessPush', push: 1, force: false });
    await pm.command({ type: 'CertifyPush', push: 1, force: false });

    const after = await pm.board(true);
    const p = after.pushes.find((x) => x.id === 1)!;
    expect(p.state).toBe('live');
    const upMaster = await gitOk(upstreamDir, ['rev-parse', 'master']);
    expect(upMaster).toBe(await server.repo.git.refSha('refs/heads/master'));
    expect((await git(upstreamDir, ['merge-base', '--is-ancestor', hotfix, upMaster])).code).toBe(0);
    expect(await gitOk(upstreamDir, ['cat-file', '-t', `refs/tags/${p.tag}`])).toBe('tag');

    // Reviewboard and JIRA are told after the commit; give them a moment.
    for (let i = 0; i < 50 && !(seen.some((s) => s.method === 'PUT') && seen.some((s) => s.method === 'POST' && s.path.includes('/comment'))); i++) await new Promise((r) => setTimeout(r, 50));
    const rb = seen.find((s) => s.method === 'PUT')!;
    expect(rb).toMatchObject({ path: '/api/review-requests/77/', auth: 'token rb-token' });
    expect(rb.body).toContain('status=submitted');
    const jira = seen.find((s) => s.path === '/rest/api/2/issue/WEB-7/comment' && s.method === 'POST')!;
    expect(jira).toBeDefined();
    expect(jira.auth).toBe(`Basic ${Buffer.from('pushbot:jira-token').toString('base64')}`);
    expect(JSON.parse(jira.body).body).toMatch(/is live in push 1/);
    // The comment names the commit that went live and the tag.
    expect(JSON.parse(jira.body).body).toContain(`Commit: ${req.sha}`);
    expect(JSON.parse(jira.body).body).toContain(`(tag ${p.tag})`);

    // The webhook outbox delivers after the command answered: wait for it, with a deadline for a broken
    // outbox rather than a speed to meet (2.5 s was too short for a loaded CI machine).
    await until('the PushCertified webhook', () => seen.some((s) => s.path === '/hook' && s.body.includes('PushCertified')), 20_000);
    const hooks = seen.filter((s) => s.path === '/hook');
    expect(hooks.length).toBeGreaterThan(3);
    for (const h of hooks) {
      const expected = `sha256=${createHmac('sha256', SECRET).update(h.body).digest('hex')}`;
      expect(h.headers['x-pushmanager-signature']).toBe(expected);
    }
    const ids = hooks.map((h) => h.headers['x-pushmanager-delivery']);
    expect(new Set(ids).size).toBe(ids.length);
    expect(hooks.some((h) => JSON.parse(h.body).type === 'PushCertified')).toBe(true);
  }, 90_000);

  it('checklists: a pushplans request adds items per phase; each step is refused until its item is ticked', async () => {
    const remote = `${server.url.replace('://', '://alice:alice@')}/main.git`;
    const work = join(dir, 'alice2');
    await gitOk(dir, ['clone', '-q', remote, work]);
    await gitOk(work, ['commit', '-q', '--allow-empty', '-m', 'migration']);
    await gitOk(work, ['push', '-q', 'origin', 'HEAD:refs/pushreq/migration', '-o', 'title=Migration', '-o', 'tags=pushplans']);
    const pm = client('pm');
    await pm.command({ type: 'OpenPush', title: 'with plans' });
    const b = await pm.board();
    const push = b.pushes.find((p) => p.state === 'accepting')!;
    const req = b.requests.find((r) => r.ref === 'refs/pushreq/migration')!;
    await pm.command({ type: 'AcceptRequests', push: push.id, requests: [req.id] });
    const items = (await pm.board()).pushes.find((p) => p.id === push.id)!.checklist;
    expect(items.map((i) => [i.id, i.phase, i.done])).toEqual([
      ['pushplans:alice:stage', 'before-stage', false],
      ['pushplans:alice:prod', 'before-bless', false],
      ['pushplans:alice:cleanup', 'before-certify', false],
    ]);
    const refusal = (p: Promise<unknown>) => p.then(() => 'accepted', (e: { code?: string }) => e.code);
    expect(await refusal(pm.command({ type: 'StagePush', push: push.id, env: 'stage-a' }))).toBe('open-checklist');
    await pm.command({ type: 'TickChecklist', push: push.id, item: 'pushplans:alice:stage', done: true });
    await pm.command({ type: 'StagePush', push: push.id, env: 'stage-a' });
    await client('alice').command({ type: 'VerifyRequest', request: req.id });
    expect(await refusal(pm.command({ type: 'BlessPush', push: push.id, force: false }))).toBe('open-checklist');
    await pm.command({ type: 'TickChecklist', push: push.id, item: 'pushplans:alice:prod', done: true });
    await pm.command({ type: 'BlessPush', push: push.id, force: false });
    expect(await refusal(pm.command({ type: 'CertifyPush', push: push.id, force: false }))).toBe('open-checklist');
    expect(await refusal(client('alice').command({ type: 'TickChecklist', push: push.id, item: 'pushplans:alice:cleanup', done: true }))).toBe('not-pushmaster-of-push');
    await pm.command({ type: 'TickChecklist', push: push.id, item: 'pushplans:alice:cleanup', done: true });
    await pm.command({ type: 'CertifyPush', push: push.id, force: false });
    expect((await pm.board(true)).pushes.find((p) => p.id === push.id)!.state).toBe('live');
  }, 90_000);

  it('master follows upstream with a state commit of its own: cause upstream, from and to, and only when it moved', async () => {
    const seed = join(dir, 'seed');
    await server.train.masterSha();
    const from = (await server.repo.git.refSha('refs/heads/master'))!;
    // Upstream moves on (a merge on GitHub): the next refresh follows it.
    await gitOk(seed, ['fetch', '-q', 'origin']);
    await gitOk(seed, ['reset', '-q', '--hard', 'origin/master']);
    await gitOk(seed, ['commit', '-q', '--allow-empty', '-m', 'upstream moves on']);
    await gitOk(seed, ['push', '-q', 'origin', 'HEAD:master']);
    const to = await gitOk(upstreamDir, ['rev-parse', 'master']);
    expect(to).not.toBe(from);
    expect(await server.train.masterSha()).toBe(to);
    const follows = async () => {
      const out = await gitOk(server.repo.gitDir, ['log', '--format=%H%x1f%B%x1e', 'refs/heads/pushmanager/meta']);
      return out.split('\x1e').map((r) => r.trim()).filter((r) => r.includes('Pushmanager-Command: FollowUpstream'));
    };
    const [commit] = await follows();
    expect(commit).toBeDefined();
    expect(commit).toContain('Pushmanager-Cause: upstream');
    expect(commit).toContain('Pushmanager-Events: MasterFollowedUpstream');
    expect(commit).toContain(`master ${from} -> ${to}`);
    // The state commit and master moved together: the commit's own master is the followed one.
    expect(await server.repo.git.refSha('refs/heads/master')).toBe(to);
    const n = (await follows()).length;
    // Nothing moved upstream: no commit.
    await server.train.masterSha();
    expect((await follows()).length).toBe(n);
  }, 60_000);
});

// Reviewboard and JIRA calls of a certification are durable: the server runs as its own process and is
// SIGKILLed; the services are HTTP servers speaking their documented APIs (Reviewboard Web API 2.0's
// review-requests resource; JIRA REST v2's issue comments, listed and posted) and keep what they were sent.
describe('Reviewboard and JIRA across a crash', () => {
  const started: BenchServerProcess[] = [];
  const services: RecordingServer[] = [];
  afterAll(async () => {
    for (const p of started) await p.kill();
    await Promise.all(services.map((s) => s.close()));
  });

  /** The server as its own process (bench/lib/proc.ts), on `configFile`, with a client per user. */
  class ServerProcess extends BenchServerProcess {
    constructor(readonly data: string, configFile: string) {
      super({ dataDir: data, config: configFile });
      started.push(this);
    }
    client(user: string): PushmanagerClient {
      return new PushmanagerClient({ server: this.url, user, password: user });
    }
  }

  /** A JIRA that keeps its comments: GET lists them (newest first), POST adds one; `hold` keeps the answer back. */
  function jira(opts: { hold?: () => boolean } = {}) {
    const comments: { id: string; body: string }[] = [];
    const handler = (r: Recorded): Answer => {
      if (!/^\/rest\/api\/2\/issue\/WEB-7\/comment(\?|$)/.test(r.path)) return { status: 404, json: { errorMessages: ['Issue does not exist or you do not have permission to see it.'], errors: {} } };
      if (r.method === 'GET') return { status: 200, json: { startAt: 0, maxResults: 100, total: comments.length, comments: [...comments].reverse() } };
      const c = { id: String(10_000 + comments.length), body: (JSON.parse(r.body) as { body: string }).body };
      comments.push(c);
      return { status: 201, json: c, delayMs: opts.hold?.() ? 60_000 : 0 };
    };
    return { comments, handler };
  }
  const reviewboard = (r: Recorded): Answer =>
    r.path === '/api/review-requests/77/' && r.method === 'PUT' && r.headers.authorization === 'token rb-token'
      ? { status: 200, json: { stat: 'ok', review_request: { id: 77, status: new URLSearchParams(r.body).get('status') } } }
      : { status: 404, json: { stat: 'fail', err: { code: 100, msg: 'Object does not exist' } } };

  async function setUp(name: string, svc: number): Promise<ServerProcess> {
    const root = join(dir, name);
    await mkdir(root, { recursive: true });
    const configFile = join(root, 'pushmanager.config.yaml');
    await writeFile(configFile, `integrations:
  reviewboard: { url: "http://127.0.0.1:${svc}", apiToken: rb-token }
  tickets:
    urlTemplate: "https://jira.example/browse/%TICKET%"
    jira: { url: "http://127.0.0.1:${svc}", user: pushbot, apiToken: jira-token, apiVersion: 2 }
`);
    const s = new ServerProcess(join(root, 'data'), configFile);
    await s.start();
    return s;
  }

  /** One request (review 77, ticket WEB-7) through a push to certified; the push's tag and the request's SHA. */
  async function certifyOne(s: ServerProcess, name: string): Promise<{ request: number; push: number; sha: string; tag: string }> {
    const work = join(dir, name, 'alice');
    await gitOk(dir, ['clone', '-q', `${s.url.replace('://', '://alice:alice@')}/main.git`, work]);
    await gitOk(work, ['commit', '-q', '--allow-empty', '-m', 'feature WEB-7']);
    const pushed = await git(work, ['push', 'origin', 'HEAD:refs/pushreq/feature', '-o', 'title=Feature', '-o', 'review=77', '-o', 'ticket=WEB-7']);
    expect(pushed.code, pushed.stderr).toBe(0);
    const pm = s.client('pm');
    await pm.command({ type: 'OpenPush', title: 'durable effects' });
    const req = (await pm.board()).requests.find((r) => r.ref === 'refs/pushreq/feature')!;
    await pm.command({ type: 'AcceptRequests', push: 1, requests: [req.id] });
    await until('the deploy branch', async () => (await pm.board()).pushes.find((p) => p.id === 1)?.deploySha);
    await pm.command({ type: 'StagePush', push: 1, env: 'stage-a' });
    await s.client('alice').command({ type: 'VerifyRequest', request: req.id });
    await pm.command({ type: 'BlessPush', push: 1, force: false });
    await pm.command({ type: 'CertifyPush', push: 1, force: false });
    const p = (await pm.board(true)).pushes.find((x) => x.id === 1)!;
    expect(p.state).toBe('live');
    return { request: req.id, push: 1, sha: req.sha, tag: p.tag! };
  }

  it.each([
    ['as the crash left it', false],
    ['with the journals gone (as if it crashed before writing them: caught up from the metadata branch)', true],
  ])('down at certify, server SIGKILLed, services up, server started, %s: the review is marked submitted and one comment posted, naming SHA and tag', async (_name, dropJournals) => {
    const name = dropJournals ? 'down-kill-nojournal' : 'down-kill';
    const svc = await closedPort();
    const s = await setUp(name, svc);
    const live = await certifyOne(s, name);
    // Killed right after certify answered: the calls are in the journal or, at worst, only in the metadata commit.
    await s.kill();
    if (dropJournals) await rm(join(s.data, 'integrations'), { recursive: true, force: true });
    const j = jira();
    const rbSeen: Recorded[] = [];
    services.push(await startRecordingServer((r) => (r.path.startsWith('/rest/') ? j.handler(r) : (rbSeen.push(r), reviewboard(r))), svc));
    await s.start();
    await until('the review marked submitted and the comment posted', () => rbSeen.some((r) => r.method === 'PUT') && j.comments.length > 0, 30_000);
    // Time for a second comment, were one coming (the backoff starts at 1 s).
    await new Promise((r) => setTimeout(r, 2_500));
    expect(rbSeen.map((r) => `${r.method} ${r.path} ${r.body}`)).toEqual(['PUT /api/review-requests/77/ status=submitted']);
    expect(j.comments).toHaveLength(1);
    expect(j.comments[0]!.body).toBe(`Request ${live.request} "Feature" by alice is live in push 1 (tag ${live.tag}).\nCommit: ${live.sha}\n[pushmanager push-1/request-${live.request}]`);
    await s.kill();
  }, 120_000);

  it('a crash after JIRA took the comment but before the journal recorded it: the restart finds the comment there and posts none', async () => {
    const svc = await closedPort();
    let hold = true;
    const j = jira({ hold: () => hold });
    services.push(await startRecordingServer((r) => (r.path.startsWith('/rest/') ? j.handler(r) : reviewboard(r)), svc));
    const s = await setUp('ack-lost', svc);
    await certifyOne(s, 'ack-lost');
    // JIRA has the comment; its answer is held back, and the server dies before it could journal "sent".
    await until('the comment to reach JIRA', () => j.comments.length === 1);
    await s.kill();
    hold = false;
    await s.start();
    const journal = join(s.data, 'integrations', 'jira', 'outbox.jsonl');
    await until('the journal to record the comment as made', async () => (await readFile(journal, 'utf8').catch(() => '')).includes('"t":"sent"'), 30_000);
    expect(j.comments).toHaveLength(1);
    await s.kill();
  }, 120_000);

  it('a refusal (4xx) is not tried again, before or after a restart, and the log says why', async () => {
    const svc = await closedPort();
    const seen: Recorded[] = [];
    services.push(await startRecordingServer((r) => {
      seen.push(r);
      return r.path.startsWith('/rest/')
        ? { status: 404, json: { errorMessages: ['Issue does not exist or you do not have permission to see it.'], errors: {} } }
        : { status: 403, json: { stat: 'fail', err: { code: 101, msg: 'You don\'t have permission for this' } } };
    }, svc));
    const s = await setUp('refused', svc);
    const live = await certifyOne(s, 'refused');
    await until('both refusals in the log', () => (s.log.match(/refused, not tried again/g) ?? []).length === 2, 30_000);
    expect(s.log).toMatch(new RegExp(`Reviewboard: marking review 77 submitted for request ${live.request} \\(push 1\\): refused, not tried again: .*HTTP 403.*You don't have permission`));
    expect(s.log).toMatch(new RegExp(`JIRA: commenting on WEB-7 for request ${live.request} \\(push 1\\): refused, not tried again: .*HTTP 404.*Issue does not exist`));
    await new Promise((r) => setTimeout(r, 2_500));
    await s.kill();
    await s.start();
    await new Promise((r) => setTimeout(r, 2_500));
    // (The board reads ship-it counts with GETs of its own; those are not the calls of the certification.)
    expect(seen.filter((r) => r.method !== 'GET' || r.path.startsWith('/rest/')).map((r) => `${r.method} ${r.path.replace(/\?.*/, '')}`)).toEqual(['PUT /api/review-requests/77/', 'GET /rest/api/2/issue/WEB-7/comment']);
    await s.kill();
  }, 120_000);
});
