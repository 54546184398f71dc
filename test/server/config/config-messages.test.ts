// What a start-up config error says: the key path, what the key takes, and what the file had, in the
// file's words rather than zod's ("expected string, received undefined", "Unrecognized key").
import { describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '../../../server/config/config.js';

const issuesOf = (yaml: string): { path: string; message: string }[] => {
  try {
    parseConfig(yaml, 'pm.yaml');
  } catch (e) {
    if (e instanceof ConfigError) return [...e.issues];
    throw e;
  }
  throw new Error('expected a ConfigError');
};

describe('config error messages', () => {
  it.each([
    ['a typo in a key', 'server:\n  prot: 7351\n', 'server', /^unknown key "prot": did you mean "port"\? \(known: host, port, dataDir, /],
    ['a typo in a section', 'sever:\n  port: 7351\n', '', /^unknown key "sever": did you mean "server"\? \(known: server, repository, auth, notifications, integrations, pipeline\)$/],
    ['a key of the chosen auth strategy', 'auth:\n  strategy: local\n  users: [{ name: a, passwordHash: "x" }]\n  usres: []\n', 'auth', /^unknown key "usres": did you mean "users"\?/],
    ['a key nothing is close to', 'repository:\n  colour: red\n', 'repository', /^unknown key "colour" \(known: name, master, /],
    ['a wrong type', 'server:\n  port: "abc"\n', 'server.port', /^expected a number, got the string "abc"$/],
    ['an empty section', 'server:\n', 'server', /^expected a mapping \(key: value lines\), got nothing \(an empty value\)$/],
    ['a missing key', 'notifications:\n  irc: { nick: pm }\n', 'notifications.irc.host', /^missing: expected a string$/],
    ['an unknown strategy', 'auth:\n  strategy: lcal\n', 'auth.strategy', /^expected "local" or "ldap"; got the string "lcal"$/],
    ['an unknown phase', 'pipeline:\n  jobs: [{ name: t, on: bild, run: [x] }]\n', 'pipeline.jobs[0].on', /^expected one of "build", "stage", "bless", "certify"; got the string "bild"$/],
  ])('%s', (_what, yaml, path, message) => {
    const issue = issuesOf(yaml).find((i) => i.path === path);
    expect(issue, JSON.stringify(issuesOf(yaml))).toBeDefined();
    expect(issue!.message).toMatch(message);
  });

  it.each([
    ['a space', 'push {id}', /does not make a git tag name/],
    ['no {id}', 'release-{date}', /needs \{id\}/],
    ['an unknown placeholder', 'push-{day}-{id}', /unknown placeholder \{day\}/],
    ['a leading dash', '-{id}', /does not make a git tag name/],
    ['two dots', 'v..{id}', /does not make a git tag name/],
  ])('refuses a tag template with %s at start-up, not at certify', (_what, template, message) => {
    const issue = issuesOf(`repository:\n  tagTemplate: "${template}"\n`).find((i) => i.path === 'repository.tagTemplate');
    expect(issue?.message).toMatch(message);
  });

  it('takes the default and other good tag templates', () => {
    for (const t of ['push-{date}-{id}', 'deploys/{date}/{id}', 'v{id}'])
      expect(parseConfig(`repository:\n  tagTemplate: "${t}"\n`, 'pm.yaml').repository.tagTemplate).toBe(t);
  });
});

describe('a config file that cannot be read', () => {
  it('says so in words, naming the file: missing, or a directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pm-config-'));
    try {
      await expect(loadConfig(join(dir, 'nope.yaml'))).rejects.toMatchObject({ issues: [{ path: '', message: 'cannot read the config file: no such file' }] });
      await expect(loadConfig(join(dir, 'nope.yaml'))).rejects.toThrow(join(dir, 'nope.yaml'));
      await expect(loadConfig(dir)).rejects.toMatchObject({ issues: [{ path: '', message: 'cannot read the config file: a directory, not a file' }] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
