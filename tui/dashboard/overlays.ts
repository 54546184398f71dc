// The overlays over the board: a request's detail, the checklist pick list, the help with every key.
import { safeLine, safeText, shortSha } from '../../state/text.js';
import { conflictText } from '../cli/render.js';
import type { BuildSummary, RequestDetail, RequestLinks, StatusJob, StatusPush } from '../../state/wire.js';
import { KEY_NAMES, type KeyName, type KeyState } from './keys.js';
import { checklistHeading, checklistRow, jobElapsed, jobMark, jobTone } from './rows.js';
import { buildTone, buildWord, clip, cut, dimLine, hardWrap, heading, pad, wrapSegs, type Line, type Seg, type Tone } from './text.js';
import type { JobLogMode } from './ui-state.js';


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
    for (const c of r.conflicts) add(`  with ${conflictText(c)}`, 'conflict');
    // What the owner runs: a conflict is theirs to fix on their branch, then the same ref is pushed again.
    const others = r.conflicts.filter((c) => c.with !== 'master').map((c) => `#${c.with}`);
    const branch = detail.push ? safeLine(detail.push.deployBranch) : null;
    // A conflict that says how to fix it (no history in common with master: rebase) is followed, not a merge.
    const told = r.conflicts.find((c) => c.reason)?.reason;
    const merge = r.conflicts.some((c) => c.with === 'master')
      ? 'merge master (git fetch origin && git merge origin/master)'
      : `merge the push's deploy branch once it holds ${others.join(', ')}${branch ? ` (git fetch origin && git merge origin/${branch})` : ''}`;
    const hint = told ? `  to fix: ${safeLine(told)}: git push origin HEAD:${safeLine(r.ref)}` : `  to fix: ${merge}, resolve, and push again: git push origin HEAD:${safeLine(r.ref)}`;
    for (const segs of wrapSegs([{ text: hint }], width, 4)) out.push({ key: `d${out.length}`, segs: segs.map((x) => ({ ...x, tone: 'warn' as Tone })) });
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

export function checklistOverlay(p: StatusPush | null, push: number, index: number, width: number): Line[] {
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

// ---- A job's log pane

let wrapped: { text: string; width: number; lines: string[] } | null = null;

/**
 * The log's text as screen rows: one per line, long lines cut into pieces that fit; a carriage return
 * (a progress bar redrawing its line) keeps what was drawn last; escapes and controls removed. The
 * last answer is kept: frames that tick the clock reuse it.
 */
export function logRows(text: string, width: number): string[] {
  if (wrapped && wrapped.text === text && wrapped.width === width) return wrapped.lines;
  const raw = text.split('\n');
  if (raw.at(-1) === '') raw.pop();
  const lines: string[] = [];
  for (let l of raw) {
    if (l.endsWith('\r')) l = l.slice(0, -1);
    const at = l.lastIndexOf('\r');
    lines.push(...hardWrap(safeLine(at >= 0 ? l.slice(at + 1) : l), width));
  }
  wrapped = { text, width, lines };
  return lines;
}

/** Rows of the pane above the log itself: the job, then how the log and the job stand. */
export const LOG_HEADER_ROWS = 2;

/**
 * The log pane: the job (state, attempt, SHA, elapsed, flaky), whether the log is still following,
 * then the log rows that fit in `height` — the end of the log while following, else from `mode.scroll`.
 */
export function jobLogPane(mode: JobLogMode, job: StatusJob | null, width: number, height: number, now: Date): { lines: Line[]; total: number } {
  const j = job ?? mode.detail;
  // What matters first (the state, how long, flaky), so a narrow terminal cuts only the rest.
  const head: Seg[] = j
    ? [
        { text: `${jobMark(j.state)} `, tone: jobTone(j.state), bold: true },
        { text: `Job ${safeLine(j.id)} ${safeLine(j.name)} · `, tone: 'heading', bold: true },
        { text: safeLine(String(j.state)), tone: jobTone(j.state), bold: true },
        { text: ` ${jobElapsed(j, now) ?? ''}`, tone: j.state === 'running' ? 'warn' : 'dim' },
        { text: j.flaky ? ' · flaky' : '', tone: 'warn', bold: true },
        // The attempt as the CLI says it (`#1` read as a request number), and only past the first.
        { text: ` · ${safeLine(String(j.kind))}${j.candidate ? ` ${safeLine(j.candidate)}` : ''}${j.attempt > 1 ? `, attempt ${j.attempt}` : ''} · ${shortSha(j.sha)} · push #${mode.push}`, tone: 'dim' },
      ]
    : [{ text: `Job ${safeLine(mode.job)}`, tone: 'heading', bold: true }, { text: ` · push #${mode.push}`, tone: 'dim' }];
  const d = mode.detail;
  // An external CI's job has its log on the CI: the server refuses to serve one, which is no error here.
  const page = d?.url ?? j?.url ?? null;
  const external = (d?.runner ?? j?.runner) === 'external';
  const exit = d && d.exitCode !== null ? `exit code ${d.exitCode}` : '';
  const reason = d?.reason && d.reason !== exit ? safeLine(d.reason) : '';
  const how: Seg[] = [
    external
      ? { text: '↗ log on the external CI', tone: 'accent' }
      : mode.error
        ? { text: `✗ ${safeLine(mode.error)}`, tone: 'error', bold: true }
        : mode.ended
          ? { text: '■ log complete', tone: 'dim' }
          : { text: '● following live', tone: 'ok' },
    // A local job's reason is often just its exit code ("exit code 1"): said once; a reason that adds
    // something ("timed out after 60 s") comes first, the exit code after it.
    { text: reason ? ` · ${reason}` : '', tone: 'warn' },
    { text: exit ? ` · ${exit}` : '', tone: d?.exitCode && !reason ? 'warn' : 'dim' },
    { text: d?.command?.length ? ` · ${d.command.map(safeLine).join(' ')}` : d?.builder ? ` · builder ${safeLine(d.builder)}` : '', tone: 'dim' },
    { text: page && !external ? ` · ${safeLine(page)}` : '', tone: 'accent' },
  ];
  const out: Line[] = [
    { key: 'l-h', segs: clip(head, width) },
    { key: 'l-s', segs: clip(how, width) },
  ];
  const rows = logRows(mode.text, width);
  const room = Math.max(1, height - LOG_HEADER_ROWS);
  const last = Math.max(0, rows.length - room);
  const start = mode.scroll === null ? last : Math.min(mode.scroll, last);
  if (external) {
    // The run page in full (wrapped, never cut: it is what to open), or why there is none yet.
    if (page) hardWrap(`  its run page: ${safeLine(page)}`, width).forEach((text, i) => out.push({ key: `l-ci${i}`, segs: [{ text, tone: 'accent' }] }));
    else out.push(dimLine('l-ci', `  ${j && j.state === 'queued' ? 'waiting for the CI to report' : 'it reported no run page'} (the CI adds one with job report --url)`));
    return { lines: out, total: 0 };
  }
  if (!rows.length) out.push(dimLine('l-empty', mode.ended || mode.error ? '  (the job wrote nothing)' : '  waiting for output…'));
  const shown = rows.slice(start, start + room).map((text, i): Line => ({ key: `l${start + i}`, segs: [{ text: text || ' ' }] }));
  const below = rows.length - (start + room);
  if (below > 0 && shown.length) shown[shown.length - 1] = dimLine('l-more', `  ↓ ${below + 1} more lines (G follows the end)`);
  if (start > 0 && shown.length > 1) shown[0] = dimLine('l-above', `  ↑ ${start + 1} earlier lines (k scrolls up)`);
  out.push(...shown);
  return { lines: out, total: rows.length };
}
