// The dashboard (Ink, ink-testing-library) against a real server whose pipeline runs a real failing job
// (local runner): R retries it and the status line names the new job and how to follow it (the CLI's
// sentence for the same answer, with the dashboard's key), the new job's row says `try 2`, L opens its
// log, and the pane says how it ended with the exit code once.
import { rm } from 'node:fs/promises';
import { render } from 'ink-testing-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../server/config/config.js';
import type { StatusJob } from '../../state/wire.js';
import { Dashboard } from '../../tui/dashboard/app.js';
import { gitOk, startFixture, type Fixture } from '../helpers/server-fixture.js';
import { until } from '../helpers/until.js';
import { waitFor } from './fixtures.js';

const CONFIG = [
  'pipeline:',
  // Fails at once, with what it says on its log; no automatic retry or search: R is the retry here.
  '  retries: 0',
  '  onFailure: stop',
  '  jobs:',
  '    - { name: test, on: build, run: [sh, -c, "echo checking; exit 1"], timeoutSec: 60 }',
  '',
].join('\n');

describe('job retry from the dashboard, on a real server', () => {
  let f: Fixture;

  beforeAll(async () => {
    f = await startFixture({ config: parseConfig(CONFIG, 'dashboard-live-jobs.yaml') });
    const pm = f.client('pm');
    await pm.command({ type: 'OpenPush', title: 'retry train', pushType: 'regular' });
    const work = await f.clone('alice');
    await f.commit(work, 'change', { 'change.txt': 'a change\n' });
    await gitOk(work, ['push', '-q', 'origin', 'change:refs/pushreq/change', '-o', 'title=A change']);
    await pm.command({ type: 'AcceptRequests', push: 1, requests: [1] });
    await until('job 1.1 to fail', async () => (await pm.board()).pushes[0]?.jobs?.find((j: StatusJob) => j.id === '1.1' && j.state === 'failed'), 30_000);
  }, 60_000);

  afterAll(async () => {
    await f?.close();
    if (f) await rm(f.dir, { recursive: true, force: true });
  });

  it('R names the new job and says L follows it; its row says try 2; L opens its log, which ends with the exit code said once', async () => {
    const r = render(<Dashboard client={f.client('pm')} width={120} height={30} color={false} timing={{ debounceMs: 5, settleMs: 20 }} />);
    try {
      const frame = () => r.lastFrame() ?? '';
      const wait = (ok: (s: string) => boolean) => waitFor(frame, ok, 20_000);
      await wait((s) => s.includes('● live') && /✗ test +build +failed/.test(s));
      r.stdin.write('R');
      const answered = await wait((s) => s.includes('job 1.2 queued'));
      // The CLI says `follow it: pushmanager job log 1.2 --follow` for the same answer; here the key does it.
      expect(answered).toMatch(/job 1\.2 queued: test again on [0-9a-f]{10} \(attempt 2\); L follows its log/);
      expect(answered).not.toContain('the new attempt is listed under JOBS');
      // The new job is the one L acts on (marked ›), shown as the second try, not `#2`.
      const row = await wait((s) => /^›. test +retry +\S+ +try 2 [0-9a-f]{10}/m.test(s));
      expect(row).not.toMatch(/ #[12] +[0-9a-f]{10}/);
      r.stdin.write('L');
      // The header follows the board, which hears of the job's end a moment after the log stream does.
      const pane = await wait((s) => /Job 1\.2 test · failed /.test(s) && s.includes('■ log complete') && s.includes('exit code 1'));
      expect(pane).toMatch(/Job 1\.2 test · failed .*· retry, attempt 2 ·/);
      expect(pane).toContain('■ log complete · exit code 1 · sh -c echo checking; exit 1');
      expect(pane).not.toMatch(/exit code 1 · exit/);
      expect(pane).toContain('checking');
    } finally {
      r.unmount();
    }
  }, 60_000);
});
