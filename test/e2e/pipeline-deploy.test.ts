// Deploy jobs and retries end to end (SPEC §6, issue 15) with the local runner: a real server process,
// real git pushes, and jobs that are shell scripts in the repository. The build job fails on its first
// run only (a marker outside the repository that it removes), so the automatic retry passes: it is
// flaky, counted, and the stage gate is green. The stage job deploys `{env}` `{sha}`: it fails for the
// environment `broken` (the push stays accepting, the job named, the pushmaster told, no pushee asked to
// verify) and passes otherwise, waiting while a hold file exists so the push is seen "staging" first;
// only its pass stages the push and asks the pushee to verify.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerProcess } from '../../bench/lib/proc.js';
import { startPipelineServer } from '../helpers/pipeline-server.js';
import type { StatusJob, StatusPush, StatusView } from '../../state/wire.js';
import { PushmanagerClient } from '../../tui/client.js';
import { cli, commitOnBranch, gitOk } from '../helpers/server-fixture.js';
import { loggedNotices } from '../helpers/notices.js';
import { until } from '../helpers/until.js';

const BUILD = `#!/bin/sh
echo "build of $PUSHMANAGER_JOB_SHA attempt $PUSHMANAGER_JOB_ATTEMPT"
if [ -e "$PM_DEPLOY_DIR/flaky-once" ]; then rm "$PM_DEPLOY_DIR/flaky-once"; echo "flaked" >&2; exit 1; fi
echo "build passed"
`;
const DEPLOY = `#!/bin/sh
echo "deploying $2 to $1"
while [ -e "$PM_DEPLOY_DIR/hold" ]; do sleep 0.05; done
if [ "$1" = broken ]; then echo "no such environment: $1" >&2; exit 5; fi
echo "deployed"
`;



describe('pipeline: stage jobs gate staged, failed build jobs are retried (local runner, real server)', () => {
  let dir: string;
  let server: ServerProcess;
  let work: string;
  const pm = () => new PushmanagerClient({ server: server.url, user: 'pm', password: 'pm' });
  const board = async (): Promise<StatusView> => (await pm().board()) as StatusView;
  const push1 = async (): Promise<StatusPush> => (await board()).pushes.find((p) => p.id === 1)!;
  const job = (id: string) =>
    until(`job ${id} to end`, async () => {
      const j: StatusJob | undefined = (await push1()).jobs?.find((x) => x.id === id);
      return j && (j.state === 'passed' || j.state === 'failed' || j.state === 'cancelled') ? j : null;
    });
  const run = (args: string[]) => cli(server.url, 'pm', args);
  const notices = (subject: string) => loggedNotices(join(dir, 'data'), subject);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pm-deploy-'));
    process.env.PM_DEPLOY_DIR = dir;
    const config = join(dir, 'pushmanager.config.yaml');
    await writeFile(
      config,
      [
        'server: { host: 127.0.0.1, port: 7080, dataDir: ./data }',
        'pipeline:',
        '  killGraceSec: 1',
        '  passEnv: [PM_DEPLOY_DIR]',
        '  jobs:',
        '    - { name: test, on: build, run: [sh, ci/build.sh], timeoutSec: 120 }',
        '    - { name: deploy-stage, on: stage, run: [sh, ci/deploy.sh, "{env}", "{sha}"], timeoutSec: 120 }',
        '',
      ].join('\n'),
    );
    ({ server, work } = await startPipelineServer(dir, config));
  }, 60_000);

  afterAll(async () => {
    await server?.kill();
    delete process.env.PM_DEPLOY_DIR;
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a build job failing only on its first run is retried at once, passes, is marked flaky and counted; the gate is green', async () => {
    expect((await run(['push', 'open', '--title', 'deploys'])).code).toBe(0);
    await commitOnBranch(work, 'feature', { 'ci/build.sh': BUILD, 'ci/deploy.sh': DEPLOY });
    await gitOk(work, ['push', '-q', 'origin', 'feature:refs/pushreq/feature']);
    await writeFile(join(dir, 'flaky-once'), 'fail the first run\n');
    const accepted = await run(['push', 'accept', '1', '1']);
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(await job('1.1')).toMatchObject({ name: 'test', state: 'failed', attempt: 1, kind: 'build' });
    const retry = await job('1.2');
    expect(retry).toMatchObject({ name: 'test', on: 'build', state: 'passed', attempt: 2, kind: 'retry', flaky: true, sha: (await push1()).deploySha });
    expect(existsSync(join(dir, 'flaky-once'))).toBe(false);
    expect((await board()).flakes).toEqual({ test: 1 });
    const show = await run(['job', 'show', '1.2']);
    expect(show.stdout).toContain('flaky: failed, then passed on attempt 2');
    expect(show.stdout).toContain('test has flaked 1 time');
    // Nobody was blamed for the first failure: it was run again before the gate counted it.
    expect(await notices('Job failed:')).toEqual([]);
  }, 60_000);

  it('a failing stage job leaves the push unstaged, names the job, tells the pushmaster and no pushee', async () => {
    const staged = await run(['push', 'stage', '1', '--env', 'broken']);
    expect(staged.code, staged.stderr).toBe(0);
    expect(staged.stdout).toContain('push 1 is staging on broken: stage job deploy-stage (job 1.3)');
    const failed = await job('1.3');
    expect(failed).toMatchObject({ name: 'deploy-stage', on: 'stage', kind: 'deploy', state: 'failed' });
    const p = await push1();
    expect(p.state).toBe('accepting');
    expect(p.deploying).toBeUndefined();
    const told = await until('the pushmaster to be told', async () => (await notices('Stage failed:')).length > 0 && notices('Stage failed:'));
    expect(told.map((n) => [n.to].flat())).toEqual([['pm']]);
    expect(told[0]!.text).toContain('stage job deploy-stage (job 1.3) failed');
    expect(told[0]!.text).toContain('still accepting');
    expect(await notices('Please verify')).toEqual([]);
    const log = await run(['job', 'log', '1.3']);
    expect(log.stdout).toContain(`deploying ${p.deploySha} to broken`);
    expect(log.stdout).toContain('no such environment: broken');
  }, 60_000);

  it('a passing stage job stages the push: staging while it runs, staged and the pushee notified when it passes', async () => {
    await writeFile(join(dir, 'hold'), 'hold\n');
    const staged = await run(['push', 'stage', '1', '--env', 'stage-a']);
    expect(staged.code, staged.stderr).toBe(0);
    await until('the stage job to run', async () => (await push1()).jobs?.find((j) => j.id === '1.4' && j.state === 'running'));
    const staging = await push1();
    expect(staging.state).toBe('accepting');
    expect(staging.deploying).toEqual({ step: 'stage', env: 'stage-a', jobs: ['1.4'] });
    expect((await run(['status'])).stdout).toContain('accepting, staging on stage-a (job 1.4)');
    const again = await run(['push', 'stage', '1', '--env', 'stage-a']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('push 1 is staging on stage-a: stage job deploy-stage (job 1.4) is running');
    expect(await notices('Please verify')).toEqual([]);

    await unlink(join(dir, 'hold'));
    expect(await job('1.4')).toMatchObject({ state: 'passed' });
    const p = await until('the push to be staged', async () => {
      const x = await push1();
      return x.state === 'staged' && x;
    });
    expect(p.stageEnv).toBe('stage-a');
    expect(p.deploying).toBeUndefined();
    const verify = await until('the pushee to be asked to verify', async () => (await notices('Please verify')).length > 0 && notices('Please verify'));
    expect(verify.map((n) => [n.to].flat())).toEqual([['alice']]);
    const subjects = await gitOk(join(dir, 'data', 'repos', 'main.git'), ['log', '--format=%s', 'pushmanager/meta']);
    expect(subjects.split('\n')).toContain('Job 1.4 passed');
  }, 60_000);

  it('the first failure of the flaky build says it passed on its retry, not "run again"; retried by hand it is attempt 3, no flake, and the count stays 1', async () => {
    const shown = await run(['job', 'show', '1.1']);
    expect(shown.stdout).toContain('  retried: passed on attempt 2 (job 1.2)');
    expect(shown.stdout).not.toContain('run again');
    const retried = await run(['job', 'retry', '1.1']);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toContain('job 1.5 queued: test again on');
    expect(retried.stdout).toContain('(attempt 3)');
    expect(await job('1.5')).toMatchObject({ state: 'passed', attempt: 3, kind: 'build' });
    expect((await push1()).jobs?.find((j) => j.id === '1.5')?.flaky).toBeUndefined();
    expect((await board()).flakes).toEqual({ test: 1 });
    expect((await run(['job', 'show', '1.5'])).stdout).toContain('test has flaked 1 time');
  }, 60_000);
});
