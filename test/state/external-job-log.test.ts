// An external CI's job has its log on the CI, never on the server (which refuses `job log` of it): what
// the domain says of such a job points to the CI's run page, or says the log is on the CI, instead of a
// `pushmanager job log` that is refused. Pure: the write path (state/plan.ts), answers and notices.
import { describe, expect, it } from 'vitest';
import { userActor } from '../../state/actor.js';
import { answerSentence, commandOutcome } from '../../state/describe.js';
import type { PipelineJobs } from '../../state/job-queue.js';
import type { Board } from '../../state/model.js';
import { routeCommit } from '../../state/notify/routing.js';
import { isDomainError } from '../../state/errors.js';
import { plan } from '../../state/plan.js';
import { built, ok, P1, PM, report, searched, type Step } from '../helpers/pipeline-board.js';

const EXTERNAL: PipelineJobs = { runner: 'external', jobs: [{ name: 'test', on: 'build' }], retries: 0, onFailure: 'stop' };
const LOCAL: PipelineJobs = { ...EXTERNAL, runner: 'local' };
const CI = userActor('ci-bot', { ci: true });
const retryAnswer = (s: Step) => answerSentence({ type: 'RetryJob', push: P1 }, commandOutcome(s.board, { type: 'RetryJob' }, s.events));

describe('the answer to job retry', () => {
  it('of an external job says the CI was told and how to see the job, not a job log --follow the server refuses', () => {
    const b = ok(built(1, EXTERNAL), { type: 'ReportJob', job: '1.1', state: 'failed', url: 'https://ci.example.com/runs/1' }, CI, EXTERNAL).board;
    const said = retryAnswer(ok(b, { type: 'RetryJob', job: '1.1' }, PM, EXTERNAL));
    expect(said).toBe('job 1.2 queued: test again on dddddddddd (attempt 2); announced to the external CI, which reports its result; follow it: pushmanager job show 1.2');
    expect(said).not.toContain('job log');
  });

  it('of a local job still offers to follow its log', () => {
    const b = report(built(1, LOCAL), '1.1', 'failed', LOCAL).board;
    expect(retryAnswer(ok(b, { type: 'RetryJob', job: '1.1' }, PM, LOCAL))).toBe('job 1.2 queued: test again on dddddddddd (attempt 2); follow it: pushmanager job log 1.2 --follow');
  });
});

describe("the culprit notice's log line", () => {
  /** Push 1 of 4: build and retry red, the search finds request 3 (a job that never flaked is trusted on one run). */
  function culprit(): Step {
    const s = searched(built(4), [[[1, 2], 'passed'], [[1, 2, 3], 'failed'], [[3], 'failed']]);
    expect(s.board.pushes[P1]!.bisection).toMatchObject({ state: 'culprit', culprit: 3 });
    return s;
  }
  const asExternal = (b: Board, proof: string, url: string | null): Board => {
    const p = b.pushes[P1]!;
    return { ...b, pushes: { ...b.pushes, [P1]: { ...p, jobs: p.jobs!.map((j) => (j.id === proof ? { ...j, runner: 'external' as const, url } : j)) } } };
  };
  const notice = (s: Step, b: Board) => routeCommit('c0ffee', s.events, b, { channels: ['log'] }).find((d) => d.subject?.startsWith('Breaks '))?.text ?? '';

  it('names job log for a job the server ran, the CI run page for an external one, and the CI when it reported none', () => {
    const s = culprit();
    const proof = s.board.pushes[P1]!.bisection!.proof!.job;
    expect(notice(s, s.board)).toContain(`\nLog: \`pushmanager job log ${proof}\``);
    const external = notice(s, asExternal(s.board, proof, 'https://ci.example.com/runs/7'));
    expect(external).toContain('\nLog: https://ci.example.com/runs/7');
    expect(external).not.toContain('job log');
    const noPage = notice(s, asExternal(s.board, proof, null));
    expect(noPage).toContain(`\nLog: on the external CI (no run page reported for job ${proof})`);
    expect(noPage).not.toContain('job log');
  });
});

describe("an external job's red gate and failure notice", () => {
  it('point to its run page: the stage refusal and the job-failed notice, never job log', () => {
    const s = ok(built(1, EXTERNAL), { type: 'ReportJob', job: '1.1', state: 'failed', url: 'https://ci.example.com/runs/1' }, CI, EXTERNAL);
    const failed = routeCommit('c0ffee', s.events, s.board, { channels: ['log'] }).find((d) => d.subject?.startsWith('Job failed'))?.text ?? '';
    expect(failed).toContain('\nLog: https://ci.example.com/runs/1; retry:');
    const stage = plan(s.board, { type: 'StagePush', push: P1, env: 'stage-a' }, { actor: PM, now: '2026-01-01T02:00:00.000Z', pipeline: EXTERNAL });
    expect(isDomainError(stage) && stage.message).toContain('build job test (job 1.1) is failed (reported failed by ci-bot): https://ci.example.com/runs/1;');
  });
});

describe("an external deploy job's answer", () => {
  it('stage with an external stage job says to follow it on the CI, not with job log', () => {
    const DEPLOY: PipelineJobs = { ...EXTERNAL, jobs: [{ name: 'test', on: 'build' }, { name: 'deploy', on: 'stage' }] };
    const b = ok(built(1, DEPLOY), { type: 'ReportJob', job: '1.1', state: 'passed' }, CI, DEPLOY).board;
    const s = ok(b, { type: 'StagePush', push: P1, env: 'stage-a' }, PM, DEPLOY);
    const said = answerSentence({ type: 'StagePush', push: P1 }, commandOutcome(s.board, { type: 'StagePush' }, s.events));
    expect(said).toMatch(/; follow: on the external CI \(no run page reported for job 1\.2\)$/);
    expect(said).not.toContain('job log');
  });
});
