// The Buildbot runner against a real Buildbot 3.7 master and worker (test/helpers/servers/buildbot.ts),
// started once for this file. Without buildbot installed the tests skip locally with the reason and
// fail in CI (CI=true).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuildbotRunner, type BuildbotProgress } from '../../../server/pipeline/buildbot-runner.js';
import { findBuildbot, startBuildbot, type BuildbotServer } from '../../helpers/servers/buildbot.js';
import { closedPort } from '../integrations/recording-server.js';

const found = findBuildbot();
// In CI (CI=true) a missing Buildbot is a failure, never a skip: the describe runs and startBuildbot
// throws with the reason (as test/e2e/pipeline-buildbot.test.ts does; findBinary also throws there).
const skip = !found.ok && process.env.CI !== 'true';
const SHA = '1234567890abcdef1234567890abcdef12345678';

describe.skipIf(skip)(`Buildbot runner on a real master${found.ok ? '' : ` (skipped: ${found.reason})`}`, () => {
  let bb: BuildbotServer;
  let runner: BuildbotRunner;
  beforeAll(async () => {
    bb = await startBuildbot();
    runner = new BuildbotRunner({ url: bb.url, scheduler: 'force', pollMs: 200 });
  });
  afterAll(async () => bb?.dispose());

  const spec = (builder: string, id: string) => ({ id, name: `job-${builder}`, builder, sha: SHA, branch: 'deploy/push-7', push: 7 });

  it('a passing build: forced with the SHA, the branch and the ids, followed to passed, its step log read', async () => {
    const handle = await runner.force(spec('pass', 'j-pass'));
    expect(handle.buildRequestId).toBeGreaterThan(0);
    const seen: BuildbotProgress[] = [];
    const done = await runner.wait(handle, { onProgress: (p) => seen.push(p) });
    expect(done).toMatchObject({ state: 'passed', results: 0 });
    expect(done.handle.buildId).toBeGreaterThan(0);
    expect(done.url).toMatch(new RegExp(`^${bb.url}/#/builders/\\d+/builds/\\d+$`));
    const logs = await runner.stepLogs(done.handle.buildId!);
    const text = logs.map((l) => l.text).join('\n');
    expect(text).toContain('pushmanager-pass-line-1');
    expect(text).toContain('pushmanager-pass-line-2');
    // The properties reached the build: the push, the job, the revision and the branch.
    expect(text).toContain(`push=7 job=j-pass revision=${SHA} branch=deploy/push-7`);
    expect(logs.map((l) => l.step)).toEqual(expect.arrayContaining(['hello', 'props']));
  });

  it('a failing build: failed, with the failing step\'s output', async () => {
    const done = await runner.wait(await runner.force(spec('fail', 'j-fail')));
    expect(done).toMatchObject({ state: 'failed', results: 2 });
    const logs = await runner.stepLogs(done.handle.buildId!);
    const boom = logs.find((l) => l.step === 'boom');
    expect(boom?.text).toContain('pushmanager-fail-line');
    expect(boom?.text).toMatch(/program finished with exit code 3/);
  });

  it('cancel stops a running build; re-attaching by build id finds it; its log was followed live', async () => {
    const handle = await runner.force(spec('slow', 'j-slow'));
    const chunks: string[] = [];
    const following = (async () => {
      for await (const c of runner.followLog(handle)) chunks.push(c);
    })();
    const running = await waitForState(runner, handle, 'running');
    // The log grows while the build runs (the step has printed and is sleeping).
    await until(() => chunks.join('').includes('pushmanager-slow-start'), 'the slow step\'s first line');
    // After a restart only the recorded build id is known.
    const again = await runner.attach(running.handle.buildId!);
    expect(again).toEqual({ buildRequestId: handle.buildRequestId, buildId: running.handle.buildId });
    await runner.cancel(again, 'cancelled by pm');
    const done = await runner.wait(again);
    expect(done).toMatchObject({ state: 'cancelled', results: 6 });
    await following;
  });

  it('an unknown builder is a typed error naming it', async () => {
    await expect(runner.force(spec('no-such-builder', 'j-x'))).rejects.toMatchObject({ code: 'integration-not-found', message: expect.stringContaining('"no-such-builder"') });
  });

  it('an unknown force scheduler is refused with Buildbot\'s reason', async () => {
    const wrong = new BuildbotRunner({ url: bb.url, scheduler: 'nope' });
    await expect(wrong.force(spec('pass', 'j-y'))).rejects.toMatchObject({ service: 'buildbot' });
  });
});

describe('Buildbot runner, master unreachable', () => {
  it('wait asks again through brief outages and gives up after maxErrors in a row, with the reason', async () => {
    const port = await closedPort();
    const runner = new BuildbotRunner({ url: `http://127.0.0.1:${port}`, scheduler: 'force', pollMs: 10 });
    const errors: string[] = [];
    await expect(runner.wait({ buildRequestId: 1 }, { maxErrors: 3, onError: (e) => errors.push(e.code) })).rejects.toMatchObject({ code: 'integration-unreachable' });
    expect(errors).toEqual(['integration-unreachable', 'integration-unreachable', 'integration-unreachable']);
  });
});

async function until(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function waitForState(runner: BuildbotRunner, handle: { buildRequestId: number }, state: string): Promise<BuildbotProgress> {
  const end = Date.now() + 30_000;
  for (;;) {
    const p = await runner.poll(handle);
    if (p.state === state) return p;
    if (Date.now() > end) throw new Error(`build request ${handle.buildRequestId} never became ${state} (is ${p.state})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
