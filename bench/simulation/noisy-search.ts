// A yardstick for the culprit search (issue 16): how many runs a search needs for a given rate of wrong
// blames, on the simplest case there is. One culprit among n requests, prefix candidates (master plus the
// first k), one-sided flakes at rate p, the whole branch known red. Pushmanager's own search
// (state/bisect.ts `nextStep`, as for a job known to flake) runs against a Bayesian noisy binary search:
// it keeps the posterior of the culprit's position, runs the prefix that splits it nearest to half
// (Horstein's rule; Burnashev and Zigangirov showed such a search near-optimal), and names the most
// likely request once its posterior reaches 1 − δ. Lowering δ buys fewer wrong blames with runs, so the
// table shows what the ⌈log2 N⌉ + 1 bound would cost in wrong blames at the report's flake rate.
// No pairs, no second culprit, no reuse across searches: those only make the real search dearer.
import { candidateKey, members, nextStep, type Known } from '../../state/bisect.js';
// mulberry32: good enough that runs of flakes are not an artefact of the generator (an LCG's were).
import { seeded as random } from '../lib/sync.js';

export interface NoisySearchOptions {
  readonly flakeRate: number;
  readonly sizes: readonly number[];
  readonly trials: number;
  readonly seed: number;
  /** Confidence thresholds of the Bayesian search (it stops when one request's posterior is ≥ 1 − δ). */
  readonly deltas: readonly number[];
}

export interface NoisySearchCell {
  readonly strategy: string;
  /** Mean runs a search made. */
  readonly runs: number;
  /** Searches that named anyone but the culprit (or master, or a pair), of all. */
  readonly wrong: number;
  /** (runs − runs of the same searches with no flakes) / flaky failures: what a flake costs. */
  readonly extraPerFlake: number;
}

export interface NoisySearchRow {
  readonly n: number;
  readonly bound: number;
  readonly cells: readonly NoisySearchCell[];
}

/** What one search did: its runs, whether it named the culprit, and how many of its runs flaked. */
export interface SearchOutcome {
  readonly runs: number;
  readonly right: boolean;
  readonly flakes: number;
}

/** One search by state/bisect.ts for culprit c of n. */
export function pushmanagerSearch(n: number, c: number, p: number, rnd: () => number): SearchOutcome {
  const known = new Map<string, Known>([[`${n}`, { passed: 0, failed: 2, pending: false }]]);
  let runs = 0;
  let flakes = 0;
  for (;;) {
    const step = nextStep({ n, known: (k) => known.get(k), capacity: 1, flaky: true });
    if (step.type !== 'test') return { runs, right: step.type === 'culprit' && step.index === c, flakes };
    for (const cand of step.candidates) {
      const holds = members(cand).includes(c);
      const flake = !holds && rnd() < p;
      if (flake) flakes++;
      const red = holds || flake;
      const key = candidateKey(cand);
      const k = known.get(key) ?? { passed: 0, failed: 0, pending: false };
      known.set(key, { ...k, passed: k.passed + (red ? 0 : 1), failed: k.failed + (red ? 1 : 0) });
      // The branch without it is the new deploy branch's test, not a run of the search (as in the report).
      if (cand.without === undefined) runs++;
    }
  }
}

/** One Bayesian search for culprit c of n that believes runs flake at p, stopping at posterior ≥ 1 − delta; the CI flakes at `ci` (default p). */
export function bayesSearch(n: number, c: number, p: number, delta: number, rnd: () => number, ci = p): SearchOutcome {
  const post = new Array<number>(n).fill(1 / n);
  let runs = 0;
  let flakes = 0;
  for (;;) {
    let best = 0;
    for (let j = 1; j < n; j++) if (post[j]! > post[best]!) best = j;
    if (post[best]! >= 1 - delta || n === 1) return { runs, right: best === c, flakes };
    // Prefix k holds requests 0..k-1: the k whose mass below is nearest to half.
    let k = 1;
    let gap = Math.abs(post[0]! - 0.5);
    for (let kk = 2, m = post[0]!; kk < n; kk++) {
      m += post[kk - 1]!;
      if (Math.abs(m - 0.5) < gap) [k, gap] = [kk, Math.abs(m - 0.5)];
    }
    const flake = c >= k && rnd() < ci;
    if (flake) flakes++;
    const red = c < k || flake;
    runs++;
    let z = 0;
    for (let j = 0; j < n; j++) {
      post[j]! *= j < k ? (red ? 1 : 0) : red ? p : 1 - p;
      z += post[j]!;
    }
    for (let j = 0; j < n; j++) post[j]! /= z;
  }
}

/** Both searches over the same culprits and the same stream of flakes per trial. */
export function noisySearchTable(o: NoisySearchOptions): NoisySearchRow[] {
  return o.sizes.map((n) => {
    // `ci`: the CI's flake rate; each search believes the report's rate either way (Pushmanager's guards
    // stay on, the Bayesian search keeps its model), so a flake-free run prices the flakes alone.
    const strategies: { name: string; run: (c: number, ci: number, rnd: () => number) => SearchOutcome }[] = [
      { name: 'Pushmanager (state/bisect.ts)', run: (c, ci, rnd) => pushmanagerSearch(n, c, ci, rnd) },
      ...o.deltas.map((d) => ({ name: `Bayesian, δ = ${d}`, run: (c: number, ci: number, rnd: () => number) => bayesSearch(n, c, o.flakeRate, d, rnd, ci) })),
    ];
    const cells = strategies.map((s) => {
      let runs = 0;
      let runs0 = 0;
      let wrong = 0;
      let flakes = 0;
      for (let t = 0; t < o.trials; t++) {
        const rnd = random(o.seed * 1_000_003 + n * 10_007 + t);
        const c = Math.floor(rnd() * n);
        const out = s.run(c, o.flakeRate, rnd);
        runs += out.runs;
        flakes += out.flakes;
        if (!out.right) wrong++;
        // The same search on a CI that never flakes.
        runs0 += s.run(c, 0, rnd).runs;
      }
      return { strategy: s.name, runs: runs / o.trials, wrong: wrong / o.trials, extraPerFlake: flakes ? (runs - runs0) / flakes : NaN };
    });
    return { n, bound: Math.ceil(Math.log2(n)) + 1, cells };
  });
}

/** The table as markdown lines, for the CI report. */
export function renderNoisySearch(o: NoisySearchOptions): string[] {
  const rows = noisySearchTable(o);
  const names = rows[0]?.cells.map((c) => c.strategy) ?? [];
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  return [
    `## The search against a Bayesian noisy binary search (one culprit, prefix runs, ${(o.flakeRate * 100).toFixed(0)}% flakes)`,
    '',
    `bench/simulation/noisy-search.ts: one culprit among n requests, ${o.trials.toLocaleString('en-US')} searches a size, the same culprits and flakes for each search. Runs per search (the branch without the culprit not counted, as above), wrong blames (anyone but the culprit, a pair, or a red master), and the extra runs a flake costs (runs less those of the same searches with no flakes, per flaky failure). The Bayesian search runs the prefix that splits the culprit's posterior nearest to half and names the likeliest request at posterior ≥ 1 − δ; it makes no run alone, which the real search needs to tell a pair.`,
    '',
    `| n | ⌈log2 N⌉ + 1 | ${names.join(' | ')} |`,
    `|---|---|${names.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.n} | ${r.bound} | ${r.cells.map((c) => `${c.runs.toFixed(2)} runs, ${pct(c.wrong)} wrong, ${Number.isFinite(c.extraPerFlake) ? c.extraPerFlake.toFixed(1) : '—'} a flake`).join(' | ')} |`),
    '',
  ];
}
