// Pipeline jobs on the board (SPEC §6, issue 15), the pure parts: a recorded build queues the build jobs
// on its SHA in the same plan and cancels those of the SHA it replaces; runners' reports move a job by
// its transition table; `push stage` and `bless` are refused while a gating job is not green, and
// --force --reason passes and is recorded; retry and cancel are the push's pushmaster's.
import { describe, expect, it } from 'vitest';
import { replay } from '../helpers/replay.js';
import type { Command } from '../../state/commands.js';
import { decide, systemActor, userActor, type Actor } from '../../state/decide.js';
import { decodePush, encodePush } from '../../state/codec.js';
import { isDomainError, type DomainError } from '../../state/errors.js';
import { evolveAll } from '../../state/evolve.js';
import type { PipelineJobs } from '../../state/job-queue.js';
import { emptyBoard, findJob, wantedMerges, type Board, type PushId, type RequestId } from '../../state/model.js';
import { plan } from '../../state/plan.js';
import { pushView } from '../../state/status-view.js';

const PM = userActor('pm', { pushmaster: true });
const PM2 = userActor('pm2', { pushmaster: true });
const ALICE = userActor('alice');
const BUILDER = systemActor('deploy-build');
const PIPELINE = systemActor('pipeline');
const P1 = 1 as PushId;
const sha = (c: string) => c.repeat(40).slice(0, 40);
const JOBS: PipelineJobs = { runner: 'local', jobs: [{ name: 'test', on: 'build' }, { name: 'lint', on: 'build' }, { name: 'deploy', on: 'stage' }] };

let t = 0;
function run(b: Board, cmd: Command, who: Actor, pipeline: PipelineJobs | null = JOBS): Board | DomainError {
  const out = plan(b, cmd, { actor: who, now: new Date(Date.UTC(2026, 0, 1, 0, 0, t++)).toISOString(), ...(pipeline && { pipeline }) });
  if (isDomainError(out)) return out;
  if (out.kind !== 'planned') throw new Error(`${cmd.type} needs builds`);
  return out.board;
}
function ok(b: Board, cmd: Command, who: Actor, pipeline: PipelineJobs | null = JOBS): Board {
  const out = run(b, cmd, who, pipeline);
  if (isDomainError(out)) throw new Error(`${cmd.type}: ${out.code} ${out.message}`);
  return out;
}
/** A build of push 1 at `deploySha`; a different SHA stands for master having moved (a new base). */
const recordBuild = (b: Board, deploySha: string, pipeline: PipelineJobs | null = JOBS): Board => {
  const merges = wantedMerges(b, P1).map((w) => ({ ...w, commit: deploySha }));
  return ok(b, { type: 'RecordBuild', push: P1, deploySha, baseSha: sha(deploySha === sha('a') ? 'f' : 'e'), merges, dropped: [] }, BUILDER, pipeline);
};

/** Push 1 (pm) with alice's request 1 accepted; the deploy branch not yet recorded (decide + evolve: plan would ask for the build as a fact). */
function accepted(): Board {
  return replay(
    [
      [{ type: 'OpenPush', title: 'Tue', pushType: 'regular' }, PM],
      [{ type: 'OpenRequest', ref: 'refs/pushreq/a', sha: sha('1'), autoPickme: true, title: 'a' }, ALICE],
      [{ type: 'AcceptRequests', push: P1, requests: [1 as RequestId] }, PM],
    ],
    () => new Date(Date.UTC(2026, 0, 1, 0, 0, t++)).toISOString(),
  );
}

/** Push 1 with its first build recorded at aaaa…: the build jobs are queued. */
const board = (): Board => recordBuild(accepted(), sha('a'));

const jobs = (b: Board) => b.pushes[P1]!.jobs ?? [];
const report = (b: Board, job: string, change: Extract<Command, { type: 'RecordJob' }>['change']) => ok(b, { type: 'RecordJob', job, change }, PIPELINE);
const at = '2026-01-01T01:00:00.000Z';
const pass = (b: Board, job: string) => report(report(b, job, { type: 'started', at }), job, { type: 'passed', at, exitCode: 0 });

describe('a recorded build queues the build jobs on its SHA', () => {
  it('queues every build job (not the stage job) in the same plan, as the system', () => {
    const b = board();
    expect(jobs(b).map((j) => [j.id, j.name, j.on, j.sha, j.state, j.kind])).toEqual([
      ['1.1', 'test', 'build', sha('a'), 'queued', 'build'],
      ['1.2', 'lint', 'build', sha('a'), 'queued', 'build'],
    ]);
  });

  it('a newer build cancels the pending jobs of the SHA it replaces and queues its own', () => {
    let b = board();
    b = report(b, '1.1', { type: 'started', at });
    b = recordBuild(b, sha('b'));
    expect(jobs(b).map((j) => [j.id, j.sha.slice(0, 1), j.state])).toEqual([
      ['1.1', 'a', 'cancelled'],
      ['1.2', 'a', 'cancelled'],
      ['1.3', 'b', 'queued'],
      ['1.4', 'b', 'queued'],
    ]);
    expect(findJob(b, '1.1')!.job.reason).toBe(`replaced by the build of ${sha('b').slice(0, 10)}`);
  });

  it('no pipeline configured: no jobs, and nothing holds stage back', () => {
    const b = recordBuild(accepted(), sha('a'), null);
    expect(b.pushes[P1]!.jobs).toBeUndefined();
  });

  it('a push with nothing merged (its deploy branch is master) queues no jobs', () => {
    const opened = decide(emptyBoard(), { type: 'OpenPush', title: 'empty', pushType: 'regular' }, { actor: PM, now: at });
    const b = ok(evolveAll(emptyBoard(), opened as never), { type: 'RecordBuild', push: P1, deploySha: sha('9'), baseSha: sha('9'), merges: [], dropped: [] }, BUILDER);
    expect(b.pushes[P1]!.jobs).toBeUndefined();
  });

  it('discarding the push cancels its pending jobs', () => {
    const b = ok(board(), { type: 'DiscardPush', push: P1 }, PM);
    expect(jobs(b).map((j) => j.state)).toEqual(['cancelled', 'cancelled']);
  });
});

describe("runners' reports (RecordJob) follow the job's transition table", () => {
  it('started, then passed: times, exit code, log', () => {
    let b = report(board(), '1.1', { type: 'started', at, log: 'jobs/logs/1.1.log', handle: { runner: 'local', pgid: 42, startTicks: 7, bootId: 'boot' } });
    expect(findJob(b, '1.1')!.job).toMatchObject({ state: 'running', startedAt: at, log: 'jobs/logs/1.1.log', handle: { pgid: 42 } });
    b = report(b, '1.1', { type: 'failed', at, exitCode: 3, reason: 'exit code 3' });
    expect(findJob(b, '1.1')!.job).toMatchObject({ state: 'failed', finishedAt: at, exitCode: 3, reason: 'exit code 3' });
  });

  it('a report that does not fit the state is refused (a late finish of a cancelled job)', () => {
    const b = ok(board(), { type: 'CancelJob', job: '1.1' }, PM);
    const out = run(b, { type: 'RecordJob', job: '1.1', change: { type: 'passed', at } }, PIPELINE);
    expect(isDomainError(out) && out.code).toBe('illegal-transition');
  });

  it('interrupted, then requeued: run again from scratch', () => {
    let b = report(board(), '1.1', { type: 'started', at });
    b = report(b, '1.1', { type: 'interrupted', at });
    expect(findJob(b, '1.1')!.job.state).toBe('interrupted');
    b = report(b, '1.1', { type: 'requeued' });
    expect(findJob(b, '1.1')!.job).toMatchObject({ state: 'queued', startedAt: null, finishedAt: null });
  });

  it('only the system records reports', () => {
    const out = run(board(), { type: 'RecordJob', job: '1.1', change: { type: 'started', at } }, PM);
    expect(isDomainError(out) && out.code).toBe('not-pushmaster');
  });

  it('an unknown job id is named', () => {
    const out = run(board(), { type: 'RetryJob', job: '9.9' }, PM);
    expect(isDomainError(out) && [out.code, out.message]).toEqual(['unknown-job', expect.stringContaining('no job 9.9')]);
  });
});

describe('the stage gate', () => {
  // The build gate alone: with a stage job configured, stage waits for it (test/state/deploy-jobs.test.ts).
  const BUILD_ONLY: PipelineJobs = { ...JOBS, jobs: JOBS.jobs.filter((j) => j.on === 'build') };
  const stage = (b: Board, extra: Partial<Extract<Command, { type: 'StagePush' }>> = {}) => run(b, { type: 'StagePush', push: P1, env: 'stage-a', ...extra }, PM, BUILD_ONLY);

  it('is refused while a build job is queued, naming the job, its state and how to read its log', () => {
    const out = stage(board());
    expect(isDomainError(out) && out.code).toBe('jobs-not-green');
    expect((out as DomainError).message).toContain('build job test (job 1.1) is queued: pushmanager job log 1.1');
    expect((out as DomainError).message).toContain('build job lint (job 1.2) is queued');
  });

  it('is refused while one failed, with the retry named (onFailure: stop; a running search is named instead)', () => {
    const STOP: PipelineJobs = { ...JOBS, onFailure: 'stop' };
    let b = pass(board(), '1.2');
    b = ok(ok(b, { type: 'RecordJob', job: '1.1', change: { type: 'started', at } }, PIPELINE, STOP), { type: 'RecordJob', job: '1.1', change: { type: 'failed', at, exitCode: 1, reason: 'exit code 1' } }, PIPELINE, STOP);
    const out = stage(b) as DomainError;
    expect(out.code).toBe('jobs-not-green');
    expect(out.message).toBe('push 1 cannot be staged yet: build job test (job 1.1) is failed (exit code 1): pushmanager job log 1.1; retry with pushmanager job retry 1.1, or stage with --force --reason TEXT');
  });

  it('passes once every build job of the current SHA passed', () => {
    const b = stage(pass(pass(board(), '1.1'), '1.2'));
    expect(isDomainError(b)).toBe(false);
    expect((b as Board).pushes[P1]!.state).toBe('staged');
  });

  it('a passed retry turns the gate green (the newest job per name counts)', () => {
    let b = pass(board(), '1.2');
    b = report(report(b, '1.1', { type: 'started', at }), '1.1', { type: 'failed', at, exitCode: 1 });
    b = ok(b, { type: 'RetryJob', job: '1.1' }, PM);
    expect(findJob(b, '1.3')!.job).toMatchObject({ name: 'test', kind: 'retry', attempt: 2, state: 'queued' });
    b = pass(b, '1.3');
    expect(findJob(b, '1.3')!.job.flaky).toBe(true);
    expect(isDomainError(stage(b))).toBe(false);
  });

  it('--force needs a reason; with one it passes and the force, the reason and the red jobs are recorded and shown', () => {
    const red = report(report(pass(board(), '1.2'), '1.1', { type: 'started', at }), '1.1', { type: 'failed', at, exitCode: 1 });
    const noReason = stage(red, { force: true }) as DomainError;
    expect([noReason.code, noReason.data.field]).toEqual(['invalid-field', 'reason']);
    const b = stage(red, { force: true, reason: 'flaky test, see #12' }) as Board;
    const p = b.pushes[P1]!;
    expect(p.state).toBe('staged');
    expect(p.forced).toEqual([{ step: 'stage', by: 'pm', at: expect.any(String), reason: 'flaky test, see #12', jobs: ['1.1'] }]);
    expect(pushView(b, p).forced).toEqual(p.forced);
    // Recorded on the metadata branch: the push's file keeps it.
    expect(decodePush(encodePush(p), 1).forced).toEqual(p.forced);
  });

  it('bless is gated by the stage job of the current SHA (and passes with --force --reason)', () => {
    let b = stage(pass(pass(board(), '1.1'), '1.2')) as Board;
    b = evolveAll(b, [{ type: 'RequestVerified', request: 1 as RequestId, push: P1, at, actor: 'alice' }]);
    b = evolveAll(b, [{ type: 'JobQueued', push: P1, job: { ...findJob(b, '1.1')!.job, id: '1.3', name: 'deploy', on: 'stage', state: 'failed', kind: 'deploy' }, at, actor: 'pushmanager', cause: 'pipeline' }]);
    const out = run(b, { type: 'BlessPush', push: P1, force: false }, PM) as DomainError;
    expect(out.code).toBe('jobs-not-green');
    expect(out.message).toContain('stage job deploy (job 1.3) is failed');
    const blessed = run(b, { type: 'BlessPush', push: P1, force: true, reason: 'deployed by hand' }, PM) as Board;
    expect(blessed.pushes[P1]!.forced.at(-1)).toMatchObject({ step: 'bless', reason: 'deployed by hand', jobs: ['1.3'] });
  });

  it('a push from before pipelines (no jobs field) reads as no jobs and stages', () => {
    const b = recordBuild(accepted(), sha('a'), null);
    const decoded = decodePush(encodePush(b.pushes[P1]!), 1);
    expect(decoded.jobs).toBeUndefined();
    expect(isDomainError(stage(b))).toBe(false);
  });
});

describe('retry and cancel are the push\u2019s pushmaster\u2019s', () => {
  it('another pushmaster or an engineer is refused', () => {
    for (const who of [PM2, ALICE]) {
      const out = run(board(), { type: 'CancelJob', job: '1.1' }, who);
      expect(isDomainError(out) && out.code).toBe('not-pushmaster-of-push');
    }
  });

  it('cancel records who cancelled; a finished job has nothing to cancel; a queued one cannot be retried', () => {
    const b = ok(board(), { type: 'CancelJob', job: '1.1' }, PM);
    expect(findJob(b, '1.1')!.job).toMatchObject({ state: 'cancelled', reason: 'cancelled by pm' });
    expect((run(b, { type: 'CancelJob', job: '1.1' }, PM) as DomainError).code).toBe('nothing-to-do');
    expect((run(b, { type: 'RetryJob', job: '1.2' }, PM) as DomainError).code).toBe('illegal-transition');
  });
});
