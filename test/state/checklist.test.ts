// Checklists from tags: items per phase, merged across requests, ticks kept across recomputation.
import { describe, expect, it } from 'vitest';
import { checklistChanged, checklistFor, openItems, reconcileChecklist } from '../../state/checklist.js';
import type { ChecklistItem, PushRequest, RequestId, RequestState } from '../../state/model.js';
import { tagRegistry } from '../../state/tags.js';

function req(id: number, user: string, tags: string[], state: RequestState = 'added'): PushRequest {
  return {
    id: id as RequestId, user, title: `r${id}`, description: '', ref: `refs/pushreq/r${id}`, sha: 'a'.repeat(40), state,
    push: null, tags, conflicts: [], review: null, ticket: null, watchers: [], comments: [], autoPickme: true,
    createdAt: '2024-01-01T00:00:00.000Z', updatedAt: '2024-01-01T00:00:00.000Z', pickedAt: null, acceptedAt: null, reason: null,
  };
}

const brief = (items: readonly ChecklistItem[]) => items.map((i) => `${i.phase} ${i.id} [${i.requests.join(',')}] ${i.text}${i.done ? ` ✓${i.doneBy}` : ''}`);

describe('checklistFor', () => {
  const cases: { name: string; requests: PushRequest[]; want: string[] }[] = [
    { name: 'no tags, no items', requests: [req(1, 'alice', ['fix'])], want: [] },
    {
      name: 'pushplans: stage, prod and a cleanup after verification, per owner',
      requests: [req(1, 'alice', ['pushplans'])],
      want: [
        'before-stage pushplans:alice:stage [1] Push plans for alice (stage)',
        'before-bless pushplans:alice:prod [1] Push plans for alice (production)',
        'before-certify pushplans:alice:cleanup [1] Run push plans on other stages for alice',
      ],
    },
    {
      name: 'two requests of one owner merge into one item listing both',
      requests: [req(2, 'alice', ['pushplans']), req(1, 'alice', ['pushplans', 'urgent'])],
      want: [
        'before-stage pushplans:alice:stage [1,2] Push plans for alice (stage)',
        'before-bless pushplans:alice:prod [1,2] Push plans for alice (production)',
        'before-certify pushplans:alice:cleanup [1,2] Run push plans on other stages for alice',
      ],
    },
    {
      name: 'pushplans of two owners stay separate items',
      requests: [req(1, 'alice', ['pushplans']), req(2, 'bob', ['pushplans'])],
      want: [
        'before-stage pushplans:alice:stage [1] Push plans for alice (stage)',
        'before-stage pushplans:bob:stage [2] Push plans for bob (stage)',
        'before-bless pushplans:alice:prod [1] Push plans for alice (production)',
        'before-bless pushplans:bob:prod [2] Push plans for bob (production)',
        'before-certify pushplans:alice:cleanup [1] Run push plans on other stages for alice',
        'before-certify pushplans:bob:cleanup [2] Run push plans on other stages for bob',
      ],
    },
    {
      name: 'search-backend of two owners merges into one item per phase naming both',
      requests: [req(3, 'bob', ['search-backend']), req(1, 'alice', ['search-backend'])],
      want: [
        'after-stage search-backend:post-stage [1,3] Restart stage search for alice, bob',
        'before-bless search-backend:prod [1,3] Disable index distribution for alice, bob',
        'after-bless search-backend:post-prod [1,3] Flip prod search for alice, bob',
        'before-certify search-backend:cleanup [1,3] Re-enable index distribution in prod for alice, bob',
        'before-certify search-backend:post-verify [1,3] Flip dev search for alice, bob',
      ],
    },
    {
      name: 'pickmes and waiting requests ask for nothing yet; staged and verified ones do',
      requests: [req(1, 'alice', ['hoods'], 'pickme'), req(2, 'bob', ['hoods'], 'requested'), req(3, 'carol', ['hoods'], 'staged'), req(4, 'dave', ['hoods'], 'verified')],
      want: [
        'before-stage hoods:stage [3,4] Notify carol, dave to deploy Geoservices to stage',
        'before-bless hoods:prod [3,4] Notify carol, dave to deploy Geoservices to prod',
        'before-certify hoods:cleanup [3,4] Notify carol, dave to deploy Geoservices to other stages and dev',
      ],
    },
  ];
  it.each(cases)('$name', ({ requests, want }) => {
    expect(brief(checklistFor(requests))).toEqual(want);
  });

  it('uses the config: a new tag with items, a replaced built-in list, a disabled one', () => {
    const cfg = {
      checklists: {
        'db-migration': [{ key: 'run', phase: 'after-stage' as const, text: 'Run migrations of %OWNER% on stage', per: 'owner' as const }],
        pushplans: [{ key: 'prod', phase: 'after-bless' as const, text: 'Plans for %OWNER%', per: 'owner' as const }],
        hoods: [],
      },
    };
    const rs = [req(1, 'alice', ['db-migration', 'pushplans', 'hoods'])];
    const want = ['after-stage db-migration:alice:run [1] Run migrations of alice on stage', 'after-bless pushplans:alice:prod [1] Plans for alice'];
    expect(brief(checklistFor(rs, cfg))).toEqual(want);
    expect(brief(checklistFor(rs, tagRegistry(cfg)))).toEqual(want);
  });
});

describe('reconcileChecklist', () => {
  const tick = (items: ChecklistItem[], id: string, by = 'pm') => items.map((i) => (i.id === id ? { ...i, done: true, doneBy: by } : i));

  it('keeps ticks of items that still exist and drops items no longer wanted', () => {
    const before = tick(tick(checklistFor([req(1, 'alice', ['pushplans']), req(2, 'bob', ['pushplans'])]), 'pushplans:alice:stage'), 'pushplans:bob:stage');
    // bob's request is removed from the push; alice's ticks stay, bob's items go.
    const after = reconcileChecklist(before, checklistFor([req(1, 'alice', ['pushplans'])]));
    expect(brief(after)).toEqual([
      'before-stage pushplans:alice:stage [1] Push plans for alice (stage) ✓pm',
      'before-bless pushplans:alice:prod [1] Push plans for alice (production)',
      'before-certify pushplans:alice:cleanup [1] Run push plans on other stages for alice',
    ]);
  });

  it('unticks a merged item that a new request joined, keeps it when a request left', () => {
    const one = tick(checklistFor([req(1, 'alice', ['search-backend'], 'staged')]), 'search-backend:post-stage');
    const two = reconcileChecklist(one, checklistFor([req(1, 'alice', ['search-backend'], 'staged'), req(2, 'bob', ['search-backend'])]));
    expect(two.find((i) => i.id === 'search-backend:post-stage')).toMatchObject({ done: false, doneBy: null, requests: [1, 2] });
    const ticked = tick(two, 'search-backend:post-stage', 'carol');
    const back = reconcileChecklist(ticked, checklistFor([req(1, 'alice', ['search-backend'], 'staged')]));
    expect(back.find((i) => i.id === 'search-backend:post-stage')).toMatchObject({ done: true, doneBy: 'carol', requests: [1], text: 'Restart stage search for alice' });
  });

  it('checklistChanged and openItems', () => {
    const a = checklistFor([req(1, 'alice', ['pushplans'])]);
    expect(checklistChanged(a, reconcileChecklist(a, checklistFor([req(1, 'alice', ['pushplans'])])))).toBe(false);
    expect(checklistChanged(a, tick(a, 'pushplans:alice:prod'))).toBe(true);
    expect(checklistChanged(a, [])).toBe(true);
    expect(openItems(tick(a, 'pushplans:alice:stage'), ['before-stage', 'before-bless']).map((i) => i.id)).toEqual(['pushplans:alice:prod']);
  });
});
