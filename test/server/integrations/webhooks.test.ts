// Outgoing webhooks against a real HTTP receiver that checks the signature: each event arrives
// once per receiver, also after the receiver was down and after the dispatcher restarted.
import { afterAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../../state/events.js';
import { emptyBoard, type PushId, type RequestId } from '../../../state/model.js';
import { FileCursorStore, type MetadataCommit } from '../../../server/notify/catch-up.js';
import { catchUpWebhooks, signBody, verifySignature, WEBHOOK_CURSOR_FILE, WebhookDispatcher, webhookPayloads, type WebhookPayload } from '../../../server/integrations/webhooks.js';
import { removeTempDirs, tempDir } from '../../helpers/temp-dir.js';
import { closedPort, startRecordingServer, type Answer, type Recorded } from './recording-server.js';

afterAll(removeTempDirs);

const SECRET = 'receiver-secret-0123456789';
const at = '2024-03-01T10:00:00.000Z';
const events: DomainEvent[] = [
  { type: 'RequestVerified', request: 4 as RequestId, push: 2 as PushId, at, actor: 'alice' },
  { type: 'AllVerified', push: 2 as PushId, at, actor: 'alice' },
];
const commit = (sha: string, evs: DomainEvent[] = events): MetadataCommit => ({ sha, events: evs, board: emptyBoard() });
const fast = { retry: { baseMs: 10, maxMs: 40 }, timeoutMs: 2_000 };

/** A receiver that rejects bad signatures (401) and records the ids it accepted. */
function receiver(status: () => number = () => 200) {
  const accepted: string[] = [];
  const handler = (r: Recorded): Answer => {
    if (!verifySignature(SECRET, r.body, r.headers['x-pushmanager-signature'] as string | undefined)) return { status: 401 };
    const p = JSON.parse(r.body) as WebhookPayload;
    if (r.headers['x-pushmanager-delivery'] !== p.id || r.headers['x-pushmanager-event'] !== p.type) return { status: 400 };
    const s = status();
    if (s === 200) accepted.push(p.id);
    return { status: s };
  };
  return { accepted, handler };
}

describe('webhook signing', () => {
  it('signs the raw body with HMAC-SHA256 and verifies in constant time', () => {
    const body = '{"a":1}';
    // RFC 4231, test case 2.
    expect(signBody('Jefe', 'what do ya want for nothing?')).toBe('sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
    expect(signBody('k', body)).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifySignature('k', body, signBody('k', body))).toBe(true);
    expect(verifySignature('k', body + ' ', signBody('k', body))).toBe(false);
    expect(verifySignature('other', body, signBody('k', body))).toBe(false);
    expect(verifySignature('k', body, undefined)).toBe(false);
  });

  it('payloads carry a stable id per event, filtered by type, board only on request', () => {
    const ps = webhookPayloads(commit('c1'), { events: ['AllVerified'], includeBoard: true });
    expect(ps).toEqual([{ id: 'c1:1', type: 'AllVerified', at, actor: 'alice', event: events[1], board: emptyBoard() }]);
    expect(webhookPayloads(commit('c1'), {}).map((p) => [p.id, 'board' in p])).toEqual([['c1:0', false], ['c1:1', false]]);
  });
});

describe('WebhookDispatcher', () => {
  it('receiver down → retries → up → every event delivered exactly once', async () => {
    const dir = await tempDir();
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}/hook`;
    const d = await WebhookDispatcher.open({ receivers: [{ url, secret: SECRET }], dir, ...fast });
    const failures: string[] = [];
    d.on('failed', (e) => failures.push(e.error));
    expect(await d.enqueueCommit(commit('c1'))).toBe(2);
    while (failures.length < 3) await new Promise((r) => setTimeout(r, 10));
    expect(failures[0]).toMatch(/cannot reach/);
    expect(d.list().map((e) => [e.delivery.key, e.status])).toEqual([['c1:0', 'pending'], ['c1:1', 'pending']]);

    const { accepted, handler } = receiver();
    const up = await startRecordingServer(handler, port);
    try {
      await d.idle();
      expect(accepted).toEqual(['c1:0', 'c1:1']);
      // Catch-up after a crash replays the same commit: nothing is sent twice.
      expect(await d.enqueueCommit(commit('c1'))).toBe(0);
      await d.idle();
      expect(up.requests).toHaveLength(2);
      expect(d.isSent(url, 'c1:1')).toBe(true);
      expect(up.requests[0]!.headers['content-type']).toBe('application/json');
    } finally {
      await d.close();
      await up.close();
    }
  });

  it('a restart resumes from the journal: pending events are delivered once, with the same delivery id', async () => {
    const dir = await tempDir();
    let answer = 503;
    const { accepted, handler } = receiver(() => answer);
    const srv = await startRecordingServer(handler);
    try {
      const url = `${srv.url}/hook`;
      const first = await WebhookDispatcher.open({ receivers: [{ url, secret: SECRET }], dir, ...fast });
      let failed = 0;
      first.on('failed', () => failed++);
      await first.enqueueCommit(commit('c9', [events[0]!]));
      while (failed < 2) await new Promise((r) => setTimeout(r, 10));
      await first.close();
      answer = 200;
      const second = await WebhookDispatcher.open({ receivers: [{ url, secret: SECRET }], dir, ...fast });
      await second.idle();
      await second.close();
      expect(accepted).toEqual(['c9:0']);
      expect(new Set(srv.requests.map((r) => r.headers['x-pushmanager-delivery']))).toEqual(new Set(['c9:0']));
      expect(srv.requests.length).toBeGreaterThanOrEqual(3);
    } finally {
      await srv.close();
    }
  });

  it('a receiver that refuses (4xx) gives up at once and does not hold back the others', async () => {
    const dir = await tempDir();
    const good = receiver();
    const ok = await startRecordingServer(good.handler);
    const refusing = await startRecordingServer(() => ({ status: 410 }));
    const d = await WebhookDispatcher.open({ receivers: [{ url: `${refusing.url}/gone`, secret: SECRET }, { url: `${ok.url}/hook`, secret: SECRET, events: ['AllVerified'] }], dir, ...fast });
    try {
      await d.enqueueCommit(commit('c2'));
      await d.idle();
      expect(good.accepted).toEqual(['c2:1']);
      expect(d.list().map((e) => [e.url, e.delivery.key, e.status])).toEqual([[`${refusing.url}/gone`, 'c2:0', 'failed'], [`${refusing.url}/gone`, 'c2:1', 'failed']]);
      expect(refusing.requests).toHaveLength(2);
      expect(await d.retryNow(`${refusing.url}/gone`)).toBe(2);
      await d.idle();
      expect(refusing.requests).toHaveLength(4);
    } finally {
      await d.close();
      await ok.close();
      await refusing.close();
    }
  });

  it('catch-up enqueues the commits after the cursor and moves the cursor', async () => {
    const dir = await tempDir();
    const { accepted, handler } = receiver();
    const srv = await startRecordingServer(handler);
    const d = await WebhookDispatcher.open({ receivers: [{ url: srv.url, secret: SECRET }], dir, ...fast });
    try {
      const cursor = new FileCursorStore(dir, WEBHOOK_CURSOR_FILE);
      expect(await catchUpWebhooks({ dispatcher: d, cursor, commits: [commit('c1'), commit('c2', [events[1]!])] })).toEqual({ commits: 2, enqueued: 3 });
      expect(await cursor.read()).toBe('c2');
      await d.idle();
      expect(accepted).toEqual(['c1:0', 'c1:1', 'c2:0']);
    } finally {
      await d.close();
      await srv.close();
    }
  });
});
