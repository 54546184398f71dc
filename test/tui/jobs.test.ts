// The push's pipeline jobs on the dashboard (SPEC §6, issue 15), as pure functions: the JOBS rows at
// 80×24 and 120×40, elapsed times against a fixed clock, the log pane's rows, and the keys J, L, R, X
// (open and close the pane, retry and cancel build the commands `job retry|cancel ID` sends).
import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import type { StatusView } from '../../state/status-view.js';
import type { JobDetail } from '../../state/wire.js';
import { interpretKey, type Effect, type KeyPress } from '../../tui/dashboard/keymap.js';
import { jobLogPane, logRows } from '../../tui/dashboard/overlays.js';
import { jobElapsed, windowAround } from '../../tui/dashboard/rows.js';
import type { Line } from '../../tui/dashboard/text.js';
import { buildView } from '../../tui/dashboard/screen.js';
import { formatElapsed } from '../../tui/dashboard/text.js';
import { LOG_KEEP_CHARS, initialUi, uiReducer, type JobLogMode, type Me, type UiAction, type UiState } from '../../tui/dashboard/ui-state.js';
import { NOW, job, jobsBoard, sampleBoard, withActions } from './fixtures.js';

const PM: Me = { name: 'pm', pushmaster: true };
const ALICE: Me = { name: 'alice', pushmaster: false };

const ui = (me: Me | null, over: Partial<UiState> = {}): UiState => ({ ...initialUi({ width: 120, height: 30 }, me), connection: { state: 'live' }, ...over });
const view = (board: StatusView, u: UiState, now = NOW) => buildView(withActions(board, u.me), u, { now, color: false });
const lines = (v: ReturnType<typeof view>) => v.lines.map((l) => l.segs.map((s) => s.text).join(''));
const apply = (s: UiState, ...as: UiAction[]) => as.reduce(uiReducer, s);
const press = (input: string, s: UiState, board: StatusView = jobsBoard(), key: KeyPress = {}): Effect => interpretKey(input, key, s, view(board, s));
const logMode = (over: Partial<JobLogMode> = {}): JobLogMode => ({ kind: 'job-log', job: 'j4', push: 3, session: 1, text: '', ended: false, error: null, detail: null, scroll: null, ...over });

describe('elapsed time', () => {
  it('is finished minus started for a finished job, now minus started for a running one, none for a queued one', () => {
    const b = jobsBoard().pushes[0]!.jobs!;
    expect(jobElapsed(b[1]!, NOW)).toBe('3m05s');
    // A finished job's time does not move with the clock.
    expect(jobElapsed(b[1]!, new Date(NOW.getTime() + 3_600_000))).toBe('3m05s');
    expect(jobElapsed(b[3]!, NOW)).toBe('2m05s');
    expect(jobElapsed(b[3]!, new Date(NOW.getTime() + 10_000))).toBe('2m15s');
    expect(jobElapsed(b[4]!, NOW)).toBeNull();
    expect(jobElapsed(job('c', { state: 'cancelled', startedAt: null, finishedAt: NOW.toISOString() }), NOW)).toBeNull();
  });

  it('reads at a glance and to the second', () => {
    expect([0, 42_000, 65_000, 3_723_000, 2 * 86_400_000 + 3 * 3_600_000, -5].map(formatElapsed)).toEqual(['0s', '42s', '1m05s', '1h02m', '2d03h', '0s']);
  });

  it('ticks in the running row as the clock moves', () => {
    const row = (now: Date) => lines(view(jobsBoard(), ui(PM), now)).find((l) => l.includes('e2e-browser-suite'))!;
    expect(row(NOW)).toMatch(/running .*2m05s/);
    expect(row(new Date(NOW.getTime() + 1000))).toMatch(/running .*2m06s/);
  });
});

describe('the JOBS rows', () => {
  it('a running culprit search shows how it narrows, and the flakes of the push\'s jobs are counted by name', () => {
    const b = jobsBoard();
    const bisection = { state: 'running' as const, job: 'j2', name: 'unit', requests: 40, sizes: [40, 20, 10], runs: 3, summary: 'bisecting push 3 (unit): 40 → 20 → 10 requests, 3 runs', startedAt: NOW.toISOString(), candidates: [] };
    const names = [...new Set(b.pushes[0]!.jobs!.map((j) => j.name))];
    const searching: StatusView = { ...b, flakes: { [names[0]!]: 2 }, pushes: [{ ...b.pushes[0]!, bisection }, b.pushes[1]!] };
    for (const width of [80, 120]) {
      const l = lines(view(searching, ui(PM, { width, height: 30 })));
      expect(l.some((x) => x.includes('bisecting push 3 (unit): 40 → 20 → 10 requests, 3 runs')), l.join('\n')).toBe(true);
      expect(l.some((x) => x.includes(`flaky: ${names[0]} ×2`))).toBe(true);
      expect(l.every((x) => stringWidth(x) <= width)).toBe(true);
    }
    const plain = lines(view(jobsBoard(), ui(PM)));
    expect(plain.some((x) => x.includes('bisecting'))).toBe(false);
  });

  it('a run of the culprit search shows, dim after its name, which candidate it tests, cut to its column', () => {
    const b = jobsBoard();
    const runs = [job('j6', { kind: 'bisect', state: 'failed', candidate: 'master + #1 … #20 (20)' }), job('j7', { kind: 'bisect', state: 'running', finishedAt: null, candidate: '#12 alone' })];
    const board: StatusView = { ...b, pushes: [{ ...b.pushes[0]!, jobs: [...b.pushes[0]!.jobs!, ...runs] }, b.pushes[1]!] };
    const l = lines(view(board, ui(PM, { width: 120, height: 40 })));
    expect(l.some((x) => /test · #1 … #20 \(20\)\s+bisect failed/.test(x)), l.join('\n')).toBe(true);
    expect(l.some((x) => /test · #12 alone\s+bisect running/.test(x))).toBe(true);
    // A name that leaves no room for a candidate keeps its column as before, without it.
    const long = { ...board, pushes: [{ ...board.pushes[0]!, jobs: [job('j8', { name: 'integration-tests-all', kind: 'bisect', candidate: 'master + #1 … #20 (20)' })] }, board.pushes[1]!] };
    const cut = lines(view(long, ui(PM, { width: 120, height: 40 })));
    expect(cut.every((x) => stringWidth(x) <= 120)).toBe(true);
    expect(cut.some((x) => /integration-tests-all bisect passed/.test(x)), cut.join("\n")).toBe(true);
  });

  it('what a search found is wrapped, not cut: the push remove to run with autoRemove off is on screen at 80 and 120 columns', () => {
    const b = jobsBoard();
    const summary = 'bisection of push 3 (test) found request #6 in 4 runs: job 3.6 failed on candidate 09e6554a42 (master + request #6); #6 is still in the push: to remove it, pushmanager push remove 3 6 --reason "breaks test"';
    const bisection = { state: 'culprit' as const, job: 'j2', name: 'test', requests: 8, sizes: [8, 4, 2, 1], runs: 4, culprit: 6, summary, startedAt: NOW.toISOString(), candidates: [] };
    const found: StatusView = { ...b, pushes: [{ ...b.pushes[0]!, bisection }, b.pushes[1]!] };
    for (const width of [80, 120]) {
      const l = lines(view(found, ui(PM, { width, height: 40 })));
      expect(l.every((x) => stringWidth(x) <= width)).toBe(true);
      // The main column only (the side column shares the rows at 120).
      const text = l.map((x) => x.split('│')[0]!.trim()).join(' ').replace(/\s+/g, ' ');
      expect(text, l.join('\n')).toContain('to remove it, pushmanager push remove 3 6 --reason "breaks test"');
    }
  });

  it('the running search\'s line wraps between phrases, never inside its key hint or between a number and its unit', () => {
    const b = jobsBoard();
    const summary = 'bisecting push 1 (test): 23 → 5 requests, 1 run; about 4 more runs of ~4 s';
    const bisection = { state: 'running' as const, job: '1.17', name: 'test', requests: 23, sizes: [23, 5], runs: 1, summary, startedAt: NOW.toISOString(), candidates: [] };
    const searching: StatusView = { ...b, pushes: [{ ...b.pushes[0]!, bisection }, b.pushes[1]!] };
    // 80 columns put `X` at the end of the first row, 120 (its 75-column main column) `~4` (seen in tmux).
    for (const width of [80, 120]) {
      const l = lines(view(searching, ui(PM, { width, height: 30 }))).map((x) => x.split('│')[0]!.trimEnd());
      const at = l.findIndex((x) => x.startsWith('⚑'));
      const rows = l.slice(at, at + 2).join('\n');
      expect(rows, rows).toMatch(/X\son\sjob\s1\.17\sstops\sit$/m);
      expect(rows, rows).toMatch(/~4\ss/);
    }
  });

  it('a stage waiting for its deploy job says so in the header: the push is not staged yet', () => {
    const b = jobsBoard();
    const staging: StatusView = { ...b, pushes: [{ ...b.pushes[0]!, deploying: { step: 'stage', env: 'stage-a', jobs: ['j5'] } }, b.pushes[1]!] };
    const l = lines(view(staging, ui(PM, { width: 120, height: 30 })));
    expect(l[0]).toMatch(/· accepting · staging on stage-a \(job j5\) · pushmaster pm/);
    expect(lines(view(jobsBoard(), ui(PM, { width: 120, height: 30 })))[0]).not.toMatch(/staging/);
  });


  it('80×24: under the push header, each job with mark, name, kind, state, attempt, SHA and elapsed; the newest four and how many more', () => {
    const v = view(jobsBoard(), ui(PM, { width: 80, height: 24 }));
    const l = lines(v);
    expect(l).toHaveLength(23);
    for (const x of l) expect(stringWidth(x), x).toBeLessThanOrEqual(80);
    expect(l[3]).toBe('JOBS (5: 1 failed, 1 running, 1 queued)  J jobs · L log · 1 earlier');
    // A first attempt shows none; a retry `try 2`, never `#2` (beside `#5` it read as a request number).
    expect(l[4]).toMatch(/^ ✗ test +build +failed +12f12f12f1 +3m05s$/);
    expect(l[5]).toMatch(/^ ✓ test +retry +passed +try 2 12f12f12f1 +1m40s flaky$/);
    // The job L acts on (the running one) is marked.
    expect(l[6]).toMatch(/^›▶ e2e-browser-suite +build +running +12f12f12f1 +2m05s$/);
    expect(l[7]).toMatch(/^ ○ deploy-stage +deploy +queued +12f12f12f1 +-$/);
    expect(l.join('\n')).not.toMatch(/ #\d+ +12f12f/);
    // The SHA column starts at the same place in every row.
    expect(new Set(l.slice(4, 8).map((x) => x.indexOf('12f12f12f1'))).size).toBe(1);
    expect(l.join('\n')).not.toContain('lint');
    expect(l[8]).toBe('PICKME (2)');
    expect(v.job?.id).toBe('j4');
  });

  it('120×40: in the main column beside the waiting requests, every row inside its column', () => {
    const v = view(jobsBoard(), ui(PM, { width: 120, height: 40 }));
    expect(v.layout).toBe('columns');
    const l = lines(v);
    for (const x of l) expect(stringWidth(x)).toBeLessThanOrEqual(120);
    const rows = l.filter((x) => /[✗✓▶○] /.test(x.slice(0, 3)));
    expect(rows).toHaveLength(4);
    // The main column is 74 wide: the separator of the side column follows every job row at the same place.
    for (const r of rows) expect(r.indexOf('│')).toBe(75);
    expect(l[3]).toMatch(/^JOBS \(5: 1 failed, 1 running, 1 queued\) .*│ WAITING \(2\)$/);
  });

  it('the attempt reads `try N` past the first, in a column of its own: rows keep their width and their SHA column at 80, 120 and 150', () => {
    const b = jobsBoard();
    const jobs = [job('a1', { attempt: 1 }), job('a2', { kind: 'retry', attempt: 2, state: 'failed' }), job('a3', { kind: 'retry', attempt: 12, name: 'a-very-long-job-name-that-will-not-fit' })];
    const board: StatusView = { ...b, pushes: [{ ...b.pushes[0]!, jobs }, b.pushes[1]!] };
    for (const width of [80, 120, 150]) {
      const v = view(board, ui(PM, { width, height: 30 }));
      const l = lines(v);
      for (const x of l) expect(stringWidth(x), x).toBeLessThanOrEqual(width);
      // The job rows, without the side column beside them (120, 150: columns).
      const rows = l.filter((x) => /^[ >›][✗✓▶○] /.test(x)).map((x) => x.split(' │ ')[0]!);
      expect(rows).toHaveLength(3);
      expect(rows[0], rows[0]).toMatch(/build +passed +12f12f12f1/);
      expect(rows[1]).toMatch(/retry +failed +try 2 12f12f12f1/);
      expect(rows[2]).toMatch(/retry +passed +try12 12f12f12f1/);
      expect(new Set(rows.map((x) => x.indexOf('12f12f12f1'))).size).toBe(1);
      expect(new Set(rows.map((x) => stringWidth(x.trimEnd())))).toEqual(new Set([stringWidth(rows[0]!.trimEnd())]));
    }
  });

  it('a job the runner could not run is marked `unrun` where a flaky pass says `flaky`, in the row\'s width', () => {
    const b = jobsBoard();
    const jobs = [job('u1', { state: 'failed', notRun: 'Buildbot: no builder "nope" on http://bb (pipeline.jobs[].builder)', startedAt: null })];
    const board: StatusView = { ...b, pushes: [{ ...b.pushes[0]!, jobs }, b.pushes[1]!] };
    const l = lines(view(board, ui(PM, { width: 80, height: 24 })));
    const row = l.find((x) => x.includes('✗ test'))!;
    expect(row).toMatch(/^.✗ test +build +failed +12f12f12f1 +- unrun$/);
    expect(stringWidth(row)).toBeLessThanOrEqual(80);
  });

  it('a failed job stands out (bold, error colour) and a flaky pass is marked', () => {
    const v = view(jobsBoard(), ui(PM, { width: 80, height: 24 }));
    const failed = v.lines.find((l) => l.key === 'job-j2')!;
    expect(failed.segs.some((s) => s.text.startsWith('failed') && s.tone === 'error' && s.bold)).toBe(true);
    expect(failed.segs.some((s) => s.text.startsWith('✗') && s.tone === 'error')).toBe(true);
    const flaky = v.lines.find((l) => l.key === 'job-j3')!;
    expect(flaky.segs.some((s) => s.text.includes('flaky') && s.tone === 'warn')).toBe(true);
    expect(v.lines.find((l) => l.key === 'job-j4')!.segs.some((s) => s.text.includes('running') && s.tone === 'warn')).toBe(true);
    // The heading says a job failed, in the error colour.
    expect(v.lines.find((l) => l.key === 's-jobs')!.segs[0]!.tone).toBe('error');
  });

  it('with the cursor in the jobs, all of them are listed and the cursor row is marked instead of a request', () => {
    const l = lines(view(jobsBoard(), ui(PM, { width: 80, height: 24, focus: 'jobs', jobCursor: 'j2' })));
    expect(l.filter((x) => /^[ >›][✗✓▶○] /.test(x))).toHaveLength(5);
    expect(l.find((x) => x.startsWith('>'))).toMatch(/^>✗ test +build +failed/);
    expect(l[3]).toBe('JOBS (5: 1 failed, 1 running, 1 queued)  L log · esc back');
  });

  it('a push without jobs shows no JOBS section and no job keys in the footer, as before', () => {
    const v = view(sampleBoard(), ui(PM, { width: 80, height: 24 }));
    expect(lines(v).join('\n')).not.toContain('JOBS');
    expect(lines(v).at(-1)).not.toMatch(/\bL log\b|\bJ jobs\b/);
    expect(v.keys.jobs).toMatchObject({ enabled: false, reason: 'push #3 has no jobs yet' });
  });

  it('job names are made safe and cut to their column', () => {
    const b = jobsBoard();
    const hostile = { ...b, pushes: [{ ...b.pushes[0]!, jobs: [job('h', { name: `evil\u001b[2J${'名'.repeat(40)}` })] }, b.pushes[1]!] };
    const l = lines(view(hostile, ui(PM, { width: 80, height: 24 })));
    const row = l.find((x) => x.includes('evil'))!;
    expect(row).not.toContain('\u001b');
    expect(stringWidth(row)).toBeLessThanOrEqual(80);
    expect(row).toMatch(/…/);
  });
});

describe('a window of one or two rows', () => {
  const lines: Line[] = Array.from({ length: 6 }, (_, i) => ({ key: `job-${i}`, segs: [{ text: `job ${i}` }] }));
  const texts = (ls: readonly Line[]) => ls.map((l) => l.segs.map((s) => s.text).join('').trim());
  it('keeps the cursor row on screen: the marks give way to it', () => {
    for (const at of [0, 2, 5]) expect(texts(windowAround(lines, `job-${at}`, 1))).toEqual([`job ${at}`]);
    expect(texts(windowAround(lines, 'job-0', 2))).toEqual(['job 0', '↓ 5 more lines']);
    expect(texts(windowAround(lines, 'job-2', 2))).toEqual(['job 2', '↓ 3 more lines']);
    expect(texts(windowAround(lines, 'job-5', 2))).toEqual(['↑ 5 more lines', 'job 5']);
    // Three rows or more: as before, a mark at each cut end, the cursor between them.
    expect(texts(windowAround(lines, 'job-2', 3))).toEqual(['↑ 2 more lines', 'job 2', '↓ 3 more lines']);
  });
});

describe('the log pane', () => {
  it('shows the job and the end of the log that fits while following; scrolled, from the chosen line', () => {
    const text = Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n') + '\n';
    const follow = jobLogPane(logMode({ text }), jobsBoard().pushes[0]!.jobs![3]!, 80, 10, NOW);
    const t = follow.lines.map((l) => l.segs.map((s) => s.text).join(''));
    expect(follow.total).toBe(50);
    expect(t[0]).toBe('▶ Job j4 e2e-browser-suite · running 2m05s · build · 12f12f12f1 · push #3');
    // A culprit search's run says which candidate it tests.
    const run = job('j6', { kind: 'bisect', state: 'running', finishedAt: null, candidate: 'master + #1 … #4 (4)' });
    expect(jobLogPane(logMode({ job: 'j6', text }), run, 120, 10, NOW).lines[0]!.segs.map((s) => s.text).join('')).toContain(' · bisect master + #1 … #4 (4) · 12f12f12f1 · push #3');
    expect(t[1]).toBe('● following live');
    expect(t).toHaveLength(10);
    expect(t.at(-1)).toBe('line 49');
    expect(t[2]).toBe('  ↑ 43 earlier lines (k scrolls up)');
    const scrolled = jobLogPane(logMode({ text, scroll: 5 }), null, 80, 10, NOW).lines.map((l) => l.segs.map((s) => s.text).join(''));
    expect(scrolled[3]).toBe('line 6');
    expect(scrolled.at(-1)).toBe('  ↓ 38 more lines (G follows the end)');
  });

  it('wraps long lines to the width, keeps what a carriage return drew last, strips escapes', () => {
    expect(logRows('a'.repeat(170) + '\n', 80)).toEqual(['a'.repeat(80), 'a'.repeat(80), 'a'.repeat(10)]);
    expect(logRows('progress 10%\rprogress 100%\r\nok\u001b[32m green\u001b[0m\n', 80)).toEqual(['progress 100%', 'ok green']);
    for (const r of logRows(`${'名'.repeat(50)}\n`, 80)) expect(stringWidth(r)).toBeLessThanOrEqual(80);
  });

  it('says how the log ended, and the exit code and reason from the job detail, the exit code once', () => {
    const d: JobDetail = { ...jobsBoard().pushes[0]!.jobs![1]!, push: 3, runner: 'local', command: ['npm', 'test'], builder: null, exitCode: 1, reason: 'exit code 1', log: null };
    const pane = (detail: JobDetail) => jobLogPane(logMode({ job: 'j2', ended: true, detail }), null, 80, 10, NOW).lines.map((l) => l.segs.map((s) => s.text).join(''));
    const t = pane(d);
    // The local runner's reason for a plain failure is its exit code: the header said it twice.
    expect(t[1]).toBe('■ log complete · exit code 1 · npm test');
    expect(t[2]).toBe('  (the job wrote nothing)');
    // A reason that says more stays, before the exit code.
    expect(pane({ ...d, exitCode: 143, reason: 'timed out after 60 s' })[1]).toBe('■ log complete · timed out after 60 s · exit code 143 · npm test');
    expect(pane({ ...d, exitCode: null, reason: 'cannot start npm: ENOENT' })[1]).toBe('■ log complete · cannot start npm: ENOENT · npm test');
  });

  it("an external CI's job: the pane points to the CI's run page, whole, instead of the server's refusal as an error", () => {
    const url = `https://ci.example.com/runs/${'9'.repeat(90)}`;
    const failed = job('j2', { state: 'failed', runner: 'external', url });
    const detail: JobDetail = { ...failed, push: 3, runner: 'external', command: null, builder: null, exitCode: null, reason: 'reported failed by ci-bot', log: '/api/jobs/j2/log' };
    const refusal = 'job j2 (test) runs on an external CI: its log is there (https://ci.example.com/runs/9…) [job-log-missing]';
    const t = jobLogPane(logMode({ job: 'j2', ended: true, error: refusal, detail }), failed, 80, 10, NOW).lines.map((l) => l.segs.map((s) => s.text).join(''));
    expect(t[1]).toBe('↗ log on the external CI · reported failed by ci-bot');
    expect(t.slice(2).join('')).toBe(`  its run page: ${url}`);
    expect(t.slice(1).join('\n')).not.toMatch(/job-log-missing|✗|wrote nothing/);
    // Before the CI reported a page (or a run at all): where the log will be.
    const queued = job('j5', { state: 'queued', runner: 'external', startedAt: null, finishedAt: null });
    const waiting = jobLogPane(logMode({ job: 'j5', ended: true, error: refusal }), queued, 80, 10, NOW).lines.map((l) => l.segs.map((s) => s.text).join(''));
    expect(waiting.slice(1)).toEqual(['↗ log on the external CI', '  waiting for the CI to report (the CI adds one with job report --url)']);
  });

  it('keeps only the end of a huge log, in whole lines, and drops chunks of a pane already closed', () => {
    let s = apply(ui(PM), { type: 'open-job-log', job: 'j4', push: 3 });
    expect(s.mode).toMatchObject({ kind: 'job-log', session: 1, text: '' });
    const big = Array.from({ length: 30_000 }, (_, i) => `line ${i}`).join('\n');
    s = apply(s, { type: 'job-log-chunk', session: 1, text: big });
    const kept = (s.mode as JobLogMode).text;
    expect(kept.length).toBeLessThanOrEqual(LOG_KEEP_CHARS);
    expect(kept).toMatch(/^line \d+\n/);
    expect(kept.endsWith('line 29999')).toBe(true);
    // Reopened: the first pane's stream is a different session.
    s = apply(s, { type: 'mode', mode: { kind: 'board' } }, { type: 'open-job-log', job: 'j4', push: 3 }, { type: 'job-log-chunk', session: 1, text: 'late' });
    expect(s.mode).toMatchObject({ session: 2, text: '' });
    s = apply(s, { type: 'job-log-chunk', session: 2, text: 'new\n' }, { type: 'job-log-end', session: 1, error: 'old' });
    expect(s.mode).toMatchObject({ text: 'new\n', ended: false, error: null });
  });
});

describe('job keys', () => {
  it('J moves the cursor into the jobs, on the one that needs attention; j/k move; esc and J go back', () => {
    // The cursor is kept by id, with where its row is (the row that takes its place if the job goes).
    expect(press('J', ui(PM)).actions).toEqual([{ type: 'focus', focus: 'jobs' }, { type: 'job-cursor', id: 'j4', index: 3 }]);
    const inJobs = ui(PM, { focus: 'jobs', jobCursor: 'j4' });
    expect(press('j', inJobs).actions).toEqual([{ type: 'job-cursor', id: 'j5', index: 4 }]);
    expect(press('k', inJobs).actions).toEqual([{ type: 'job-cursor', id: 'j3', index: 2 }]);
    expect(press('g', inJobs).actions).toEqual([{ type: 'job-cursor', id: 'j1', index: 0 }]);
    expect(press('', inJobs, jobsBoard(), { escape: true }).actions).toEqual([{ type: 'focus', focus: 'requests' }]);
    expect(press('J', inJobs).actions).toEqual([{ type: 'focus', focus: 'requests' }]);
    // Request keys wait: the request cursor is not shown.
    expect(press('a', inJobs).actions).toEqual([{ type: 'status', status: { text: 'accept: the cursor is on the jobs; J or esc goes back to the requests', tone: 'error' } }]);
    expect(press('J', ui(PM), sampleBoard()).actions).toEqual([{ type: 'status', status: { text: 'jobs: push #3 has no jobs yet', tone: 'error' } }]);
  });

  it('L (or enter in the jobs) opens the log pane of the chosen job; esc closes it', () => {
    expect(press('L', ui(PM)).actions).toEqual([{ type: 'open-job-log', job: 'j4', push: 3 }]);
    expect(press('', ui(PM, { focus: 'jobs', jobCursor: 'j2' }), jobsBoard(), { return: true }).actions).toEqual([{ type: 'open-job-log', job: 'j2', push: 3 }]);
    const s = apply(ui(PM), { type: 'open-job-log', job: 'j2', push: 3 });
    expect(press('', s, jobsBoard(), { escape: true }).actions).toEqual([{ type: 'mode', mode: { kind: 'board' } }]);
    expect(press('q', s).actions).toEqual([{ type: 'mode', mode: { kind: 'board' } }]);
    expect(lines(view(jobsBoard(), s)).at(-1)).toBe('j/k scroll · G follow · R retry · X cancel job · esc/q close');
    expect(press('L', ui(PM), sampleBoard()).actions).toEqual([{ type: 'status', status: { text: 'log: push #3 has no jobs yet', tone: 'error' } }]);
  });

  it('L from the requests follows the job that needs attention now: after a rebuild it opens the new run, not the one it opened before', () => {
    const opened = apply(ui(PM), { type: 'open-job-log', job: 'j4', push: 3 }, { type: 'mode', mode: { kind: 'board' } });
    const b = jobsBoard();
    const rebuilt: StatusView = { ...b, pushes: [{ ...b.pushes[0]!, jobs: [...b.pushes[0]!.jobs!.map((j) => (j.id === 'j4' ? { ...j, state: 'passed' as const } : j)), job('j6', { state: 'running', finishedAt: null })] }, b.pushes[1]!] };
    expect(press('L', opened, rebuilt).actions).toEqual([{ type: 'open-job-log', job: 'j6', push: 3 }]);
    // Chosen in the jobs list (J, then enter), the job stays chosen.
    const chosen = apply(ui(PM, { focus: 'jobs', jobCursor: 'j2' }), { type: 'open-job-log', job: 'j2', push: 3 }, { type: 'mode', mode: { kind: 'board' } });
    expect(chosen.jobCursor).toBe('j2');
  });

  it('scrolls the log: k stops following, G follows the end again, scrolling to the end follows too', () => {
    const text = Array.from({ length: 100 }, (_, i) => `l${i}`).join('\n');
    const s = apply(ui(PM), { type: 'open-job-log', job: 'j4', push: 3 }, { type: 'job-log-chunk', session: 1, text });
    const v = view(jobsBoard(), s);
    const last = 100 - v.logHeight;
    expect(press('k', s).actions).toEqual([{ type: 'log-scroll', scroll: last - 1 }]);
    expect(press('g', s).actions).toEqual([{ type: 'log-scroll', scroll: 0 }]);
    const up = apply(s, { type: 'log-scroll', scroll: last - 1 });
    expect(press('j', up).actions).toEqual([{ type: 'log-scroll', scroll: null }]);
    expect(press('G', apply(s, { type: 'log-scroll', scroll: 3 })).actions).toEqual([{ type: 'log-scroll', scroll: null }]);
  });

  it('R retries a failed job and X cancels a running one, from the jobs and from the pane', () => {
    expect(press('R', ui(PM, { focus: 'jobs', jobCursor: 'j2' })).send).toEqual({ label: 'retry job j2 (test)', commands: [{ type: 'RetryJob', job: 'j2' }] });
    expect(press('X', ui(PM)).send).toEqual({ label: 'cancel job j4 (e2e-browser-suite)', commands: [{ type: 'CancelJob', job: 'j4' }] });
    const pane = apply(ui(PM), { type: 'open-job-log', job: 'j2', push: 3 });
    expect(press('R', pane).send?.commands).toEqual([{ type: 'RetryJob', job: 'j2' }]);
    expect(press('X', apply(ui(PM), { type: 'open-job-log', job: 'j5', push: 3 })).send?.commands).toEqual([{ type: 'CancelJob', job: 'j5' }]);
  });

  it('R and X say why not when the job is in the wrong state or the user does not drive the push', () => {
    expect(press('R', ui(PM)).actions).toEqual([{ type: 'status', status: { text: 'retry: job j4 (e2e-browser-suite) is running: only a failed, cancelled or interrupted job is retried', tone: 'error' } }]);
    expect(press('X', ui(PM, { focus: 'jobs', jobCursor: 'j1' })).send).toBeUndefined();
    expect(press('X', ui(ALICE)).actions).toEqual([{ type: 'status', status: { text: 'cancel job: alice is not the pushmaster of push 3 (pm is)', tone: 'error' } }]);
    const pane = apply(ui(PM), { type: 'open-job-log', job: 'j1', push: 3 });
    expect(press('R', pane).actions[0]).toMatchObject({ type: 'status', status: { tone: 'error' } });
    expect(press('R', pane).send).toBeUndefined();
    // A run of the culprit search: the search re-runs candidates itself (the server refuses it: bisect-run).
    const b = jobsBoard();
    const run = job('j6', { kind: 'bisect', state: 'failed', candidate: '#12 alone' });
    const bisection = { state: 'running' as const, job: 'j2', name: 'test', requests: 4, sizes: [4, 2, 1], runs: 2, summary: 'bisecting push 3 (test): 4 → 2 → 1 request, 2 runs', startedAt: NOW.toISOString(), candidates: [] };
    const searching: StatusView = { ...b, pushes: [{ ...b.pushes[0]!, jobs: [...b.pushes[0]!.jobs!, run], bisection }, b.pushes[1]!] };
    const onRun = press('R', ui(PM, { focus: 'jobs', jobCursor: 'j6' }), searching);
    expect(onRun.send).toBeUndefined();
    expect(onRun.actions).toEqual([{ type: 'status', status: { text: 'retry: job j6 is a run of the culprit search, which runs its candidates again itself (X on job j2 stops it)', tone: 'error' } }]);
    const ended: StatusView = { ...searching, pushes: [{ ...searching.pushes[0]!, bisection: { ...bisection, state: 'culprit' as const } }, b.pushes[1]!] };
    expect(press('R', ui(PM, { focus: 'jobs', jobCursor: 'j6' }), ended).actions[0]).toMatchObject({ status: { text: expect.stringContaining('was a run of a culprit search that ended: its result gates nothing') } });
    // The help says the same.
    const help = lines(view(jobsBoard(), ui(ALICE, { mode: { kind: 'help', scroll: 0 }, height: 80 }))).join('\n');
    expect(help).toMatch(/R +retry the job: run it again on the same SHA .* — n\/a: job j4\s+\(e2e-browser-suite\) is running/s);
    expect(help).toMatch(/J +move the cursor into the push's jobs/);
    expect(help).toMatch(/L +open the job's log and follow it live/);
  });

  it('the footer offers the job keys while the push has jobs, and shows unavailable ones dim', () => {
    const footer = lines(view(jobsBoard(), ui(PM, { width: 120 }))).at(-1)!;
    expect(footer).toMatch(/L log {2}X cancel job {2}J jobs/);
    const inJobs = lines(view(jobsBoard(), ui(PM, { width: 80, height: 24, focus: 'jobs', jobCursor: 'j2' }))).at(-1)!;
    expect(inJobs.startsWith('? keys  q quit  L log  R retry  J jobs')).toBe(true);
    expect(stringWidth(inJobs)).toBeLessThanOrEqual(80);
  });

  it("tab to another push clears the last answer, which was about the push left", () => {
    const s = apply(ui(PM), { type: 'status', status: { text: 'cancel job j4 (e2e-browser-suite): done', tone: 'ok' } }, { type: 'push-index', index: 1 });
    expect(s.status).toBeNull();
  });

  it('from the requests, a chosen job older than the newest four is listed, marked, so R and X never act on a row not on screen', () => {
    const v = view(jobsBoard(), ui(PM, { width: 80, height: 24, jobCursor: 'j1' }));
    const l = lines(v);
    expect(v.job?.id).toBe('j1');
    expect(l.slice(4, 8).map((x) => x.slice(0, 22).trimEnd())).toEqual(['›✓ lint', ' ✓ test', ' ▶ e2e-browser-suite', ' ○ deploy-stage']);
  });

  it('tab to another push leaves the jobs', () => {
    const s = apply(ui(PM, { focus: 'jobs', jobCursor: 'j2' }), { type: 'push-index', index: 1 });
    expect(s).toMatchObject({ focus: 'requests', jobCursor: null });
  });
});
