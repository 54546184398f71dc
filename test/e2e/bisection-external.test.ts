// Bisection with `runner: external` (issue 16 on "any CI"): a real server process, real git pushes, and this
// test as the CI. A small HTTP receiver takes the signed announcements; for each one the "CI" fetches the
// branch it names from the server as a user would (`git fetch origin <branch>`), looks for a BREAKS marker
// in that tree and reports the result with `pushmanager job report` as a user in the ci role. The search
// runs on those reports alone: candidate branches must be fetchable and named in the announcements.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerProcess } from '../../bench/lib/proc.js';
import type { JobAnnouncement } from '../../server/pipeline/external-job-service.js';
import type { StatusPush, StatusView } from '../../state/status-view.js';
import { PushmanagerClient } from '../../tui/client.js';
import { startPipelineServer } from '../helpers/pipeline-server.js';
import { cli, commitOnBranch, gitOk } from '../helpers/server-fixture.js';
import { until } from '../helpers/until.js';
import { startRecordingServer, type RecordingServer } from '../server/integrations/recording-server.js';

describe('bisection on an external CI: announced candidate branches, results reported back', () => {
  let dir: string;
  let server: ServerProcess;
  let ciReceiver: RecordingServer;
  let work: string;
  const pm = () => new PushmanagerClient({ server: server.url, user: 'pm', password: 'pm' });
  const pushOf = async (id: number): Promise<StatusPush> => ((await pm().board()) as StatusView).pushes.find((p) => p.id === id)!;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pm-bisect-ext-'));
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
        '  external: { url: "' + ciReceiver.url + '/ci", secret: the-ci-shares-this-secret }',
        '  retries: 1',
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

  it('the CI runs each announced candidate branch; the culprit is found on its reports and removed', async () => {
    expect((await cli(server.url, 'pm', ['push', 'open', '--title', 'ext'])).code).toBe(0);
    for (let i = 0; i < 6; i++) {
      await commitOnBranch(work, `e${i}`, { [`e/${i}.txt`]: `${i}\n`, ...(i === 4 && { BREAKS: 'x\n' }) });
      await gitOk(work, ['push', '-q', 'origin', `e${i}:refs/pushreq/e${i}`]);
    }
    const accepted = await cli(server.url, 'pm', ['push', 'accept', '1', '1', '2', '3', '4', '5', '6']);
    expect(accepted.code, accepted.stderr).toBe(0);

    // The CI: answer every announcement once, from the tree of the branch it names.
    const answered = new Set<string>();
    const branches: string[] = [];
    const ci = async (): Promise<StatusPush | null> => {
      for (const r of ciReceiver.requests) {
        const a = JSON.parse(r.body) as JobAnnouncement;
        if (a.type !== 'JobQueued' || answered.has(a.job.id)) continue;
        answered.add(a.job.id);
        branches.push(`${a.job.kind} ${a.job.branch}`);
        await gitOk(work, ['fetch', '-q', 'origin', a.job.branch]);
        const fetched = await gitOk(work, ['rev-parse', 'FETCH_HEAD']);
        expect(fetched).toBe(a.job.sha);
        const tree = await gitOk(work, ['ls-tree', '--name-only', a.job.sha]);
        const state = tree.split('\n').includes('BREAKS') ? 'failed' : 'passed';
        const out = await cli(server.url, 'ci-bot', ['job', 'report', a.job.id, '--state', state]);
        expect(out.code, out.stderr).toBe(0);
      }
      const p = await pushOf(1);
      return p.bisection && p.bisection.state !== 'running' ? p : null;
    };
    const p = await until('the search to end on the CI\'s reports', ci, 60_000, 100);
    expect(p.bisection).toMatchObject({ state: 'culprit', culprit: 5 });
    // The candidates were announced with branches of their own, fetched by the CI.
    expect(branches.filter((b) => b.startsWith('bisect ')).every((b) => /^bisect bisect\/push-1\/\d+$/.test(b))).toBe(true);
    expect(branches.filter((b) => b.startsWith('bisect ')).length).toBeLessThanOrEqual(Math.ceil(Math.log2(6)) + 1);
    const board = (await pm().board()) as StatusView;
    expect(board.requests.find((r) => r.id === 5)!.push).toBeNull();
    // The rebuild without it is announced too; reported green, the push may stage.
    await until('the rebuild to be reported green', async () => {
      await ci();
      const x = await pushOf(1);
      return (x.jobs ?? []).some((j) => j.sha === x.deploySha && j.state === 'passed') ? x : null;
    }, 60_000, 100);
    expect((await cli(server.url, 'pm', ['push', 'stage', '1', '--env', 'stage-a'])).code).toBe(0);
  }, 120_000);
});
