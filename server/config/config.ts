// Configuration: YAML parsed at the edge into typed values. An unknown key or a wrong type stops start-up
// with the file, the key path and what was expected. Every section a feature does not need is optional.
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { DEMO_AUTH_CONFIG_INPUT, authConfigSchema } from '../auth/auth-config.js';
import { notifyConfigSchema, type NotifyConfig } from '../notify/notify-config.js';
import { integrationsConfigSchema, type IntegrationsConfig } from '../integrations/integrations-config.js';
import { PushmanagerError } from '../../state/pushmanager-error.js';
import { pipelineConfigSchema, type PipelineConfig } from '../pipeline/pipeline-config.js';

const refSafe = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;

/**
 * Why a tag template cannot name every certified push's tag, or null. Checked at start-up: found at
 * certify, it would stop the day's last step. `{id}` makes each push's tag its own; the rest is
 * `git check-ref-format`'s rules for one name under refs/tags/.
 */
function tagTemplateProblem(template: string): string | null {
  const unknown = /\{(?!id\}|date\})[^{}]*\}/.exec(template);
  if (unknown) return `unknown placeholder ${unknown[0]}; the template takes {id} (the push id) and {date} (YYYYMMDD)`;
  if (!template.includes('{id}')) return `needs {id}, or every certified push would get the same tag (e.g. push-{date}-{id})`;
  const name = template.replaceAll('{id}', '1').replaceAll('{date}', '20261201');
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]|\.\.|@\{|\/\/|^[-./]|[./]$|\.lock$|\.lock\/|\/\./.test(name) || name === '@')
    return `${JSON.stringify(template)} does not make a git tag name (no spaces, none of ~^:?*[\\, no "..", not starting with "-" or ".")`;
  return null;
}

export const serverConfigSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(7080),
  /** Where repositories and local state live; relative paths are relative to the working directory. */
  dataDir: z.string().min(1).default('./data'),
  /** The URL users clone from, when the server sits behind a proxy. */
  publicUrl: z.url().optional(),
  /** Largest API body accepted (git pushes are streamed and not limited by this). */
  /** Serve /metrics beyond loopback (it holds counts only, no names). */
  metricsPublic: z.boolean().default(false),
  maxBodyBytes: z.number().int().min(1024).max(100 * 1024 * 1024).default(1024 * 1024),
  tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
});

export const repositoryConfigSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-"').default('main'),
  master: z.string().regex(refSafe).default('master'),
  metadataBranch: z.string().regex(refSafe).default('pushmanager/meta'),
  deployBranchPrefix: z.string().regex(refSafe).default('deploy/'),
  /** Tag name of a certified push: {date} is YYYYMMDD, {id} the push id. */
  tagTemplate: z.string().min(1).superRefine((t, ctx) => {
    const why = tagTemplateProblem(t);
    if (why) ctx.addIssue({ code: 'custom', message: why });
  }).default('push-{date}-{id}'),
  /** One accepting push at a time (the original's behaviour). */
  singleAcceptingPush: z.boolean().default(true),
  /** Largest pack one push may send (git's receive.maxInputSize): a pushee cannot fill the server's disk. */
  maxPushBytes: z.number().int().min(1024 * 1024).default(2 * 1024 ** 3),
});

export const configSchema = z.strictObject({
  server: serverConfigSchema.default(serverConfigSchema.parse({})),
  repository: repositoryConfigSchema.default(repositoryConfigSchema.parse({})),
  auth: z.unknown().optional(),
  notifications: z.unknown().optional(),
  integrations: z.unknown().optional(),
  pipeline: z.unknown().optional(),
});

export type ServerConfig = z.infer<typeof serverConfigSchema>;
export type RepositoryConfig = z.infer<typeof repositoryConfigSchema>;
export interface Config {
  readonly server: ServerConfig;
  readonly repository: RepositoryConfig;
  readonly auth: z.infer<typeof authConfigSchema>;
  readonly notifications: NotifyConfig;
  readonly integrations: IntegrationsConfig;
  /** Absent in the file = no jobs. */
  readonly pipeline: PipelineConfig;
  /** Where the config came from, for messages. */
  readonly source: string;
}

export class ConfigError extends PushmanagerError {
  readonly code = 'config-invalid' as const;
  declare readonly data: { readonly source: string; readonly issues: readonly { path: string; message: string }[] };
  constructor(
    readonly source: string,
    readonly issues: readonly { path: string; message: string }[],
  ) {
    super(`${source}: invalid configuration:\n${issues.map((i) => `  - ${i.path || '(top level)'}: ${i.message}`).join('\n')}`, { source, issues });
  }
}

const issuePath = (path: readonly PropertyKey[]) => path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[');

// zod's own words ("Invalid input: expected string, received undefined", "Unrecognized key") name its
// types, not the file's. The schema is walked (zod's `_zod.def`) to name the keys a mapping takes.
interface SchemaDef {
  readonly type: string;
  readonly shape?: Readonly<Record<string, Walkable>>;
  readonly innerType?: Walkable;
  readonly element?: Walkable;
  readonly in?: Walkable;
  readonly options?: readonly Walkable[];
  readonly discriminator?: string;
  readonly values?: readonly unknown[];
}
interface Walkable {
  readonly _zod: { readonly def: SchemaDef };
}
const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch', 'nonoptional']);

function unwrap(s: Walkable, value: unknown): Walkable {
  for (;;) {
    const d = s._zod.def;
    if (WRAPPERS.has(d.type) && d.innerType) s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else if (d.type === 'union' && d.options?.length) {
      // A discriminated union (auth.strategy): the option the file chose, else the first.
      const tag = d.discriminator && value && typeof value === 'object' ? (value as Record<string, unknown>)[d.discriminator] : undefined;
      s = d.options.find((o) => unwrap(o, undefined)._zod.def.shape?.[d.discriminator ?? '']?._zod.def.values?.includes(tag)) ?? d.options[0]!;
    } else return s;
  }
}

const valueAt = (raw: unknown, path: readonly PropertyKey[]): unknown =>
  path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined), raw);

/** The keys the mapping at `path` takes, or null where the schema holds no fixed mapping there. */
function knownKeys(schema: Walkable, raw: unknown, path: readonly PropertyKey[]): string[] | null {
  let s = unwrap(schema, raw);
  for (let i = 0; i < path.length; i++) {
    const d = s._zod.def;
    const next = typeof path[i] === 'number' ? (d.type === 'array' ? d.element : undefined) : d.shape?.[String(path[i])];
    if (!next) return null;
    s = unwrap(next, valueAt(raw, path.slice(0, i + 1)));
  }
  const shape = s._zod.def.shape;
  return shape ? Object.keys(shape) : null;
}

/** Edits from a to b, a swap of two neighbours counting one ("prot" → "port": 1). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  return d[a.length]![b.length]!;
}

/** The known key a typo most likely meant ("prot" → "port", "sever" → "server"), if one is close. */
function closest(key: string, known: readonly string[]): string | undefined {
  const scored = known.map((k) => ({ k, d: k.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key.toLowerCase(), k.toLowerCase()) }));
  const best = scored.sort((a, b) => a.d - b.d)[0];
  return best && best.d <= Math.max(1, Math.floor(Math.min(key.length, best.k.length) / 3)) ? best.k : undefined;
}

const TYPE_WORDS: Readonly<Record<string, string>> = { string: 'a string', number: 'a number', int: 'a whole number', boolean: 'true or false', object: 'a mapping (key: value lines)', array: 'a list', record: 'a mapping (key: value lines)' };

/** What the file had at a key, in the file's words. */
function described(v: unknown): string {
  if (v === null) return 'nothing (an empty value)';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v)}`;
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v === 'boolean' ? '' : `${typeof v} `}${String(v)}`;
}

function issueMessage(i: z.core.$ZodIssue, schema: Walkable, raw: unknown): string {
  const value = valueAt(raw, i.path);
  switch (i.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(schema, raw, i.path) ?? [];
      return i.keys
        .map((k) => {
          const near = closest(k, known);
          return `unknown key "${k}"${near ? `: did you mean "${near}"?` : ''}${known.length ? ` (known: ${known.join(', ')})` : ''}`;
        })
        .join('; ');
    }
    case 'invalid_type': {
      const expected = TYPE_WORDS[i.expected] ?? i.expected;
      if (value === undefined) return `missing: expected ${expected}`;
      return i.expected === 'int' ? 'expected a whole number' : `expected ${expected}, got ${described(value)}`;
    }
    case 'invalid_value':
      return `expected ${i.values.length > 1 ? 'one of ' : ''}${i.values.map((v) => JSON.stringify(v)).join(', ')}; got ${described(value)}`;
    case 'invalid_union': {
      const options = (i as { options?: unknown[] }).options;
      if (options?.length) return `expected ${options.map((v) => JSON.stringify(v)).join(' or ')}; got ${value === undefined ? 'nothing' : described(value)}`;
      return i.message;
    }
    default:
      return i.message;
  }
}

function zodIssues(err: z.ZodError, schema: Walkable, raw: unknown, prefix = ''): { path: string; message: string }[] {
  return err.issues.map((i) => ({ path: [prefix, issuePath(i.path)].filter(Boolean).join('.'), message: issueMessage(i, schema, raw) }));
}

/** Parses YAML text into a validated config; throws ConfigError naming the file and each bad key. */
export function parseConfig(text: string, source: string): Config {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) throw new ConfigError(source, doc.errors.map((e) => ({ path: `line ${e.linePos?.[0]?.line ?? '?'}`, message: e.message.split('\n')[0]! })));
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (e) {
    throw new ConfigError(source, [{ path: '', message: `the YAML cannot be read: ${(e as Error).message}` }]);
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(source, [{ path: '', message: `expected a mapping of sections (${Object.keys(configSchema.shape).join(', ')})` }]);
  const base = configSchema.safeParse(raw);
  if (!base.success) throw new ConfigError(source, zodIssues(base.error, configSchema, raw));
  const section = (name: 'auth' | 'notifications' | 'integrations' | 'pipeline', fallback: unknown = {}) => (raw as Record<string, unknown>)[name] ?? fallback;
  const auth = authConfigSchema.safeParse(section('auth', DEMO_AUTH_CONFIG_INPUT));
  if (!auth.success) throw new ConfigError(source, zodIssues(auth.error, authConfigSchema, section('auth'), 'auth'));
  const notifications = notifyConfigSchema.safeParse(section('notifications'));
  if (!notifications.success) throw new ConfigError(source, zodIssues(notifications.error, notifyConfigSchema, section('notifications'), 'notifications'));
  const integrations = integrationsConfigSchema.safeParse(section('integrations'));
  if (!integrations.success) throw new ConfigError(source, zodIssues(integrations.error, integrationsConfigSchema, section('integrations'), 'integrations'));
  const pipeline = pipelineConfigSchema.safeParse(section('pipeline'));
  if (!pipeline.success) throw new ConfigError(source, zodIssues(pipeline.error, pipelineConfigSchema, section('pipeline'), 'pipeline'));
  return { server: base.data.server, repository: base.data.repository, auth: auth.data, notifications: notifications.data, integrations: integrations.data, pipeline: pipeline.data, source };
}

export async function loadConfig(path: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'not readable by this user (EACCES)' : code === 'EISDIR' ? 'a directory, not a file' : (code ?? (e as Error).message);
    throw new ConfigError(path, [{ path: '', message: `cannot read the config file: ${why}` }]);
  }
  return parseConfig(text, path);
}
