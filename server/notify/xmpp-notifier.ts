// XmppNotifier: direct chat messages to each JID through @xmpp/client. start() logs in, so a wrong
// password is a clear typed error at start-up; a send is confirmed by an IQ ping round trip (the
// server handles a stream in order), so a message written into a dying stream counts as failed.
import { client, xml, type Client } from '@xmpp/client';
import type { Delivery } from '../../state/notify/delivery.js';
import type { Notifier } from './notifier.js';
import { NotifyError } from './notify-error.js';

export interface XmppNotifierOptions {
  /** e.g. `xmpp://chat.example.com:5222` (STARTTLS when offered) or `xmpps://…:5223`. */
  readonly service: string;
  readonly domain: string;
  readonly username: string;
  readonly password: string;
  readonly resource?: string;
  readonly connectTimeoutMs?: number;
  readonly sendTimeoutMs?: number;
}

const isAuthError = (e: unknown): boolean => e instanceof Error && (e.name === 'SASLError' || /not-authorized|authentication/i.test(e.message));

function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => NotifyError): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(onTimeout()), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

export class XmppNotifier implements Notifier {
  readonly channel = 'xmpp' as const;
  private readonly opts: XmppNotifierOptions & { connectTimeoutMs: number; sendTimeoutMs: number };
  private xmpp: Client | null = null;
  private starting: Promise<void> | null = null;
  private online = false;
  private closed = false;
  private lastError: unknown = null;
  private tail: Promise<void> = Promise.resolve();

  constructor(opts: XmppNotifierOptions) {
    this.opts = { connectTimeoutMs: 20_000, sendTimeoutMs: 30_000, ...opts };
  }

  /** Logs in. Rejects with `xmpp-auth-failed` (wrong credentials) or `xmpp-connect-failed`. */
  start(): Promise<void> {
    if (this.closed) return Promise.reject(new NotifyError('notifier-closed', 'XMPP notifier closed'));
    if (this.online) return Promise.resolve();
    this.starting ??= this.login().finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  send(d: Delivery): Promise<void> {
    const run = this.tail.then(() => this.sendNow(d));
    this.tail = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.tail;
    await this.shutdown();
  }

  private async login(): Promise<void> {
    const o = this.opts;
    const x = client({ service: o.service, domain: o.domain, username: o.username, password: o.password, resource: o.resource ?? 'pushmanager' });
    this.xmpp = x;
    // Without an 'error' listener an emitted error would crash the process.
    x.on('error', (e: unknown) => {
      this.lastError = e;
    });
    x.on('online', () => {
      this.online = true;
    });
    x.on('offline', () => {
      this.online = false;
    });
    x.on('disconnect', () => {
      this.online = false;
    });
    try {
      await withTimeout(x.start(), o.connectTimeoutMs, () => new NotifyError('xmpp-connect-failed', `no XMPP session with ${o.service} after ${o.connectTimeoutMs} ms`, { data: { service: o.service } }));
      // Presence makes some servers and clients show the sender as online; harmless otherwise.
      await x.send(xml('presence'));
      this.online = true;
    } catch (e) {
      await this.shutdown();
      const jid = `${o.username}@${o.domain}`;
      if (isAuthError(e)) throw new NotifyError('xmpp-auth-failed', `XMPP login as ${jid} refused: wrong user name or password`, { cause: e, data: { jid, service: o.service } });
      if (e instanceof NotifyError) throw e;
      throw new NotifyError('xmpp-connect-failed', `cannot connect to XMPP ${o.service} as ${jid}: ${e instanceof Error ? e.message : String(e)}`, { cause: e, data: { jid, service: o.service } });
    }
  }

  private async shutdown(): Promise<void> {
    const x = this.xmpp;
    this.xmpp = null;
    this.online = false;
    if (!x) return;
    x.reconnect.stop();
    try {
      await withTimeout(x.stop(), 5_000, () => new NotifyError('xmpp-connect-failed', 'XMPP stop timed out'));
    } catch {
      // Already gone: nothing to close.
    }
    x.removeAllListeners();
  }

  private async sendNow(d: Delivery): Promise<void> {
    if (this.closed) throw new NotifyError('notifier-closed', 'XMPP notifier closed');
    if (!this.online) {
      // The built-in reconnect may bring the session back; otherwise log in again.
      if (this.xmpp && !this.starting) await this.shutdown();
      await this.start();
    }
    const x = this.xmpp;
    if (!x) throw new NotifyError('xmpp-send-failed', 'XMPP session lost');
    try {
      for (const to of d.to) await x.send(xml('message', { type: 'chat', to, id: `${d.key.slice(0, 60)}` }, xml('body', {}, d.text)));
      const ping = xml('iq', { type: 'get', to: this.opts.domain }, xml('ping', { xmlns: 'urn:xmpp:ping' }));
      await withTimeout(
        x.iqCaller.request(ping, this.opts.sendTimeoutMs).catch((e: unknown) => {
          // An error *reply* still proves the server read everything before it.
          if (e instanceof Error && e.name === 'StanzaError') return undefined;
          throw e;
        }),
        this.opts.sendTimeoutMs + 1_000,
        () => new NotifyError('send-timeout', `XMPP server did not confirm within ${this.opts.sendTimeoutMs} ms`),
      );
    } catch (e) {
      if (e instanceof NotifyError) throw e;
      throw new NotifyError('xmpp-send-failed', `XMPP send to ${d.to.join(', ')} failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }
}
