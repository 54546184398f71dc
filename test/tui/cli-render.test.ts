// The CLI's `status` text: integration links, Ship Its and builds when the board has them, and the
// checklist with item ids so `pushmanager push tick P ITEM` can be typed from it.
import { describe, expect, it } from 'vitest';
import { buildText, jobLine, renderJob, renderStatus } from '../../tui/cli/render.js';
import { checklistBoard, sampleBoard } from './fixtures.js';

describe('renderStatus', () => {
  const out = renderStatus(checklistBoard() as never);

  it('shows review and ticket links, Ship Its and the build per request', () => {
    expect(out).toContain('review https://rb.example/r/1234/ (Ship It ×2); ticket https://jira.example/browse/WEB-42; build fail (builder-a) https://bb.example/b/1');
    expect(out).toContain('Ship It ×0; build running https://bb.example/b/2');
    // A waiting request's build, with why it is unknown.
    expect(out).toContain('build unknown (buildbot is slow to answer)');
  });

  it("shows the push's deploy build", () => {
    expect(out).toMatch(/deploy branch deploy\/push-3 at .*; build pass https:\/\/bb\.example\/deploy\/3/);
  });

  it('lists the whole checklist with [x]/[ ], ids, phases and who ticked, with user text made safe', () => {
    expect(out).toContain('checklist (2 open; tick with: pushmanager push tick 3 ITEM):');
    expect(out).toContain('    [ ] db-migration-run  Run the migration for #4  (before-stage for #4)');
    expect(out).toMatch(/ {4}\[x\] smoke {2}Smoke test \S*stage {2}\(after-stage, ticked by pm\)/);
    expect(out).toContain('    [ ] announce  Announce in #ops  (before-certify)');
    expect(out).not.toContain('\u001b');
  });

  it('without links, builds or a checklist the board reads as before', () => {
    const plain = renderStatus(sampleBoard());
    expect(plain).not.toMatch(/Ship It|build |checklist/);
    expect(plain).toContain('(review 1234 WEB-42)');
  });

  it("counts a finished push's requests in words that agree with the number", () => {
    const b = sampleBoard();
    const one = { ...b, pushes: b.pushes.map((p) => (p.state === 'live' ? { ...p, requests: [5 as never] } : p)) };
    expect(renderStatus(one)).toMatch(/push 2 "Tuesday train" live \(tag push-2\), 1 request$/m);
    expect(renderStatus(b)).toMatch(/push 2 "Tuesday train" live \(tag push-2\), no requests$/m);
  });

  it('reads build results defensively', () => {
    expect(buildText(undefined)).toBeNull();
    expect(buildText({ state: 'weird' })).toBe('unknown');
    expect(buildText({ state: 'fail', failedBuilders: ['a', 'b\u001b[2J'], link: 'u' })).toBe('fail (a, b) u');
  });
});

describe('job lines', () => {
  const NOW = Date.parse('2026-01-01T00:10:00.000Z');
  const base = { id: '1.3', name: 'test', on: 'build', sha: 'c82a343d65'.padEnd(40, '0'), state: 'passed', attempt: 1, kind: 'bisect', url: null, startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:02.000Z' } as const;

  it("a run of the culprit search says which candidate it tested; a build's line is as before", () => {
    expect(jobLine({ ...base, candidate: 'master + #1 … #4' }, NOW)).toBe('job 1.3   test         build   passed in 2s (bisect: master + #1 … #4) at c82a343d65');
    expect(jobLine({ ...base, kind: 'build' }, NOW)).toBe('job 1.3   test         build   passed in 2s at c82a343d65');
  });

  it('a job run again after the server stopped says so, in its line and in job show', () => {
    const rerun = { ...base, kind: 'build', state: 'running', finishedAt: null, rerun: { times: 1, at: '2026-01-01T00:00:01.000Z' } } as const;
    expect(jobLine(rerun, NOW)).toBe('job 1.3   test         build   running for 10m00s (run again after the server stopped) at c82a343d65  (follow: pushmanager job log 1.3 --follow)');
    const detail = { ...rerun, push: 1, runner: 'local', command: ['./check.sh'], builder: null, exitCode: null, reason: null, log: '/api/jobs/1.3/log' } as const;
    expect(renderJob(detail, NOW)).toContain("\n  interrupted: the server stopped while it ran (2026-01-01T00:00:01.000Z); run again from scratch; its log starts with the cut run's last lines\n");
  });

  it("an external CI's job offers its run page (or says the log is on the CI), never the job log the server refuses", () => {
    const ext = { ...base, kind: 'build', state: 'failed', runner: 'external', url: 'https://ci.example.com/runs/6' } as const;
    expect(jobLine(ext, NOW)).toBe('job 1.3   test         build   failed in 2s at c82a343d65  (log: https://ci.example.com/runs/6)');
    expect(jobLine({ ...ext, url: null }, NOW)).toBe('job 1.3   test         build   failed in 2s at c82a343d65  (log: on the external CI)');
    expect(jobLine({ ...ext, runner: 'local' }, NOW)).toBe('job 1.3   test         build   failed in 2s at c82a343d65  (log: pushmanager job log 1.3)');
    const detail = { ...ext, push: 1, command: null, builder: null, exitCode: null, reason: 'reported failed by ci-bot', log: '/api/jobs/1.3/log' } as const;
    const shown = renderJob(detail, NOW);
    expect(shown).toContain("\n  log: https://ci.example.com/runs/6 (the CI's run page)\n");
    expect(shown).not.toContain('job log');
    expect(renderJob({ ...detail, url: null }, NOW)).toContain('\n  log: on the external CI (it reported no run page: job report --url adds one)\n');
  });

  it('job show of a stage job says which env it deploys to', () => {
    const stage = { ...base, on: 'stage', kind: 'deploy', env: 'stage-a', push: 1, runner: 'local', command: ['./deploy.sh', '{env}'], builder: null, exitCode: 0, reason: null, log: '/api/jobs/1.3/log' } as const;
    expect(renderJob(stage, NOW)).toContain(`\n  sha ${base.sha}\n  env stage-a\n  runs ["./deploy.sh","{env}"]\n`);
  });

  it('job show names the kind only when it says more than the phase, and the attempt past the first', () => {
    const detail = { ...base, kind: 'build', push: 1, runner: 'local', command: ['./check.sh'], builder: null, exitCode: 0, reason: null, log: '/api/jobs/1.3/log' } as const;
    expect(renderJob(detail, NOW).split('\n')[0]).toBe('Job 1.3: test (build) of push 1, local runner');
    expect(renderJob({ ...detail, kind: 'retry', attempt: 2 }, NOW).split('\n')[0]).toBe('Job 1.3: test (build, retry, attempt 2) of push 1, local runner');
    expect(renderJob({ ...detail, on: 'stage', kind: 'deploy' }, NOW).split('\n')[0]).toBe('Job 1.3: test (stage, deploy) of push 1, local runner');
  });

  it('job show says the exit code once, and a reason that adds to it', () => {
    const detail = { ...base, state: 'failed', push: 1, runner: 'local', command: ['./check.sh'], builder: null, exitCode: 1, reason: 'exit code 1', log: '/api/jobs/1.3/log' } as const;
    expect(renderJob(detail, NOW).match(/exit code 1/g)).toHaveLength(1);
    expect(renderJob({ ...detail, reason: 'timed out after 60 s' }, NOW)).toContain('\n  exit code 1\n  timed out after 60 s\n');
  });
});
