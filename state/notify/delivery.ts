// Notification types shared by the pure router (state/notify) and the adapters and outbox (server/notify).
// Plain data only: a Delivery is journaled as JSON by the outbox, so it must survive a round trip.

export const CHANNELS = ['irc', 'xmpp', 'email', 'log'] as const;
export type Channel = (typeof CHANNELS)[number];

/** One message for one channel and one recipient (or one IRC channel, or the log). */
export interface Delivery {
  /** Idempotency key: `<event key prefix>:<notice>:<channel>:<recipient>`; stable across retries and restarts. */
  readonly key: string;
  readonly channel: Channel;
  /** Resolved addresses: IRC channel name, JIDs, email addresses, or user names for `log`. */
  readonly to: readonly string[];
  readonly subject?: string;
  /** One or two lines for chat; IRC sends each line as its own message; the email's plain-text part. */
  readonly text: string;
  readonly html?: string;
  /** What an email belongs with (`request-4`, `push-2`): mails of one request (or push) thread together. */
  readonly thread?: string;
  /** The push's pushmaster, when there is one: lets an IRC nick template say who is speaking. */
  readonly pushmaster?: string;
}

/**
 * What a notification is about. Routing is configured per kind (not per event type) because one
 * event can address several audiences differently: staging tells owners "please verify" and the
 * ping-me list "pushed to stage".
 */
export const NOTICE_KINDS = [
  'push-opened',
  'accepted',
  'removed',
  'conflict',
  'updated',
  'withdrawn',
  'staged',
  'staged-pingme',
  'all-verified',
  'job-failed',
  'blessed',
  'blessed-pingme',
  'certified',
  'delayed',
  'discarded',
  'push-discarded',
  'comment',
  'pushmaster-message',
] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

/** Per-user addresses that differ from the defaults (user@mailDomain, user@xmppDomain, nick = user). */
export interface UserAlias {
  readonly email?: string;
  readonly xmpp?: string;
  readonly irc?: string;
}

export interface RoutingConfig {
  /**
   * Channels that have a working adapter. Empty (the default): everything goes to `log`.
   * `log` may be listed next to others to keep a local record of every notice.
   */
  readonly channels: readonly Channel[];
  /** Which channels each kind goes to; missing kinds use DEFAULT_ROUTES. */
  readonly routes?: Partial<Readonly<Record<NoticeKind, readonly Channel[]>>>;
  /** The IRC channel lines go to, e.g. `#deploys`. Required when `irc` is enabled. */
  readonly ircChannel?: string;
  /** Addresses that get a copy of every email, subject prefixed `[all]`. */
  readonly notifyAll?: readonly string[];
  /** Testing override: send everything of a channel only to these addresses, naming the original recipients. */
  readonly notifyOnly?: { readonly email?: readonly string[]; readonly xmpp?: readonly string[] };
  readonly aliases?: Readonly<Record<string, UserAlias>>;
  /** Domain for bare user names in email (`alice` → `alice@example.com`). */
  readonly mailDomain?: string;
  /** Domain for bare user names in XMPP. */
  readonly xmppDomain?: string;
  /** Name of the CLI shown in "next command" hints. */
  readonly cli?: string;
  /** Prefix of email subjects, e.g. `[pushmanager]`. */
  readonly subjectPrefix?: string;
}

/** The original's table (seed/original-behaviour.md, "Notifications"). */
export const DEFAULT_ROUTES: Readonly<Record<NoticeKind, readonly Channel[]>> = {
  'push-opened': ['email', 'xmpp', 'irc'],
  accepted: ['email', 'xmpp'],
  removed: ['email', 'xmpp'],
  conflict: ['email', 'xmpp'],
  updated: ['email'],
  withdrawn: ['email', 'xmpp'],
  staged: ['email', 'xmpp'],
  'staged-pingme': ['xmpp'],
  'all-verified': ['xmpp'],
  'job-failed': ['email', 'xmpp'],
  blessed: ['email', 'xmpp'],
  'blessed-pingme': ['xmpp'],
  certified: ['email'],
  delayed: ['email'],
  discarded: ['email'],
  'push-discarded': ['email'],
  comment: ['email', 'xmpp'],
  'pushmaster-message': ['irc'],
};
