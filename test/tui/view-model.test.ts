// The dashboard's view-model as a pure function: who may use which key and why not, filters, ages,
// layout by terminal size, scrolling that keeps the cursor visible, and sanitised user text.
import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { initialUi, uiReducer, type Me, type UiState } from '../../tui/dashboard/ui-state.js';
import { matchesFilter } from '../../tui/dashboard/filter.js';
import type { KeyName } from '../../tui/dashboard/keys.js';
import { buildView } from '../../tui/dashboard/screen.js';
import { formatAge } from '../../tui/dashboard/text.js';
import { NOW, bigBoard, checklistBoard, push, req, sampleBoard, withActions } from './fixtures.js';
import type { StatusView } from '../../state/status-view.js';

const PM: Me = { name: 'pm', pushmaster: true };
const OTHER_PM: Me = { name: 'sam', pushmaster: true };
const ALICE: Me = { name: 'alice', pushmaster: false };
const BOB: Me = { name: 'bob', pushmaster: false };

const ui = (me: Me | null, over: Partial<UiState> = {}): UiState => ({ ...initialUi({ width: 120, height: 30 }, me), ...over });
const view = (board: StatusView, u: UiState, color = false) => buildView(withActions(board, u.me), u, { now: NOW, color });
const text = (v: ReturnType<typeof view>) => v.lines.map((l) => l.segs.map((s) => s.text).join('')).join('\n');

/** A board whose push 3 is in the given state, with one request per state of interest. */
function boardIn(pushState: StatusView['pushes'][number]['state']): StatusView {
  const b = sampleBoard();
  return {
    ...b,
    pushes: [{ ...b.pushes[0]!, state: pushState, requests: [1, 2, 4, 8] as never }, b.pushes[1]!],
    requests: [...b.requests, req(8, { state: 'staged', push: 3 as never, user: 'alice', watchers: ['carol'] })],
  };
}

describe('key availability', () => {
  // [who, push state, cursor request, key, enabled, reason fragment]
  const table: [string, Me | null, StatusView['pushes'][number]['state'], number, KeyName, boolean, string?][] = [
    ['pm accepts a pickme', PM, 'accepting', 1, 'accept', true],
    ['pm cannot accept an added request', PM, 'accepting', 4, 'accept', false, 'request 4 is added; cannot accept request 4 (allowed from: pickme) [illegal-transition]'],
    ['pm cannot accept once staged', PM, 'staged', 1, 'accept', false, 'push 3 is staged; cannot accept into push 3 (allowed from: accepting)'],
    ['another pushmaster cannot accept', OTHER_PM, 'accepting', 1, 'accept', false, 'sam is not the pushmaster of push 3 (pm is) and cannot accept into push 3 [not-pushmaster-of-push]'],
    ['an engineer cannot accept', ALICE, 'accepting', 1, 'accept', false, 'alice is not the pushmaster of push 3 (pm is) and cannot accept'],
    ['not signed in yet', null, 'accepting', 1, 'accept', false, 'still signing in'],
    ['pm removes a request in the push', PM, 'accepting', 4, 'remove', true],
    ['pm cannot remove a waiting request', PM, 'accepting', 5, 'remove', false, 'request 5 is not in push 3 [illegal-transition]'],
    ['pm stages with something added', PM, 'accepting', 1, 'stage', true],
    ['bless needs a staged push', PM, 'accepting', 1, 'bless', false, 'push 3 is accepting; cannot bless push 3 (allowed from: staged)'],
    // decide refuses to bless while an accepted request is not staged: the key says so (it was offered before the server sent its actions).
    ['pm cannot bless while an accepted request is not staged', PM, 'staged', 1, 'bless', false, 'requests 4 are accepted but not staged; stage again first'],
    ['certify needs a blessed push', PM, 'staged', 1, 'certify', false, 'push 3 is staged; cannot certify push 3 (allowed from: blessed)'],
    ['pm certifies a blessed push', PM, 'blessed', 1, 'certify', true],
    ['engineer cannot rebuild', BOB, 'accepting', 1, 'rebuild', false, 'bob is not the pushmaster of push 3 (pm is) and cannot rebuild push 3 [not-pushmaster-of-push]'],
    ['owner picks a waiting request', ALICE, 'accepting', 5, 'pickme', true],
    ['watcher picks a waiting request', BOB, 'accepting', 5, 'pickme', true],
    ['pm cannot pickme for others', PM, 'accepting', 5, 'pickme', false, 'pm is neither the owner nor a watcher and cannot pick request 5 into push 3 [not-owner-or-watcher]'],
    ['pickme needs an accepting push', ALICE, 'staged', 5, 'pickme', false, 'no push is accepting'],
    ['owner unpicks', ALICE, 'accepting', 2, 'unpickme', true],
    ['others cannot unpick', BOB, 'accepting', 2, 'unpickme', false, 'bob is neither the owner nor a watcher and cannot unpick request 2 [not-owner-or-watcher]'],
    ['owner verifies staged', ALICE, 'staged', 8, 'verify', true],
    ['watcher verifies staged', { name: 'carol', pushmaster: false }, 'staged', 8, 'verify', true],
    ['pm verifies staged', PM, 'staged', 8, 'verify', true],
    ['stranger cannot verify', BOB, 'staged', 8, 'verify', false, 'bob is neither the owner nor a watcher and cannot verify request 8 [not-owner-or-watcher]'],
    ['verify needs staged', ALICE, 'accepting', 2, 'verify', false, 'request 2 is pickme; cannot verify request 2 (allowed from: staged)'],
    ['owner delays', ALICE, 'accepting', 5, 'delay', true],
    ['pm delays a pickme of his push', PM, 'accepting', 2, 'delay', true],
    ['watcher cannot delay', BOB, 'accepting', 5, 'delay', false, 'bob is not the owner and cannot delay request 5 [not-owner]'],
    ['owner undelays', BOB, 'accepting', 7, 'delay', true],
    ['only the owner undelays', PM, 'accepting', 7, 'delay', false, 'pm is not the owner and cannot undelay request 7 [not-owner]'],
    ['anyone comments', BOB, 'accepting', 4, 'comment', true],
    ['engineers cannot open pushes', ALICE, 'accepting', 1, 'open', false, 'alice is not in the pushmaster group and cannot open a push [not-pushmaster]'],
    ['one open push: tab is off', PM, 'accepting', 1, 'next-push', false, 'only one open push'],
  ];
  it.each(table)('%s', (_name, me, state, cursor, key, enabled, reason) => {
    const k = view(boardIn(state), ui(me, { cursor })).keys[key];
    expect(k.enabled).toBe(enabled);
    if (reason) expect(k.reason).toContain(reason);
    else expect(k.reason).toBeNull();
  });

  it("an admin who does not drive the push has the train keys, as decide allows (keyStates used to drop admin)", () => {
    const ROOT = { name: 'root', pushmaster: false, admin: true } as Me;
    const v = view(sampleBoard(), ui(ROOT, { cursor: 1 }));
    expect(v.keys.accept).toMatchObject({ enabled: true, ids: [1] });
    expect(v.keys.rebuild.enabled).toBe(true);
    expect(v.keys.discard.enabled).toBe(true);
    expect(v.keys.open.reason).toContain('push-already-accepting');
  });

  it('applies to the qualifying part of a selection and names the first reason when none qualify', () => {
    const v = view(sampleBoard(), ui(PM, { selected: [1, 4, 2] }));
    expect(v.keys.accept.ids).toEqual([1, 2]);
    const none = view(sampleBoard(), ui(PM, { selected: [4, 5] }));
    expect(none.keys.accept).toMatchObject({ enabled: false, reason: 'request 4 is added; cannot accept request 4 (allowed from: pickme) [illegal-transition]' });
  });

  it('shows disabled keys in the footer instead of hiding them', () => {
    const v = view(sampleBoard(), ui(ALICE, { cursor: 5 }));
    const footer = v.lines.at(-1)!.segs.map((s) => s.text).join('');
    expect(footer).toContain('p pickme');
    expect(footer).toMatch(/n\/a: .*a x r s b c D m/);
  });
});

describe('filter', () => {
  const r = req(12, { user: 'carol', title: 'Speed up Search', tags: ['urgent', 'search-backend'], ticket: 'WEB-7' });
  it.each([
    ['', true],
    ['search', true],
    ['SEARCH', true],
    ['owner:car', true],
    ['@carol', true],
    ['owner:alice', false],
    ['tag:urgent', true],
    ['tag:urg', false],
    ['#12', true],
    ['#1', false],
    ['web-7', true],
    ['speed owner:carol', true],
    ['speed owner:bob', false],
  ])('%j → %s', (f, ok) => expect(matchesFilter(r, f)).toBe(ok));

  it('narrows the board and the cursor follows', () => {
    const v = view(sampleBoard(), ui(PM, { filter: 'owner:alice', cursor: 1 }));
    expect(v.navigable).toEqual([2, 5]);
    expect(v.cursor).toBe(2);
    expect(text(v)).toContain('filter "owner:alice": 2 of 6');
  });
});

describe('formatAge', () => {
  it.each([
    ['2024-05-01T11:59:58Z', '2s'],
    ['2024-05-01T11:55:00Z', '5m'],
    ['2024-05-01T09:00:00Z', '3h'],
    ['2024-04-28T12:00:00Z', '3d'],
    ['2024-05-01T12:00:05Z', '0s'],
    ['garbage', '0s'],
  ])('%s → %s', (at, age) => expect(formatAge(at, NOW)).toBe(age));
});

describe('screen', () => {
  it('groups the push by state in queue order with waiting, delayed and recent pushes beside', () => {
    const t = text(view(sampleBoard(), ui(PM, { width: 160 })));
    const order = ['PICKME (2)', '#1    bob', '#2    alice', 'ADDED (1)', '#4    carol'].map((s) => t.indexOf(s));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(t).toContain('WAITING (2)');
    expect(t).toContain('DELAYED (1)');
    expect(t).toMatch(/#2 live\s+Tuesday train tag push-2/);
    expect(t).toContain('✗conflict:#4');
    expect(t).toContain('r/1234 WEB-42');
  });

  it("says on a waiting request's row that the pushmaster removed it, and why (80 columns too)", () => {
    const b = sampleBoard();
    const removed: StatusView = { ...b, requests: b.requests.map((r) => (r.id === 5 ? { ...r, reason: 'breaks the login page on stage-a' } : r)) };
    const rowAt = (width: number) => text(view(removed, ui(ALICE, { width, height: 24 }))).split('\n').find((l) => l.includes('#5 '));
    expect(rowAt(80)).toMatch(/removed: breaks the login/);
    // The title keeps its room: the reason is what is cut.
    expect(rowAt(80)).toContain('Waiting for a push');
    // In the side column of a wide terminal, the word alone; enter opens the reason.
    expect(rowAt(120)).toMatch(/#5 .*Waiting for.* removed$/);
    // A request that never left a push says nothing of the kind.
    expect(text(view(b, ui(ALICE, { width: 80, height: 24 })))).not.toContain('removed:');
  });

  it('strips escape sequences from user text', () => {
    const t = text(view(sampleBoard(), ui(PM)));
    expect(t).toContain('Dark mode gotcha');
    // eslint-disable-next-line no-control-regex
    expect(t).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  });

  it('makes urgent stand out without colour, and marks my requests', () => {
    const plain = view(sampleBoard(), ui(ALICE), false);
    expect(text(plain)).toContain('URGENT');
    const colour = view(sampleBoard(), ui(ALICE), true);
    expect(text(colour)).not.toContain('URGENT');
    const row2 = colour.lines.find((l) => l.segs.some((s) => s.text.startsWith('#2 ')))!;
    expect(row2.segs.map((s) => s.text).join('')).toMatch(/^ {2}• ?#2/);
    expect(row2.segs.some((s) => s.tone === 'mine')).toBe(true);
  });

  it.each([
    [80, 24, 'stacked'],
    [109, 30, 'stacked'],
    [110, 30, 'columns'],
    [200, 60, 'columns'],
  ] as const)('%i×%i: %s, never wider or taller than the terminal', (width, height, layout) => {
    const v = view(bigBoard(200), ui(PM, { width, height }));
    expect(v.layout).toBe(layout);
    expect(v.lines.length).toBe(height - 1);
    for (const l of v.lines) expect([...l.segs.map((s) => s.text).join('')].length).toBeLessThanOrEqual(width);
  });

  it('keeps the cursor on screen when it moves far down a long board', () => {
    const b = bigBoard(200);
    for (const at of [0, 50, 120, 159]) {
      const first = view(b, ui(PM, { width: 80, height: 24 }));
      const id = first.navigable[at]!;
      const v = view(b, ui(PM, { width: 80, height: 24, cursor: id }));
      expect(v.lines.some((l) => l.segs.some((s) => s.inverse) || l.segs[0]?.text === '>')).toBe(true);
      expect(text(v)).toMatch(new RegExp(`>\\S?\\s*#${id}\\b`));
    }
  });

  it('says when the server is away and keeps the board', () => {
    const v = view(sampleBoard(), ui(PM, { connection: { state: 'stale', since: '2024-05-01T11:58:00.000Z', reason: 'cannot reach the server', retryInMs: 2000 } }));
    const t = text(v);
    expect(v.lines[0]!.segs.map((s) => s.text).join('')).toMatch(/^✗ STALE since 11:58:00 Push #3/);
    // The status line says why and when the next try is, even over an older answer.
    const withStatus = view(sampleBoard(), ui(PM, { status: { text: 'accepted 1 into push 3', tone: 'ok' }, connection: { state: 'stale', since: '2024-05-01T11:58:00.000Z', reason: 'cannot reach http://127.0.0.1:7080 (ECONNREFUSED)', retryInMs: 2000 } }));
    expect(withStatus.lines.at(-2)!.segs.map((s) => s.text).join('')).toBe('cannot reach http://127.0.0.1:7080 (ECONNREFUSED); retrying in 2s (board as of 11:58:00)');
    expect(t).toContain('Fix login redirect');
  });

  it('shows rebuild progress and the deploy SHA', () => {
    const b = sampleBoard();
    const withSha = { ...b, pushes: [{ ...b.pushes[0]!, deploySha: 'abcdef0123456789abcdef0123456789abcdef01' }, b.pushes[1]!] };
    const t = text(view(withSha, ui(PM, { progress: { 3: { task: 'rebuild', done: 2, total: 5 } } })));
    expect(t).toContain('deploy deploy/push-3 @ abcdef0123');
    expect(t).toContain('rebuilding 2/5');
  });

  it('shows an empty board helpfully', () => {
    const t = text(view({ version: null, pushes: [], requests: [] }, ui(PM)));
    expect(t).toContain('No open push.');
    expect(t).toContain('O opens one.');
    const t2 = text(view({ version: null, pushes: [push(9)], requests: [] }, ui(ALICE)));
    expect(t2).toContain('No requests in this push yet');
  });
});

describe('uiReducer', () => {
  it('updates the filter while the filter prompt is typed and drops late details', () => {
    let s = ui(PM);
    s = uiReducer(s, { type: 'mode', mode: { kind: 'prompt', prompt: { kind: 'filter' }, text: '' } });
    s = uiReducer(s, { type: 'prompt-text', text: 'tag:urgent' });
    expect(s.filter).toBe('tag:urgent');
    s = uiReducer(s, { type: 'mode', mode: { kind: 'detail', request: 1, detail: null, error: null, scroll: 0 } });
    expect(uiReducer(s, { type: 'detail-loaded', request: 2, detail: null, error: 'x' })).toBe(s);
    s = uiReducer(s, { type: 'progress', push: 3, progress: { task: 'rebuild', done: 1, total: 2 } });
    expect(uiReducer(s, { type: 'progress', push: 3, progress: null }).progress).toEqual({});
  });
});

describe('checklist, links and builds', () => {
  it('lists the checklist: open items marked, ticked ones with who ticked, user text made safe', () => {
    const t = text(view(checklistBoard(), ui(PM)));
    expect(t).toContain('CHECKLIST (2 open of 3)  t ticks');
    expect(t).toMatch(/\[ \] db-migration-run {2}Run the migration for #4 {2}\(before-stage\) for #4/);
    expect(t).toMatch(/\[x\] smoke {2}Smoke test \S*stage {2}\(after-stage\) ✓ pm/);
    expect(t).not.toContain('\u001b');
    expect(t).toContain('checklist 2 open');
  });

  it('does not offer t to a pushee but still shows the list', () => {
    const v = view(checklistBoard(), ui(ALICE));
    expect(v.keys.checklist).toMatchObject({ enabled: false, reason: 'alice is not the pushmaster of push 3 (pm is) and cannot tick the checklist of push 3 [not-pushmaster-of-push]' });
    expect(text(v)).toContain('CHECKLIST (2 open of 3)');
    expect(text(v)).not.toContain('t ticks');
  });

  it('holds back stage, bless and certify while an item of their phase is open', () => {
    const b = checklistBoard();
    // Its accepted requests staged (or blessed) with the push, as decide would have left them.
    const at = (state: StatusView['pushes'][number]['state']) => ({ ...b, pushes: [{ ...b.pushes[0]!, state }, b.pushes[1]!], requests: b.requests.map((r) => (state !== 'accepting' && r.state === 'added' ? { ...r, state: state === 'blessed' ? ('blessed' as const) : ('staged' as const) } : r)) });
    expect(view(at('accepting'), ui(PM)).keys.stage).toMatchObject({ enabled: false, reason: 'tick these first: Run the migration for #4 [open-checklist]' });
    expect(view(at('staged'), ui(PM)).keys.bless.enabled).toBe(true);
    expect(view(at('blessed'), ui(PM)).keys.certify).toMatchObject({ enabled: false, reason: 'tick these first: Announce in #ops (or certify with --force) [open-checklist]' });
    expect(view(at('blessed'), ui(PM)).keys.checklist.enabled).toBe(true);
  });

  it('shows Ship Its and build state per request and the deploy build in the header', () => {
    const t = text(view(checklistBoard(), ui(PM)));
    expect(t).toMatch(/#1 .*✔2 build:fail\(builder-a\)/);
    expect(t).toMatch(/#2 .*✔0 build:running/);
    expect(t).toMatch(/#5 .*build:\?/);
    expect(t.split('\n')[1]).toContain('build:pass');
    expect(text(view(sampleBoard(), ui(PM)))).not.toContain('build:');
  });

  it('the checklist overlay puts the cursor on the chosen item', () => {
    const v = view(checklistBoard(), ui(PM, { mode: { kind: 'checklist', push: 3, index: 1 } }));
    expect(text(v)).toContain('Checklist of push #3 "Wednesday train"');
    expect(text(v)).toMatch(/^> \[x\] smoke/m);
    expect(v.checklist.map((i) => i.id)).toEqual(['db-migration-run', 'smoke', 'announce']);
  });

  it('the request detail shows the review, ticket and build links', () => {
    const b = checklistBoard();
    const r = b.requests[0]!;
    const d = { request: { ...r, comments: [] }, push: null, history: [] };
    const t = text(view(b, ui(PM, { mode: { kind: 'detail', request: 1, detail: d as never, error: null, scroll: 0 } })));
    expect(t).toContain('review link https://rb.example/r/1234/ · Ship It ✔2');
    expect(t).toContain('ticket link https://jira.example/browse/WEB-42');
    expect(t).toContain('build fail(builder-a) https://bb.example/b/1');
  });
});

describe('terminal columns (issue 13)', () => {
  const cols = (l: { segs: readonly { text: string }[] }) => stringWidth(l.segs.map((s) => s.text).join(''));

  it('a title with an emoji or wide characters takes its columns: the row is as wide as the others', () => {
    const b = sampleBoard();
    const board = { ...b, requests: b.requests.map((r) => (r.id === 1 ? { ...r, title: 'Ship it 🚀 now' } : r.id === 2 ? { ...r, title: '検索を速く' } : r)) };
    // Stacked (80): every request row is padded to the terminal's width.
    const stacked = view(board, { ...ui(PM), width: 80, height: 30 });
    expect(['r1', 'r2', 'r4', 'r5'].map((k) => cols(stacked.lines.find((l) => l.key === k)!))).toEqual([80, 80, 80, 80]);
    // Columns (120): the divider between the push and the waiting list stays in one column.
    const columns = view(board, { ...ui(PM), width: 120, height: 30 });
    const rows = columns.lines.filter((l) => l.key.startsWith('b')).map((l) => l.segs.map((s) => s.text).join(''));
    const divider = new Set(rows.map((r) => stringWidth(r.slice(0, r.indexOf(' │ ')))));
    expect(rows.length).toBeGreaterThan(3);
    expect([...divider]).toHaveLength(1);
  });

  it('cuts a wide title at a character boundary, never past the edge', () => {
    const b = sampleBoard();
    const board = { ...b, requests: b.requests.map((r) => (r.id === 1 ? { ...r, title: '🚀'.repeat(60) } : r)) };
    const v = view(board, { ...ui(PM), width: 80, height: 24 });
    expect(v.lines.every((l) => cols(l) <= 80)).toBe(true);
    expect(cols(v.lines.find((l) => l.key === 'r1')!)).toBe(80);
  });
});

describe('80×24 (issue 13): nothing is cut mid-word', () => {
  const small = (me: Me, mode?: UiState['mode']) => view(boardIn('accepting'), { ...ui(me), connection: { state: 'live' }, width: 80, height: 24, ...(mode && { mode }) });

  it('the help wraps each reason at a word, and scrolls to show every key', () => {
    const first = small(ALICE, { kind: 'help', scroll: 0 });
    const all: string[] = [];
    for (let scroll = 0; scroll <= first.detailLines; scroll++) {
      const v = small(ALICE, { kind: 'help', scroll });
      const lines = v.lines.map((l) => l.segs.map((s) => s.text).join(''));
      expect(lines.every((l) => stringWidth(l) <= 80)).toBe(true);
      expect(lines.join('\n')).not.toContain('…');
      all.push(...lines);
    }
    const seen = all.join('\n');
    // Every key is there, and a long reason is whole (wrapped, not cut).
    for (const k of ['j/k ↑/↓', 'space', 'enter', 'accept pickmes', 'quit']) expect(seen).toContain(k);
    expect(seen).toMatch(/remove from the push \(asks for a reason\) — n\/a: alice is not the\n {9}pushmaster of push 3 \(pm is\) and cannot remove from push 3/);
    expect(first.lines.at(-1)!.segs.map((s) => s.text).join('')).toBe('j/k/space scroll · esc/? close');
    expect(first.lines.at(-3)!.segs.map((s) => s.text).join('')).toMatch(/↓ \d+ more lines \(j or space scrolls down\)/);
  });

  it('the help says that space selects and moves down', () => {
    const v = view(sampleBoard(), { ...ui(PM), mode: { kind: 'help', scroll: 0 } });
    expect(text(v)).toContain('space    select or unselect the request, then move down (space space space picks a run)');
  });

  it("a long refusal takes two rows instead of losing its reason; the screen keeps its height", () => {
    const refusal = "accept #2: refused: request 2 (alice) does not merge onto push 3's deploy branch: conflicts in same.txt; nothing changed [merge-conflict]";
    const v = view(boardIn('accepting'), { ...ui(PM), connection: { state: 'live' }, width: 80, height: 24, status: { text: refusal, tone: 'error' } });
    const lines = v.lines.map((l) => l.segs.map((s) => s.text).join(''));
    expect(lines).toHaveLength(23);
    expect(lines.slice(-3, -1).map((l) => l.trim()).join(' ')).toBe(refusal);
    expect(lines.every((l) => stringWidth(l) <= 80)).toBe(true);
  });

  it('the footer and the header hold whole entries only', () => {
    for (const me of [PM, ALICE]) {
      const v = small(me);
      const header = v.lines[1]!.segs.map((s) => s.text).join('');
      const footer = v.lines.at(-1)!.segs.map((s) => s.text).join('');
      expect(footer).not.toContain('…');
      expect(header).not.toContain('…');
      expect(stringWidth(footer)).toBeLessThanOrEqual(80);
      expect(footer.startsWith('? keys  q quit')).toBe(true);
    }
  });

  it('a footer entry that ends exactly at the edge is whole: its trailing gap is not cut into an ellipsis', () => {
    // Seen in tmux at 80 columns on a push with jobs: `… J jobs  D discar…`.
    const b = { ...sampleBoard(), pushes: [{ ...sampleBoard().pushes[0]!, jobs: [{ id: '3.1', name: 'test', on: 'build', sha: 'ab'.repeat(20), state: 'failed', attempt: 1, kind: 'build', url: null, startedAt: NOW.toISOString(), finishedAt: NOW.toISOString() }] }, sampleBoard().pushes[1]!] } as StatusView;
    // Whatever the width, one of them ends in the last column.
    for (let width = 60; width <= 130; width++) {
      for (const focus of ['requests', 'jobs'] as const) {
        const footer = view(b, ui(PM, { width, height: 24, focus })).lines.at(-1)!.segs.map((s) => s.text).join('');
        expect(footer, `${width} columns`).not.toContain('…');
        expect(stringWidth(footer)).toBeLessThanOrEqual(width);
      }
    }
  });
});
