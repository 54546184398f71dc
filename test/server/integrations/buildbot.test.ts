// Buildbot client (build status of a SHA). What a real master can answer is asked of one: Debian's
// Buildbot 3.7 master and worker (test/helpers/servers/buildbot.ts), with changes recorded through its
// base change hook and builds its schedulers start for them. Without buildbot the real-master tests
// skip locally with the reason and fail in CI (CI=true).
// The rest stays against an HTTP server speaking Buildbot's REST API v2 shapes, for what a real master
// cannot be made to do here: a build in RETRY (5) or EXCEPTION (4), a builder rebuilt green after a
// failure on one change, an answer of the wrong shape; and for what needs every request seen (the
// order of requests, the cache and its expiry).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuildbotClient } from '../../../server/integrations/buildbot.js';
import { closedPort, startRecordingServer, type RecordingServer } from './recording-server.js';
import { findBuildbot, startBuildbot, type BuildbotServer } from '../../helpers/servers/buildbot.js';

const PASS = 'a'.repeat(40), FAIL = 'b'.repeat(40), RUNNING = 'c'.repeat(40), UNSEEN = 'd'.repeat(40), ODD = 'e'.repeat(40);
const build = (buildid: number, builderid: number, complete: boolean, results: number | null) => ({ buildid, builderid, number: buildid, complete, results, state_string: complete ? 'finished' : 'building' });
const changesFor: Record<string, number[]> = { [PASS]: [1], [FAIL]: [2, 3], [RUNNING]: [4], [UNSEEN]: [], [ODD]: [5] };
const buildsOf: Record<number, unknown[]> = {
  1: [build(1, 1, true, 0), build(2, 2, true, 1), build(3, 3, true, 2), build(4, 3, true, 0)], // builder 3 failed, then passed on rebuild
  2: [build(5, 1, true, 2), build(6, 2, true, 0)],
  3: [build(7, 3, true, 4)], // an exception on the same SHA seen through a second change
  4: [build(8, 1, true, 0), build(9, 2, false, null), build(10, 3, true, 5)],
};

let bb: RecordingServer;
beforeAll(async () => {
  bb = await startRecordingServer((r) => {
    const u = new URL(r.path, 'http://x');
    if (u.pathname === '/api/v2/changes') {
      const ids = changesFor[u.searchParams.get('revision') ?? ''] ?? [];
      return { status: 200, json: { changes: ids.map((changeid) => ({ changeid, revision: u.searchParams.get('revision'), branch: 'master' })), meta: { total: ids.length } } };
    }
    const m = /^\/api\/v2\/changes\/(\d+)\/builds$/.exec(u.pathname);
    if (m) return Number(m[1]) === 5 ? { status: 200, json: { nope: [] } } : { status: 200, json: { builds: buildsOf[Number(m[1])] ?? [], meta: {} } };
    if (u.pathname === '/api/v2/builders') return { status: 200, json: { builders: [{ builderid: 1, name: 'unit' }, { builderid: 2, name: 'lint' }, { builderid: 3, name: 'integration' }], meta: { total: 3 } } };
    return { status: 404, text: 'not found' };
  });
});
afterAll(() => bb.close());

const found = findBuildbot();

describe.skipIf(!found.ok)(`BuildbotClient on a real Buildbot master${found.ok ? '' : ` (skipped: ${found.reason})`}`, () => {
  const GREEN = '1'.repeat(40), RED = '2'.repeat(40), SLOW = '3'.repeat(40), NEVER = '4'.repeat(40);
  let real: BuildbotServer;
  beforeAll(async () => {
    real = await startBuildbot();
    // As a VCS poller would: GREEN on branch green (builders pass, lint); RED on red (pass, fail) and
    // also on green (two changes of one SHA); SLOW on slow (pass, and slow, which keeps running).
    await real.addChange({ revision: GREEN, branch: 'green' });
    await real.addChange({ revision: RED, branch: 'green' });
    await real.addChange({ revision: RED, branch: 'red' });
    await real.addChange({ revision: SLOW, branch: 'slow' });
  });
  afterAll(async () => {
    if (!real) return;
    // Stop the build still running, so the worker leaves no sleeping step behind.
    const open = (await (await fetch(`${real.url}/api/v2/builds?complete=false`)).json()) as { builds: { buildid: number }[] };
    for (const b of open.builds) await fetch(`${real.url}/api/v2/builds/${b.buildid}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ id: 1, jsonrpc: '2.0', method: 'stop', params: { reason: 'test over' } }) });
    await real.dispose();
  });

  /** The summary once Buildbot's builds for the SHA have got as far as `until` says (a fresh client each time: no cache). */
  const settled = async (sha: string, until: (s: Awaited<ReturnType<BuildbotClient['status']>>) => boolean) => {
    const end = Date.now() + 30_000;
    for (;;) {
      const s = await new BuildbotClient({ url: `${real.url}/` }).status(sha);
      if (until(s) || Date.now() > end) return s;
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const changeIds = async (sha: string) => ((await (await fetch(`${real.url}/api/v2/changes?revision=${sha}`)).json()) as { changes: { changeid: number }[] }).changes.map((c) => c.changeid);

  it('all latest builds passed', async () => {
    const s = await settled(GREEN, (x) => x.state === 'pass');
    expect(s).toMatchObject({ state: 'pass', failedBuilders: [], counts: { passed: 2, failed: 0, running: 0 } });
    expect(s.link).toBe(`${real.url}/#/changes/${Math.max(...(await changeIds(GREEN)))}`);
    expect(s.error).toBeUndefined();
  });

  it('failures across two changes of one SHA: the failed builder is named, the newest change linked', async () => {
    const s = await settled(RED, (x) => x.counts.running === 0 && x.counts.passed + x.counts.failed === 3);
    expect(s).toMatchObject({ state: 'fail', failedBuilders: ['fail'], counts: { passed: 2, failed: 1, running: 0 } });
    const ids = await changeIds(RED);
    expect(ids.length).toBe(2);
    expect(s.link).toBe(`${real.url}/#/changes/${Math.max(...ids)}`);
  });

  it('one build finished, one still building', async () => {
    const s = await settled(SLOW, (x) => x.counts.passed === 1 && x.counts.running === 1);
    expect(s).toMatchObject({ state: 'running', failedBuilders: [], counts: { passed: 1, failed: 0, running: 1 } });
  });

  it('a SHA Buildbot has not seen', async () => {
    const s = await new BuildbotClient({ url: real.url }).status(NEVER);
    expect(s).toMatchObject({ state: 'unknown', failedBuilders: [] });
    expect(s.link).toBe(`${real.url}/#/changes`);
    expect(s.error).toBeUndefined();
  });

  it('a wrong base URL gives unknown with the reason', async () => {
    expect(await new BuildbotClient({ url: `${real.url}/nothing-here` }).status(GREEN)).toMatchObject({ state: 'unknown', errorCode: 'integration-not-found' });
  });
});

describe('BuildbotClient against a fake of the REST API (cases a real master cannot be made to produce here)', () => {
  it.each([
    ['a builder that failed, then passed on a rebuild, counts as green', PASS, { state: 'pass', failedBuilders: [], counts: { passed: 3, failed: 0, running: 0 } }, '/#/changes/1'],
    ['an EXCEPTION (4) on one change of the SHA is a failure', FAIL, { state: 'fail', failedBuilders: ['integration', 'unit'], counts: { passed: 1, failed: 2, running: 0 } }, '/#/changes/3'],
    ['one building, one in RETRY (5)', RUNNING, { state: 'running', failedBuilders: [], counts: { passed: 1, failed: 0, running: 2 } }, '/#/changes/4'],
  ])('%s', async (_name, sha, want, link) => {
    const c = new BuildbotClient({ url: `${bb.url}/` });
    const s = await c.status(sha);
    expect(s).toMatchObject(want);
    expect(s.link).toBe(`${bb.url}${link}`);
    expect(s.error).toBeUndefined();
  });

  it('asks Buildbot by revision, then per change, then builder names', async () => {
    bb.requests.length = 0;
    await new BuildbotClient({ url: bb.url }).status(FAIL);
    expect(bb.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`GET /api/v2/changes?revision=${FAIL}`, 'GET /api/v2/changes/3/builds', 'GET /api/v2/changes/2/builds', 'GET /api/v2/builders']);
  });

  it('caches per SHA for the TTL (injected clock) and shares concurrent lookups', async () => {
    let now = 1_000;
    const c = new BuildbotClient({ url: bb.url, ttlMs: 30_000, now: () => now });
    bb.requests.length = 0;
    const [a, b] = await Promise.all([c.status(PASS), c.status(PASS)]);
    expect(a).toBe(b);
    const asked = bb.requests.length;
    now += 29_999;
    await c.status(PASS);
    expect(bb.requests.length).toBe(asked);
    now += 2;
    await c.status(PASS);
    expect(bb.requests.filter((r) => r.path.startsWith('/api/v2/changes?')).length).toBe(2);
    c.forget(PASS);
    await c.status(PASS);
    expect(bb.requests.filter((r) => r.path.startsWith('/api/v2/changes?')).length).toBe(3);
  });

  it('a Buildbot that is down, slow or odd gives unknown with the reason, never an exception', async () => {
    let now = 0;
    const down = new BuildbotClient({ url: `http://127.0.0.1:${await closedPort()}`, now: () => now, errorTtlMs: 5_000 });
    const s = await down.status(PASS);
    expect(s).toMatchObject({ state: 'unknown', errorCode: 'integration-unreachable', failedBuilders: [] });
    expect(s.error).toMatch(/cannot reach/);
    expect(await down.status(PASS)).toBe(s); // the failure is reused briefly, not retried at once
    now += 5_001;
    expect(await down.status(PASS)).not.toBe(s);

    expect(await new BuildbotClient({ url: bb.url }).status(ODD)).toMatchObject({ state: 'unknown', errorCode: 'integration-bad-response' });
    expect(await new BuildbotClient({ url: bb.url }).status('not-a-sha')).toMatchObject({ state: 'unknown', errorCode: 'integration-bad-argument' });
  });
});
