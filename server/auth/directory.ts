// The Directory port: who someone is (name, display name, email) and what they may do (pushmaster,
// admin). Adapters: LocalDirectory (users from config) and LdapDirectory (a company's LDAP).
import { PushmanagerError } from '../../state/pushmanager-error.js';

export interface User {
  readonly name: string;
  readonly displayName: string;
  readonly email: string | null;
  readonly pushmaster: boolean;
  readonly admin: boolean;
  /** An external CI's account: may report the results of pipeline jobs (runner: external). */
  readonly ci?: boolean;
}

export type AuthFailureCode = 'bad-credentials' | 'unknown-user' | 'rate-limited' | 'directory-unavailable';

export type AuthFailure = {
  ok: false;
  code: AuthFailureCode;
  /** Only for `rate-limited`: how long the caller should wait before trying again. */
  retryAfterMs?: number;
  message: string;
};

export type AuthResult = { ok: true; user: User } | AuthFailure;

export interface Directory {
  /** Checks a password. Expected refusals are values; it rejects only on a programming error. */
  authenticate(name: string, password: string): Promise<AuthResult>;
  /**
   * The user's current record (rights included), or null when there is no such user.
   * Throws DirectoryUnavailableError when the directory cannot be asked.
   */
  lookup(name: string): Promise<User | null>;
  close(): Promise<void>;
}

/**
 * One message for "no such user" and "wrong password", so that what a client sees does not tell
 * an attacker which user names exist. The codes still differ, for the server's own log.
 */
export const BAD_LOGIN_MESSAGE = 'invalid user name or password';

export const authFailure = (code: AuthFailureCode, message: string, retryAfterMs?: number): AuthFailure =>
  retryAfterMs === undefined ? { ok: false, code, message } : { ok: false, code, message, retryAfterMs };

/** Thrown by `Directory.lookup` (and used internally) when the directory cannot be reached or asked. */
export class DirectoryUnavailableError extends PushmanagerError {
  readonly code = 'directory-unavailable' as const;
}

/** Thrown at startup for an auth configuration that cannot be used (bad hash, unreadable CA file, …). */
export class AuthConfigError extends PushmanagerError {
  readonly code = 'auth-config-invalid' as const;
}
