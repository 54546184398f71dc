// A request's detail tells its owner how to fix a conflict, not only that there is one.
import { describe, expect, it } from 'vitest';
import { detailLines } from '../../tui/dashboard/overlays.js';
import { detailOf, push, req } from './fixtures.js';

const text = (lines: ReturnType<typeof detailLines>) => lines.map((l) => l.segs.map((s) => s.text).join('')).join('\n');

describe('detail: conflicts', () => {
  it('says what to merge and where to push again, at 80 columns', () => {
    const r = req(4, { state: 'pickme', push: 2 as never, user: 'alice', ref: 'refs/pushreq/a3', tags: ['conflict-pickme'], conflicts: [{ with: 3 as never, files: ['shared.txt'] }] });
    const d = { ...detailOf(r), push: push(2, { title: 'Wed', requests: [3, 4] as never }) };
    const t = text(detailLines(d, null, 4, 80));
    expect(t).toContain('with #3: shared.txt');
    expect(t).toMatch(/merge .*deploy\/push-2/);
    expect(t).toContain('refs/pushreq/a3');
    for (const l of t.split('\n')) expect(l.length).toBeLessThanOrEqual(80);
  });

  it('names master for a conflict with master', () => {
    const r = req(5, { user: 'alice', ref: 'refs/pushreq/a5', tags: ['conflict-master'], conflicts: [{ with: 'master', files: ['a.txt'] }] });
    const t = text(detailLines(detailOf(r), null, 5, 80));
    expect(t).toMatch(/merge .*master/);
    expect(t).toContain('refs/pushreq/a5');
  });

  it('a conflict that says how to fix it (no history in common with master) is shown and followed, not the merge hint', () => {
    const why = 'no history in common with master; base the branch on master (git rebase origin/master) and push again';
    const r = req(7, { user: 'alice', ref: 'refs/pushreq/a7', tags: ['conflict-master'], conflicts: [{ with: 'master', files: [], reason: why }] });
    const t = text(detailLines(detailOf(r), null, 7, 120)).replace(/\s+/g, ' ');
    expect(t).toContain(`with master: ${why}`);
    expect(t).toContain(`to fix: ${why}: git push origin HEAD:refs/pushreq/a7`);
    expect(t).not.toContain('git merge origin/master');
  });

  it('says nothing of the kind without a conflict', () => {
    expect(text(detailLines(detailOf(req(6, { user: 'alice' })), null, 6, 80))).not.toMatch(/to fix/);
  });
});
