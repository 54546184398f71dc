// Builds the auth services from the parsed `auth:` config: the directory the strategy names, the
// token store, the rate limiter and the Authenticator. Refuses unsafe setups before listening.
import type { AuthConfig } from './auth-config.js';
import { Authenticator } from './authenticator.js';
import { AuthConfigError, type Directory } from './directory.js';
import { LdapDirectory } from './ldap-directory.js';
import { checkBindSafety, LocalDirectory } from './local-directory.js';
import { RateLimiter } from './rate-limiter.js';
import { TokenStore } from './token-store.js';

export interface AuthServices {
  readonly directory: Directory;
  readonly tokens: TokenStore;
  readonly rateLimiter: RateLimiter;
  readonly authenticator: Authenticator;
  /** Lifetime of tokens issued by `pushmanager login` (auth.tokens.ttlDays). */
  readonly tokenTtlMs: number;
  close(): Promise<void>;
}

export interface CreateAuthOptions {
  /** Where tokens.json lives (the server's data directory). */
  readonly dataDir: string;
  /** The address the server listens on: plaintext passwords are refused beyond loopback. */
  readonly host: string;
  readonly now?: () => number;
}

/** Throws AuthConfigError (code `auth-config-invalid`) for an unsafe or unusable setup. */
export function createAuth(config: AuthConfig, options: CreateAuthOptions): AuthServices {
  const now = options.now ?? Date.now;
  let directory: Directory;
  if (config.strategy === 'local') {
    const safety = checkBindSafety(options.host, config.users);
    if (!safety.ok) throw new AuthConfigError(safety.message, { users: safety.users, host: options.host });
    directory = new LocalDirectory(config.users);
  } else {
    directory = new LdapDirectory(config.ldap, { now });
  }
  const tokens = new TokenStore(options.dataDir, { now });
  const rateLimiter = new RateLimiter({ ...config.rateLimit, now });
  return {
    directory,
    tokens,
    rateLimiter,
    authenticator: new Authenticator({ directory, tokens, rateLimiter }),
    tokenTtlMs: config.tokens.ttlDays * 24 * 3_600_000,
    close: () => directory.close(),
  };
}
