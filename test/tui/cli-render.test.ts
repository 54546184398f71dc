// The CLI's `status` text: integration links, Ship Its and builds when the board has them, and the
// checklist with item ids so `pushmanager push tick P ITEM` can be typed from it.
import { describe, expect, it } from 'vitest';
import { buildText, renderStatus } from '../../tui/cli/render.js';
import { checklistBoard, sampleBoard } from './fixtures.js';

describe('renderStatus', () => {
  const out = renderStatus(checklistBoard() as never);

  it('shows review and ticket links, Ship Its and the build per request', () => {
    expect(out).toContain('review https://rb.example/r/1234/ (Ship It ×2); ticket https://jira.example/browse/WEB-42; build fail (builder-a) https://bb.example/b/1');
    expect(out).toContain('Ship It ×0; build running https://bb.example/b/2');
    // A waiting request's build, with why it is unknown.
    expect(out).toContain('build unknown (buildbot is slow to answer)');
  });

  it("shows the push's deploy build", () => {
    expect(out).toMatch(/deploy branch deploy\/push-3 at .*; build pass https:\/\/bb\.example\/deploy\/3/);
  });

  it('lists the whole checklist with [x]/[ ], ids, phases and who ticked, with user text made safe', () => {
    expect(out).toContain('checklist (2 open; tick with: pushmanager push tick 3 ITEM):');
    expect(out).toContain('    [ ] db-migration-run  Run the migration for #4  (before-stage for #4)');
    expect(out).toMatch(/ {4}\[x\] smoke {2}Smoke test \S*stage {2}\(after-stage, ticked by pm\)/);
    expect(out).toContain('    [ ] announce  Announce in #ops  (before-certify)');
    expect(out).not.toContain('\u001b');
  });

  it('without links, builds or a checklist the board reads as before', () => {
    const plain = renderStatus(sampleBoard());
    expect(plain).not.toMatch(/Ship It|build |checklist/);
    expect(plain).toContain('(review 1234 WEB-42)');
  });

  it('reads build results defensively', () => {
    expect(buildText(undefined)).toBeNull();
    expect(buildText({ state: 'weird' })).toBe('unknown');
    expect(buildText({ state: 'fail', failedBuilders: ['a', 'b\u001b[2J'], link: 'u' })).toBe('fail (a, b) u');
  });
});
