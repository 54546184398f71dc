// LdapDirectory: logs users in against a company LDAP (service bind → find the user's DN → bind as
// the user) and reads the pushmaster/admin groups. An unreachable LDAP is "directory-unavailable",
// never "wrong password", so nobody is told their password is wrong during an outage.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Client, InvalidCredentialsError, NoSuchObjectError, ResultCodeError, SizeLimitExceededError, type Entry } from 'ldapts';
import type { LdapConfig } from './auth-config.js';
import {
  AuthConfigError,
  authFailure,
  BAD_LOGIN_MESSAGE,
  DirectoryUnavailableError,
  type AuthResult,
  type Directory,
  type User,
} from './directory.js';

/**
 * Escapes a value for an LDAP search filter (RFC 4515 §3): `*`, `(`, `)`, `\` and NUL, plus other
 * control characters, become `\xx`. Without this a user name like `*` or `x)(uid=*` would change
 * the filter's meaning.
 */
export function escapeLdapFilterValue(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[*()\\\x00-\x1f\x7f]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export interface LdapDirectoryOptions {
  readonly now?: () => number;
  /** Cached user records at most (the stalest are dropped first). */
  readonly maxCacheEntries?: number;
  /** The server's log: an outage and its end are said there once (users see each refusal). */
  readonly log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

interface CachedUser {
  readonly user: User;
  readonly at: number;
}

/** Names no directory holds: a guard before building filters, and cheap rejects for junk. */
const plausibleName = (name: string): boolean =>
  // eslint-disable-next-line no-control-regex
  name.length > 0 && name.length <= 256 && !/[\x00-\x1f\x7f]/.test(name);

/** A user's entry: their DN and the attributes we need. */
interface FoundUser {
  readonly dn: string;
  readonly entry: Entry;
}

/** An attempt that ended in an expected refusal (not an outage). */
class Refusal {
  constructor(readonly result: AuthResult) {}
}

export class LdapDirectory implements Directory {
  private readonly tls: ConnectionOptions | undefined;
  private readonly secure: boolean;
  private readonly now: () => number;
  private readonly maxCacheEntries: number;
  private readonly cache = new Map<string, CachedUser>();
  private readonly inflight = new Map<string, Promise<User | null>>();
  private readonly log: NonNullable<LdapDirectoryOptions['log']>;
  /** Since when LDAP has failed to answer (null: it answered last time). */
  private downSince: number | null = null;

  constructor(
    private readonly config: LdapConfig,
    options: LdapDirectoryOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.maxCacheEntries = options.maxCacheEntries ?? 1000;
    this.log = options.log ?? (() => undefined);
    this.secure = config.url.toLowerCase().startsWith('ldaps:');
    if (this.secure || config.startTls) {
      let ca: string | undefined;
      if (config.tlsOptions.caFile !== undefined) {
        try {
          ca = readFileSync(config.tlsOptions.caFile, 'utf8');
        } catch (e) {
          throw new AuthConfigError(`cannot read auth.ldap.tlsOptions.caFile ${config.tlsOptions.caFile}`, { file: config.tlsOptions.caFile }, { cause: e });
        }
      }
      const host = new URL(config.url).hostname.replace(/^\[|\]$/g, '');
      this.tls = {
        rejectUnauthorized: config.tlsOptions.rejectUnauthorized,
        // SNI and hostname checks need the name; an IP address is checked against the IP SANs.
        ...(isIP(host) ? { host } : { servername: host, host }),
        ...(ca === undefined ? {} : { ca: [ca] }),
      };
    }
  }

  async authenticate(name: string, password: string): Promise<AuthResult> {
    // An empty password is an "unauthenticated bind" (RFC 4513 §5.1.2), which many servers accept:
    // it must never count as a login.
    if (password === '') return authFailure('bad-credentials', 'empty password');
    if (!plausibleName(name)) return authFailure('unknown-user', BAD_LOGIN_MESSAGE);
    try {
      const user = await this.withClients(async (connect) => {
        const service = await connect();
        await this.serviceBind(service);
        const found = await this.findUser(service, name);
        if (!found) throw new Refusal(authFailure('unknown-user', BAD_LOGIN_MESSAGE));
        const asUser = await connect();
        try {
          await asUser.bind(found.dn, password);
        } catch (e) {
          if (e instanceof InvalidCredentialsError) throw new Refusal(authFailure('bad-credentials', BAD_LOGIN_MESSAGE));
          throw e;
        }
        return this.toUser(service, name, found);
      });
      this.remember(name, user);
      this.answered();
      return { ok: true, user };
    } catch (e) {
      if (e instanceof Refusal) {
        this.answered();
        return e.result;
      }
      return authFailure('directory-unavailable', this.failed(unavailable(e)).message);
    }
  }

  /** Throws DirectoryUnavailableError when LDAP cannot be asked. */
  lookup(name: string): Promise<User | null> {
    if (!plausibleName(name)) return Promise.resolve(null);
    const key = name.toLowerCase();
    const hit = this.cache.get(key);
    if (hit && this.now() - hit.at < this.config.cacheTtlMs) return Promise.resolve(hit.user);
    // Git over HTTP makes several requests per push: share one LDAP round trip among them.
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.fetch(name).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  async close(): Promise<void> {
    this.cache.clear();
  }

  /**
   * The start-up check of the operator's settings. Without it a wrong bindDn, base DN or group name
   * surfaced only as every user's refused login, or (a group) as nobody being a pushmaster, silently.
   * Throws AuthConfigError naming the field LDAP says is wrong, DirectoryUnavailableError when LDAP
   * cannot be asked now (the caller starts anyway: logins wait for it).
   */
  async checkSettings(): Promise<void> {
    const c = this.config;
    try {
      await this.withClients(async (connect) => {
        const client = await connect();
        try {
          await client.bind(c.bindDn, c.bindPassword);
        } catch (e) {
          if (e instanceof InvalidCredentialsError) {
            throw new AuthConfigError(`auth.ldap.bindDn/bindPassword: LDAP ${c.url} refused the service account ${c.bindDn} (invalid credentials); check both`, { field: 'auth.ldap.bindDn', bindDn: c.bindDn }, { cause: e });
          }
          throw e;
        }
        const exists = async (dn: string): Promise<boolean> => {
          try {
            await client.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] });
            return true;
          } catch (e) {
            if (e instanceof NoSuchObjectError) return false;
            throw e;
          }
        };
        for (const field of ['userBase', 'groupBase'] as const) {
          if (!(await exists(c[field]))) throw new AuthConfigError(`auth.ldap.${field}: ${c[field]} does not exist on ${c.url}`, { field: `auth.ldap.${field}`, dn: c[field] });
        }
        for (const field of ['pushmasterGroup', 'adminGroup', 'ciGroup'] as const) {
          const group = c[field];
          if (group === undefined) continue;
          const found = group.includes('=')
            ? await exists(group)
            : (await client.search(c.groupBase, { scope: 'sub', filter: `(cn=${escapeLdapFilterValue(group)})`, attributes: ['1.1'] })).searchEntries.length > 0;
          if (!found) {
            const where = group.includes('=') ? `${group} does not exist on ${c.url}` : `no group with cn=${group} under ${c.groupBase}`;
            throw new AuthConfigError(`auth.ldap.${field}: ${where}, so nobody would have that role`, { field: `auth.ldap.${field}`, group });
          }
        }
      });
    } catch (e) {
      if (e instanceof AuthConfigError) throw e;
      throw unavailable(e);
    }
  }

  private async fetch(name: string): Promise<User | null> {
    try {
      const user = await this.withClients(async (connect) => {
        const service = await connect();
        await this.serviceBind(service);
        const found = await this.findUser(service, name);
        return found ? this.toUser(service, name, found) : null;
      });
      if (user) this.remember(name, user);
      this.answered();
      return user;
    } catch (e) {
      if (e instanceof Refusal) return null;
      throw this.failed(unavailable(e));
    }
  }

  /**
   * Runs `work` with fresh connections (closed afterwards, whatever happens) under one deadline,
   * so a server that accepts the TCP connection and then says nothing cannot hang a login.
   */
  private async withClients<T>(work: (connect: () => Promise<Client>) => Promise<T>): Promise<T> {
    const clients: Client[] = [];
    let finished = false;
    const connect = async () => {
      // Work that outlives the deadline must not open new connections nobody will close.
      if (finished) throw new DirectoryUnavailableError('LDAP request abandoned after its deadline');
      const client = new Client({
        url: this.config.url,
        timeout: this.config.timeoutMs,
        connectTimeout: this.config.timeoutMs,
        ...(this.secure && this.tls ? { tlsOptions: this.tls } : {}),
      });
      clients.push(client);
      if (this.config.startTls) await client.startTLS(this.tls);
      return client;
    };
    const closeAll = () => Promise.all(clients.map((c) => c.unbind().catch(() => undefined))).then(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new DirectoryUnavailableError(`LDAP ${this.config.url} did not answer within ${this.config.timeoutMs} ms`, { url: this.config.url })),
        this.config.timeoutMs,
      );
    });
    const running = work(connect);
    try {
      return await Promise.race([running, deadline]);
    } finally {
      finished = true;
      clearTimeout(timer);
      await closeAll();
      // If the deadline won, ldapts may reconnect for a late operation: close again once the
      // abandoned work settles (its failure is expected and already reported).
      void running.then(closeAll, closeAll);
    }
  }

  private async serviceBind(client: Client): Promise<void> {
    try {
      await client.bind(this.config.bindDn, this.config.bindPassword);
    } catch (e) {
      // The service account's password is the operator's problem, not the user's: say so.
      if (e instanceof InvalidCredentialsError) {
        throw new DirectoryUnavailableError(`LDAP refused the service account ${this.config.bindDn}; check auth.ldap.bindDn and bindPassword`, { bindDn: this.config.bindDn }, { cause: e });
      }
      throw e;
    }
  }

  private async findUser(client: Client, name: string): Promise<FoundUser | null> {
    const c = this.config;
    const filter = c.userFilter.replaceAll('{user}', escapeLdapFilterValue(name));
    let entries: Entry[];
    try {
      ({ searchEntries: entries } = await client.search(c.userBase, {
        scope: 'sub',
        filter,
        sizeLimit: 2,
        attributes: [c.userNameAttribute, c.displayNameAttribute, c.emailAttribute],
      }));
    } catch (e) {
      // More than one match: the filter is not specific enough; refuse rather than pick one.
      if (e instanceof SizeLimitExceededError) return null;
      if (e instanceof NoSuchObjectError) throw new DirectoryUnavailableError(`auth.ldap.userBase ${c.userBase} does not exist`, {}, { cause: e });
      throw e;
    }
    if (entries.length !== 1 || !entries[0]) return null;
    return { dn: entries[0].dn, entry: entries[0] };
  }

  private async toUser(client: Client, given: string, found: FoundUser): Promise<User> {
    const c = this.config;
    const name = firstValue(found.entry, c.userNameAttribute) ?? given;
    const [pushmaster, admin, ci] = await Promise.all([
      this.isMember(client, c.pushmasterGroup, found.dn, name),
      c.adminGroup === undefined ? false : this.isMember(client, c.adminGroup, found.dn, name),
      c.ciGroup === undefined ? false : this.isMember(client, c.ciGroup, found.dn, name),
    ]);
    return {
      name,
      displayName: firstValue(found.entry, c.displayNameAttribute) ?? name,
      email: firstValue(found.entry, c.emailAttribute) ?? null,
      pushmaster,
      admin,
      ...(ci && { ci: true }),
    };
  }

  /** `group` is a DN (contains "=") or a cn under groupBase. */
  private async isMember(client: Client, group: string, userDn: string, userName: string): Promise<boolean> {
    const c = this.config;
    const member = `(${c.groupMemberAttribute}=${escapeLdapFilterValue(c.groupMemberAttribute === 'member' ? userDn : userName)})`;
    try {
      const { searchEntries } = group.includes('=')
        ? await client.search(group, { scope: 'base', filter: member, attributes: ['1.1'] })
        : await client.search(c.groupBase, { scope: 'sub', filter: `(&(cn=${escapeLdapFilterValue(group)})${member})`, attributes: ['1.1'] });
      return searchEntries.length > 0;
    } catch (e) {
      // A configured group that does not exist has no members.
      if (e instanceof NoSuchObjectError) return false;
      throw e;
    }
  }

  private failed(e: DirectoryUnavailableError): DirectoryUnavailableError {
    if (this.downSince === null) {
      this.downSince = this.now();
      const what = e.message.startsWith('LDAP is ') ? e.message.replace('LDAP', `LDAP ${this.config.url}`) : `LDAP ${this.config.url}: ${e.message}`;
      this.log('warn', `${what}; logins and API tokens are refused (503) until it answers`);
    }
    return e;
  }

  private answered(): void {
    if (this.downSince === null) return;
    const seconds = Math.round((this.now() - this.downSince) / 1000);
    this.downSince = null;
    this.log('info', `LDAP ${this.config.url} answers again (unavailable for ${seconds} s)`);
  }

  private remember(name: string, user: User): void {
    const key = name.toLowerCase();
    this.cache.delete(key);
    this.cache.set(key, { user, at: this.now() });
    for (const k of this.cache.keys()) {
      if (this.cache.size <= this.maxCacheEntries) break;
      this.cache.delete(k);
    }
  }
}

function firstValue(entry: Entry, attribute: string): string | undefined {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  const v: unknown = key === undefined ? undefined : entry[key];
  const first: unknown = Array.isArray(v) ? v[0] : v;
  if (typeof first === 'string') return first === '' ? undefined : first;
  if (Buffer.isBuffer(first)) return first.toString('utf8') || undefined;
  return undefined;
}

/** Any failure that is not an expected refusal: connection refused, timeout, protocol error, … */
function unavailable(e: unknown): DirectoryUnavailableError {
  if (e instanceof DirectoryUnavailableError) return e;
  const detail =
    e instanceof ResultCodeError
      ? `LDAP error ${e.code}: ${e.message}`
      : e instanceof Error
        ? `${(e as NodeJS.ErrnoException).code ?? e.name}: ${e.message}`
        : String(e);
  return new DirectoryUnavailableError(`LDAP is unavailable (${detail})`, {}, { cause: e });
}
