// IrcNotifier: says deliveries in an IRC channel through irc-framework. It keeps one connection,
// joins the configured channel, reconnects with backoff, and confirms each delivery with a
// PING/PONG round trip: the server handles a client's lines in order, so the PONG proves that the
// PRIVMSGs before it arrived, and a line said into a dying socket is reported as failed (the
// outbox retries it) instead of being lost silently.
import irc from 'irc-framework';
import type { Delivery } from '../../state/notify/delivery.js';
import type { Notifier } from './notifier.js';
import { NotifyError } from './notify-error.js';

export interface IrcNotifierOptions {
  readonly host: string;
  readonly port: number;
  readonly tls?: boolean;
  readonly password?: string;
  /** The channel to join, e.g. `#deploys`. */
  readonly channel: string;
  readonly channelKey?: string;
  /** A fixed nick, or a template such as `pushhamster|{pushmaster}` (the nick follows the push's pushmaster). */
  readonly nick: string;
  /** Nick used by a template while no pushmaster is known. */
  readonly defaultNick?: string;
  /** How long start() waits for registration and join. */
  readonly connectTimeoutMs?: number;
  /** How long a send waits for the connection and for the server's confirmation. */
  readonly sendTimeoutMs?: number;
  readonly reconnectMinMs?: number;
  readonly reconnectMaxMs?: number;
  readonly random?: () => number;
}

type Client = InstanceType<typeof irc.Client>;

interface PendingConfirm {
  readonly resolve: () => void;
  readonly reject: (e: NotifyError) => void;
}

export class IrcNotifier implements Notifier {
  readonly channel = 'irc' as const;
  private readonly opts: Required<Omit<IrcNotifierOptions, 'password' | 'channelKey' | 'tls'>> & IrcNotifierOptions;
  private client: Client | null = null;
  private ready = false;
  private closed = false;
  private attempts = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  /** Waiting for the connection attempt in progress: settled when it joins the channel or closes. */
  private readonly readyWaiters = new Set<{ resolve: () => void; reject: (e: unknown) => void }>();
  private readonly confirms = new Map<string, PendingConfirm>();
  private seq = 0;
  private wantedNick = '';
  private lastError: unknown = null;
  // Sends are serialised: nick changes and PING tokens must not interleave between deliveries.
  private tail: Promise<void> = Promise.resolve();

  constructor(opts: IrcNotifierOptions) {
    this.opts = {
      defaultNick: 'pushhamster',
      connectTimeoutMs: 20_000,
      sendTimeoutMs: 30_000,
      reconnectMinMs: 1_000,
      reconnectMaxMs: 60_000,
      random: Math.random,
      ...opts,
    };
  }

  /** Connects and joins; rejects with `irc-connect-failed` if that attempt fails or times out (it keeps trying in the background). */
  async start(): Promise<void> {
    this.ensureClient();
    await this.waitReady(this.opts.connectTimeoutMs, 'irc-connect-failed');
  }

  send(d: Delivery): Promise<void> {
    const run = this.tail.then(() => this.sendNow(d));
    this.tail = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.failConfirms(new NotifyError('notifier-closed', 'IRC notifier closed'));
    for (const w of [...this.readyWaiters]) w.reject(new NotifyError('notifier-closed', 'IRC notifier closed'));
    const c = this.client;
    this.client = null;
    this.ready = false;
    if (c) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2_000);
        c.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        try {
          c.quit('pushmanager stopping');
        } catch {
          clearTimeout(t);
          resolve();
        }
      });
      c.removeAllListeners();
    }
  }

  private nickFor(pushmaster: string | undefined): string {
    const t = this.opts.nick;
    if (!t.includes('{pushmaster}')) return t;
    return pushmaster ? t.replace('{pushmaster}', pushmaster.replace(/[^A-Za-z0-9_\-[\]\\`^{}|]/g, '')) : this.opts.defaultNick;
  }

  private async sendNow(d: Delivery): Promise<void> {
    if (this.closed) throw new NotifyError('notifier-closed', 'IRC notifier closed');
    this.ensureClient();
    await this.waitReady(this.opts.sendTimeoutMs, 'irc-not-ready');
    const c = this.client;
    if (!c) throw new NotifyError('irc-not-ready', 'IRC connection lost');
    // Ask for a nick change only when the wanted nick changes: a refused one is not retried every line.
    const nick = this.nickFor(d.pushmaster);
    if (nick !== this.wantedNick) {
      this.wantedNick = nick;
      c.changeNick(nick);
    }
    const target = d.to[0] ?? this.opts.channel;
    if (target.toLowerCase() !== this.opts.channel.toLowerCase() && /^[#&]/.test(target)) c.join(target);
    for (const line of d.text.split('\n')) if (line.trim()) c.say(target, line);
    await this.confirm(c);
  }

  /** PING with a unique token; resolves on its PONG, rejects on disconnect, error reply or timeout. */
  private confirm(c: Client): Promise<void> {
    const token = `pm${++this.seq}`;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.confirms.delete(token);
        reject(new NotifyError('send-timeout', `IRC server did not confirm within ${this.opts.sendTimeoutMs} ms`));
      }, this.opts.sendTimeoutMs);
      this.confirms.set(token, {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      c.ping(token);
    });
  }

  private failConfirms(e: NotifyError): void {
    const all = [...this.confirms.values()];
    this.confirms.clear();
    for (const p of all) p.reject(e);
  }

  private waitReady(ms: number, code: 'irc-connect-failed' | 'irc-not-ready'): Promise<void> {
    if (this.ready) return Promise.resolve();
    const where = `IRC ${this.opts.host}:${this.opts.port} ${this.opts.channel}`;
    const why = () => (this.lastError instanceof Error ? `: ${this.lastError.message}` : '');
    // Between attempts there is nothing to wait for: fail now, the outbox retries with its own backoff.
    if (!this.client) return Promise.reject(new NotifyError(code, `not connected to ${where} (reconnecting)${why()}`, { cause: this.lastError ?? undefined }));
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          this.readyWaiters.delete(waiter);
          resolve();
        },
        reject: () => {
          clearTimeout(timer);
          this.readyWaiters.delete(waiter);
          reject(new NotifyError(code, `cannot connect to ${where}${why()}`, { cause: this.lastError ?? undefined, data: { host: this.opts.host, port: this.opts.port } }));
        },
      };
      const timer = setTimeout(() => {
        this.readyWaiters.delete(waiter);
        reject(new NotifyError(code, `not connected to ${where} after ${ms} ms${why()}`, { cause: this.lastError ?? undefined, data: { host: this.opts.host, port: this.opts.port } }));
      }, ms);
      this.readyWaiters.add(waiter);
    });
  }

  private ensureClient(): void {
    if (this.client || this.closed || this.reconnectTimer) return;
    this.connect();
  }

  private connect(): void {
    const o = this.opts;
    const c = new irc.Client();
    this.client = c;
    const nick = this.nickFor(undefined);
    this.wantedNick = nick;
    let registered = false;
    c.on('registered', () => {
      registered = true;
      c.join(o.channel, o.channelKey);
    });
    c.on('nick in use', (ev: { nick: string }) => {
      // Another instance (or a ghost of ours) holds the nick: take a variant rather than stall.
      if (!registered || ev.nick === this.wantedNick) c.changeNick(`${ev.nick.slice(0, 24)}_`);
    });
    c.on('nick invalid', (ev: { nick: string }) => {
      // Servers limit nick length (ngircd's default is 9): registration must not stall on it.
      if (!registered) c.changeNick(ev.nick.replace(/[^A-Za-z0-9_\-[\]\\`^{}|]/g, '').slice(0, 9) || 'pushmgr');
    });
    c.on('join', (ev: { nick: string; channel: string }) => {
      if (ev.nick.toLowerCase() === c.user.nick.toLowerCase() && ev.channel.toLowerCase() === o.channel.toLowerCase()) {
        this.ready = true;
        this.attempts = 0;
        this.lastError = null;
        for (const w of [...this.readyWaiters]) w.resolve();
      }
    });
    c.on('pong', (ev: { message?: string }) => {
      const p = ev.message ? this.confirms.get(ev.message) : undefined;
      if (p && ev.message) {
        this.confirms.delete(ev.message);
        p.resolve();
      }
    });
    c.on('irc error', (ev: { error: string; reason?: string; channel?: string }) => {
      // Refusals that mean our lines did not reach the channel.
      if (['cannot_send_to_channel', 'channel_is_full', 'invite_only_channel', 'banned_from_channel', 'bad_channel_key', 'no_such_channel'].includes(ev.error)) {
        this.lastError = new Error(`${ev.error}${ev.reason ? `: ${ev.reason}` : ''}`);
        this.failConfirms(new NotifyError('irc-send-failed', `IRC server refused: ${ev.error}${ev.reason ? ` (${ev.reason})` : ''}`, { data: { ...ev } }));
      }
    });
    c.on('socket error', (err: unknown) => {
      this.lastError = err;
    });
    c.on('close', () => {
      if (this.client !== c) return;
      this.client = null;
      this.ready = false;
      c.removeAllListeners();
      this.failConfirms(new NotifyError('irc-send-failed', 'IRC connection closed before the server confirmed', { cause: this.lastError ?? undefined }));
      for (const w of [...this.readyWaiters]) w.reject(this.lastError);
      if (!this.closed) this.scheduleReconnect();
    });
    c.connect({
      host: o.host,
      port: o.port,
      nick,
      username: 'pushmanager',
      gecos: 'Pushmanager notifications',
      ...(o.password ? { password: o.password } : {}),
      ...(o.tls ? { tls: true } : {}),
      // We reconnect ourselves: irc-framework gives up after 3 tries and only reconnects sessions older than 5 s.
      auto_reconnect: false,
      ping_interval: 30,
      ping_timeout: 90,
    });
  }

  private scheduleReconnect(): void {
    const { reconnectMinMs: min, reconnectMaxMs: max, random } = this.opts;
    const wait = Math.min(max, min * 2 ** Math.min(this.attempts, 20)) * (0.5 + random() / 2);
    this.attempts++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.closed) this.connect();
    }, wait);
  }
}
