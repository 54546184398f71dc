// LdapDirectory against a real slapd: group membership decides pushmaster/admin, wrong passwords
// and filter injection do not log in, and an LDAP outage is reported as such, quickly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ldapConfigSchema, type LdapConfigInput } from '../../../server/auth/auth-config.js';
import { DirectoryUnavailableError } from '../../../server/auth/directory.js';
import { escapeLdapFilterValue, LdapDirectory } from '../../../server/auth/ldap-directory.js';
import { findSlapd, startSlapd, type SlapdServer } from '../../helpers/servers/slapd.js';

const slapd = findSlapd();

describe('escapeLdapFilterValue (RFC 4515)', () => {
  it.each([
    ['alice', 'alice'],
    ['*', '\\2a'],
    [')(uid=*', '\\29\\28uid=\\2a'],
    ['a\\b', 'a\\5cb'],
    ['nul\u0000', 'nul\\00'],
    ['tab\t', 'tab\\09'],
    ['josé', 'josé'],
  ])('%j → %j', (input, output) => {
    expect(escapeLdapFilterValue(input)).toBe(output);
  });
});

describe.skipIf(!slapd.ok)(`LdapDirectory against a real slapd${slapd.ok ? '' : ` (skipped: ${slapd.reason})`}`, () => {
  let server: SlapdServer;
  const config = (over: Partial<LdapConfigInput> = {}) =>
    ldapConfigSchema.parse({
      url: server.url,
      bindDn: server.bindDn,
      bindPassword: server.bindPassword,
      userBase: server.userBase,
      groupBase: server.groupBase,
      pushmasterGroup: 'pushmasters',
      adminGroup: `cn=admins,${server.groupBase}`,
      timeoutMs: 2000,
      ...over,
    });

  beforeAll(async () => {
    server = await startSlapd();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('logs in a member of the pushmaster group as pushmaster, with name, display name and email', async () => {
    const dir = new LdapDirectory(config());
    expect(await dir.authenticate('pm', 'pm-secret')).toEqual({
      ok: true,
      user: { name: 'pm', displayName: 'Pat Pushmaster', email: 'pm@example.com', pushmaster: true, admin: false },
    });
  });

  it('logs in a non-member as an engineer (plain-text userPassword works too)', async () => {
    const dir = new LdapDirectory(config());
    const alice = await dir.authenticate('alice', 'alice-secret');
    expect(alice).toMatchObject({ ok: true, user: { name: 'alice', pushmaster: false, admin: false } });
    expect(await dir.authenticate('bob', 'bob-secret')).toMatchObject({ ok: true, user: { name: 'bob', pushmaster: false } });
  });

  it('reads the admin group given as a DN', async () => {
    const dir = new LdapDirectory(config());
    expect(await dir.authenticate('root', 'root-secret')).toMatchObject({ ok: true, user: { pushmaster: true, admin: true, email: null } });
  });

  it('maps auth.ldap.ciGroup to the ci role (the external CI\'s accounts); without it nobody has it', async () => {
    const dir = new LdapDirectory(config({ ciGroup: 'admins' }));
    expect(await dir.authenticate('root', 'root-secret')).toMatchObject({ ok: true, user: { name: 'root', ci: true } });
    const alice = await dir.authenticate('alice', 'alice-secret');
    expect(alice.ok && alice.user.ci).toBeFalsy();
    const plain = await new LdapDirectory(config()).authenticate('root', 'root-secret');
    expect(plain.ok && plain.user.ci).toBeFalsy();
  });

  it('uses the canonical name from the directory (uid matching is case-insensitive)', async () => {
    const dir = new LdapDirectory(config());
    expect(await dir.authenticate('ALICE', 'alice-secret')).toMatchObject({ ok: true, user: { name: 'alice' } });
  });

  it('supports posixGroup memberUid groups', async () => {
    const dir = new LdapDirectory(config({ pushmasterGroup: 'pushmasters-posix', groupMemberAttribute: 'memberUid', adminGroup: undefined }));
    expect(await dir.authenticate('pm', 'pm-secret')).toMatchObject({ ok: true, user: { pushmaster: true } });
    expect(await dir.authenticate('alice', 'alice-secret')).toMatchObject({ ok: true, user: { pushmaster: false } });
  });

  it('refuses a wrong password as bad-credentials and an unknown user as unknown-user', async () => {
    const dir = new LdapDirectory(config());
    expect(await dir.authenticate('alice', 'wrong')).toMatchObject({ ok: false, code: 'bad-credentials' });
    expect(await dir.authenticate('alice', 'pm-secret')).toMatchObject({ ok: false, code: 'bad-credentials' });
    expect(await dir.authenticate('nobody', 'x')).toMatchObject({ ok: false, code: 'unknown-user' });
  });

  it('never treats an empty password as a login (an LDAP unauthenticated bind would succeed)', async () => {
    const dir = new LdapDirectory(config());
    expect(await dir.authenticate('alice', '')).toMatchObject({ ok: false, code: 'bad-credentials' });
  });

  it.each(['*', ')(uid=*', 'alice)(uid=*', '*)(|(uid=*', 'al*', 'pm)(|(objectClass=*)', '\\2a', 'alice\u0000'])(
    'filter injection in the user name %j does not log in',
    async (name) => {
      const dir = new LdapDirectory(config());
      for (const password of ['alice-secret', 'pm-secret', 'x']) {
        const r = await dir.authenticate(name, password);
        expect(r.ok).toBe(false);
        if (!r.ok) expect(['unknown-user', 'bad-credentials']).toContain(r.code);
      }
      expect(await dir.lookup(name)).toBeNull();
    },
  );

  it('looks users up (for API tokens) and caches the answer briefly', async () => {
    let now = 1_000_000;
    const dir = new LdapDirectory(config({ cacheTtlMs: 60_000 }), { now: () => now });
    expect(await dir.lookup('pm')).toMatchObject({ name: 'pm', pushmaster: true });
    expect(await dir.lookup('nobody')).toBeNull();
    await server.stop();
    try {
      // Cached: no LDAP needed.
      expect(await dir.lookup('PM')).toMatchObject({ name: 'pm' });
      now += 61_000;
      await expect(dir.lookup('pm')).rejects.toBeInstanceOf(DirectoryUnavailableError);
    } finally {
      await server.start();
    }
  });

  it('reports a misconfigured service account as directory-unavailable, not as the user\'s wrong password', async () => {
    const dir = new LdapDirectory(config({ bindPassword: 'not-the-password' }));
    const r = await dir.authenticate('alice', 'alice-secret');
    expect(r).toMatchObject({ ok: false, code: 'directory-unavailable' });
    if (!r.ok) expect(r.message).toMatch(/service account/);
  });

  it('answers directory-unavailable quickly when slapd is stopped, and works again once it is back', async () => {
    const dir = new LdapDirectory(config());
    await server.stop();
    try {
      const t0 = Date.now();
      const r = await dir.authenticate('alice', 'alice-secret');
      expect(r).toMatchObject({ ok: false, code: 'directory-unavailable' });
      expect(Date.now() - t0).toBeLessThan(1000);
      await expect(dir.lookup('alice')).rejects.toMatchObject({ code: 'directory-unavailable' });
    } finally {
      await server.start();
    }
    expect(await dir.authenticate('alice', 'alice-secret')).toMatchObject({ ok: true });
  });

  it('tells the operator\'s log once when LDAP goes away and once when it is back (users alone saw the outage)', async () => {
    const lines: string[] = [];
    const dir = new LdapDirectory(config({ cacheTtlMs: 0 }), { log: (level, m) => lines.push(`${level} ${m}`) });
    expect(await dir.authenticate('alice', 'alice-secret')).toMatchObject({ ok: true });
    await server.stop();
    try {
      expect(await dir.authenticate('alice', 'alice-secret')).toMatchObject({ code: 'directory-unavailable' });
      expect(await dir.authenticate('pm', 'pm-secret')).toMatchObject({ code: 'directory-unavailable' });
      await expect(dir.lookup('bob')).rejects.toMatchObject({ code: 'directory-unavailable' });
    } finally {
      await server.start();
    }
    expect(await dir.lookup('bob')).toMatchObject({ name: 'bob' });
    expect(await dir.authenticate('alice', 'alice-secret')).toMatchObject({ ok: true });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^warn LDAP ${server.url} is unavailable \\(ECONNREFUSED.*; logins and API tokens are refused \\(503\\) until it answers$`));
    expect(lines[1]).toMatch(new RegExp(`^info LDAP ${server.url} answers again \\(unavailable for \\d+ s\\)$`));
  });

  it('answers directory-unavailable within timeoutMs when the server accepts but never answers', async () => {
    const { createServer } = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    const silent = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as import('node:net').AddressInfo).port;
    try {
      const dir = new LdapDirectory(config({ url: `ldap://127.0.0.1:${port}`, timeoutMs: 300 }));
      const t0 = Date.now();
      expect(await dir.authenticate('alice', 'alice-secret')).toMatchObject({ ok: false, code: 'directory-unavailable' });
      expect(Date.now() - t0).toBeLessThan(1500);
    } finally {
      sockets.forEach((s) => s.destroy());
      await new Promise((r) => silent.close(r));
    }
  });
});

describe.skipIf(!slapd.ok)('LdapDirectory over StartTLS', () => {
  let server: SlapdServer;
  beforeAll(async () => {
    server = await startSlapd({ tls: true });
  });
  afterAll(async () => {
    await server?.dispose();
  });
  const config = (tlsOptions: { caFile?: string; rejectUnauthorized?: boolean }) =>
    ldapConfigSchema.parse({
      url: server.url,
      startTls: true,
      tlsOptions,
      bindDn: server.bindDn,
      bindPassword: server.bindPassword,
      userBase: server.userBase,
      groupBase: server.groupBase,
      pushmasterGroup: 'pushmasters',
      timeoutMs: 2000,
    });

  it('logs in when the server certificate is signed by the configured CA', async () => {
    const dir = new LdapDirectory(config({ caFile: server.caFile ?? '' }));
    expect(await dir.authenticate('pm', 'pm-secret')).toMatchObject({ ok: true, user: { pushmaster: true } });
  });

  it('refuses to send passwords to a server it cannot verify', async () => {
    const dir = new LdapDirectory(config({}));
    const r = await dir.authenticate('pm', 'pm-secret');
    expect(r).toMatchObject({ ok: false, code: 'directory-unavailable' });
  });

  it('fails at startup when the CA file cannot be read', () => {
    expect(() => new LdapDirectory(config({ caFile: '/nonexistent/ca.pem' }))).toThrow(expect.objectContaining({ code: 'auth-config-invalid' }));
  });
});
