// LocalDirectory: the demo users, scrypt hashes, wrong passwords; bind safety; hash-password CLI.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { localUserSchema } from '../../../server/auth/auth-config.js';
import {
  checkBindSafety,
  demoUsers,
  hashPassword,
  LocalDirectory,
  parsePasswordHash,
  runHashPassword,
  verifyPassword,
} from '../../../server/auth/local-directory.js';
import { isLoopbackHost } from '../../../server/auth/net-address.js';

// Cheap parameters keep the tests fast; the format and the code path are the same.
const FAST = { N: 2 ** 10, r: 8, p: 1 };

describe('LocalDirectory with the demo users (SPEC §5)', () => {
  const dir = new LocalDirectory(demoUsers());

  it.each([
    ['alice', false],
    ['bob', false],
    ['carol', false],
    ['pm', true],
  ])('%s logs in with their name as password (pushmaster: %s)', async (name, pushmaster) => {
    const r = await dir.authenticate(name, name);
    expect(r).toMatchObject({ ok: true, user: { name, pushmaster, admin: false, email: `${name}@example.com` } });
  });

  it('a local user with ci: true has the ci role (an external CI\'s account); the demo users do not', async () => {
    const withCi = new LocalDirectory([localUserSchema.parse({ name: 'ci-bot', password: 'ci-bot', ci: true })]);
    expect(await withCi.lookup('ci-bot')).toMatchObject({ name: 'ci-bot', ci: true, pushmaster: false });
    expect((await dir.lookup('pm'))?.ci).toBeFalsy();
    expect(localUserSchema.safeParse({ name: 'x', password: 'x', ci: 'yes' }).error?.issues[0]?.path).toEqual(['ci']);
  });

  it('refuses a wrong password and an unknown user with the same message', async () => {
    const wrong = await dir.authenticate('alice', 'bob');
    const unknown = await dir.authenticate('mallory', 'mallory');
    expect(wrong).toMatchObject({ ok: false, code: 'bad-credentials' });
    expect(unknown).toMatchObject({ ok: false, code: 'unknown-user' });
    if (!wrong.ok && !unknown.ok) expect(wrong.message).toBe(unknown.message);
  });

  it('refuses prefixes and extensions of the password', async () => {
    expect((await dir.authenticate('alice', 'alic')).ok).toBe(false);
    expect((await dir.authenticate('alice', 'alice ')).ok).toBe(false);
    expect((await dir.authenticate('alice', '')).ok).toBe(false);
  });

  it('matches user names case-insensitively and returns the configured spelling', async () => {
    expect(await dir.authenticate('ALICE', 'alice')).toMatchObject({ ok: true, user: { name: 'alice' } });
    expect(await dir.lookup('Pm')).toMatchObject({ name: 'pm', displayName: 'Pushmaster', pushmaster: true });
    expect(await dir.lookup('nobody')).toBeNull();
  });
});

describe('scrypt password hashes', () => {
  it('hashes in the documented format and verifies only the right password', async () => {
    const hash = await hashPassword('correct horse', FAST);
    expect(hash).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/);
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('correct horsf', hash)).toBe(false);
    // A fresh salt each time.
    expect(await hashPassword('correct horse', FAST)).not.toBe(hash);
  });

  it('uses strong defaults', async () => {
    const parsed = parsePasswordHash(await hashPassword('x'));
    expect(parsed.N).toBeGreaterThanOrEqual(2 ** 15);
    expect(parsed.salt.length).toBeGreaterThanOrEqual(16);
  });

  it('logs in a configured user with a passwordHash', async () => {
    const users = [
      localUserSchema.parse({ name: 'dana', passwordHash: await hashPassword('s3cret', FAST), pushmaster: true, admin: true }),
    ];
    const dir = new LocalDirectory(users);
    expect(await dir.authenticate('dana', 's3cret')).toMatchObject({ ok: true, user: { name: 'dana', pushmaster: true, admin: true, email: null } });
    expect(await dir.authenticate('dana', 'S3cret')).toMatchObject({ ok: false, code: 'bad-credentials' });
    expect(await dir.authenticate('eve', 's3cret')).toMatchObject({ ok: false, code: 'unknown-user' });
  });

  it.each([
    ['not a hash', /not a scrypt hash/],
    ['scrypt$1000$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==', /power of two/],
    ['scrypt$2097152$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==', /larger than/],
    ['scrypt$1024$8$1$!!$aGFzaGhhc2hoYXNoaGFzaA==', /base64/],
    ['scrypt$1024$8$1$c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==', /salt/],
    ['scrypt$1024$0$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==', /positive integer/],
  ])('refuses the malformed hash %j at startup', (hash, why) => {
    expect(() => parsePasswordHash(hash)).toThrow(why);
    expect(() => new LocalDirectory([{ name: 'x', passwordHash: hash, pushmaster: false, admin: false }])).toThrow(
      expect.objectContaining({ code: 'auth-config-invalid' }),
    );
  });
});

describe('checkBindSafety', () => {
  const hashed = { name: 'dana', passwordHash: 'scrypt$1024$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==' };

  it.each(['127.0.0.1', '127.1.2.3', '::1', '[::1]', '0:0:0:0:0:0:0:1', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1'])(
    'allows demo passwords on loopback %s',
    (host) => {
      expect(isLoopbackHost(host)).toBe(true);
      expect(checkBindSafety(host, demoUsers())).toEqual({ ok: true });
    },
  );

  it.each(['0.0.0.0', '::', '', '10.0.0.5', '192.168.1.1', 'example.com', '128.0.0.1', '::ffff:10.0.0.1', 'localhost.evil.com', '::2'])(
    'refuses demo passwords on %j, naming the users and the fix',
    (host) => {
      expect(isLoopbackHost(host)).toBe(false);
      const r = checkBindSafety(host, demoUsers());
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.users).toEqual(['alice', 'bob', 'carol', 'pm']);
        expect(r.message).toContain('alice, bob, carol, pm');
        expect(r.message).toContain('pushmanager hash-password');
      }
    },
  );

  it('allows any address when every user has a hash and no plaintext password', () => {
    expect(checkBindSafety('0.0.0.0', [hashed])).toEqual({ ok: true });
    expect(checkBindSafety('0.0.0.0', [hashed, { name: 'eve', password: 'eve' }])).toMatchObject({ ok: false, users: ['eve'] });
    expect(checkBindSafety('0.0.0.0', [{ ...hashed, password: 'both' }])).toMatchObject({ ok: false, users: ['dana'] });
    expect(checkBindSafety('0.0.0.0', [{ name: 'nohash' }])).toMatchObject({ ok: false, users: ['nohash'] });
  });
});

describe('runHashPassword (pushmanager hash-password)', () => {
  const run = async (input: string) => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (d: Buffer) => (out += d.toString()));
    stderr.on('data', (d: Buffer) => (err += d.toString()));
    stdin.end(input);
    const code = await runHashPassword({ stdin, stdout, stderr });
    return { code, out, err };
  };

  it('prints a hash of the first line of stdin that verifies', async () => {
    const { code, out } = await run('hunter2\nignored\n');
    expect(code).toBe(0);
    expect(out).toMatch(/^scrypt\$\d+\$\d+\$\d+\$\S+\$\S+\n$/);
    expect(await verifyPassword('hunter2', out.trim())).toBe(true);
  });

  it('refuses an empty password with exit code 2', async () => {
    expect(await run('')).toMatchObject({ code: 2, out: '' });
    expect((await run('\n')).err).toMatch(/no password/);
  });
});
