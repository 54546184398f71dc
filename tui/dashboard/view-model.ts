// The dashboard as data: board (StatusView) + UI state → the lines of the screen, which rows the cursor
// can visit, and for every key whether it may be used now and why not. Pure and synchronous so it can be
// table-tested and so a frame with hundreds of requests costs well under a millisecond.
import stringWidth from 'string-width';
import type { StatusView } from '../../state/status-view.js';
import { safeLine, safeText, shortSha } from '../../state/text.js';
import type { RequestDetail } from '../client.js';
import type { Me, Mode, UiState } from './ui-state.js';

type StatusPush = StatusView['pushes'][number];
type StatusRequest = StatusView['requests'][number];
export type ChecklistItem = StatusPush['checklist'][number];

/** A Buildbot result as GET /api/board sends it (server/app/board-links.ts); read defensively. */
export interface BuildSummary {
  readonly state: 'pass' | 'fail' | 'running' | 'unknown';
  readonly failedBuilders: readonly string[];
  readonly link: string;
  readonly error?: string;
}

export interface RequestLinks {
  readonly review?: string;
  readonly ticket?: string;
  readonly shipIts?: number | null;
  readonly build?: BuildSummary;
}

/** GET /api/board: the status view plus, when integrations are configured, links and build results. */
export interface BoardView extends StatusView {
  readonly links?: Readonly<Record<number, RequestLinks>>;
  readonly builds?: Readonly<Record<number, BuildSummary>>;
}

const BUILD_STATES = new Set(['pass', 'fail', 'running', 'unknown']);

/** The build's state as one short word, with the failed builders: `fail(builder-a)`, `pass`, `running`, `?`. */
export function buildWord(b: unknown): string | null {
  if (!b || typeof b !== 'object') return null;
  const o = b as { state?: unknown; failedBuilders?: unknown };
  const state = typeof o.state === 'string' && BUILD_STATES.has(o.state) ? o.state : 'unknown';
  if (state === 'unknown') return '?';
  if (state !== 'fail') return state;
  const failed = Array.isArray(o.failedBuilders) ? o.failedBuilders.filter((x): x is string => typeof x === 'string').map(safeLine) : [];
  return failed.length ? `fail(${failed.join(',')})` : 'fail';
}

const buildTone = (b: unknown): Tone => {
  const st = (b as { state?: unknown } | null)?.state;
  return st === 'pass' ? 'ok' : st === 'fail' ? 'error' : st === 'running' ? 'warn' : 'dim';
};

/** Which checklist phases hold back each step of the train (mirrors state/decide.ts). */
export const GATE_PHASES: Readonly<Record<'stage' | 'bless' | 'certify', readonly ChecklistItem['phase'][]>> = {
  stage: ['before-stage'],
  bless: ['after-stage', 'before-bless'],
  certify: ['after-bless', 'before-certify'],
};
const openItems = (p: StatusPush, step: keyof typeof GATE_PHASES) => (p.checklist ?? []).filter((i) => !i.done && GATE_PHASES[step].includes(i.phase));
const checklistGate = (p: StatusPush, step: keyof typeof GATE_PHASES) => () => {
  const open = openItems(p, step);
  return open.length ? `tick the checklist first (t): ${open.map((i) => safeLine(i.id)).join(', ')}` : null;
};

export type Tone = 'plain' | 'dim' | 'heading' | 'accent' | 'urgent' | 'conflict' | 'mine' | 'ok' | 'error' | 'warn';

export interface Seg {
  readonly text: string;
  readonly tone?: Tone;
  readonly bold?: boolean;
  /** The row under the cursor: drawn inverse when colours are on. */
  readonly inverse?: boolean;
}

export interface Line {
  readonly key: string;
  readonly segs: readonly Seg[];
}

export const KEY_NAMES = [
  'move',
  'select',
  'detail',
  'filter',
  'accept',
  'remove',
  'rebuild',
  'stage',
  'bless',
  'certify',
  'discard',
  'message',
  'pickme',
  'unpickme',
  'verify',
  'delay',
  'comment',
  'checklist',
  'open',
  'next-push',
  'help',
  'quit',
] as const;
export type KeyName = (typeof KEY_NAMES)[number];

export interface KeyState {
  readonly name: KeyName;
  readonly keys: string;
  readonly label: string;
  readonly short: string;
  readonly enabled: boolean;
  /** Why the key cannot be used now; null when enabled. */
  readonly reason: string | null;
  /** The requests the action would apply to (those of the targets that qualify). */
  readonly ids: readonly number[];
}

export interface DashboardView {
  readonly lines: readonly Line[];
  /** Request ids in the order the cursor visits them (filtered). */
  readonly navigable: readonly number[];
  readonly cursor: number | null;
  readonly push: StatusPush | null;
  readonly openPushes: readonly StatusPush[];
  /** Selection if any, else the request under the cursor. */
  readonly targets: readonly StatusRequest[];
  readonly keys: Readonly<Record<KeyName, KeyState>>;
  readonly layout: 'columns' | 'stacked';
  readonly bodyHeight: number;
  /** Lines of the open detail overlay (for scrolling bounds). */
  readonly detailLines: number;
  /** The checklist the checklist overlay shows (its push's), in push order. */
  readonly checklist: readonly ChecklistItem[];
}

export interface ViewOptions {
  readonly now: Date;
  readonly color: boolean;
}

const KEY_DEFS: Record<KeyName, { keys: string; label: string; short: string }> = {
  move: { keys: 'j/k ↑/↓', label: 'move the cursor (PgUp/PgDn, g/G)', short: 'move' },
  select: { keys: 'space', label: 'select or unselect the request, then move down (space space space picks a run)', short: 'select' },
  detail: { keys: 'enter', label: 'open the request: description, history, conflicts, links', short: 'detail' },
  filter: { keys: '/', label: 'filter by text, owner:NAME, tag:TAG, #ID (esc clears)', short: 'filter' },
  accept: { keys: 'a', label: 'accept pickmes into the deploy branch', short: 'accept' },
  remove: { keys: 'x', label: 'remove from the push (asks for a reason)', short: 'remove' },
  rebuild: { keys: 'r', label: 'rebuild the deploy branch', short: 'rebuild' },
  stage: { keys: 's', label: 'stage the push (asks for the environment)', short: 'stage' },
  bless: { keys: 'b', label: 'bless: send the push to production', short: 'bless' },
  certify: { keys: 'c', label: 'certify: master becomes the deploy branch', short: 'certify' },
  discard: { keys: 'D', label: 'discard the push (its requests wait again)', short: 'discard' },
  message: { keys: 'm', label: 'message every pushee of the push', short: 'message' },
  pickme: { keys: 'p', label: 'pickme: offer a waiting request to the push', short: 'pickme' },
  unpickme: { keys: 'u', label: 'unpickme: take a pickme back out', short: 'unpick' },
  verify: { keys: 'v', label: 'verify a staged request', short: 'verify' },
  delay: { keys: 'd', label: 'delay a request (undelay a delayed one)', short: 'delay' },
  comment: { keys: 'C', label: 'comment on the request', short: 'comment' },
  checklist: { keys: 't', label: "tick or untick an item of the push's checklist", short: 'tick' },
  open: { keys: 'O', label: 'open a new push (asks for a title)', short: 'open' },
  'next-push': { keys: 'tab', label: 'show the next open push', short: 'next push' },
  help: { keys: '?', label: 'show every key and why some are unavailable', short: 'keys' },
  quit: { keys: 'q', label: 'quit', short: 'quit' },
};

/** Footer order: help and quit always fit, then the train, a pushee's keys, navigation. */
const FOOTER_KEYS: readonly KeyName[] = ['help', 'quit', 'accept', 'remove', 'rebuild', 'stage', 'bless', 'certify', 'discard', 'message', 'checklist', 'pickme', 'unpickme', 'verify', 'delay', 'comment', 'open', 'detail', 'filter'];

const PUSH_SECTIONS = ['pickme', 'added', 'staged', 'verified', 'blessed'] as const;
const IN_PUSH: readonly string[] = PUSH_SECTIONS;
const CONFLICT_TAGS = new Set(['conflict-master', 'conflict-pickme', 'no-conflicts']);
const isOpen = (p: StatusPush) => p.state !== 'live' && p.state !== 'discarded';

// ---------------------------------------------------------------------------------------------
// Text helpers: every width is in terminal columns (an emoji or a CJK character takes two), measured as
// Ink measures it (string-width), so rows padded here line up with what the terminal draws.

const ASCII = /^[\x20-\x7e]*$/;
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
// The same texts (titles, rules, marks) come back every frame; string-width is slow next to a lookup.
const widths = new Map<string, number>();
/** Columns `s` takes on a terminal. */
export function displayWidth(s: string): number {
  if (ASCII.test(s)) return s.length;
  let w = widths.get(s);
  if (w === undefined) {
    if (widths.size >= 20_000) widths.clear();
    w = stringWidth(s);
    widths.set(s, w);
  }
  return w;
}

/** Cut to at most n columns, marking the cut with an ellipsis; a wide character that would straddle the edge goes. */
export function cut(s: string, n: number): string {
  if (n <= 0) return '';
  if (displayWidth(s) <= n) return s;
  if (ASCII.test(s)) return `${s.slice(0, n - 1)}…`;
  let out = '';
  let used = 0;
  for (const { segment } of graphemes.segment(s)) {
    const w = displayWidth(segment);
    if (used + w > n - 1) break;
    out += segment;
    used += w;
  }
  return out + '…';
}
const pad = (s: string, n: number) => {
  const c = cut(s, n);
  return c + ' '.repeat(Math.max(0, n - displayWidth(c)));
};
const segLen = (segs: readonly Seg[]) => segs.reduce((n, s) => n + displayWidth(s.text), 0);

/** Segments clipped to width; padded to exactly width when `fill`. */
export function clip(segs: readonly Seg[], width: number, fill = false): Seg[] {
  const out: Seg[] = [];
  let left = width;
  for (const s of segs) {
    if (left <= 0) break;
    const len = displayWidth(s.text);
    if (len <= left) {
      out.push(s);
      left -= len;
    } else {
      const c = cut(s.text, left);
      out.push({ ...s, text: c });
      left -= displayWidth(c);
      break;
    }
  }
  if (fill && left > 0) out.push({ text: ' '.repeat(left) });
  return out;
}

/** Cut to at most n columns at the last space that fits (mid-word only for a single long word), marked with an ellipsis. */
export function cutAtWord(s: string, n: number): string {
  if (displayWidth(s) <= n) return s;
  const c = cut(s, n);
  const at = c.lastIndexOf(' ');
  return at > n / 2 ? `${c.slice(0, at).replace(/[ ;,:·—-]+$/, '')}…` : c;
}

/**
 * Segments wrapped at spaces into lines of at most `width` columns, continuation lines indented by
 * `indent` columns; a word longer than a line is cut. Styles follow the words.
 */
export function wrapSegs(segs: readonly Seg[], width: number, indent: number): Seg[][] {
  const lines: Seg[][] = [[]];
  let used = 0;
  const push = (seg: Seg) => {
    const line = lines[lines.length - 1]!;
    line.push(seg);
    used += displayWidth(seg.text);
  };
  for (const s of segs) {
    for (const word of s.text.split(/(?<= )/)) {
      if (!word) continue;
      const w = displayWidth(word.trimEnd());
      if (used > indent && used + w > width) {
        const done = lines[lines.length - 1]!;
        const last = done[done.length - 1];
        if (last) done[done.length - 1] = { ...last, text: last.text.trimEnd() };
        lines.push([{ text: ' '.repeat(indent) }]);
        used = indent;
      }
      push({ ...s, text: used + displayWidth(word) > width ? cut(word.trimEnd(), width - used) : word });
    }
  }
  return lines;
}

const sameStyle = (a: Seg, b: Seg) => (a.tone ?? 'plain') === (b.tone ?? 'plain') && !a.bold === !b.bold && !a.inverse === !b.inverse;

/** Neighbouring segments with the same style joined: fewer Ink Text nodes per frame. */
export function mergeSegs(line: Line): Line {
  const out: Seg[] = [];
  for (const s of line.segs) {
    const last = out.at(-1);
    if (last && sameStyle(last, s)) out[out.length - 1] = { ...last, text: last.text + s.text };
    else if (s.text) out.push(s);
  }
  return { key: line.key, segs: out.length ? out : [{ text: ' ' }] };
}

/** "42s", "5m", "3h", "2d": the age of a request at a glance. */
export function formatAge(fromIso: string, now: Date): string {
  const ms = now.getTime() - Date.parse(fromIso);
  if (!Number.isFinite(ms) || ms < 0) return '0s';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

// ---------------------------------------------------------------------------------------------
// Filtering

/** Every whitespace-separated term must match: owner:NAME / @NAME, tag:TAG, #ID, or text anywhere. */
export function matchesFilter(r: StatusRequest, filter: string): boolean {
  const terms = filter.toLowerCase().split(/\s+/).filter(Boolean);
  return terms.every((t) => {
    if (t.startsWith('owner:') || t.startsWith('@')) return r.user.toLowerCase().includes(t.replace(/^(owner:|@)/, ''));
    if (t.startsWith('tag:')) return r.tags.some((g) => g.toLowerCase() === t.slice(4));
    if (/^#[0-9]+$/.test(t)) return r.id === Number(t.slice(1));
    return [r.title, r.user, r.ref, ...r.tags, r.review ?? '', r.ticket ?? ''].some((f) => f.toLowerCase().includes(t));
  });
}

// ---------------------------------------------------------------------------------------------
// Who may do what (mirrors state/transitions.ts; the server still decides, this only explains)

interface Ctx {
  readonly me: Me | null;
  readonly push: StatusPush | null;
  readonly pushes: ReadonlyMap<number, StatusPush>;
  readonly acceptingPush: StatusPush | null;
  readonly targets: readonly StatusRequest[];
  readonly cursorReq: StatusRequest | null;
  readonly pushRequests: readonly StatusRequest[];
  readonly openPushes: number;
}

const ownerOrWatcher = (r: StatusRequest, me: Me) => r.user === me.name || r.watchers.includes(me.name);
const pmOf = (ctx: Ctx, r: StatusRequest) => r.push !== null && ctx.pushes.get(r.push)?.pushmaster === ctx.me?.name;

function pushmasterReason(ctx: Ctx): string | null {
  if (!ctx.me) return 'still signing in';
  if (!ctx.push) return 'no open push';
  if (ctx.push.pushmaster === ctx.me.name) return null;
  return ctx.me.pushmaster
    ? `only ${safeLine(ctx.push.pushmaster)} drives push #${ctx.push.id}`
    : `pushmasters only; ${safeLine(ctx.push.pushmaster)} drives push #${ctx.push.id}`;
}

/** Applies a per-request check to the targets: enabled when at least one qualifies. */
function perRequest(ctx: Ctx, check: (r: StatusRequest, me: Me) => string | null): { enabled: boolean; reason: string | null; ids: number[] } {
  if (!ctx.me) return { enabled: false, reason: 'still signing in', ids: [] };
  if (!ctx.targets.length) return { enabled: false, reason: 'no request under the cursor', ids: [] };
  const me = ctx.me;
  const reasons = ctx.targets.map((r) => check(r, me));
  const ids = ctx.targets.filter((_, i) => reasons[i] === null).map((r) => r.id);
  return ids.length ? { enabled: true, reason: null, ids } : { enabled: false, reason: reasons.find((x) => x !== null) ?? 'not possible', ids: [] };
}

function pushStep(ctx: Ctx, states: readonly string[], extra?: () => string | null): { enabled: boolean; reason: string | null; ids: number[] } {
  const who = pushmasterReason(ctx);
  if (who) return { enabled: false, reason: who, ids: [] };
  const p = ctx.push!;
  if (!states.includes(p.state)) return { enabled: false, reason: `push #${p.id} is ${p.state}`, ids: [] };
  const more = extra?.() ?? null;
  return more ? { enabled: false, reason: more, ids: [] } : { enabled: true, reason: null, ids: [] };
}

export function keyStates(ctx: Ctx): Record<KeyName, KeyState> {
  const always = { enabled: true, reason: null, ids: [] as number[] };
  const onCursor = ctx.cursorReq ? { ...always, ids: [ctx.cursorReq.id] } : { enabled: false, reason: 'no request under the cursor', ids: [] };
  const p = ctx.push;
  const inThisPush = (r: StatusRequest) => (p && r.push === p.id && IN_PUSH.includes(r.state) ? null : `#${r.id} is not in push #${p?.id ?? '-'}`);
  const pmGate = (f: (r: StatusRequest, me: Me) => string | null) => {
    const who = pushmasterReason(ctx);
    return who ? { enabled: false, reason: who, ids: [] } : perRequest(ctx, f);
  };
  const openStates = ['accepting', 'staged', 'blessed'];

  const s: Record<KeyName, { enabled: boolean; reason: string | null; ids: readonly number[] }> = {
    move: always,
    select: onCursor,
    detail: onCursor,
    filter: always,
    accept: (() => {
      if (p && pushmasterReason(ctx) === null && p.state !== 'accepting') return { enabled: false, reason: `push #${p.id} is ${p.state}, no longer accepting`, ids: [] };
      return pmGate((r) => (r.state !== 'pickme' ? `#${r.id} is ${r.state}, not a pickme` : inThisPush(r)));
    })(),
    remove: pmGate((r) => inThisPush(r)),
    rebuild: pushStep(ctx, openStates),
    stage: pushStep(ctx, ['accepting', 'staged'], () => (ctx.pushRequests.some((r) => r.state === 'added') ? (p ? checklistGate(p, 'stage')() : null) : 'nothing accepted to stage')),
    bless: pushStep(ctx, ['staged'], p ? checklistGate(p, 'bless') : undefined),
    certify: pushStep(ctx, ['blessed'], p ? checklistGate(p, 'certify') : undefined),
    checklist: pushStep(ctx, openStates, () => (p?.checklist?.length ? null : `push #${p?.id ?? '-'} has no checklist`)),
    discard: pushStep(ctx, openStates),
    message: pushStep(ctx, openStates, () => (ctx.pushRequests.length ? null : 'the push has no pushees yet')),
    pickme: perRequest(ctx, (r, me) => {
      if (r.state !== 'requested') return `#${r.id} is ${r.state}, not waiting`;
      if (!ownerOrWatcher(r, me)) return `only ${safeLine(r.user)} or a watcher may pickme #${r.id}`;
      return ctx.acceptingPush ? null : 'no push is accepting';
    }),
    unpickme: perRequest(ctx, (r, me) => {
      if (r.state !== 'pickme') return `#${r.id} is ${r.state}, not a pickme`;
      return ownerOrWatcher(r, me) ? null : `only ${safeLine(r.user)} or a watcher may unpickme #${r.id}`;
    }),
    verify: perRequest(ctx, (r, me) => {
      if (r.state !== 'staged') return `#${r.id} is ${r.state}, not staged`;
      return ownerOrWatcher(r, me) || pmOf(ctx, r) ? null : `only ${safeLine(r.user)}, a watcher or the pushmaster may verify #${r.id}`;
    }),
    delay: perRequest(ctx, (r, me) => {
      if (r.state === 'delayed') return r.user === me.name ? null : `only ${safeLine(r.user)} may undelay #${r.id}`;
      if (r.state !== 'requested' && r.state !== 'pickme') return `#${r.id} is ${r.state}; only waiting requests and pickmes can be delayed`;
      return r.user === me.name || pmOf(ctx, r) ? null : `only ${safeLine(r.user)} or the pushmaster may delay #${r.id}`;
    }),
    comment: onCursor,
    open: !ctx.me ? { enabled: false, reason: 'still signing in', ids: [] } : ctx.me.pushmaster ? always : { enabled: false, reason: 'pushmasters only', ids: [] },
    'next-push': ctx.openPushes > 1 ? always : { enabled: false, reason: 'only one open push', ids: [] },
    help: always,
    quit: always,
  };
  const out = {} as Record<KeyName, KeyState>;
  for (const name of KEY_NAMES) out[name] = { name, ...KEY_DEFS[name], ...s[name] };
  return out;
}

// ---------------------------------------------------------------------------------------------
// Rows

interface RowOpts {
  readonly width: number;
  readonly cursor: boolean;
  readonly selected: boolean;
  readonly me: Me | null;
  readonly now: Date;
  readonly color: boolean;
  readonly compact: boolean;
  readonly links?: RequestLinks;
}

function requestRow(r: StatusRequest, o: RowOpts): Line {
  const mine = o.me !== null && ownerOrWatcher(r, o.me);
  const urgent = r.tags.includes('urgent');
  const left: Seg[] = [
    { text: o.cursor ? '>' : ' ', bold: true },
    { text: o.selected ? '+' : ' ', tone: 'accent', bold: true },
    { text: mine ? '•' : ' ', tone: 'mine' },
    { text: pad(`#${r.id}`, 6), tone: urgent ? 'urgent' : 'plain', bold: urgent },
    { text: pad(safeLine(r.user), o.compact ? 8 : 10) + ' ', tone: mine ? 'mine' : 'plain', bold: mine },
  ];
  const right: Seg[] = [{ text: ` ${formatAge(r.createdAt, o.now).padStart(3)}`, tone: 'dim' }];
  const conflictWith = r.conflicts.map((c) => (c.with === 'master' ? 'master' : `#${c.with}`));
  if (conflictWith.length || r.tags.includes('conflict-master') || r.tags.includes('conflict-pickme')) {
    const what = conflictWith.length ? conflictWith.join(',') : r.tags.includes('conflict-master') ? 'master' : 'pickme';
    right.push({ text: ` ✗conflict:${what}`, tone: 'conflict', bold: true });
  }
  const l = o.links;
  if (l && typeof l.shipIts === 'number') right.push({ text: ` ✔${l.shipIts}`, tone: l.shipIts > 0 ? 'ok' : 'dim', bold: l.shipIts > 0 });
  const bw = l ? buildWord(l.build) : null;
  if (bw) right.push({ text: ` build:${bw}`, tone: buildTone(l!.build), bold: bw.startsWith('fail') });
  for (const t of r.tags) {
    if (CONFLICT_TAGS.has(t)) continue;
    const u = t === 'urgent';
    // Without colour, urgent still has to stand out: upper case.
    right.push({ text: ` ${u && !o.color ? 'URGENT' : safeLine(t)}`, tone: u ? 'urgent' : 'accent', bold: u });
  }
  if (!o.compact) {
    if (r.review) right.push({ text: ` r/${safeLine(r.review)}`, tone: 'dim' });
    if (r.ticket) right.push({ text: ` ${safeLine(r.ticket)}`, tone: 'dim' });
  }
  const titleWidth = Math.max(12, o.width - segLen(left) - segLen(right));
  const segs = [...left, { text: pad(safeLine(r.title), titleWidth), tone: mine ? 'mine' : 'plain' } as Seg, ...right];
  const clipped = clip(segs, o.width, o.cursor);
  return { key: `r${r.id}`, segs: o.cursor ? clipped.map((s) => ({ ...s, inverse: true })) : clipped };
}

const heading = (key: string, text: string): Line => ({ key, segs: [{ text, tone: 'heading', bold: true }] });
// A space, not '': Ink gives an empty Text no height, and blank rows keep the footer at the bottom.
const blank = (key: string): Line => ({ key, segs: [{ text: ' ' }] });
const dimLine = (key: string, text: string): Line => ({ key, segs: [{ text, tone: 'dim' }] });

function pushLine(p: StatusPush, current: boolean): Line {
  const tag = p.tag ? ` tag ${safeLine(p.tag)}` : '';
  return {
    key: `p${p.id}`,
    segs: [
      { text: `${current ? '*' : ' '}#${p.id} `, bold: current },
      { text: pad(p.state, 10), tone: p.state === 'live' ? 'ok' : p.state === 'discarded' ? 'dim' : 'accent' },
      { text: `${safeLine(p.title)}${tag} (${p.requests.length})` },
    ],
  };
}

/** Keeps the cursor's line inside a window of `height` lines. */
function windowAround(lines: readonly Line[], cursorKey: string | null, height: number): Line[] {
  if (lines.length <= height) return [...lines];
  const at = cursorKey ? lines.findIndex((l) => l.key === cursorKey) : 0;
  // A third from the top: context above the cursor, more room below for what comes next.
  const start = Math.max(0, Math.min(Math.max(0, at - Math.floor(height / 3)), lines.length - height));
  const shown = lines.slice(start, start + height);
  if (start > 0) shown[0] = dimLine('more-above', `  ↑ ${start + 1} more`);
  const below = lines.length - (start + height);
  if (below > 0) shown[shown.length - 1] = dimLine('more-below', `  ↓ ${below + 1} more`);
  return shown;
}

// ---------------------------------------------------------------------------------------------
// Overlays

export function detailLines(detail: RequestDetail | null, error: string | null, request: number, width: number, links?: RequestLinks): Line[] {
  if (error) return [heading('d-h', `Request #${request}`), { key: 'd-e', segs: [{ text: safeLine(error), tone: 'error' }] }];
  if (!detail) return [heading('d-h', `Request #${request}`), dimLine('d-l', 'loading…')];
  const r = detail.request;
  const out: Line[] = [];
  const add = (text: string, tone: Tone = 'plain') => out.push({ key: `d${out.length}`, segs: [{ text: cut(text, width) || ' ', tone }] });
  out.push({ key: 'd-h', segs: [{ text: cut(`Request #${r.id}: ${safeLine(r.title)}`, width), tone: 'heading', bold: true }] });
  add(`owner ${safeLine(r.user)} · ${r.state}${detail.push ? ` in push #${detail.push.id} "${safeLine(detail.push.title)}"` : ''} · opened ${r.createdAt}`);
  add(`ref ${safeLine(r.ref)} @ ${r.sha}`);
  add(`tags ${r.tags.map(safeLine).join(', ') || '-'} · watchers ${r.watchers.map(safeLine).join(', ') || '-'}`);
  add(`review ${r.review ? safeLine(r.review) : '-'} · ticket ${r.ticket ? safeLine(r.ticket) : '-'}`);
  if (links) {
    if (links.review) add(`review link ${safeLine(links.review)}${typeof links.shipIts === 'number' ? ` · Ship It ✔${links.shipIts}` : ''}`, 'accent');
    if (links.ticket) add(`ticket link ${safeLine(links.ticket)}`, 'accent');
    const bw = buildWord(links.build);
    if (bw) {
      const b = links.build as Partial<BuildSummary>;
      add(`build ${bw}${typeof b.link === 'string' && b.link ? ` ${safeLine(b.link)}` : ''}${typeof b.error === 'string' && b.error ? ` (${safeLine(b.error)})` : ''}`, buildTone(b));
    }
  }
  if (r.reason) add(`reason: ${safeLine(r.reason)}`, 'warn');
  if (r.conflicts.length) {
    add('Conflicts:', 'conflict');
    for (const c of r.conflicts) add(`  with ${c.with === 'master' ? 'master' : `#${c.with}`}: ${c.files.map(safeLine).join(', ')}`, 'conflict');
  }
  if (r.description) {
    add('');
    for (const l of safeText(r.description).split('\n')) add(`  ${safeLine(l)}`);
  }
  if (r.comments.length) {
    add('');
    add('Comments:', 'heading');
    for (const c of r.comments) add(`  ${c.at.slice(0, 16).replace('T', ' ')} ${safeLine(c.user)}: ${safeLine(c.text)}`);
  }
  add('');
  add('History:', 'heading');
  for (const h of detail.history) add(`  ${h.at.slice(0, 16).replace('T', ' ')} ${pad(safeLine(h.actor), 10)} ${safeLine(h.subject)}`);
  return out;
}

const phaseOf = (i: ChecklistItem) => (typeof i.phase === 'string' ? i.phase : '?');

/** One checklist item: `[ ] id  text  (phase)` or `[x] id  text  (phase) ✓ who`. */
function checklistRow(i: ChecklistItem, key: string, width: number, cursor: boolean): Line {
  const segs: Seg[] = [
    { text: cursor ? '>' : ' ', bold: true },
    { text: i.done ? ' [x] ' : ' [ ] ', tone: i.done ? 'ok' : 'warn', bold: !i.done },
    { text: `${safeLine(i.id)}  `, tone: i.done ? 'dim' : 'accent', bold: !i.done },
    { text: safeLine(i.text), tone: i.done ? 'dim' : 'plain' },
    { text: `  (${phaseOf(i)})`, tone: 'dim' },
  ];
  if (i.requests?.length) segs.push({ text: ` for ${i.requests.map((id) => `#${id}`).join(' ')}`, tone: 'dim' });
  if (i.done) segs.push({ text: ` ✓ ${i.doneBy ? safeLine(i.doneBy) : '?'}`, tone: 'ok' });
  const clipped = clip(segs, width, cursor);
  return { key, segs: cursor ? clipped.map((s) => ({ ...s, inverse: true })) : clipped };
}

const checklistHeading = (key: string, items: readonly ChecklistItem[], hint: string): Line => {
  const open = items.filter((i) => !i.done).length;
  return { key, segs: [{ text: `CHECKLIST (${open} open of ${items.length})`, tone: 'heading', bold: true }, { text: hint, tone: 'dim' }] };
};

function checklistOverlay(p: StatusPush | null, push: number, index: number, width: number): Line[] {
  const items = p?.checklist ?? [];
  const out: Line[] = [heading('c-h', `Checklist of push #${push}${p ? ` "${safeLine(p.title)}"` : ''}`)];
  if (!p) return [...out, dimLine('c-none', `push #${push} is no longer open`)];
  out.push(checklistHeading('c-s', items, '  j/k choose · enter/space tick or untick · esc close'));
  items.forEach((i, n) => out.push(checklistRow(i, `c${n}`, width, n === index)));
  return out;
}

/** Every key, one per entry, with why it is unavailable; long entries wrap at a word under their label. */
export function helpLines(keys: Readonly<Record<KeyName, KeyState>>, width: number, color: boolean): Line[] {
  const out: Line[] = [heading('k-h', 'Keys (unavailable ones say why)')];
  const KEY_COL = 9;
  for (const name of KEY_NAMES) {
    const k = keys[name];
    const segs: Seg[] = [
      { text: pad(k.keys, KEY_COL), bold: k.enabled, tone: k.enabled ? 'accent' : 'dim' },
      { text: k.label, tone: k.enabled ? 'plain' : 'dim' },
    ];
    if (!k.enabled) segs.push({ text: ` — ${color ? '' : 'n/a: '}${k.reason ?? ''}`, tone: 'warn' });
    wrapSegs(segs, width, KEY_COL).forEach((l, i) => out.push({ key: `k-${name}-${i}`, segs: l }));
  }
  return out;
}

const PROMPT_LABELS: Record<string, string> = {
  remove: 'Why remove',
  stage: 'Stage environment',
  message: 'Message to the pushees',
  comment: 'Comment',
  'open-push': 'Title of the new push',
  filter: 'Filter (text, owner:NAME, tag:TAG, #ID)',
};

function statusLine(ui: UiState, width: number, hasBoard: boolean): Line | [Line, Line] {
  const m: Mode = ui.mode;
  if (m.kind === 'prompt') {
    const what = m.prompt.kind === 'remove' ? ` ${m.prompt.requests.map((id) => `#${id}`).join(' ')}` : m.prompt.kind === 'comment' ? ` on #${m.prompt.request}` : '';
    const label = `${PROMPT_LABELS[m.prompt.kind]}${what}: `;
    return { key: 'status', segs: clip([{ text: label, tone: 'accent', bold: true }, { text: safeLine(m.text) }, { text: '█' }, { text: '  enter sends · esc cancels', tone: 'dim' }], width) };
  }
  if (m.kind === 'confirm') {
    const c = m.confirm;
    if (c.kind === 'bless-force') {
      // Two rows: the question and its keys (with why, for failing builds), then the unverified requests,
      // as many as fit, so the pushmaster knows whom they are overriding.
      const q = `Bless push #${c.push} anyway (forced, logged)? y/n`;
      const why = c.why ? ` — ${safeLine(c.why)}` : '';
      const all = c.unverified.map((r) => `#${r.id} (${safeLine(r.user)})`);
      const listText = (n: number) => `  not verified on stage: ${all.slice(0, n).join(', ')}${n < all.length ? `${n ? ', ' : ''}+${all.length - n} more` : ''}`;
      let shown = all.length;
      while (shown > 0 && displayWidth(listText(shown)) > width) shown--;
      const first: Line = { key: 'status', segs: [{ text: q, tone: 'warn', bold: true }, { text: cutAtWord(why, Math.max(0, width - displayWidth(q))), tone: 'warn' }] };
      return all.length ? [first, { key: 'status-2', segs: [{ text: listText(shown), tone: 'warn' }] }] : first;
    }
    const q =
      c.kind === 'certify'
        ? `Certify push #${c.push}? master ${shortSha(c.master)} becomes ${shortSha(c.deploySha)} (the deploy branch) and is tagged. y/n`
        : `Discard push #${c.push}? Its requests go back to waiting. y/n`;
    return { key: 'status', segs: clip([{ text: q, tone: 'warn', bold: true }], width) };
  }
  if (ui.connection.state === 'stale') {
    const c = ui.connection;
    const asOf = hasBoard ? ` (board as of ${c.since.slice(11, 19)})` : '';
    return { key: 'status', segs: [{ text: cutAtWord(`${safeLine(c.reason)}; retrying in ${Math.ceil(c.retryInMs / 1000)}s${asOf}`, width), tone: 'error', bold: true }] };
  }
  if (ui.status) {
    const tone: Tone = ui.status.tone === 'error' ? 'error' : ui.status.tone === 'ok' ? 'ok' : 'plain';
    // A refusal's reason is what the pushmaster needs (which files conflict): it may take two rows.
    const [first = [], second] = wrapSegs([{ text: safeLine(ui.status.text), tone }], width, 2);
    if (!second) return { key: 'status', segs: first };
    const rest = second.map((x) => x.text).join('');
    const more = wrapSegs([{ text: safeLine(ui.status.text), tone }], width, 2).length > 2;
    return [
      { key: 'status', segs: first },
      { key: 'status-2', segs: [{ text: more ? cutAtWord(rest + ' …', width) : rest, tone }] },
    ];
  }
  return { key: 'status', segs: [{ text: 'Press ? for every key.', tone: 'dim' }] };
}

function footerLine(keys: Readonly<Record<KeyName, KeyState>>, ui: UiState, width: number, color: boolean, helpScrolls: boolean): Line {
  if (ui.mode.kind === 'detail') return { key: 'footer', segs: clip([{ text: 'j/k scroll · esc/enter/q close · C comment', tone: 'dim' }], width) };
  if (ui.mode.kind === 'help') return { key: 'footer', segs: clip([{ text: helpScrolls ? 'j/k/space scroll · esc/? close' : 'esc/? close', tone: 'dim' }], width) };
  if (ui.mode.kind === 'checklist') return { key: 'footer', segs: clip([{ text: 'j/k choose · enter/space tick or untick · esc/q close', tone: 'dim' }], width) };
  const on = FOOTER_KEYS.filter((n) => keys[n].enabled);
  const off = FOOTER_KEYS.filter((n) => !keys[n].enabled);
  // Whole entries only, in priority order: a key never appears cut in half (? lists them all).
  const segs: Seg[] = [];
  let used = 0;
  for (const n of on) {
    const entry: Seg[] = [{ text: keys[n].keys === 'enter' ? '⏎' : keys[n].keys, tone: 'accent', bold: true }, { text: ` ${keys[n].short}  ` }];
    const w = displayWidth(entry[0]!.text) + displayWidth(entry[1]!.text.trimEnd());
    if (used + w > width) break;
    segs.push(...entry);
    used += w + 2;
  }
  if (off.length) {
    const prefix = color ? '' : 'n/a: ';
    let text = '';
    for (const n of off) {
      const next = `${text ? `${text} ` : prefix}${keys[n].keys}`;
      if (used + displayWidth(next) > width) break;
      text = next;
    }
    if (text) segs.push({ text, tone: 'dim' });
  }
  return { key: 'footer', segs: clip(segs, width) };
}

// ---------------------------------------------------------------------------------------------
// The screen

/** Rows of the body: the terminal minus header (3), status and footer (2), and one spare row so Ink never scrolls. */
export const bodyHeightFor = (height: number): number => Math.max(3, height - 6);

export function buildView(board: BoardView | null, ui: UiState, opts: ViewOptions): DashboardView {
  const width = Math.max(40, ui.width);
  const status = statusLine(ui, width, board !== null);
  const statusRows = Array.isArray(status) ? status : [status];
  const bodyHeight = bodyHeightFor(ui.height) - (statusRows.length - 1);
  const pushes = board?.pushes ?? [];
  const requests = board?.requests ?? [];
  const byId = new Map<number, StatusRequest>(requests.map((r) => [r.id, r]));
  const pushById = new Map(pushes.map((p) => [p.id, p]));
  const openPushes = pushes.filter(isOpen);
  const links = board?.links ?? {};
  const builds = board?.builds ?? {};
  const push = openPushes.length ? openPushes[((ui.pushIndex % openPushes.length) + openPushes.length) % openPushes.length]! : null;
  const acceptingPush = openPushes.find((p) => p.state === 'accepting') ?? null;

  const pass = (r: StatusRequest | undefined): r is StatusRequest => r !== undefined && (!ui.filter || matchesFilter(r, ui.filter));
  const pushRequests = push ? push.requests.map((id) => byId.get(id)).filter((r): r is StatusRequest => r !== undefined) : [];
  const sections = PUSH_SECTIONS.map((state) => ({ state, rows: pushRequests.filter((r) => r.state === state && pass(r)) }));
  const waiting = requests.filter((r) => r.state === 'requested' && pass(r));
  const delayed = requests.filter((r) => r.state === 'delayed' && pass(r));
  const navigable = [...sections.flatMap((s) => s.rows), ...waiting, ...delayed].map((r): number => r.id);
  const cursor = ui.cursor !== null && navigable.includes(ui.cursor) ? ui.cursor : (navigable[0] ?? null);
  const cursorReq = cursor !== null ? (byId.get(cursor) ?? null) : null;
  const selected = new Set(ui.selected);
  const selectedReqs = ui.selected.map((id) => byId.get(id)).filter((r): r is StatusRequest => r !== undefined);
  const targets = selectedReqs.length ? selectedReqs : cursorReq ? [cursorReq] : [];

  const keys = keyStates({ me: ui.me, push, pushes: pushById, acceptingPush, targets, cursorReq, pushRequests, openPushes: openPushes.length });

  const layout = width >= 110 ? 'columns' : 'stacked';
  const sideWidth = layout === 'columns' ? Math.min(48, Math.floor(width * 0.36)) : width;
  const mainWidth = layout === 'columns' ? width - sideWidth - 3 : width;
  const rowOpts = (r: StatusRequest, w: number, compact: boolean): RowOpts => ({
    width: w,
    cursor: r.id === cursor,
    selected: selected.has(r.id),
    me: ui.me,
    now: opts.now,
    color: opts.color,
    compact,
    links: links[r.id],
  });

  // Header
  const header: Line[] = [];
  const conn = ui.connection;
  const badge: Seg =
    conn.state === 'live'
      ? { text: '● live ', tone: 'ok' }
      : conn.state === 'connecting'
        ? { text: '○ connecting… ', tone: 'warn' }
        : // Short, so the push stays in view; the status line says why and when the next try is.
          { text: `✗ STALE since ${conn.since.slice(11, 19)} `, tone: 'error', bold: true };
  if (push) {
    header.push({
      key: 'h0',
      segs: clip(
        [
          badge,
          { text: `Push #${push.id} `, bold: true },
          { text: `"${safeLine(push.title)}"`, tone: 'heading', bold: true },
          { text: `  ${push.type}`, tone: push.type === 'urgent' ? 'urgent' : 'plain' },
          { text: ` · ${push.state}`, tone: 'accent', bold: true },
          { text: push.stageEnv ? ` on ${safeLine(push.stageEnv)}` : '' },
          { text: ` · pushmaster ${safeLine(push.pushmaster)}` },
          { text: openPushes.length > 1 ? ` · ${openPushes.length} open (tab)` : '', tone: 'dim' },
        ],
        width,
      ),
    });
    const prog = ui.progress[push.id];
    const progText = prog ? ` ${prog.task === 'rebuild' ? 'rebuilding' : 'checking conflicts'} ${prog.done}/${prog.total}` : '';
    const role = ui.me ? (push.pushmaster === ui.me.name ? ' (pushmaster of this push)' : ui.me.pushmaster ? ' (pushmaster)' : '') : '';
    const h1 = (you: string): Seg[] => [
      { text: `deploy ${safeLine(push.deployBranch)} @ ` },
      { text: shortSha(push.deploySha), tone: 'accent', bold: true },
      { text: push.baseSha ? ` on master ${shortSha(push.baseSha)}` : '', tone: 'dim' },
      { text: progText, tone: 'warn', bold: true },
      ...((): Seg[] => {
        const bw = buildWord(builds[push.id]);
        return bw ? [{ text: ` · build:${bw}`, tone: buildTone(builds[push.id]), bold: bw.startsWith('fail') }] : [];
      })(),
      ...((): Seg[] => {
        const open = (push.checklist ?? []).filter((i) => !i.done).length;
        return push.checklist?.length ? [{ text: ` · checklist ${open ? `${open} open` : 'done'}`, tone: open ? 'warn' : 'ok' }] : [];
      })(),
      { text: ui.me ? `  · you: ${safeLine(ui.me.name)}${you}` : '', tone: 'dim' },
    ];
    // On a narrow terminal the role goes rather than being cut mid-word.
    const full = h1(role);
    header.push({ key: 'h1', segs: clip(segLen(full) <= width ? full : h1(''), width) });
  } else {
    header.push({ key: 'h0', segs: clip([badge, { text: board ? 'No open push.' : 'Loading the board…', bold: true }, { text: ui.me?.pushmaster ? '  O opens one.' : '', tone: 'dim' }], width) });
    header.push({ key: 'h1', segs: clip([{ text: ui.me ? `you: ${safeLine(ui.me.name)}${ui.me.pushmaster ? ' (pushmaster)' : ''}` : '', tone: 'dim' }], width) });
  }
  const total = pushRequests.length + requests.filter((r) => r.state === 'requested' || r.state === 'delayed').length;
  const filterText = ui.filter ? ` filter "${safeLine(ui.filter)}": ${navigable.length} of ${total} ` : '';
  const selText = ui.selected.length ? ` ${ui.selected.length} selected ` : '';
  const rule = Math.max(0, width - 2 - displayWidth(filterText) - displayWidth(selText));
  header.push({ key: 'h2', segs: clip([{ text: '──', tone: 'dim' }, { text: filterText, tone: 'accent' }, { text: selText, tone: 'accent', bold: true }, { text: '─'.repeat(rule), tone: 'dim' }], width) });

  // Body
  let body: Line[];
  const mode = ui.mode;
  let detailCount = 0;
  if (mode.kind === 'help') {
    const all = helpLines(keys, width, opts.color);
    detailCount = all.length;
    const start = Math.min(mode.scroll, Math.max(0, all.length - bodyHeight));
    body = all.slice(start, start + bodyHeight);
    // More keys than rows (80×24): say so where the cut is, and how to see the rest.
    const below = all.length - (start + bodyHeight);
    if (start > 0) body[0] = dimLine('more-above', `  ↑ ${start + 1} more lines (k scrolls up)`);
    if (below > 0) body[body.length - 1] = dimLine('more-below', `  ↓ ${below + 1} more lines (j or space scrolls down)`);
  } else if (mode.kind === 'checklist') {
    const all = checklistOverlay(pushById.get(mode.push) ?? null, mode.push, mode.index, width);
    const at = all.findIndex((l) => l.key === `c${mode.index}`);
    body = windowAround(all, at >= 0 ? all[at]!.key : null, bodyHeight);
  } else if (mode.kind === 'detail') {
    const all = detailLines(mode.detail, mode.error, mode.request, width, links[mode.request]);
    detailCount = all.length;
    const start = Math.min(mode.scroll, Math.max(0, all.length - bodyHeight));
    body = all.slice(start, start + bodyHeight);
  } else {
    const main: Line[] = [];
    if (!push) main.push(dimLine('none', board ? 'No open push. Waiting requests are listed below.' : ''));
    else if (!pushRequests.length) main.push(dimLine('none', 'No requests in this push yet: pickmes appear here.'));
    for (const s of sections) {
      if (!s.rows.length) continue;
      main.push(heading(`s-${s.state}`, `${s.state.toUpperCase()} (${s.rows.length})`));
      for (const r of s.rows) main.push(requestRow(r, rowOpts(r, mainWidth, mainWidth < 90)));
    }
    if (push && pushRequests.length && !sections.some((s) => s.rows.length)) main.push(dimLine('none', 'Nothing matches the filter.'));
    if (push?.checklist?.length) {
      main.push(checklistHeading('s-checklist', push.checklist, keys.checklist.enabled ? '  t ticks' : ''));
      push.checklist.forEach((i, n) => main.push(checklistRow(i, `cl${n}`, mainWidth, false)));
    }
    const side: Line[] = [];
    const sideRows = (title: string, key: string, rows: readonly StatusRequest[]) => {
      side.push(heading(key, `${title} (${rows.length})`));
      for (const r of rows) side.push(requestRow(r, rowOpts(r, sideWidth, true)));
    };
    sideRows('WAITING', 's-requested', waiting);
    if (delayed.length) sideRows('DELAYED', 's-delayed', delayed);
    const others = pushes.filter((p) => p !== push);
    if (others.length) {
      side.push(heading('s-pushes', 'PUSHES'));
      for (const p of others) side.push(pushLine(p, false));
    }
    const cursorKey = cursor !== null ? `r${cursor}` : null;
    if (layout === 'stacked') {
      body = windowAround([...main, blank('gap'), ...side], cursorKey, bodyHeight);
    } else {
      const m = windowAround(main, main.some((l) => l.key === cursorKey) ? cursorKey : null, bodyHeight);
      const sd = windowAround(side, side.some((l) => l.key === cursorKey) ? cursorKey : null, bodyHeight);
      body = [];
      for (let i = 0; i < Math.max(m.length, sd.length); i++) {
        const a = m[i];
        const b = sd[i];
        body.push({
          key: `b${i}`,
          segs: [...clip(a?.segs ?? [], mainWidth, true), { text: ' │ ', tone: 'dim' }, ...clip(b?.segs ?? [], sideWidth)],
        });
      }
    }
  }

  // The status line and keys stay at the bottom of the screen whatever the body holds.
  while (body.length < bodyHeight) body.push(blank(`pad${body.length}`));
  const lines = [...header, ...body, ...statusRows, footerLine(keys, ui, width, opts.color, detailCount > bodyHeight)].map(mergeSegs);
  const checklist = mode.kind === 'checklist' ? (pushById.get(mode.push)?.checklist ?? []) : (push?.checklist ?? []);
  return { lines, navigable, cursor, push, openPushes, targets, keys, layout, bodyHeight, detailLines: detailCount, checklist };
}
