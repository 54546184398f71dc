// The notifications config section: defaults, an example that parses, errors that name the field.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createNotifiers, enabledChannels, notifyConfigSchema, routingConfigFrom } from '../../../server/notify/notify-config.js';

const example = `
notifyAll: [deploys@example.com]
mailDomain: example.com
xmppDomain: chat.example.com
aliases:
  bob: { email: robert@example.com, irc: bobby }
routes:
  staged: [email, xmpp, irc]
irc:
  host: irc.example.com
  channel: "#deploys"
  nick: "pushhamster|{pushmaster}"
xmpp:
  service: xmpp://chat.example.com:5222
  domain: chat.example.com
  username: pushmanager
  password: secret
email:
  host: smtp.example.com
  port: 587
  from: "Pushmanager <pushmanager@example.com>"
outbox:
  retry: { baseMs: 2000, maxMs: 600000 }
`;

describe('notifyConfigSchema', () => {
  it('defaults to the log alone', () => {
    const c = notifyConfigSchema.parse({});
    expect(enabledChannels(c)).toEqual(['log']);
    expect(routingConfigFrom(c).channels).toEqual(['log']);
    expect(c.outbox).toEqual({ retry: { baseMs: 1000, maxMs: 300000, maxAttempts: 0 }, sendTimeoutMs: 60000 });
    const ns = createNotifiers(c, { dataDir: '/tmp/x' });
    expect(ns.map((n) => n.channel)).toEqual(['log']);
  });

  it('parses the documented example', async () => {
    const c = notifyConfigSchema.parse(parse(example));
    expect(enabledChannels(c)).toEqual(['irc', 'xmpp', 'email']);
    const r = routingConfigFrom(c);
    expect(r).toMatchObject({ ircChannel: '#deploys', notifyAll: ['deploys@example.com'], routes: { staged: ['email', 'xmpp', 'irc'] } });
    expect(c.irc?.port).toBe(6667);
    const ns = createNotifiers(c, { dataDir: '/tmp/x' });
    expect(ns.map((n) => n.channel)).toEqual(['irc', 'xmpp', 'email']);
    await Promise.all(ns.map((n) => n.close()));
  });

  it('names the field of a bad value', () => {
    const bad = notifyConfigSchema.safeParse({ irc: { host: 'h', channel: 'deploys' }, routes: { staged: ['fax'] }, channels: ['xmpp'] });
    expect(bad.success).toBe(false);
    const paths = bad.error?.issues.map((i) => i.path.join('.')) ?? [];
    expect(paths).toEqual(expect.arrayContaining(['irc.channel', 'routes.staged.0']));
    const typo = notifyConfigSchema.safeParse({ notifyall: ['x@y.z'] });
    expect(typo.error?.issues[0]?.message).toMatch(/notifyall/);
    const missing = notifyConfigSchema.safeParse({ channels: ['xmpp'] });
    expect(missing.error?.issues[0]?.message).toBe('channel "xmpp" is listed but has no "xmpp:" section');
  });
});
