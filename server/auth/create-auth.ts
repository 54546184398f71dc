// Builds the auth services from the parsed `auth:` config: the directory the strategy names, the
// token store, the rate limiter and the Authenticator. Refuses unsafe setups before listening.
import type { AuthConfig } from './auth-config.js';
import { Authenticator } from './authenticator.js';
import { AuthConfigError, DirectoryUnavailableError, type Directory } from './directory.js';
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
  /**
   * Checks the directory's settings against the directory itself (LDAP: service account, bases,
   * groups). Throws AuthConfigError naming the wrong field; resolves to a warning for the log when
   * the directory cannot be asked now (the server starts anyway), null when all is well.
   */
  checkDirectory(): Promise<string | null>;
  close(): Promise<void>;
}

export interface CreateAuthOptions {
  /** Where tokens.json lives (the server's data directory). */
  readonly dataDir: string;
  /** The address the server listens on: plaintext passwords are refused beyond loopback. */
  readonly host: string;
  readonly now?: () => number;
  /** The server's log (an LDAP outage and its end are said there). */
  readonly log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/** Throws AuthConfigError (code `auth-config-invalid`) for an unsafe or unusable setup. */
export function createAuth(config: AuthConfig, options: CreateAuthOptions): AuthServices {
  const now = options.now ?? Date.now;
  let directory: Directory;
  let checkDirectory = async (): Promise<string | null> => null;
  if (config.strategy === 'local') {
    const safety = checkBindSafety(options.host, config.users);
    if (!safety.ok) throw new AuthConfigError(safety.message, { users: safety.users, host: options.host });
    directory = new LocalDirectory(config.users);
  } else {
    const ldap = new LdapDirectory(config.ldap, { now, ...(options.log && { log: options.log }) });
    directory = ldap;
    checkDirectory = async () => {
      try {
        await ldap.checkSettings();
        return null;
      } catch (e) {
        if (!(e instanceof DirectoryUnavailableError)) throw e;
        return `${e.message}; starting anyway: logins are refused (503, "LDAP is unavailable") until it answers`;
      }
    };
  }
  const tokens = new TokenStore(options.dataDir, { now });
  const rateLimiter = new RateLimiter({ ...config.rateLimit, now });
  return {
    directory,
    tokens,
    rateLimiter,
    authenticator: new Authenticator({ directory, tokens, rateLimiter }),
    tokenTtlMs: config.tokens.ttlDays * 24 * 3_600_000,
    checkDirectory,
    close: () => directory.close(),
  };
}
