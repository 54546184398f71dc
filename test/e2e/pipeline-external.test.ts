// Pipelines with `runner: external` end to end (SPEC §6, issue 15): a real server as its own process
// (so it can be SIGKILLed), real git pushes, and a small HTTP receiver that stands for the external CI:
// it records each announcement the server POSTs and answers 200. Checked as a CI and people use it:
// the announcement arrives signed with the shared secret and names the job, its SHA, push and branch
// and how to report back; a report from a user without the ci role is refused; a SIGKILL and restart
// leave the job waiting (not announced twice); a report for a job whose SHA was replaced is recorded
// and opens no gate; a ci user's report passes the gate.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerProcess } from '../../bench/lib/proc.js';
import { startPipelineServer } from '../helpers/pipeline-server.js';
import { SIGNATURE_HEADER, verifySignature } from '../../server/integrations/webhooks.js';
import type { JobAnnouncement } from '../../server/pipeline/external-job-service.js';
import type { StatusJob } from '../../state/wire.js';
import { PushmanagerClient } from '../../tui/client.js';
import { cli, commitOnBranch, gitOk } from '../helpers/server-fixture.js';
import { startRecordingServer, type RecordingServer } from '../server/integrations/recording-server.js';
import { until } from '../helpers/until.js';

const SECRET = 'the-ci-shares-this-secret';


describe('pipeline: runner external, announced by signed webhook, reported back by the ci role (real server)', () => {
  let dir: string;
  let server: ServerProcess;
  let ciReceiver: RecordingServer;
  let work: string;
  const pm = () => new PushmanagerClient({ server: server.url, user: 'pm', password: 'pm' });
  const jobsOf = async (push: number): Promise<readonly StatusJob[]> => (await pm().board()).pushes.find((p) => p.id === push)?.jobs ?? [];
  const run = (user: string, args: string[]) => cli(server.url, user, args);
  const announcements = () => ciReceiver.requests.map((r) => ({ r, body: JSON.parse(r.body) as JobAnnouncement }));
  const meta = () => gitOk(join(dir, 'data', 'repos', 'main.git'), ['log', '--format=%s', 'pushmanager/meta']);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pm-pipeline-ext-'));
    // The CI: takes every announcement (a real CI would start a run on the SHA and report back).
    ciReceiver = await startRecordingServer(() => ({ status: 200, json: { ok: true } }));
    const config = join(dir, 'pushmanager.config.yaml');
    await writeFile(
      config,
      [
        'server: { host: 127.0.0.1, port: 7080, dataDir: ./data }',
        'auth:',
        '  strategy: local',
        '  users:',
        '    - { name: alice, password: alice }',
        '    - { name: pm, password: pm, pushmaster: true }',
        '    - { name: ci-bot, password: ci-bot, ci: true }',
        'pipeline:',
        '  runner: external',
        `  external: { url: "${ciReceiver.url}/pushmanager", secret: ${SECRET} }`,
        '  jobs:',
        '    - { name: test, on: build }',
        '',
      ].join('\n'),
    );
    ({ server, work } = await startPipelineServer(dir, config));
  }, 60_000);

  afterAll(async () => {
    await server?.kill();
    await ciReceiver?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a build queues the job and announces it to the CI, signed, with the job, SHA, push, branch and how to report', async () => {
    expect((await run('pm', ['push', 'open', '--title', 'external'])).code).toBe(0);
    await commitOnBranch(work, 'one', { 'one.txt': 'one\n' });
    await gitOk(work, ['push', '-q', 'origin', 'one:refs/pushreq/one']);
    const accepted = await run('pm', ['push', 'accept', '1', '1']);
    expect(accepted.code, accepted.stderr).toBe(0);
    const [a] = await until('the announcement to reach the CI', () => (announcements().length ? announcements() : null));
    const deploySha = (await pm().board()).pushes[0]!.deploySha;
    expect(a!.r.method).toBe('POST');
    expect(a!.r.path).toBe('/pushmanager');
    expect(verifySignature(SECRET, a!.r.body, a!.r.headers[SIGNATURE_HEADER.toLowerCase()] as string), 'signed with the shared secret').toBe(true);
    expect(verifySignature('another-secret-entirely', a!.r.body, a!.r.headers[SIGNATURE_HEADER.toLowerCase()] as string)).toBe(false);
    expect(a!.body).toMatchObject({
      id: 'job:1.1',
      type: 'JobQueued',
      job: { id: '1.1', name: 'test', on: 'build', sha: deploySha, push: 1, branch: 'deploy/push-1', attempt: 1, kind: 'build' },
      report: { role: 'ci', cli: 'pushmanager job report 1.1 --state passed|failed [--url URL]', api: { method: 'POST', url: `${server.url}/api/commands`, body: { type: 'ReportJob', job: '1.1' } } },
    });
    expect((await jobsOf(1)).map((j) => [j.id, j.state])).toEqual([['1.1', 'queued']]);
    const refused = await run('pm', ['push', 'stage', '1', '--env', 'stage-a']);
    expect(refused.stderr).toContain('build job test (job 1.1) is queued');
  }, 60_000);

  it('a report from a user without the ci role is refused, naming the role; the job stays queued', async () => {
    const byAlice = await run('alice', ['job', 'report', '1.1', '--state', 'passed']);
    expect(byAlice.code).toBe(1);
    expect(byAlice.stderr).toContain('alice does not have the ci role and cannot report the result of job 1.1');
    expect(byAlice.stderr).toContain('[not-ci]');
    // Not the pushmaster either: the role is the CI's, not a pushmaster's shortcut past the gate.
    const res = await fetch(`${server.url}/api/commands`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('pm:pm').toString('base64')}` },
      body: JSON.stringify({ type: 'ReportJob', job: '1.1', state: 'passed' }),
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not-ci');
    expect((await jobsOf(1)).find((j) => j.id === '1.1')?.state).toBe('queued');
  }, 30_000);

  it('after a SIGKILL and restart the external job keeps waiting, and is not announced again', async () => {
    await server.kill();
    await server.start();
    expect((await jobsOf(1)).map((j) => [j.id, j.state])).toEqual([['1.1', 'queued']]);
    // Start-up offers the waiting job to the queue again; its key was sent, so nothing goes out twice.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(announcements().map((a) => a.body.id)).toEqual(['job:1.1']);
  }, 60_000);

  it('a report for a job whose SHA was replaced is recorded and gates nothing; a ci report on the current job passes the gate', async () => {
    await gitOk(work, ['fetch', '-q', 'origin']);
    await commitOnBranch(work, 'two', { 'two.txt': 'two\n' });
    await gitOk(work, ['push', '-q', 'origin', 'two:refs/pushreq/two']);
    expect((await run('pm', ['push', 'accept', '1', '2'])).code).toBe(0);
    await until('job 1.2 to be announced', () => announcements().some((a) => a.body.job.id === '1.2'));
    const jobs = await jobsOf(1);
    expect(jobs.map((j) => [j.id, j.state])).toEqual([
      ['1.1', 'cancelled'],
      ['1.2', 'queued'],
    ]);
    // The CI is told that 1.1 is cancelled (its run can stop), signed, once, with why.
    const cancel = await until('the cancel of 1.1 to reach the CI', () => announcements().find((a) => a.r.headers['x-pushmanager-event'] === 'JobCancelled'));
    expect(cancel.r.headers['x-pushmanager-delivery']).toBe('job:1.1:cancelled');
    expect(verifySignature(SECRET, cancel.r.body, cancel.r.headers[SIGNATURE_HEADER.toLowerCase()] as string)).toBe(true);
    expect(JSON.parse(cancel.r.body)).toMatchObject({ id: 'job:1.1:cancelled', type: 'JobCancelled', job: { id: '1.1', name: 'test', push: 1, kind: 'build' }, reason: expect.stringMatching(/^replaced by the build of [0-9a-f]{10}/) });
    expect(announcements().filter((a) => a.r.headers['x-pushmanager-delivery'] === 'job:1.1:cancelled')).toHaveLength(1);

    // The CI finishes the run it started for the old SHA: through the API, with an API token of its ci account.
    const issued = await fetch(`${server.url}/api/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('ci-bot:ci-bot').toString('base64')}` },
      body: JSON.stringify({ label: 'the CI' }),
    });
    expect(issued.status).toBe(201);
    const { token } = (await issued.json()) as { token: string };
    const res = await fetch(`${server.url}/api/commands`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ type: 'ReportJob', job: '1.1', state: 'passed', url: 'https://ci.example.com/runs/1' }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as { changes: { type: string }[] }).changes.map((c) => c.type)).toEqual(['JobReported']);
    expect(await meta()).toContain('Report job 1.1 passed');
    expect((await jobsOf(1)).find((j) => j.id === '1.1')?.state).toBe('cancelled');
    const stillRed = await run('pm', ['push', 'stage', '1', '--env', 'stage-a']);
    expect(stillRed.code).toBe(1);
    expect(stillRed.stderr).toContain('build job test (job 1.2) is queued');

    // A bad state is refused naming the field.
    const bad = await run('ci-bot', ['job', 'report', '1.2', '--state', 'green']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--state.*passed, failed/);

    const reported = await run('ci-bot', ['job', 'report', '1.2', '--state', 'passed', '--url', 'https://ci.example.com/runs/2']);
    expect(reported.code, reported.stderr).toBe(0);
    expect(reported.stdout).toContain('job 1.2 (test) passed (https://ci.example.com/runs/2)');
    const job = (await jobsOf(1)).find((j) => j.id === '1.2');
    expect(job).toMatchObject({ state: 'passed', url: 'https://ci.example.com/runs/2' });
    const staged = await run('pm', ['push', 'stage', '1', '--env', 'stage-a']);
    expect(staged.code, staged.stderr).toBe(0);
    expect(staged.stdout).toContain('staged push 1 on stage-a');
    // A second report of the same job changes nothing and says what is true: it passed, its result stands.
    const again = await run('ci-bot', ['job', 'report', '1.2', '--state', 'failed']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('job 1.2 (test) already passed on');
    expect(again.stderr).toContain('its result stands (a job takes one report); nothing to do [nothing-to-do]');
    expect(again.stderr).not.toContain('job retry');
  }, 60_000);

  it("a retried cancelled job that passes is no flake; a url with control characters is refused; the job's log is the CI's page; a late report stands", async () => {
    // Job 1.1 was cancelled (its SHA replaced): run again, it is a plain run (attempt 2), not a retry.
    const retried = await run('pm', ['job', 'retry', '1.1']);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toContain('job 1.3 queued: test again on');
    expect(retried.stdout).toContain('announced to the external CI, which reports its result; follow it: pushmanager job show 1.3');
    expect(retried.stdout).not.toContain('job log');
    expect((await jobsOf(1)).find((j) => j.id === '1.3')).toMatchObject({ kind: 'build', attempt: 2, state: 'queued', runner: 'external' });

    // Escape sequences in the url: refused at the edge, naming the field, by the CLI and the API alike.
    const hostile = 'http://ci.example/\x1b[2J\x1b]0;pwn\x07x';
    const bad = await run('ci-bot', ['job', 'report', '1.3', '--state', 'passed', '--url', hostile]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('url: must not contain control characters');
    const api = await fetch(`${server.url}/api/commands`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('ci-bot:ci-bot').toString('base64')}` },
      body: JSON.stringify({ type: 'ReportJob', job: '1.3', state: 'passed', url: hostile }),
    });
    expect(api.status).toBeGreaterThanOrEqual(400);
    expect(api.status).toBeLessThan(500);
    expect(((await api.json()) as { error: { message: string } }).error.message).toBe('url: must not contain control characters');
    expect((await jobsOf(1)).find((j) => j.id === '1.3')).toMatchObject({ state: 'queued', url: null });

    const passed = await run('ci-bot', ['job', 'report', '1.3', '--state', 'passed', '--url', 'https://ci.example.com/runs/3']);
    expect(passed.code, passed.stderr).toBe(0);
    const status = JSON.parse((await run('pm', ['status', '--json'])).stdout) as { flakes?: Record<string, number>; pushes: { jobs?: StatusJob[] }[] };
    expect(status.flakes ?? {}).toEqual({});
    expect(status.pushes[0]!.jobs!.find((j) => j.id === '1.3')).toMatchObject({ state: 'passed', kind: 'build' });
    expect(status.pushes[0]!.jobs!.find((j) => j.id === '1.3')!.flaky).toBeUndefined();

    // A failed external job: job list and job show point to the CI's page, never to job log.
    expect((await run('pm', ['job', 'retry', '1.1'])).code).toBe(0);
    expect((await run('ci-bot', ['job', 'report', '1.4', '--state', 'failed', '--url', 'https://ci.example.com/runs/4'])).code).toBe(0);
    const list = await run('pm', ['job', 'list', '--push', '1']);
    expect(list.stdout).toMatch(/job 1\.4 +test +build +failed .*\(log: https:\/\/ci\.example\.com\/runs\/4\)/);
    expect(list.stdout).not.toContain('job log');
    const show = await run('pm', ['job', 'show', '1.4']);
    expect(show.stdout.split('\n')[0]).toBe('Job 1.4: test (build, attempt 3) of push 1, external runner');
    expect(show.stdout).toContain("\n  log: https://ci.example.com/runs/4 (the CI's run page)\n");
    expect(show.stdout).not.toContain('job log');
    const twice = await run('ci-bot', ['job', 'report', '1.4', '--state', 'passed']);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('job 1.4 (test) already failed on');
    expect(twice.stderr).toContain('for a new result the pushmaster runs it again as a new job: pushmanager job retry 1.4 [nothing-to-do]');

    // Job 1.1 was reported late once (passed): a second late report is refused and the first stands.
    const late = await run('ci-bot', ['job', 'report', '1.1', '--state', 'failed']);
    expect(late.code).toBe(1);
    expect(late.stderr).toContain('job 1.1 (test) was cancelled (replaced by the build of');
    expect(late.stderr).toContain('its late report is recorded already (passed, by ci-bot at');
    expect(await meta()).not.toContain('Report job 1.1 failed');
  }, 60_000);

  it('a cancel the announcement queue never took (a crash between the commit and the queue) goes out at the next start, once; a late-reported one does not', async () => {
    expect((await run('pm', ['job', 'retry', '1.4'])).code).toBe(0);
    await until('job 1.5 to be announced', () => announcements().some((a) => a.body.job?.id === '1.5'));
    expect((await run('pm', ['job', 'cancel', '1.5'])).code).toBe(0);
    const delivered = (id: string) => announcements().filter((a) => a.r.headers['x-pushmanager-delivery'] === `job:${id}:cancelled`);
    await until('the cancel of 1.5 to reach the CI', () => delivered('1.5').length === 1);
    // The crash that loses it: the queue's journal never had it (here: the journal is gone as a whole).
    await server.kill();
    await rm(join(dir, 'data', 'jobs', 'announce'), { recursive: true, force: true });
    await server.start();
    const again = await until('the cancel of 1.5 to be announced again', () => (delivered('1.5').length === 2 ? delivered('1.5')[1]! : null));
    expect(again.r.headers['x-pushmanager-delivery']).toBe('job:1.5:cancelled');
    expect(verifySignature(SECRET, again.r.body, again.r.headers[SIGNATURE_HEADER.toLowerCase()] as string)).toBe(true);
    expect(JSON.parse(again.r.body)).toMatchObject({ id: 'job:1.5:cancelled', type: 'JobCancelled', job: { id: '1.5', name: 'test', push: 1 }, reason: 'cancelled by pm' });
    // Job 1.1's CI reported after its cancel: it knows, and hears nothing more of it.
    await new Promise((r) => setTimeout(r, 500));
    expect(delivered('1.1')).toHaveLength(1);
  }, 60_000);
});
