// A day in the life (issue 8): engineers push, re-push and withdraw requests on a realistic schedule while a
// scripted pushmaster runs each push to certification; optionally the server is SIGKILLed at random points
// and restarted. Reports latencies, server RSS and CPU, and checks at the end that every request is in
// exactly the state its story says, that refs, deploy branches and state agree, and that master is the last
// certified tag.
//
//   npm run simulate -- [--engineers 50] [--hours 2] [--speedup 60] [--kills 0] [--seed 1] [--quick]
//                       [--generator git|protocol] [--git-sample 0.1] [--report FILE] [--keep]
//                       [--ci | --ci-only] [--flake-rate 0.1] [--breaking-rate 0.03] [--ci-slots 2]
//                       [--ci-minutes 10] [--ci-parallel 1] [--ci-days 1] [--ci-report FILE]
//
// --ci adds the CI model's comparison of four culprit strategies (bench/simulation/ci-report.ts) after the
// day; --ci-only runs just that, in simulated time, with no servers (seconds for a full day).
//
// The server is a separate process (the built CLI, `serve`) with a generated config: users e1..eN and pm
// (pushmaster), plaintext passwords on loopback. Engineers share a few working clones; their git clients run
// at a lower priority (--client-nice, default 10): in real life they run on laptops, not on the server's cores. Commits are made
// with plumbing (no checkout), pushed with the real `git push` to a per-user URL. With `--generator protocol`
// most pushes go through the load generator (bench/load/: git's receive-pack protocol spoken from this
// process, the pack built from the clone's objects, no process per push), so the engineers' side no longer
// sets the pace; a sample of stories (--git-sample, default 1 in 10) still pushes with real `git push`,
// for the engineer's-eye latency.
// The entry point: parses the options and runs the day; the parts live in bench/simulation/
// (workload, world, engineers and pushmaster as actors, faults, measurements, invariants shared
// with test/e2e/crash.test.ts, report).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname } from 'node:path';
import { git, scrapeMetrics } from './lib/proc.js';
import { sleep } from './lib/sync.js';
import { Engineers } from './simulation/engineers.js';
import { CI_HELP, renderCiReport, splitCiArgs, type CiOptions } from './simulation/ci-report.js';
import { Faults, killTimes } from './simulation/faults.js';
import { checkRepo, checkStories, masterProblem, metaHistoryProblem } from './simulation/invariants.js';
import { Measurements } from './simulation/measurements.js';
import { Pushmaster } from './simulation/pushmaster.js';
import { renderReport } from './simulation/report.js';
import { SIM_HELP, makeStories, parseArgs, pushCountFor, type Options } from './simulation/workload.js';
import { World } from './simulation/world.js';

/** The whole day: setup, the actors and the faults on schedule, the checks, the report. Exit code 1 on any violation. */
async function simulate(o: Options): Promise<number> {
  const w = new World(o);
  const engineers = new Engineers(w);
  const pushmaster = new Pushmaster(w, engineers);
  const measurements = new Measurements(w);
  const faults = new Faults(w, measurements);
  const started = new Date();
  const load0 = loadavg().map((x) => x.toFixed(2)).join(' / ');
  // SIGINT (or SIGTERM) stops the run: the server is stopped by its pid and the figures so far are
  // written as a partial report. A second signal stops the server with SIGKILL and exits at once.
  let interrupted: Promise<number> | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) {
      process.stderr.write(`simulate: ${sig} again: killing the server (pid ${w.server.pid ?? 'none'}) and exiting\n`);
      void w.server.kill().finally(() => process.exit(130));
      return;
    }
    process.stderr.write(`simulate: ${sig}: stopping the server (pid ${w.server.pid ?? 'none'}) and writing the partial report\n`);
    interrupted = interruptRun(w, measurements, o, { started, load0, sig });
    void interrupted.then((code) => process.exit(code), (e: unknown) => {
      console.error(e);
      process.exit(2);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  await w.setup();
  w.stories.push(...makeStories(o, w.dayMin, w.rnd));
  const pushCount = pushCountFor(o.hours);
  const realDayMs = (w.dayMin * 60_000) / o.speedup;
  process.stderr.write(
    `simulate: ${o.engineers} engineers, ${w.stories.length} requests, ${pushCount} pushes, ${o.hours} h at ${o.speedup}× (${(realDayMs / 1000).toFixed(0)} s), ${o.kills} kills, seed ${o.seed}; data in ${w.dir}; server pid ${w.server.pid}\n`,
  );
  w.t0 = performance.now();
  const sampling = measurements.sampler();
  const baseline = measurements.baseline().catch((e: unknown) => w.notes.push(`baseline pushes failed: ${(e as Error).message}`));
  const kills = killTimes(w, realDayMs);
  const killer = faults.killer(kills);
  for (const s of w.stories) {
    w.spawn(
      (async () => {
        await w.until(s.openAt);
        w.lagMs.push(Math.max(0, ((w.simNow() - s.openAt) * 60_000) / o.speedup));
        await engineers.openRequest(s);
        const next = [
          ...(s.repushAt !== null ? [{ at: s.repushAt, what: 'repush' as const }] : []),
          ...(s.withdrawAt !== null ? [{ at: s.withdrawAt, what: 'withdraw' as const }] : []),
        ].sort((a, b) => a.at - b.at);
        for (const step of next) {
          if (step.at > w.dayMin) break;
          await w.until(step.at);
          if (step.what === 'repush') await engineers.repush(s, 'repush');
          else await engineers.withdraw(s);
        }
      })(),
    );
  }
  const pushmasterDay = (async () => {
    for (let i = 0; i < pushCount; i++) await pushmaster.runPush(i, pushCount);
  })();
  w.spawn(pushmasterDay);
  await pushmasterDay.catch(() => undefined);
  await w.until(w.dayMin);
  while (w.tasks.size) await Promise.allSettled([...w.tasks]);
  await killer;
  const dayEnded = performance.now();
  // Quiet: the server's background checks finish.
  for (let i = 0; i < 50; i++) {
    const h = (await (await fetch(`${w.server.url}/healthz`)).json()) as { pending: number };
    if (!h.pending) break;
    await sleep(100);
  }
  await sleep(500);
  const board = await w.board();
  checkStories(w, board);
  const st = w.server.stats();
  if (st) measurements.take(st);
  const m = await scrapeMetrics(w.server.url);
  if (m) w.lastScrape = m;
  measurements.bank();
  w.stopping = true;
  await sampling;
  await baseline;
  await w.server.stop();
  engineers.close();
  const finalBoard = await checkRepo(w, 'at the end (server stopped)');
  // master is the last certified tag; the metadata branch is linear.
  const master = await masterProblem(w.gitDir, w.pushes);
  if (master.problem) w.violation(master.problem);
  const masterCheck = master.summary;
  const history = await metaHistoryProblem(w.gitDir);
  if (history) w.violation(history);
  const metaCommits = await git(w.gitDir, ['rev-list', '--count', 'refs/heads/pushmanager/meta']);
  const elapsed = (performance.now() - w.t0) / 1000;
  const report = renderReport(w, { started, load0, pushCount, elapsed, dayMs: dayEnded - w.t0, masterCheck, metaCommits: Number(metaCommits), finalRequests: Object.keys(finalBoard.requests).length });
  if (interrupted) return interrupted; // the signal's own report is being written
  writeOut(o, report);
  if (!o.keep) rmSync(w.dir, { recursive: true, force: true });
  else console.log(`data kept in ${w.dir}`);
  return w.violations.length ? 1 : 0;
}

function writeOut(o: Options, report: string): void {
  console.log(report);
  if (o.report) {
    mkdirSync(dirname(o.report), { recursive: true });
    writeFileSync(o.report, report);
    console.log(`written to ${o.report}`);
  }
}

/**
 * The run stopped by a signal: the actors stop, the server's last figures are taken and it is stopped by
 * its pid (SIGTERM, SIGKILL after 10 s), and the report of what happened so far is written, marked partial.
 * The end-of-day checks (stories against the board, master, fsck) do not run: the day did not end.
 */
async function interruptRun(w: World, measurements: Measurements, o: Options, at: { started: Date; load0: string; sig: string }): Promise<number> {
  const simMin = w.t0 ? w.simNow() : 0;
  w.stopping = true;
  w.interrupted = true;
  const st = w.server.stats();
  if (st) measurements.take(st);
  if (w.server.running && w.up.isOpen) await measurements.scrape().catch(() => undefined);
  measurements.bank();
  await w.server.stop();
  const metaCommits = await git(w.gitDir, ['rev-list', '--count', 'refs/heads/pushmanager/meta']).catch(() => 'NaN');
  const elapsed = w.t0 ? (performance.now() - w.t0) / 1000 : 0;
  const report = renderReport(w, {
    started: at.started,
    load0: at.load0,
    pushCount: pushCountFor(o.hours),
    elapsed,
    dayMs: elapsed * 1000,
    masterCheck: 'not checked (interrupted)',
    metaCommits: Number(metaCommits),
    finalRequests: NaN,
    interrupted: `${at.sig} at simulated minute ${simMin.toFixed(0)} of ${w.dayMin} (${elapsed.toFixed(0)} s after the day began)`,
  });
  writeOut(o, report);
  console.log(`data kept in ${w.dir}`);
  return 130;
}

/** The CI model's comparison (bench/simulation/ci-report.ts): printed, and written to --ci-report. 0 when Pushmanager's targets pass. */
function ciComparison(o: Options, ci: CiOptions): number {
  const t = performance.now();
  const { text, pass } = renderCiReport(o, ci);
  console.log(text);
  if (ci.report) {
    mkdirSync(dirname(ci.report), { recursive: true });
    writeFileSync(ci.report, text);
    console.log(`written to ${ci.report}`);
  }
  process.stderr.write(`simulate: CI model over ${ci.days} day(s) in ${((performance.now() - t) / 1000).toFixed(1)} s; targets ${pass ? 'PASS' : 'FAIL'}\n`);
  return pass ? 0 : 1;
}

if (process.argv.slice(2).some((a) => a === '--help' || a === '-h')) {
  console.log(`${SIM_HELP}\n\n${CI_HELP}`);
  process.exit(0);
}
let split: ReturnType<typeof splitCiArgs>;
try {
  split = splitCiArgs(process.argv.slice(2));
} catch (e) {
  console.error((e as Error).message);
  process.exit(2);
}
const opts = parseArgs(split.rest);
const day = split.ci.mode === 'only' ? Promise.resolve(0) : simulate(opts);
day.then(
  (code) => {
    process.exitCode = split.ci.mode === 'off' ? code : Math.max(code, ciComparison(opts, split.ci));
  },
  (e: unknown) => {
    console.error(e);
    process.exitCode = 2;
  },
);
