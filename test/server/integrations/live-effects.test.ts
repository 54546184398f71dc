// The Reviewboard and JIRA calls of a certification through their durable queues, against HTTP servers that
// speak Reviewboard's Web API 2.0 (review-requests) and JIRA's REST v2 (issue comments, listed and posted),
// keep what they were sent, and can be down: neither service can be installed on this machine.
import { afterAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../../state/events.js';
import { emptyBoard, type Board, type PushId, type PushRequest, type RequestId } from '../../../state/model.js';
import type { MetadataCommit } from '../../../server/notify/catch-up.js';
import { LiveEffects, liveCalls, type LiveEffectFailure } from '../../../server/integrations/live-effects.js';
import { ReviewboardClient } from '../../../server/integrations/reviewboard.js';
import { JiraClient } from '../../../server/integrations/tickets.js';
import { removeTempDirs, tempDir } from '../../helpers/temp-dir.js';
import { closedPort, startRecordingServer, type Answer, type Recorded } from './recording-server.js';

afterAll(removeTempDirs);

const SHA = 'b8743650cd95a241da0be05efe28d0b8d9a3c7e1';
const at = '2024-03-01T10:00:00.000Z';
const board: Board = {
  ...emptyBoard(),
  requests: { 7: { id: 7 as RequestId, user: 'alice', title: 'Fix login', sha: SHA, review: '77', ticket: 'WEB-7' } as unknown as PushRequest },
};
const certified: DomainEvent = { type: 'PushCertified', push: 2 as PushId, tag: 'push-20240301-2', masterSha: SHA, requests: [7 as RequestId], returned: [], at, actor: 'pm' };
const commit: MetadataCommit = { sha: 'c1', events: [certified], board };
const fast = { retry: { baseMs: 20, maxMs: 50 } };

function services() {
  const comments: { id: string; body: string }[] = [];
  const submitted: string[] = [];
  let late = 0;
  const handler = (r: Recorded): Answer => {
    if (r.path === '/api/review-requests/77/' && r.method === 'PUT') {
      submitted.push(r.body);
      return { status: 200, json: { stat: 'ok', review_request: { id: 77, status: 'submitted' } } };
    }
    if (!r.path.startsWith('/rest/api/2/issue/WEB-7/comment')) return { status: 404, json: { errorMessages: ['Issue does not exist'] } };
    if (r.method === 'GET') return { status: 200, json: { startAt: 0, maxResults: 100, total: comments.length, comments: [...comments].reverse() } };
    const c = { id: String(10_000 + comments.length), body: (JSON.parse(r.body) as { body: string }).body };
    comments.push(c);
    // Taken, but answered after the client gave up (`late` times).
    return { status: 201, json: c, delayMs: late-- > 0 ? 1_000 : 0 };
  };
  return { comments, submitted, handler, answerLate: (n: number) => (late = n) };
}

const clients = (url: string, timeoutMs = 2_000) => ({
  reviewboard: new ReviewboardClient({ url, apiToken: 'rb-token', timeoutMs }),
  jira: new JiraClient({ url, user: 'pushbot', apiToken: 'jira-token', timeoutMs }),
});

describe('the calls of a certification', () => {
  it('one review to mark submitted and one comment per live request, keyed by push and request; the comment names SHA and tag', () => {
    expect(liveCalls(commit)).toEqual({
      reviewboard: [{ key: 'push-2:request-7:reviewboard-submitted', to: ['77'], subject: 'request 7 (push 2)', text: 'status=submitted' }],
      jira: [{ key: 'push-2:request-7:jira-comment:WEB-7', to: ['WEB-7'], subject: 'request 7 (push 2)', text: `Request 7 "Fix login" by alice is live in push 2 (tag push-20240301-2).\nCommit: ${SHA}\n[pushmanager push-2/request-7]` }],
    });
  });

  it('services down, queues closed and reopened (a restart), services up: submitted once, one comment; a replayed commit adds nothing', async () => {
    const dir = await tempDir();
    const port = await closedPort();
    const failures: LiveEffectFailure[] = [];
    const first = await LiveEffects.open({ dir, ...clients(`http://127.0.0.1:${port}`), ...fast }, { failed: (f) => failures.push(f) });
    expect(await first.enqueueCommit(commit)).toBe(2);
    while (!(failures.some((f) => f.service === 'reviewboard') && failures.some((f) => f.service === 'jira'))) await new Promise((r) => setTimeout(r, 10));
    expect(failures.every((f) => f.willRetry)).toBe(true);
    await first.close();
    const s = services();
    const up = await startRecordingServer(s.handler, port);
    const second = await LiveEffects.open({ dir, ...clients(up.url), ...fast });
    try {
      await second.idle();
      expect(s.submitted).toEqual(['status=submitted']);
      expect(s.comments.map((c) => c.body)).toEqual([liveCalls(commit).jira[0]!.text]);
      expect(await second.enqueueCommit(commit)).toBe(0);
      expect(second.list()).toEqual([]);
    } finally {
      await second.close();
      await up.close();
    }
  });

  it('JIRA took the comment but its answer came too late: the next try finds the comment there and posts none', async () => {
    const dir = await tempDir();
    const s = services();
    s.answerLate(1);
    const srv = await startRecordingServer(s.handler);
    const q = await LiveEffects.open({ dir, reviewboard: null, jira: clients(srv.url, 300).jira, ...fast });
    try {
      await q.enqueueCommit(commit);
      await q.idle();
      expect(q.isSent('jira', 'push-2:request-7:jira-comment:WEB-7')).toBe(true);
      expect(s.comments).toHaveLength(1);
      expect(srv.requests.filter((r) => r.method === 'GET')).toHaveLength(2);
    } finally {
      await q.close();
      await srv.close();
    }
  });

  it('a refusal (4xx) is given up after one try, with the reason, and stays listed as failed', async () => {
    const dir = await tempDir();
    const srv = await startRecordingServer(() => ({ status: 403, json: { stat: 'fail', err: { code: 101, msg: 'You do not have permission' } } }));
    const failures: LiveEffectFailure[] = [];
    const q = await LiveEffects.open({ dir, reviewboard: clients(srv.url).reviewboard, jira: null, ...fast }, { failed: (f) => failures.push(f) });
    try {
      await q.enqueueCommit(commit);
      await q.idle();
      await new Promise((r) => setTimeout(r, 200));
      expect(srv.requests).toHaveLength(1);
      expect(failures).toMatchObject([{ service: 'reviewboard', target: '77', about: 'request 7 (push 2)', attempts: 1, willRetry: false, error: expect.stringMatching(/HTTP 403.*You do not have permission/) }]);
      expect(q.list().map((e) => [e.service, e.delivery.key, e.status])).toEqual([['reviewboard', 'push-2:request-7:reviewboard-submitted', 'failed']]);
    } finally {
      await q.close();
      await srv.close();
    }
  });
});
