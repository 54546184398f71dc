// Buildbot client against an HTTP server speaking Buildbot's REST API v2 shapes
// (`{"changes": [...], "meta": {"total": n}}`, `/changes/{id}/builds`, `/builders`). Debian's
// `buildbot` 3.7 package was tried: it installs, but its master refuses to start without
// `buildbot-www`, which Debian does not package, and the REST API is served by that web service
// — so a real master cannot answer here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuildbotClient } from '../../../server/integrations/buildbot.js';
import { closedPort, startRecordingServer, type RecordingServer } from './recording-server.js';

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

describe('BuildbotClient', () => {
  it.each([
    ['all latest builds passed (a failed build rebuilt green counts as green)', PASS, { state: 'pass', failedBuilders: [], counts: { passed: 3, failed: 0, running: 0 } }, '/#/changes/1'],
    ['failures across two changes of one SHA', FAIL, { state: 'fail', failedBuilders: ['integration', 'unit'], counts: { passed: 1, failed: 2, running: 0 } }, '/#/changes/3'],
    ['one building, one retrying', RUNNING, { state: 'running', failedBuilders: [], counts: { passed: 1, failed: 0, running: 2 } }, '/#/changes/4'],
    ['a SHA Buildbot has not seen', UNSEEN, { state: 'unknown', failedBuilders: [] }, '/#/changes'],
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
    expect(await new BuildbotClient({ url: `${bb.url}/nothing-here` }).status(PASS)).toMatchObject({ state: 'unknown', errorCode: 'integration-not-found' });
  });
});
