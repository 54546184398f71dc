// The CI comparison (issue 16): the simulated day's train through the four strategies on the CI model,
// the figures side by side, Pushmanager's targets with PASS/FAIL, and the same at other flake rates.
// `npm run simulate -- --ci-only` runs just this (no servers); `--ci` adds it after the real day.
import { median, percentile } from '../lib/bench-row.js';
import { DEFAULT_CI, dayFromWorkload, simulateCi, type CiParams, type Day, type DayOutcome } from './ci-model.js';
import { allStrategies, pushmanagerStrategy, retestStrategy } from './ci-strategies.js';
import { renderNoisySearch } from './noisy-search.js';

export interface CiOptions {
  readonly mode: 'off' | 'with-day' | 'only';
  readonly ci: CiParams;
  /** Days simulated, seeds seed, seed + 1, …: more pushes for the percentiles. */
  readonly days: number;
  /** Pushmanager's candidates at once (the figures for 2 are added when this is 1 and the runner has 2 slots). */
  readonly parallel: number;
  /** Where the Markdown goes (besides stdout). */
  readonly report: string | null;
}

const CI_USAGE = '[--ci | --ci-only] [--flake-rate F] [--breaking-rate F] [--ci-slots N] [--ci-minutes M] [--ci-parallel N] [--ci-days N] [--ci-report FILE]';

/** The CI model's part of `npm run simulate -- --help` (docs/bisection.md). */
export const CI_HELP = `The CI model (docs/bisection.md): four culprit strategies over the day's train, in simulated time, no servers;
exit 1 when one of Pushmanager's targets fails.
  --ci                   after the day, run the CI model over its train
  --ci-only              only the CI model (seconds, not the day)
  --flake-rate F         share of clean runs that fail anyway (default ${DEFAULT_CI.flakeRate})
  --breaking-rate F      share of requests that break the build (default ${DEFAULT_CI.breakingRate})
  --ci-slots N           CI runs at once, shared by the day's pushes (default ${DEFAULT_CI.slots})
  --ci-minutes M         median minutes of a run (default ${DEFAULT_CI.minutes})
  --ci-parallel N        candidates a search runs at once (default 1)
  --ci-days N            days simulated, each with its own draws (default 1)
  --ci-report FILE       also write the Markdown report to FILE`;

/** Takes the CI model's flags out of argv; the rest is the simulation's own (workload.ts parseArgs). */
export function splitCiArgs(argv: readonly string[]): { ci: CiOptions; rest: string[] } {
  let mode: CiOptions['mode'] = 'off';
  const ci = { ...DEFAULT_CI };
  let days = 1;
  let parallel = 1;
  let report: string | null = null;
  const rest: string[] = [];
  const fail = (msg: string): never => {
    throw new Error(`simulate: ${msg}\nCI model: ${CI_USAGE}`);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const num = (lo: number, hi = Infinity, int = false): number => {
      const raw = argv[++i];
      const v = Number(raw);
      if (raw === undefined || !Number.isFinite(v) || v < lo || v > hi || (int && !Number.isInteger(v))) fail(`${a} needs ${int ? 'a whole number' : 'a number'} from ${lo}${hi === Infinity ? ' up' : ` to ${hi}`} (got ${raw ?? 'nothing'})`);
      return v;
    };
    if (a === '--ci') mode = mode === 'only' ? 'only' : 'with-day';
    else if (a === '--ci-only') mode = 'only';
    else if (a === '--flake-rate') ci.flakeRate = num(0, 0.99);
    else if (a === '--breaking-rate') ci.breakingRate = num(0, 1);
    else if (a === '--ci-slots') ci.slots = num(1, 1000, true);
    else if (a === '--ci-minutes') ci.minutes = num(0.1);
    else if (a === '--ci-parallel') parallel = num(1, 64, true);
    else if (a === '--ci-days') days = num(1, 1000, true);
    else if (a === '--ci-report') report = argv[++i] ?? fail('--ci-report needs a file');
    else rest.push(a);
  }
  return { ci: { mode, ci, days, parallel, report }, rest };
}

/** One strategy's figures over the days. */
export interface Summary {
  readonly strategy: string;
  readonly pushes: number;
  readonly certified: number;
  readonly neverGreen: number;
  readonly runs: number;
  readonly minutes: number;
  readonly breakingIn: number;
  readonly culpritsFound: number;
  /** Runs in red spells that removed a culprit (from the red build, not counted, to the next green one), per culprit removed. */
  readonly runsPerCulprit: number;
  readonly wronglyRemoved: number;
  /** Innocents removed from a branch that had failed only once: a retry was never tried. */
  readonly removedOnOneFail: number;
  /** Innocents a search removed on a red candidate that ran once and would have passed a retry. */
  readonly removedOnPassableFlake: number;
  readonly flakyFailures: number;
  /** (runs − runs of the same strategy on the same day with no flakes) / flaky failures. */
  readonly extraRunsPerFlake: number;
  /** Red spells a flake alone opened (no request removed in them) and their runs: what a flaky build of the deploy branch costs. */
  readonly flakeSpells: number;
  readonly flakeSpellRuns: number;
  /** Flaky failures of search candidates, and the extra runs left over for them: (runs − flake-free runs − flake spells' runs) / those. */
  readonly flakyCandidates: number;
  readonly extraRunsPerFlakyCandidate: number;
  /** Minutes from the last accept to a green deploy branch, per certified push. */
  readonly wall: readonly number[];
  /** Culprit searches (Pushmanager only): candidate runs against ⌈log2 N⌉ + 1. */
  readonly searches: readonly { n: number; runs: number; bound: number; flakyRuns: number; culprit: boolean | null }[];
}

function summarize(name: string, outs: readonly DayOutcome[], flakeFree: readonly DayOutcome[]): Summary {
  const ps = outs.flatMap((o) => o.pushes);
  const runs = ps.reduce((a, p) => a + p.runs, 0);
  const runs0 = flakeFree.flatMap((o) => o.pushes).reduce((a, p) => a + p.runs, 0);
  const flaky = ps.reduce((a, p) => a + p.flakyFailures, 0);
  const culpritSpells = ps.flatMap((p) => p.spells).filter((s) => s.culprits > 0);
  const flakeSpells = ps.flatMap((p) => p.spells).filter((s) => s.culprits === 0 && s.innocents === 0 && s.wholeFails > 0);
  const flakeSpellRuns = flakeSpells.reduce((a, s) => a + s.runs, 0);
  const flakyCandidates = ps.reduce((a, p) => a + p.flakyFailures - p.flakyWholeFailures, 0);
  const culpritsInSpells = culpritSpells.reduce((a, s) => a + s.culprits, 0);
  return {
    strategy: name,
    pushes: ps.length,
    certified: ps.filter((p) => p.greenAt !== null).length,
    neverGreen: ps.filter((p) => p.greenAt === null).length,
    runs,
    minutes: ps.reduce((a, p) => a + p.minutes, 0),
    breakingIn: ps.reduce((a, p) => a + p.breakingIn, 0),
    culpritsFound: ps.reduce((a, p) => a + p.culpritsFound, 0),
    runsPerCulprit: culpritsInSpells ? culpritSpells.reduce((a, s) => a + s.runs, 0) / culpritsInSpells : NaN,
    wronglyRemoved: ps.reduce((a, p) => a + p.wronglyRemoved.length, 0),
    removedOnOneFail: ps.flatMap((p) => p.spells).reduce((a, s) => a + s.innocentsOnOneFail, 0),
    removedOnPassableFlake: ps.reduce((a, p) => a + p.removedOnPassableFlake, 0),
    flakyFailures: flaky,
    extraRunsPerFlake: flaky ? (runs - runs0) / flaky : NaN,
    flakeSpells: flakeSpells.length,
    flakeSpellRuns,
    flakyCandidates,
    extraRunsPerFlakyCandidate: flakyCandidates ? (runs - runs0 - flakeSpellRuns) / flakyCandidates : NaN,
    wall: ps.filter((p) => p.greenAt !== null).map((p) => p.greenAt! - p.readyAt),
    searches: ps.flatMap((p) => p.searches),
  };
}

/** The days under every strategy (and each again on a flake-free CI, for the extra runs per flake). */
export function compare(w: { engineers: number; hours: number; seed: number }, ci: CiParams, days: number, parallel: number[] = [1]): { days: Day[]; summaries: Summary[] } {
  const ds = Array.from({ length: days }, (_, d) => dayFromWorkload({ ...w, seed: w.seed + d }, ci.breakingRate));
  const strategies = [...parallel.map((k) => pushmanagerStrategy({ parallel: k })), pushmanagerStrategy({ parallel: parallel[0], retestRed: true }), ...allStrategies().slice(1), retestStrategy(100)];
  const summaries = strategies.map((s) =>
    summarize(
      s.name,
      ds.map((d) => simulateCi(d, s, ci)),
      ds.map((d) => simulateCi(d, s, { ...ci, flakeRate: 0 })),
    ),
  );
  return { days: ds, summaries };
}

export interface Target {
  readonly name: string;
  readonly measured: string;
  readonly pass: boolean;
}

/** "29 by one run, 44 by 2 runs": how far searches are over their bound. */
function overBy(searches: readonly { runs: number; bound: number }[]): string {
  const by = new Map<number, number>();
  for (const s of searches) by.set(s.runs - s.bound, (by.get(s.runs - s.bound) ?? 0) + 1);
  return [...by].sort((a, b) => a[0] - b[0]).map(([d, n]) => `${n} by ${d === 1 ? 'one run' : `${d} runs`}`).join(', ');
}

/** Pushmanager's four targets (issue 16), measured on its summary against the other strategies'. */
export function targets(pm: Summary, others: readonly Summary[]): Target[] {
  const culprits = pm.searches.filter((s) => s.culprit === true);
  const over = culprits.filter((s) => s.runs > s.bound);
  const overClean = over.filter((s) => s.flakyRuns === 0);
  const worst = culprits.reduce((m, s) => Math.max(m, s.runs - s.bound), -Infinity);
  const cheapest = others.reduce((m, s) => Math.min(m, s.minutes), Infinity);
  const cheapestName = others.find((s) => s.minutes === cheapest)?.strategy ?? '';
  return [
    {
      name: '≤ ⌈log2 N⌉ + 1 runs per culprit (candidate runs of each search that named one; the run of the branch without it is the new deploy branch\'s test, counted in runs per culprit)',
      measured: culprits.length
        ? `${culprits.length - over.length} of ${culprits.length} searches within the bound (worst ${worst >= 0 ? '+' : ''}${worst} against it)${over.length ? `; of the ${over.length} over it, ${over.length - overClean.length} had a flaky candidate${overClean.length ? ` and ${overClean.length} had none (${overBy(overClean)}): the runs that confirm a blame once the job is known to flake (the red prefix and the request alone once more when the branch without it is red too, a second red request or flakes; the request alone once more when it is the last, so that its prefix is the whole branch)` : ''}` : ''}`
        : 'no culprit searched',
      pass: overClean.length === 0 && culprits.length > 0,
    },
    {
      name: '≤ 1 extra run per flake',
      measured: Number.isFinite(pm.extraRunsPerFlake)
        ? `${pm.extraRunsPerFlake.toFixed(2)} extra runs per flaky failure (${pm.flakyFailures} flaky failures): ${pm.flakeSpells ? `a flaky build of the deploy branch cost ${fmt(pm.flakeSpellRuns / pm.flakeSpells, 2)} runs (${pm.flakeSpells} such builds: the retry, or when it flaked too, a search that blamed nobody)` : 'no build of a clean deploy branch flaked on its own (the branch without the last culprit is tested in the search)'}, a flaky candidate inside a search ${fmt(pm.extraRunsPerFlakyCandidate, 2)} (${pm.flakyCandidates})`
        : 'no flaky failure',
      pass: !Number.isFinite(pm.extraRunsPerFlake) || pm.extraRunsPerFlake <= 1,
    },
    {
      name: 'no request removed because of a flake that a retry would have passed',
      measured: `${pm.removedOnOneFail} removed without a retry of the failed build; ${pm.removedOnPassableFlake} removed on a search candidate that failed once, holds no breaking request and would have passed its retry; ${pm.wronglyRemoved} innocent requests removed in all`,
      pass: pm.removedOnOneFail === 0 && pm.removedOnPassableFlake === 0,
    },
    {
      name: 'fewer CI minutes than the other three',
      measured: `${fmt(pm.minutes, 0)} min against ${fmt(cheapest, 0)} (${cheapestName}, the cheapest of the others)`,
      pass: pm.minutes < cheapest,
    },
  ];
}

function fmt(x: number, digits = 1): string {
  return Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';
}

const hm = (min: number): string => (Number.isFinite(min) ? (min >= 120 ? `${(min / 60).toFixed(1)} h` : `${min.toFixed(0)} min`) : 'n/a');

/** The figures, one column per strategy. */
export function sideBySide(ss: readonly Summary[]): string {
  const rows: [string, (s: Summary) => string][] = [
    ['pushes (certified / never green)', (s) => `${s.pushes} (${s.certified} / ${s.neverGreen})`],
    ['CI runs per certified push', (s) => (s.certified ? fmt(s.runs / s.certified) : `∞ (${s.runs} runs)`)],
    ['runs per culprit found', (s) => (Number.isFinite(s.runsPerCulprit) ? fmt(s.runsPerCulprit) : 'none found')],
    ['culprits found / breaking requests in the pushes', (s) => `${s.culpritsFound} / ${s.breakingIn}`],
    ['requests wrongly removed (not breaking)', (s) => `${s.wronglyRemoved}${s.removedOnOneFail ? ` (${s.removedOnOneFail} on one failed run)` : ''}`],
    ['last accept → green deploy branch, p50 / p95', (s) => (s.wall.length ? `${hm(median(s.wall))} / ${hm(percentile(s.wall, 95))}` : 'never')],
    ['pushes never green', (s) => `${s.neverGreen}`],
    ['total CI minutes', (s) => fmt(s.minutes, 0)],
    ['CI minutes per certified push', (s) => (s.certified ? fmt(s.minutes / s.certified, 0) : '∞')],
    ['flaky failures / extra runs per flaky failure', (s) => `${s.flakyFailures} / ${fmt(s.extraRunsPerFlake, 2)}`],
  ];
  return [
    `| figure | ${ss.map((s) => s.strategy).join(' | ')} |`,
    `|---|${ss.map(() => '---').join('|')}|`,
    ...rows.map(([name, f]) => `| ${name} | ${ss.map(f).join(' | ')} |`),
  ].join('\n');
}

/** The whole report: the day, the side-by-side table at the chosen flake rate, the targets, the other rates. */
/**
 * A job clean for the report's days that then flakes at its rate for half as many: the innocents removed
 * and the runs made in the flaky days, the flake rate read over the newest runs (as the server does) or
 * over all of them. Three blocks of days (seeds seed, seed + 100, seed + 200).
 */
export function turnsFlaky(w: { engineers: number; hours: number; seed: number }, o: CiOptions): string[] {
  const flaky = Math.max(1, Math.ceil(o.days / 2));
  const rows = (['recent', 'all'] as const).map((flakeHistory) => {
    let innocents = 0;
    let runs = 0;
    let minutes = 0;
    let name = '';
    for (const block of [0, 100, 200]) {
      const s = pushmanagerStrategy({ flakeHistory });
      name = s.name;
      for (let d = 0; d < o.days + flaky; d++) {
        const day = simulateCi(dayFromWorkload({ engineers: w.engineers, hours: w.hours, seed: w.seed + block + d }, o.ci.breakingRate), s, { ...o.ci, flakeRate: d < o.days ? 0 : o.ci.flakeRate });
        if (d < o.days) continue;
        for (const p of day.pushes) {
          innocents += p.wronglyRemoved.length;
          runs += p.runs;
          minutes += p.minutes;
        }
      }
    }
    return `| ${name} | ${innocents} | ${fmt(runs, 0)} | ${fmt(minutes, 0)} |`;
  });
  return [
    `## A job that starts to flake (clean for ${o.days} day${o.days > 1 ? 's' : ''}, then ${(o.ci.flakeRate * 100).toFixed(0)}% flakes for ${flaky})`,
    '',
    `Seeds ${w.seed}, ${w.seed + 100} and ${w.seed + 200}, each for ${o.days + flaky} days; what the flaky days cost. Read over all its runs, a long clean history dilutes the new flakes, and the job is trusted on one red run for days while it flakes; the server reads its newest runs (state/bisect.ts recentFlakes: guarded from 2.5% over the last 1,000 or more, or from 3.5% over the last 100 or more).`,
    '',
    '| strategy | requests wrongly removed | CI runs | CI minutes |',
    '|---|---|---|---|',
    ...rows,
    '',
  ];
}

export function renderCiReport(w: { engineers: number; hours: number; seed: number }, o: CiOptions): { text: string; pass: boolean } {
  const parallel = o.parallel === 1 && o.ci.slots >= 2 ? [1, 2] : [o.parallel];
  const main = compare(w, o.ci, o.days, parallel);
  const pm = main.summaries[0]!;
  const others = main.summaries.slice(parallel.length + 1);
  const ts = targets(pm, others);
  const pushes = main.days.flatMap((d) => d.pushes);
  const sizes = pushes.map((p) => p.requests.length);
  const lines: string[] = [];
  lines.push('# A red build finds its culprit: four strategies against flaky CI (`npm run simulate -- --ci-only`)', '');
  lines.push(
    `The simulated day's train (bench/simulation/workload.ts, the pushmaster's schedule) for ${w.engineers} engineers over ${w.hours} h, ${o.days} day${o.days > 1 ? 's' : ''} (seeds ${w.seed}${o.days > 1 ? `–${w.seed + o.days - 1}` : ''}): ${pushes.length} pushes of ${Math.min(...sizes)}–${Math.max(...sizes)} requests (median ${median(sizes)}), ${main.days.reduce((a, d) => a + d.pushes.reduce((b, p) => b + p.requests.filter((n) => d.breaking.has(n)).length, 0), 0)} of them breaking the build.`,
    `CI model (bench/simulation/ci-model.ts): each run takes a log-normal time around ${o.ci.minutes} min (σ ${o.ci.sigma}), fails for real when it holds a breaking request (${(o.ci.breakingRate * 100).toFixed(1)}% of requests), otherwise fails spuriously at ${(o.ci.flakeRate * 100).toFixed(1)}%; one runner with ${o.ci.slots} slot${o.ci.slots > 1 ? 's' : ''} shared by the day's pushes. Every strategy sees the same pushes, requests, breaking marks and, for the same build run the same number of times, the same flakes and durations.`,
    'Removed requests do not come back in a later push (so every strategy sees the same day), and hot-file conflicts are left out: this measures CI only.',
    '',
  );
  lines.push(`## Side by side at a ${(o.ci.flakeRate * 100).toFixed(0)}% flake rate`, '', sideBySide(main.summaries), '');
  lines.push(
    'Pushmanager: a red build is retried once; red again, state/bisect.ts `nextStep` picks the candidates (master plus the first k requests, or one request alone), the culprit is removed (of a pair, the later one); from the job\'s first flake until its newest runs on green trees measure its rate below 2.5% over the last 1,000 or more and below 3.5% over the last 100 or more (state/bisect.ts flakesEnough), nobody is blamed before the branch without them runs, and it is the new deploy branch (green: already tested; red: its run is the build\'s first, and only the retry runs); a request is blamed on four red runs that hold it with a green branch without it, or, when the branch without it is red too, on its red prefix and its run alone failing twice each; a pair is looked for only after the branch without the later one runs, and named when its own candidate failed twice; master is red only on two runs; results of builds holding the same requests are reused. ×2: up to two candidates at once when the runner has the room. Every red run twice (not what state/bisect.ts does; a variant to price it): once the job is known to flake, every red candidate runs once more before the search believes it.',
    'Retest: the whole batch again until it passes, 20 runs at most a push (and, to show how much the cap decides Tide’s minutes, 100: real Tide has no cap and once re-tested a batch 270 times). Remove the last: drop the last accepted request and build again, no retry. Serial: each request built on top of those that passed, in merge order, one build at a time, a red one dropped with no retry.',
    '"Runs per culprit found" counts the runs from a red build of the deploy branch (not counted) to its next green build, per culprit removed in that time; "extra runs per flaky failure" is (runs − runs of the same strategy on the same day with no flakes) / flaky failures.',
    '',
  );
  lines.push("## Pushmanager's targets", '', '| target | measured | |', '|---|---|---|', ...ts.map((t) => `| ${t.name} | ${t.measured} | ${t.pass ? 'PASS' : 'FAIL'} |`), '');
  const found = pm.searches.filter((x) => x.culprit === true);
  const hist = new Map<number, { clean: number; flaky: number }>();
  for (const s of found) {
    const h = hist.get(s.runs - s.bound) ?? { clean: 0, flaky: 0 };
    if (s.flakyRuns) h.flaky++;
    else h.clean++;
    hist.set(s.runs - s.bound, h);
  }
  lines.push(
    `Candidate runs of each culprit search against its bound ⌈log2 N⌉ + 1 (runs − bound: searches with no flaky candidate + with one or more): ${[...hist]
      .sort((a, b) => a[0] - b[0])
      .map(([d, h]) => `${d > 0 ? '+' : ''}${d}: ${h.clean} + ${h.flaky}`)
      .join(' · ') || 'none'}. Below the bound: the search started from green prefixes an earlier search of the same push had found.`,
    '',
  );
  lines.push('## At other flake rates', '', '| flake rate | strategy | runs per certified push | runs per culprit | wrongly removed | never green | p50 / p95 to green | CI minutes |', '|---|---|---|---|---|---|---|---|');
  for (const rate of [0, 0.02, 0.1, 0.2]) {
    const r = rate === o.ci.flakeRate ? main : compare(w, { ...o.ci, flakeRate: rate }, o.days, parallel);
    for (const s of r.summaries)
      lines.push(`| ${(rate * 100).toFixed(0)}% | ${s.strategy} | ${s.certified ? fmt(s.runs / s.certified) : '∞'} | ${Number.isFinite(s.runsPerCulprit) ? fmt(s.runsPerCulprit) : '—'} | ${s.wronglyRemoved} | ${s.neverGreen} | ${s.wall.length ? `${hm(median(s.wall))} / ${hm(percentile(s.wall, 95))}` : 'never'} | ${fmt(s.minutes, 0)} |`);
    const t = targets(r.summaries[0]!, r.summaries.slice(parallel.length + 1));
    lines.push(`|  | targets at ${(rate * 100).toFixed(0)}% | ${t.map((x) => `${x.pass ? 'PASS' : 'FAIL'}`).join(' · ')} | | | | | |`);
  }
  lines.push('');
  lines.push(...turnsFlaky(w, o));
  lines.push(...renderNoisySearch({ flakeRate: o.ci.flakeRate, sizes: [Math.min(...sizes), Math.round(median(sizes)), Math.max(...sizes)], trials: 10_000, seed: w.seed, deltas: [0.1, 0.02, 0.005] }));
  return { text: lines.join('\n'), pass: ts.every((t) => t.pass) };
}
