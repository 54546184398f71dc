// Test helper: a real ngIRCd on a free loopback port, and an IRC observer (irc-framework) that
// joins a channel and records what is said there.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import irc from 'irc-framework';
import { findBinary, freePort, spawnUntilReady, stopProcess, waitFor, type Running } from './server-process.js';

export const findNgircd = () => findBinary(['/usr/sbin/ngircd', '/usr/local/sbin/ngircd', '/usr/bin/ngircd'], 'ngircd', 'apt-get install -y ngircd');

export interface NgircdServer {
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  /** Stops the server (clients are disconnected); start() brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  dispose(): Promise<void>;
}

function conf(port: number, dir: string, maxNickLength: number): string {
  return `[Global]
Name = irc.test.local
Info = pushmanager test server
AdminInfo1 = test
AdminInfo2 = test
AdminEMail = test@localhost
Listen = 127.0.0.1
Ports = ${port}
MotdPhrase = test
PidFile = ${join(dir, 'ngircd.pid')}
[Limits]
MaxNickLength = ${maxNickLength}
PingTimeout = 120
PongTimeout = 60
[Options]
PAM = no
DNS = no
Ident = no
RequireAuthPing = no
`;
}

/** `maxNickLength`: 30 by default (ngircd's own default is 9, too short for `pushhamster|NAME`). */
export async function startNgircd(opts: { maxNickLength?: number } = {}): Promise<NgircdServer> {
  const bin = findNgircd();
  if (!bin.ok) throw new Error(bin.reason);
  const dir = await mkdtemp(join(tmpdir(), 'pm-ngircd-'));
  // ngircd drops root privileges to "nobody"; it reads the config before that, the pid file after.
  await chmod(dir, 0o755);
  let port = await freePort();
  let running: Running | null = null;
  const confFile = join(dir, 'ngircd.conf');

  const start = async (): Promise<void> => {
    if (running) return;
    await writeFile(confFile, conf(port, dir, opts.maxNickLength ?? 30));
    running = await spawnUntilReady(bin.path, ['-n', '-f', confFile], /Now listening on \[127\.0\.0\.1\]:\d+/);
  };
  const stop = async (): Promise<void> => {
    const r = running;
    running = null;
    if (r) await stopProcess(r.child);
  };

  for (let attempt = 0; ; attempt++) {
    try {
      await start();
      break;
    } catch (e) {
      // Someone took the port between freePort() and ngircd's bind: try another.
      if (attempt >= 2) throw e;
      port = await freePort();
    }
  }
  return {
    host: '127.0.0.1',
    get port() {
      return port;
    },
    dir,
    stop,
    start,
    dispose: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface IrcObserver {
  readonly nick: string;
  /** Lines said in the channel, in arrival order. */
  readonly lines: { nick: string; text: string }[];
  waitForLines(n: number, timeoutMs?: number): Promise<{ nick: string; text: string }[]>;
  close(): Promise<void>;
}

/** Connects a client, joins `channel`, resolves once joined. */
export async function ircObserver(port: number, channel: string, nick = 'watcher'): Promise<IrcObserver> {
  const c = new irc.Client();
  const lines: { nick: string; text: string }[] = [];
  c.on('privmsg', (ev: { nick: string; target: string; message: string }) => {
    if (ev.target.toLowerCase() === channel.toLowerCase()) lines.push({ nick: ev.nick, text: ev.message });
  });
  const joined = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`observer did not join ${channel}`)), 20_000);
    c.on('registered', () => c.join(channel));
    c.on('join', (ev: { nick: string; channel: string }) => {
      if (ev.nick === c.user.nick && ev.channel.toLowerCase() === channel.toLowerCase()) {
        clearTimeout(timer);
        resolve();
      }
    });
    c.on('close', () => reject(new Error('observer connection closed')));
  });
  c.connect({ host: '127.0.0.1', port, nick, username: nick, auto_reconnect: false });
  await joined;
  return {
    nick,
    lines,
    waitForLines: (n, timeoutMs = 30_000) => waitFor(() => (lines.length >= n ? lines.slice() : undefined), `${n} IRC lines in ${channel} (have ${lines.length})`, timeoutMs),
    close: async () => {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2_000);
        c.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        c.quit('bye');
      });
      c.removeAllListeners();
    },
  };
}
