// createAuth: wiring from config, and the refusal to serve demo passwords beyond loopback.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { demoAuthConfig, parseAuthConfig } from '../../../server/auth/auth-config.js';
import { createAuth } from '../../../server/auth/create-auth.js';
import { LdapDirectory } from '../../../server/auth/ldap-directory.js';

describe('createAuth', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pm-create-auth-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the demo users on loopback, with working tokens', async () => {
    const auth = createAuth(demoAuthConfig(), { dataDir: dir, host: '127.0.0.1' });
    expect(auth.tokenTtlMs).toBe(30 * 24 * 3_600_000);
    const header = `Basic ${Buffer.from('pm:pm').toString('base64')}`;
    expect(await auth.authenticator.authenticateHeader(header, '127.0.0.1')).toMatchObject({ ok: true, user: { pushmaster: true } });
    const t = await auth.tokens.issue('pm', { ttlMs: auth.tokenTtlMs, label: 'cli' });
    expect(await auth.authenticator.authenticateHeader(`Bearer ${t.token}`, '127.0.0.1')).toMatchObject({ ok: true, user: { name: 'pm' } });
    await auth.close();
  });

  it('refuses demo passwords when listening on all interfaces', () => {
    expect(() => createAuth(demoAuthConfig(), { dataDir: dir, host: '0.0.0.0' })).toThrow(
      expect.objectContaining({ code: 'auth-config-invalid', message: expect.stringContaining('pushmanager hash-password') }),
    );
  });

  it('builds an LdapDirectory for the ldap strategy', () => {
    const config = parseAuthConfig({
      strategy: 'ldap',
      ldap: { url: 'ldaps://ldap.example.com', bindDn: 'cn=svc', bindPassword: 'x', userBase: 'ou=p', groupBase: 'ou=g', pushmasterGroup: 'pm' },
      rateLimit: { maxFailures: 10 },
    });
    expect(createAuth(config, { dataDir: dir, host: '0.0.0.0' }).directory).toBeInstanceOf(LdapDirectory);
  });
});
