// Pipelines with `runner: buildbot` end to end (SPEC §6, issue 15): a real Buildbot 3.7 master and
// worker (test/helpers/servers/buildbot.ts), a real server as its own process (so it can be SIGKILLed)
// and real git pushes. Each build job is a build forced on its builder with the deploy SHA: `unit` on
// builder `pass`, `lint` on builder `fail` (exits 3); the board shows them passed and failed with the
// build's page, `push stage` is refused naming the failed one, and `pushmanager job log` prints the
// real step logs read from the master. A SIGKILL of the server while a build runs (`slow`, builder
// `slow`) leaves the build running; the next start re-attaches the job by its build id (no second
// build is forced) and follows it, so `job cancel` stops that very build on the master.
// Without buildbot installed this skips locally with the reason; in CI (CI=true) it runs and fails.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerProcess } from '../../bench/lib/proc.js';
import { startPipelineServer } from '../helpers/pipeline-server.js';
import type { StatusJob } from '../../state/wire.js';
import { PushmanagerClient } from '../../tui/client.js';
import { cli, commitOnBranch, gitOk } from '../helpers/server-fixture.js';
import { findBuildbot, startBuildbot, type BuildbotServer } from '../helpers/servers/buildbot.js';
import { until as untilEvery } from '../helpers/until.js';
import { loggedNotices } from '../helpers/notices.js';

const until = <T>(what: string, f: () => Promise<T | null | undefined | false>, ms = 60_000): Promise<T> => untilEvery(what, f, ms, 100);

const found = findBuildbot();
const skip = !found.ok && process.env.CI !== 'true';


const config = (bbUrl: string, withSlow: boolean, lintBuilder = 'fail') =>
  [
    'server: { host: 127.0.0.1, port: 7080, dataDir: ./data }',
    'pipeline:',
    '  runner: buildbot',
    `  buildbot: { url: "${bbUrl}", scheduler: force, pollMs: 200 }`,
    '  retries: 0',
    '  jobs:',
    '    - { name: unit, on: build, builder: pass }',
    `    - { name: lint, on: build, builder: ${lintBuilder} }`,
    ...(withSlow ? ['    - { name: slow, on: build, builder: slow }'] : []),
    '',
  ].join('\n');

describe.skipIf(skip)(`pipeline: runner buildbot on a real master and worker${found.ok ? '' : ` (skipped: ${found.ok ? '' : found.reason})`}`, () => {
  let dir: string;
  let bb: BuildbotServer;
  let server: ServerProcess;
  let work: string;
  let configFile: string;
  const pm = () => new PushmanagerClient({ server: server.url, user: 'pm', password: 'pm' });
  const jobsOf = async (push: number): Promise<readonly StatusJob[]> => (await pm().board()).pushes.find((p) => p.id === push)?.jobs ?? [];
  const ended = (push: number, id: string) =>
    until(`job ${id} to end`, async () => {
      const j = (await jobsOf(push)).find((x) => x.id === id);
      return j && (j.state === 'passed' || j.state === 'failed' || j.state === 'cancelled') ? j : null;
    });
  const run = (args: string[]) => cli(server.url, 'pm', args);
  const bbJson = async <T>(path: string): Promise<T> => (await (await fetch(`${bb.url}/api/v2${path}`)).json()) as T;
  /** The server restarted on a config for master `url`, then request `name` pushed and accepted into push 1 as request `id`. */
  const restartAndAccept = async (url: string, withSlow: boolean, name: string, id: number, lintBuilder?: string) => {
    await writeFile(configFile, config(url, withSlow, lintBuilder));
    await server.stop();
    await server.start();
    await gitOk(work, ['fetch', '-q', 'origin']);
    await commitOnBranch(work, name, { [`${name}.txt`]: `${name}\n` });
    await gitOk(work, ['push', '-q', 'origin', `${name}:refs/pushreq/${name}`]);
    expect((await run(['push', 'accept', '1', String(id)])).code).toBe(0);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pm-pipeline-bb-'));
    bb = await startBuildbot();
    configFile = join(dir, 'pushmanager.config.yaml');
    await writeFile(configFile, config(bb.url, false));
    ({ server, work } = await startPipelineServer(dir, configFile));
  }, 120_000);

  afterAll(async () => {
    await server?.kill();
    await bb?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a build forces a Buildbot build per job on the deploy SHA: one passes, one fails, each with its build page; stage names the failed one; job log prints the real step logs', async () => {
    expect((await run(['push', 'open', '--title', 'buildbot'])).code).toBe(0);
    await commitOnBranch(work, 'one', { 'one.txt': 'one\n' });
    await gitOk(work, ['push', '-q', 'origin', 'one:refs/pushreq/one']);
    const accepted = await run(['push', 'accept', '1', '1']);
    expect(accepted.code, accepted.stderr).toBe(0);
    const deploySha = (await pm().board()).pushes[0]!.deploySha!;
    const unit = await ended(1, '1.1');
    const lint = await ended(1, '1.2');
    expect(unit).toMatchObject({ name: 'unit', sha: deploySha, state: 'passed', url: expect.stringMatching(new RegExp(`^${bb.url}/#/builders/\\d+/builds/\\d+$`)) });
    expect(lint).toMatchObject({ name: 'lint', sha: deploySha, state: 'failed', url: expect.stringMatching(/\/#\/builders\/\d+\/builds\/\d+$/) });

    const refused = await run(['push', 'stage', '1', '--env', 'stage-a']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('build job lint (job 1.2) is failed');
    expect(refused.stderr).toContain('pushmanager job log 1.2');
    // And the build's page on the master, for a browser.
    expect(refused.stderr).toContain(`pushmanager job log 1.2 (build page: ${lint.url})`);

    const passLog = await run(['job', 'log', '1.1']);
    expect(passLog.code, passLog.stderr).toBe(0);
    expect(passLog.stdout).toContain('pushmanager-pass-line-1');
    // The build was forced with the deploy SHA as revision, the deploy branch and the push and job ids.
    expect(passLog.stdout).toContain(`push=1 job=1.1 revision=${deploySha} branch=deploy/push-1`);
    // Each step's header starts a line, and the log ends with one (a step's last line had no newline).
    expect(passLog.stdout).not.toMatch(/[^\n]--- step /);
    expect(passLog.stdout.endsWith('\n')).toBe(true);
    const failLog = await run(['job', 'log', '1.2']);
    expect(failLog.stdout).toContain('pushmanager-fail-line');
    expect(failLog.stdout).toMatch(/program finished with exit code 3/);
    const show = await run(['job', 'show', '1.2']);
    expect(show.stdout).toContain('fail');
    // The failure notice quotes the failing step's last lines, read from the master, as for a local job.
    const [notice] = await until('the lint failure notice', async () => {
      const n = await loggedNotices(join(dir, 'data'), 'Job failed: lint');
      return n.length ? n : null;
    });
    expect(notice!.text).toMatch(/Last lines of its log:\n {2}step \d+ boom \(stdio\):\n {2}pushmanager-fail-line\n {2}program finished with exit code 3\n/);
    // Not Buildbot's header: the worker's environment stays out of chat and mail.
    expect(notice!.text).not.toMatch(/using PTY|npm_package|PATH=/);
  }, 120_000);

  it('a SIGKILL of the server while a build runs: the next start re-attaches the job by its build id (no second build), and job cancel stops that build', async () => {
    await restartAndAccept(bb.url, true, 'two', 2);
    const slow = await until('the slow job to run on a build', async () => {
      const j = (await jobsOf(1)).find((x) => x.name === 'slow');
      return j && j.state === 'running' && j.url ? j : null;
    });
    const pushFile = async () => JSON.parse(await gitOk(join(dir, 'data', 'repos', 'main.git'), ['show', 'pushmanager/meta:pushes/0000/1.json'])) as { jobs: { id: string; handle?: { runner: string; buildId?: number; buildRequestId: number } }[] };
    const handle = (await pushFile()).jobs.find((j) => j.id === slow.id)!.handle!;
    expect(handle).toMatchObject({ runner: 'buildbot', buildId: expect.any(Number), buildRequestId: expect.any(Number) });

    await server.kill();
    const build = await bbJson<{ builds: { complete: boolean }[] }>(`/builds/${handle.buildId}`);
    expect(build.builds[0]!.complete, 'a SIGKILL of the server leaves the build running').toBe(false);
    await server.start();
    expect((await jobsOf(1)).find((j) => j.id === slow.id)).toMatchObject({ state: 'running', url: slow.url });

    // The log is the build's, read from the master while it runs: the slow step prints its first line.
    const log = await until('the slow step\'s first line in job log', async () => {
      const l = await run(['job', 'log', slow.id]);
      return l.stdout.includes('pushmanager-slow-start') ? l : null;
    }, 20_000);
    expect(log.stdout).toContain('--- step 1 sleep (stdio) ---');

    const cancelled = await run(['job', 'cancel', slow.id]);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    await until('Buildbot to stop the build', async () => {
      const b = (await bbJson<{ builds: { complete: boolean; results: number | null }[] }>(`/builds/${handle.buildId}`)).builds[0]!;
      return b.complete && b.results === 6;
    });
    // One build of the slow builder: re-attached, never forced again.
    const slowBuilder = (await bbJson<{ builders: { builderid: number }[] }>('/builders?name=slow')).builders[0]!;
    const builds = await bbJson<{ builds: unknown[] }>(`/builds?builderid=${slowBuilder.builderid}`);
    expect(builds.builds).toHaveLength(1);
    expect(server.log).toContain(`job ${slow.id} (slow): re-attached to Buildbot build ${handle.buildId}`);
  }, 180_000);

  it('while the master is away no job fails: they stay queued and are forced when it answers (a red run from an outage would have a culprit search blame a request)', async () => {
    // The server reaches the master through a proxy the test can take down: connections are dropped.
    let down = true;
    const proxy = createServer((req, res) => {
      if (down) return req.socket.destroy();
      const target = new URL(req.url ?? '/', bb.url);
      const out = httpRequest(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      out.on('error', () => res.destroy());
      req.pipe(out);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    try {
      const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      await restartAndAccept(proxyUrl, false, 'three', 3);
      const deploySha = (await pm().board()).pushes[0]!.deploySha!;
      const ours = async () => (await jobsOf(1)).filter((j) => j.sha === deploySha);
      // Several tries later (200 ms, then backing off), both are still queued: nothing was concluded.
      await new Promise((r) => setTimeout(r, 2_500));
      expect((await ours()).map((j) => [j.name, j.state])).toEqual([
        ['unit', 'queued'],
        ['lint', 'queued'],
      ]);
      expect(server.log).toMatch(/job \d+\.\d+ \(unit\): Buildbot is away \(.*\); the job stays queued and is forced when it answers/);
      down = false;
      const unit = await until('unit to pass once the master answers', async () => (await ours()).find((j) => j.name === 'unit' && j.state === 'passed'), 60_000);
      expect(unit.url).toMatch(/\/#\/builders\/\d+\/builds\/\d+$/);
      // lint fails for real (its builder exits 3): a real result, with its build page.
      const lint = await until('lint to end', async () => (await ours()).find((j) => j.name === 'lint' && j.state === 'failed'), 60_000);
      expect(lint.url).toMatch(/\/#\/builders\/\d+\/builds\/\d+$/);
    } finally {
      await new Promise<void>((r) => proxy.close(() => r()));
      proxy.closeAllConnections();
    }
  }, 180_000);

  it("a builder the master does not have: the start-up log names the field; its job fails 'could not run' at once, is not retried, starts no culprit search and blames nobody", async () => {
    await restartAndAccept(bb.url, false, 'four', 4, 'nope');
    // The config is checked against the master at start, before any job is forced.
    const checked = await until('the start-up check of the builders', async () => server.log.match(/pipeline\.jobs\[1\]\.builder: Buildbot at \S+ has no builder "nope" \(it has: [^)]*"fail"[^)]*\); job lint cannot run until it does/));
    expect(checked[0]).toContain('"pass"');
    const deploySha = (await pm().board()).pushes[0]!.deploySha!;
    const lint = await until('lint to be refused', async () => (await jobsOf(1)).find((j) => j.name === 'lint' && j.sha === deploySha && j.state === 'failed'));
    expect(lint.notRun).toBe('Buildbot: no builder "nope" on ' + bb.url + ' (pipeline.jobs[].builder)');
    expect(lint.url).toBeNull();
    // unit runs and passes on the same SHA: the refusal is one job's.
    await until('unit to pass', async () => (await jobsOf(1)).find((j) => j.name === 'unit' && j.sha === deploySha && j.state === 'passed'));
    await new Promise((r) => setTimeout(r, 1_000));
    const board = (await pm().board()).pushes[0]!;
    // No retry of it (the same force would be refused the same way) and no search: it says nothing of the tree.
    expect(board.jobs!.filter((j) => j.name === 'lint' && j.sha === deploySha).map((j) => j.id)).toEqual([lint.id]);
    expect(board.bisection?.job).not.toBe(lint.id);
    const status = await run(['status']);
    expect(status.stdout).toContain(`job ${lint.id}`);
    expect(status.stdout).toMatch(new RegExp(`job ${lint.id.replace('.', '\\.')} +lint +build +failed at [0-9a-f]{10}  \\(could not run: Buildbot: no builder "nope"`));
    const log = await run(['job', 'log', lint.id]);
    expect(log.code).toBe(1);
    expect(log.stderr).toContain(`job ${lint.id} (lint) never ran on Buildbot (Buildbot: no builder "nope"`);
    // The pushmaster alone hears it, with what to do; the requests' owners are not blamed.
    const [notice] = await until('the could-not-run notice', async () => {
      const n = await loggedNotices(join(dir, 'data'), 'Job could not run: lint');
      return n.length ? n : null;
    });
    expect(notice!.to).toEqual(['pm']);
    expect(notice!.text).toContain(`build job lint (job ${lint.id}) could not run on ${deploySha.slice(0, 10)}: Buildbot: no builder "nope"`);
    expect(notice!.text).toContain(`Nobody's request is to blame and no culprit search starts; stage of push #1 "buildbot" waits for it. Fix it, then: \`pushmanager job retry ${lint.id}\``);
    // The gate holds: stage is refused, naming it.
    const stage = await run(['push', 'stage', '1', '--env', 'stage1']);
    expect(stage.code).toBe(1);
    expect(stage.stderr).toContain(lint.id);
  }, 180_000);
});
