// A job the runner could not run (notRun: a builder the master does not have, no checkout of the SHA, a
// command that cannot start), through the write path (plan) and the router, pure. It says nothing of the
// tree: no retry, no culprit search, no flake when a later run passes, and only the pushmaster hears of
// it; a run of a search that could not run stops the search instead of being asked for again and again.
import { describe, expect, it } from 'vitest';
import type { DomainError } from '../../state/errors.js';
import type { JobEvent } from '../../state/jobs.js';
import type { Board, RequestId } from '../../state/model.js';
import { bisectionStep, flakeRecord } from '../../state/bisection.js';
import { routeCommit } from '../../state/notify/routing.js';
import { pushView } from '../../state/status-view.js';
import { attempt, BISECT, built, jobOf, recordBuild, sha, lastJob, ok, P1, PIPELINE, PM, report, searched, testCandidates, type Step } from '../helpers/pipeline-board.js';

const at = '2026-01-01T01:00:00.000Z';
const UNRUN: JobEvent = { type: 'failed', at, reason: 'Buildbot: no builder "nope" on http://bb (pipeline.jobs[].builder)', notRun: true };
const unrun = (b: Board, job: string): Step => ok(b, { type: 'RecordJob', job, change: UNRUN }, PIPELINE);
const told = (s: Step) => routeCommit('c0ffee', s.events, s.board, { channels: ['log'] });

describe('a job the runner could not run', () => {
  it('is failed and holds the gate, but is not retried and starts no culprit search', () => {
    const s = unrun(built(4), '1.1');
    expect(jobOf(s.board, '1.1')).toMatchObject({ state: 'failed', notRun: true, reason: UNRUN.reason });
    expect(s.events.map((e) => e.type)).toEqual(['JobFinished']);
    expect(s.board.pushes[P1]!.bisection).toBeUndefined();
    expect(s.board.pushes[P1]!.jobs!.map((j) => j.id)).toEqual(['1.1']);
    // A red run in its place is retried (retries: 1): the difference is the runner's word, not the state.
    expect(report(built(4), '1.1', 'failed').board.pushes[P1]!.jobs!.map((j) => j.kind)).toEqual(['build', 'retry']);
    // stage is refused, naming it with the runner's reason instead of a log it does not have.
    const refused = attempt(s.board, { type: 'StagePush', push: P1, env: 'stage-a' }, PM);
    expect(refused).toMatchObject({ code: 'jobs-not-green' });
    expect((refused as DomainError).message).toContain(`build job test (job 1.1) could not run (${UNRUN.reason}); retry with pushmanager job retry 1.1`);
    expect((refused as DomainError).message).not.toContain('job log');
    const view = pushView(s.board, s.board.pushes[P1]!);
    expect(view.jobs![0]).toMatchObject({ state: 'failed', notRun: UNRUN.reason });
  });

  it('run again by hand after the fix, it is a plain run: passing, it is no flake, and the flake record counts no failure', () => {
    let b = unrun(built(4), '1.1').board;
    b = ok(b, { type: 'RetryJob', job: '1.1' }, PM).board;
    expect(jobOf(b, '1.2')).toMatchObject({ kind: 'build', attempt: 2 });
    b = report(b, '1.2', 'passed').board;
    expect(jobOf(b, '1.2').flaky).toBeUndefined();
    expect(flakeRecord(b, 'test')).toEqual({ runs: 1, failed: 0 });
  });

  it('tells the pushmaster alone, with the reason and what to run, not the owners of the requests', () => {
    const notices = told(unrun(built(4), '1.1'));
    expect(notices.map((d) => [d.to, d.subject])).toEqual([[['pm'], 'Job could not run: test on push #1 "Tue"']]);
    expect(notices[0]!.text).toBe(
      'build job test (job 1.1) could not run on dddddddddd: Buildbot: no builder "nope" on http://bb (pipeline.jobs[].builder).\n' +
        'Nobody\'s request is to blame and no culprit search starts; stage of push #1 "Tue" waits for it. Fix it, then: `pushmanager job retry 1.1`',
    );
  });

  it('a run of a search that could not run stops the search, naming it; nothing is asked for again', () => {
    const s0 = searched(built(4), []);
    expect(s0.board.pushes[P1]!.bisection).toMatchObject({ state: 'running', job: '1.2' });
    const b = testCandidates(s0.board, [[1, 2]]).board;
    const run = lastJob(b);
    const s = unrun(b, run);
    expect(s.board.pushes[P1]!.bisection).toMatchObject({ state: 'cancelled', reason: `job ${run} could not run (${UNRUN.reason})` });
    expect(bisectionStep(s.board, s.board.pushes[P1]!, 2)).toBeNull();
    const notices = told(s);
    expect(notices.map((d) => d.to)).toEqual([['pm']]);
    expect(notices[0]!.text).toContain('push #1 "Tue"\'s culprit search stopped there, with nobody blamed. Fix it, then: `pushmanager job retry 1.2` runs the build again (red again, it searches again)');
    // A red run of the candidate instead narrows the search as usual.
    expect(report(b, run, 'failed').board.pushes[P1]!.bisection!.state).toBe('running');
  });

  it('a candidate whose tree ran the job once before without running it (notRun) gets a run of its own; the search goes on', () => {
    // Push 1's build at d could not run; the build at e then failed twice: the search runs there.
    let b = unrun(built(4), '1.1').board;
    b = recordBuild(b, sha('e'), BISECT, sha('c')).board;
    b = report(b, lastJob(b), 'failed').board;
    b = report(b, lastJob(b), 'failed').board;
    const search = b.pushes[P1]!.bisection!;
    expect(search.state).toBe('running');
    // A candidate that rebuilds d exactly: the unrun job is no result of it.
    const members = [1, 2].map((id) => ({ request: id as RequestId, sha: b.requests[id]!.sha }));
    const s = ok(b, { type: 'TestBisectCandidates', push: P1, bisection: search.job, runner: 'local', candidates: [{ members, base: sha('c'), sha: sha('d') }] }, PIPELINE);
    expect(s.board.pushes[P1]!.bisection!.state).toBe('running');
    expect(s.board.pushes[P1]!.bisection!.candidates.at(-1)!.jobs).not.toContain('1.1');
    expect(jobOf(s.board, lastJob(s.board))).toMatchObject({ kind: 'bisect', sha: sha('d'), state: 'queued' });
  });
});
