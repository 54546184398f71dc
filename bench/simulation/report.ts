// The simulation's report: latencies from the clients and from the server's /metrics, server
// memory and CPU, and the correctness lines (lost or duplicated requests, states against the
// stories, master = the last certified tag, refs and state agree, fsck), each with its target.
import { cpus } from 'node:os';
import { median, percentile } from '../lib/bench-row.js';
import { histogramQuantile } from '../lib/proc.js';
import { REPUSH_SHARE, TARGET_REQUESTS_PER_ENGINEER_DAY, WITHDRAW_SHARE, targetPushRate } from './workload.js';
import type { World } from './world.js';

/** What the run found out at the end, besides what the world recorded along the way. */
export interface ReportFacts {
  readonly started: Date;
  readonly load0: string;
  readonly pushCount: number;
  readonly elapsed: number;
  readonly dayMs: number;
  readonly masterCheck: string;
  readonly metaCommits: number;
  readonly finalRequests: number;
  /** Set when a signal stopped the run: the figures are partial and the end-of-day checks did not run. */
  readonly interrupted?: string;
}

/** The report (Markdown): every figure with its target, the counts, and every violation and note. */
export function renderReport(w: World, x: ReportFacts): string {
  const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(v >= 100 ? 0 : 1)} ms` : 'n/a');
  const dist = (xs: number[]) => (xs.length ? `p50 ${ms(median(xs))} · p95 ${ms(percentile(xs, 95))} · p99 ${ms(percentile(xs, 99))} (n=${xs.length})` : 'n/a');
  const hist = (name: string) => {
    const h = w.metrics.get(name);
    if (!h?.count) return null;
    return `mean ${ms((h.sum / h.count) * 1000)} · p95 ≤ ${ms(histogramQuantile(h, 0.95) * 1000)} · p99 ≤ ${ms(histogramQuantile(h, 0.99) * 1000)} (n=${h.count}, bucket bounds, server's /metrics)`;
  };
  const hasMetrics = w.metrics.size > 0;
  const planned = w.stories.length + w.stories.filter((s) => s.repushAt !== null).length + w.stories.filter((s) => s.withdrawAt !== null).length;
  const skipped = w.stories.reduce((n, s) => n + s.log.filter((l) => / skipped /.test(l)).length, 0);
  const afterDay = w.stories.reduce((n, s) => n + [s.repushAt, s.withdrawAt].filter((t) => t !== null && t > w.dayMin).length, 0);
  // The five command types that held the writer longest in all, each with its count, mean and p95.
  const writerHeld = () => {
    const prefix = 'pushmanager_writer_held_seconds{command="';
    const rows = [...w.metrics].filter(([k, h]) => k.startsWith(prefix) && h.count > 0).sort((a, b) => b[1].sum - a[1].sum);
    if (!rows.length) return null;
    return rows
      .slice(0, 5)
      .map(([k, h]) => `${k.slice(prefix.length, -2)} n=${h.count} mean ${ms((h.sum / h.count) * 1000)} p95 ≤ ${ms(histogramQuantile(h, 0.95) * 1000)}`)
      .join(' · ');
  };
  const p95 = percentile(w.pushMs, 95);
  const recorded = w.metrics.get('pushmanager_push_to_recorded_seconds');
  const serverP95 = recorded?.count ? histogramQuantile(recorded, 0.95) : null;
  const rssMb = w.hwmMaxKb / 1024;
  const cpuS = (w.cpuMsDone + w.cpuMsCurrent) / 1000;
  const rows: [string, string, string][] = [
    ['push-to-recorded inside the server (hook call → request committed; the target applies here)', hist('pushmanager_push_to_recorded_seconds') ?? 'n/a (the histogram is not observed by this build of the server)', serverP95 === null ? '' : serverP95 <= 0.3 ? 'pass (p95 ≤ 300 ms)' : 'FAIL (p95 ≤ 300 ms)'],
    ['  push answered inside the server (hook call → answer to git, conflict lines included)', hist('pushmanager_push_answered_seconds') ?? 'n/a', ''],
    ['push as the engineer sees it (client `git push` wall time, all kinds; includes the client\'s own git work)', dist(w.pushMs), 'reported (see baseline)'],
    ...(w.o.generator === 'protocol' ? [['pushes by the protocol load generator (GET + POST wall time, all kinds; the engineer\'s-eye figure above is the real `git push` sample)', dist(w.protoMs), ''] as [string, string, string]] : []),
    ['  baseline: plain `git push` to bare http-backend, sampled every ~2 s in the same run', `${dist(w.plainMs)}; ratio of medians ${(median(w.pushMs) / median(w.plainMs)).toFixed(2)}, of p95 ${(p95 / percentile(w.plainMs, 95)).toFixed(2)}`, ''],
    ['  new requests', dist(w.pushMsByKind.open!), ''],
    ['  re-pushes', dist(w.pushMsByKind.repush!), ''],
    ['  rebases after removal (forced)', dist(w.pushMsByKind.rebase!), ''],
    ['  withdrawals (ref deleted)', dist(w.pushMsByKind.withdraw!), ''],
    ['deploy-branch rebuild', hist('pushmanager_rebuild_seconds') ?? `accept command round trip (rebuild included): ${dist(w.acceptMs)}`, ''],
    ['  accept command round trip (25 requests at most, rebuild included)', dist(w.acceptMs), ''],
    ['conflict check', hist('pushmanager_conflict_check_seconds') ?? 'n/a (no /metrics in this build)', ''],
    ['state write (one command committed; the server times read + decide + plan + commit, so accepts include their build)', hist('pushmanager_state_write_seconds') ?? `verify command round trip (HTTP + one commit): ${dist(w.verifyMs)}`, ''],
    ['  verify command round trip (as the owner, HTTP + one commit)', dist(w.verifyMs), ''],
    ['  the single writer held, by command (what a push queued behind)', writerHeld() ?? 'n/a', ''],
    ['repository maintenance (pack-refs, repack, prune; in the background)', hist('pushmanager_repo_maintenance_seconds') ?? 'no run', ''],
    ['  stage / certify command round trip', `${dist(w.stageMs)} / ${dist(w.certifyMs)}`, ''],
    ['server RSS, peak (VmHWM, max over processes)', `${rssMb.toFixed(0)} MB (VmRSS max sampled ${(w.rssMaxKb / 1024).toFixed(0)} MB)`, rssMb <= 200 ? 'pass (≤ 200 MB)' : 'FAIL (≤ 200 MB)'],
    ['server CPU (utime + stime, all processes)', `${cpuS.toFixed(1)} s over ${(x.elapsed).toFixed(0)} s = ${((100 * cpuS) / x.elapsed).toFixed(0)}% of one core (hooks and git children not included)`, ''],
    ['server kills (SIGKILL) / restarts', `${w.kills} / ${w.incarnations - 1}; start-up incl. reconcile ${dist(w.restartMs.slice(1))}`, w.o.kills ? (w.kills >= w.o.kills ? 'pass' : 'FAIL') : ''],
    ['schedule lag (engineer action start vs plan)', dist(w.lagMs), ''],
    ['server write queue depth (sampled each second)', w.queueDepth.length ? `p50 ${median(w.queueDepth)} · p95 ${percentile(w.queueDepth, 95)} · max ${Math.max(...w.queueDepth)}` : 'n/a', ''],
    ['lost / duplicated requests', x.interrupted ? 'not counted (the end-of-day check did not run)' : `${w.counts['lost requests'] ?? 0} / ${w.counts['duplicated requests'] ?? 0}`, x.interrupted ? '' : (w.counts['lost requests'] ?? 0) + (w.counts['duplicated requests'] ?? 0) === 0 ? 'pass' : 'FAIL'],
    ['requests not in their story\'s state / with no story', x.interrupted ? 'not counted (the end-of-day check did not run)' : `${w.counts['requests in a state other than the story'] ?? 0} / ${w.counts['requests with no story'] ?? 0}`, x.interrupted ? '' : (w.counts['requests in a state other than the story'] ?? 0) + (w.counts['requests with no story'] ?? 0) === 0 ? 'pass' : 'FAIL'],
    ['master = last certified tag', x.masterCheck, x.interrupted ? '' : /≠/.test(x.masterCheck) ? 'FAIL' : 'pass'],
    ['refs, deploy branches and state agree; fsck', w.violations.some((v) => /ref|deploy|fsck|duplicate active/.test(v)) ? 'no (see violations)' : x.interrupted ? `yes, after every restart (${w.kills}); the end check did not run` : 'yes, after every restart and at the end', w.violations.some((v) => /ref|deploy|fsck|duplicate active/.test(v)) ? 'FAIL' : 'pass'],
    ['correctness violations in all', String(w.violations.length), w.violations.length ? 'FAIL' : 'pass'],
  ];
  const table = ['| figure | value | target |', '|---|---|---|', ...rows.map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`)].join('\n');
  const counts = Object.entries(w.counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ${v}`)
    .join(' · ');
  const storyStates = new Map<string, number>();
  for (const s of w.stories) storyStates.set(s.state, (storyStates.get(s.state) ?? 0) + 1);
  return [
    '# Day-in-the-life simulation (`npm run simulate`)',
    '',
    ...(x.interrupted ? [`**Interrupted (${x.interrupted}): partial figures.** The end-of-day checks (every story against the board, master = the last certified tag, refs and state agree at the end, fsck) did not run; the checks after each kill did.`, ''] : []),
    `Run ${x.started.toISOString()}: ${w.o.engineers} engineers, ${w.o.hours} h compressed ${w.o.speedup}× (${((w.dayMin * 60) / w.o.speedup).toFixed(0)} s), ${x.pushCount} pushes, ${w.o.kills} kills asked, seed ${w.o.seed}, ${w.o.clones} working clones; the engineers' git clients run at nice ${w.o.clientNice} (on laptops in real life, here they share the server's 2 cores). Pushes by ${w.o.generator === 'protocol' ? `the protocol load generator (bench/load/), ${w.o.gitSample > 0 ? `with real \`git push\` for 1 story in ${Math.max(1, Math.round(1 / w.o.gitSample))}` : 'with no real `git push` sample'}` : 'real `git push` only'}.`,
    `Wall time ${x.elapsed.toFixed(0)} s (the simulated day took ${(x.dayMs / 1000).toFixed(0)} s). Machine: ${cpus().length} cores, node ${process.version}, load average at start ${x.load0}; the machine may have been loaded by other work.`,
    `Arrival rate the server saw: ${((w.counts['git pushes'] ?? 0) / (x.dayMs / 1000)).toFixed(2)} pushes/s over the day's ${(x.dayMs / 1000).toFixed(0)} s (${((w.counts['git pushes'] ?? 0) / x.elapsed).toFixed(2)}/s over the whole run); the target is ${targetPushRate(w.o).toFixed(2)}/s (${TARGET_REQUESTS_PER_ENGINEER_DAY} requests an engineer-day, ${REPUSH_SHARE * 100}% re-pushed, ${WITHDRAW_SHARE * 100}% withdrawn). The stories open ${w.o.requestsPerDay} requests an engineer-day and planned ${planned} pushes (${(planned / ((w.dayMin * 60) / w.o.speedup)).toFixed(2)}/s), of which ${skipped} were dropped as no longer making sense (a re-push or withdrawal of a request already staged, live or removed) and ${afterDay} fell after the day's end. When the day took longer than planned, the engineers' side (shared clones, git clients on the same cores) set the pace, not the server.`,
    `Metrics from the server's /metrics: ${hasMetrics ? 'yes (summed over every server process)' : 'not available in this build; client-side timings instead'}.`,
    '',
    table,
    '',
    `Stories: ${w.stories.length} requests planned; final states ${[...storyStates].map(([k, v]) => `${k} ${v}`).join(', ')}. Metadata branch: ${x.metaCommits} commits${Number.isFinite(x.finalRequests) ? `, ${x.finalRequests} requests` : ''}.`,
    '',
    `Counts: ${counts}.`,
    '',
    ...(w.unexpectedRefusals.length ? [`Refusals the story did not expect (${w.unexpectedRefusals.length}; settled against the board):`, '', ...w.unexpectedRefusals.slice(0, 20).map((u) => `- ${u}`), ''] : []),
    ...(w.violations.length ? [`Violations (${w.violations.length}):`, '', ...w.violations.slice(0, 50).map((v) => `- ${v}`), ''] : ['No correctness violation.', '']),
    ...(w.notes.length ? ['Notes:', '', ...w.notes.slice(0, 40).map((n) => `- ${n}`), ''] : []),
  ].join('\n');
}
