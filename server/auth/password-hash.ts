// Password hashing for configured users: scrypt, stored as "scrypt$N$r$p$saltB64$hashB64", compared
// in constant time. Also the plaintext comparison the demo users need.
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { AuthConfigError } from './directory.js';

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** ~100 ms and 32 MiB on a small server: slow enough for guessing, fast enough for a git push. */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };

// Bounds on parameters read from config, so a mistyped hash cannot make every login take minutes
// or allocate gigabytes.
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

export interface ParsedPasswordHash extends ScryptParams {
  readonly salt: Buffer;
  readonly hash: Buffer;
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Parses a stored hash; throws AuthConfigError naming what is wrong (never echoing the hash). */
export function parsePasswordHash(encoded: string): ParsedPasswordHash {
  const parts = encoded.split('$');
  const fail = (why: string): never => {
    throw new AuthConfigError(`invalid passwordHash: ${why} (expected "scrypt$N$r$p$salt$hash"; make one with \`pushmanager hash-password\`)`);
  };
  if (parts.length !== 6 || parts[0] !== 'scrypt') fail('not a scrypt hash');
  const [, nText, rText, pText, saltText, hashText] = parts as [string, string, string, string, string, string];
  const int = (t: string, what: string, max: number) => {
    if (!/^[1-9][0-9]{0,9}$/.test(t)) fail(`${what} is not a positive integer`);
    const v = Number(t);
    if (v > max) fail(`${what} is larger than ${max}`);
    return v;
  };
  const N = int(nText, 'N', MAX_N);
  if (N < 2 || (N & (N - 1)) !== 0) fail('N is not a power of two');
  const r = int(rText, 'r', MAX_R);
  const p = int(pText, 'p', MAX_P);
  if (!B64.test(saltText) || !B64.test(hashText)) fail('salt or hash is not base64');
  const salt = Buffer.from(saltText, 'base64');
  const hash = Buffer.from(hashText, 'base64');
  if (salt.length < 8) fail('salt is shorter than 8 bytes');
  if (hash.length < 16 || hash.length > 64) fail('hash length is not between 16 and 64 bytes');
  return { N, r, p, salt, hash };
}

function scryptAsync(password: string, salt: Buffer, keylen: number, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // Node's default maxmem (32 MiB) is exactly 128*N*r for the defaults; leave headroom.
    const maxmem = 256 * params.N * params.r + 1024 * 1024;
    scrypt(password.normalize('NFC'), salt, keylen, { N: params.N, r: params.r, p: params.p, maxmem }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

export async function hashPassword(plain: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await scryptAsync(plain, salt, KEY_LENGTH, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/** True when `plain` matches the stored hash. Throws AuthConfigError for a malformed hash. */
export async function verifyPassword(plain: string, encoded: string | ParsedPasswordHash): Promise<boolean> {
  const parsed = typeof encoded === 'string' ? parsePasswordHash(encoded) : encoded;
  const key = await scryptAsync(plain, parsed.salt, parsed.hash.length, parsed);
  return timingSafeEqual(key, parsed.hash);
}

/**
 * Constant-time equality of two secrets of any length: comparing fixed-size digests means neither
 * the content nor the length of the expected value leaks through timing.
 */
export function secretsEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}
