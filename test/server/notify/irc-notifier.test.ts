// IrcNotifier against a real ngIRCd: lines reach a client in the channel; after the server goes
// away and comes back on the same port, the outbox's queued lines arrive once each.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IrcNotifier } from '../../../server/notify/irc-notifier.js';
import { Outbox, type FailedEvent } from '../../../server/notify/outbox.js';
import type { DomainEvent } from '../../../state/events.js';
import type { Board, Push, PushId, PushRequest, RequestId } from '../../../state/model.js';
import type { RoutingConfig } from '../../../state/notify/delivery.js';
import { routeCommit } from '../../../state/notify/routing.js';
import { findNgircd, ircObserver, startNgircd, type NgircdServer } from '../../helpers/servers/ngircd.js';
import { waitFor } from '../../helpers/servers/server-process.js';
import { removeTempDirs, tempDir } from '../../helpers/temp-dir.js';

const ngircd = findNgircd();
const AT = '2024-05-01T10:00:00.000Z';
const CHANNEL = '#deploys';

const req = (id: number, user: string, state: PushRequest['state'], push: number | null): PushRequest => ({
  id: id as RequestId, user, title: `Change ${id}`, description: '', ref: `refs/pushreq/c${id}`, sha: 'a'.repeat(40), state, push: push as PushId | null,
  tags: [], conflicts: [], review: null, ticket: null, watchers: [], comments: [], autoPickme: true, createdAt: AT, updatedAt: AT, pickedAt: null, acceptedAt: null, reason: null,
});
const push: Push = { id: 1 as PushId, title: 'Tuesday', type: 'regular', state: 'accepting', pushmaster: 'pm', deployBranch: 'refs/heads/deploy/push-1', deploySha: null, baseSha: null, stageEnv: null, pingme: [], removals: [], checklist: [], tag: null, createdAt: AT, updatedAt: AT, forced: [], merges: [] };
const users = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7'];
const waiting: Board = { nextRequestId: 8, nextPushId: 2, requests: Object.fromEntries(users.map((u, i) => [i + 1, req(i + 1, u, 'requested', null)])), pushes: { 1: push } };
const staged: Board = { ...waiting, requests: Object.fromEntries(users.map((u, i) => [i + 1, req(i + 1, u, 'staged', 1)])) };
const routing: RoutingConfig = { channels: ['irc'], ircChannel: CHANNEL };
const ev = (e: Record<string, unknown>): DomainEvent => ({ at: AT, actor: 'pm', ...e }) as unknown as DomainEvent;

describe.skipIf(!ngircd.ok)(`IrcNotifier with ngircd${ngircd.ok ? '' : ` (skipped: ${ngircd.reason})`}`, () => {
  let server: NgircdServer;
  beforeAll(async () => {
    server = await startNgircd();
  });
  afterAll(async () => {
    await server?.dispose();
    await removeTempDirs();
  });

  const notifier = () => new IrcNotifier({ host: server.host, port: server.port, channel: CHANNEL, nick: 'pushhamster|{pushmaster}', reconnectMinMs: 100, reconnectMaxMs: 400, connectTimeoutMs: 20_000, sendTimeoutMs: 20_000 });

  it('says the push-opened lines and the grouped pushmaster message in the channel', async () => {
    const watcher = await ircObserver(server.port, CHANNEL, 'watcher1');
    const irc = notifier();
    await irc.start();
    const outbox = await Outbox.open({ dir: await tempDir(), notifiers: [irc], retry: { baseMs: 50, maxMs: 200 } });
    try {
      await outbox.enqueue(routeCommit('c1', [ev({ type: 'PushOpened', push })], waiting, routing));
      await outbox.enqueue(routeCommit('c2', [ev({ type: 'PushMessageSent', push: 1, text: 'please verify on stage', state: 'staged' })], staged, routing));
      const lines = await watcher.waitForLines(5);
      await outbox.idle();
      expect(lines.map((l) => l.text)).toEqual([
        'push #1 "Tuesday" (regular) is open, pushmaster pm.',
        'u1, u2, u3, u4, u5: Pick your request: `pushmanager request pickme ID`',
        'u6, u7: Pick your request: `pushmanager request pickme ID`',
        '[[pushmaster pm]] u1, u2, u3, u4, u5: please verify on stage',
        '[[pushmaster pm]] u6, u7: please verify on stage',
      ]);
      // The nick template follows the push's pushmaster.
      expect(lines[0]?.nick).toBe('pushhamster|pm');
    } finally {
      await outbox.close();
      await watcher.close();
    }
  });

  it('retries while the server is down and delivers the queued lines once each when it is back', async () => {
    const irc = notifier();
    const outbox = await Outbox.open({ dir: await tempDir(), notifiers: [irc], retry: { baseMs: 100, maxMs: 300 }, sendTimeoutMs: 20_000 });
    const failed: FailedEvent[] = [];
    outbox.on('failed', (f) => failed.push(f));
    let watcher = await ircObserver(server.port, CHANNEL, 'watcher2');
    try {
      const line = (n: number) => ({ key: `fault-${n}`, channel: 'irc' as const, to: [CHANNEL], text: `line ${n}` });
      await outbox.enqueue([line(1)]);
      await watcher.waitForLines(1);
      await outbox.idle();

      await watcher.close();
      await server.stop();
      await outbox.enqueue([line(2), line(3), line(4)]);
      await waitFor(() => failed.filter((f) => f.delivery.key === 'fault-2').length >= 2, 'two failed attempts of line 2', 30_000);
      expect(outbox.list().map((e) => e.delivery.key)).toEqual(['fault-2', 'fault-3', 'fault-4']);
      expect(outbox.list()[0]?.lastError).toMatch(/irc/);

      // Hold the outbox while the watcher joins, so no line is said to an empty channel.
      await outbox.pause('irc');
      await server.start();
      watcher = await ircObserver(server.port, CHANNEL, 'watcher3');
      outbox.resume('irc');
      await outbox.idle();
      await watcher.waitForLines(3);
      // Nothing more arrives: each queued line went out once.
      await outbox.enqueue([line(5)]);
      const lines = await watcher.waitForLines(4);
      expect(lines.map((l) => l.text)).toEqual(['line 2', 'line 3', 'line 4', 'line 5']);
      expect(failed.every((f) => f.willRetry)).toBe(true);
    } finally {
      await outbox.close();
      await watcher.close();
    }
  });

  it('registers with a shorter nick where the server limits nick length', async () => {
    const short = await startNgircd({ maxNickLength: 9 });
    const watcher = await ircObserver(short.port, CHANNEL, 'watcher4');
    const irc = new IrcNotifier({ host: short.host, port: short.port, channel: CHANNEL, nick: 'pushhamster|{pushmaster}', connectTimeoutMs: 20_000 });
    try {
      await irc.start();
      await irc.send({ key: 'k', channel: 'irc', to: [CHANNEL], text: 'hello', pushmaster: 'pm' });
      const [line] = await watcher.waitForLines(1);
      expect(line).toEqual({ nick: 'pushhamst', text: 'hello' });
    } finally {
      await irc.close();
      await watcher.close();
      await short.dispose();
    }
  });

  it('start() rejects with a typed error when nothing listens', async () => {
    const irc = new IrcNotifier({ host: '127.0.0.1', port: 1, channel: CHANNEL, nick: 'pm-bot', connectTimeoutMs: 1_500, reconnectMinMs: 200 });
    await expect(irc.start()).rejects.toMatchObject({ code: 'irc-connect-failed' });
    await irc.close();
  });
});
