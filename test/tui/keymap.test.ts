// The keymap as a pure function: each key in each mode → UI actions, API commands (the API's shapes),
// detail loads or quitting; unavailable keys answer with the reason instead of a command.
import { describe, expect, it } from 'vitest';
import { afterAnswer, afterRefusal, interpretInput, interpretKey, type Effect, type KeyPress } from '../../tui/dashboard/keymap.js';
import { initialUi, uiReducer, type Me, type Mode, type UiState } from '../../tui/dashboard/ui-state.js';
import type { BoardView, CommandAnswer } from '../../state/wire.js';
import { buildView } from '../../tui/dashboard/screen.js';
import { NOW, checklistBoard, sampleBoard, withActions } from './fixtures.js';

const PM: Me = { name: 'pm', pushmaster: true };
const ALICE: Me = { name: 'alice', pushmaster: false };
const BOB: Me = { name: 'bob', pushmaster: false };

function press(input: string, key: KeyPress = {}, me: Me = PM, over: Partial<UiState> = {}, pushState: BoardView['pushes'][number]['state'] = 'accepting'): Effect {
  const b = sampleBoard();
  // A staged push has its accepted requests staged (as after `push stage`), so bless is one decide accepts.
  const board = { ...b, pushes: [{ ...b.pushes[0]!, state: pushState, deploySha: 'd'.repeat(40) }, b.pushes[1]!], requests: b.requests.map((r) => (pushState === 'staged' && r.state === 'added' ? { ...r, state: 'staged' as const } : r)) };
  const s = { ...initialUi({ width: 120, height: 30 }, me), ...over };
  return interpretKey(input, key, s, buildView(withActions(board, me), s, { now: NOW, color: false }));
}
const mode = (m: Mode): Partial<UiState> => ({ mode: m });

describe('board keys', () => {
  const table: [string, string, KeyPress, Me, Partial<UiState>, BoardView['pushes'][number]['state'], Partial<Effect>][] = [
    ['j moves down', 'j', {}, PM, { cursor: 1 }, 'accepting', { actions: [{ type: 'cursor', id: 2 }] }],
    ['down arrow moves down', '', { downArrow: true }, PM, { cursor: 1 }, 'accepting', { actions: [{ type: 'cursor', id: 2 }] }],
    ['k at the top stays', 'k', {}, PM, { cursor: 1 }, 'accepting', { actions: [{ type: 'cursor', id: 1 }] }],
    ['G goes to the last row', 'G', {}, PM, {}, 'accepting', { actions: [{ type: 'cursor', id: 7 }] }],
    ['space selects and moves on', ' ', {}, PM, { cursor: 1 }, 'accepting', { actions: [{ type: 'select', ids: [1] }, { type: 'cursor', id: 2 }] }],
    ['space unselects', ' ', {}, PM, { cursor: 1, selected: [1, 2] }, 'accepting', { actions: [{ type: 'select', ids: [2] }, { type: 'cursor', id: 2 }] }],
    [
      'a accepts the selected pickmes in one command',
      'a',
      {},
      PM,
      { selected: [2, 1, 4] },
      'accepting',
      { actions: [{ type: 'select', ids: [] }], send: { label: 'accept #2 #1', commands: [{ type: 'AcceptRequests', push: 3, requests: [2, 1] }] } },
    ],
    ['a refused for a pushee, with why', 'a', {}, ALICE, {}, 'accepting', { actions: [{ type: 'status', status: { text: 'accept: alice is not the pushmaster of push 3 (pm is) and cannot accept into push 3 [not-pushmaster-of-push]', tone: 'error' } }] }],
    ['x asks for a reason', 'x', {}, PM, { cursor: 4 }, 'accepting', { actions: [{ type: 'mode', mode: { kind: 'prompt', prompt: { kind: 'remove', push: 3, requests: [4] }, text: '' } }] }],
    ['r rebuilds', 'r', {}, PM, {}, 'accepting', { send: { label: 'rebuild push #3', commands: [{ type: 'RebuildPush', push: 3 }] } }],
    ['s asks for the environment', 's', {}, PM, {}, 'accepting', { actions: [{ type: 'mode', mode: { kind: 'prompt', prompt: { kind: 'stage', push: 3 }, text: 'stage' } }] }],
    ['b blesses', 'b', {}, PM, {}, 'staged', { send: { label: 'bless push #3', commands: [{ type: 'BlessPush', push: 3, force: false }] } }],
    [
      'c asks to confirm with the deploy SHA',
      'c',
      {},
      PM,
      {},
      'blessed',
      { actions: [{ type: 'mode', mode: { kind: 'confirm', confirm: { kind: 'certify', push: 3, deploySha: 'd'.repeat(40), master: 'c8'.repeat(20) } } }] },
    ],
    ['D asks to confirm', 'D', {}, PM, {}, 'accepting', { actions: [{ type: 'mode', mode: { kind: 'confirm', confirm: { kind: 'discard-push', push: 3 } } }] }],
    ['m asks for the message', 'm', {}, PM, {}, 'accepting', { actions: [{ type: 'mode', mode: { kind: 'prompt', prompt: { kind: 'message', push: 3 }, text: '' } }] }],
    ['C asks for the comment', 'C', {}, BOB, { cursor: 4 }, 'accepting', { actions: [{ type: 'mode', mode: { kind: 'prompt', prompt: { kind: 'comment', request: 4 }, text: '' } }] }],
    ['enter opens the detail', '', { return: true }, BOB, { cursor: 2 }, 'accepting', { actions: [{ type: 'mode', mode: { kind: 'detail', request: 2, detail: null, error: null, scroll: 0 } }], load: 2 }],
    ['/ opens the filter with the current one', '/', {}, BOB, { filter: 'tag:urgent' }, 'accepting', { actions: [{ type: 'mode', mode: { kind: 'prompt', prompt: { kind: 'filter' }, text: 'tag:urgent' } }] }],
    ['p picks my waiting request', 'p', {}, ALICE, { cursor: 5 }, 'accepting', { send: { label: 'pickme #5', commands: [{ type: 'PickmeRequest', request: 5 }] } }],
    ['u unpicks my pickme', 'u', {}, ALICE, { cursor: 2 }, 'accepting', { send: { label: 'unpickme #2', commands: [{ type: 'UnpickmeRequest', request: 2 }] } }],
    ['d delays', 'd', {}, ALICE, { cursor: 5 }, 'accepting', { send: { label: 'delay #5', commands: [{ type: 'DelayRequest', request: 5 }] } }],
    ['d undelays a delayed one', 'd', {}, BOB, { cursor: 7 }, 'accepting', { send: { label: 'undelay #7', commands: [{ type: 'UndelayRequest', request: 7 }] } }],
    ['v refused with why', 'v', {}, ALICE, { cursor: 2 }, 'accepting', { actions: [{ type: 'status', status: { text: 'verify: request 2 is pickme; cannot verify request 2 (allowed from: staged) [illegal-transition]', tone: 'error' } }] }],
    ['? shows help', '?', {}, BOB, {}, 'accepting', { actions: [{ type: 'mode', mode: { kind: 'help', scroll: 0 } }] }],
    ['q quits', 'q', {}, BOB, {}, 'accepting', { quit: true }],
    ['ctrl-c quits', 'c', { ctrl: true }, BOB, {}, 'accepting', { quit: true }],
    ['esc clears the selection first', '', { escape: true }, PM, { selected: [1], filter: 'x' }, 'accepting', { actions: [{ type: 'select', ids: [] }, { type: 'status', status: { text: 'selection cleared', tone: 'info' } }] }],
    ['unknown keys do nothing', 'Z', {}, PM, {}, 'accepting', { actions: [] }],
  ];
  it.each(table)('%s', (_n, input, key, me, over, pushState, want) => {
    const got = press(input, key, me, over, pushState);
    expect(got).toMatchObject(want);
    if (!want.send) expect(got.send).toBeUndefined();
  });
});

describe('prompts and confirmations', () => {
  const removing = mode({ kind: 'prompt', prompt: { kind: 'remove', push: 3, requests: [4, 1] }, text: 'breaks the build' });
  const table: [string, string, KeyPress, Partial<UiState>, Partial<Effect>][] = [
    ['typing appends', 'x', {}, mode({ kind: 'prompt', prompt: { kind: 'message', push: 3 }, text: 'hi' }), { actions: [{ type: 'prompt-text', text: 'hix' }] }],
    ['control characters are dropped', '\u001b[2Jok', {}, mode({ kind: 'prompt', prompt: { kind: 'message', push: 3 }, text: '' }), { actions: [{ type: 'prompt-text', text: '[2Jok' }] }],
    ['backspace removes one character', '', { backspace: true }, mode({ kind: 'prompt', prompt: { kind: 'message', push: 3 }, text: 'héé' }), { actions: [{ type: 'prompt-text', text: 'hé' }] }],
    [
      'enter removes each request with the reason',
      '',
      { return: true },
      removing,
      {
        send: {
          label: 'remove #4 #1',
          commands: [
            { type: 'RemoveRequest', push: 3, request: 4, reason: 'breaks the build' },
            { type: 'RemoveRequest', push: 3, request: 1, reason: 'breaks the build' },
          ],
        },
      },
    ],
    ['a reason is required', '', { return: true }, mode({ kind: 'prompt', prompt: { kind: 'remove', push: 3, requests: [4] }, text: '  ' }), { actions: [{ type: 'status', status: { text: 'a reason is required to remove a request', tone: 'error' } }] }],
    ['stage sends the env', '', { return: true }, mode({ kind: 'prompt', prompt: { kind: 'stage', push: 3 }, text: 'stage-b' }), { send: { label: 'stage push #3 on stage-b', commands: [{ type: 'StagePush', push: 3, env: 'stage-b' }] } }],
    ['comment sends the text', '', { return: true }, mode({ kind: 'prompt', prompt: { kind: 'comment', request: 2 }, text: 'ready' }), { send: { label: 'comment on #2', commands: [{ type: 'CommentRequest', request: 2, text: 'ready' }] } }],
    ['message sends the text', '', { return: true }, mode({ kind: 'prompt', prompt: { kind: 'message', push: 3 }, text: 'verify please' }), { send: { label: 'message the pushees of push #3', commands: [{ type: 'MessagePushees', push: 3, text: 'verify please' }] } }],
    ['open push sends the title', '', { return: true }, mode({ kind: 'prompt', prompt: { kind: 'open-push' }, text: 'Thursday' }), { send: { label: 'open push "Thursday"', commands: [{ type: 'OpenPush', title: 'Thursday', pushType: 'regular' }] } }],
    ['esc cancels', '', { escape: true }, removing, { actions: [{ type: 'mode', mode: { kind: 'board' } }, { type: 'status', status: { text: 'cancelled', tone: 'info' } }] }],
    ['esc in the filter clears it', '', { escape: true }, mode({ kind: 'prompt', prompt: { kind: 'filter' }, text: 'x' }), { actions: [{ type: 'mode', mode: { kind: 'board' } }, { type: 'filter', text: '' }] }],
    ['y certifies', 'y', {}, mode({ kind: 'confirm', confirm: { kind: 'certify', push: 3, deploySha: 'd', master: 'm' } }), { send: { label: 'certify push #3', commands: [{ type: 'CertifyPush', push: 3, force: false }] } }],
    ['n cancels the certify', 'n', {}, mode({ kind: 'confirm', confirm: { kind: 'certify', push: 3, deploySha: 'd', master: 'm' } }), { actions: [{ type: 'mode', mode: { kind: 'board' } }, { type: 'status', status: { text: 'certify cancelled', tone: 'info' } }] }],
    ['y discards the push', 'y', {}, mode({ kind: 'confirm', confirm: { kind: 'discard-push', push: 3 } }), { send: { label: 'discard push #3', commands: [{ type: 'DiscardPush', push: 3 }] } }],
    ['other keys wait for y/n', 'a', {}, mode({ kind: 'confirm', confirm: { kind: 'discard-push', push: 3 } }), { actions: [] }],
    ['detail scrolls', 'j', {}, mode({ kind: 'detail', request: 2, detail: null, error: null, scroll: 0 }), { actions: [{ type: 'detail-scroll', scroll: 0 }] }],
    ['detail closes with esc', '', { escape: true }, mode({ kind: 'detail', request: 2, detail: null, error: null, scroll: 0 }), { actions: [{ type: 'mode', mode: { kind: 'board' } }] }],
    ['help closes with ?', '?', {}, mode({ kind: 'help', scroll: 0 }), { actions: [{ type: 'mode', mode: { kind: 'board' } }] }],
    ['y forces a refused bless', 'y', {}, mode({ kind: 'confirm', confirm: { kind: 'bless-force', push: 3, unverified: [{ id: 4, user: 'carol' }], why: null } }), { send: { label: 'bless push #3 (forced)', commands: [{ type: 'BlessPush', push: 3, force: true }] } }],
    ['n keeps it refused', 'n', {}, mode({ kind: 'confirm', confirm: { kind: 'bless-force', push: 3, unverified: [], why: null } }), { actions: [{ type: 'mode', mode: { kind: 'board' } }, { type: 'status', status: { text: 'bless cancelled', tone: 'info' } }] }],
  ];
  it.each(table)('%s', (_n, input, key, over, want) => {
    const got = press(input, key, PM, over);
    expect(got).toMatchObject(want);
    if (!want.send) expect(got.send).toBeUndefined();
  });
});

describe('the checklist pick list (t)', () => {
  function pressOn(input: string, key: KeyPress = {}, me: Me = PM, over: Partial<UiState> = {}, pushState: BoardView['pushes'][number]['state'] = 'accepting'): Effect {
    const b = checklistBoard();
    const board = { ...b, pushes: [{ ...b.pushes[0]!, state: pushState }, b.pushes[1]!] } as BoardView;
    const s = { ...initialUi({ width: 120, height: 30 }, me), ...over };
    return interpretKey(input, key, s, buildView(withActions(board, me), s, { now: NOW, color: false }));
  }
  const list = (index: number) => mode({ kind: 'checklist', push: 3, index });
  const table: [string, string, KeyPress, Me, Partial<UiState>, Partial<Effect>][] = [
    ['t opens the list on the first open item', 't', {}, PM, {}, { actions: [{ type: 'mode', mode: { kind: 'checklist', push: 3, index: 0 } }] }],
    ['t refused for a pushee, with why', 't', {}, ALICE, {}, { actions: [{ type: 'status', status: { text: 'tick: alice is not the pushmaster of push 3 (pm is) and cannot tick the checklist of push 3 [not-pushmaster-of-push]', tone: 'error' } }] }],
    ['j moves down', 'j', {}, PM, list(0), { actions: [{ type: 'mode', mode: { kind: 'checklist', push: 3, index: 1 } }] }],
    ['j stops at the last item', 'j', {}, PM, list(2), { actions: [{ type: 'mode', mode: { kind: 'checklist', push: 3, index: 2 } }] }],
    ['k stops at the first item', '', { upArrow: true }, PM, list(0), { actions: [{ type: 'mode', mode: { kind: 'checklist', push: 3, index: 0 } }] }],
    ['enter ticks an open item', '', { return: true }, PM, list(0), { send: { label: 'tick db-migration-run on push #3', commands: [{ type: 'TickChecklist', push: 3, item: 'db-migration-run', done: true }] } }],
    ['space unticks a ticked item', ' ', {}, PM, list(1), { send: { label: 'untick smoke on push #3', commands: [{ type: 'TickChecklist', push: 3, item: 'smoke', done: false }] } }],
    ['esc closes', '', { escape: true }, PM, list(1), { actions: [{ type: 'mode', mode: { kind: 'board' } }] }],
    ['other keys do nothing', 'a', {}, PM, list(1), { actions: [] }],
  ];
  it.each(table)('%s', (_n, input, key, me, over, want) => {
    const got = pressOn(input, key, me, over);
    expect(got).toMatchObject(want);
    if (!want.send) expect(got.send).toBeUndefined();
  });

  it('t is off without a checklist', () => {
    expect(press('t')).toMatchObject({ actions: [{ type: 'status', status: { text: 'tick: push #3 has no checklist', tone: 'error' } }] });
  });
});

describe('after a refusal', () => {
  const board = sampleBoard();
  it('a bless refused for unverified requests asks to force it, with who owns them', () => {
    const got = afterRefusal({ type: 'BlessPush', push: 3, force: false }, { code: 'unverified-requests', message: 'requests 1 (bob), 4 (carol) are not verified on stage; wait, remove them, or bless with --force', data: { push: 3, requests: [1, 4] } }, board);
    expect(got).toEqual([{ type: 'mode', mode: { kind: 'confirm', confirm: { kind: 'bless-force', push: 3, unverified: [{ id: 1, user: 'bob' }, { id: 4, user: 'carol' }], why: null } } }]);
  });
  it('a bless refused for failing builds asks too, with the reason and without the --force advice', () => {
    const got = afterRefusal({ type: 'BlessPush', push: 3 }, { code: 'builds-failing', message: 'the deploy branch of push 3 fails its builds (test); fix or remove the culprit, or bless with --force', data: { push: 3 } }, board);
    expect(got).toEqual([{ type: 'mode', mode: { kind: 'confirm', confirm: { kind: 'bless-force', push: 3, unverified: [], why: 'the deploy branch of push 3 fails its builds (test)' } } }]);
  });
  it('other refusals, and a forced bless refused again, are only shown', () => {
    expect(afterRefusal({ type: 'BlessPush', push: 3, force: true }, { code: 'unverified-requests', message: '', data: {} }, board)).toBeNull();
    expect(afterRefusal({ type: 'BlessPush', push: 3 }, { code: 'open-checklist', message: '', data: {} }, board)).toBeNull();
    expect(afterRefusal({ type: 'AcceptRequests', push: 3, requests: [1] }, { code: 'merge-conflict', message: '', data: {} }, board)).toBeNull();
  });
});

describe('after an answer', () => {
  const answer = (changes: unknown[]): CommandAnswer => ({ ok: true, version: 'v', events: changes.map((c) => (c as { type: string }).type), changes, pushes: [], requests: [] }) as unknown as CommandAnswer;
  const queued = answer([{ type: 'JobQueued', push: 1, job: { id: '1.8', name: 'test', on: 'build', sha: 'ab'.repeat(20), attempt: 2, kind: 'retry' }, at: 'now', actor: { kind: 'user', name: 'pm' } }]);
  it('a retry names the new job and says the key that follows it; the jobs cursor goes to it', () => {
    expect(afterAnswer({ type: 'RetryJob', job: '1.4' }, queued, 'retry job 1.4 (test)', false)).toEqual({
      text: 'job 1.8 queued: test again on ababababab (attempt 2); L follows its log',
      actions: [{ type: 'job-cursor', id: '1.8' }],
    });
    // From the log pane, L closes the pane first.
    expect(afterAnswer({ type: 'RetryJob', job: '1.4' }, queued, 'retry job 1.4 (test)', true).text).toMatch(/^job 1\.8 queued: .*; follow it: esc, then L$/);
  });
  it('a delay names the key that undoes it, not the CLI verb (the user is in the dashboard)', () => {
    const delayed = answer([{ type: 'RequestDelayed', request: 1, at: 'now', actor: { kind: 'user', name: 'alice' } }]);
    expect(afterAnswer({ type: 'DelayRequest', request: 1 }, delayed, 'delay #1', false)).toEqual({ text: 'request 1 delayed; d on it again undelays it', actions: [] });
  });
  it('a cancel says the sentence the CLI says; an answer without the job events says it worked', () => {
    const cancelled = answer([{ type: 'JobFinished', push: 1, job: '1.4', name: 'test', sha: 'ab'.repeat(20), state: 'cancelled', at: 'now', actor: { kind: 'user', name: 'pm' } }]);
    expect(afterAnswer({ type: 'CancelJob', job: '1.4' }, cancelled, 'cancel job 1.4 (test)', false)).toEqual({ text: 'job 1.4 (test) cancelled; run it again with: pushmanager job retry 1.4', actions: [] });
    expect(afterAnswer({ type: 'RetryJob', job: '1.4' }, answer([{ type: 'Something' }]), 'retry job 1.4 (test)', false)).toEqual({ text: 'retry job 1.4 (test): done', actions: [] });
  });
});

describe('help scrolls when the keys need more rows than the terminal has', () => {
  const small = (scroll: number): Partial<UiState> => ({ mode: { kind: 'help', scroll }, width: 80, height: 24 });
  function pressSmall(input: string, key: KeyPress, over: Partial<UiState>): Effect {
    const s = { ...initialUi({ width: 80, height: 24 }, ALICE), ...over };
    return interpretKey(input, key, s, buildView(withActions(sampleBoard(), s.me), s, { now: NOW, color: false }));
  }
  it('j scrolls down, k up, and scrolling stops at the end', () => {
    expect(pressSmall('j', {}, small(0))).toEqual({ actions: [{ type: 'detail-scroll', scroll: 1 }] });
    expect(pressSmall('k', {}, small(3))).toEqual({ actions: [{ type: 'detail-scroll', scroll: 2 }] });
    // Space pages down until the end (the help is longer now that reasons are the server's whole sentences).
    let end = { scroll: 0 };
    for (let prev = -1; end.scroll !== prev; ) {
      prev = end.scroll;
      end = pressSmall(' ', {}, small(end.scroll)).actions[0] as { scroll: number };
    }
    expect(pressSmall('j', {}, small(end.scroll))).toEqual({ actions: [{ type: 'detail-scroll', scroll: end.scroll }] });
  });
});

describe('keys that arrive together (one read: a held key, typing ahead, tmux send-keys jjj)', () => {
  const board = withActions(sampleBoard(), PM);
  const viewOf = (s: UiState) => buildView(board, s, { now: NOW, color: false });
  const start = (over: Partial<UiState> = {}): UiState => ({ ...initialUi({ width: 120, height: 30 }, PM), ...over });
  /** The effects of one input, and the state after all of them. */
  function type(input: string, key: KeyPress = {}, over: Partial<UiState> = {}): { effects: Effect[]; after: UiState } {
    const s = start(over);
    const effects = interpretInput(input, key, s, viewOf);
    return { effects, after: effects.flatMap((e) => e.actions).reduce(uiReducer, s) };
  }
  const nav = viewOf(start()).navigable;

  it('jjj moves the cursor three rows, each j from where the one before left it', () => {
    const { effects, after } = type('jjj', {}, { cursor: nav[0]! });
    expect(effects).toEqual([1, 2, 3].map((i) => ({ actions: [{ type: 'cursor', id: nav[i] }] })));
    expect(after.cursor).toBe(nav[3]);
    expect(type('jjk', {}, { cursor: nav[0]! }).after.cursor).toBe(nav[1]);
    // The same as three reads of one j.
    let one = start({ cursor: nav[0]! });
    for (let i = 0; i < 3; i++) one = interpretKey('j', {}, one, viewOf(one)).actions.reduce(uiReducer, one);
    expect(one.cursor).toBe(after.cursor);
  });

  it('control characters among them are the keys they are alone: enter opens the detail, ctrl-c quits and drops the rest', () => {
    const { effects, after } = type('j\r', {}, { cursor: nav[0]! });
    expect(effects[1]).toMatchObject({ load: nav[1] });
    expect(after.mode).toMatchObject({ kind: 'detail', request: nav[1] });
    const quit = type('j\u0003j', {}, { cursor: nav[0]! });
    expect(quit.effects).toHaveLength(2);
    expect(quit.effects[1]!.quit).toBe(true);
    expect(quit.after.cursor).toBe(nav[1]);
  });

  it('a key that opens a prompt takes the rest as its text, one string; in a prompt a paste stays one string', () => {
    const { effects, after } = type('/urgent');
    expect(effects).toHaveLength(2);
    expect(effects[1]).toEqual({ actions: [{ type: 'prompt-text', text: 'urgent' }] });
    expect(after).toMatchObject({ mode: { kind: 'prompt', prompt: { kind: 'filter' }, text: 'urgent' }, filter: 'urgent' });
    const pasted = type('jjj q', {}, mode({ kind: 'prompt', prompt: { kind: 'message', push: 3 }, text: '' }));
    expect(pasted.effects).toEqual([{ actions: [{ type: 'prompt-text', text: 'jjj q' }] }]);
  });

  it('a line end in a prompt\'s text is enter: the reason typed and its enter in one read send it, and the keys after it are keys again', () => {
    const removing = mode({ kind: 'prompt', prompt: { kind: 'remove', push: 3, requests: [nav[0]!] }, text: '' });
    const { effects, after } = type('breaks test\rj', {}, { ...removing, cursor: nav[0]! });
    expect(effects[0]).toEqual({ actions: [{ type: 'prompt-text', text: 'breaks test' }] });
    expect(effects[1]!.send).toMatchObject({ commands: [{ type: 'RemoveRequest', reason: 'breaks test' }] });
    expect(after.mode.kind).toBe('board');
    expect(after.cursor).toBe(nav[1]);
  });

  it('special keys and single characters pass as they are', () => {
    expect(type('', { downArrow: true }, { cursor: nav[0]! }).effects).toEqual([{ actions: [{ type: 'cursor', id: nav[1] }] }]);
    expect(type('j', {}, { cursor: nav[0]! }).effects).toEqual([{ actions: [{ type: 'cursor', id: nav[1] }] }]);
    expect(type('c', { ctrl: true }).effects).toEqual([{ actions: [], quit: true }]);
  });
});
