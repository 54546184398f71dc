// Authenticator: strict Authorization header parsing (Basic with password or token, Bearer), rate
// limits per (user, address) and per address, never per user alone, and never an exception for bad input.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Authenticator, parseAuthorization } from '../../../server/auth/authenticator.js';
import { DirectoryUnavailableError, type AuthResult, type Directory, type User } from '../../../server/auth/directory.js';
import { demoUsers, LocalDirectory } from '../../../server/auth/local-directory.js';
import { RateLimiter, ADDRESS_ALLOWANCE } from '../../../server/auth/rate-limiter.js';
import { TokenStore } from '../../../server/auth/token-store.js';

const basic = (userPass: string) => `Basic ${Buffer.from(userPass, 'utf8').toString('base64')}`;
const ADDR = '203.0.113.7';

describe('parseAuthorization', () => {
  it.each([
    [basic('alice:alice'), { ok: true, scheme: 'basic', user: 'alice', password: 'alice' }],
    [`basic ${Buffer.from('alice:a:b:c').toString('base64')}`, { ok: true, scheme: 'basic', user: 'alice', password: 'a:b:c' }],
    [basic('josé:pässwörd'), { ok: true, scheme: 'basic', user: 'josé', password: 'pässwörd' }],
    ['Bearer pmt_abc', { ok: true, scheme: 'bearer', token: 'pmt_abc' }],
    ['  BEARER   pmt_abc  ', { ok: true, scheme: 'bearer', token: 'pmt_abc' }],
  ])('accepts %j', (header, parsed) => {
    expect(parseAuthorization(header)).toEqual(parsed);
  });

  it('round-trips any user name without ":" and any password without control characters', () => {
    // eslint-disable-next-line no-control-regex
    const clean = (s: string) => !/[\x00-\x1f\x7f-\x9f]/.test(s);
    const user = fc.string({ minLength: 1, maxLength: 64, unit: 'grapheme' }).filter((u) => !u.includes(':') && clean(u));
    const password = fc.string({ minLength: 1, maxLength: 128, unit: 'grapheme' }).filter(clean);
    fc.assert(
      fc.property(user, password, (u, p) => {
        expect(parseAuthorization(basic(`${u}:${p}`))).toEqual({ ok: true, scheme: 'basic', user: u, password: p });
      }),
    );
  });

  it('never throws, whatever the header', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ maxLength: 200 }).map((s) => `Basic ${s}`), fc.uint8Array().map((b) => `Basic ${Buffer.from(b).toString('base64')}`)), (h) => {
        expect(typeof parseAuthorization(h).ok).toBe('boolean');
      }),
    );
  });

  it.each([
    ['Basic', /not "Basic <base64>"/],
    ['Basic ', /not "Basic <base64>"/],
    ['Basic a b', /not "Basic <base64>"/],
    ['Basic !!!!', /not valid base64/],
    ['Basic YWxpY2U6YWxpY2U', /not valid base64/], // missing padding
    ['Basic YWxpY2U6YWxpY2U==', /not valid base64/],
    [`Basic ${Buffer.from([0x61, 0x3a, 0xff, 0xfe]).toString('base64')}`, /UTF-8/],
    [basic('alicealice'), /no ":"/],
    [basic(':alice'), /empty user name/],
    [basic('alice:'), /empty password/],
    [basic('ali\u0000ce:x'), /control characters/],
    [basic('alice:pa\nss'), /control characters/],
    [basic('alice:pass\u007f'), /control characters/],
    [basic(`${'a'.repeat(300)}:x`), /user name longer/],
    [basic(`alice:${'x'.repeat(2000)}`), /password longer/],
    [`Basic ${'A'.repeat(5000)}`, /longer than 4096/],
    ['Digest username="alice"', /not "Basic <base64>"|unsupported/],
    ['Negotiate YII=', /unsupported authentication scheme/],
    ['Bearer pmt_<script>', /characters a token cannot have/],
    ['Bearer', /not "Basic <base64>"/],
  ])('refuses %j', (header, message) => {
    const r = parseAuthorization(header);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(message);
  });
});

describe('Authenticator', () => {
  let dir: string;
  let now: number;
  let tokens: TokenStore;
  let limiter: RateLimiter;
  let auth: Authenticator;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pm-auth-'));
    now = Date.parse('2030-01-01T00:00:00Z');
    tokens = new TokenStore(dir, { now: () => now });
    limiter = new RateLimiter({ maxFailures: 3, windowMs: 60_000, baseDelayMs: 1000, maxDelayMs: 60_000, now: () => now });
    auth = new Authenticator({ directory: new LocalDirectory(demoUsers()), tokens, rateLimiter: limiter });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('logs in with Basic user:password', async () => {
    expect(await auth.authenticateHeader(basic('pm:pm'), ADDR)).toMatchObject({ ok: true, user: { name: 'pm', pushmaster: true } });
    expect(await auth.authenticateHeader(basic('alice:wrong'), ADDR)).toMatchObject({ ok: false, code: 'bad-credentials' });
  });

  it('asks for credentials when there is no header, without counting a failure', async () => {
    for (let i = 0; i < 10; i++) {
      expect(await auth.authenticateHeader(undefined, ADDR)).toEqual({ ok: false, code: 'bad-credentials', message: 'authentication required' });
    }
    expect(limiter.size).toBe(0);
  });

  it('accepts an API token as Bearer and as the Basic password of its own user', async () => {
    const t = await tokens.issue('alice', { ttlMs: 60_000 });
    expect(await auth.authenticateHeader(`Bearer ${t.token}`, ADDR)).toMatchObject({ ok: true, user: { name: 'alice' } });
    expect(await auth.authenticateHeader(basic(`alice:${t.token}`), ADDR)).toMatchObject({ ok: true, user: { name: 'alice' } });
    const r = await auth.authenticateHeader(basic(`bob:${t.token}`), ADDR);
    expect(r).toMatchObject({ ok: false, code: 'bad-credentials' });
    if (!r.ok) expect(r.message).toMatch(/another user/);
  });

  it('says why a token is refused', async () => {
    const t = await tokens.issue('alice', { ttlMs: 1000 });
    const r1 = await tokens.issue('alice', { ttlMs: 60_000 });
    await tokens.revoke(r1.id);
    now += 1000;
    expect(await auth.authenticateHeader(`Bearer ${t.token}`, ADDR)).toMatchObject({ ok: false, code: 'bad-credentials', message: expect.stringMatching(/expired/) });
    expect(await auth.authenticateHeader(`Bearer ${r1.token}`, ADDR)).toMatchObject({ ok: false, message: expect.stringMatching(/revoked/) });
    expect(await auth.authenticateHeader(`Bearer pmt_${'x'.repeat(43)}`, ADDR)).toMatchObject({ ok: false, message: expect.stringMatching(/unknown API token/) });
  });

  it('refuses the token of a user who has left the directory', async () => {
    const t = await tokens.issue('mallory', { ttlMs: 60_000 });
    expect(await auth.authenticateHeader(`Bearer ${t.token}`, ADDR)).toMatchObject({ ok: false, code: 'unknown-user' });
  });

  it('rate-limits a user at one address with backoff, and success there resets it', async () => {
    for (let i = 0; i < 3; i++) await auth.authenticateHeader(basic('alice:wrong'), ADDR);
    const blocked = await auth.authenticateHeader(basic('alice:alice'), ADDR);
    expect(blocked).toMatchObject({ ok: false, code: 'rate-limited', retryAfterMs: 1000, message: `too many failed logins for alice from ${ADDR}; try again in 1 s` });
    now += 1000;
    // One more failure doubles the wait.
    await auth.authenticateHeader(basic('alice:wrong'), ADDR);
    expect(await auth.authenticateHeader(basic('alice:alice'), ADDR)).toMatchObject({ ok: false, code: 'rate-limited', retryAfterMs: 2000 });
    now += 2000;
    expect(await auth.authenticateHeader(basic('alice:alice'), ADDR)).toMatchObject({ ok: true });
    // The success forgave alice at this address: two more failures do not block her yet.
    await auth.authenticateHeader(basic('alice:wrong'), ADDR);
    await auth.authenticateHeader(basic('alice:wrong'), ADDR);
    expect(await auth.authenticateHeader(basic('alice:alice'), ADDR)).toMatchObject({ ok: true });
  });

  it("never refuses a right password because of another address's failures (issue 13: the pushmaster locked out)", async () => {
    // Many addresses each guess pm's password until they are throttled.
    for (let a = 0; a < 20; a++) for (let i = 0; i < 6; i++) await auth.authenticateHeader(basic('pm:wrong'), `198.51.100.${a}`);
    expect(await auth.authenticateHeader(basic('pm:pm'), '198.51.100.0')).toMatchObject({ ok: false, code: 'rate-limited' });
    expect(await auth.authenticateHeader(basic('pm:pm'), ADDR)).toMatchObject({ ok: true, user: { name: 'pm' } });
    expect(await auth.authenticateHeader(basic('PM:pm'), '192.0.2.1')).toMatchObject({ ok: true });
  });

  it('counts an IPv6 client by its /64, and an IPv4-mapped one as its IPv4 address', async () => {
    for (let i = 0; i < 3; i++) await auth.authenticateHeader(basic('alice:wrong'), `2001:db8:1:2::${i + 1}`);
    expect(await auth.authenticateHeader(basic('alice:alice'), '2001:db8:1:2:ffff::9')).toMatchObject({ ok: false, message: expect.stringContaining('from 2001:db8:1:2::/64') });
    expect(await auth.authenticateHeader(basic('alice:alice'), '2001:db8:1:3::1')).toMatchObject({ ok: true });
    for (let i = 0; i < 3; i++) await auth.authenticateHeader(basic('bob:wrong'), `::ffff:${ADDR}`);
    expect(await auth.authenticateHeader(basic('bob:bob'), ADDR)).toMatchObject({ ok: false, code: 'rate-limited' });
  });

  it('rate-limits an address that guesses many users, and junk headers count too', async () => {
    // An address is shared, so it gets ADDRESS_ALLOWANCE times a user's failures before it is slowed.
    for (let i = 0; i < ADDRESS_ALLOWANCE; i++) {
      await auth.authenticateHeader(basic(`alice${i}:x`), `::ffff:${ADDR}`);
      await auth.authenticateHeader(basic(`bob${i}:x`), ADDR);
      await auth.authenticateHeader('Basic !!!', ADDR);
    }
    expect(await auth.authenticateHeader(basic('carol:carol'), ADDR)).toMatchObject({ ok: false, code: 'rate-limited', message: expect.stringMatching(new RegExp(`^too many failed logins from ${ADDR}; `)) });
    expect(await auth.authenticateHeader(basic('carol:carol'), '192.0.2.1')).toMatchObject({ ok: true });
  });

  it('rate-limits token guessing per address', async () => {
    for (let i = 0; i < 3 * ADDRESS_ALLOWANCE; i++) await auth.authenticateHeader(`Bearer pmt_${String(i % 10).repeat(43)}`, ADDR);
    const t = await tokens.issue('alice', { ttlMs: 60_000 });
    expect(await auth.authenticateHeader(`Bearer ${t.token}`, ADDR)).toMatchObject({ ok: false, code: 'rate-limited' });
  });

  it('does not count directory outages as failed logins, and does not throw', async () => {
    const down: Directory = {
      authenticate: async (): Promise<AuthResult> => ({ ok: false, code: 'directory-unavailable', message: 'LDAP is unavailable' }),
      lookup: async (): Promise<User | null> => {
        throw new DirectoryUnavailableError('LDAP is unavailable');
      },
      close: async () => {},
    };
    const a = new Authenticator({ directory: down, tokens, rateLimiter: limiter });
    const t = await tokens.issue('alice', { ttlMs: 60_000 });
    for (let i = 0; i < 5; i++) {
      expect(await a.authenticateHeader(basic('alice:alice'), ADDR)).toMatchObject({ code: 'directory-unavailable' });
      expect(await a.authenticateHeader(`Bearer ${t.token}`, ADDR)).toMatchObject({ code: 'directory-unavailable' });
    }
    expect(limiter.size).toBe(0);
  });

  it('turns a throwing directory into a refusal', async () => {
    const broken: Directory = {
      authenticate: async () => {
        throw new Error('boom');
      },
      lookup: async () => null,
      close: async () => {},
    };
    const a = new Authenticator({ directory: broken, tokens, rateLimiter: limiter });
    expect(await a.authenticateHeader(basic('alice:alice'), ADDR)).toMatchObject({ ok: false, code: 'directory-unavailable' });
  });

  it('never throws for arbitrary header strings', async () => {
    const samples = ['', ' ', 'Basic', 'Bearer ', '\u0000', 'Basic ====', 'Basic YQ==', `Basic ${'\uFFFF'.repeat(10)}`, 'x'.repeat(100_000), 'Basic\tYWxpY2U6YWxpY2U='];
    for (const h of samples) {
      const r = await auth.authenticateHeader(h, ADDR);
      expect(r.ok).toBe(false);
    }
  });
});
