// The `auth:` config section: defaults, the demo default, and clear refusals naming the field.
import { describe, expect, it } from 'vitest';
import { demoAuthConfig, parseAuthConfig } from '../../../server/auth/auth-config.js';

const ldap = {
  url: 'ldaps://ldap.example.com',
  bindDn: 'cn=svc,dc=example,dc=com',
  bindPassword: 'x',
  userBase: 'ou=people,dc=example,dc=com',
  groupBase: 'ou=groups,dc=example,dc=com',
  pushmasterGroup: 'pushmasters',
};

describe('parseAuthConfig', () => {
  it('gives the demo users when there is no auth section', () => {
    const c = demoAuthConfig();
    expect(c.strategy).toBe('local');
    expect(c.users.map((u) => [u.name, u.pushmaster])).toEqual([
      ['alice', false],
      ['bob', false],
      ['carol', false],
      ['pm', true],
    ]);
    expect(c.tokens).toEqual({ ttlDays: 30 });
    expect(c.rateLimit).toEqual({ maxFailures: 5, windowMs: 900_000, baseDelayMs: 1000, maxDelayMs: 900_000, maxKeys: 100_000 });
  });

  it('fills LDAP defaults', () => {
    const c = parseAuthConfig({ strategy: 'ldap', ldap });
    expect(c.strategy === 'ldap' && c.ldap).toMatchObject({
      userFilter: '(uid={user})',
      groupMemberAttribute: 'member',
      timeoutMs: 5000,
      startTls: false,
      tlsOptions: { rejectUnauthorized: true },
    });
  });

  it.each([
    [{ strategy: 'local', users: [{ name: 'a', password: 'a', pasword: 'typo' }] }, /auth\.users\[0\]: Unrecognized key.*pasword/],
    [{ strategy: 'local', users: [{ name: 'a' }] }, /exactly one of password/],
    [{ strategy: 'local', users: [{ name: 'a', password: 'a', passwordHash: 'scrypt$1$1$1$a$b' }] }, /auth\.users\[0\]\.passwordHash/],
    [{ strategy: 'local', users: [{ name: '-rf', password: 'a' }] }, /auth\.users\[0\]\.name/],
    [{ strategy: 'local', users: [{ name: 'a', password: 'a' }, { name: 'A', password: 'b' }] }, /duplicate user A/],
    [{ strategy: 'local', users: [] }, /auth\.users/],
    [{ strategy: 'kerberos' }, /auth\.strategy/],
    [{ strategy: 'local', users: [{ name: 'a', password: 'a' }], tokens: { ttlDays: 0 } }, /auth\.tokens\.ttlDays/],
    [{ strategy: 'local', users: [{ name: 'a', password: 'a' }], extra: 1 }, /extra/],
    [{ strategy: 'ldap', ldap: { ...ldap, userFilter: '(uid=alice)' } }, /auth\.ldap\.userFilter.*\{user\}/],
    [{ strategy: 'ldap', ldap: { ...ldap, url: 'ldap://ldap.example.com' } }, /auth\.ldap\.url: passwords would cross the network in cleartext/],
    [{ strategy: 'ldap', ldap: { ...ldap, groupMemberAttribute: 'uniqueMember' } }, /auth\.ldap\.groupMemberAttribute/],
    [{ strategy: 'ldap' }, /auth\.ldap/],
  ])('refuses %j', (input, message) => {
    expect(() => parseAuthConfig(input)).toThrow(message);
  });

  it('allows cleartext LDAP on loopback, with StartTLS, or when explicitly allowed', () => {
    for (const extra of [{ url: 'ldap://127.0.0.1:3389' }, { url: 'ldap://ldap.example.com', startTls: true }, { url: 'ldap://ldap.example.com', allowInsecure: true }]) {
      expect(parseAuthConfig({ strategy: 'ldap', ldap: { ...ldap, ...extra } }).strategy).toBe('ldap');
    }
  });

  it('throws a typed error with every issue listed', () => {
    try {
      parseAuthConfig({ strategy: 'local', users: [{ name: '' }], rateLimit: { maxFailures: -1 } });
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ code: 'auth-config-invalid' });
      expect((e as { data: { issues: string[] } }).data.issues.length).toBeGreaterThanOrEqual(2);
    }
  });
});
