// XmppNotifier against a real Prosody: a test account receives accepted, staged and conflict
// messages; a wrong password is a typed error from start(), not a crash.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Outbox } from '../../../server/notify/outbox.js';
import { XmppNotifier } from '../../../server/notify/xmpp-notifier.js';
import type { DomainEvent } from '../../../state/events.js';
import type { Board, Push, PushId, PushRequest, RequestId } from '../../../state/model.js';
import type { RoutingConfig } from '../../../state/notify/delivery.js';
import { routeCommit } from '../../../state/notify/routing.js';
import { findProsody, startProsody, xmppInbox, type ProsodyServer } from '../../helpers/servers/prosody.js';
import { waitFor } from '../../helpers/servers/server-process.js';
import { removeTempDirs, tempDir } from '../../helpers/temp-dir.js';

const prosody = findProsody();
const AT = '2024-05-01T10:00:00.000Z';
const req = (id: number, user: string, over: Partial<PushRequest> = {}): PushRequest => ({
  id: id as RequestId, user, title: `Change ${id}`, description: '', ref: `refs/pushreq/c${id}`, sha: 'a'.repeat(40), state: 'added', push: 1 as PushId,
  tags: [], conflicts: [], review: null, ticket: null, watchers: [], comments: [], autoPickme: true, createdAt: AT, updatedAt: AT, pickedAt: null, acceptedAt: null, reason: null, ...over,
});
const push: Push = { id: 1 as PushId, title: 'Tuesday', type: 'regular', state: 'staged', pushmaster: 'pm', deployBranch: 'refs/heads/deploy/push-1', deploySha: null, baseSha: null, stageEnv: 'stage-a', pingme: [], removals: [], checklist: [], tag: null, createdAt: AT, updatedAt: AT, forced: [], merges: [] };
const board: Board = { nextRequestId: 3, nextPushId: 2, requests: { 1: req(1, 'alice', { title: 'Fix login' }), 2: req(2, 'bob') }, pushes: { 1: push } };
const ev = (e: Record<string, unknown>): DomainEvent => ({ at: AT, actor: 'pm', ...e }) as unknown as DomainEvent;

describe.skipIf(!prosody.ok)(`XmppNotifier with prosody${prosody.ok ? '' : ` (skipped: ${prosody.reason})`}`, () => {
  let server: ProsodyServer;
  beforeAll(async () => {
    server = await startProsody({ users: [{ user: 'pushmanager', password: 'bot-secret' }, { user: 'alice', password: 'alice-secret' }] });
  });
  afterAll(async () => {
    await server?.dispose();
    await removeTempDirs();
  });

  /** Logs alice in and records the bodies of the chat messages she receives. */
  const alice = () => xmppInbox(server, 'alice', 'alice-secret');


  it('delivers accepted, staged and conflict messages to the account', async () => {
    const a = await alice();
    const notifier = new XmppNotifier({ service: server.service, domain: server.domain, username: 'pushmanager', password: 'bot-secret' });
    await notifier.start();
    const outbox = await Outbox.open({ dir: await tempDir(), notifiers: [notifier], retry: { baseMs: 50, maxMs: 200 } });
    const routing: RoutingConfig = { channels: ['xmpp'], xmppDomain: server.domain };
    try {
      await outbox.enqueue(
        routeCommit('c1', [
          ev({ type: 'RequestAccepted', request: 1, push: 1 }),
          ev({ type: 'ConflictsFound', request: 1, sha: 'abcdef1234567', conflicts: [{ with: 2, files: ['src/login.ts'] }] }),
          ev({ type: 'PushStaged', push: 1, env: 'stage-a', requests: [1] }),
        ], board, routing),
      );
      await outbox.idle();
      await waitFor(() => a.bodies.length >= 3, 'three XMPP messages');
      expect(a.bodies).toEqual([
        'Request #1 "Fix login" at aaaaaaaaaa was accepted into push #1 "Tuesday" by pm.',
        'Request #1 "Fix login" at abcdef1234 conflicts with request #2 "Change 2" by bob (src/login.ts)\nRebase or merge, then push again to refs/pushreq/c1.',
        'Request #1 "Fix login" is on stage in push #1 "Tuesday": please verify at stage-a.\nThen run `pushmanager request verify 1`',
      ]);
    } finally {
      await outbox.close();
      await a.stop();
    }
  });

  it('rejects start() with xmpp-auth-failed on a wrong password, without an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const notifier = new XmppNotifier({ service: server.service, domain: server.domain, username: 'pushmanager', password: 'wrong' });
      const err = await notifier.start().then(() => null, (e: unknown) => e);
      expect(err).toMatchObject({ code: 'xmpp-auth-failed', message: 'XMPP login as pushmanager@xmpp.test refused: wrong user name or password' });
      await notifier.close();
      await new Promise((r) => setTimeout(r, 200));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('rejects start() with xmpp-connect-failed when nothing listens', async () => {
    const notifier = new XmppNotifier({ service: 'xmpp://127.0.0.1:1', domain: server.domain, username: 'pushmanager', password: 'x', connectTimeoutMs: 5_000 });
    await expect(notifier.start()).rejects.toMatchObject({ code: 'xmpp-connect-failed' });
    await notifier.close();
  });
});
