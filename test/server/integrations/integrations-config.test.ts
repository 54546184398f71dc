// The `integrations:` config section: every part optional, unknown keys and bad values named,
// and the clients built from it.
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { createIntegrations, parseIntegrationsConfig } from '../../../server/integrations/integrations-config.js';
import { removeTempDirs, tempDir } from '../../helpers/temp-dir.js';

afterAll(removeTempDirs);

const EXAMPLE_YAML = `
upstream:
  url: https://github.com/acme/web.git
  tokenEnv: PUSHMANAGER_UPSTREAM_TOKEN
reviewboard:
  url: https://reviews.acme.test
  user: pushbot
  apiTokenEnv: RB_TOKEN
buildbot:
  url: https://buildbot.acme.test
  blockBlessOnFailure: true
  ttlMs: 30000
tickets:
  urlTemplate: https://acme.atlassian.net/browse/%TICKET%
  jira:
    url: https://acme.atlassian.net
    user: pushbot@acme.test
    apiTokenEnv: JIRA_TOKEN
    apiVersion: 3
webhooks:
  - url: https://hooks.acme.test/pushmanager
    secret: 0123456789abcdef0123
    events: [PushCertified, PushBlessed]
tags:
  db-migration: { meaning: Runs a schema migration, priority: 50 }
checklists:
  db-migration:
    - { key: run, phase: after-stage, text: "Run migrations of %OWNER% on stage" }
`;

describe('integrations config', () => {
  it('is entirely optional', () => {
    expect(parseIntegrationsConfig(undefined).success).toBe(true);
    expect(parseIntegrationsConfig(null).success).toBe(true);
    expect(parseIntegrationsConfig({}).data).toEqual({});
  });

  it('parses the documented example', () => {
    const r = parseIntegrationsConfig(parse(EXAMPLE_YAML));
    expect(r.error?.issues).toBeUndefined();
    expect(r.data?.checklists?.['db-migration']).toEqual([{ key: 'run', phase: 'after-stage', text: 'Run migrations of %OWNER% on stage', per: 'owner' }]);
    expect(r.data?.webhooks?.[0]?.includeBoard).toBe(false);
    expect(r.data?.tickets?.jira?.apiVersion).toBe(3);
  });

  it.each([
    ['an unknown key', { buildbot: { url: 'https://b.test', colour: 'red' } }, 'buildbot'],
    ['a non-http URL', { reviewboard: { url: 'ftp://rb.test' } }, 'reviewboard.url'],
    ['a template without %TICKET%', { tickets: { urlTemplate: 'https://t.test/browse/' } }, 'tickets.urlTemplate'],
    ['JIRA without a token', { tickets: { urlTemplate: 'https://t/%TICKET%', jira: { url: 'https://j.test', user: 'u' } } }, 'tickets.jira'],
    ['a short webhook secret', { webhooks: [{ url: 'https://h.test', secret: 'short' }] }, 'webhooks.0.secret'],
    ['an unknown event type', { webhooks: [{ url: 'https://h.test', secret: 'x'.repeat(16), events: ['PushExploded'] }] }, 'webhooks.0.events.0'],
    ['the same webhook twice', { webhooks: [{ url: 'https://h.test', secret: 'x'.repeat(16) }, { url: 'https://h.test', secret: 'y'.repeat(16) }] }, 'webhooks'],
    ['a bad checklist phase', { checklists: { x: [{ key: 'k', phase: 'after-lunch', text: 't' }] } }, 'checklists.x.0.phase'],
    ['a tag that is not a word', { tags: { 'two words': { priority: 1 } } }, 'tags.two words'],
  ])('refuses %s, naming the field', (_name, raw, path) => {
    const r = parseIntegrationsConfig(raw);
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join('.'))).toContain(path);
  });

  it('builds the configured clients, reading tokens from the environment', async () => {
    const cfg = parseIntegrationsConfig(parse(EXAMPLE_YAML)).data!;
    const it = await createIntegrations(cfg, { dataDir: await tempDir(), env: { RB_TOKEN: 'rb', JIRA_TOKEN: 'j', PUSHMANAGER_UPSTREAM_TOKEN: 'u' } });
    try {
      expect(it.upstream?.url).toBe('https://github.com/acme/web.git');
      expect(it.upstream?.gitEnv().GIT_CONFIG_VALUE_0).toBe(`Authorization: Basic ${Buffer.from('x-access-token:u').toString('base64')}`);
      expect(it.reviewboard?.reviewUrl(12)).toBe('https://reviews.acme.test/r/12');
      expect(it.buildbot).not.toBeNull();
      expect(it.blockBlessOnBuildFailure).toBe(true);
      expect(it.tickets?.url('WEB-1')).toBe('https://acme.atlassian.net/browse/WEB-1');
      expect(it.tickets?.keysIn('WEB-1 and OPS-2')).toEqual(['WEB-1', 'OPS-2']);
      expect(it.jira).not.toBeNull();
      expect(it.webhooks?.list()).toEqual([]);
      expect(it.tags.get('db-migration')).toMatchObject({ priority: 50, checklist: [{ key: 'run' }] });
      expect(it.tags.get('pushplans')?.checklist).toHaveLength(3);
    } finally {
      await it.close();
    }
    const none = await createIntegrations({}, { dataDir: await tempDir() });
    expect([none.upstream, none.reviewboard, none.buildbot, none.tickets, none.jira, none.webhooks]).toEqual([null, null, null, null, null, null]);
    await none.close();
  });
});
