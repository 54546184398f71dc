// API tokens for `pushmanager login` and git over HTTP: random secrets shown once, stored only as
// SHA-256 hashes in <dataDir>/tokens.json (mode 0600), each write atomic (temp + fsync + rename).
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { PushmanagerError } from '../../state/pushmanager-error.js';

export const TOKEN_PREFIX = 'pmt_';
/** pmt_ + 32 random bytes in base64url (43 characters). */
export const TOKEN_PATTERN = /^pmt_[A-Za-z0-9_-]{43}$/;
export const TOKEN_FILE = 'tokens.json';

/** Revoked and expired records are kept this long (so `verify` can say why), then dropped. */
const RETAIN_AFTER_END_MS = 30 * 24 * 3_600_000;

export type TokenStoreErrorCode = 'token-store-corrupt' | 'token-store-io' | 'invalid-token-request';

export class TokenStoreError extends PushmanagerError {
  constructor(
    readonly code: TokenStoreErrorCode,
    message: string,
    data: Readonly<Record<string, unknown>> = {},
    options?: { cause?: unknown },
  ) {
    super(message, data, options);
  }
}

export interface IssuedToken {
  /** The secret: shown to the user once, never stored. */
  readonly token: string;
  readonly id: string;
  readonly expiresAt: string;
}

export type TokenVerification =
  | { ok: true; user: string; id: string }
  | { ok: false; code: 'expired' | 'revoked' | 'unknown' };

export interface TokenInfo {
  readonly id: string;
  readonly user: string;
  readonly label: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly revokedAt: string | null;
}

const recordSchema = z.strictObject({
  id: z.string(),
  user: z.string(),
  label: z.string(),
  /** hex SHA-256 of the whole token string */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.string(),
  expiresAt: z.string(),
  revokedAt: z.string().nullable(),
});
type TokenRecord = z.infer<typeof recordSchema>;

const fileSchema = z.strictObject({ schemaVersion: z.literal(1), tokens: z.array(recordSchema) });

export interface TokenStoreOptions {
  readonly now?: () => number;
}

const sha256 = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

export class TokenStore {
  readonly file: string;
  private readonly now: () => number;
  private loaded: Promise<Map<string, TokenRecord>> | null = null;
  // Writes are serialised so two issues at once cannot lose one another.
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly dataDir: string,
    options: TokenStoreOptions = {},
  ) {
    this.file = join(dataDir, TOKEN_FILE);
    this.now = options.now ?? Date.now;
  }

  issue(user: string, options: { ttlMs: number; label?: string }): Promise<IssuedToken> {
    if (!Number.isSafeInteger(options.ttlMs) || options.ttlMs <= 0) {
      return Promise.reject(new TokenStoreError('invalid-token-request', 'ttlMs must be a positive integer', { ttlMs: options.ttlMs }));
    }
    return this.mutate((records) => {
      const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
      const now = this.now();
      const record: TokenRecord = {
        id: randomBytes(9).toString('base64url'),
        user,
        label: (options.label ?? '').slice(0, 200),
        sha256: sha256(token),
        createdAt: new Date(now).toISOString(),
        expiresAt: new Date(now + options.ttlMs).toISOString(),
        revokedAt: null,
      };
      records.set(record.sha256, record);
      return { token, id: record.id, expiresAt: record.expiresAt };
    });
  }

  async verify(token: string): Promise<TokenVerification> {
    if (!TOKEN_PATTERN.test(token)) return { ok: false, code: 'unknown' };
    const records = await this.load();
    // A lookup by hash of a 256-bit secret: timing can reveal at most something about the hash.
    const r = records.get(sha256(token));
    if (!r) return { ok: false, code: 'unknown' };
    if (r.revokedAt !== null) return { ok: false, code: 'revoked' };
    if (Date.parse(r.expiresAt) <= this.now()) return { ok: false, code: 'expired' };
    return { ok: true, user: r.user, id: r.id };
  }

  /**
   * Revokes a token by id. With `user`, only that user's token (so an API caller cannot revoke
   * someone else's). Returns the token's info, or null when there is no such token.
   */
  revoke(id: string, options: { user?: string } = {}): Promise<TokenInfo | null> {
    return this.mutate((records) => {
      for (const r of records.values()) {
        if (r.id !== id) continue;
        if (options.user !== undefined && r.user !== options.user) return null;
        if (r.revokedAt === null) r.revokedAt = new Date(this.now()).toISOString();
        return info(r);
      }
      return null;
    });
  }

  /** A user's tokens, newest first, without their hashes. */
  async list(user: string): Promise<TokenInfo[]> {
    const records = await this.load();
    return [...records.values()]
      .filter((r) => r.user === user)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      .map(info);
  }

  private load(): Promise<Map<string, TokenRecord>> {
    this.loaded ??= this.readFile().catch((e: unknown) => {
      this.loaded = null; // let a later call retry after the operator fixes the file
      throw e;
    });
    return this.loaded;
  }

  private async readFile(): Promise<Map<string, TokenRecord>> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw new TokenStoreError('token-store-io', `cannot read ${this.file}`, { file: this.file }, { cause: e });
    }
    let parsed: z.infer<typeof fileSchema>;
    try {
      parsed = fileSchema.parse(JSON.parse(text));
    } catch (e) {
      // Never start over with an empty file: that would silently revoke everyone's tokens.
      throw new TokenStoreError('token-store-corrupt', `${this.file} is not a valid token file; fix or remove it`, { file: this.file }, { cause: e });
    }
    return new Map(parsed.tokens.map((r) => [r.sha256, r]));
  }

  private mutate<T>(change: (records: Map<string, TokenRecord>) => T): Promise<T> {
    const run = async () => {
      const records = await this.load();
      // Work on a copy: a failed write must not leave memory ahead of the disk.
      const next = new Map([...records].map(([k, r]) => [k, { ...r }]));
      const result = change(next);
      this.prune(next);
      await this.write(next);
      this.loaded = Promise.resolve(next);
      return result;
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private prune(records: Map<string, TokenRecord>): void {
    const cutoff = this.now() - RETAIN_AFTER_END_MS;
    for (const [k, r] of records) {
      const ended = Math.min(Date.parse(r.expiresAt), r.revokedAt === null ? Infinity : Date.parse(r.revokedAt));
      if (ended < cutoff) records.delete(k);
    }
  }

  private async write(records: Map<string, TokenRecord>): Promise<void> {
    const body = `${JSON.stringify({ schemaVersion: 1, tokens: [...records.values()] }, null, 2)}\n`;
    const tmp = `${this.file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await mkdir(this.dataDir, { recursive: true, mode: 0o700 });
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(body, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.file);
      await syncDir(this.dataDir);
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw new TokenStoreError('token-store-io', `cannot write ${this.file}`, { file: this.file }, { cause: e });
    }
  }
}

const info = (r: TokenRecord): TokenInfo => ({
  id: r.id,
  user: r.user,
  label: r.label,
  createdAt: r.createdAt,
  expiresAt: r.expiresAt,
  revokedAt: r.revokedAt,
});

/** Makes the rename itself durable; some platforms cannot open a directory, which is fine. */
async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    /* best effort */
  } finally {
    await fh?.close();
  }
}
