// The one door for every request: parses an HTTP Authorization header (Basic user:password, where
// the password may be an API token, or Bearer token), applies the login rate limits, and answers
// with an AuthResult. Bad input is a refusal with a clear message, never an exception.
import { createHash } from 'node:crypto';
import type { RateLimiter } from './rate-limiter.js';
import { addressKey, pairKey } from './rate-limiter.js';
import { authFailure, DirectoryUnavailableError, type AuthResult, type Directory, type User } from './directory.js';
import { throttleAddress } from './net-address.js';
import { TOKEN_PATTERN, type TokenStore } from './token-store.js';

/** Longer headers are refused before any decoding (real ones are well under 1 KiB). */
export const MAX_AUTHORIZATION_LENGTH = 4096;
export const MAX_USER_NAME_LENGTH = 256;
export const MAX_PASSWORD_LENGTH = 1024;

export type ParsedAuthorization =
  | { ok: true; scheme: 'basic'; user: string; password: string }
  | { ok: true; scheme: 'bearer'; token: string }
  | { ok: false; message: string };

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

/** Strict parsing of an Authorization header value (RFC 7617 Basic, RFC 6750 Bearer). Pure. */
export function parseAuthorization(header: string): ParsedAuthorization {
  const bad = (message: string): ParsedAuthorization => ({ ok: false, message });
  if (header.length > MAX_AUTHORIZATION_LENGTH) return bad(`Authorization header longer than ${MAX_AUTHORIZATION_LENGTH} characters`);
  const m = /^([A-Za-z]+) +(\S+)$/.exec(header.trim());
  if (!m) return bad('Authorization header is not "Basic <base64>" or "Bearer <token>"');
  const scheme = m[1]!.toLowerCase();
  const credentials = m[2]!;
  if (scheme === 'bearer') {
    if (!TOKEN68.test(credentials)) return bad('Bearer token has characters a token cannot have');
    return { ok: true, scheme: 'bearer', token: credentials };
  }
  if (scheme !== 'basic') return bad(`unsupported authentication scheme "${m[1]!.slice(0, 20)}" (use Basic or Bearer)`);
  if (!BASE64.test(credentials)) return bad('Basic credentials are not valid base64');
  let decoded: string;
  try {
    decoded = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(credentials, 'base64'));
  } catch {
    return bad('Basic credentials are not valid UTF-8');
  }
  const colon = decoded.indexOf(':');
  if (colon < 0) return bad('Basic credentials have no ":" between user name and password');
  const user = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  if (user === '') return bad('Basic credentials have an empty user name');
  if (password === '') return bad('Basic credentials have an empty password');
  if (user.length > MAX_USER_NAME_LENGTH) return bad(`user name longer than ${MAX_USER_NAME_LENGTH} characters`);
  if (password.length > MAX_PASSWORD_LENGTH) return bad(`password longer than ${MAX_PASSWORD_LENGTH} characters`);
  if (CONTROL.test(user) || CONTROL.test(password)) return bad('user name or password contains control characters');
  return { ok: true, scheme: 'basic', user, password };
}

export interface AuthenticatorOptions {
  readonly directory: Directory;
  readonly tokens: TokenStore;
  readonly rateLimiter: RateLimiter;
}

export class Authenticator {
  private directory: Directory;
  private readonly tokens: TokenStore;
  private readonly limiter: RateLimiter;
  private readonly recent = new Map<string, { user: User; until: number }>();

  constructor(options: AuthenticatorOptions) {
    this.directory = options.directory;
    this.tokens = options.tokens;
    this.limiter = options.rateLimiter;
  }

  /** The directory in use; replaced when the config is reloaded (users, groups). */
  get currentDirectory(): Directory {
    return this.directory;
  }

  /** Swaps the directory (a config reload); forgets remembered logins, since users or passwords changed. */
  setDirectory(d: Directory): void {
    this.directory = d;
    this.recent.clear();
  }

  /**
   * A missing header is `bad-credentials` too (the HTTP layer answers 401 with a Basic challenge,
   * which is what makes git ask for credentials); it does not count as a failed login.
   */
  async authenticateHeader(authorizationHeader: string | undefined, remoteAddress: string): Promise<AuthResult> {
    if (authorizationHeader === undefined || authorizationHeader.trim() === '') {
      return authFailure('bad-credentials', 'authentication required');
    }
    const address = throttleAddress(remoteAddress);
    const parsed = parseAuthorization(authorizationHeader);
    if (!parsed.ok) {
      // Junk costs the sender like a wrong password: otherwise it is a free probe.
      return this.guarded(address, null, async () => authFailure('bad-credentials', parsed.message));
    }
    if (parsed.scheme === 'bearer') return this.guarded(address, null, () => this.viaToken(parsed.token, null));
    return this.authenticatePassword(parsed.user, parsed.password, remoteAddress);
  }

  /** User name + password (or an API token in the password's place, as git over HTTP sends it). */
  async authenticatePassword(name: string, password: string, remoteAddress: string): Promise<AuthResult> {
    const address = throttleAddress(remoteAddress);
    if (TOKEN_PATTERN.test(password)) return this.guarded(address, name, () => this.viaToken(password, name));
    return this.guarded(address, name, async () => {
      if (password === '') return authFailure('bad-credentials', 'empty password');
      // A git push is two HTTP requests, each with the password; scrypt costs ~100 ms of CPU. Remember a
      // success briefly (by a hash of name and password, never the password) so a push pays it once.
      const key = createHash('sha256').update(`${name}\0${password}`).digest('hex');
      const hit = this.recent.get(key);
      if (hit && hit.until > Date.now()) return { ok: true, user: hit.user };
      const result = await this.directory.authenticate(name, password);
      if (result.ok) {
        if (this.recent.size >= 1000) this.recent.delete(this.recent.keys().next().value!);
        this.recent.set(key, { user: result.user, until: Date.now() + 60_000 });
      }
      return result;
    });
  }

  /**
   * Runs an attempt behind the login throttle and records how it went. Never throws. Failures count
   * for the user name at this address and for the address; nothing counts for the name alone, so
   * wrong passwords elsewhere never refuse a right one from here (issue 13).
   */
  private async guarded(address: string, name: string | null, attempt: () => Promise<AuthResult>): Promise<AuthResult> {
    const keys = name === null ? [addressKey(address)] : [pairKey(address, name), addressKey(address)];
    const gate = this.limiter.check(keys);
    if (!gate.ok) {
      const seconds = Math.ceil(gate.retryAfterMs / 1000);
      // The client's own address, as the server saw it: behind a proxy or NAT that explains a lot.
      const who = name !== null && gate.key === keys[0] ? `for ${name} from ${address}` : `from ${address}`;
      return authFailure('rate-limited', `too many failed logins ${who}; try again in ${seconds} s`, gate.retryAfterMs);
    }
    let result: AuthResult;
    try {
      result = await attempt();
    } catch (e) {
      result = authFailure('directory-unavailable', e instanceof Error ? `authentication failed: ${e.message}` : 'authentication failed');
    }
    if (result.ok) {
      // The address key keeps counting: one good account must not launder an address's guesses.
      if (name !== null) this.limiter.recordSuccess(pairKey(address, name));
      this.limiter.recordSuccess(pairKey(address, result.user.name));
    } else if (result.code === 'bad-credentials' || result.code === 'unknown-user') {
      // An outage is nobody's failed guess: only refusals count.
      this.limiter.recordFailure(keys);
    }
    return result;
  }

  /** `expectedUser` is the Basic user name the token came with (null for Bearer). */
  private async viaToken(token: string, expectedUser: string | null): Promise<AuthResult> {
    const v = await this.tokens.verify(token);
    if (!v.ok) {
      const why = { expired: 'API token has expired; run `pushmanager login` again', revoked: 'API token was revoked', unknown: 'unknown API token' }[v.code];
      return authFailure('bad-credentials', why);
    }
    if (expectedUser !== null && expectedUser.toLowerCase() !== v.user.toLowerCase()) {
      return authFailure('bad-credentials', `this API token belongs to another user than ${expectedUser}`);
    }
    try {
      // The token says who; the directory says what they may do today (rights can change).
      const user = await this.directory.lookup(v.user);
      return user ? { ok: true, user } : authFailure('unknown-user', `user ${v.user} of this API token no longer exists`);
    } catch (e) {
      if (e instanceof DirectoryUnavailableError) return authFailure('directory-unavailable', e.message);
      throw e;
    }
  }
}
