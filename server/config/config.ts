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
  tagTemplate: z.string().min(1).default('push-{date}-{id}'),
  /** One accepting push at a time (the original's behaviour). */
  singleAcceptingPush: z.boolean().default(true),
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

function zodIssues(err: z.ZodError, prefix = ''): { path: string; message: string }[] {
  return err.issues.map((i) => {
    const path = [prefix, issuePath(i.path)].filter(Boolean).join('.');
    const keys = i.code === 'unrecognized_keys' ? ` (unknown key${i.keys.length > 1 ? 's' : ''}: ${i.keys.join(', ')})` : '';
    // zod says "expected int, received number" for 1.5: say it in the words of the file.
    const message = i.code === 'invalid_type' && i.expected === 'int' ? 'expected a whole number' : i.message;
    return { path, message: `${message}${keys}` };
  });
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
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(source, [{ path: '', message: 'expected a mapping of sections (server, repository, auth, notifications)' }]);
  const base = configSchema.safeParse(raw);
  if (!base.success) throw new ConfigError(source, zodIssues(base.error));
  const auth = authConfigSchema.safeParse((raw as { auth?: unknown }).auth ?? DEMO_AUTH_CONFIG_INPUT);
  if (!auth.success) throw new ConfigError(source, zodIssues(auth.error, 'auth'));
  const notifications = notifyConfigSchema.safeParse((raw as { notifications?: unknown }).notifications ?? {});
  if (!notifications.success) throw new ConfigError(source, zodIssues(notifications.error, 'notifications'));
  const integrations = integrationsConfigSchema.safeParse((raw as { integrations?: unknown }).integrations ?? {});
  if (!integrations.success) throw new ConfigError(source, zodIssues(integrations.error, 'integrations'));
  const pipeline = pipelineConfigSchema.safeParse((raw as { pipeline?: unknown }).pipeline ?? {});
  if (!pipeline.success) throw new ConfigError(source, zodIssues(pipeline.error, 'pipeline'));
  return { server: base.data.server, repository: base.data.repository, auth: auth.data, notifications: notifications.data, integrations: integrations.data, pipeline: pipeline.data, source };
}

export async function loadConfig(path: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError(path, [{ path: '', message: `cannot read the file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }]);
  }
  return parseConfig(text, path);
}
