// Reviewboard client against an HTTP server speaking Reviewboard's Web API 2.0 shapes
// (`{"stat": "ok", "review_request": {...}}`, `{"stat": "fail", "err": {...}}`). A real
// Reviewboard (Django + a database) cannot be installed on this machine, so the test server
// records what it received and the test asserts the exact requests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IntegrationError } from '../../../server/integrations/integration-error.js';
import { ReviewboardClient } from '../../../server/integrations/reviewboard.js';
import { closedPort, startRecordingServer, type RecordingServer } from './recording-server.js';

let rb: RecordingServer;
beforeAll(async () => {
  rb = await startRecordingServer((r) => {
    const m = /^\/api\/review-requests\/(\d+)\/$/.exec(r.path);
    if (!m) return { status: 404, json: { stat: 'fail', err: { code: 100, msg: 'Object does not exist' } } };
    if (r.headers.authorization !== undefined && r.headers.authorization !== 'token rb-token-1') return { status: 401, json: { stat: 'fail', err: { code: 104, msg: 'Login failed' } } };
    if (m[1] === '999') return { status: 404, json: { stat: 'fail', err: { code: 100, msg: 'Object does not exist' } } };
    if (m[1] === '777') return { status: 200, text: '<html>proxy login</html>' };
    if (m[1] === '555') return { status: 200, json: { stat: 'ok' }, delayMs: 500 };
    const status = r.method === 'PUT' ? new URLSearchParams(r.body).get('status') : 'pending';
    return { status: 200, json: { stat: 'ok', review_request: { id: Number(m[1]), status, ship_it_count: 2, links: {} } } };
  });
});
afterAll(() => rb.close());

describe('ReviewboardClient', () => {
  it('links a review as https://RB/r/ID', () => {
    const c = new ReviewboardClient({ url: 'https://reviews.example.com/' });
    expect(c.reviewUrl(1234)).toBe('https://reviews.example.com/r/1234');
    expect(c.reviewUrl('42')).toBe('https://reviews.example.com/r/42');
    expect(() => c.reviewUrl('42/../admin')).toThrow(IntegrationError);
  });

  it('marks a review submitted: PUT /api/review-requests/ID/ with status=submitted and the API token', async () => {
    rb.requests.length = 0;
    const c = new ReviewboardClient({ url: rb.url, user: 'pushbot', apiToken: 'rb-token-1' });
    await expect(c.markSubmitted('1234')).resolves.toEqual({ status: 'submitted' });
    expect(rb.requests).toHaveLength(1);
    const r = rb.requests[0]!;
    expect({ method: r.method, path: r.path, body: r.body }).toEqual({ method: 'PUT', path: '/api/review-requests/1234/', body: 'status=submitted' });
    expect(r.headers.authorization).toBe('token rb-token-1');
    expect(r.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(r.headers.accept).toBe('application/json');
  });

  it('reads ship_it_count with GET', async () => {
    rb.requests.length = 0;
    const c = new ReviewboardClient({ url: rb.url, apiToken: 'rb-token-1' });
    expect(await c.shipItCount(7)).toBe(2);
    expect(rb.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /api/review-requests/7/']);
  });

  it.each([
    ['a missing review', { apiToken: 'rb-token-1' }, '999', 'integration-not-found'],
    ['a wrong token (named with its user)', { apiToken: 'wrong', user: 'pushbot' }, '1', 'integration-auth-failed'],
    ['no token configured', {}, '1', 'integration-auth-failed'],
    ['a non-JSON answer', { apiToken: 'rb-token-1' }, '777', 'integration-bad-response'],
    ['a review id that is not a number', { apiToken: 'rb-token-1' }, '1; rm', 'integration-bad-argument'],
  ])('typed error for %s', async (_name, opts, id, code) => {
    const c = new ReviewboardClient({ url: rb.url, ...opts });
    const e = await c.markSubmitted(id).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(IntegrationError);
    expect((e as IntegrationError).code).toBe(code);
    expect((e as IntegrationError).service).toBe('reviewboard');
    if ('user' in opts) expect((e as IntegrationError).message).toContain('pushbot');
  });

  it('times out and reports a server that is down', async () => {
    const slow = new ReviewboardClient({ url: rb.url, apiToken: 'rb-token-1', timeoutMs: 100, retryDelaysMs: [] });
    await expect(slow.markSubmitted(555)).rejects.toMatchObject({ code: 'integration-timeout' });
    const down = new ReviewboardClient({ url: `http://127.0.0.1:${await closedPort()}`, apiToken: 'x' });
    await expect(down.shipItCount(1)).rejects.toMatchObject({ code: 'integration-unreachable', service: 'reviewboard' });
  });
  it('a Reviewboard that is down when a request goes live: marking submitted is tried again, and lands once it is back', async () => {
    const port = await closedPort();
    let answers = 0;
    const c = new ReviewboardClient({ url: `http://127.0.0.1:${port}`, apiToken: 'rb-token-1', retryDelaysMs: [200, 200, 200, 200, 200] });
    const marking = c.markSubmitted(1234);
    // Down for the first try; back answering 503 (a restart behind its proxy) for one more; then up.
    await new Promise((r) => setTimeout(r, 300));
    const back = await startRecordingServer(() => (answers++ === 0 ? { status: 503, text: 'starting' } : { status: 200, json: { stat: 'ok', review_request: { id: 1234, status: 'submitted' } } }), port);
    try {
      await expect(marking).resolves.toEqual({ status: 'submitted' });
      expect(back.requests.map((r) => `${r.method} ${r.path} ${r.body}`)).toEqual(['PUT /api/review-requests/1234/ status=submitted', 'PUT /api/review-requests/1234/ status=submitted']);
    } finally {
      await back.close();
    }
  });

  it('a refusal is not tried again (a wrong token stays wrong)', async () => {
    rb.requests.length = 0;
    const c = new ReviewboardClient({ url: rb.url, apiToken: 'wrong', retryDelaysMs: [10, 10] });
    await expect(c.markSubmitted(1234)).rejects.toMatchObject({ code: 'integration-auth-failed' });
    expect(rb.requests).toHaveLength(1);
  });
});
