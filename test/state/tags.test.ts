// Known tags, the operator's additions, and the queue rank they give a request.
import { describe, expect, it } from 'vitest';
import { DEFAULT_TAG_PRIORITY, KNOWN_TAGS, isTagWord, isUserTag, tagRank, tagRegistry } from '../../state/tags.js';

describe('tags', () => {
  it('knows the original tags, each with a meaning', () => {
    expect(KNOWN_TAGS.map((t) => t.name)).toEqual(['urgent', 'no-verify', 'buildbot', 'pushplans', 'search-backend', 'hoods', 'special', 'feature', 'fix', 'cleanup', 'caches', 'submodule-bump']);
    for (const t of KNOWN_TAGS) expect(t.meaning.length).toBeGreaterThan(5);
  });

  it.each([
    ['urgent', true, true],
    ['search-backend', true, true],
    ['a_b-9', true, true],
    ['conflict-master', true, false],
    ['no-conflicts', true, false],
    ['two words', false, false],
    ['', false, false],
    ['x'.repeat(41), false, false],
  ])('%j: word %s, user-settable %s', (word, tagWord, user) => {
    expect(isTagWord(word)).toBe(tagWord);
    expect(isUserTag(word)).toBe(user);
  });

  it.each([
    [['urgent', 'fix'], 0],
    [['no-verify'], 10],
    [['fix'], DEFAULT_TAG_PRIORITY],
    [[], DEFAULT_TAG_PRIORITY],
    [['hotfix'], 5],
    [['hotfix', 'urgent'], 0],
  ])('rank of %j is %i with config', (tags, rank) => {
    const reg = tagRegistry({ tags: { hotfix: { meaning: 'hot', priority: 5 } } });
    expect(tagRank(tags, reg)).toBe(rank);
  });

  it('config overrides meaning and priority, keeps the built-in checklist unless replaced', () => {
    const reg = tagRegistry({ tags: { pushplans: { priority: 50 } }, checklists: { newtag: [{ key: 'k', phase: 'before-stage', text: 't', per: 'push' }] } });
    expect(reg.get('pushplans')).toMatchObject({ priority: 50, meaning: KNOWN_TAGS.find((t) => t.name === 'pushplans')!.meaning });
    expect(reg.get('pushplans')!.checklist).toHaveLength(3);
    expect(reg.get('newtag')).toMatchObject({ name: 'newtag', priority: DEFAULT_TAG_PRIORITY, checklist: [{ key: 'k' }] });
  });
});
