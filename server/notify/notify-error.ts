// Typed infrastructure errors of the notification adapters and the outbox: callers branch on `code`.

export type NotifyErrorCode =
  | 'irc-connect-failed'
  | 'irc-not-ready'
  | 'irc-send-failed'
  | 'xmpp-auth-failed'
  | 'xmpp-connect-failed'
  | 'xmpp-send-failed'
  | 'email-send-failed'
  | 'email-verify-failed'
  | 'log-write-failed'
  | 'send-timeout'
  | 'no-notifier'
  | 'notifier-closed'
  | 'outbox-closed'
  | 'outbox-journal-failed'
  | 'bad-delivery';

export class NotifyError extends Error {
  override readonly name = 'NotifyError';
  readonly code: NotifyErrorCode;
  readonly data: Readonly<Record<string, unknown>>;
  /** A permanent failure (a refused address): retrying cannot help, so the outbox gives up at once. */
  readonly permanent: boolean;

  constructor(code: NotifyErrorCode, message: string, opts: { data?: Record<string, unknown>; cause?: unknown; permanent?: boolean } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.data = opts.data ?? {};
    this.permanent = opts.permanent ?? false;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, data: this.data, permanent: this.permanent };
  }
}

export const isNotifyError = (e: unknown): e is NotifyError => e instanceof NotifyError;

/** A short, single-line description of any thrown value, for the journal and `pushmanager outbox`. */
export function describeFailure(e: unknown): string {
  const msg = e instanceof Error ? `${isNotifyError(e) ? `[${e.code}] ` : ''}${e.message}` : String(e);
  return msg.replace(/\s+/g, ' ').slice(0, 500);
}
