// The rows of the board: one request, one push, one checklist item, and the window that keeps the
// cursor's row in view.
import { CONFLICT_TAGS } from '../../state/model.js';
import { safeLine, shortSha } from '../../state/text.js';
import type { RequestLinks, StatusBisection, StatusJob, StatusPush, StatusRequest } from '../../state/wire.js';
import { buildTone, buildWord, clip, cut, dimLine, displayWidth, formatAge, formatElapsed, pad, segLen, wrapSegs, type Line, type Seg, type Tone } from './text.js';
import type { Me } from './ui-state.js';

export type ChecklistItem = StatusPush['checklist'][number];

/** The user's own request, or one they watch: marked on the board. */
export const ownerOrWatcher = (r: StatusRequest, me: Me): boolean => r.user === me.name || r.watchers.includes(me.name);

export interface RowOpts {
  readonly width: number;
  readonly cursor: boolean;
  readonly selected: boolean;
  readonly me: Me | null;
  readonly now: Date;
  readonly color: boolean;
  readonly compact: boolean;
  readonly links?: RequestLinks;
}

export function requestRow(r: StatusRequest, o: RowOpts): Line {
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
    if ((CONFLICT_TAGS as readonly string[]).includes(t)) continue;
    const u = t === 'urgent';
    // Without colour, urgent still has to stand out: upper case.
    right.push({ text: ` ${u && !o.color ? 'URGENT' : safeLine(t)}`, tone: u ? 'urgent' : 'accent', bold: u });
  }
  if (!o.compact) {
    if (r.review) right.push({ text: ` r/${safeLine(r.review)}`, tone: 'dim' });
    if (r.ticket) right.push({ text: ` ${safeLine(r.ticket)}`, tone: 'dim' });
  }
  // A request the pushmaster took out of the push is back to waiting: its owner needs to see that it was
  // removed and why (the detail has the whole reason) without opening every row. The reason gets what
  // is left once the title has a readable width.
  if (r.state === 'requested' && r.reason) {
    const room = o.width - segLen(left) - segLen(right) - Math.max(12, Math.min(30, displayWidth(safeLine(r.title)))) - ' removed: '.length;
    // In a narrow side column the word alone (enter opens the reason).
    if (room >= 8) right.push({ text: ` removed: ${cut(safeLine(r.reason), room)}`, tone: 'warn', bold: true });
    else right.push({ text: ' removed', tone: 'warn', bold: true });
  }
  const titleWidth = Math.max(12, o.width - segLen(left) - segLen(right));
  const segs = [...left, { text: pad(safeLine(r.title), titleWidth), tone: mine ? 'mine' : 'plain' } as Seg, ...right];
  const clipped = clip(segs, o.width, o.cursor);
  return { key: `r${r.id}`, segs: o.cursor ? clipped.map((s) => ({ ...s, inverse: true })) : clipped };
}


export function pushLine(p: StatusPush, current: boolean): Line {
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

/** What the marks of a cut window say is above and below it: lines by default, or e.g. `earlier jobs` / `more jobs`. */
export interface WindowWords {
  readonly above: string;
  readonly below: string;
}
const LINES: WindowWords = { above: 'more lines', below: 'more lines' };

/**
 * Keeps the cursor's line inside a window of `height` lines, the first and last marking what is cut off.
 * A mark never takes the cursor's own line: in a window of one or two lines (a short terminal's job
 * rows) it did, and the line the cursor was on, the one R and X act on, was not on screen.
 */
export function windowAround(lines: readonly Line[], cursorKey: string | null, height: number, words: WindowWords = LINES): Line[] {
  if (height <= 0) return [];
  if (lines.length <= height) return [...lines];
  const at = cursorKey ? lines.findIndex((l) => l.key === cursorKey) : 0;
  // A third from the top: context above the cursor, more room below for what comes next.
  const start = Math.max(0, Math.min(Math.max(0, at - Math.floor(height / 3)), lines.length - height));
  const shown = lines.slice(start, start + height);
  const cursorAt = cursorKey && at >= 0 ? at - start : -1;
  // Lines, not requests: in a stacked layout the window holds the side sections too.
  if (start > 0 && cursorAt !== 0) shown[0] = dimLine('more-above', `  ↑ ${start + 1} ${words.above}`);
  const below = lines.length - (start + height);
  if (below > 0 && cursorAt !== shown.length - 1) shown[shown.length - 1] = dimLine('more-below', `  ↓ ${below + 1} ${words.below}`);
  return shown;
}

const phaseOf = (i: ChecklistItem) => (typeof i.phase === 'string' ? i.phase : '?');

/** One checklist item: `[ ] id  text  (phase)` or `[x] id  text  (phase) ✓ who`. */
export function checklistRow(i: ChecklistItem, key: string, width: number, cursor: boolean): Line {
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

export const checklistHeading = (key: string, items: readonly ChecklistItem[], hint: string): Line => {
  const open = items.filter((i) => !i.done).length;
  return { key, segs: [{ text: `CHECKLIST (${open} open of ${items.length})`, tone: 'heading', bold: true }, { text: hint, tone: 'dim' }] };
};

// ---- Jobs (SPEC §6)

/** A mark per job state, so the state reads without colour too (the word follows it). */
const JOB_MARKS: Readonly<Record<string, string>> = { queued: '○', running: '▶', passed: '✓', failed: '✗', cancelled: '⊘', interrupted: '!' };
const JOB_TONES: Readonly<Record<string, Tone>> = { queued: 'dim', running: 'warn', passed: 'ok', failed: 'error', cancelled: 'dim', interrupted: 'warn' };
// A newer server may send a state this client does not know: shown as it is, marked '?'.
export const jobMark = (state: string): string => JOB_MARKS[state] ?? '?';
export const jobTone = (state: string): Tone => JOB_TONES[state] ?? 'plain';

/**
 * How long the job ran: a running one since it started (ticking with `now`), a finished one from start
 * to finish; null for one that never started (queued, or cancelled while queued).
 */
export function jobElapsed(j: StatusJob, now: Date): string | null {
  if (!j.startedAt) return null;
  const start = Date.parse(j.startedAt);
  const end = j.finishedAt ? Date.parse(j.finishedAt) : j.state === 'running' ? now.getTime() : Number.NaN;
  return Number.isFinite(start) && Number.isFinite(end) ? formatElapsed(end - start) : null;
}

/** `try 9`, `try99` (attemptText): one column more than the `#9` it replaces. */
const ATTEMPT_WIDTH = 5;

/** Columns of a job row besides the name: marks, kind, state, attempt, SHA, elapsed, flaky (or unrun). */
const JOB_FIXED = 2 + 1 + 1 + 7 + 12 + (ATTEMPT_WIDTH + 1) + 11 + 7 + 6;

/**
 * A job's attempt as its row shows it: blank for the first, `try 2` for a retry. Never `#2`, which beside
 * the request ids (`#5`) reads as a request number; the CLI likewise says `attempt 2` only past the first.
 */
export function attemptText(attempt: number): string {
  if (!Number.isInteger(attempt) || attempt <= 1) return '';
  // Two digits give up the space to stay in the column (`try12`); nobody retries a job a hundred times.
  return attempt < 10 ? `try ${attempt}` : `try${attempt}`;
}

/**
 * One job: `▶ test           build  running           1a2b3c4d5e  3m05s` (a retry: `retry  failed  try 2 …`), `flaky` when it passed on a retry.
 * `cursor`: the jobs cursor is on it; `chosen`: what L, R and X act on while the cursor is on the requests.
 */
export function jobRow(j: StatusJob, o: { width: number; now: Date; cursor: boolean; chosen: boolean }): Line {
  const tone = jobTone(j.state);
  const nameWidth = Math.max(8, o.width - JOB_FIXED);
  const segs: Seg[] = [
    { text: o.cursor ? '>' : o.chosen ? '›' : ' ', bold: true, tone: o.cursor ? 'plain' : 'dim' },
    { text: `${jobMark(j.state)} `, tone, bold: true },
    ...nameSegs(j, nameWidth),
    { text: pad(safeLine(String(j.kind)), 6) + ' ', tone: 'dim' },
    { text: pad(safeLine(String(j.state)), 11) + ' ', tone, bold: j.state === 'failed' || j.state === 'running' },
    { text: pad(attemptText(j.attempt), ATTEMPT_WIDTH) + ' ', tone: 'dim' },
    { text: `${shortSha(j.sha)} `, tone: 'accent' },
    { text: (jobElapsed(j, o.now) ?? '-').padStart(6), tone: j.state === 'running' ? 'warn' : 'dim' },
    // A job the runner could not run says so where a flaky pass says `flaky`: its failure blames no code.
    { text: j.flaky ? ' flaky' : j.notRun ? ' unrun' : '', tone: j.notRun ? 'error' : 'warn', bold: true },
  ];
  const clipped = clip(segs, o.width, o.cursor);
  return { key: `job-${j.id}`, segs: o.cursor ? clipped.map((x) => ({ ...x, inverse: true })) : clipped };
}

/** The job's name, and for a run of the culprit search what its candidate holds (dim), in `width` columns. */
function nameSegs(j: StatusJob, width: number): Seg[] {
  const name = safeLine(j.name);
  // The kind column says it is a search's run, whose candidates are all on master: "test · #1 … #20".
  const what = j.candidate ? ` · ${safeLine(j.candidate).replace(/^master \+ /, '')}` : '';
  // pad() cuts what does not fit; the name keeps its room and the candidate gets what is left.
  if (!what || displayWidth(name) + 8 > width) return [{ text: `${pad(name, width)} `, bold: j.state === 'failed' }];
  return [
    { text: name, bold: j.state === 'failed' },
    { text: `${pad(what, width - displayWidth(name))} `, tone: 'dim' },
  ];
}

/**
 * The push's culprit search: how it narrows while it runs (`bisecting push 3 (test): 40 → 20 → 10 requests,
 * 3 runs`), then what it found and what to do about it — wrapped onto up to three lines, since its end
 * (the `push remove` to run when autoRemove is off) is the part a pushmaster needs.
 */
export function bisectionLines(b: StatusBisection, width: number, maxLines = 3): Line[] {
  const tone: Tone = b.state === 'running' ? 'warn' : b.state === 'culprit' || b.state === 'pair' || b.state === 'master-red' ? 'error' : 'dim';
  // No-break spaces keep the key hint on one row, and a number with its unit (`~4 s`, `9 min`): a row
  // ending in `X` or `~4` says nothing.
  const hint = b.state === 'running' ? `  ${`X on job ${safeLine(b.job)} stops it`.replace(/ /g, NBSP)}` : '';
  const bold = b.state !== 'cancelled' && b.state !== 'green';
  const summary = safeLine(b.summary).replace(/(\d) (s|min|h|d)\b/g, `$1${NBSP}$2`);
  const wrapped = wrapSegs([{ text: `⚑ ${summary}`, tone, bold }, { text: hint, tone: 'dim' }], width, 2);
  const shown = wrapped.length > maxLines ? [...wrapped.slice(0, maxLines - 1), wrapped.slice(maxLines - 1).flat()] : wrapped;
  return shown.map((segs, k) => ({ key: k ? `s-bisection-${k}` : 's-bisection', segs: clip(segs, width, false) }));
}

const NBSP = '\u00a0';

/** How often the push's jobs passed only on a retry, per job name, over the board: `flaky: test ×2`. */
export function flakesLine(flakes: Readonly<Record<string, number>>, names: readonly string[], width: number): Line | null {
  const shown = names.filter((n) => (flakes[n] ?? 0) > 0);
  if (!shown.length) return null;
  return { key: 's-flakes', segs: clip([{ text: `flaky: ${shown.map((n) => `${safeLine(n)} ×${flakes[n]}`).join(', ')}`, tone: 'warn' }, { text: '  (passed only on a retry; nobody blamed)', tone: 'dim' }], width, false) };
}

/** `JOBS (4: 1 failed, 1 running)` and what the keys do. */
export function jobsHeading(jobs: readonly StatusJob[], hint: string): Line {
  const count = (st: string) => jobs.filter((j) => j.state === st).length;
  const parts = (['failed', 'interrupted', 'running', 'queued'] as const).map((st) => [st, count(st)] as const).filter(([, n]) => n > 0);
  const summary = parts.length ? `: ${parts.map(([st, n]) => `${n} ${st}`).join(', ')}` : '';
  return { key: 's-jobs', segs: [{ text: `JOBS (${jobs.length}${summary})`, tone: parts.some(([st]) => st === 'failed') ? 'error' : 'heading', bold: true }, { text: hint, tone: 'dim' }] };
}
