// The `integrations:` config section (every part optional, unknown keys refused) and the factory
// that turns it into clients. The tags/checklists parts are the zod side of state/tags.ts's
// zod-free TagsConfig.
import { join } from 'node:path';
import { z } from 'zod';
import type { GitCli } from '../git/git-cli.js';
import { CHECKLIST_PHASES, TAG_PATTERN, tagRegistry, type TagRegistry, type TagsConfig } from '../../state/tags.js';
import { BuildbotClient } from './buildbot.js';
import type { FetchLike } from './http-client.js';
import { ReviewboardClient } from './reviewboard.js';
import { JiraClient, ticketKeysIn, ticketUrl } from './tickets.js';
import { Upstream } from './upstream.js';
import { WEBHOOK_EVENT_TYPES, WebhookDispatcher } from './webhooks.js';

const httpUrl = z.url({ protocol: /^https?$/, error: 'an http(s) URL' });
const tagName = z.string().regex(TAG_PATTERN, 'a tag: letters, digits, "_" and "-", at most 40');
const timeoutMs = z.number().int().min(100).max(300_000);

export const checklistTemplateSchema = z.strictObject({
  key: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'letters, digits, "_" and "-"'),
  phase: z.enum(CHECKLIST_PHASES),
  text: z.string().min(1).max(200),
  per: z.enum(['owner', 'push']).default('owner'),
});

/** `tags:` extra tags or overrides; `checklists:` per-tag item lists that replace the built-in ones. */
export const tagsConfigSchema = z.record(tagName, z.strictObject({ meaning: z.string().max(300).optional(), priority: z.number().int().min(0).max(1000).optional() }));
export const checklistsConfigSchema = z.record(tagName, z.array(checklistTemplateSchema).max(50));

export const integrationsConfigSchema = z.strictObject({
  upstream: z
    .strictObject({
      url: z.string().min(1),
      username: z.string().min(1).optional(),
      /** Prefer tokenEnv: a token in the config file is one more place for it to leak from. */
      token: z.string().min(1).optional(),
      tokenEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional(),
      stallTimeoutSec: z.number().int().min(5).max(3600).optional(),
    })
    .optional(),
  reviewboard: z
    .strictObject({
      url: httpUrl,
      user: z.string().min(1).optional(),
      apiToken: z.string().min(1).optional(),
      apiTokenEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional(),
      timeoutMs: timeoutMs.optional(),
    })
    .optional(),
  buildbot: z
    .strictObject({
      url: httpUrl,
      /** Refuse to bless while the deploy branch's builds fail (force overrides). */
      blockBlessOnFailure: z.boolean().default(false),
      ttlMs: z.number().int().min(0).max(3_600_000).optional(),
      timeoutMs: timeoutMs.optional(),
    })
    .optional(),
  tickets: z
    .strictObject({
      urlTemplate: z.string().includes('%TICKET%', { error: 'must contain %TICKET%' }),
      jira: z
        .strictObject({
          url: httpUrl,
          user: z.string().min(1),
          apiToken: z.string().min(1).optional(),
          apiTokenEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional(),
          apiVersion: z.union([z.literal(2), z.literal(3)]).default(2),
          timeoutMs: timeoutMs.optional(),
        })
        .refine((j) => j.apiToken !== undefined || j.apiTokenEnv !== undefined, { error: 'give apiToken or apiTokenEnv' })
        .optional(),
    })
    .optional(),
  webhooks: z
    .array(
      z.strictObject({
        url: httpUrl,
        secret: z.string().min(16, 'at least 16 characters'),
        events: z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1).optional(),
        includeBoard: z.boolean().default(false),
      }),
    )
    .refine((hs) => new Set(hs.map((h) => h.url)).size === hs.length, { error: 'each webhook URL once' })
    .optional(),
  tags: tagsConfigSchema.optional(),
  checklists: checklistsConfigSchema.optional(),
});

export type IntegrationsConfig = z.infer<typeof integrationsConfigSchema>;

/** Parses the raw `integrations:` value (undefined/null: nothing configured). */
export function parseIntegrationsConfig(raw: unknown): z.ZodSafeParseResult<IntegrationsConfig> {
  return integrationsConfigSchema.safeParse(raw ?? {});
}

export interface TicketLinks {
  url(ticket: string): string;
  keysIn(text: string): string[];
}

export interface Integrations {
  readonly upstream: Upstream | null;
  readonly reviewboard: ReviewboardClient | null;
  readonly buildbot: BuildbotClient | null;
  readonly blockBlessOnBuildFailure: boolean;
  readonly tickets: TicketLinks | null;
  readonly jira: JiraClient | null;
  readonly webhooks: WebhookDispatcher | null;
  readonly tagsConfig: TagsConfig;
  readonly tags: TagRegistry;
  /** Closes the webhook queues. */
  close(): Promise<void>;
}

export interface IntegrationDeps {
  /** The server's data directory; webhook queues live in `<dataDir>/webhooks`. */
  readonly dataDir: string;
  /** The managed repository (not used to build the clients; the caller passes it to Upstream's calls). */
  readonly git?: GitCli;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly now?: () => number;
  readonly fetch?: FetchLike;
}

/** The clients for what is configured; null for the rest. Opens the webhook queues (which replays their journals). */
export async function createIntegrations(cfg: IntegrationsConfig, deps: IntegrationDeps): Promise<Integrations> {
  const env = deps.env ?? process.env;
  const secret = (value: string | undefined, envName: string | undefined) => value ?? (envName ? env[envName] : undefined);
  const rb = cfg.reviewboard;
  const jira = cfg.tickets?.jira;
  const tagsConfig: TagsConfig = { tags: cfg.tags, checklists: cfg.checklists };
  const webhooks = cfg.webhooks?.length
    ? await WebhookDispatcher.open({ receivers: cfg.webhooks, dir: join(deps.dataDir, 'webhooks'), fetch: deps.fetch, now: deps.now })
    : null;
  const template = cfg.tickets?.urlTemplate;
  return {
    upstream: cfg.upstream ? new Upstream({ ...cfg.upstream, env }) : null,
    reviewboard: rb ? new ReviewboardClient({ url: rb.url, user: rb.user, apiToken: secret(rb.apiToken, rb.apiTokenEnv), timeoutMs: rb.timeoutMs, fetch: deps.fetch }) : null,
    buildbot: cfg.buildbot ? new BuildbotClient({ url: cfg.buildbot.url, ttlMs: cfg.buildbot.ttlMs, timeoutMs: cfg.buildbot.timeoutMs, now: deps.now, fetch: deps.fetch }) : null,
    blockBlessOnBuildFailure: cfg.buildbot?.blockBlessOnFailure ?? false,
    tickets: template ? { url: (t) => ticketUrl(template, t), keysIn: ticketKeysIn } : null,
    jira: jira ? new JiraClient({ url: jira.url, user: jira.user, apiToken: secret(jira.apiToken, jira.apiTokenEnv) ?? '', apiVersion: jira.apiVersion, timeoutMs: jira.timeoutMs, fetch: deps.fetch }) : null,
    webhooks,
    tagsConfig,
    tags: tagRegistry(tagsConfig),
    close: async () => {
      await webhooks?.close();
    },
  };
}
