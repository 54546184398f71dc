// The `auth:` section of the config: which directory (local users or LDAP), API token lifetime and
// login rate limits. Parsed once at startup; unknown keys are refused so a typo is not ignored.
import { z } from 'zod';
import { AuthConfigError } from './directory.js';
import { isLoopbackHost } from './net-address.js';
import { parsePasswordHash } from './password-hash.js';

// Letters, digits, dot, underscore, hyphen; not starting with a hyphen (it would read as a CLI
// flag) and short. User names end up in refs, commit trailers and notifications.
const USER_NAME = /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,63}$/;

export const userNameSchema = z
  .string()
  .regex(USER_NAME, 'user names are 1–64 letters, digits, ".", "_" or "-", not starting with "-"');

export const localUserSchema = z
  .strictObject({
    name: userNameSchema,
    displayName: z.string().min(1).max(200).optional(),
    /** Plaintext, for the demo only: refused when the server listens beyond loopback. */
    password: z.string().min(1).optional(),
    /** scrypt, "scrypt$N$r$p$saltB64$hashB64", made by `pushmanager hash-password`. */
    passwordHash: z
      .string()
      .superRefine((v, ctx) => {
        try {
          parsePasswordHash(v);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: e instanceof Error ? e.message : String(e) });
        }
      })
      .optional(),
    email: z.email().optional(),
    pushmaster: z.boolean().default(false),
    admin: z.boolean().default(false),
    /** The ci role: may report external pipeline jobs' results (`pushmanager job report`), for a CI's account. */
    ci: z.boolean().optional(),
  })
  .refine((u) => (u.password === undefined) !== (u.passwordHash === undefined), {
    message: 'give exactly one of password (demo only) or passwordHash',
  });

const tlsOptionsSchema = z.strictObject({
  /** PEM file of the CA that signed the LDAP server's certificate. */
  caFile: z.string().min(1).optional(),
  rejectUnauthorized: z.boolean().default(true),
});

export const ldapConfigSchema = z
  .strictObject({
    url: z.string().regex(/^ldaps?:\/\/[^/\s]+\/?$/i, 'url is ldap://host[:port] or ldaps://host[:port]'),
    startTls: z.boolean().default(false),
    tlsOptions: tlsOptionsSchema.prefault({}),
    /** Service account used to find users and read groups. */
    bindDn: z.string().min(1),
    bindPassword: z.string().min(1),
    userBase: z.string().min(1),
    /** `{user}` is replaced by the (RFC 4515 escaped) user name. */
    userFilter: z
      .string()
      .default('(uid={user})')
      .refine((f) => f.includes('{user}') && f.startsWith('(') && f.endsWith(')'), {
        message: 'userFilter is a parenthesised LDAP filter containing {user}, e.g. (uid={user})',
      }),
    userNameAttribute: z.string().min(1).default('uid'),
    displayNameAttribute: z.string().min(1).default('cn'),
    emailAttribute: z.string().min(1).default('mail'),
    groupBase: z.string().min(1),
    /** A group DN ("cn=pushmasters,ou=groups,dc=example,dc=com") or a cn under groupBase. */
    pushmasterGroup: z.string().min(1),
    adminGroup: z.string().min(1).optional(),
    /** Members have the ci role (an external CI's accounts, which report pipeline jobs' results). */
    ciGroup: z.string().min(1).optional(),
    /** `member` (groupOfNames: values are user DNs) or `memberUid` (posixGroup: values are user names). */
    groupMemberAttribute: z.enum(['member', 'memberUid']).default('member'),
    timeoutMs: z.number().int().min(100).max(60_000).default(5_000),
    /** How long a user's record (rights included) is reused before asking LDAP again. */
    cacheTtlMs: z.number().int().min(0).max(3_600_000).default(60_000),
    /** Allow passwords in cleartext to a non-loopback ldap:// server without StartTLS. */
    allowInsecure: z.boolean().default(false),
  })
  .superRefine((c, ctx) => {
    const url = new URL(c.url);
    if (url.protocol === 'ldap:' && !c.startTls && !c.allowInsecure && !isLoopbackHost(url.hostname)) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: `passwords would cross the network in cleartext to ${url.hostname}: use ldaps://, startTls: true, or (not recommended) allowInsecure: true`,
      });
    }
    if (url.protocol === 'ldaps:' && c.startTls) {
      ctx.addIssue({ code: 'custom', path: ['startTls'], message: 'startTls is for ldap:// URLs; ldaps:// is already TLS' });
    }
  });

export const tokensConfigSchema = z.strictObject({
  ttlDays: z.number().int().min(1).max(3650).default(30),
});

export const rateLimitConfigSchema = z
  .strictObject({
    maxFailures: z.number().int().min(1).max(1000).default(5),
    windowMs: z.number().int().min(1000).default(15 * 60_000),
    baseDelayMs: z.number().int().min(1).default(1_000),
    maxDelayMs: z.number().int().min(1).default(15 * 60_000),
    /** Keys (user names and addresses) remembered at most; the oldest are forgotten first. */
    maxKeys: z.number().int().min(10).max(10_000_000).default(100_000),
  })
  .refine((r) => r.maxDelayMs >= r.baseDelayMs, { message: 'maxDelayMs must be at least baseDelayMs', path: ['maxDelayMs'] });

const common = {
  tokens: tokensConfigSchema.prefault({}),
  rateLimit: rateLimitConfigSchema.prefault({}),
};

export const localAuthConfigSchema = z.strictObject({
  strategy: z.literal('local'),
  users: z
    .array(localUserSchema)
    .min(1)
    .superRefine((users, ctx) => {
      const seen = new Set<string>();
      users.forEach((u, i) => {
        const key = u.name.toLowerCase();
        if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate user ${u.name}` });
        seen.add(key);
      });
    }),
  ...common,
});

export const ldapAuthConfigSchema = z.strictObject({
  strategy: z.literal('ldap'),
  ldap: ldapConfigSchema,
  ...common,
});

export const authConfigSchema = z.discriminatedUnion('strategy', [localAuthConfigSchema, ldapAuthConfigSchema]);

export type LocalUserConfig = z.infer<typeof localUserSchema>;
/** What callers may write (defaults not yet applied). */
export type LocalUserInput = z.input<typeof localUserSchema>;
export type LdapConfig = z.infer<typeof ldapConfigSchema>;
export type LdapConfigInput = z.input<typeof ldapConfigSchema>;
export type TokensConfig = z.infer<typeof tokensConfigSchema>;
export type RateLimitConfig = z.infer<typeof rateLimitConfigSchema>;
export type LocalAuthConfig = z.infer<typeof localAuthConfigSchema>;
export type LdapAuthConfig = z.infer<typeof ldapAuthConfigSchema>;
export type AuthConfig = z.infer<typeof authConfigSchema>;
export type AuthConfigInput = z.input<typeof authConfigSchema>;

/** SPEC §5: alice, bob, carol (engineers) and pm (pushmaster); each password is the user's name. */
export const DEMO_USERS: readonly LocalUserInput[] = [
  { name: 'alice', password: 'alice', email: 'alice@example.com' },
  { name: 'bob', password: 'bob', email: 'bob@example.com' },
  { name: 'carol', password: 'carol', email: 'carol@example.com' },
  { name: 'pm', displayName: 'Pushmaster', password: 'pm', email: 'pm@example.com', pushmaster: true },
];

/** The demo default, used when the config has no `auth:` section. */
export const DEMO_AUTH_CONFIG_INPUT: AuthConfigInput = { strategy: 'local', users: [...DEMO_USERS] };

/**
 * Parses the `auth:` section (undefined → the demo default). Throws AuthConfigError whose message
 * lists every problem with its path, e.g. `auth.users[1].passwordHash: …`.
 */
export function parseAuthConfig(input: unknown, path = 'auth'): AuthConfig {
  const r = authConfigSchema.safeParse(input === undefined ? DEMO_AUTH_CONFIG_INPUT : input);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => `${formatPath(path, i.path)}: ${i.message}`);
  throw new AuthConfigError(`invalid auth config:\n  ${lines.join('\n  ')}`, { issues: lines });
}

function formatPath(root: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : `${acc}.${String(p)}`), root);
}

/** The parsed demo default. */
export const demoAuthConfig = (): LocalAuthConfig => parseAuthConfig(undefined) as LocalAuthConfig;
