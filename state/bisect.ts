// Finding the culprit of a red build (SPEC §6, issue 16): which candidate deploy branch to test next,
// given what is known. Pure and small on purpose: the train (state/bisection.ts), the simulation's four
// strategies (bench/simulation/) and the table tests all ask this one function.
//
// The requests of a deploy branch are numbered 0..n-1 in merge order. A candidate is master plus the
// first k of them, optionally plus one more request `plus` (≥ k) on top: {k} is the prefix of k
// requests ({0} is master alone), {k: 0, plus: i} is request i alone on master, {k, plus: i} is the
// first k with request i. The whole branch, {n}, is what the build jobs test; its result starts a search.
//
// Assumptions, and why:
// - A flake makes a job fail, never pass: a candidate with any passed run counts as passed. A failure
//   is believed until it contradicts another result (see the retest below).
// - Redness is monotone in the prefix (adding requests does not make a red branch green), so the first
//   red prefix is found by halving the gap between the longest green and the shortest red prefix.
//
// The search, with one candidate at a time: ⌈log2 n⌉ prefixes narrow it to request i (prefix i green,
// prefix i + 1 red), then one run of request i alone on master names it: red → i; green → i breaks the
// build only together with an earlier request (or the red prefix was a flake): that prefix is run once
// more, and if it is red again, the partner is found by halving over {k, plus: i}. For i = 0 the one
// extra run is master itself (is it master that is red?). So a job that never flaked (`flaky: false`,
// trusted on one run) has its culprit named in at most ⌈log2 n⌉ + 1 runs.
//
// A job that flakes needs more before anyone is blamed, because one red run is 10% likely a flake at
// the flake rate of OpenStack's gate, and a false blame costs an engineer hours. Before a request is
// blamed, alone or as the later of a pair, the whole branch without it runs once ({n, without: i}):
// - green: nothing else in the branch is red, so the blame rests on the runs that hold it, all flakes
//   if the branch was clean. It needs four red ones (the branch's build and retry, the red prefixes, it
//   alone; for a pair, the pair's candidate): the last request has only three, since its prefix is the
//   whole branch, and a clean branch whose build and retry flaked ends its search there with no flake
//   more (every prefix passes), so it runs alone once more. That candidate is then the new deploy
//   branch, already tested: this run takes the place of the test a rebuild without it would need.
// - red: either a second red request comes later, or i's red prefix was a flake (and the red request
//   is the later one). The prefix and the request alone each run until they have failed twice (request
//   0's one candidate, four times); for a pair (i green alone), the prefix must fail a third time
//   before a partner is looked for, and the pair's own candidate twice (of neighbours, the prefix is
//   that candidate: four times). In the simulation every false pair had taken this path: half of the
//   innocents before this rule.
// So an innocent request is blamed only if three or more runs flake together besides the one the
// search stopped on, never on one failure that a second run would pass; and master is red only on two
// runs. The price is up to two runs more per search (bench/results/bisection.md), and a search as
// sparing as a Bayesian noisy binary search of the same rate of wrong blames (same file, last table).

// With room for more than one run at a time (`capacity`), the largest unknown gaps are split first, so
// parallel runs shorten the wall time at the cost of more runs (Mergify's parallel splits).

export interface Candidate {
  /** The first k requests, in merge order. */
  readonly k: number;
  /** One more request on top of them (its index, ≥ k); absent: the prefix alone. */
  readonly plus?: number;
  /** One of them left out (its index, < k): {n, without: i} is the whole branch without request i. */
  readonly without?: number;
}

export type Verdict = 'passed' | 'failed';

/** What is known of a candidate: how many runs passed and failed, and whether one is running. */
export interface Known {
  readonly passed: number;
  readonly failed: number;
  readonly pending: boolean;
}

export interface SearchInput {
  /** Requests in the deploy branch. */
  readonly n: number;
  /** What is known of a candidate, by its key (candidateKey). Absent: never run. */
  readonly known: (key: string) => Known | undefined;
  /** How many more runs may start now (the runner's free room the search may use). */
  readonly capacity: number;
  /**
   * Whether the job flakes enough to guard each blame (default true; see `flakesEnough`). A job that
   * does not is trusted on one run: its culprit is named without running the branch without it.
   */
  readonly flaky?: boolean;
  /**
   * Requests expected between two red ones (`culpritSpacing`, from the share of culprits measured on the
   * board); absent: unknown, and the prefixes are halved.
   */
  readonly spacing?: number;
}

/** Requests that went into pushes that ran the job, and how many of them a search named as culprits. */
export interface CulpritShare {
  readonly requests: number;
  readonly culprits: number;
}

/** Culprits and requests before a measured share sets the search's stride. */
const SHARE_SAMPLE = { culprits: 5, requests: 200 } as const;

/**
 * The stride of the first probes when a gap is long: Hwang's generalized binary splitting. With red
 * requests one in 1/r, the first red one is likely within 2^⌊log2((1 − r)/r)⌋ of the last green prefix,
 * so probing there and stepping on while it passes finds it in fewer runs than halving a long gap, whose
 * upper half holds other red requests that tell nothing about the first. Kept within the bound of
 * halving (nextStep), it measured on the 500-engineer day (pushes of ~270 requests, 3% breaking, 10%
 * flakes, seeds 1–5 and 11–15) 4.3% fewer runs; on the 100-engineer days (pushes of 26–76, seeds 1–60)
 * 1.0% fewer, the same innocents. Unmeasured (too few culprits): none, and the prefixes are halved.
 */
export function culpritSpacing(s: CulpritShare): number | undefined {
  if (s.culprits < SHARE_SAMPLE.culprits || s.requests < SHARE_SAMPLE.requests) return undefined;
  const r = s.culprits / s.requests;
  return 2 ** Math.max(0, Math.floor(Math.log2((1 - r) / r)));
}

/** A job's runs on trees that passed it at least once: every failure among them was a flake (flakes only fail). */
export interface FlakeRecord {
  readonly runs: number;
  readonly failed: number;
  /** The same over the newest FLAKE_RECENT runs or more, when there are that many. */
  readonly recent?: { readonly runs: number; readonly failed: number };
}

/**
 * The flake rate is read over the job's newest runs on green trees (whole pushes, newest first), in two
 * windows: the last FLAKE_RECENT runs or more (guarding from 3.5%), and the last FLAKE_WINDOW or more
 * (from 2.5%). The short one guards within a day or two a job that was clean for weeks and starts to
 * flake (a new flaky test): read over the whole history, the clean runs dilute the new flakes for weeks.
 * The long one keeps a steadily flaky job guarded when a short run of luck reads low. In the simulation
 * (100 engineers; jobs clean for 20 days, then flaky at 10% for 10; 6 seeds): 31 innocents removed read
 * over the whole history, 6 with these windows; steadily flaky jobs: see docs/decisions.md.
 */
export const FLAKE_RECENT = 100;
export const FLAKE_WINDOW = 1000;

/** The flake record of the newest runs: per-push records, newest first, summed until FLAKE_WINDOW runs (and the first FLAKE_RECENT of them). */
export function recentFlakes(newestFirst: Iterable<FlakeRecord>): FlakeRecord {
  let runs = 0;
  let failed = 0;
  let recent: FlakeRecord | undefined;
  for (const r of newestFirst) {
    runs += r.runs;
    failed += r.failed;
    if (!recent && runs >= FLAKE_RECENT) recent = { runs, failed };
    if (runs >= FLAKE_WINDOW) break;
  }
  return { runs, failed, ...(recent && { recent }) };
}

/** Runs on green trees before a measured flake rate is believed over "it has flaked". */
const FLAKE_SAMPLE = 100;
/** Below this measured rate one red run is trusted: the guards cost more runs than the blames they save. */
const TRUSTED_FLAKE_RATE = 0.025;
/**
 * The newest 100 runs guard from this rate, above the trusted rate: 100 runs read a 2% job at 2.5% or more
 * a third of the time (guarding it for nothing: +5.6% CI minutes at 2% on the 500-engineer day), at 3.5%
 * seldom (+1.8%), and a job that starts to flake at 10% reaches it within about 60 runs.
 */
const RECENT_FLAKE_RATE = 0.035;

/**
 * Whether a job flakes enough that no one is blamed on one red run of it. Never flaked (in its newest
 * runs): trusted. Once it has, guarded, until 100 runs on green trees measure its rate below 2.5% over the
 * newest 1,000 or more, and below 3.5% over the newest 100 or more (recentFlakes). The guards cost runs whether
 * or not flakes happen: in the simulation (100 engineers, 60 days) trusting saved 8% of the runs at 1%
 * flakes and 5% at 2% with no innocent removed, but removed 2 at 3% and 6 at 5%. The reading is low
 * (a flaky candidate is often never run again): 2.2% for a 3% job, so 2.5% trusts at 1–2% only, mostly.
 */
export function flakesEnough(r: FlakeRecord): boolean {
  if (r.failed === 0) return false;
  if (r.runs < FLAKE_SAMPLE) return true;
  const recent = r.recent && r.recent.runs > 0 ? r.recent.failed / r.recent.runs : 0;
  return r.failed / r.runs >= TRUSTED_FLAKE_RATE || recent >= RECENT_FLAKE_RATE;
}

export type SearchStep =
  /** Run these candidates (never one whose result is known, except the one retest explained above). */
  | { readonly type: 'test'; readonly candidates: readonly Candidate[] }
  /** Nothing to start: runs are under way (or no room); ask again when one ends. */
  | { readonly type: 'wait'; readonly for: 'runs' | 'room' | 'the whole branch' }
  /**
   * Request `index` turns the branch red on its own. `rest`: how the whole branch without it did: passed
   * (its removal leaves a green branch, already tested: that candidate can be the new deploy branch) or
   * failed (another request further on is red too; the next search finds it); null: not run (a job
   * that never flaked is trusted on one run).
   */
  | { readonly type: 'culprit'; readonly index: number; readonly rest: Verdict | null }
  /**
   * Request `index` turns it red only together with the earlier request `partner` (neither alone).
   * `rest`: how the whole branch without `index` did, as for a culprit (null: the job never flaked).
   */
  | { readonly type: 'pair'; readonly index: number; readonly partner: number; readonly rest: Verdict | null }
  /** Master alone is red: no request is to blame. */
  | { readonly type: 'master-red' }
  /** The whole branch passes (a new build of it, or a retry): nothing to find. */
  | { readonly type: 'green' };

/** A candidate's canonical form: {k, plus: k} is the prefix k + 1, {k, without: k - 1} the prefix k - 1, {k, without: k - 2} is {k - 2, plus: k - 1}. */
export function canonical(c: Candidate): Candidate {
  if (c.plus !== undefined && c.plus === c.k) return { k: c.k + 1 };
  if (c.without !== undefined && c.without === c.k - 1) return { k: c.k - 1 };
  // Without the second-to-last: the prefix before it plus the last one.
  if (c.without !== undefined && c.without === c.k - 2) return { k: c.without, plus: c.k - 1 };
  return c;
}

export const candidateKey = (c: Candidate): string => {
  const x = canonical(c);
  return x.plus !== undefined ? `${x.k}+${x.plus}` : x.without !== undefined ? `${x.k}-${x.without}` : `${x.k}`;
};

/** The candidate a key names (candidateKey's inverse). */
export function parseCandidateKey(key: string): Candidate {
  const m = /^(\d+)(?:([+-])(\d+))?$/.exec(key);
  if (!m) throw new RangeError(`not a candidate key: ${key}`);
  const k = Number(m[1]);
  return m[2] === '+' ? { k, plus: Number(m[3]) } : m[2] === '-' ? { k, without: Number(m[3]) } : { k };
}

/** The request indices a candidate holds, in merge order. */
export function members(c: Candidate): number[] {
  const out = Array.from({ length: c.k }, (_, i) => i).filter((i) => i !== c.without);
  if (c.plus !== undefined && c.plus >= c.k) out.push(c.plus);
  return out;
}

/** The range of requests still suspected, for "40 → 20 → 10 requests": prefix gap, then partner gap. */
export interface Progress {
  /** Requests still suspected (the width of the gap being halved). */
  readonly suspects: number;
  readonly phase: 'prefix' | 'confirm' | 'partner';
  /** In the confirm and partner phases: the request the prefixes narrowed it to (its index). */
  readonly suspect?: number;
}

/** What the runs of a candidate say: any pass is a pass (flakes only fail), else a failure, else nothing yet. */
export const verdictOf = (k: Known | undefined): Verdict | undefined => (k === undefined ? undefined : k.passed > 0 ? 'passed' : k.failed > 0 ? 'failed' : undefined);

interface Gap {
  readonly lo: number;
  readonly hi: number;
}

/**
 * The gap between the longest green and the shortest red point of a monotone line of candidates at
 * 0..top: `at(0)` is taken as green when unknown, `at(top)` must be red. A red point below a green one
 * contradicts monotonicity and is a flake: the green wins.
 */
function gapOf(top: number, at: (x: number) => Verdict | undefined): Gap {
  let lo = 0;
  for (let x = 1; x < top; x++) if (at(x) === 'passed') lo = x;
  let hi = top;
  for (let x = top - 1; x > lo; x--) if (at(x) === 'failed') hi = x;
  return { lo, hi };
}

/** Up to `capacity` new points in (lo, hi), each halving the largest gap left by the points under way. */
function split(gap: Gap, pending: (x: number) => boolean, capacity: number): number[] {
  const points = [gap.lo, gap.hi];
  for (let x = gap.lo + 1; x < gap.hi; x++) if (pending(x)) points.push(x);
  points.sort((a, b) => a - b);
  const fresh: number[] = [];
  for (let n = 0; n < capacity; n++) {
    let best = -1;
    for (let i = 0; i + 1 < points.length; i++) if (points[i + 1]! - points[i]! > 1 && (best < 0 || points[i + 1]! - points[i]! > points[best + 1]! - points[best]!)) best = i;
    if (best < 0) break;
    const mid = points[best]! + Math.floor((points[best + 1]! - points[best]!) / 2);
    points.splice(best + 1, 0, mid);
    fresh.push(mid);
  }
  return fresh;
}

/** Run `c` unless it is under way; no room: wait. */
function one(c: Candidate, known: SearchInput['known'], capacity: number): SearchStep {
  if (known(candidateKey(c))?.pending) return { type: 'wait', for: 'runs' };
  return capacity > 0 ? { type: 'test', candidates: [c] } : { type: 'wait', for: 'room' };
}

/** Halve the gap of a line of candidates (`make(x)`), or wait for the runs in it. */
function narrow(gap: Gap, make: (x: number) => Candidate, known: SearchInput['known'], capacity: number): SearchStep {
  const pending = (x: number) => known(candidateKey(make(x)))?.pending === true;
  const points = split(gap, pending, capacity);
  if (points.length) return { type: 'test', candidates: points.map(make) };
  return { type: 'wait', for: capacity > 0 ? 'runs' : 'room' };
}

/** The next step of the search for the first request whose addition turns the build red. */
export function nextStep(input: SearchInput): SearchStep {
  const { n, known, capacity } = input;
  const prefix = (k: number): Verdict | undefined => verdictOf(known(candidateKey({ k })));
  const whole = prefix(n);
  if (whole === 'passed') return { type: 'green' };
  if (whole === undefined || n === 0) return { type: 'wait', for: 'the whole branch' };

  const gap = gapOf(n, prefix);
  if (gap.hi - gap.lo > 1) {
    // A gap of g over two strides: the prefix a stride above the green one, not the middle, but never
    // beyond the bound: halving needs m = ⌈log2 g⌉ runs, and a probe x requests up keeps both outcomes
    // within m − 1 more only for x in [g − 2^(m−1), 2^(m−1)]; the stride is moved into that window.
    const stride = input.spacing;
    if (stride !== undefined && capacity <= 1 && gap.hi - gap.lo > 2 * stride) {
      const g = gap.hi - gap.lo;
      const half = 2 ** (Math.ceil(Math.log2(g)) - 1);
      return one({ k: gap.lo + Math.min(half, Math.max(stride, g - half)) }, known, capacity);
    }
    return narrow(gap, (k) => ({ k }), known, capacity);
  }

  const i = gap.hi - 1; // prefix i is green (or master, assumed), prefix i + 1 red: request i turns it red
  const red = known(candidateKey({ k: i + 1 }))!;
  // The whole branch failed its build and its retry; a prefix that failed once is run once more
  // before it convicts anyone against another result (a flake, or a pair).
  const retestRed = (): SearchStep | null => (i + 1 < n && red.failed < 2 ? one({ k: i + 1 }, known, capacity) : null);
  // Request i on master alone (for request 0, that is prefix 1), and the whole branch without it.
  const alone: Candidate = i === 0 ? { k: 1 } : { k: 0, plus: i };
  const rest: Candidate = { k: n, without: i };
  const without = verdictOf(known(candidateKey(rest)));
  if (i === 0) {
    // Request 0 alone is prefix 1, known red: the run left is master itself.
    const master = prefix(0);
    if (master === undefined) return one({ k: 0 }, known, capacity);
    // Master red on one run of a job that flakes is likelier a flake than a broken master: once more.
    if (master === 'failed' && input.flaky !== false && known(candidateKey({ k: 0 }))!.failed < 2) return one({ k: 0 }, known, capacity);
    if (master === 'failed') return { type: 'master-red' };
  } else {
    const aloneVerdict = verdictOf(known(candidateKey(alone)));
    if (aloneVerdict === undefined) return one(alone, known, capacity);
    if (aloneVerdict === 'passed') {
      // Red with the requests before it, green alone: a pair, or the red prefix was a flake.
      const again = retestRed();
      if (again) return again;
      if (input.flaky === false) return partnerStep(i, n, known, capacity, false, null);
      // Before a partner is looked for, the branch without it. A real pair's later half is all that
      // keeps it red, so it passes (and is the new deploy branch, already tested). Red, it is the
      // prefix's two failures that are in doubt: when the red request is further on, prefix i + 1 is
      // clean and both were flakes (the simulation's false pairs, half of its innocents, all took this
      // path), so it must fail a third time first; a pass widens the prefix gap and the search goes on.
      if (without === undefined) return one(rest, known, capacity);
      if (without === 'failed' && red.passed === 0 && red.failed < DOUBTED_PREFIX_FAILURES) return one({ k: i + 1 }, known, capacity);
      return partnerStep(i, n, known, capacity, true, without);
    }
  }
  if (input.flaky === false) return { type: 'culprit', index: i, rest: null };
  // Red alone too. Before anyone is blamed on two runs that could both be flakes, the branch without
  // it: green, it is the culprit, and that candidate is the new deploy branch, already tested (this
  // run replaces the test a rebuild without it would need, so it costs no CI time). Red: the red
  // prefix was a flake, or a second red request comes later: the prefix is run again to tell.
  if (without === undefined) return one(rest, known, capacity);
  if (without === 'failed') {
    const again = retestRed();
    if (again) return again;
    // Request 0 alone is its prefix: that one candidate fails four times instead.
    if ((known(candidateKey(alone))?.failed ?? 0) < (i === 0 ? 4 : 2)) return one(alone, known, capacity);
  } else {
    // Green without it: no other request is red, so the blame rests on the red runs that hold it (the
    // whole branch's build and retry, the red prefixes, it alone), all flakes if the branch was clean.
    // A clean branch whose two runs flaked ends its search on the last request with no flake more (every
    // prefix passes), and then only its run alone is left to flake: so it runs alone once more.
    if (redsOf([...prefixesFrom(i + 1, n), alone], known) < BLAME_FAILURES) return one(alone, known, capacity);
  }
  return { type: 'culprit', index: i, rest: without };
}

/** Red runs holding a request, with a green branch without it, before it is blamed (when the job flakes). */
const BLAME_FAILURES = 4;

/** Failures of a red prefix whose request passed alone, when the branch without that request is red too. */
const DOUBTED_PREFIX_FAILURES = 3;

/** Failures a red prefix needs before it alone names a pair of neighbours, when the job flakes. */
const ADJACENT_PAIR_FAILURES = 3;

/** Request i is red only after an earlier one: the partner, by halving over the first k requests with i. */
function partnerStep(i: number, n: number, known: SearchInput['known'], capacity: number, flaky: boolean, rest: Verdict | null): SearchStep {
  // The partner: the first k for which the first k requests with request i are red ({0, plus: i} is green, {i, plus: i} red).
  const withI = (k: number): Verdict | undefined => verdictOf(known(candidateKey({ k, plus: i })));
  const partnerGap = gapOf(i, withI);
  if (partnerGap.hi - partnerGap.lo > 1) return narrow(partnerGap, (k) => ({ k, plus: i }), known, capacity);
  const partner = partnerGap.hi - 1;
  const pair: Candidate = { k: partner + 1, plus: i };
  if (flaky && rest === 'failed') {
    // Red without i: the red request may be further on, and then every red run holding i here is a
    // flake, the first of them the one the prefix search stopped on. The prefix has failed three times;
    // the pair's own candidate must fail twice too (of neighbours it is the prefix: four times).
    const red = known(candidateKey(pair))!;
    if (red.passed === 0 && red.failed < (partner === i - 1 ? DOUBTED_PREFIX_FAILURES + 1 : 2)) return one(pair, known, capacity);
  } else if (flaky && partner === i - 1) {
    // Every candidate with i and fewer of the requests before it passed, so the pair's only red candidate
    // is prefix i + 1 itself ({i - 1 + 1, plus: i}): the same runs that started the partner search. Two
    // flakes of that one candidate would name two innocent neighbours (the simulation saw it: 3 of 6
    // innocents removed at a 10% flake rate), so it must fail a third time first; a pass instead
    // widens the prefix gap and the search goes on past it.
    const red = known(candidateKey({ k: i + 1 }))!;
    if (red.passed === 0 && red.failed < ADJACENT_PAIR_FAILURES) return one({ k: i + 1 }, known, capacity);
  }
  if (flaky && rest === 'passed') {
    // Green without i: as for a culprit, the blame rests on the red runs holding both (the whole
    // branch's, prefix i + 1's, the pair's own), all flakes if the branch was clean.
    if (redsOf([...prefixesFrom(i + 1, n), pair], known) < BLAME_FAILURES) return one(pair, known, capacity);
  }
  return { type: 'pair', index: i, partner, rest };
}

/** The prefixes from..n, each holding request from - 1. */
const prefixesFrom = (from: number, n: number): Candidate[] => Array.from({ length: n - from + 1 }, (_, j) => ({ k: from + j }));

/** Failed runs of these candidates, each counted once (two of them may be the same candidate). */
function redsOf(candidates: readonly Candidate[], known: SearchInput['known']): number {
  let reds = 0;
  for (const key of new Set(candidates.map(candidateKey))) reds += known(key)?.failed ?? 0;
  return reds;
}

/** How far the search has come: the suspects left, for the board's "bisecting push 3: 40 → 20 → 10". */
export function progress(input: Omit<SearchInput, 'capacity'>): Progress {
  const { n, known } = input;
  const prefix = (k: number): Verdict | undefined => verdictOf(known(candidateKey({ k })));
  const gap = gapOf(n, prefix);
  if (gap.hi - gap.lo > 1) return { suspects: gap.hi - gap.lo, phase: 'prefix' };
  const i = gap.hi - 1;
  if (i === 0 || verdictOf(known(candidateKey({ k: 0, plus: i }))) !== 'passed') return { suspects: 1, phase: 'confirm', suspect: i };
  const p = gapOf(i, (k) => verdictOf(known(candidateKey({ k, plus: i }))));
  return { suspects: p.hi - p.lo, phase: 'partner', suspect: i };
}
