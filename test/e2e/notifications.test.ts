// Issue 5 end to end through the real server: IRC (ngircd), XMPP (prosody) and email (smtp-server)
// configured in `notifications:`; pushees hear about their request on each channel; an IRC outage
// mid-train does not stop the train and the queued lines arrive once each; a server killed with
// emails pending delivers them, once, after a restart on the same data dir.
import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../server/config/config.js';
import { startServer } from '../../server/main.js';
import { cli, git, gitOk, startFixture, type Fixture } from '../helpers/server-fixture.js';
import { findNgircd, ircObserver, startNgircd, type IrcObserver, type NgircdServer } from '../helpers/servers/ngircd.js';
import { findProsody, startProsody, xmppInbox, type ProsodyServer } from '../helpers/servers/prosody.js';
import { freePort, spawnUntilReady, waitFor } from '../helpers/servers/server-process.js';
import { startSmtpServer, type ReceivedMail, type SmtpTestServer } from '../helpers/servers/smtp.js';

// In CI a missing server throws here (a failure); elsewhere the describe is skipped with the reason.
const ngircdBin = findNgircd();
const prosodyBin = findProsody();
const missing = [ngircdBin, prosodyBin].filter((b) => !b.ok).map((b) => (b as { reason: string }).reason);

const CHANNEL = '#deploys';

/** Polls an async check until it yields a value. */
async function until<T>(check: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const count = <T>(xs: readonly T[], p: (x: T) => boolean) => xs.filter(p).length;

describe.skipIf(missing.length > 0)(`notifications through the running server${missing.length ? ` (skipped: ${missing.join('; ')})` : ''}`, () => {
  let irc: NgircdServer;
  let prosody: ProsodyServer;
  let smtp: SmtpTestServer;
  let f: Fixture;
  let observer: IrcObserver;
  let alice: { bodies: string[]; stop: () => Promise<void> };
  let work: string;
  let pushId: number;
  let requestId: number;

  beforeAll(async () => {
    [irc, prosody, smtp] = await Promise.all([
      startNgircd(),
      startProsody({ users: [{ user: 'pushmanager', password: 'bot-secret' }, { user: 'alice', password: 'alice-secret' }] }),
      startSmtpServer(),
    ]);
    const yaml = `
notifications:
  mailDomain: example.com
  xmppDomain: ${prosody.domain}
  notifyAll: [all@example.com]
  irc: { host: 127.0.0.1, port: ${irc.port}, channel: "${CHANNEL}" }
  email: { host: 127.0.0.1, port: ${smtp.port}, from: pushmanager@example.com }
  xmpp: { service: "${prosody.service}", domain: ${prosody.domain}, username: pushmanager, password: bot-secret }
  outbox: { retry: { baseMs: 100, maxMs: 1000 } }
`;
    [observer, alice] = await Promise.all([ircObserver(irc.port, CHANNEL, 'watcher'), xmppInbox(prosody, 'alice', 'alice-secret')]);
    f = await startFixture({ config: parseConfig(yaml, 'notifications.test') });
    work = await f.clone('alice');
  }, 60_000);
  afterAll(async () => {
    await f?.close();
    await Promise.all([observer?.close(), alice?.stop().catch(() => undefined)]);
    await Promise.all([irc?.dispose(), prosody?.dispose(), smtp?.stop()]);
  });

  it('a push opened by pm reaches the IRC channel', async () => {
    const r = await cli(f.server.url, 'pm', ['push', 'open', '--title', 'Tue 14:00']);
    expect(r.code, r.stderr).toBe(0);
    pushId = Object.values((await f.server.dispatcher.read()).board.pushes).find((p) => p.title === 'Tue 14:00')!.id;
    const lines = await observer.waitForLines(1);
    expect(lines[0]!.text).toMatch(/Tue 14:00.*is open, pushmaster pm/);
    expect(lines[0]!.nick).toBe('pushhamster|pm');
  });

  it('accepted: the owner and the watcher get the email, the notify-all copy says [all], the owner gets it over XMPP', async () => {
    await f.commit(work, 'notify-me', { 'n.txt': 'n\n' });
    const p = await git(work, ['push', 'origin', 'notify-me:refs/pushreq/notify-me', '-o', 'title=Notify me', '-o', 'watchers=bob']);
    expect(p.code, p.stderr).toBe(0);
    requestId = Object.values((await f.server.dispatcher.read()).board.requests).find((r) => r.ref === 'refs/pushreq/notify-me')!.id;
    const acc = await cli(f.server.url, 'pm', ['push', 'accept', String(pushId), String(requestId)]);
    expect(acc.code, acc.stderr).toBe(0);

    const accepted = (m: ReceivedMail) => /Accepted/i.test(m.subject) && m.decoded.includes('Notify me');
    await waitFor(() => count(smtp.mails, accepted) >= 3, 'three accepted mails', 20_000);
    const mails = smtp.mails.filter(accepted);
    expect(mails.map((m) => m.to.join(',')).sort()).toEqual(['alice@example.com', 'all@example.com', 'bob@example.com']);
    const all = mails.find((m) => m.to.includes('all@example.com'))!;
    expect(all.subject).toMatch(/^\[all\] \[pushmanager\] /);
    const own = mails.find((m) => m.to.includes('alice@example.com'))!;
    expect(own.subject).toMatch(/^\[pushmanager\] /);
    expect(own.decoded).toMatch(/Content-Type: text\/html/i); // plain text plus a clean HTML part
    await waitFor(() => alice.bodies.find((b) => /Notify me.*was accepted into push/.test(b)), 'the accepted XMPP message');
  });

  it('wrong XMPP credentials: the server still starts and says clearly why XMPP is not working', async () => {
    const logs: string[] = [];
    const yaml = `notifications:\n  xmpp: { service: "${prosody.service}", domain: ${prosody.domain}, username: pushmanager, password: wrong }\n`;
    const s = await startServer({ config: parseConfig(yaml, 'bad-xmpp'), port: 0, dataDir: join(f.dir, 'bad-xmpp'), log: (level, msg) => logs.push(`${level} ${msg}`) });
    try {
      expect((await fetch(new URL('/healthz', s.url))).status).toBe(200);
      expect(logs.join('\n')).toMatch(/error notifications: xmpp did not start: .*refused: wrong user name or password/);
    } finally {
      await s.close();
    }
  });

  it('IRC down mid-train: the train goes on, `pushmanager outbox` shows the pending lines with the error; IRC back: each arrives once', async () => {
    await irc.stop();
    // The train goes on: stage, message the pushees (an IRC line), open the next push (another).
    const stage = await cli(f.server.url, 'pm', ['push', 'stage', String(pushId), '--env', 'stage-a']);
    expect(stage.code, stage.stderr).toBe(0);
    const msg = await cli(f.server.url, 'pm', ['push', 'message', String(pushId), 'please verify on stage-a now']);
    expect(msg.code, msg.stderr).toBe(0);
    const open2 = await cli(f.server.url, 'pm', ['push', 'open', '--title', 'Wed 10:00']);
    expect(open2.code, open2.stderr).toBe(0);

    // Other channels carry on: alice hears about staging over XMPP meanwhile.
    await waitFor(() => alice.bodies.find((b) => /Notify me.*is on stage.*please verify at stage-a/s.test(b)), 'the staged XMPP message');

    const outbox = f.server.notifications.outbox;
    // One worker per channel, first in first out (IRC lines keep their order): the head is retried, the rest wait behind it.
    await waitFor(() => {
      const ircs = outbox.list().filter((e) => e.delivery.channel === 'irc');
      return ircs.length >= 2 && ircs[0]!.lastError !== null;
    }, 'two IRC deliveries queued, the first failing');
    const shown = await cli(f.server.url, 'pm', ['outbox']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/pending +irc +to #deploys +attempts [1-9]\d* +last error: .+/);
    expect(shown.stdout).toMatch(/please verify on stage-a now/);
    // Pushees cannot see it.
    expect((await cli(f.server.url, 'alice', ['outbox'])).code).toBe(1);

    await irc.start();
    // Hold IRC sends until the observer is back in the channel, then let the queue go.
    await outbox.pause('irc');
    await observer.close();
    observer = await ircObserver(irc.port, CHANNEL, 'watcher2');
    outbox.resume('irc');
    await outbox.retryNow({ channel: 'irc' });
    const isMessage = (l: { text: string }) => /please verify on stage-a now/.test(l.text);
    const isOpen2 = (l: { text: string }) => /Wed 10:00.*is open, pushmaster pm/.test(l.text);
    await waitFor(() => count(observer.lines, isMessage) >= 1 && count(observer.lines, isOpen2) >= 1, `the queued IRC lines (have ${JSON.stringify(observer.lines)})`, 30_000);
    await until(async () => !outbox.list().some((e) => e.delivery.channel === 'irc'), 'the IRC queue to drain');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(count(observer.lines, isMessage)).toBe(1);
    expect(count(observer.lines, isOpen2)).toBe(1);
    // The message line names the pushees, as the original did.
    expect(observer.lines.find(isMessage)!.text).toMatch(/alice/);
  }, 60_000);
});

describe('a killed server delivers its pending emails after a restart, once', () => {
  let smtp: SmtpTestServer | null = null;
  let child: ChildProcess | null = null;
  let f: Fixture;
  afterAll(async () => {
    child?.kill('SIGKILL');
    await smtp?.stop();
    await f?.close();
  });

  it('SIGKILL with emails pending; restart with SMTP up; each pending email arrives exactly once', async () => {
    // A scratch fixture only for its temp dir and git helpers; the server under test is its own process.
    f = await startFixture();
    const dataDir = join(f.dir, 'killed-data');
    const deadPort = await freePort();
    const yaml = (smtpPort: number) => `
notifications:
  mailDomain: example.com
  notifyAll: [all@example.com]
  email: { host: 127.0.0.1, port: ${smtpPort}, from: pushmanager@example.com }
  outbox: { retry: { baseMs: 100, maxMs: 500 } }
`;
    const start = async (configFile: string) => {
      const port = await freePort();
      const r = await spawnUntilReady(process.execPath, [join(process.cwd(), 'dist', 'tui', 'cli', 'main.js'), 'serve', '--config', configFile, '--port', String(port), '--data', dataDir], /pushmanager serving/, 20_000);
      child = r.child;
      return `http://127.0.0.1:${port}`;
    };
    const down = join(f.dir, 'down.yaml');
    await writeFile(down, yaml(deadPort));
    let url = await start(down);

    // Work that makes emails: a push opened (notify-all copy), a request accepted (owner, watcher, copy).
    expect((await cli(url, 'pm', ['push', 'open', '--title', 'Crash push'])).code).toBe(0);
    const work = join(f.dir, 'crash-clone');
    await gitOk(f.dir, ['clone', '-q', `${url.replace('://', '://alice:alice@')}/main.git`, work]);
    await gitOk(work, ['checkout', '-q', '-b', 'crash']);
    await writeFile(join(work, 'crash.txt'), 'crash\n');
    await gitOk(work, ['add', 'crash.txt']);
    await gitOk(work, ['commit', '-q', '-m', 'crash']);
    const p = await git(work, ['push', 'origin', 'crash:refs/pushreq/crash', '-o', 'title=Crash change', '-o', 'watchers=bob']);
    expect(p.code, p.stderr).toBe(0);
    const board = JSON.parse((await cli(url, 'alice', ['status', '--json'])).stdout) as { pushes: { id: number }[]; requests: { id: number; ref: string }[] };
    const req = board.requests.find((r) => r.ref === 'refs/pushreq/crash')!;
    expect((await cli(url, 'pm', ['push', 'accept', String(board.pushes[0]!.id), String(req.id)])).code).toBe(0);

    // While SMTP is down they wait in the outbox, each with its last error.
    type Entry = { status: string; attempts: number; lastError: string | null; delivery: { channel: string; to: string[]; subject?: string; key: string } };
    const pending = await until(async () => {
      const r = await cli(url, 'pm', ['outbox', '--json']);
      const entries = JSON.parse(r.stdout) as Entry[];
      const emails = entries.filter((e) => e.delivery.channel === 'email');
      // push opened: the notify-all copy; accepted: alice, bob and the copy. The head of the queue is being retried.
      return emails.length >= 4 && emails[0]!.attempts >= 1 && emails[0]!.lastError !== null ? emails : undefined;
    }, 'pending emails, the first with its error');
    expect(pending.every((e) => e.status === 'pending')).toBe(true);
    const human = await cli(url, 'pm', ['outbox']);
    expect(human.stdout).toMatch(/pending +email +to \S+ +attempts [1-9]\d* +last error: .*(ECONNREFUSED|connect)/i);
    expect(human.stdout).toMatch(/pending +email +to alice@example\.com/);

    child!.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));

    smtp = await startSmtpServer();
    const up = join(f.dir, 'up.yaml');
    await writeFile(up, yaml(smtp.port));
    url = await start(up);
    await smtp.waitForMails(pending.length, 30_000);
    await until(async () => (JSON.parse((await cli(url, 'pm', ['outbox', '--json'])).stdout) as Entry[]).length === 0, 'an empty outbox');
    await new Promise((r) => setTimeout(r, 1_000));
    const got = smtp.mails.map((m) => `${m.to.join(',')} ${m.subject}`).sort();
    const want = pending.map((e) => `${e.delivery.to.join(',')} ${e.delivery.subject ?? ''}`).sort();
    expect(got).toEqual(want);
    expect(got.some((s) => s.startsWith('all@example.com [all] '))).toBe(true);

    // And a further restart sends nothing again.
    child!.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    url = await start(up);
    await until(async () => (await fetch(`${url}/healthz`)).ok, 'the server to answer');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(smtp.mails).toHaveLength(want.length);
  }, 90_000);
});
