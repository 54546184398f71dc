// TokenStore: issue/verify/expire/revoke, persistence across reopen, 0600 file with hashes only.
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TOKEN_PATTERN, TokenStore } from '../../../server/auth/token-store.js';

const DAY = 24 * 3_600_000;

describe('TokenStore', () => {
  let dir: string;
  let now: number;
  const clock = () => now;

  beforeEach(async () => {
    dir = join(await mkdtemp(join(tmpdir(), 'pm-tokens-')), 'data');
    now = Date.parse('2030-01-01T00:00:00Z');
  });
  afterEach(async () => {
    await rm(join(dir, '..'), { recursive: true, force: true });
  });

  it('issues a prefixed random token that verifies as its user', async () => {
    const store = new TokenStore(dir, { now: clock });
    const t = await store.issue('alice', { ttlMs: 30 * DAY, label: 'laptop' });
    expect(t.token).toMatch(TOKEN_PATTERN);
    expect(t.token.startsWith('pmt_')).toBe(true);
    expect(t.expiresAt).toBe('2030-01-31T00:00:00.000Z');
    expect(await store.verify(t.token)).toEqual({ ok: true, user: 'alice', id: t.id });
    const other = await store.issue('alice', { ttlMs: DAY });
    expect(other.token).not.toBe(t.token);
    expect(other.id).not.toBe(t.id);
  });

  it.each(['', 'pmt_', 'pmt_short', `xyz_${'a'.repeat(43)}`, `pmt_${'a'.repeat(43)}`, `pmt_${'a'.repeat(42)}!`])('does not know %j', async (token) => {
    const store = new TokenStore(dir, { now: clock });
    await store.issue('alice', { ttlMs: DAY });
    expect(await store.verify(token)).toEqual({ ok: false, code: 'unknown' });
  });

  it('expires tokens at expiresAt', async () => {
    const store = new TokenStore(dir, { now: clock });
    const t = await store.issue('bob', { ttlMs: 1000 });
    now += 999;
    expect((await store.verify(t.token)).ok).toBe(true);
    now += 1;
    expect(await store.verify(t.token)).toEqual({ ok: false, code: 'expired' });
  });

  it('revokes by id, only the owner’s when a user is given', async () => {
    const store = new TokenStore(dir, { now: clock });
    const t = await store.issue('bob', { ttlMs: DAY });
    expect(await store.revoke(t.id, { user: 'alice' })).toBeNull();
    expect((await store.verify(t.token)).ok).toBe(true);
    expect(await store.revoke(t.id, { user: 'bob' })).toMatchObject({ id: t.id, user: 'bob', revokedAt: '2030-01-01T00:00:00.000Z' });
    expect(await store.verify(t.token)).toEqual({ ok: false, code: 'revoked' });
    expect(await store.revoke('no-such-id')).toBeNull();
  });

  it('lists a user’s tokens newest first, without secrets or hashes', async () => {
    const store = new TokenStore(dir, { now: clock });
    const a = await store.issue('carol', { ttlMs: DAY, label: 'first' });
    now += 1000;
    const b = await store.issue('carol', { ttlMs: DAY, label: 'second' });
    await store.issue('dave', { ttlMs: DAY });
    const list = await store.list('carol');
    expect(list.map((t) => [t.id, t.label])).toEqual([
      [b.id, 'second'],
      [a.id, 'first'],
    ]);
    expect(Object.keys(list[0]!).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'label', 'revokedAt', 'user']);
  });

  it('persists across reopen: issued, revoked and expired tokens keep their answers', async () => {
    const first = new TokenStore(dir, { now: clock });
    const kept = await first.issue('alice', { ttlMs: DAY });
    const revoked = await first.issue('alice', { ttlMs: DAY });
    const short = await first.issue('alice', { ttlMs: 10 });
    await first.revoke(revoked.id);
    now += 10;
    const reopened = new TokenStore(dir, { now: clock });
    expect(await reopened.verify(kept.token)).toEqual({ ok: true, user: 'alice', id: kept.id });
    expect(await reopened.verify(revoked.token)).toEqual({ ok: false, code: 'revoked' });
    expect(await reopened.verify(short.token)).toEqual({ ok: false, code: 'expired' });
  });

  it('writes a 0600 file that holds only SHA-256 hashes, and leaves no temp files', async () => {
    const store = new TokenStore(dir, { now: clock });
    const tokens = await Promise.all([1, 2, 3, 4, 5].map((i) => store.issue(`u${i}`, { ttlMs: DAY })));
    const text = await readFile(store.file, 'utf8');
    expect((await stat(store.file)).mode & 0o777).toBe(0o600);
    for (const t of tokens) {
      expect(text).not.toContain(t.token);
      expect(text).not.toContain(t.token.slice(4));
    }
    const parsed = JSON.parse(text) as { schemaVersion: number; tokens: { sha256: string }[] };
    expect(parsed.schemaVersion).toBe(1);
    // Concurrent issues were serialised: none lost.
    expect(parsed.tokens).toHaveLength(5);
    expect(parsed.tokens.every((t) => /^[0-9a-f]{64}$/.test(t.sha256))).toBe(true);
    expect(await readdir(dir)).toEqual(['tokens.json']);
  });

  it('drops records long after they ended, so the file does not grow forever', async () => {
    const store = new TokenStore(dir, { now: clock });
    await store.issue('old', { ttlMs: 1000 });
    now += 31 * DAY;
    await store.issue('new', { ttlMs: DAY });
    expect(await store.list('old')).toEqual([]);
    expect(await store.list('new')).toHaveLength(1);
  });

  it('refuses a corrupt file instead of silently forgetting every token', async () => {
    const store = new TokenStore(dir, { now: clock });
    await store.issue('alice', { ttlMs: DAY });
    await writeFile(store.file, '{"schemaVersion": 1, "tokens": [', { mode: 0o600 });
    const reopened = new TokenStore(dir, { now: clock });
    await expect(reopened.verify(`pmt_${'a'.repeat(43)}`)).rejects.toMatchObject({ code: 'token-store-corrupt' });
    await expect(reopened.issue('bob', { ttlMs: DAY })).rejects.toMatchObject({ code: 'token-store-corrupt' });
  });

  it('refuses a non-positive ttl', async () => {
    const store = new TokenStore(dir, { now: clock });
    await expect(store.issue('alice', { ttlMs: 0 })).rejects.toMatchObject({ code: 'invalid-token-request' });
  });
});
