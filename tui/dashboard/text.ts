// Text for the terminal: segments and lines, every width in terminal columns (an emoji or a CJK
// character takes two) as Ink measures it (string-width), so rows padded here line up with what the
// terminal draws; cutting, wrapping, ages, build words.
import stringWidth from 'string-width';
import { safeLine } from '../../state/text.js';

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
export const pad = (s: string, n: number) => {
  const c = cut(s, n);
  return c + ' '.repeat(Math.max(0, n - displayWidth(c)));
};
export const segLen = (segs: readonly Seg[]) => segs.reduce((n, s) => n + displayWidth(s.text), 0);

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

export const buildTone = (b: unknown): Tone => {
  const st = (b as { state?: unknown } | null)?.state;
  return st === 'pass' ? 'ok' : st === 'fail' ? 'error' : st === 'running' ? 'warn' : 'dim';
};

export const heading = (key: string, text: string): Line => ({ key, segs: [{ text, tone: 'heading', bold: true }] });
// A space, not '': Ink gives an empty Text no height, and blank rows keep the footer at the bottom.
export const blank = (key: string): Line => ({ key, segs: [{ text: ' ' }] });
export const dimLine = (key: string, text: string): Line => ({ key, segs: [{ text, tone: 'dim' }] });

/** "42s", "3m05s", "1h02m", "2d03h": how long a job has run, precise enough to see it tick. */
export function formatElapsed(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '0s';
  const s = Math.floor(ms / 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${two(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86400)}d${two(Math.floor(s / 3600) % 24)}h`;
}

/** A line cut into pieces of at most `width` columns (log lines: paths and hashes have no spaces to wrap at). */
export function hardWrap(s: string, width: number): string[] {
  if (width <= 0) return [];
  if (displayWidth(s) <= width) return [s];
  const out: string[] = [];
  if (ASCII.test(s)) {
    for (let i = 0; i < s.length; i += width) out.push(s.slice(i, i + width));
    return out;
  }
  let cur = '';
  let used = 0;
  for (const { segment } of graphemes.segment(s)) {
    const w = displayWidth(segment);
    if (used + w > width && cur) {
      out.push(cur);
      cur = '';
      used = 0;
    }
    cur += segment;
    used += w;
  }
  if (cur) out.push(cur);
  return out;
}
