// EmailNotifier against a real SMTP server (smtp-server): owner and watchers get the mail, the
// notify-all list gets an [all] copy, notifyonly redirects everything; a refused address gives up.
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmailNotifier } from '../../../server/notify/email-notifier.js';
import { Outbox } from '../../../server/notify/outbox.js';
import type { DomainEvent } from '../../../state/events.js';
import type { Board, Push, PushId, PushRequest, RequestId } from '../../../state/model.js';
import type { RoutingConfig } from '../../../state/notify/delivery.js';
import { routeCommit } from '../../../state/notify/routing.js';
import { startSmtpServer, type SmtpTestServer } from '../../helpers/servers/smtp.js';
import { removeTempDirs, tempDir } from '../../helpers/temp-dir.js';

const AT = '2024-05-01T10:00:00.000Z';
const req = (id: number, user: string, over: Partial<PushRequest> = {}): PushRequest => ({
  id: id as RequestId, user, title: `Change ${id}`, description: '', ref: `refs/pushreq/c${id}`, sha: 'a'.repeat(40), state: 'added', push: 1 as PushId,
  tags: [], conflicts: [], review: null, ticket: null, watchers: [], comments: [], autoPickme: true, createdAt: AT, updatedAt: AT, pickedAt: null, acceptedAt: null, reason: null, ...over,
});
const push: Push = { id: 1 as PushId, title: 'Tuesday', type: 'regular', state: 'accepting', pushmaster: 'pm', deployBranch: 'refs/heads/deploy/push-1', deploySha: null, baseSha: null, stageEnv: null, pingme: [], removals: [], checklist: [], tag: null, createdAt: AT, updatedAt: AT, forced: [], merges: [] };
const board: Board = { nextRequestId: 2, nextPushId: 2, requests: { 1: req(1, 'alice', { title: 'Fix <login> ünïcode', watchers: ['bob', 'carol'] }) }, pushes: { 1: push } };
const accepted: DomainEvent = { type: 'RequestAccepted', request: 1 as RequestId, push: 1 as PushId, at: AT, actor: 'pm' };
const base: RoutingConfig = { channels: ['email'], mailDomain: 'example.com', aliases: { carol: { email: 'carol@elsewhere.org' } } };

describe('EmailNotifier with an SMTP server', () => {
  let smtp: SmtpTestServer;
  beforeEach(async () => {
    smtp = await startSmtpServer({ reject: ['nobody@example.com'] });
  });
  afterEach(async () => {
    await smtp.stop();
  });
  afterAll(removeTempDirs);

  async function send(routing: RoutingConfig): Promise<Outbox> {
    const email = new EmailNotifier({ host: '127.0.0.1', port: smtp.port, from: 'Pushmanager <pm@example.com>', verifyOnStart: true });
    await email.start();
    const outbox = await Outbox.open({ dir: await tempDir(), notifiers: [email], retry: { baseMs: 50, maxMs: 200 } });
    await outbox.enqueue(routeCommit('c1', [accepted], board, routing));
    await outbox.idle();
    return outbox;
  }

  it('mails the owner and watchers, and a copy to the notify-all list', async () => {
    const outbox = await send({ ...base, notifyAll: ['deploys@example.com'] });
    const mails = await smtp.waitForMails(4);
    await outbox.close();
    const byRcpt = Object.fromEntries(mails.map((m) => [m.to.join(','), m]));
    expect(Object.keys(byRcpt).sort()).toEqual(['alice@example.com', 'bob@example.com', 'carol@elsewhere.org', 'deploys@example.com']);
    expect(byRcpt['alice@example.com']?.subject).toBe('[pushmanager] Accepted: #1 "Fix <login> ünïcode"');
    expect(byRcpt['deploys@example.com']?.subject).toBe('[all] [pushmanager] Accepted: #1 "Fix <login> ünïcode"');
    const alice = byRcpt['alice@example.com'];
    expect(alice?.from).toBe('pm@example.com');
    expect(alice?.raw).toMatch(/Content-Type: multipart\/alternative/);
    expect(alice?.decoded).toContain('Request #1 "Fix <login> ünïcode" at aaaaaaaaaa was accepted into push #1 "Tuesday" by pm.');
    expect(alice?.decoded).toContain('<p>Request #1 &quot;Fix &lt;login&gt; ünïcode&quot;');
  });

  it('notifyonly sends everything to the override, naming the original recipients', async () => {
    const outbox = await send({ ...base, notifyAll: ['deploys@example.com'], notifyOnly: { email: ['qa@example.com'] } });
    const mails = await smtp.waitForMails(2);
    await outbox.close();
    expect(mails.map((m) => m.to.join(','))).toEqual(['qa@example.com', 'qa@example.com']);
    expect(mails.map((m) => m.subject).sort()).toEqual(['[all] [pushmanager] Accepted: #1 "Fix <login> ünïcode"', '[pushmanager] Accepted: #1 "Fix <login> ünïcode"']);
    expect(mails.map((m) => m.decoded).join('\n')).toContain('(notify-only; for: alice@example.com, bob@example.com, carol@elsewhere.org)');
    expect(mails.map((m) => m.decoded).join('\n')).toContain('(notify-only; for: deploys@example.com)');
  });

  it('gives up at once on an address the server refuses, and still sends the others', async () => {
    const outbox = await send({ ...base, aliases: { bob: { email: 'nobody@example.com' } } });
    const mails = await smtp.waitForMails(2);
    expect(mails.map((m) => m.to.join(',')).sort()).toEqual(['alice@example.com', 'carol@example.com']);
    const failed = outbox.list();
    expect(failed).toEqual([expect.objectContaining({ status: 'failed', attempts: 1, delivery: expect.objectContaining({ to: ['nobody@example.com'] }) })]);
    expect(failed[0]?.lastError).toMatch(/^\[email-send-failed\] .*550/);
    await outbox.close();
  });

  it('keeps mails across a restart while SMTP is down, then sends each once', async () => {
    const dir = await tempDir();
    const down = new EmailNotifier({ host: '127.0.0.1', port: 1, from: 'pm@example.com', timeoutMs: 3_000 });
    const first = await Outbox.open({ dir, notifiers: [down], retry: { baseMs: 50, maxMs: 100 } });
    const failures: number[] = [];
    first.on('failed', (f) => failures.push(f.attempts));
    await first.enqueue(routeCommit('c1', [accepted], board, base));
    await new Promise<void>((resolve) => first.on('failed', () => resolve()));
    await first.close();
    expect(failures.length).toBeGreaterThan(0);

    const up = new EmailNotifier({ host: '127.0.0.1', port: smtp.port, from: 'pm@example.com' });
    const second = await Outbox.open({ dir, notifiers: [up], retry: { baseMs: 50, maxMs: 100 } });
    expect(second.list().map((e) => e.delivery.to[0])).toEqual(['alice@example.com', 'bob@example.com', 'carol@elsewhere.org']);
    await second.idle();
    await second.close();
    const third = await Outbox.open({ dir, notifiers: [new EmailNotifier({ host: '127.0.0.1', port: smtp.port, from: 'pm@example.com' })] });
    await third.enqueue(routeCommit('c1', [accepted], board, base));
    await third.idle();
    await third.close();
    expect(smtp.mails.map((m) => m.to.join(',')).sort()).toEqual(['alice@example.com', 'bob@example.com', 'carol@elsewhere.org']);
  });

  it('threads the mails of one request: each has a Message-ID made from its key (the same on a resend) and refers to the request\'s thread', async () => {
    const email = new EmailNotifier({ host: '127.0.0.1', port: smtp.port, from: 'Pushmanager <pm@example.com>' });
    const staged: DomainEvent = { type: 'PushStaged', push: 1 as PushId, env: 'stage-a', requests: [1 as RequestId], at: AT, actor: 'pm' };
    const opened: DomainEvent = { type: 'PushOpened', push: { ...push, state: 'accepting' }, at: AT, actor: 'pm' };
    const routing: RoutingConfig = { channels: ['email'], mailDomain: 'example.com', notifyAll: ['deploys@example.com'] };
    const toAlice = routeCommit('c1', [accepted, staged], board, routing).filter((d) => d.to[0] === 'alice@example.com');
    const toAll = routeCommit('c2', [opened], board, routing);
    for (const d of [...toAlice, toAlice[0]!, ...toAll]) await email.send(d);
    await email.close();
    const mails = await smtp.waitForMails(4);
    const head = (raw: string, name: string) => new RegExp(`^${name}: *(.*)$`, 'im').exec(raw.split(/\r?\n\r?\n/)[0]!.replace(/\r?\n[ \t]+/g, ' '))?.[1]?.trim();
    const ids = mails.map((m) => head(m.raw, 'Message-ID'));
    expect(ids[0]).toMatch(/^<[0-9a-f]{32}@example\.com>$/);
    expect(ids[2]).toBe(ids[0]); // the resend of the same delivery
    expect(ids[1]).not.toBe(ids[0]);
    const thread = '<pushmanager.request-1@example.com>';
    for (const m of mails.slice(0, 3)) {
      expect(head(m.raw, 'In-Reply-To')).toBe(thread);
      expect(head(m.raw, 'References')).toBe(thread);
    }
    expect(head(mails[3]!.raw, 'References')).toBe('<pushmanager.push-1@example.com>');
  });

  it('start() with verifyOnStart rejects with a typed error when no server listens', async () => {
    const email = new EmailNotifier({ host: '127.0.0.1', port: 1, from: 'pm@example.com', verifyOnStart: true, timeoutMs: 3_000 });
    await expect(email.start()).rejects.toMatchObject({ code: 'email-verify-failed' });
    await email.close();
  });
});
