// Typed infrastructure errors of the notification adapters and the outbox: callers branch on `code`.
import { PushmanagerError, type ErrorJson } from '../../state/pushmanager-error.js';

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

export class NotifyError extends PushmanagerError {
  readonly code: NotifyErrorCode;
  /** A permanent failure (a refused address): retrying cannot help, so the outbox gives up at once. */
  readonly permanent: boolean;

  constructor(code: NotifyErrorCode, message: string, opts: { data?: Record<string, unknown>; cause?: unknown; permanent?: boolean } = {}) {
    super(message, opts.data, { cause: opts.cause });
    this.code = code;
    this.permanent = opts.permanent ?? false;
  }

  override toJSON(): ErrorJson & { name: string; permanent: boolean } {
    return { name: this.name, ...super.toJSON(), permanent: this.permanent };
  }
}

export const isNotifyError = (e: unknown): e is NotifyError => e instanceof NotifyError;

/** A short, single-line description of any thrown value, for the journal and `pushmanager outbox`. */
export function describeFailure(e: unknown): string {
  const msg = e instanceof Error ? `${isNotifyError(e) ? `[${e.code}] ` : ''}${e.message}` : String(e);
  return msg.replace(/\s+/g, ' ').slice(0, 500);
}
