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
