// What a key means, given the UI state and the current view: UI changes to apply, API commands to send
// (the same shapes the CLI sends), a detail to load, or quitting. Pure, so every key is table-tested;
// a key that is not available now answers with the reason in the status line instead of a command.
import { answerSentence } from '../../state/describe.js';
import type { ApiCommandInput, CommandAnswer } from '../../state/wire.js';
import type { StatusView } from '../../state/status-view.js';
import { safeLine } from '../../state/text.js';
import { isJobCommand, type ClientCommand } from '../client.js';
import type { KeyName } from './keys.js';
import type { DashboardView } from './screen.js';
import { uiReducer, type Prompt, type UiAction, type UiState } from './ui-state.js';

/** The parts of Ink's Key the dashboard reads; all optional so tests can say only what matters. */
export interface KeyPress {
  readonly upArrow?: boolean;
  readonly downArrow?: boolean;
  readonly pageUp?: boolean;
  readonly pageDown?: boolean;
  readonly home?: boolean;
  readonly end?: boolean;
  readonly return?: boolean;
  readonly escape?: boolean;
  readonly backspace?: boolean;
  readonly delete?: boolean;
  readonly tab?: boolean;
  readonly ctrl?: boolean;
  readonly meta?: boolean;
}

export interface Send {
  /** What the status line calls the action ("accept #3 #4"). */
  readonly label: string;
  readonly commands: readonly ClientCommand[];
}

export interface Effect {
  /** Applied first, in order. */
  readonly actions: readonly UiAction[];
  readonly send?: Send;
  /** Fetch this request's detail into the detail overlay. */
  readonly load?: number;
  readonly quit?: boolean;
}

const NONE: Effect = { actions: [] };
const ui = (...actions: UiAction[]): Effect => ({ actions });
const toBoard: UiAction = { type: 'mode', mode: { kind: 'board' } };
const status = (text: string, tone: 'info' | 'ok' | 'error' = 'info'): UiAction => ({ type: 'status', status: { text, tone } });
const ids = (xs: readonly number[]) => xs.map((id) => `#${id}`).join(' ');
const prompt = (p: Prompt, text = ''): UiAction => ({ type: 'mode', mode: { kind: 'prompt', prompt: p, text } });
// Prompt input is one line of printable text: drop anything a terminal would interpret.
// eslint-disable-next-line no-control-regex
const printable = (s: string) => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '');

/** A KeyPress that is a special key (arrows, enter, esc…) or has a modifier: its input is not typed text. */
const isSpecial = (k: KeyPress): boolean =>
  !!(k.upArrow || k.downArrow || k.pageUp || k.pageDown || k.home || k.end || k.return || k.escape || k.backspace || k.delete || k.tab || k.ctrl || k.meta);

/** One character as Ink hands it when it arrives alone (its parse-keypress): control characters are keys. */
export function keyOfChar(c: string): { input: string; key: KeyPress } {
  if (c === '\r') return { input: c, key: { return: true } };
  if (c === '\t') return { input: '', key: { tab: true } };
  if (c === '\b') return { input: '', key: { backspace: true } };
  if (c === '\u007f') return { input: '', key: { delete: true } };
  // ctrl+letter (ctrl+c is \u0003); a line feed Ink passes on as it is.
  if (c !== '\n' && c >= '\u0001' && c <= '\u001a') return { input: String.fromCharCode(c.charCodeAt(0) + 96), key: { ctrl: true } };
  return { input: c, key: {} };
}

/**
 * Hands `input` to `handle` key by key. Ink passes the characters of one read as one string: keys that
 * arrive together (a held key, typing ahead, tmux send-keys jjj, a slow ssh link) would be one unknown
 * key. Outside a prompt each character is a key of its own, in order; once a key opens a prompt, the
 * rest is that prompt's text, one string, as a paste into an open prompt is, up to a line end, which is
 * enter. Special keys (escape
 * sequences, which Ink already splits from the text around them) and single characters pass as they
 * are. `handle` answers false to drop the rest (the dashboard quit). `inPrompt` is asked before each key:
 * it reads the state the previous key left.
 */
export function eachKey(input: string, key: KeyPress, inPrompt: () => boolean, handle: (input: string, key: KeyPress) => boolean): void {
  const chars = [...input];
  if (chars.length < 2 || isSpecial(key)) {
    handle(input, key);
    return;
  }
  let i = 0;
  while (i < chars.length) {
    if (inPrompt()) {
      // The prompt's text up to a line end, as one string; the line end is enter (tmux send-keys "text"
      // Enter, or typing ahead, sends both in one read: the reason and its enter).
      let end = i;
      while (end < chars.length && chars[end] !== '\r' && chars[end] !== '\n') end++;
      if (end > i && !handle(chars.slice(i, end).join(''), {})) return;
      if (end === chars.length) return;
      i = end;
      if (!handle('\r', { return: true })) return;
      i++;
      continue;
    }
    const k = keyOfChar(chars[i]!);
    if (!handle(k.input, k.key)) return;
    i++;
  }
}

/**
 * What one input from Ink means: the effect of each key in it (see eachKey), each interpreted on the UI
 * state the effects before it left (its actions applied), up to a quit. Pure: the dashboard does the same
 * with its live state.
 */
export function interpretInput(input: string, key: KeyPress, s: UiState, viewOf: (s: UiState) => DashboardView): Effect[] {
  let state = s;
  const out: Effect[] = [];
  eachKey(
    input,
    key,
    () => state.mode.kind === 'prompt',
    (i, k) => {
      const e = interpretKey(i, k, state, viewOf(state));
      out.push(e);
      state = e.actions.reduce(uiReducer, state);
      return !e.quit;
    },
  );
  return out;
}

export function interpretKey(input: string, key: KeyPress, s: UiState, view: DashboardView): Effect {
  if (key.ctrl && input === 'c') return { actions: [], quit: true };
  switch (s.mode.kind) {
    case 'prompt':
      return promptKey(input, key, s, s.mode.prompt, s.mode.text);
    case 'confirm': {
      const c = s.mode.confirm;
      if (input === 'y' || input === 'Y') {
        const send: Send =
          c.kind === 'certify'
            ? { label: `certify push #${c.push}`, commands: [{ type: 'CertifyPush', push: c.push, force: false }] }
            : c.kind === 'bless-force'
              ? { label: `bless push #${c.push} (forced)`, commands: [{ type: 'BlessPush', push: c.push, force: true }] }
              : { label: `discard push #${c.push}`, commands: [{ type: 'DiscardPush', push: c.push }] };
        return { actions: [toBoard], send };
      }
      const what = c.kind === 'certify' ? 'certify' : c.kind === 'bless-force' ? 'bless' : 'discard';
      if (input === 'n' || input === 'N' || key.escape || input === 'q') return ui(toBoard, status(`${what} cancelled`));
      return NONE;
    }
    case 'help': {
      const m = s.mode;
      if (key.escape || input === '?' || input === 'q' || key.return) return ui(toBoard);
      // view.detailLines counts the help's lines too: scrolling stops when the last one is on screen.
      const last = Math.max(0, view.detailLines - view.bodyHeight);
      if (input === 'j' || key.downArrow) return ui({ type: 'detail-scroll', scroll: Math.min(m.scroll + 1, last) });
      if (input === 'k' || key.upArrow) return ui({ type: 'detail-scroll', scroll: m.scroll - 1 });
      if (key.pageDown || input === ' ') return ui({ type: 'detail-scroll', scroll: Math.min(m.scroll + view.bodyHeight, last) });
      if (key.pageUp) return ui({ type: 'detail-scroll', scroll: m.scroll - view.bodyHeight });
      return NONE;
    }
    case 'checklist':
      return checklistKey(input, key, s.mode.push, s.mode.index, view);
    case 'job-log':
      return logKey(input, key, s.mode.scroll, view);
    case 'detail': {
      const m = s.mode;
      if (key.escape || key.return || input === 'q') return ui(toBoard);
      if (input === 'j' || key.downArrow) return ui({ type: 'detail-scroll', scroll: Math.min(m.scroll + 1, Math.max(0, view.detailLines - view.bodyHeight)) });
      if (input === 'k' || key.upArrow) return ui({ type: 'detail-scroll', scroll: m.scroll - 1 });
      if (key.pageDown || input === ' ') return ui({ type: 'detail-scroll', scroll: Math.min(m.scroll + view.bodyHeight, Math.max(0, view.detailLines - view.bodyHeight)) });
      if (key.pageUp) return ui({ type: 'detail-scroll', scroll: m.scroll - view.bodyHeight });
      if (input === 'C') return ui(prompt({ kind: 'comment', request: m.request }));
      return NONE;
    }
    case 'board':
      return boardKey(input, key, s, view);
  }
}

/** The name of the action a board key triggers, for keys that have an availability. */
export function keyNameOf(input: string, key: KeyPress): KeyName | null {
  if (input === 'j' || input === 'k' || input === 'g' || input === 'G' || key.upArrow || key.downArrow || key.pageUp || key.pageDown || key.home || key.end) return 'move';
  if (key.return) return 'detail';
  if (key.tab) return 'next-push';
  const map: Record<string, KeyName> = {
    ' ': 'select',
    '/': 'filter',
    a: 'accept',
    x: 'remove',
    r: 'rebuild',
    s: 'stage',
    b: 'bless',
    c: 'certify',
    D: 'discard',
    m: 'message',
    p: 'pickme',
    u: 'unpickme',
    v: 'verify',
    d: 'delay',
    C: 'comment',
    t: 'checklist',
    O: 'open',
    J: 'jobs',
    L: 'job-log',
    R: 'job-retry',
    X: 'job-cancel',
    '?': 'help',
    q: 'quit',
  };
  return map[input] ?? null;
}

function boardKey(input: string, key: KeyPress, s: UiState, view: DashboardView): Effect {
  if (view.focus === 'jobs') {
    const e = jobsKey(input, key, view);
    if (e) return e;
  }
  if (key.escape) {
    if (s.selected.length) return ui({ type: 'select', ids: [] }, status('selection cleared'));
    if (s.filter) return ui({ type: 'filter', text: '' }, status('filter cleared'));
    return ui({ type: 'status', status: null });
  }
  const name = keyNameOf(input, key);
  if (!name) return NONE;
  const k = view.keys[name];
  if (!k.enabled) return ui(status(`${k.short}: ${k.reason}`, 'error'));
  const push = view.push;
  const nav = view.navigable;
  const at = view.cursor === null ? -1 : nav.indexOf(view.cursor);
  const moveTo = (i: number): Effect => (nav.length ? ui({ type: 'cursor', id: nav[Math.max(0, Math.min(nav.length - 1, i))]! }) : NONE);
  const done: UiAction = { type: 'select', ids: [] };

  switch (name) {
    case 'move':
      if (input === 'j' || key.downArrow) return moveTo(at + 1);
      if (input === 'k' || key.upArrow) return moveTo(at - 1);
      if (key.pageDown) return moveTo(at + view.bodyHeight - 2);
      if (key.pageUp) return moveTo(at - view.bodyHeight + 2);
      if (input === 'g' || key.home) return moveTo(0);
      return moveTo(nav.length - 1);
    case 'select': {
      const id = view.cursor!;
      const sel = s.selected.includes(id) ? s.selected.filter((x) => x !== id) : [...s.selected, id];
      // Moving on after selecting lets space space space pick a run of rows.
      return { actions: [{ type: 'select', ids: sel }, ...moveTo(at + 1).actions] };
    }
    case 'detail':
      return { actions: [{ type: 'mode', mode: { kind: 'detail', request: view.cursor!, detail: null, error: null, scroll: 0 } }], load: view.cursor! };
    case 'filter':
      return ui(prompt({ kind: 'filter' }, s.filter));
    case 'accept':
      return { actions: [done], send: { label: `accept ${ids(k.ids)}`, commands: [{ type: 'AcceptRequests', push: push!.id, requests: [...k.ids] }] } };
    case 'remove':
      return ui(prompt({ kind: 'remove', push: push!.id, requests: k.ids }));
    case 'rebuild':
      return { actions: [], send: { label: `rebuild push #${push!.id}`, commands: [{ type: 'RebuildPush', push: push!.id }] } };
    case 'stage':
      return ui(prompt({ kind: 'stage', push: push!.id }, push!.stageEnv ?? 'stage'));
    case 'bless':
      return { actions: [], send: { label: `bless push #${push!.id}`, commands: [{ type: 'BlessPush', push: push!.id, force: false }] } };
    case 'certify':
      return ui({ type: 'mode', mode: { kind: 'confirm', confirm: { kind: 'certify', push: push!.id, deploySha: push!.deploySha, master: push!.baseSha } } });
    case 'discard':
      return ui({ type: 'mode', mode: { kind: 'confirm', confirm: { kind: 'discard-push', push: push!.id } } });
    case 'message':
      return ui(prompt({ kind: 'message', push: push!.id }));
    case 'comment':
      return ui(prompt({ kind: 'comment', request: view.cursor! }));
    case 'pickme':
      return { actions: [done], send: { label: `pickme ${ids(k.ids)}`, commands: k.ids.map((request) => ({ type: 'PickmeRequest', request })) } };
    case 'unpickme':
      return { actions: [done], send: { label: `unpickme ${ids(k.ids)}`, commands: k.ids.map((request) => ({ type: 'UnpickmeRequest', request })) } };
    case 'verify':
      return { actions: [done], send: { label: `verify ${ids(k.ids)}`, commands: k.ids.map((request) => ({ type: 'VerifyRequest', request })) } };
    case 'delay': {
      const delayed = new Set<number>(view.targets.filter((r) => r.state === 'delayed').map((r) => r.id));
      const commands: ApiCommandInput[] = k.ids.map((request) => (delayed.has(request) ? { type: 'UndelayRequest', request } : { type: 'DelayRequest', request }));
      const verb = k.ids.every((id) => delayed.has(id)) ? 'undelay' : 'delay';
      return { actions: [done], send: { label: `${verb} ${ids(k.ids)}`, commands } };
    }
    case 'checklist': {
      // Start on the first open item: that is the one usually being ticked.
      const first = view.checklist.findIndex((i) => !i.done);
      return ui({ type: 'mode', mode: { kind: 'checklist', push: push!.id, index: Math.max(0, first) } });
    }
    case 'open':
      return ui(prompt({ kind: 'open-push' }));
    case 'jobs':
      return view.focus === 'jobs' ? ui({ type: 'focus', focus: 'requests' }) : ui({ type: 'focus', focus: 'jobs' }, jobCursorOn(view.job?.id ?? null, view));
    case 'job-log':
      return ui({ type: 'open-job-log', job: view.job!.id, push: push!.id });
    case 'job-retry':
    case 'job-cancel':
      return jobEffect(name, view);
    case 'next-push':
      return ui({ type: 'push-index', index: s.pushIndex + 1 });
    case 'help':
      return ui({ type: 'mode', mode: { kind: 'help', scroll: 0 } });
    case 'quit':
      return { actions: [], quit: true };
  }
}

/** The jobs cursor on job `id`, with where its row is now (the row that takes its place if it goes). */
const jobCursorOn = (id: string | null, view: DashboardView): UiAction => {
  const index = id === null ? -1 : view.jobs.findIndex((j) => j.id === id);
  return index >= 0 ? { type: 'job-cursor', id, index } : { type: 'job-cursor', id };
};

/**
 * Retry or cancel the chosen job, through POST /api/commands as `job retry|cancel ID` sends it. The job
 * is pinned as chosen: the board the command brings moves the job that needs attention, and the next R or
 * X must act on the job the user just acted on (a retry's answer then moves it to the new job).
 */
function jobEffect(name: 'job-retry' | 'job-cancel', view: DashboardView): Effect {
  const j = view.job!;
  const what = `job ${safeLine(j.id)} (${safeLine(j.name)})`;
  const send: Send = name === 'job-retry' ? { label: `retry ${what}`, commands: [{ type: 'RetryJob', job: j.id }] } : { label: `cancel ${what}`, commands: [{ type: 'CancelJob', job: j.id }] };
  return { actions: [jobCursorOn(j.id, view)], send };
}

/**
 * With the cursor in the jobs: the cursor keys move among them, enter opens the log, esc (or J) goes
 * back to the requests. Null: the key means what it means on the board (R, X, L, the train keys).
 */
function jobsKey(input: string, key: KeyPress, view: DashboardView): Effect | null {
  if (key.escape) return ui({ type: 'focus', focus: 'requests' });
  const jobs = view.jobs;
  const at = view.job ? jobs.findIndex((j) => j.id === view.job!.id) : -1;
  const moveTo = (i: number): Effect => {
    const to = Math.max(0, Math.min(jobs.length - 1, i));
    return ui({ type: 'job-cursor', id: jobs[to]!.id, index: to });
  };
  if (input === 'j' || key.downArrow) return moveTo(at + 1);
  if (input === 'k' || key.upArrow) return moveTo(at - 1);
  if (key.pageDown) return moveTo(at + view.bodyHeight - 2);
  if (key.pageUp) return moveTo(at - view.bodyHeight + 2);
  if (input === 'g' || key.home) return moveTo(0);
  if (input === 'G' || key.end) return moveTo(jobs.length - 1);
  if (key.return) return boardKeyByName('job-log', view);
  // Keys on requests would act on a row that is not marked: say how to get back to them.
  const name = keyNameOf(input, key);
  if (name && ON_REQUESTS.has(name)) return ui(status(`${view.keys[name].short}: the cursor is on the jobs; J or esc goes back to the requests`, 'error'));
  return null;
}

const ON_REQUESTS: ReadonlySet<KeyName> = new Set<KeyName>(['select', 'detail', 'accept', 'remove', 'pickme', 'unpickme', 'verify', 'delay', 'comment']);

/** A key by its name, with its availability (as boardKey checks it). */
function boardKeyByName(name: 'job-log' | 'job-retry' | 'job-cancel', view: DashboardView): Effect {
  const k = view.keys[name];
  if (!k.enabled) return ui(status(`${k.short}: ${k.reason}`, 'error'));
  if (name === 'job-log') return ui({ type: 'open-job-log', job: view.job!.id, push: view.push!.id });
  return jobEffect(name, view);
}

/** The log pane: scroll (G follows the end again), R retries and X cancels its job, esc closes. */
function logKey(input: string, key: KeyPress, scroll: number | null, view: DashboardView): Effect {
  if (key.escape || input === 'q' || input === 'L') return ui(toBoard);
  const last = Math.max(0, view.detailLines - view.logHeight);
  const top = scroll === null ? last : Math.min(scroll, last);
  // Scrolling down to the end follows the log again.
  const to = (n: number): Effect => ui({ type: 'log-scroll', scroll: n >= last ? null : Math.max(0, n) });
  if (input === 'j' || key.downArrow) return to(top + 1);
  if (input === 'k' || key.upArrow) return to(top - 1);
  if (key.pageDown || input === ' ') return to(top + view.logHeight);
  if (key.pageUp) return to(top - view.logHeight);
  if (input === 'g' || key.home) return to(0);
  if (input === 'G' || key.end) return ui({ type: 'log-scroll', scroll: null });
  if (input === 'R') return boardKeyByName('job-retry', view);
  if (input === 'X') return boardKeyByName('job-cancel', view);
  return NONE;
}

/** The checklist pick list: move, tick or untick the item under the cursor (the list stays open), close. */
function checklistKey(input: string, key: KeyPress, push: number, index: number, view: DashboardView): Effect {
  if (key.escape || input === 'q') return ui(toBoard);
  const items = view.checklist;
  const at = (i: number): Effect => ui({ type: 'mode', mode: { kind: 'checklist', push, index: Math.max(0, Math.min(items.length - 1, i)) } });
  if (input === 'j' || key.downArrow) return at(index + 1);
  if (input === 'k' || key.upArrow) return at(index - 1);
  if (input === 'g' || key.home) return at(0);
  if (input === 'G' || key.end) return at(items.length - 1);
  if (key.return || input === ' ' || input === 't' || input === 'x') {
    const item = items[index];
    if (!item) return ui(status('no checklist item here', 'error'));
    const done = !item.done;
    return { actions: [], send: { label: `${done ? 'tick' : 'untick'} ${item.id} on push #${push}`, commands: [{ type: 'TickChecklist', push, item: item.id, done }] } };
  }
  return NONE;
}

function promptKey(input: string, key: KeyPress, s: UiState, p: Prompt, text: string): Effect {
  if (key.escape) {
    if (p.kind === 'filter') return ui(toBoard, { type: 'filter', text: '' });
    return ui(toBoard, status('cancelled'));
  }
  if (key.backspace || key.delete) return ui({ type: 'prompt-text', text: [...text].slice(0, -1).join('') });
  if (key.ctrl && input === 'u') return ui({ type: 'prompt-text', text: '' });
  if (key.return) return submit(p, text.trim());
  if (key.ctrl || key.meta || !input) return NONE;
  const add = printable(input);
  return add ? ui({ type: 'prompt-text', text: text + add }) : NONE;
}

function submit(p: Prompt, text: string): Effect {
  if (p.kind === 'filter') return ui(toBoard, { type: 'filter', text }, { type: 'cursor', id: null });
  if (!text) return ui(status(p.kind === 'remove' ? 'a reason is required to remove a request' : 'nothing typed; esc cancels', 'error'));
  const send = (label: string, commands: ApiCommandInput[], ...after: UiAction[]): Effect => ({ actions: [toBoard, ...after], send: { label, commands } });
  switch (p.kind) {
    case 'remove':
      return send(`remove ${ids(p.requests)}`, p.requests.map((request) => ({ type: 'RemoveRequest', push: p.push, request, reason: text })), { type: 'select', ids: [] });
    case 'stage':
      return send(`stage push #${p.push} on ${text}`, [{ type: 'StagePush', push: p.push, env: text }]);
    case 'message':
      return send(`message the pushees of push #${p.push}`, [{ type: 'MessagePushees', push: p.push, text }]);
    case 'comment':
      return send(`comment on #${p.request}`, [{ type: 'CommentRequest', request: p.request, text }]);
    case 'open-push':
      return send(`open push "${text}"`, [{ type: 'OpenPush', title: text, pushType: 'regular' }], { type: 'push-index', index: 0 });
  }
}

/** Refusals whose message says "--force": bless is refused while requests are unverified or builds fail. */
const FORCEABLE_BLESS = new Set(['unverified-requests', 'builds-failing']);

/**
 * What to do when the server refuses a command, beyond showing why: a bless that `--force` would let
 * through asks whether to force it (naming the unverified requests), since the dashboard has no flags.
 * Null: just show the refusal.
 */
export function afterRefusal(cmd: ClientCommand, refusal: { code: string; message: string; data: Record<string, unknown> }, board: StatusView | null): UiAction[] | null {
  if (cmd.type !== 'BlessPush' || cmd.force || !FORCEABLE_BLESS.has(refusal.code)) return null;
  const listed = Array.isArray(refusal.data.requests) ? refusal.data.requests.filter((x): x is number => typeof x === 'number') : [];
  const unverified = listed.map((id) => ({ id, user: board?.requests.find((r) => r.id === id)?.user ?? '?' }));
  // The server's text ends with "or bless with --force": the question replaces that advice.
  const why = refusal.code === 'builds-failing' ? refusal.message.replace(/;[^;]*--force\s*$/, '') : null;
  return [{ type: 'mode', mode: { kind: 'confirm', confirm: { kind: 'bless-force', push: cmd.push, unverified, why } } }];
}

/**
 * What the status line says once the server has answered `cmd` (sent as part of `label`): the sentence
 * the CLI prints for the same answer (state/describe.ts), with the dashboard's key where the CLI names a
 * command to run next. A retry also puts the jobs cursor on the new job, so L opens its log. `inLog`: the
 * log pane is open (L closes it first).
 */
export function afterAnswer(cmd: ClientCommand, answer: CommandAnswer, label: string, inLog: boolean): { text: string; actions: UiAction[] } {
  if (!isJobCommand(cmd)) {
    const text = answerSentence(cmd, answer);
    // The key that undoes a delay: the request is in DELAYED now, where d on it again undelays it.
    if (cmd.type === 'DelayRequest') return { text: text.replace(/; undelay with: pushmanager request undelay \d+$/, '; d on it again undelays it'), actions: [] };
    return { text, actions: [] };
  }
  const changes = Array.isArray(answer.changes) ? answer.changes : [];
  // A job command's events name the job; without them (an older server) there is nothing to say but that it worked.
  const said = cmd.type === 'RetryJob' ? changes.find((e) => e.type === 'JobQueued') : changes.find((e) => e.type === 'JobFinished');
  if (!said) return { text: `${label}: done`, actions: [] };
  const text = answerSentence(cmd, answer);
  if (said.type !== 'JobQueued') return { text, actions: [] };
  const id = said.job.id;
  const follow = `; follow it: pushmanager job log ${id} --follow`;
  const key = inLog ? '; follow it: esc, then L' : '; L follows its log';
  return { text: text.endsWith(follow) ? text.slice(0, -follow.length) + key : text, actions: [{ type: 'job-cursor', id }] };
}
