// Ticket links and keys, and the JIRA comment client against an HTTP server speaking JIRA's REST
// API shapes (v2: plain-text body, v3: Atlassian Document Format). A real JIRA cannot be
// installed on this machine, so the server records the requests and the test asserts them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adfDocument, JiraClient, ticketKeysIn, ticketUrl } from '../../../server/integrations/tickets.js';
import { closedPort, startRecordingServer, type RecordingServer } from './recording-server.js';

let jira: RecordingServer;
beforeAll(async () => {
  jira = await startRecordingServer((r) => {
    if (r.headers.authorization !== `Basic ${Buffer.from('pushbot@example.com:jira-token').toString('base64')}`) return { status: 401, json: { errorMessages: ['unauthorized'] } };
    const m = /^\/rest\/api\/([23])\/issue\/([A-Z][A-Z0-9_]+-\d+)\/comment$/.exec(r.path);
    if (!m || r.method !== 'POST') return { status: 404, json: { errorMessages: ['not found'] } };
    if (m[2] === 'NOPE-1') return { status: 404, json: { errorMessages: ['Issue does not exist or you do not have permission to see it.'], errors: {} } };
    return { status: 201, json: { self: `${jira.url}/rest/api/${m[1]}/issue/10001/comment/10100`, id: '10100', body: JSON.parse(r.body).body } };
  });
});
afterAll(() => jira.close());

describe('tickets', () => {
  it.each([
    ['https://jira.example.com/browse/%TICKET%', 'WEB-42', 'https://jira.example.com/browse/WEB-42'],
    ['https://trac.example.com/ticket/%TICKET%', '1234', 'https://trac.example.com/ticket/1234'],
    ['https://t.example.com/q?id=%TICKET%', 'a b&c', 'https://t.example.com/q?id=a%20b%26c'],
  ])('%s with %s', (template, ticket, url) => expect(ticketUrl(template, ticket)).toBe(url));

  it('finds ticket keys in commit messages, once each, in order', () => {
    expect(ticketKeysIn('WEB-42: fix login\n\nAlso OPS_2-7 and WEB-42 again; not web-1, not X-1, not WEB-')).toEqual(['WEB-42', 'OPS_2-7']);
    expect(ticketKeysIn('nothing here')).toEqual([]);
  });
});

describe('JiraClient', () => {
  it('v2: POST /rest/api/2/issue/KEY/comment with {"body": text} and Basic user:token', async () => {
    jira.requests.length = 0;
    const c = new JiraClient({ url: `${jira.url}/`, user: 'pushbot@example.com', apiToken: 'jira-token', apiVersion: 2 });
    await expect(c.comment('WEB-42', 'Live in push 3 (push-20240101-3)')).resolves.toEqual({ id: '10100' });
    const r = jira.requests[0]!;
    expect({ method: r.method, path: r.path, body: JSON.parse(r.body) as unknown }).toEqual({ method: 'POST', path: '/rest/api/2/issue/WEB-42/comment', body: { body: 'Live in push 3 (push-20240101-3)' } });
    expect(r.headers['content-type']).toBe('application/json');
  });

  it('v3: the body is an ADF document', async () => {
    jira.requests.length = 0;
    const c = new JiraClient({ url: jira.url, user: 'pushbot@example.com', apiToken: 'jira-token', apiVersion: 3 });
    await c.comment('WEB-42', 'Live in push 3\nby pm\n\nSee the board');
    const r = jira.requests[0]!;
    expect(r.path).toBe('/rest/api/3/issue/WEB-42/comment');
    expect(JSON.parse(r.body)).toEqual({
      body: {
        type: 'doc',
        version: 1,
        content: [
          { type: 'paragraph', content: [{ type: 'text', text: 'Live in push 3' }, { type: 'hardBreak' }, { type: 'text', text: 'by pm' }] },
          { type: 'paragraph', content: [{ type: 'text', text: 'See the board' }] },
        ],
      },
    });
    expect(adfDocument('')).toEqual({ type: 'doc', version: 1, content: [] });
  });

  it.each([
    ['a missing issue', 'NOPE-1', 'jira-token', 'integration-not-found'],
    ['a wrong token', 'WEB-1', 'bad', 'integration-auth-failed'],
    ['a key that is not one', 'WEB-1/../x', 'jira-token', 'integration-bad-argument'],
  ])('typed error for %s', async (_name, key, token, code) => {
    const c = new JiraClient({ url: jira.url, user: 'pushbot@example.com', apiToken: token });
    await expect(c.comment(key, 'x')).rejects.toMatchObject({ code, service: 'jira' });
  });

  it('reports an unreachable JIRA', async () => {
    const c = new JiraClient({ url: `http://127.0.0.1:${await closedPort()}`, user: 'u', apiToken: 't', retryDelaysMs: [] });
    await expect(c.comment('WEB-1', 'x')).rejects.toMatchObject({ code: 'integration-unreachable' });
  });
  it('a JIRA that is down when a request goes live: the comment is tried again and posted once it is back; a timeout is not resent (it may have landed)', async () => {
    const port = await closedPort();
    const c = new JiraClient({ url: `http://127.0.0.1:${port}`, user: 'u', apiToken: 't', retryDelaysMs: [200, 200, 200, 200] });
    const commenting = c.comment('WEB-1', 'live');
    await new Promise((r) => setTimeout(r, 300));
    const back = await startRecordingServer(() => ({ status: 201, json: { id: '10001' } }), port);
    try {
      await expect(commenting).resolves.toEqual({ id: '10001' });
      expect(back.requests).toHaveLength(1);
    } finally {
      await back.close();
    }
    const slow = await startRecordingServer(() => ({ status: 201, json: { id: '1' }, delayMs: 400 }));
    try {
      const s = new JiraClient({ url: slow.url, user: 'u', apiToken: 't', timeoutMs: 100, retryDelaysMs: [10, 10] });
      await expect(s.comment('WEB-1', 'live')).rejects.toMatchObject({ code: 'integration-timeout' });
      expect(slow.requests).toHaveLength(1);
    } finally {
      await slow.close();
    }
  });
});
