// `job retry` through the write path (state/plan.ts), pure: what a retry is. Its attempt follows the job's
// runs on that SHA (never a number twice); it is a `retry`, flaky if it passes, only while the SHA has not
// passed (a run more of a passed SHA proves no flake, and the flake count that a culprit search trusts a
// job by stays); a culprit search's run is refused: the search re-runs candidates itself.
import { describe, expect, it } from 'vitest';
import type { DomainError } from '../../state/errors.js';
import { flakeCounts, type PipelineJobs } from '../../state/job-queue.js';
import { passedLater } from '../../state/jobs.js';
import { attempt, built, jobOf, lastJob, ok, P1, PM, report, testCandidates } from '../helpers/pipeline-board.js';

const RETRY_ONCE: PipelineJobs = { runner: 'local', jobs: [{ name: 'test', on: 'build' }], retries: 1, onFailure: 'stop' };
const kinds = (b: ReturnType<typeof built>) => b.pushes[P1]!.jobs!.map((j) => [j.id, j.kind, j.attempt, j.state, j.flaky ?? false]);

describe('job retry while a run of the job on its SHA is under way', () => {
  it('is refused, naming that run and how to follow it: the automatic retry is queued, one more would be attempt 3 beside it', () => {
    const b = report(built(1, RETRY_ONCE), '1.1', 'failed', RETRY_ONCE).board;
    expect(jobOf(b, '1.2')).toMatchObject({ kind: 'retry', state: 'queued' });
    const out = attempt(b, { type: 'RetryJob', job: '1.1' }, PM, RETRY_ONCE) as DomainError;
    expect([out.code, out.message]).toEqual(['nothing-to-do', 'job 1.1 (test) is being run again already: job 1.2 (attempt 2) is queued; follow it: pushmanager job log 1.2 --follow']);
    // Once it has ended (red), the retry by hand is taken.
    const red = report(b, '1.2', 'failed', RETRY_ONCE).board;
    expect(jobOf(ok(red, { type: 'RetryJob', job: '1.1' }, PM, RETRY_ONCE).board, '1.3')).toMatchObject({ attempt: 3 });
  });
});

describe('job retry of a job whose SHA already passed', () => {
  it('fails once, its automatic retry passes (a flake); retried by hand: attempt 3, a plain build run, not flaky, the flake count stays 1', () => {
    let b = report(built(1, RETRY_ONCE), '1.1', 'failed', RETRY_ONCE).board;
    b = report(b, '1.2', 'passed', RETRY_ONCE).board;
    expect(flakeCounts(b)).toEqual({ test: 1 });
    expect(passedLater(b.pushes[P1]!.jobs!, jobOf(b, '1.1'))?.id).toBe('1.2');
    b = ok(b, { type: 'RetryJob', job: '1.1' }, PM, RETRY_ONCE).board;
    expect(jobOf(b, '1.3')).toMatchObject({ kind: 'build', attempt: 3, state: 'queued' });
    b = report(b, '1.3', 'passed', RETRY_ONCE).board;
    expect(kinds(b)).toEqual([
      ['1.1', 'build', 1, 'failed', false],
      ['1.2', 'retry', 2, 'passed', true],
      ['1.3', 'build', 3, 'passed', false],
    ]);
    expect(flakeCounts(b)).toEqual({ test: 1 });
  });

  it('fails, its retry fails too; retried by hand it is attempt 3 (not a second attempt 2), a retry, and flaky when it passes', () => {
    let b = report(built(1, RETRY_ONCE), '1.1', 'failed', RETRY_ONCE).board;
    b = report(b, '1.2', 'failed', RETRY_ONCE).board;
    b = ok(b, { type: 'RetryJob', job: '1.1' }, PM, RETRY_ONCE).board;
    expect(jobOf(b, '1.3')).toMatchObject({ kind: 'retry', attempt: 3 });
    b = report(b, '1.3', 'passed', RETRY_ONCE).board;
    expect(jobOf(b, '1.3').flaky).toBe(true);
    expect(passedLater(b.pushes[P1]!.jobs!, jobOf(b, '1.1'))?.id).toBe('1.3');
    expect(flakeCounts(b)).toEqual({ test: 1 });
  });
});

describe('job retry of a culprit search\'s run', () => {
  /** Push 1 of 4 requests: build 1.1 and retry 1.2 red, the search runs; its first candidate (#1, #2) ran red as 1.3. */
  function searching() {
    let b = report(built(4), '1.1', 'failed').board;
    b = report(b, '1.2', 'failed').board;
    b = testCandidates(b, [[1, 2]]).board;
    return report(b, lastJob(b), 'failed').board;
  }

  it('is refused while the search runs: it re-runs candidates itself; the answer says how to follow or stop it', () => {
    const b = searching();
    const run = jobOf(b, '1.3');
    expect(run).toMatchObject({ kind: 'bisect', state: 'failed' });
    const out = attempt(b, { type: 'RetryJob', job: '1.3' }, PM) as DomainError;
    expect(out.code).toBe('bisect-run');
    expect(out.message).toBe(
      `job 1.3 (test) is a run of push 1's culprit search on candidate ${run.sha.slice(0, 10)} (master + #1, #2), not on the deploy branch: the search runs its candidates again itself when it needs another result. Follow it: pushmanager job list --push 1; stop it: pushmanager job cancel 1.2`,
    );
    expect(out.data).toEqual({ job: '1.3', push: 1, bisection: '1.2' });
  });

  it('is refused after the search ended too: its result gates nothing; the answer names the deploy branch\'s job to retry', () => {
    const b = ok(searching(), { type: 'CancelJob', job: '1.2' }, PM).board;
    expect(b.pushes[P1]!.bisection!.state).toBe('cancelled');
    const out = attempt(b, { type: 'RetryJob', job: '1.3' }, PM) as DomainError;
    expect(out.code).toBe('bisect-run');
    expect(out.message).toContain('and the search ended (cancelled): its result gates nothing; to run test on the deploy branch again: pushmanager job retry 1.2 (red again, it starts a new search)');
    // That retry is on the deploy SHA, and is not refused.
    const retried = ok(b, { type: 'RetryJob', job: '1.2' }, PM).board;
    expect(jobOf(retried, lastJob(retried))).toMatchObject({ kind: 'retry', attempt: 3, sha: b.pushes[P1]!.deploySha });
  });
});
