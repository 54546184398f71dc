// The job state machine: every (state, event) pair, written out here rather than read from the
// table, so a change to the table is a change to this test.
import { describe, expect, it } from 'vitest';
import { JOB_STATES, applyJobEvent, isPending, logTail, newJob, retryJob, type Job, type JobEvent, type JobState } from '../../state/jobs.js';
import { isDomainError } from '../../state/errors.js';

const AT = '2026-12-01T10:00:00.000Z', LATER = '2026-12-01T10:05:00.000Z';
const base = newJob({ id: 'j1', name: 'test', on: 'build', sha: 'a'.repeat(40), push: 3, kind: 'build', runner: 'local', at: AT });
const inState = (state: JobState, extra: Partial<Job> = {}): Job => ({ ...base, state, ...extra });

const events: Record<string, JobEvent> = {
  started: { type: 'started', at: LATER, handle: { runner: 'local', pgid: 4242, startTicks: 99, bootId: 'b' }, log: 'jobs/logs/j1.log' },
  attached: { type: 'attached', handle: { runner: 'buildbot', buildRequestId: 5, buildId: 9 }, url: 'http://bb/#/builders/1/builds/2' },
  passed: { type: 'passed', at: LATER, exitCode: 0 },
  failed: { type: 'failed', at: LATER, exitCode: 3 },
  cancelled: { type: 'cancelled', at: LATER, reason: 'cancelled by pm' },
  interrupted: { type: 'interrupted', at: LATER },
  requeued: { type: 'requeued' },
};

// Rows: state; columns: started attached passed failed cancelled interrupted requeued ('-' = refused).
const TABLE = `
queued      running  -        -       failed  cancelled  interrupted  -
running     -        running  passed  failed  cancelled  interrupted  -
passed      -        -        -       -       -          -            -
failed      -        -        -       -       -          -            -
cancelled   -        -        -       -       -          -            -
interrupted -        -        -       -       cancelled  -            queued
`;
const COLUMNS = ['started', 'attached', 'passed', 'failed', 'cancelled', 'interrupted', 'requeued'];
const rows = TABLE.trim().split('\n').map((l) => l.trim().split(/\s+/));

describe('job transitions', () => {
  it('the table covers every state', () => expect(rows.map((r) => r[0]).sort()).toEqual([...JOB_STATES].sort()));

  const cases = rows.flatMap(([from, ...to]) => COLUMNS.map((ev, i) => [from as JobState, ev, to[i]!] as const));
  it.each(cases)('%s + %s → %s', (from, ev, to) => {
    const r = applyJobEvent(inState(from), events[ev]!);
    if (to === '-') {
      expect(isDomainError(r)).toBe(true);
      if (isDomainError(r)) {
        expect(r.code).toBe('illegal-transition');
        expect(r.message).toContain(`job j1 (test) is ${from}`);
      }
    } else {
      expect(isDomainError(r)).toBe(false);
      expect((r as Job).state).toBe(to);
    }
  });
});

describe('job fields along the way', () => {
  it('started records the time, the process handle and the log', () => {
    const r = applyJobEvent(base, events.started!) as Job;
    expect(r).toMatchObject({ state: 'running', startedAt: LATER, handle: { pgid: 4242 }, log: 'jobs/logs/j1.log', finishedAt: null });
  });
  it('failed keeps the exit code and the reason; passed is not flaky on a first attempt', () => {
    const run = applyJobEvent(base, events.started!) as Job;
    expect(applyJobEvent(run, { type: 'failed', at: LATER, exitCode: 124, reason: 'timed out after 60 s' })).toMatchObject({ state: 'failed', exitCode: 124, reason: 'timed out after 60 s', finishedAt: LATER });
    expect((applyJobEvent(run, events.passed!) as Job).flaky).toBeUndefined();
  });
  it('a retry is a new job one attempt later, and flaky when it passes', () => {
    const failed = applyJobEvent(applyJobEvent(base, events.started!) as Job, events.failed!) as Job;
    const retry = retryJob(failed, 'j2', LATER) as Job;
    expect(retry).toMatchObject({ id: 'j2', name: 'test', sha: base.sha, push: 3, kind: 'retry', attempt: 2, state: 'queued', startedAt: null });
    const passed = applyJobEvent(applyJobEvent(retry, events.started!) as Job, events.passed!) as Job;
    expect(passed.flaky).toBe(true);
  });
  it('a retry of a cancelled or interrupted job that never failed on its SHA is a plain run: passing, it is no flake', () => {
    for (const s of ['cancelled', 'interrupted'] as const) {
      const ended = { ...inState(s), finishedAt: LATER };
      const again = retryJob(ended, 'j2', LATER, [ended]) as Job;
      expect(again).toMatchObject({ kind: 'build', attempt: 2, state: 'queued' });
      const passed = applyJobEvent(applyJobEvent(again, events.started!) as Job, events.passed!) as Job;
      expect(passed.flaky, s).toBeUndefined();
    }
    // A stage job cancelled (a rebuild replaced its SHA) runs again as a deploy, not a retry.
    const stage = { ...inState('cancelled'), on: 'stage' as const, kind: 'deploy' as const };
    expect(retryJob(stage, 'j2', LATER, [stage])).toMatchObject({ kind: 'deploy', attempt: 2 });
    // It deploys to the env it was queued for, not to whatever the push stages next.
    expect(retryJob({ ...stage, env: 'stage-b' }, 'j2', LATER, [stage])).toMatchObject({ env: 'stage-b' });
  });
  it('a cancelled job after a red run on its SHA is retried as a retry: its pass is a flake', () => {
    const red = inState('failed', { id: 'j1' });
    const cancelledRetry = inState('cancelled', { id: 'j2', kind: 'retry', attempt: 2 });
    const again = retryJob(cancelledRetry, 'j3', LATER, [red, cancelledRetry]) as Job;
    expect(again).toMatchObject({ kind: 'retry', attempt: 3 });
    expect((applyJobEvent(applyJobEvent(again, events.started!) as Job, events.passed!) as Job).flaky).toBe(true);
  });
  it('only a failed, cancelled or interrupted job is retried', () => {
    for (const s of ['queued', 'running', 'passed'] as const) expect(isDomainError(retryJob(inState(s), 'j2', LATER))).toBe(true);
    for (const s of ['failed', 'cancelled', 'interrupted'] as const) expect(isDomainError(retryJob(inState(s), 'j2', LATER))).toBe(false);
  });
  it('requeued after an interruption forgets the dead process and the times', () => {
    const running = applyJobEvent(base, events.started!) as Job;
    const again = applyJobEvent(applyJobEvent(running, events.interrupted!) as Job, events.requeued!) as Job;
    expect(again).toMatchObject({ state: 'queued', startedAt: null, finishedAt: null, attempt: 1 });
    expect(again.handle).toBeUndefined();
    expect(again.reason).toBeUndefined();
    // It keeps that it was run again, and when the stop cut it short; a second time counts two.
    const interruptedAt = (applyJobEvent(running, events.interrupted!) as Job).finishedAt;
    expect(again.rerun).toEqual({ times: 1, at: interruptedAt });
    const twice = applyJobEvent(applyJobEvent(applyJobEvent(again, events.started!) as Job, events.interrupted!) as Job, events.requeued!) as Job;
    expect(twice.rerun?.times).toBe(2);
  });
  it('queued, running and interrupted hold a gate; final states do not', () => {
    expect(JOB_STATES.filter(isPending)).toEqual(['queued', 'running', 'interrupted']);
  });
});

describe('logTail: what a failure notice quotes', () => {
  it('the last ten non-blank lines, within 2 KB; a line the byte limit cut is dropped', () => {
    const text = Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n\n') + '\n';
    expect(logTail(text)).toBe(Array.from({ length: 10 }, (_, i) => `line ${20 + i}`).join('\n'));
    const long = `${'x'.repeat(3000)}\nend one\nend two`;
    expect(logTail(long)).toBe('end one\nend two');
    expect(logTail('cut line\nwhole', true)).toBe('whole');
    expect(logTail('')).toBe('');
  });
});
