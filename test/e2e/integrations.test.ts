// Issue 7 through the running server: an upstream git server (a second bare repository over HTTP),
// Reviewboard and JIRA (HTTP servers in the test that speak their documented APIs and record what they
// got: neither can be installed here), and a webhook receiver that checks the HMAC signature.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../server/main.js';
import { parseConfig } from '../../server/config/config.js';
import { PushmanagerClient } from '../../tui/client.js';
import { startPlainGitServer } from '../../bench/lib/plain-git-server.js';
import { git, gitOk } from '../helpers/server-fixture.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';
import { until } from '../helpers/until.js';

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
    for (let i = 0; i < 50 && !(seen.some((s) => s.method === 'PUT') && seen.some((s) => s.path.includes('/comment'))); i++) await new Promise((r) => setTimeout(r, 50));
    const rb = seen.find((s) => s.method === 'PUT')!;
    expect(rb).toMatchObject({ path: '/api/review-requests/77/', auth: 'token rb-token' });
    expect(rb.body).toContain('status=submitted');
    const jira = seen.find((s) => s.path === '/rest/api/2/issue/WEB-7/comment')!;
    expect(jira.method).toBe('POST');
    expect(jira.auth).toBe(`Basic ${Buffer.from('pushbot:jira-token').toString('base64')}`);
    expect(JSON.parse(jira.body).body).toMatch(/is live in push 1/);

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
