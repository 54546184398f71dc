// The dashboard as data: board (with the server's offers) + UI state → the lines of the screen, which
// rows the cursor can visit, and for every key whether it may be used now and why not. Pure and
// synchronous so it can be table-tested and so a frame with hundreds of requests costs well under a
// millisecond. The parts: text.ts, filter.ts, keys.ts, rows.ts, overlays.ts.
import { expandActions } from '../../state/allowed-actions.js';
import { IN_PUSH_STATE_NAMES, isOpenPush } from '../../state/model.js';
import { safeLine, shortSha } from '../../state/text.js';
import type { BoardView, StatusJob, StatusPush, StatusRequest } from '../../state/wire.js';
import { matchesFilter } from './filter.js';
import { FOOTER_KEYS, JOB_KEYS, JOBS_FOOTER_KEYS, keyStates, type KeyName, type KeyState } from './keys.js';
import { LOG_HEADER_ROWS, checklistOverlay, detailLines, helpLines, jobLogPane } from './overlays.js';
import { bisectionLines, checklistHeading, checklistRow, flakesLine, jobRow, jobsHeading, pushLine, requestRow, windowAround, type ChecklistItem, type RowOpts } from './rows.js';
import { blank, buildTone, buildWord, clip, cutAtWord, dimLine, displayWidth, heading, mergeSegs, segLen, wrapSegs, type Line, type Seg, type Tone } from './text.js';
import type { Mode, UiState } from './ui-state.js';

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
  /** The shown push's jobs in the order the jobs cursor visits them (newest last, as the server sends them). */
  readonly jobs: readonly StatusJob[];
  /** The job L, R and X act on: the open log's, else the jobs cursor's, else the one that needs attention. */
  readonly job: StatusJob | null;
  /** Where the cursor keys move: 'jobs' only while the push has jobs. */
  readonly focus: 'requests' | 'jobs';
  /** Rows the log pane has for log lines (scrolling bounds; the pane's count is in detailLines). */
  readonly logHeight: number;
}

/** Jobs listed under the push while the cursor is on the requests: the newest; J lists them all. */
export const JOBS_SHOWN = 4;

/** Body rows the jobs leave to the requests below them, however many jobs there are (J scrolls the rest). */
const REQUEST_ROWS_KEPT = 4;

/** Without a jobs cursor: the newest running job, else the newest failed or interrupted, else the newest. */
export function attentionJob(jobs: readonly StatusJob[]): StatusJob | null {
  const newest = (ok: (j: StatusJob) => boolean) => [...jobs].reverse().find(ok);
  return newest((j) => j.state === 'running') ?? newest((j) => j.state === 'failed' || j.state === 'interrupted') ?? jobs.at(-1) ?? null;
}

export interface ViewOptions {
  readonly now: Date;
  readonly color: boolean;
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

function footerLine(keys: Readonly<Record<KeyName, KeyState>>, ui: UiState, width: number, color: boolean, helpScrolls: boolean, focus: 'requests' | 'jobs', hasJobs: boolean): Line {
  if (ui.mode.kind === 'detail') return { key: 'footer', segs: clip([{ text: 'j/k scroll · esc/enter/q close · C comment', tone: 'dim' }], width) };
  if (ui.mode.kind === 'help') return { key: 'footer', segs: clip([{ text: helpScrolls ? 'j/k/space scroll · esc/? close' : 'esc/? close', tone: 'dim' }], width) };
  if (ui.mode.kind === 'checklist') return { key: 'footer', segs: clip([{ text: 'j/k choose · enter/space tick or untick · esc/q close', tone: 'dim' }], width) };
  if (ui.mode.kind === 'job-log') {
    // R and X as the board shows keys: bright when they may be used now, dim when not (? says why).
    const k = (n: KeyName): Seg[] => [{ text: keys[n].keys, tone: keys[n].enabled ? 'accent' : 'dim', bold: keys[n].enabled }, { text: ` ${keys[n].short}`, tone: keys[n].enabled ? 'plain' : 'dim' }];
    return { key: 'footer', segs: clip([{ text: 'j/k scroll · G follow · ', tone: 'dim' }, ...k('job-retry'), { text: ' · ', tone: 'dim' }, ...k('job-cancel'), { text: ' · esc/q close', tone: 'dim' }], width) };
  }
  const order = (focus === 'jobs' ? JOBS_FOOTER_KEYS : FOOTER_KEYS).filter((n) => hasJobs || !JOB_KEYS.has(n));
  const on = order.filter((n) => keys[n].enabled);
  const off = order.filter((n) => !keys[n].enabled);
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
  // The gap after the last entry is not part of it: an entry ending in the last column is not cut.
  const last = segs.at(-1);
  if (last) segs[segs.length - 1] = { ...last, text: last.text.trimEnd() };
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
  const openPushes = pushes.filter(isOpenPush);
  const links = board?.links ?? {};
  const builds = board?.builds ?? {};
  const push = openPushes.length ? openPushes[((ui.pushIndex % openPushes.length) + openPushes.length) % openPushes.length]! : null;

  const pass = (r: StatusRequest | undefined): r is StatusRequest => r !== undefined && (!ui.filter || matchesFilter(r, ui.filter));
  const pushRequests = push ? push.requests.map((id) => byId.get(id)).filter((r): r is StatusRequest => r !== undefined) : [];
  const sections = IN_PUSH_STATE_NAMES.map((state) => ({ state, rows: pushRequests.filter((r) => r.state === state && pass(r)) }));
  const waiting = requests.filter((r) => r.state === 'requested' && pass(r));
  const delayed = requests.filter((r) => r.state === 'delayed' && pass(r));
  const navigable = [...sections.flatMap((s) => s.rows), ...waiting, ...delayed].map((r): number => r.id);
  const cursor = ui.cursor !== null && navigable.includes(ui.cursor) ? ui.cursor : (navigable[0] ?? null);
  const cursorReq = cursor !== null ? (byId.get(cursor) ?? null) : null;
  const selected = new Set(ui.selected);
  const selectedReqs = ui.selected.map((id) => byId.get(id)).filter((r): r is StatusRequest => r !== undefined);
  const targets = selectedReqs.length ? selectedReqs : cursorReq ? [cursorReq] : [];

  // A server from before issue 15 sends no jobs; one that does may send an empty list.
  const pushJobs = push?.jobs;
  const jobs: readonly StatusJob[] = Array.isArray(pushJobs) ? pushJobs : [];
  const focus = ui.focus === 'jobs' && jobs.length ? 'jobs' : 'requests';
  const mode0 = ui.mode;
  const anyJob = (id: string) => pushes.flatMap((p) => (Array.isArray(p.jobs) ? p.jobs : [])).find((j) => j.id === id) ?? null;
  // The chosen job by id; gone from the list (a newer server may prune it), the row that took its place
  // in the jobs, else the one that needs attention.
  const pinned = ui.jobCursor !== null ? jobs.find((j) => j.id === ui.jobCursor) : undefined;
  const inPlace = focus === 'jobs' && ui.jobCursor !== null && ui.jobCursorIndex !== null ? jobs[Math.min(ui.jobCursorIndex, jobs.length - 1)] : undefined;
  const newest = jobs.slice(-JOBS_SHOWN);
  // From the requests the newest are listed, and the chosen job with them (keys act on no unlisted row).
  const listedJobs = focus === 'jobs' ? jobs : pinned && !newest.includes(pinned) ? [pinned, ...newest.slice(1)] : newest;
  const job = mode0.kind === 'job-log' ? (anyJob(mode0.job) ?? mode0.detail) : (pinned ?? inPlace ?? (focus === 'jobs' ? jobs.at(-1) : attentionJob(listedJobs)) ?? null);

  const keys = keyStates({ me: ui.me, push, actions: board?.actions ? expandActions(board.actions) : undefined, targets, cursorReq, openPushes: openPushes.length, job });

  const layout = width >= 110 ? 'columns' : 'stacked';
  const sideWidth = layout === 'columns' ? Math.min(48, Math.floor(width * 0.36)) : width;
  const mainWidth = layout === 'columns' ? width - sideWidth - 3 : width;
  const rowOpts = (r: StatusRequest, w: number, compact: boolean): RowOpts => ({
    width: w,
    // With the cursor in the jobs no request row is marked: keys on requests wait for J or esc.
    cursor: r.id === cursor && focus === 'requests',
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
          // A stage or bless waiting for its deploy jobs: the push is not there yet, and says so.
          { text: push.deploying ? ` · ${push.deploying.step === 'stage' ? `staging on ${safeLine(push.deploying.env ?? '')}` : 'blessing'} (job ${push.deploying.jobs.map(safeLine).join(', ')})` : '', tone: 'urgent', bold: true },
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
  } else if (mode.kind === 'job-log') {
    const pane = jobLogPane(mode, job, width, bodyHeight, opts.now);
    body = pane.lines;
    detailCount = pane.total;
  } else if (mode.kind === 'detail') {
    const all = detailLines(mode.detail, mode.error, mode.request, width, links[mode.request]);
    detailCount = all.length;
    const start = Math.min(mode.scroll, Math.max(0, all.length - bodyHeight));
    body = all.slice(start, start + bodyHeight);
  } else {
    // The push's jobs stay at the top of the main column, bounded, whatever the cursor does below them:
    // the JOBS header, the job rows (a window around the jobs cursor), the search's line and the flakes.
    const jobsBlock: Line[] = [];
    if (jobs.length) {
      const earlier = jobs.length - listedJobs.length;
      // The longest hint that fits whole: a hint cut in half says nothing.
      const hints = focus === 'jobs' ? ['  enter/L log · R retry · X cancel · esc back', '  L log · esc back', ''] : [`  J jobs · L log${earlier ? ` · ${earlier} earlier` : ''}`, '  J jobs', ''];
      const fits = hints.map((h) => jobsHeading(jobs, h)).find((l) => segLen(l.segs) <= mainWidth) ?? jobsHeading(jobs, '');
      const tail: Line[] = push?.bisection ? bisectionLines(push.bisection, mainWidth) : [];
      const flaky = flakesLine(board?.flakes ?? {}, [...new Set(jobs.map((j) => j.name))], mainWidth);
      if (flaky) tail.push(flaky);
      const rows = listedJobs.map((j) => jobRow(j, { width: mainWidth, now: opts.now, cursor: focus === 'jobs' && j.id === job?.id, chosen: focus === 'requests' && j.id === job?.id }));
      // What the rows may take: the body less the header, the search's lines and a few rows for the requests.
      const room = Math.max(1, bodyHeight - 1 - tail.length - REQUEST_ROWS_KEPT);
      const shown = windowAround(rows, job ? `job-${job.id}` : null, room, { above: 'earlier jobs', below: 'more jobs' }).map((l) => (l.key.startsWith('more-') ? { ...l, key: `jobs-${l.key}` } : l));
      jobsBlock.push({ key: 's-jobs', segs: clip(fits.segs, mainWidth) }, ...shown, ...tail);
    }
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
    const cursorKey = focus === 'jobs' && job ? `job-${job.id}` : cursor !== null ? `r${cursor}` : null;
    const rest = Math.max(0, bodyHeight - jobsBlock.length);
    if (layout === 'stacked') {
      body = [...jobsBlock, ...windowAround([...main, blank('gap'), ...side], cursorKey, rest)];
    } else {
      const m = [...jobsBlock, ...windowAround(main, main.some((l) => l.key === cursorKey) ? cursorKey : null, rest)];
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

  // The status line and keys stay at the bottom of the screen whatever the body holds: never more rows
  // than the body has (a frame taller than the terminal scrolls the header away), blank ones to fill it.
  body = body.slice(0, bodyHeight);
  while (body.length < bodyHeight) body.push(blank(`pad${body.length}`));
  const lines = [...header, ...body, ...statusRows, footerLine(keys, ui, width, opts.color, detailCount > bodyHeight, focus, jobs.length > 0)].map(mergeSegs);
  const checklist = mode.kind === 'checklist' ? (pushById.get(mode.push)?.checklist ?? []) : (push?.checklist ?? []);
  return { lines, navigable, cursor, push, openPushes, targets, keys, layout, bodyHeight, detailLines: detailCount, checklist, jobs, job, focus, logHeight: Math.max(1, bodyHeight - LOG_HEADER_ROWS) };
}

