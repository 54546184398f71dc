// Plain-text renderings for the CLI: the board, one request with its history, one push. Pure functions.
import { REQUEST_ACTION_NAMES, PUSH_ACTION_NAMES, expandActions, type AllowedActions, type Availability } from '../../state/allowed-actions.js';
import { FINISHED_REQUEST_STATES, isOpenPush } from '../../state/model.js';
import { safeLine, safeText, shortSha } from '../../state/text.js';
import type { BoardView, JobDetail, PushDetail, RequestDetail, RequestLinks, StatusJob, StatusView } from '../../state/wire.js';

export type { BoardView };

/** A Buildbot result as GET /api/board sends it (server/app/board-links.ts); read defensively. */
interface BuildSummary {
  readonly state?: unknown;
  readonly failedBuilders?: unknown;
  readonly link?: unknown;
  readonly error?: unknown;
}

/** The CLI verb for each action the board offers (`comment` and `edit` are left out: nearly always offered). */
const REQUEST_VERBS: Partial<Record<(typeof REQUEST_ACTION_NAMES)[number], string>> = { pickme: 'pickme', unpickme: 'unpickme', verify: 'verify', delay: 'delay', undelay: 'undelay', discard: 'discard' };
const PUSH_VERBS: Partial<Record<(typeof PUSH_ACTION_NAMES)[number], string>> = { rebuild: 'rebuild', stage: 'stage', verify: 'verify', bless: 'bless', certify: 'certify', discard: 'discard', message: 'message', takeOver: 'takeover', tick: 'tick' };

/** "you may (pushmanager push VERB 3): stage, discard" from the server's offers; '' when it sent none or offers nothing. */
function offered<A extends string>(row: Partial<Record<A, Availability>> | undefined, verbs: Partial<Record<A, string>>, indent: string, how: string): string {
  if (!row) return '';
  const ok = (Object.keys(verbs) as A[]).filter((a) => row[a]?.ok).map((a) => verbs[a]!);
  return ok.length ? `\n${indent}you may (${how}): ${ok.join(', ')}` : '';
}

/** `pass`, `running`, `fail (builder-a, builder-b)`, `unknown`, plus the link and any error. */
export function buildText(b: unknown): string | null {
  if (!b || typeof b !== 'object') return null;
  const o = b as BuildSummary;
  const state = typeof o.state === 'string' && ['pass', 'fail', 'running', 'unknown'].includes(o.state) ? o.state : 'unknown';
  const failed = Array.isArray(o.failedBuilders) ? o.failedBuilders.filter((x): x is string => typeof x === 'string').map(safeLine) : [];
  const link = typeof o.link === 'string' && o.link ? ` ${safeLine(o.link)}` : '';
  const error = typeof o.error === 'string' && o.error ? ` (${safeLine(o.error)})` : '';
  return `${state}${state === 'fail' && failed.length ? ` (${failed.join(', ')})` : ''}${link}${error}`;
}

function linksLine(l: RequestLinks | undefined): string {
  if (!l) return '';
  const parts: string[] = [];
  if (typeof l.review === 'string') parts.push(`review ${safeLine(l.review)}${typeof l.shipIts === 'number' ? ` (Ship It ×${l.shipIts})` : ''}`);
  else if (typeof l.shipIts === 'number') parts.push(`Ship It ×${l.shipIts}`);
  if (typeof l.ticket === 'string') parts.push(`ticket ${safeLine(l.ticket)}`);
  const build = buildText(l.build);
  if (build) parts.push(`build ${build}`);
  return parts.length ? `\n        ${parts.join('; ')}` : '';
}

/** One conflict: "master: a.txt; why" or "#3: b.txt" — the CLI's status and the dashboard's detail alike. */
export const conflictText = (c: StatusView['requests'][number]['conflicts'][number]): string =>
  `${c.with === 'master' ? 'master' : `#${c.with}`}: ${[c.files.map(safeLine).join(', '), c.reason ? safeLine(c.reason) : ''].filter(Boolean).join('; ')}`;

const conflictsText = (r: StatusView['requests'][number]) => r.conflicts.map(conflictText).join('; ');

function requestLine(r: StatusView['requests'][number], extra?: RequestLinks, actions?: AllowedActions): string {
  const tags = r.tags.length ? ` [${r.tags.map(safeLine).join(',')}]` : '';
  const links = [r.review ? `review ${safeLine(r.review)}` : '', r.ticket ? safeLine(r.ticket) : ''].filter(Boolean).join(' ');
  const conflicts = r.conflicts.length ? `\n        conflicts: ${conflictsText(r)}` : '';
  return `  #${String(r.id).padEnd(4)} ${r.state.padEnd(9)} ${safeLine(r.user).padEnd(10)} ${safeLine(r.title)}${tags}${links ? `  (${links})` : ''}  ${shortSha(r.sha)}${conflicts}${linksLine(extra)}${offered(actions?.requests[r.id], REQUEST_VERBS, '        ', `pushmanager request VERB ${r.id}`)}`;
}

/** "42s", "3m05s", "1h02m": how long a job ran, or has been running. */
export function elapsed(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Where an external CI's job's log is (its run page, once reported); null for the server's own runners. */
const ciLog = (j: StatusJob): string | null => (j.runner !== 'external' ? null : j.url ? safeLine(j.url) : 'on the external CI');

/** One job: id, name, phase, state, time, SHA, and what to run next when it failed. */
export function jobLine(j: StatusJob, now: number): string {
  const started = j.startedAt ? Date.parse(j.startedAt) : NaN;
  const end = j.finishedAt ? Date.parse(j.finishedAt) : now;
  const time = Number.isFinite(started) ? ` ${j.state === 'running' ? 'for ' : 'in '}${elapsed(end - started)}` : '';
  const kind = j.kind === 'bisect' && j.candidate ? `bisect: ${safeLine(j.candidate)}` : j.kind !== 'build' ? j.kind : '';
  const rerun = j.rerun ? `run again after the server stopped${j.rerun.times > 1 ? ` (${j.rerun.times} times)` : ''}` : '';
  const extra = [j.attempt > 1 ? `attempt ${j.attempt}` : '', j.flaky ? 'flaky' : '', kind, rerun].filter(Boolean).join(', ');
  // The server has no log of an external CI's job to offer: the CI's run page is where to read it.
  const ci = ciLog(j);
  const next = j.notRun ? `  (could not run: ${safeLine(j.notRun)})` : j.state === 'failed' || j.state === 'interrupted' ? `  (log: ${ci ?? `pushmanager job log ${j.id}`})` : j.state === 'running' ? `  (follow: ${ci ?? `pushmanager job log ${j.id} --follow`})` : '';
  return `job ${j.id.padEnd(5)} ${safeLine(j.name).padEnd(12)} ${j.on.padEnd(7)} ${j.state}${time}${extra ? ` (${extra})` : ''} at ${shortSha(j.sha)}${next}`;
}

export function renderJobs(jobs: readonly StatusJob[], now: number = Date.now()): string {
  return jobs.length ? jobs.map((j) => jobLine(j, now)).join('\n') + '\n' : 'no jobs\n';
}

export function renderJob(j: JobDetail, now: number = Date.now()): string {
  const lines = [
    // The kind only when it says more than the phase (a build job's kind is build), the attempt only past the first.
    `Job ${j.id}: ${safeLine(j.name)} (${[j.on, j.kind !== 'build' ? j.kind : '', j.attempt > 1 ? `attempt ${j.attempt}` : ''].filter(Boolean).join(', ')}) of push ${j.push}, ${j.runner} runner`,
    `  ${jobLine(j, now)}`,
    `  sha ${j.sha}`,
  ];
  if (j.env) lines.push(`  env ${safeLine(j.env)}`);
  if (j.command) lines.push(`  runs ${JSON.stringify(j.command)}`);
  if (j.builder) lines.push(`  builder ${safeLine(j.builder)}`);
  if (j.rerun) lines.push(`  interrupted: the server stopped while it ran (${j.rerun.at || 'time not known'}); run again from scratch${j.rerun.times > 1 ? `, ${j.rerun.times} times` : ''}${j.runner === 'local' ? "; its log starts with the cut run's last lines" : ''}`);
  if (j.startedAt) lines.push(`  started ${j.startedAt}${j.finishedAt ? `, finished ${j.finishedAt}` : ''}`);
  if (j.exitCode !== null) lines.push(`  exit code ${j.exitCode}`);
  // A local job's reason is often just its exit code, said on the line above.
  if (j.reason && j.reason !== `exit code ${j.exitCode}`) lines.push(`  ${safeLine(j.reason)}`);
  if (j.flaky) lines.push(`  flaky: failed, then passed on attempt ${j.attempt}`);
  if (j.flakes) lines.push(`  ${safeLine(j.name)} has flaked ${j.flakes} time${j.flakes === 1 ? '' : 's'} (passed only on a retry)`);
  if (j.runner === 'external') {
    // Its log is the CI's: the run page it reported, or where to look until it reports one.
    if (j.url) lines.push(`  log: ${safeLine(j.url)} (the CI's run page)`);
    else if (j.state !== 'queued') lines.push('  log: on the external CI (it reported no run page: job report --url adds one)');
  } else {
    if (j.url) lines.push(`  ${safeLine(j.url)}`);
    if (j.log) lines.push(`  log: pushmanager job log ${j.id}${j.state === 'running' ? ' --follow' : ''}`);
  }
  // Offered only as the server allows it: not once a later attempt passed, nor for a culprit search's run.
  if (j.passedLater) lines.push(`  retried: passed on attempt ${j.passedLater.attempt} (job ${safeLine(j.passedLater.job)})`);
  else if (j.state === 'failed' || j.state === 'cancelled' || j.state === 'interrupted') lines.push(j.retryRefused ? `  run again: not with job retry: ${safeLine(j.retryRefused)}` : `  run again: pushmanager job retry ${j.id}`);
  if (j.state === 'queued' || j.state === 'running') lines.push(`  stop it: pushmanager job cancel ${j.id}`);
  return lines.join('\n') + '\n';
}

export function renderStatus(v: BoardView, now: number = Date.now()): string {
  const out: string[] = [];
  const links = v.links ?? {};
  const actions = v.actions ? expandActions(v.actions) : undefined;
  const byId = new Map<number, StatusView['requests'][number]>(v.requests.map((r) => [r.id, r]));
  const open = v.pushes.filter(isOpenPush);
  if (!open.length) out.push('No open push. A pushmaster opens one with: pushmanager push open --title "..."');
  for (const p of open) {
    const d = p.deploying;
    const deploying = d ? `, ${d.step === 'stage' ? `staging on ${safeLine(d.env ?? '')}` : 'blessing'} (job${d.jobs.length === 1 ? '' : 's'} ${d.jobs.join(', ')})` : '';
    out.push(`Push ${p.id} "${safeLine(p.title)}"  ${p.type}, ${p.state}${p.stageEnv ? ` on ${safeLine(p.stageEnv)}` : ''}${deploying}, pushmaster ${safeLine(p.pushmaster)}`);
    const build = buildText(v.builds?.[p.id]);
    out.push(`  deploy branch ${safeLine(p.deployBranch)} at ${shortSha(p.deploySha)}${p.baseSha ? ` (on master ${shortSha(p.baseSha)})` : ''}${build ? `; build ${build}` : ''}${offered(actions?.pushes[p.id], PUSH_VERBS, '  ', `pushmanager push VERB ${p.id}`)}`);
    // The jobs of the current deploy SHA (older SHAs' jobs: pushmanager job list --push N).
    const jobs = (p.jobs ?? []).filter((j) => j.sha === p.deploySha);
    for (const j of jobs) out.push(`  ${jobLine(j, now)}`);
    const search = p.bisection;
    if (search) {
      out.push(`  ${safeLine(search.summary)}`);
      const pending = (p.jobs ?? []).filter((j) => j.kind === 'bisect' && (j.state === 'queued' || j.state === 'running'));
      for (const j of pending) out.push(`    ${jobLine(j, now)}`);
      if (search.state === 'running') out.push(`    stop it: pushmanager job cancel ${search.job}`);
    }
    for (const f of p.forced ?? []) out.push(`  forced ${safeLine(f.step)} by ${safeLine(f.by)} at ${f.at}${f.jobs?.length ? ` past jobs ${f.jobs.join(', ')}` : ''}${f.reason ? `: ${safeLine(f.reason)}` : ''}`);
    const items = p.requests.map((id) => byId.get(id)).filter((r) => r !== undefined);
    if (!items.length) out.push('  (no requests yet)');
    for (const r of items) out.push(requestLine(r, links[r.id], actions));
    const checklist = p.checklist ?? [];
    if (checklist.length) {
      out.push(`  checklist (${checklist.filter((i) => !i.done).length} open; tick with: pushmanager push tick ${p.id} ITEM):`);
      for (const i of checklist) {
        const who = i.done ? `, ticked by ${i.doneBy ? safeLine(i.doneBy) : '?'}` : '';
        const reqs = i.requests?.length ? ` for ${i.requests.map((id) => `#${id}`).join(' ')}` : '';
        out.push(`    [${i.done ? 'x' : ' '}] ${safeLine(i.id)}  ${safeLine(i.text)}  (${safeLine(String(i.phase))}${reqs}${who})`);
      }
    }
  }
  const waiting = v.requests.filter((r) => r.state === 'requested' || r.state === 'delayed');
  out.push('', waiting.length ? 'Waiting:' : 'Nothing waiting.');
  for (const r of waiting) out.push(requestLine(r, links[r.id], actions));
  const done = v.pushes.filter((p) => !isOpenPush(p));
  if (done.length) {
    out.push('', 'Recent pushes:');
    for (const p of done) out.push(`  push ${p.id} "${safeLine(p.title)}" ${p.state}${p.tag ? ` (tag ${p.tag})` : ''}, ${p.requests.length === 0 ? 'no requests' : p.requests.length === 1 ? '1 request' : `${p.requests.length} requests`}`);
  }
  return out.join('\n') + '\n';
}

export function renderRequest(d: RequestDetail): string {
  const r = d.request;
  const lines = [
    `Request ${r.id}: ${safeLine(r.title)}`,
    `  owner ${safeLine(r.user)}, state ${r.state}${d.push ? ` in push ${d.push.id} "${safeLine(d.push.title)}"` : ''}`,
    `  ref ${safeLine(r.ref)} at ${r.sha}`,
    `  tags ${r.tags.map(safeLine).join(', ') || '-'}; watchers ${r.watchers.map(safeLine).join(', ') || '-'}`,
    `  review ${r.review ?? '-'}; ticket ${r.ticket ?? '-'}`,
  ];
  // Re-pushing with new -o options but no new commit never reaches the server (git: "Everything up-to-date").
  if (!FINISHED_REQUEST_STATES.includes(r.state)) lines.push(`  change details: pushmanager request edit ${r.id} --title/--description/--tags/--watchers/--review/--ticket`);
  if (r.conflicts.length) lines.push(`  conflicts: ${conflictsText(r)}`);
  if (r.reason) lines.push(`  reason: ${safeLine(r.reason)}`);
  if (r.description) lines.push('', ...safeText(r.description).split('\n').map((l) => `  ${l}`));
  if (r.comments.length) {
    lines.push('', 'Comments:');
    for (const c of r.comments) lines.push(`  ${c.at} ${safeLine(c.user)}: ${safeLine(c.text)}`);
  }
  lines.push('', 'History (metadata branch):');
  for (const h of d.history) lines.push(`  ${h.at} ${safeLine(h.actor).padEnd(12)} ${safeLine(h.subject)}  ${h.version.slice(0, 10)}`);
  return lines.join('\n') + '\n';
}

export function renderPush(d: PushDetail): string {
  const p = d.push;
  const lines = [
    `Push ${p.id}: ${safeLine(p.title)} (${p.type}, ${p.state}), pushmaster ${safeLine(p.pushmaster)}`,
    `  deploy branch ${p.deployBranch} at ${p.deploySha ?? '-'}${p.tag ? `; tag ${p.tag}` : ''}`,
    `  requests (queue order): ${p.requests.map((id) => `#${id}`).join(', ') || '-'}`,
  ];
  if (p.removals.length) {
    lines.push('', 'Removals:');
    for (const r of p.removals) lines.push(`  #${r.request} by ${safeLine(r.by)} after ${r.fromState}: ${safeLine(r.reason)} (${r.at})`);
  }
  lines.push('', 'History:');
  for (const h of d.history) lines.push(`  ${h.at} ${safeLine(h.actor).padEnd(12)} ${safeLine(h.subject)}`);
  return lines.join('\n') + '\n';
}
