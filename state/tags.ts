// Tags: the words users put on requests, what the well-known ones mean, their order in a push's
// queue, and the checklist items a tag asks of the pushmaster. Pure data and functions; the
// config section that extends them is parsed in server/integrations/integrations-config.ts.
import { CONFLICT_TAGS, type ChecklistItem } from './model.js';

export type ChecklistPhase = ChecklistItem['phase'];

/** In the order a push goes through them; decide() gates stage, bless and certify on them. */
export const CHECKLIST_PHASES = ['before-stage', 'after-stage', 'before-bless', 'after-bless', 'before-certify'] as const satisfies readonly ChecklistPhase[];

/** A tag is a word: letters, digits, `_` and `-` (the original's `[A-Za-z0-9_-]+`), at most 40. */
export const TAG_PATTERN = /^[A-Za-z0-9_-]{1,40}$/;

export const isTagWord = (word: string): boolean => TAG_PATTERN.test(word);

/** Users may set any tag word except the conflict tags, which only the server's conflict check sets. */
export const isUserTag = (word: string): boolean => isTagWord(word) && !(CONFLICT_TAGS as readonly string[]).includes(word);

/**
 * One checklist item a tag asks for. `per: 'owner'` makes one item per request owner (`%OWNER%`
 * is that owner); `per: 'push'` makes one item for the whole push (`%OWNER%` lists every owner).
 */
export interface ChecklistTemplate {
  /** Short, stable name within the tag (part of the item id), e.g. `stage`. */
  readonly key: string;
  readonly phase: ChecklistPhase;
  /** What the pushmaster must do; `%OWNER%` is replaced, nothing else is interpreted. */
  readonly text: string;
  readonly per: 'owner' | 'push';
}

export interface TagDefinition {
  readonly name: string;
  readonly meaning: string;
  /**
   * Queue order of a push's pickmes: lower first. A request ranks by its lowest-priority tag;
   * untagged requests rank DEFAULT_TAG_PRIORITY.
   */
  readonly priority: number;
  readonly checklist: readonly ChecklistTemplate[];
}

export const DEFAULT_TAG_PRIORITY = 100;

/**
 * The operator's additions (the `tags:` and `checklists:` config sections), zod-free so state/
 * does not depend on the parser. `tags` adds tags or overrides meaning and priority of known ones;
 * `checklists.<tag>` replaces the built-in items of that tag (`[]` turns them off).
 */
export interface TagsConfig {
  readonly tags?: Readonly<Record<string, { readonly meaning?: string; readonly priority?: number }>>;
  readonly checklists?: Readonly<Record<string, readonly ChecklistTemplate[]>>;
}

const owner = (key: string, phase: ChecklistPhase, text: string): ChecklistTemplate => ({ key, phase, text, per: 'owner' });
const push = (key: string, phase: ChecklistPhase, text: string): ChecklistTemplate => ({ key, phase, text, per: 'push' });

/**
 * The original's tags. Checklist texts and phases follow its `checklist_reminders` (targets
 * stage → before-stage, post-stage → after-stage, prod → before-bless, post-prod → after-bless,
 * post-verify* → before-certify). Push plans stay one item per owner (the original never merged
 * them); search and hoods items were merged across owners, so they are per push here.
 */
export const KNOWN_TAGS: readonly TagDefinition[] = [
  { name: 'urgent', meaning: 'Goes first: an urgent push pings only urgent requests, and urgent requests merge and queue first.', priority: 0, checklist: [] },
  { name: 'no-verify', meaning: 'Needs no verification on stage by its owner; queued right after urgent ones.', priority: 10, checklist: [] },
  { name: 'buildbot', meaning: "Link Buildbot's results for the request's SHA; the pushmaster checks them before accepting.", priority: DEFAULT_TAG_PRIORITY, checklist: [] },
  {
    name: 'pushplans',
    meaning: 'Carries push plans (data migrations or scripts) that the pushmaster runs on stage and in production.',
    priority: DEFAULT_TAG_PRIORITY,
    checklist: [
      owner('stage', 'before-stage', 'Push plans for %OWNER% (stage)'),
      owner('prod', 'before-bless', 'Push plans for %OWNER% (production)'),
      owner('cleanup', 'before-certify', 'Run push plans on other stages for %OWNER%'),
    ],
  },
  {
    name: 'search-backend',
    meaning: 'Changes the search backend: search restarts and index distribution are part of the push.',
    priority: DEFAULT_TAG_PRIORITY,
    checklist: [
      push('post-stage', 'after-stage', 'Restart stage search for %OWNER%'),
      push('prod', 'before-bless', 'Disable index distribution for %OWNER%'),
      push('post-prod', 'after-bless', 'Flip prod search for %OWNER%'),
      push('post-verify', 'before-certify', 'Flip dev search for %OWNER%'),
      push('cleanup', 'before-certify', 'Re-enable index distribution in prod for %OWNER%'),
    ],
  },
  {
    name: 'hoods',
    meaning: 'Changes neighbourhood (geo) data: the owner deploys the geo services with the push.',
    priority: DEFAULT_TAG_PRIORITY,
    checklist: [
      push('stage', 'before-stage', 'Notify %OWNER% to deploy Geoservices to stage'),
      push('prod', 'before-bless', 'Notify %OWNER% to deploy Geoservices to prod'),
      push('cleanup', 'before-certify', 'Notify %OWNER% to deploy Geoservices to other stages and dev'),
    ],
  },
  { name: 'special', meaning: 'Needs special handling: read the description before accepting.', priority: DEFAULT_TAG_PRIORITY, checklist: [] },
  { name: 'feature', meaning: 'A new feature.', priority: DEFAULT_TAG_PRIORITY, checklist: [] },
  { name: 'fix', meaning: 'A bug fix.', priority: DEFAULT_TAG_PRIORITY, checklist: [] },
  { name: 'cleanup', meaning: 'Cleanup with no intended change in behaviour.', priority: DEFAULT_TAG_PRIORITY, checklist: [] },
  { name: 'caches', meaning: 'Changes cached data or cache keys: expect cold caches after the push.', priority: DEFAULT_TAG_PRIORITY, checklist: [] },
  { name: 'submodule-bump', meaning: 'Moves a submodule; its commit must already be on the submodule\'s master.', priority: DEFAULT_TAG_PRIORITY, checklist: [] },
];

/** Tag name → definition, after the operator's config. */
export type TagRegistry = ReadonlyMap<string, TagDefinition>;

/** The known tags with the config applied: new tags added, meanings and priorities overridden, checklists replaced. */
export function tagRegistry(cfg: TagsConfig = {}): TagRegistry {
  const reg = new Map<string, TagDefinition>(KNOWN_TAGS.map((t) => [t.name, t]));
  for (const [name, t] of Object.entries(cfg.tags ?? {})) {
    const base = reg.get(name) ?? { name, meaning: '', priority: DEFAULT_TAG_PRIORITY, checklist: [] };
    reg.set(name, { ...base, meaning: t.meaning ?? base.meaning, priority: t.priority ?? base.priority });
  }
  for (const [name, items] of Object.entries(cfg.checklists ?? {})) {
    const base = reg.get(name) ?? { name, meaning: '', priority: DEFAULT_TAG_PRIORITY, checklist: [] };
    reg.set(name, { ...base, checklist: items });
  }
  return reg;
}

/** A request's queue rank: the lowest priority among its tags (unknown tags count as the default). */
export function tagRank(tags: readonly string[], reg: TagRegistry): number {
  let rank = DEFAULT_TAG_PRIORITY;
  for (const t of tags) rank = Math.min(rank, reg.get(t)?.priority ?? DEFAULT_TAG_PRIORITY);
  return rank;
}
