// The API's HTTP status for each refusal code: the mapping as a table over every DomainError code, and every
// code the API door can produce today provoked through the real server (real git push, real HTTP).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOMAIN_ERROR_CODES, domainError, type DomainErrorCode } from '../../../state/errors.js';
import { domainStatus } from '../../../server/http/api.js';
import { gitOk, startFixture, type Fixture } from '../../helpers/server-fixture.js';

/** What a client can do next decides the status: 403 ask someone else, 404 check the id, 422 fix the field, 409 the state forbids it now. */
const EXPECTED_STATUS: Record<DomainErrorCode, number> = {
  'unknown-request': 404,
  'unknown-push': 404,
  'unknown-user': 404,
  'not-owner': 403,
  'not-owner-or-watcher': 403,
  'not-pushmaster': 403,
  'not-pushmaster-of-push': 403,
  'not-ci': 403,
  'invalid-field': 422,
  'bad-push-option': 422,
  'bad-ref-name': 422,
  'illegal-transition': 409,
  'push-not-accepting': 409,
  'push-already-accepting': 409,
  'ref-owned-by-other': 409,
  'ref-name-clash': 409,
  'ref-not-found': 409,
  'sha-in-use': 409,
  'protected-ref': 409,
  'unverified-requests': 409,
  'open-checklist': 409,
  'merge-conflict': 409,
  'deploy-branch-stale': 409,
  'bisection-stale': 409,
  'bisect-run': 409,
  'deploy-job': 409,
  'builds-failing': 409,
  'jobs-not-green': 409,
  'unknown-job': 404,
  'nothing-to-do': 409,
};

describe('domainStatus', () => {
  it.each(DOMAIN_ERROR_CODES.map((c) => [c]))('%s', (code) => {
    expect(EXPECTED_STATUS[code], `no expected status for ${code}: add it to the table`).toBeDefined();
    expect(domainStatus(domainError(code, 'x'))).toBe(EXPECTED_STATUS[code]);
  });
});

let f: Fixture;
let requestId: number;
beforeAll(async () => {
  f = await startFixture();
  const work = await f.clone('alice');
  await f.commit(work, 'fix', { 'fix.txt': 'fixed\n' });
  await gitOk(work, ['push', '-q', 'origin', 'fix:refs/pushreq/fix']);
  const board = await f.client('alice').board(true);
  requestId = board.requests.find((r) => r.ref === 'refs/pushreq/fix')!.id;
}, 60_000);
afterAll(async () => f?.close());

async function post(user: string, body: unknown): Promise<{ status: number; body: { error?: { code: string; message: string; data: Record<string, unknown> } } }> {
  const res = await fetch(`${f.server.url}/api/commands`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${user}:${user}`).toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as never };
}

describe('POST /api/commands through the real server', () => {
  // In order: later rows rely on the push the earlier ones opened.
  const rows: [string, string, DomainErrorCode, number, () => unknown][] = [
    ['a command about a request that does not exist', 'alice', 'unknown-request', 404, () => ({ type: 'VerifyRequest', request: 999 })],
    ['an engineer opening a push', 'alice', 'not-pushmaster', 403, () => ({ type: 'OpenPush', title: 'mine' })],
    ['editing someone else’s request', 'bob', 'not-owner-or-watcher', 403, () => ({ type: 'EditRequest', request: requestId, title: 'bob was here' })],
    ['discarding someone else’s request', 'bob', 'not-owner', 403, () => ({ type: 'DiscardRequest', request: requestId })],
    ['an unknown watcher (decided by decide, not the body parser)', 'alice', 'invalid-field', 422, () => ({ type: 'EditRequest', request: requestId, watchers: ['nobody'] })],
    ['a body field the parser refuses', 'pm', 'invalid-field', 422, () => ({ type: 'OpenPush', title: '' })],
    ['verifying a request that is not staged', 'alice', 'illegal-transition', 409, () => ({ type: 'VerifyRequest', request: requestId })],
    ['a command about a push that does not exist', 'pm', 'unknown-push', 404, () => ({ type: 'DiscardPush', push: 999 })],
    ['opening a second accepting push', 'pm', 'push-already-accepting', 409, () => ({ type: 'OpenPush', title: 'Monday' })],
  ];

  it.each(rows)('%s, as %s → %s, %i', async (_what, user, code, status, body) => {
    if (code === 'push-already-accepting') expect((await post('pm', { type: 'OpenPush', title: 'First' })).status).toBe(200);
    const out = await post(user, body());
    expect(out.body.error?.code).toBe(code);
    expect(out.status).toBe(status);
    expect(out.status).toBe(EXPECTED_STATUS[code]);
    expect(out.body.error?.message).toEqual(expect.any(String));
    expect(out.body.error?.data).toEqual(expect.any(Object));
  });
});
