// EmailNotifier: sends deliveries over SMTP with nodemailer, a plain-text part and a clean HTML part.
// A 5xx answer (refused address) is a permanent failure, so one bad address does not hold up the queue.
// Each mail's Message-ID is made from its delivery key, so a resend after a crash is the same message
// to the reader's client; In-Reply-To/References name the request's (or push's) thread, so a request's
// mails (accepted, please verify, live) sit together in the inbox.
import { createHash } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Delivery } from '../../state/notify/delivery.js';
import type { Notifier } from './notifier.js';
import { NotifyError } from './notify-error.js';

export interface EmailNotifierOptions {
  readonly host: string;
  readonly port: number;
  /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
  readonly secure?: boolean;
  readonly user?: string;
  readonly password?: string;
  readonly from: string;
  /** For test servers with self-signed certificates. */
  readonly rejectUnauthorized?: boolean;
  readonly timeoutMs?: number;
  /** Check the connection and credentials in start(). */
  readonly verifyOnStart?: boolean;
}

/** The domain of the From address (`Name <x@domain>` or `x@domain`), for message ids; `pushmanager.invalid` without one. */
function fromDomain(from: string): string {
  const m = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from.trim());
  return m?.[1] ?? 'pushmanager.invalid';
}

export class EmailNotifier implements Notifier {
  readonly channel = 'email' as const;
  private readonly transport: Transporter;
  private readonly opts: EmailNotifierOptions;

  constructor(opts: EmailNotifierOptions) {
    this.opts = opts;
    const timeout = opts.timeoutMs ?? 30_000;
    this.transport = nodemailer.createTransport({
      host: opts.host,
      port: opts.port,
      secure: opts.secure ?? false,
      ...(opts.user ? { auth: { user: opts.user, pass: opts.password ?? '' } } : {}),
      tls: { rejectUnauthorized: opts.rejectUnauthorized ?? true },
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
    });
  }

  async start(): Promise<void> {
    if (!this.opts.verifyOnStart) return;
    try {
      await this.transport.verify();
    } catch (e) {
      throw new NotifyError('email-verify-failed', `SMTP ${this.opts.host}:${this.opts.port} refused the connection or login: ${e instanceof Error ? e.message : String(e)}`, { cause: e, data: { host: this.opts.host, port: this.opts.port } });
    }
  }

  async send(d: Delivery): Promise<void> {
    try {
      await this.transport.sendMail({
        from: this.opts.from,
        to: [...d.to],
        subject: d.subject ?? d.text.split('\n')[0] ?? '',
        text: d.text,
        ...(d.html ? { html: d.html } : {}),
        messageId: `<${createHash('sha256').update(d.key).digest('hex').slice(0, 32)}@${fromDomain(this.opts.from)}>`,
        ...(d.thread ? { inReplyTo: this.threadId(d.thread), references: [this.threadId(d.thread)] } : {}),
        headers: { 'X-Pushmanager-Key': d.key },
      });
    } catch (e) {
      const code = (e as { responseCode?: number }).responseCode;
      const permanent = typeof code === 'number' && code >= 500 && code < 600;
      throw new NotifyError('email-send-failed', `SMTP send to ${d.to.join(', ')} failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e, permanent, data: { responseCode: code ?? null } });
    }
  }

  /** The thread's root id: no mail carries it, but clients group the mails that refer to it. */
  private threadId(thread: string): string {
    return `<pushmanager.${thread.replace(/[^A-Za-z0-9.-]/g, '-')}@${fromDomain(this.opts.from)}>`;
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}
