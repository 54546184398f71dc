// Text from users (titles, names, comments) shown in terminals: strip what could move the cursor,
// change colours or rewrite the screen (C0/C1 controls, ESC sequences), keep everything else.
// eslint-disable-next-line no-control-regex
const ESCAPES = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(\u0007|\u001b\\)?|\u001b[@-_]/g;
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
// A lone surrogate (half of a pair, e.g. from a cut string) has no width to measure, and a terminal draws
// it as a replacement character: say so here, so the layout counts the column it takes.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const clean = (s: string): string => s.replace(ESCAPES, '').replace(CONTROLS, '').replace(LONE_SURROGATE, '\ufffd');

/** One line of safe text: escapes and controls removed, newlines and tabs folded to spaces. */
export const safeLine = (s: string): string => clean(s).replace(/[\n\t]+/g, ' ');

/** Safe multi-line text (descriptions, comments). */
export const safeText = (s: string): string => clean(s);

export const shortSha = (sha: string | null): string => (sha ? sha.slice(0, 10) : '-');

/**
 * Milliseconds since the epoch of a UTC ISO-8601 time as the server writes them (`toISOString()`:
 * 2026-12-01T18:03:47.818Z); NaN for anything else. Arithmetic, not the Date global: state/ reads no clock
 * and this keeps it plain that it does not (civil-date day count after H. Hinnant's days_from_civil).
 */
export function isoMillis(s: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?Z$/.exec(s);
  if (!m) return Number.NaN;
  const [y0, mo, d, h, mi, se] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const ms = m[7] ? Number(m[7].padEnd(3, '0')) : 0;
  const y = mo <= 2 ? y0 - 1 : y0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  const days = era * 146097 + doe - 719468;
  return ((days * 24 + h) * 60 + mi) * 60_000 + se * 1000 + ms;
}
