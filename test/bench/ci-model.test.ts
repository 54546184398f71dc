// The CI model of the simulation (bench/simulation/ci-model.ts) and its four strategies on tiny scripted
// days whose counts can be worked out by hand; pure, no servers, simulated minutes.
import { describe, expect, it } from 'vitest';
import { dayFromWorkload, runsBound, simulateCi, type CiParams, type Day } from '../../bench/simulation/ci-model.js';
import { splitCiArgs, targets, compare } from '../../bench/simulation/ci-report.js';
import { pushmanagerStrategy, removeLastStrategy, retestStrategy, serialStrategy } from '../../bench/simulation/ci-strategies.js';

const CI: CiParams = { flakeRate: 0, breakingRate: 0, slots: 2, minutes: 10, sigma: 0 };
/** One push of `n` requests 0..n-1, ready at minute 0, `breaking` the ones that break the build. */
const dayOf = (n: number, breaking: number[]): Day => ({ seed: 1, pushes: [{ index: 0, readyAt: 0, requests: Array.from({ length: n }, (_, i) => i) }], breaking: new Set(breaking) });
/** A scripted CI: every run takes 10 minutes; the listed builds (requests joined by commas, and the attempt) flake. */
const scripted =
  (flaky: ReadonlySet<string> = new Set()) =>
  (_push: number, members: readonly number[], attempt: number) => ({ flakes: flaky.has(`${members.join(',')}#${attempt}`), minutes: 10 });

describe('Pushmanager: retry once, then bisect with state/bisect.ts, remove the culprit, rebuild', () => {
  it('4 requests, request 1 breaking, no flakes: build + retry, 3 candidates (⌈log2 4⌉ + 1), the rebuild green; 6 runs, 60 min', () => {
    const out = simulateCi(dayOf(4, [1]), pushmanagerStrategy(), CI, { draw: scripted() }).pushes[0]!;
    // build {0,1,2,3} red, retry red; prefix 2 {0,1} red, prefix 1 {0} green, request 1 alone red: culprit; rebuild {0,2,3} green.
    expect(out).toMatchObject({ runs: 6, culpritsFound: 1, wronglyRemoved: [], greenAt: 60, gaveUp: null, flakyFailures: 0 });
    expect(out.searches).toEqual([{ n: 4, runs: 3, bound: runsBound(4), flakyRuns: 0, verdict: 'culprit', culprit: true }]);
    // From the red build (not counted) to the green rebuild: the retry, 3 candidates, the rebuild.
    expect(out.spells).toEqual([{ runs: 5, culprits: 1, innocents: 0, wholeFails: 2, innocentsOnOneFail: 0 }]);
  });

  it('once the job is known to flake, no one is blamed on single red runs: the branch without the suspect runs first, and red, the red prefix and the suspect alone run again', () => {
    // Push 0 (nothing breaking) flakes once and its retry passes: the job is known to flake. Push 1: 11 and 13 break it.
    const day = (): Day => ({ seed: 1, pushes: [{ index: 0, readyAt: 0, requests: [0, 1, 2, 3] }, { index: 1, readyAt: 100, requests: [10, 11, 12, 13] }], breaking: new Set([11, 13]) });
    const run = (flaky: ReadonlySet<string>) => simulateCi(day(), pushmanagerStrategy(), CI, { draw: scripted(flaky) }).pushes[1]!;
    // Trusted (no flake yet): prefix {10,11} red, {10} green, {11} alone red: named in 3 runs.
    expect(run(new Set()).searches[0]).toMatchObject({ runs: 3, verdict: 'culprit', culprit: true });
    // Known to flake: the same, then {10,12,13} (red: 13), {10,11} again and {11} again (both red): named
    // in 5 runs (the run without it not counted).
    expect(run(new Set(['0,1,2,3#0'])).searches[0]).toMatchObject({ runs: 5, verdict: 'culprit', culprit: true });
  });

  it('a flaky build: one extra run (the retry passes), nobody removed', () => {
    const flaky = simulateCi(dayOf(4, []), pushmanagerStrategy(), CI, { draw: scripted(new Set(['0,1,2,3#0'])) }).pushes[0]!;
    expect(flaky).toMatchObject({ runs: 2, flakyFailures: 1, culpritsFound: 0, wronglyRemoved: [], greenAt: 20 });
    const clean = simulateCi(dayOf(4, []), pushmanagerStrategy(), CI, { draw: scripted() }).pushes[0]!;
    expect(flaky.runs - clean.runs).toBe(1);
  });

  it('finds a culprit at every position of 16 requests within ⌈log2 16⌉ + 1 candidate runs, nobody else removed', () => {
    for (let c = 0; c < 16; c++) {
      const out = simulateCi(dayOf(16, [c]), pushmanagerStrategy(), CI, { draw: scripted() }).pushes[0]!;
      expect(out.culpritsFound, `culprit ${c}`).toBe(1);
      expect(out.wronglyRemoved, `culprit ${c}`).toEqual([]);
      expect(out.searches[0]!.runs, `culprit ${c}`).toBeLessThanOrEqual(runsBound(16));
    }
  });

  it('two culprits: the second search reuses the green prefixes of the first', () => {
    const out = simulateCi(dayOf(8, [2, 3]), pushmanagerStrategy(), CI, { draw: scripted() }).pushes[0]!;
    expect(out.culpritsFound).toBe(2);
    expect(out.greenAt).not.toBeNull();
    // The first search: prefixes 4 (red), 2 (green), 3 (red), request 2 alone: 4 runs. The second, on
    // {0,1,3,4,5,6,7}: prefix 2 {0,1} is known green from the first, so it halves (2, 7): prefixes 4 and
    // 3 red, request 3 alone: 3 runs (from scratch it would be prefixes 3, 1, 2 and the request: 4).
    expect(out.searches.map((s) => s.runs)).toEqual([4, 3]);
  });

  it('with two candidates at once the search takes less wall time', () => {
    const one = simulateCi(dayOf(16, [11]), pushmanagerStrategy({ parallel: 1 }), CI, { draw: scripted() }).pushes[0]!;
    const two = simulateCi(dayOf(16, [11]), pushmanagerStrategy({ parallel: 2 }), CI, { draw: scripted() }).pushes[0]!;
    expect(two.culpritsFound).toBe(1);
    expect(two.greenAt!).toBeLessThan(one.greenAt!);
  });
});

describe('the other three strategies on the same tiny day', () => {
  it("retest until green (Tide) on a real culprit never goes green within its cap", () => {
    const out = simulateCi(dayOf(4, [1]), retestStrategy(20), CI, { draw: scripted() }).pushes[0]!;
    expect(out).toMatchObject({ runs: 20, greenAt: null, culpritsFound: 0, gaveUp: 'still red after 20 runs' });
  });

  it('remove the last: removes 3 and 2 (innocent) before the culprit 1, then {0} is green; 4 runs', () => {
    const out = simulateCi(dayOf(4, [1]), removeLastStrategy(), CI, { draw: scripted() }).pushes[0]!;
    expect(out).toMatchObject({ runs: 4, culpritsFound: 1, wronglyRemoved: [3, 2], greenAt: 40 });
  });

  it('serial: one build per request, the culprit dropped, 4 runs one after another; a flake drops an innocent', () => {
    const out = simulateCi(dayOf(4, [1]), serialStrategy(), CI, { draw: scripted() }).pushes[0]!;
    expect(out).toMatchObject({ runs: 4, culpritsFound: 1, wronglyRemoved: [], greenAt: 40 });
    const flaky = simulateCi(dayOf(4, []), serialStrategy(), CI, { draw: scripted(new Set(['0,1#0'])) }).pushes[0]!;
    expect(flaky).toMatchObject({ runs: 4, wronglyRemoved: [1] });
    expect(flaky.spells[0]!.innocentsOnOneFail).toBe(1);
  });
});

describe('the shared runner', () => {
  it('two pushes ready at once share two slots: each first build starts at once, a third waits', () => {
    const day: Day = { seed: 1, pushes: [0, 1, 2].map((i) => ({ index: i, readyAt: 0, requests: [i] })), breaking: new Set() };
    const out = simulateCi(day, retestStrategy(), CI, { draw: scripted() });
    expect(out.pushes.map((p) => p.greenAt)).toEqual([10, 10, 20]);
  });
});

describe('the day from the workload', () => {
  it('is the same for the same seed, each request in one push at most, and breaking marks grow with the rate', () => {
    const a = dayFromWorkload({ engineers: 40, hours: 8, seed: 3 }, 0.03);
    const b = dayFromWorkload({ engineers: 40, hours: 8, seed: 3 }, 0.1);
    expect(a.pushes).toEqual(b.pushes);
    expect(a.pushes.length).toBeGreaterThan(1);
    const all = a.pushes.flatMap((p) => p.requests);
    expect(new Set(all).size).toBe(all.length);
    for (const n of a.breaking) expect(b.breaking.has(n)).toBe(true);
    expect(dayFromWorkload({ engineers: 40, hours: 8, seed: 4 }, 0.03).pushes).not.toEqual(a.pushes);
  });
});

describe('the comparison', () => {
  it("on a flake-free day Pushmanager meets its targets and certifies every push", () => {
    const { summaries } = compare({ engineers: 60, hours: 8, seed: 1 }, { ...CI, breakingRate: 0.05, sigma: 0.35 }, 2);
    const pm = summaries[0]!;
    expect(pm.neverGreen).toBe(0);
    expect(pm.culpritsFound).toBe(pm.breakingIn);
    expect(pm.wronglyRemoved).toBe(0);
    expect(targets(pm, summaries.slice(2)).map((t) => [t.name, t.pass])).toEqual(targets(pm, summaries.slice(2)).map((t) => [t.name, true]));
  });

  it('flags: takes its own, leaves the rest, and names a bad one', () => {
    const { ci, rest } = splitCiArgs(['--ci-only', '--flake-rate', '0.2', '--engineers', '10', '--ci-slots', '4']);
    expect(ci).toMatchObject({ mode: 'only', ci: { flakeRate: 0.2, slots: 4 } });
    expect(rest).toEqual(['--engineers', '10']);
    expect(() => splitCiArgs(['--flake-rate', '2'])).toThrow(/--flake-rate needs a number from 0 to 0.99 \(got 2\)/);
    expect(() => splitCiArgs(['--ci-slots', '1.5'])).toThrow(/--ci-slots needs a whole number/);
  });
});
