// Who hears of a red build job, through the write path: the commits plan() makes, routed as the server
// routes them (state/notify/routing.ts). A failure a culprit search takes over (the one it starts, or the
// running one a new deploy branch moved) is the pushmaster's alone, since nobody is blamed yet; a failure
// on a SHA the push no longer deploys holds nothing back, and no notice says stage waits for it.
import { describe, expect, it } from 'vitest';
import type { Command } from '../../../state/commands.js';
import { routeCommit } from '../../../state/notify/routing.js';
import type { Board, PushId } from '../../../state/model.js';
import { ALICE, built, lastJob, ok, P1, PM, recordBuild, report, searched, sha, testCandidates, type Step } from '../../helpers/pipeline-board.js';

const jobFailed = (s: Step) => routeCommit('c0ffee', s.events, s.board, { channels: ['log'] }).filter((d) => d.subject?.startsWith('Job failed'));

/** Push 1 of 4 requests: its build 1.1 and retry 1.2 failed, the search runs, its first candidate (#1, #2) failed as 1.3. */
function searching(): Board {
  let b = report(built(4), '1.1', 'failed').board;
  b = report(b, '1.2', 'failed').board;
  b = testCandidates(b, [[1, 2]]).board;
  return report(b, lastJob(b), 'failed').board;
}

/** Request 4 is pushed again (alice, a new commit) and the new deploy branch c… is recorded: the search moves there. */
function repushed(b: Board): Board {
  b = ok(b, { type: 'UpdateRequest', ref: 'refs/pushreq/r4', sha: sha('e'), forced: false } as unknown as Command, ALICE).board;
  return recordBuild(b, sha('c')).board;
}

describe('the job-failed notice of a build job', () => {
  it('the failure that starts the search tells the pushmaster alone that the culprit is searched for', () => {
    const s = report(report(built(4), '1.1', 'failed').board, '1.2', 'failed');
    expect(s.board.pushes[P1]!.bisection).toMatchObject({ state: 'running', job: '1.2' });
    const told = jobFailed(s);
    expect(told.map((d) => d.to)).toEqual([['pm']]);
    expect(told[0]!.subject).toContain('finding the culprit');
    expect(told[0]!.text).toContain('Bisecting the 4 requests of push #1 "Tue"');
    expect(told[0]!.text).toMatch(/^build job test \(job 1\.2\) failed on d{10} and on its retry: /);
  });

  it('a search started by a retry by hand (attempt 3) says so, not "and on its retry"', () => {
    const STOP = { runner: 'local', jobs: [{ name: 'test', on: 'build' }], retries: 1, onFailure: 'stop' } as const;
    let b = report(report(built(4, STOP), '1.1', 'failed', STOP).board, '1.2', 'failed', STOP).board;
    b = ok(b, { type: 'RetryJob', job: '1.2' }, PM, STOP).board;
    const s = report(b, '1.3', 'failed');
    const told = jobFailed(s);
    expect(told[0]!.text).toMatch(/^build job test \(job 1\.3\) failed on d{10} on attempt 3 \(run again by hand\): /);
  });

  it('a search restarted on a new deploy branch: that build failing its retry tells the pushmaster alone that the search goes on, never the owners', () => {
    let b = repushed(searching());
    const build = lastJob(b);
    expect(b.pushes[P1]!.bisection).toMatchObject({ state: 'running', job: '1.2' });
    expect(b.pushes[P1]!.jobs!.find((j) => j.id === build)).toMatchObject({ sha: sha('c'), kind: 'build', state: 'queued' });
    // The first failure is retried at once: nobody hears of it.
    const first = report(b, build, 'failed');
    expect(jobFailed(first)).toEqual([]);
    b = first.board;
    const retry = report(b, lastJob(b), 'failed');
    expect(retry.board.pushes[P1]!.bisection).toMatchObject({ state: 'running', job: '1.2' });
    const told = jobFailed(retry);
    expect(told.map((d) => d.to)).toEqual([['pm']]);
    expect(told[0]!.subject).toBe('Job failed: test on push #1 "Tue"; finding the culprit');
    expect(told[0]!.text).toContain(`build job test (job ${lastJob(b)}) failed on cccccccccc and on its retry: exit code 3. The culprit search (started by job 1.2) goes on on this deploy branch, the 4 requests of push #1 "Tue"`);
    // Its stop command names the job whose cancel stops the search.
    expect(told[0]!.text).toContain('stop it: `pushmanager job cancel 1.2`');
    expect(told[0]!.text).not.toContain('retry: `');
  });

  it('a retry of a replaced build failing tells the pushmaster it holds nothing back, not that stage waits for it', () => {
    const pipeline = { runner: 'local' as const, jobs: [{ name: 'test', on: 'build' as const }], retries: 0, onFailure: 'stop' as const };
    let b = report(built(2, pipeline), '1.1', 'failed', pipeline).board;
    b = recordBuild(b, sha('c'), pipeline, sha('e')).board; // master moved: a new deploy branch, its job 1.2
    b = report(b, '1.2', 'passed', pipeline).board;
    b = ok(b, { type: 'RetryJob', job: '1.1' }, PM, pipeline).board;
    const s = report(b, lastJob(b), 'failed', pipeline);
    const told = jobFailed(s);
    expect(told.map((d) => d.to)).toEqual([['pm']]);
    expect(told[0]!.text).toContain(`build job test (job ${lastJob(b)}) failed on dddddddddd: exit code 3, which is not the deploy branch any more (push #1 "Tue" deploys cccccccccc now): it holds nothing back.`);
    expect(told[0]!.text).not.toMatch(/waits/);
  });
});

describe("the culprit's notice", () => {
  /** Push 1 of 2 requests, the job trusted: request 2 alone red names it; `other` adds an accepting push 2 first. */
  function found(other: boolean): string {
    let b = built(2);
    if (other) b = { ...b, pushes: { ...b.pushes, [2]: { ...b.pushes[P1]!, id: 2 as PushId, deployBranch: 'refs/heads/deploy/push-2', jobs: [], bisection: undefined } } };
    const s = searched(b, [[[1], 'passed'], [[2], 'failed']]);
    expect(s.board.pushes[P1]!.bisection).toMatchObject({ state: 'culprit', culprit: 2 });
    const [n] = routeCommit('c0ffee', s.events, s.board, { channels: ['log'] }).filter((d) => d.subject?.startsWith('Breaks test'));
    return n!.text;
  }
  it('on IRC: its first line and the lines that say what to run, each with its addressees, none over 400 bytes, no quoted log', () => {
    const s = searched(built(2), [[[1], 'passed'], [[2], 'failed']]);
    // A long title in a script of three bytes a letter: the first line is cut at a word, with "…".
    const board = { ...s.board, requests: { ...s.board.requests, [2]: { ...s.board.requests[2]!, title: '修复登录 '.repeat(40).trim() } } };
    const irc = routeCommit('c0ffee', s.events, board, { channels: ['irc'], ircChannel: '#deploys', routes: { 'job-failed': ['irc'] } }).filter((d) => d.channel === 'irc');
    const lines = irc.flatMap((d) => d.text.split('\n'));
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const l of lines) {
      expect(l).toMatch(/^alice, pm: /);
      expect(new TextEncoder().encode(l).length).toBeLessThanOrEqual(400);
      expect(l).not.toContain('BREAKS present');
    }
    expect(lines[0]).toMatch(/^alice, pm: Request #2 "修复登录 .*…$/);
    expect(lines.some((l) => l.includes('`pushmanager request pickme 2`'))).toBe(true);
    expect(lines.some((l) => /Log: `pushmanager job log 1\.\d+`/.test(l))).toBe(true);
  });

  it('says how to bring it back, naming the push when two accept (a plain pickme goes to the first)', () => {
    expect(found(false)).toContain('then `pushmanager request pickme 2`.');
    expect(found(true)).toContain('then `pushmanager request pickme 2 --push 1`.');
  });
});
