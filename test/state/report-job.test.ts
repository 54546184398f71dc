// An external CI's reports (ReportJob, runner: external) through the write path, pure: a job takes one
// report and the first one stands, also for a job that was cancelled and reported late; a second report is
// refused (nothing-to-do) with what is true of the job and what, if anything, runs it again — never a
// `job retry` that would itself be refused (a passed job is not retried).
import { describe, expect, it } from 'vitest';
import { userActor } from '../../state/actor.js';
import type { Command } from '../../state/commands.js';
import type { DomainError } from '../../state/errors.js';
import type { PipelineJobs } from '../../state/job-queue.js';
import { attempt, built, jobOf, ok, P1, PM, recordBuild, sha } from '../helpers/pipeline-board.js';

const EXTERNAL: PipelineJobs = { runner: 'external', jobs: [{ name: 'test', on: 'build' }], retries: 1, onFailure: 'stop' };
const CI = userActor('ci-bot', { ci: true });
const reportCmd = (job: string, state: 'passed' | 'failed', url?: string): Command => ({ type: 'ReportJob', job, state, ...(url && { url }) });
const reported = (b: ReturnType<typeof built>, job: string, state: 'passed' | 'failed', url?: string) => ok(b, reportCmd(job, state, url), CI, EXTERNAL).board;
const refused = (b: ReturnType<typeof built>, job: string, state: 'passed' | 'failed') => attempt(b, reportCmd(job, state), CI, EXTERNAL) as DomainError;
const D = sha('d').slice(0, 10);

describe('a second report of a job', () => {
  it('of a passed job is refused: it passed, its result stands; no retry is offered (a passed job is not retried)', () => {
    const b = reported(built(1, EXTERNAL), '1.1', 'passed');
    const again = refused(b, '1.1', 'failed');
    expect(again.code).toBe('nothing-to-do');
    expect(again.message).toBe(`job 1.1 (test) already passed on ${D}: its result stands (a job takes one report); nothing to do`);
    expect(jobOf(b, '1.1').state).toBe('passed');
    // What the old answer offered is refused indeed.
    expect((attempt(b, { type: 'RetryJob', job: '1.1' }, PM, EXTERNAL) as DomainError).code).toBe('illegal-transition');
  });

  it('of a failed job names what runs it again: its automatic retry, else the job retry the pushmaster may run', () => {
    let b = reported(built(1, EXTERNAL), '1.1', 'failed');
    expect(jobOf(b, '1.2')).toMatchObject({ kind: 'retry', state: 'queued' });
    expect(refused(b, '1.1', 'passed').message).toBe(`job 1.1 (test) already failed on ${D}: its result stands (a job takes one report); it runs again as job 1.2 (queued): report that one`);
    b = reported(b, '1.2', 'failed');
    const again = refused(b, '1.2', 'passed');
    expect(again.message).toBe(`job 1.2 (test) already failed on ${D}: its result stands (a job takes one report); for a new result the pushmaster runs it again as a new job: pushmanager job retry 1.2`);
    // And that advice is taken.
    expect(jobOf(ok(b, { type: 'RetryJob', job: '1.2' }, PM, EXTERNAL).board, '1.3')).toMatchObject({ state: 'queued', attempt: 3 });
  });

  it('of a cancelled job that was reported late is refused: the first late result is kept, not overwritten', () => {
    let b = recordBuild(built(1, EXTERNAL), sha('e'), EXTERNAL, sha('c')).board; // master moved: a new build
    expect(jobOf(b, '1.1')).toMatchObject({ state: 'cancelled', reason: `replaced by the build of ${sha('e').slice(0, 10)}` });
    b = reported(b, '1.1', 'passed', 'https://ci.example.com/runs/1');
    const first = jobOf(b, '1.1').lateReport;
    expect(first).toMatchObject({ state: 'passed', by: 'ci-bot', url: 'https://ci.example.com/runs/1' });
    const again = refused(b, '1.1', 'failed');
    expect(again.code).toBe('nothing-to-do');
    expect(again.message).toBe(
      `job 1.1 (test) was cancelled (replaced by the build of ${sha('e').slice(0, 10)}) and its late report is recorded already (passed, by ci-bot at ${first!.at}): a job takes one report, and a late one gates nothing; push 1's test job is 1.2 now (queued)`,
    );
    expect(again.data).toEqual({ job: '1.1', state: 'cancelled', reported: 'passed' });
    expect(b.pushes[P1]!.jobs!.find((j) => j.id === '1.1')!.lateReport).toEqual(first);
  });
});
