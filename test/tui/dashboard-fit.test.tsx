// The dashboard rendered by Ink (ink-testing-library) while a culprit search runs: many job rows and the
// search's wrapped line must fit the terminal (a frame taller than the terminal scrolls its header away),
// the JOBS header and the keys stay on screen at 80×24 and the room is used at 120×40; and the job the
// jobs cursor is on stays the one R and X act on when a board update adds or removes rows around it.
import { showDashboard } from './show-dashboard.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { StatusView } from '../../state/status-view.js';
import type { StatusJob } from '../../state/wire.js';
import { FakeClient, NOW, job, jobsBoard, req, waitFor } from './fixtures.js';

const ESC = '\u001b';

const mounted: (() => void)[] = [];
afterEach(() => {
  for (const u of mounted.splice(0)) u();
});

const show = (client: FakeClient, size = { width: 80, height: 24 }) => showDashboard(client, size, mounted);

/**
 * Push 3 of the jobs board with 20 accepted requests and a search running on them: the build and its
 * retry failed, then `runs` candidates, the newest running; the search's line wraps at 80 columns.
 */
function searchingBoard(runs = 14): StatusView {
  const b = jobsBoard();
  const ids = Array.from({ length: 20 }, (_, i) => 10 + i);
  const requests = [...b.requests.filter((r) => r.push === null), ...ids.map((id) => req(id, { state: 'added', push: 3 as never, title: `Change number ${id} for the train` }))];
  const jobs: StatusJob[] = [
    job('3.1', { state: 'failed' }),
    job('3.2', { kind: 'retry', attempt: 2, state: 'failed' }),
    ...Array.from({ length: runs }, (_, i) =>
      job(`3.${i + 3}`, { kind: 'bisect', state: i === runs - 1 ? 'running' : i % 2 ? 'failed' : 'passed', finishedAt: i === runs - 1 ? null : NOW.toISOString(), candidate: `master + #10 … #${10 + (i % 19)} (${(i % 19) + 1})` }),
    ),
  ];
  const bisection = {
    state: 'running' as const,
    job: '3.1',
    name: 'test',
    requests: 20,
    sizes: [20, 10, 5, 3],
    runs,
    summary: 'bisecting push 3 (test): 20 → 10 → 5 → 3 requests, 14 runs; about 2 more runs of ~4 min',
    startedAt: NOW.toISOString(),
    candidates: [],
  };
  return { ...b, requests, pushes: [{ ...b.pushes[0]!, requests: ids as never, jobs, bisection }, b.pushes[1]!] };
}

const rowsOf = (f: string) => f.split('\n');

describe('every pane fits the terminal while a culprit search runs', () => {
  it('80×24, cursor on the requests: the frame has at most 24 lines, JOBS, the search and the keys on screen, from the first request to the last', async () => {
    const { until, type } = show(new FakeClient(searchingBoard()), { width: 80, height: 24 });
    const check = (f: string) => {
      expect(rowsOf(f).length, f).toBeLessThanOrEqual(24);
      expect(rowsOf(f)[0], f).toContain('Push #3');
      expect(f).toMatch(/^JOBS \(16: 8 failed, 1 running\)/m);
      expect(f).toMatch(/^›▶ test · #10 … #23 \(14\) +bisect running/m);
      expect(f).toContain('⚑ bisecting push 3 (test)');
      expect(rowsOf(f).at(-1)).toMatch(/^\? keys {2}q quit/);
    };
    check(await until((f) => f.includes('● live') && /^> +#10 /m.test(f)));
    // To the last request on the board (the delayed one): the window follows the cursor, the jobs stay above it.
    await type('G');
    const f = await until((x) => /^> +#7 /m.test(x));
    check(f);
    expect(f).toMatch(/↑ \d+ more lines/);
  });

  it('80×24 with the cursor in the jobs: the JOBS header stays on top of the job rows, which scroll under it with what is above and below', async () => {
    const { until, type } = show(new FakeClient(searchingBoard()), { width: 80, height: 24 });
    await until((f) => f.includes('● live') && f.includes('JOBS ('));
    await type('J');
    let f = await until((x) => x.includes('esc back'));
    expect(rowsOf(f).length, f).toBeLessThanOrEqual(24);
    expect(f).toMatch(/^JOBS \(16: /m);
    // To the first job: the newest are below.
    await type('g');
    f = await until((x) => /^>✗ test +build +failed/m.test(x));
    expect(rowsOf(f).length, f).toBeLessThanOrEqual(24);
    expect(f).toMatch(/^JOBS \(16: /m);
    expect(f).toMatch(/↓ \d+ more jobs/);
    expect(f).toContain('bisecting push 3 (test)');
    expect(rowsOf(f).at(-1)).toMatch(/^\? keys {2}q quit/);
    // To the newest: the first are above, the header still on top.
    await type('G');
    f = await until((x) => /^>▶ test · #10 … #23 \(14\)/m.test(x));
    expect(rowsOf(f).length, f).toBeLessThanOrEqual(24);
    expect(f).toMatch(/^JOBS \(16: /m);
    expect(f).toMatch(/↑ \d+ earlier jobs/);
    expect(f).toContain('bisecting push 3 (test)');
    await type(ESC);
    await until((x) => x.includes('J jobs'));
  });

  it.each([10, 12, 14])('80×%i, so little room that the jobs get one row or two: the job under the cursor is on screen, not covered by the marks', async (height) => {
    const { until, type } = show(new FakeClient(searchingBoard()), { width: 80, height });
    await until((f) => f.includes('● live') && f.includes('JOBS ('));
    await type('J');
    await until((x) => x.includes('JOBS ('));
    await type('g');
    let f = await until((x) => /^>✗ test +build +failed/m.test(x));
    expect(rowsOf(f).length, f).toBeLessThanOrEqual(height);
    await type('j');
    f = await until((x) => /^>✗ test +retry +failed/m.test(x));
    expect(rowsOf(f).length, f).toBeLessThanOrEqual(height);
    await type('G');
    f = await until((x) => /^>▶ test · #10 … #23 \(14\)/m.test(x));
    expect(rowsOf(f).length, f).toBeLessThanOrEqual(height);
    await type(ESC);
  });

  it('120×40 uses the room: every job row of the search is listed under JOBS in the jobs, in 40 lines at most', async () => {
    const { until, type } = show(new FakeClient(searchingBoard()), { width: 120, height: 40 });
    await until((f) => f.includes('● live') && f.includes('JOBS ('));
    await type('J');
    const f = await until((x) => x.includes('esc back'));
    expect(rowsOf(f).length, f).toBeLessThanOrEqual(40);
    expect(f).toMatch(/^JOBS \(16: /m);
    for (let n = 1; n <= 16; n++) expect(f, `job 3.${n}`).toMatch(n <= 2 ? / ✗ test +(build|retry) +failed/ : new RegExp(`test · #10 … #${10 + ((n - 3) % 19)} \\(`));
    expect(f).not.toMatch(/more jobs|earlier jobs/);
  });
});

describe('the job R and X act on is the one the user chose, across board updates', () => {
  const withJobs = (b: StatusView, jobs: (old: readonly StatusJob[]) => StatusJob[]): StatusView => ({ ...b, pushes: [{ ...b.pushes[0]!, jobs: jobs(b.pushes[0]!.jobs!) }, ...b.pushes.slice(1)] });

  it('in the jobs: a board update that puts a row above the chosen job leaves R on that job', async () => {
    const client = new FakeClient(jobsBoard(), { name: 'pm', pushmaster: true }, () => [{ type: 'JobQueued', job: { id: 'j9', name: 'test', sha: 'ab'.repeat(20), attempt: 3 } }]);
    const { until, type } = show(client, { width: 80, height: 24 });
    await until((f) => f.includes('● live') && f.includes('JOBS (5'));
    // J starts on the running e2e job; two up is the failed test run.
    await type('J', 'k', 'k');
    await until((f) => /^>✗ test +build +failed/m.test(f));
    client.view = withJobs(client.view, (jobs) => [job('j0', { name: 'lint', state: 'failed' }), ...jobs]);
    client.send('commit', {});
    await until((f) => f.includes('JOBS (6') && /^>✗ test +build +failed/m.test(f));
    await type('R');
    await waitFor(() => String(client.sent.length), (n) => n === '1');
    expect(client.sent).toEqual([{ type: 'RetryJob', job: 'j2' }]);
  });

  it('from the requests: X cancels the marked job, and R after it runs that job again, not the one that needs attention next', async () => {
    const client = new FakeClient(jobsBoard(), { name: 'pm', pushmaster: true }, (cmd, c) => {
      if (cmd.type === 'CancelJob') c.view = withJobs(c.view, (jobs) => jobs.map((j) => (j.id === 'j4' ? { ...j, state: 'cancelled' as const, finishedAt: NOW.toISOString() } : j)));
      // Events without the job's fields: the status line says only "done" (the answer is not what is tested).
      return ['JobCancelled'];
    });
    const { until, type } = show(client, { width: 80, height: 24 });
    await until((f) => f.includes('● live') && /^›▶ e2e-browser-suite/m.test(f));
    await type('X');
    // The board after the cancel: the e2e job cancelled; the failed test run would be the one needing attention.
    await until((f) => /^›⊘ e2e-browser-suite +build +cancelled/m.test(f));
    await type('R');
    await waitFor(() => String(client.sent.length), (n) => n === '2');
    expect(client.sent).toEqual([
      { type: 'CancelJob', job: 'j4' },
      { type: 'RetryJob', job: 'j4' },
    ]);
  });

  it('in the jobs: when the chosen job is no longer listed, the cursor takes the row that took its place, not the newest', async () => {
    const client = new FakeClient(jobsBoard());
    const { until, type } = show(client, { width: 80, height: 24 });
    await until((f) => f.includes('● live') && f.includes('JOBS (5'));
    await type('J', 'k', 'k');
    await until((f) => /^>✗ test +build +failed/m.test(f));
    client.view = withJobs(client.view, (jobs) => jobs.filter((j) => j.id !== 'j2'));
    client.send('commit', {});
    const f = await until((x) => x.includes('JOBS (4'));
    expect(f).toMatch(/^>✓ test +retry +passed +try 2/m);
  });
});
