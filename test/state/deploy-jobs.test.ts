// Deploy jobs and retries (SPEC §6, issue 15), the pure parts: a stage with stage jobs queues them and
// shows the push "staging" without staging it; the passing job's plan stages it (and only then do the
// pushees hear "please verify"); a failing one leaves it accepting, names the job and tells the
// pushmaster; bless likewise; certify queues its jobs and gates nothing. A failed build job is run once
// more (retries) before the gate counts it red or anyone is blamed; a retry that passes is flaky.
import { describe, expect, it } from 'vitest';
import { replay } from '../helpers/replay.js';
import type { Command } from '../../state/commands.js';
import { systemActor, userActor, type Actor } from '../../state/decide.js';
import { isDomainError, type DomainError } from '../../state/errors.js';
import type { DomainEvent } from '../../state/events.js';
import { answerSentence, commandOutcome } from '../../state/describe.js';
import { flakeCounts, type PipelineJobs } from '../../state/job-queue.js';
import { findJob, wantedMerges, type Board, type PushId, type RequestId } from '../../state/model.js';
import type { RoutingConfig } from '../../state/notify/delivery.js';
import { routeCommit } from '../../state/notify/routing.js';
import { plan } from '../../state/plan.js';
import { pushView, statusView } from '../../state/status-view.js';

const PM = userActor('pm', { pushmaster: true });
const ALICE = userActor('alice');
const BUILDER = systemActor('deploy-build');
const PIPELINE = systemActor('pipeline');
const P1 = 1 as PushId;
const sha = (c: string) => c.repeat(40).slice(0, 40);
const JOBS: PipelineJobs = {
  runner: 'local',
  jobs: [
    { name: 'test', on: 'build' },
    { name: 'deploy-stage', on: 'stage' },
    { name: 'deploy-prod', on: 'bless' },
    { name: 'announce', on: 'certify' },
  ],
  retries: 1,
};
const CFG: RoutingConfig = { channels: ['email'], mailDomain: 'example.com' };

let t = 0;
interface Step {
  readonly board: Board;
  readonly events: readonly DomainEvent[];
}
function run(b: Board, cmd: Command, who: Actor, pipeline: PipelineJobs = JOBS): Step | DomainError {
  const out = plan(b, cmd, { actor: who, now: new Date(Date.UTC(2026, 0, 1, 0, 0, t++)).toISOString(), pipeline });
  if (isDomainError(out)) return out;
  if (out.kind !== 'planned') throw new Error(`${cmd.type} needs builds`);
  return { board: out.board, events: out.events };
}
function ok(b: Board, cmd: Command, who: Actor, pipeline: PipelineJobs = JOBS): Step {
  const out = run(b, cmd, who, pipeline);
  if (isDomainError(out)) throw new Error(`${cmd.type}: ${out.code} ${out.message}`);
  return out;
}
/** Who hears what of one plan's events: `kind user` per delivery (email only). */
const heard = (s: Step) => routeCommit('c0ffee', s.events, s.board, CFG).map((d) => `${d.key.split(':')[2]} ${d.to.join(',')}`);

/** Push 1 (pm) with alice's request 1 accepted and its build recorded at aaaa… (the build job queued). */
function built(pipeline: PipelineJobs = JOBS): Board {
  const b = replay(
    [
      [{ type: 'OpenPush', title: 'Tue', pushType: 'regular' }, PM],
      [{ type: 'OpenRequest', ref: 'refs/pushreq/a', sha: sha('1'), autoPickme: true, title: 'a' }, ALICE],
      [{ type: 'AcceptRequests', push: P1, requests: [1 as RequestId] }, PM],
    ],
    () => new Date(Date.UTC(2026, 0, 1, 0, 0, t++)).toISOString(),
  );
  const merges = wantedMerges(b, P1).map((w) => ({ ...w, commit: sha('a') }));
  return ok(b, { type: 'RecordBuild', push: P1, deploySha: sha('a'), baseSha: sha('f'), merges, dropped: [] }, BUILDER, pipeline).board;
}

const at = '2026-01-01T01:00:00.000Z';
const report = (b: Board, job: string, change: Extract<Command, { type: 'RecordJob' }>['change'], pipeline: PipelineJobs = JOBS) => ok(b, { type: 'RecordJob', job, change }, PIPELINE, pipeline);
const started = (b: Board, job: string) => report(b, job, { type: 'started', at }).board;
const pass = (b: Board, job: string) => report(started(b, job), job, { type: 'passed', at, exitCode: 0 });
const fail = (b: Board, job: string, pipeline: PipelineJobs = JOBS) => report(report(b, job, { type: 'started', at }, pipeline).board, job, { type: 'failed', at, exitCode: 4, reason: 'exit code 4' }, pipeline);
const stage = (b: Board) => run(b, { type: 'StagePush', push: P1, env: 'stage-a' }, PM);
const greenBuild = () => pass(built(), '1.1').board;

describe('stage jobs: the push is staged only when they pass', () => {
  it('stage queues the stage job with {env} and shows the push staging; the push stays accepting and no pushee hears of it', () => {
    const s = stage(greenBuild()) as Step;
    const p = s.board.pushes[P1]!;
    expect(p.state).toBe('accepting');
    expect(s.board.requests[1]!.state).toBe('added');
    expect(findJob(s.board, '1.2')!.job).toMatchObject({ name: 'deploy-stage', on: 'stage', kind: 'deploy', sha: sha('a'), state: 'queued', env: 'stage-a' });
    expect(pushView(s.board, p).deploying).toEqual({ step: 'stage', env: 'stage-a', jobs: ['1.2'] });
    expect(s.events.map((e) => e.type)).toEqual(['DeployStarted', 'JobQueued']);
    expect(heard(s)).toEqual([]);
  });

  it('a second stage while it runs is refused, naming the job and how to follow or stop it', () => {
    const s = stage(greenBuild()) as Step;
    const again = stage(s.board) as DomainError;
    expect(again.code).toBe('jobs-not-green');
    expect(again.message).toBe('push 1 is staging on stage-a: stage job deploy-stage (job 1.2) is queued; wait for it (pushmanager job log 1.2 --follow) or stop it (pushmanager job cancel 1.2)');
    // bless while it stages names the stage too, not "push 1 is accepting; allowed from: staged"; a pushee hears who may bless.
    const bless = run(s.board, { type: 'BlessPush', push: P1, force: false }, PM) as DomainError;
    expect([bless.code, bless.message]).toEqual(['jobs-not-green', again.message]);
    expect((run(s.board, { type: 'BlessPush', push: P1, force: false }, ALICE) as DomainError).code).toBe('not-pushmaster-of-push');
  });

  it('the passing job stages the push (as the pushmaster who asked) and only then are the pushees asked to verify', () => {
    const staging = (stage(greenBuild()) as Step).board;
    const s = pass(staging, '1.2');
    const p = s.board.pushes[P1]!;
    expect(p.state).toBe('staged');
    expect(p.stageEnv).toBe('stage-a');
    expect(p.deploying).toBeUndefined();
    expect(s.board.requests[1]!.state).toBe('staged');
    expect(s.events.find((e) => e.type === 'PushStaged')).toMatchObject({ actor: 'pm', env: 'stage-a', requests: [1] });
    expect(heard(s)).toEqual(['staged-1 alice@example.com']);
  });

  it('a failing job leaves the push accepting with the job named; the pushmaster is told, the pushee not', () => {
    const staging = (stage(greenBuild()) as Step).board;
    const s = fail(staging, '1.2');
    const p = s.board.pushes[P1]!;
    expect(p.state).toBe('accepting');
    expect(p.deploying).toBeUndefined();
    expect(s.board.requests[1]!.state).toBe('added');
    expect(s.events.find((e) => e.type === 'DeployFailed')).toMatchObject({ step: 'stage', job: '1.2', name: 'deploy-stage', state: 'failed', reason: 'exit code 4' });
    expect(heard(s)).toEqual(['deploy-failed-1.2 pm@example.com']);
    const text = routeCommit('c0ffee', s.events, s.board, CFG)[0]!.text;
    expect(text).toContain('stage job deploy-stage (job 1.2) failed: exit code 4');
    expect(text).toContain('pushmanager push stage 1 --env stage-a');
    // Not retried: retries are for build jobs.
    expect(s.board.pushes[P1]!.jobs!.length).toBe(2);
  });

  it("the pushmaster's notice of a failed stage quotes the last lines of the job's log, as a build failure's does", () => {
    const staging = started((stage(greenBuild()) as Step).board, '1.2');
    const s = report(staging, '1.2', { type: 'failed', at, exitCode: 4, reason: 'exit code 4', tail: 'rsync: connection refused\ndeploy to stage-a failed\n' });
    const text = routeCommit('c0ffee', s.events, s.board, CFG)[0]!.text;
    expect(text).toContain('Last lines of its log:\n  rsync: connection refused\n  deploy to stage-a failed\nLog: ');
  });

  it('a rebuild while staging cancels the stage job and ends the deploy', () => {
    const staging = (stage(greenBuild()) as Step).board;
    const merges = wantedMerges(staging, P1).map((w) => ({ ...w, commit: sha('b') }));
    const s = ok(staging, { type: 'RecordBuild', push: P1, deploySha: sha('b'), baseSha: sha('e'), merges, dropped: [] }, BUILDER);
    expect(findJob(s.board, '1.2')!.job.state).toBe('cancelled');
    expect(s.board.pushes[P1]!.deploying).toBeUndefined();
    expect(s.board.pushes[P1]!.state).toBe('accepting');
  });

  it('with no stage job configured, stage stages at once (as before)', () => {
    const noDeploy: PipelineJobs = { ...JOBS, jobs: JOBS.jobs.filter((j) => j.on === 'build') };
    const b = pass(built(noDeploy), '1.1').board;
    const s = ok(b, { type: 'StagePush', push: P1, env: 'stage-a' }, PM, noDeploy);
    expect(s.board.pushes[P1]!.state).toBe('staged');
    expect(s.events.map((e) => e.type)).toEqual(['PushStaged']);
  });
});

describe('bless and certify jobs', () => {
  const staged = () => {
    let b = pass((stage(greenBuild()) as Step).board, '1.2').board;
    b = ok(b, { type: 'VerifyRequest', request: 1 as RequestId }, ALICE).board;
    return b;
  };

  it('bless runs the bless job and reaches blessed only when it passes', () => {
    const s = ok(staged(), { type: 'BlessPush', push: P1, force: false }, PM);
    expect(s.board.pushes[P1]!.state).toBe('staged');
    expect(pushView(s.board, s.board.pushes[P1]!).deploying).toEqual({ step: 'bless', env: 'stage-a', jobs: ['1.3'] });
    expect(heard(s)).toEqual([]);
    const done = pass(s.board, '1.3');
    expect(done.board.pushes[P1]!.state).toBe('blessed');
    expect(done.board.requests[1]!.state).toBe('blessed');
    expect(heard(done)).toEqual(['blessed-1 alice@example.com']);
  });

  it('a failing bless job leaves the push staged', () => {
    const s = ok(staged(), { type: 'BlessPush', push: P1, force: false }, PM);
    const failed = fail(s.board, '1.3');
    expect(failed.board.pushes[P1]!.state).toBe('staged');
    expect(failed.events.find((e) => e.type === 'DeployFailed')).toMatchObject({ step: 'bless', job: '1.3' });
    expect(routeCommit('c0ffee', failed.events, failed.board, CFG)[0]!.text).toContain('try again: `pushmanager push bless 1`');
  });

  it('a failing bless that was forced past an unverified request says to force it again (unforced, it is refused)', () => {
    const unverified = pass((stage(greenBuild()) as Step).board, '1.2').board;
    const s = ok(unverified, { type: 'BlessPush', push: P1, force: true, reason: 'hotfix' }, PM);
    const failed = fail(s.board, '1.3');
    expect(routeCommit('c0ffee', failed.events, failed.board, CFG)[0]!.text).toContain('try again: `pushmanager push bless 1 --force --reason TEXT`');
  });

  it('certify queues the certify job after certification; it gates nothing', () => {
    const blessed = pass(ok(staged(), { type: 'BlessPush', push: P1, force: false }, PM).board, '1.3').board;
    const s = ok(blessed, { type: 'CertifyPush', push: P1, force: false }, PM);
    expect(s.board.pushes[P1]!.state).toBe('live');
    expect(findJob(s.board, '1.4')!.job).toMatchObject({ name: 'announce', on: 'certify', kind: 'deploy', state: 'queued' });
    expect(s.board.pushes[P1]!.deploying).toBeUndefined();
    expect(fail(s.board, '1.4').board.pushes[P1]!.state).toBe('live');
  });

  it("a failed certify job is the pushmaster's to know: told, with its reason and log, the push live all the same", () => {
    const blessed = pass(ok(staged(), { type: 'BlessPush', push: P1, force: false }, PM).board, '1.3').board;
    const failed = fail(ok(blessed, { type: 'CertifyPush', push: P1, force: false }, PM).board, '1.4');
    const told = routeCommit('c0ffee', failed.events, failed.board, CFG);
    expect(told.map((d) => [d.to, d.subject])).toEqual([[['pm@example.com'], '[pushmanager] Certify job failed: announce on push #1 "Tue"']]);
    expect(told[0]!.text).toMatch(/^certify job announce \(job 1\.4\) failed on [0-9a-f]{10}: exit code 4; push #1 "Tue" is live all the same \(certify jobs gate nothing\)\.\nLog: `pushmanager job log 1\.4`$/);
  });

  it('job show of a stage job says its env; status --json carries it on the job', () => {
    const s = stage(greenBuild()) as Step;
    expect(pushView(s.board, s.board.pushes[P1]!).jobs!.find((j) => j.id === '1.2')).toMatchObject({ on: 'stage', env: 'stage-a' });
  });
});

describe('retries: a failed build job is run once more before the gate counts it red', () => {
  it('the failure queues a retry (attempt 2) in the same plan; the gate waits for it; nobody is blamed yet', () => {
    const s = fail(built(), '1.1');
    expect(findJob(s.board, '1.2')!.job).toMatchObject({ name: 'test', on: 'build', kind: 'retry', attempt: 2, state: 'queued', sha: sha('a') });
    expect(heard(s)).toEqual([]);
    const refused = run(s.board, { type: 'StagePush', push: P1, env: 'stage-a' }, PM) as DomainError;
    expect(refused.message).toContain('build job test (job 1.2) is queued');
    expect(refused.message).toContain('wait for it to pass');
  });

  it('a retry that passes is flaky, the gate is green, and the flake is counted per job name', () => {
    const s = pass(fail(built(), '1.1').board, '1.2');
    expect(findJob(s.board, '1.2')!.job.flaky).toBe(true);
    expect(flakeCounts(s.board)).toEqual({ test: 1 });
    expect(statusView(s.board, null).flakes).toEqual({ test: 1 });
    expect(isDomainError(stage(s.board))).toBe(false);
  });

  it('onFailure stop: a retry that fails too is not retried again: the gate is red and the pushmaster and the request owner are told', () => {
    const stop: PipelineJobs = { ...JOBS, onFailure: 'stop' };
    const s = fail(fail(built(stop), '1.1', stop).board, '1.2', stop);
    expect(s.board.pushes[P1]!.jobs!.length).toBe(2);
    expect(heard(s)).toEqual(['job-failed-1.2 pm@example.com', 'job-failed-1.2 alice@example.com']); // the owner of the push's request too (issue 15 item 7)
    expect((stage(s.board) as DomainError).message).toContain('build job test (job 1.2) is failed');
    expect(s.board.pushes[P1]!.bisection).toBeUndefined();
  });

  it('onFailure bisect (the default): a retry that fails too starts the search for the culprit; only the pushmaster hears, nobody is blamed yet', () => {
    const s = fail(fail(built(), '1.1').board, '1.2');
    expect(s.board.pushes[P1]!.bisection).toMatchObject({ state: 'running', job: '1.2', name: 'test', requests: [{ request: 1, sha: sha('1') }] });
    expect(heard(s)).toEqual(['job-failed-1.2 pm@example.com']);
    expect((stage(s.board) as DomainError).message).toContain('build job test (job 1.2) is failed');
  });

  it('retries: 0 runs nothing again (onFailure stop: the red gate at once)', () => {
    const none: PipelineJobs = { ...JOBS, retries: 0, onFailure: 'stop' };
    const s = fail(built(none), '1.1', none);
    expect(s.board.pushes[P1]!.jobs!.length).toBe(1);
    expect(heard(s)).toEqual(['job-failed-1.1 pm@example.com', 'job-failed-1.1 alice@example.com']);
    expect(flakeCounts(s.board)).toEqual({});
    expect(statusView(s.board, null).flakes).toBeUndefined();
  });
});

describe('deploy jobs are run again by their step, not by job retry (exploratory pass, s6-i)', () => {
  const TWO: PipelineJobs = { ...JOBS, jobs: [...JOBS.jobs, { name: 'deploy-worker', on: 'stage' }] };

  it('job retry of a failed stage job is refused with the stage that runs it again (its env), and the push stays accepting: a passing retry would neither stage the push nor be a flake', () => {
    const s = fail((stage(greenBuild()) as Step).board, '1.2');
    const refused = run(s.board, { type: 'RetryJob', job: '1.2' }, PM) as DomainError;
    expect(isDomainError(refused)).toBe(true);
    expect(refused.code).toBe('deploy-job');
    expect(refused.message).toBe('job 1.2 (deploy-stage) is a stage job of push 1 to stage-a: a deploy runs again as its step, which the push follows: pushmanager push stage 1 --env stage-a');
    expect(flakeCounts(s.board)).toEqual({});
  });

  it('job retry of a cancelled bless job is refused with the bless that runs it again', () => {
    const staged = pass((stage(greenBuild()) as Step).board, '1.2').board;
    const verified = ok(staged, { type: 'VerifyRequest', request: 1 as RequestId }, ALICE).board;
    const blessing = ok(verified, { type: 'BlessPush', push: P1, force: false }, PM).board;
    const cancelled = ok(blessing, { type: 'CancelJob', job: '1.3' }, PM).board;
    const refused = run(cancelled, { type: 'RetryJob', job: '1.3' }, PM) as DomainError;
    expect(refused.code).toBe('deploy-job');
    expect(refused.message).toContain('pushmanager push bless 1');
    expect(pushView(cancelled, cancelled.pushes[P1]!).jobs!.find((j) => j.id === '1.3')).not.toHaveProperty('flaky');
  });

  it('job cancel of a running stage job answers that the stage stopped, the push state, and the stage that runs it again (not job retry)', () => {
    const staging = (stage(greenBuild()) as Step).board;
    const s = ok(started(staging, '1.2'), { type: 'CancelJob', job: '1.2' }, PM);
    expect(answerSentence({ type: 'CancelJob', push: P1 }, commandOutcome(s.board, { type: 'CancelJob' }, s.events))).toBe(
      'job 1.2 (deploy-stage) cancelled: the stage of push 1 to stage-a stopped and push 1 is still accepting; stage again: pushmanager push stage 1 --env stage-a',
    );
  });

  it('a failing stage job cancels the stage jobs still running beside it: the push no longer shows them, so nothing may deploy to the env unseen', () => {
    const staging = ok(greenBuildWith(TWO), { type: 'StagePush', push: P1, env: 'qa' }, PM, TWO).board;
    const s = fail(started(staging, '1.3'), '1.2', TWO);
    expect(s.board.pushes[P1]!.deploying).toBeUndefined();
    expect(findJob(s.board, '1.3')!.job).toMatchObject({ state: 'cancelled', reason: 'the stage of push 1 to qa stopped: job 1.2 (deploy-stage) failed' });
  });
});

function greenBuildWith(pipeline: PipelineJobs): Board {
  return report(report(built(pipeline), '1.1', { type: 'started', at }, pipeline).board, '1.1', { type: 'passed', at, exitCode: 0 }, pipeline).board;
}
