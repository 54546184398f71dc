// The log pane rendered by Ink (ink-testing-library) following a job's log: lines appear as the fake
// stream yields them, the pane says when the log is complete, esc closes it and ends the stream, X
// sends the cancel through the command path, and a failing stream says why.
import { showDashboard } from './show-dashboard.js';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClient, jobsBoard, now, waitFor } from './fixtures.js';

const ESC = '\u001b';

const mounted: (() => void)[] = [];
afterEach(() => {
  for (const u of mounted.splice(0)) u();
});

const show = (client: FakeClient, size = { width: 80, height: 24 }) => showDashboard(client, size, mounted);

describe('the job log pane', () => {
  it('follows the log: each chunk the stream yields is on screen, the newest at the bottom; esc closes and stops the stream', async () => {
    const client = new FakeClient(jobsBoard());
    const { type, until, frame } = show(client);
    await until((f) => f.includes('● live') && f.includes('JOBS (5'));
    await type('L');
    await until((f) => f.includes('Job j4 e2e-browser-suite') && f.includes('waiting for output…') && f.includes('● following live'));
    const log = client.log('j4');
    log.write('starting\n> running 12 suites\n');
    await until((f) => f.includes('> running 12 suites'));
    expect(frame()).not.toContain('waiting for output');
    // A chunk may end mid-line: the line is completed by the next one.
    log.write('suite 1 ok\nsuite 2 o');
    await until((f) => f.includes('suite 2 o'));
    log.write('k\n');
    await until((f) => f.includes('suite 2 ok'));
    for (let i = 3; i <= 40; i++) log.write(`suite ${i} ok\n`);
    const f = await until((x) => x.includes('suite 40 ok'));
    const rows = f.split('\n');
    // Following: the newest line is the last of the body (above the status line and the footer).
    expect(rows.at(-3)).toBe('suite 40 ok');
    expect(f).toMatch(/↑ \d+ earlier lines/);
    expect(f).not.toContain('starting');
    expect(rows.every((x) => x.length <= 80)).toBe(true);
    // The job passes: the board says so (a commit event), the stream ends, the detail has the exit code.
    const b = jobsBoard();
    const finished = new Date(now().getTime() + 5000).toISOString();
    client.view = { ...b, pushes: [{ ...b.pushes[0]!, jobs: b.pushes[0]!.jobs!.map((j) => (j.id === 'j4' ? { ...j, state: 'passed' as const, finishedAt: finished } : j)) }, b.pushes[1]!] };
    client.send('commit', {});
    log.end();
    const done = await until((x) => x.includes('■ log complete · exit code 0 · npm test') && x.includes('✓ Job j4 e2e-browser-suite · passed 2m10s'));
    expect(done).toContain('suite 40 ok');
    expect(client.logOpens).toBe(1);
    await type(ESC);
    await until((x) => x.includes('JOBS (5') && !x.includes('log complete'));
  });

  it('closing the pane while the job still runs aborts the stream; reopening starts a new one', async () => {
    const client = new FakeClient(jobsBoard());
    const { type, until } = show(client);
    await until((f) => f.includes('JOBS (5'));
    await type('L');
    await until((f) => f.includes('● following live'));
    client.log('j4').write('one\n');
    await until((f) => f.includes('one'));
    await type(ESC);
    await until((f) => f.includes('JOBS (5'));
    await waitFor(() => String(client.log('j4').aborted), (n) => n === '1');
    await type('L');
    // The new stream starts from the beginning of the log, as the server sends it.
    await until((f) => f.includes('● following live') && f.includes('one'));
    expect(client.logOpens).toBe(2);
  });

  it('X in the pane cancels the job through POST /api/commands; the status line says so', async () => {
    const client = new FakeClient(jobsBoard(), { name: 'pm', pushmaster: true }, () => [{ type: 'JobCancelled' }]);
    const { type, until } = show(client);
    await until((f) => f.includes('JOBS (5'));
    await type('L');
    await until((f) => f.includes('● following live'));
    await type('X');
    await until((f) => f.includes('cancel job j4 (e2e-browser-suite): done'));
    expect(client.sent).toEqual([{ type: 'CancelJob', job: 'j4' }]);
  });

  it('a job the server does not know: the pane says why instead of waiting forever', async () => {
    const client = new FakeClient(jobsBoard());
    client.followJobLog = async function* () {
      yield* [];
      throw new Error('no job j4');
    };
    const { type, until } = show(client);
    await until((f) => f.includes('JOBS (5'));
    await type('L');
    await until((f) => f.includes('✗ no job j4'));
  });
});
