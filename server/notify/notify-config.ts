// The `notifications:` section of pushmanager.config.yaml: a zod schema (parsed at the edge, errors
// name the field), and the two things built from it: the pure RoutingConfig and the Notifier adapters.
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { CHANNELS, NOTICE_KINDS, type Channel, type RoutingConfig } from '../../state/notify/delivery.js';
import { EmailNotifier } from './email-notifier.js';
import { IrcNotifier } from './irc-notifier.js';
import { LogNotifier } from './log-notifier.js';
import type { Notifier } from './notifier.js';
import { XmppNotifier } from './xmpp-notifier.js';

const channel = z.enum(CHANNELS);
const port = z.number().int().min(1).max(65535);
const ms = z.number().int().min(0);
const routes = z.partialRecord(z.enum(NOTICE_KINDS), z.array(channel));

export const ircConfigSchema = z.strictObject({
  host: z.string().min(1),
  port: port.default(6667),
  tls: z.boolean().default(false),
  password: z.string().optional(),
  channel: z.string().regex(/^[#&][^\s,]+$/, 'an IRC channel such as #deploys'),
  channelKey: z.string().optional(),
  /** A fixed nick or a template with {pushmaster}. */
  nick: z.string().min(1).default('pushhamster|{pushmaster}'),
  defaultNick: z.string().min(1).default('pushhamster'),
});

export const xmppConfigSchema = z.strictObject({
  /** xmpp://host:5222 or xmpps://host:5223 */
  service: z.string().regex(/^(xmpps?|wss?):\/\//, 'a service URL such as xmpp://chat.example.com:5222'),
  domain: z.string().min(1),
  username: z.string().min(1),
  password: z.string(),
  resource: z.string().optional(),
});

export const emailConfigSchema = z.strictObject({
  host: z.string().min(1),
  port: port.default(25),
  secure: z.boolean().default(false),
  user: z.string().optional(),
  password: z.string().optional(),
  from: z.string().min(3),
  rejectUnauthorized: z.boolean().default(true),
  verifyOnStart: z.boolean().default(false),
});

export const notifyConfigSchema = z.strictObject({
  /** Channels to use; default: the ones with a section below, or `log` when there is none. */
  channels: z.array(channel).optional(),
  routes: routes.optional(),
  notifyAll: z.array(z.string().min(3)).default([]),
  notifyOnly: z.strictObject({ email: z.array(z.string()).optional(), xmpp: z.array(z.string()).optional() }).optional(),
  aliases: z.record(z.string(), z.strictObject({ email: z.string().optional(), xmpp: z.string().optional(), irc: z.string().optional() })).default({}),
  mailDomain: z.string().optional(),
  xmppDomain: z.string().optional(),
  subjectPrefix: z.string().default('[pushmanager]'),
  log: z.strictObject({ file: z.string().default('notifications.log') }).optional(),
  irc: ircConfigSchema.optional(),
  xmpp: xmppConfigSchema.optional(),
  email: emailConfigSchema.optional(),
  outbox: z
    .strictObject({
      retry: z.strictObject({ baseMs: ms.default(1_000), maxMs: ms.default(300_000), maxAttempts: z.number().int().min(0).default(0) }).prefault({}),
      sendTimeoutMs: ms.default(60_000),
    })
    .prefault({}),
}).superRefine((c, ctx) => {
  for (const ch of c.channels ?? []) {
    if (ch !== 'log' && !c[ch]) ctx.addIssue({ code: 'custom', path: ['channels'], message: `channel "${ch}" is listed but has no "${ch}:" section` });
  }
});

export type NotifyConfig = z.infer<typeof notifyConfigSchema>;
export type NotifyConfigInput = z.input<typeof notifyConfigSchema>;

/** The channels in use: as listed, or those configured, or `log` alone. */
export function enabledChannels(c: NotifyConfig): Channel[] {
  if (c.channels) return [...new Set(c.channels)];
  const configured = (['irc', 'xmpp', 'email'] as const).filter((ch) => c[ch] !== undefined);
  const withLog: Channel[] = c.log ? [...configured, 'log'] : configured;
  return withLog.length ? withLog : ['log'];
}

export function routingConfigFrom(c: NotifyConfig, opts: { cli?: string } = {}): RoutingConfig {
  return {
    channels: enabledChannels(c),
    ...(c.routes ? { routes: c.routes } : {}),
    ...(c.irc ? { ircChannel: c.irc.channel } : {}),
    notifyAll: c.notifyAll,
    ...(c.notifyOnly ? { notifyOnly: c.notifyOnly } : {}),
    aliases: c.aliases,
    ...(c.mailDomain ? { mailDomain: c.mailDomain } : {}),
    ...(c.xmppDomain ? { xmppDomain: c.xmppDomain } : {}),
    subjectPrefix: c.subjectPrefix,
    ...(opts.cli ? { cli: opts.cli } : {}),
  };
}

/** One adapter per enabled channel. Nothing connects until start() or the first send. */
export function createNotifiers(c: NotifyConfig, opts: { dataDir: string }): Notifier[] {
  const out: Notifier[] = [];
  for (const ch of enabledChannels(c)) {
    if (ch === 'log') {
      const file = c.log?.file ?? 'notifications.log';
      out.push(new LogNotifier({ file: isAbsolute(file) ? file : join(opts.dataDir, file) }));
    } else if (ch === 'irc' && c.irc) {
      const { password, channelKey, ...rest } = c.irc;
      out.push(new IrcNotifier({ ...rest, ...(password ? { password } : {}), ...(channelKey ? { channelKey } : {}) }));
    } else if (ch === 'xmpp' && c.xmpp) {
      out.push(new XmppNotifier(c.xmpp));
    } else if (ch === 'email' && c.email) {
      out.push(new EmailNotifier(c.email));
    }
  }
  return out;
}
