// The culprit search (state/bisect.ts), table-driven: given what is known, which candidate is next;
// and, run to the end against a scripted CI, that it names the right request within its bound.
import { describe, expect, it } from 'vitest';
import { candidateKey, culpritSpacing, flakesEnough, members, nextStep, parseCandidateKey, progress, recentFlakes, type Candidate, type CulpritShare, type FlakeRecord, type Known, type SearchStep } from '../../state/bisect.js';

type Table = Record<string, Partial<Known>>;
const knownFrom = (t: Table) => (key: string): Known | undefined => (t[key] ? { passed: 0, failed: 0, pending: false, ...t[key] } : undefined);
const step = (n: number, t: Table, capacity = 1): SearchStep => nextStep({ n, known: knownFrom(t), capacity });
const keys = (s: SearchStep) => (s.type === 'test' ? s.candidates.map(candidateKey) : s.type);

describe('nextStep: the next candidate, given known results', () => {
  const cases: readonly [string, number, Table, number, string[] | string][] = [
    ['the whole branch not failed yet: wait for its build', 8, {}, 1, 'wait'],
    ['the whole branch passed (a retry, or a new build): nothing to find', 8, { '8': { passed: 1, failed: 1 } }, 1, 'green'],
    ['red whole branch of 8: the middle prefix first', 8, { '8': { failed: 2 } }, 1, ['4']],
    ['prefix 4 green: the upper half', 8, { '8': { failed: 2 }, '4': { passed: 1 } }, 1, ['6']],
    ['prefix 4 red: the lower half', 8, { '8': { failed: 2 }, '4': { failed: 1 } }, 1, ['2']],
    ['a run under way and no more room: wait', 8, { '8': { failed: 2 }, '4': { pending: true } }, 0, 'wait'],
    ['a run under way, room for one more: split the larger gap left', 8, { '8': { failed: 2 }, '4': { pending: true } }, 1, ['2']],
    ['room for three at once: three splits, no point twice', 16, { '16': { failed: 2 } }, 3, ['8', '4', '12']],
    ['narrowed to request 5 (prefix 5 green, 6 red): request 5 alone on master', 8, { '8': { failed: 2 }, '5': { passed: 1 }, '6': { failed: 1 } }, 1, ['0+5']],
    ['request 5 red alone: the branch without it runs before it is blamed', 8, { '8': { failed: 2 }, '5': { passed: 1 }, '6': { failed: 1 }, '0+5': { failed: 1 } }, 1, ['8-5']],
    ['green without it: the culprit', 8, { '8': { failed: 2 }, '5': { passed: 1 }, '6': { failed: 1 }, '0+5': { failed: 1 }, '8-5': { passed: 1 } }, 1, 'culprit'],
    ['red without it too, on one red prefix: that prefix runs again (two flakes, or a second culprit?)', 8, { '8': { failed: 2 }, '5': { passed: 1 }, '6': { failed: 1 }, '0+5': { failed: 1 }, '8-5': { failed: 1 } }, 1, ['6']],
    ['red without it, the prefix red twice, it alone once: it runs alone once more (three flakes, or a second culprit?)', 8, { '8': { failed: 2 }, '5': { passed: 1 }, '6': { failed: 2 }, '0+5': { failed: 1 }, '8-5': { failed: 1 } }, 1, ['0+5']],
    ['red without it, the prefix and it alone red twice: it is a culprit, and another red request comes later', 8, { '8': { failed: 2 }, '5': { passed: 1 }, '6': { failed: 2 }, '0+5': { failed: 2 }, '8-5': { failed: 1 } }, 1, 'culprit'],
    ['green on its second run alone, red without it: a pair, or prefix 6 flaked twice; prefix 6 runs a third time', 8, { '8': { failed: 2 }, '5': { passed: 1 }, '6': { failed: 2 }, '0+5': { failed: 1, passed: 1 }, '8-5': { failed: 1 } }, 1, ['6']],
    ['green without it, red on four runs that hold it (the branch twice, a prefix, it alone): the culprit', 8, { '8': { failed: 2 }, '5': { passed: 1 }, '6': { failed: 1 }, '0+5': { failed: 1 }, '8-5': { passed: 1 } }, 1, 'culprit'],
    ['the last request: the branch without it is the green prefix already known, but only three runs hold it: it runs alone once more', 8, { '8': { failed: 2 }, '7': { passed: 1 }, '0+7': { failed: 1 } }, 1, ['0+7']],
    ['the last request, red alone twice: the culprit', 8, { '8': { failed: 2 }, '7': { passed: 1 }, '0+7': { failed: 2 } }, 1, 'culprit'],
    ['the last request, green on its second run alone: not to blame alone (the whole branch may have flaked twice)', 8, { '8': { failed: 2 }, '7': { passed: 1 }, '0+7': { failed: 1, passed: 1 } }, 1, ['3+7']],
    ['request 5 green alone after one red prefix: that prefix runs once more (a flake?)', 8, { '8': { failed: 2 }, '5': { passed: 1 }, '6': { failed: 1 }, '0+5': { passed: 1 } }, 1, ['6']],
    ['the retest passed: it was a flake, the search goes on above it', 8, { '8': { failed: 2 }, '5': { passed: 1 }, '6': { failed: 1, passed: 1 }, '0+5': { passed: 1 } }, 1, ['7']],
    ['red twice with the others, green alone: a pair, or the red request is further on; the branch without it first', 8, { '8': { failed: 2 }, '5': { passed: 1 }, '6': { failed: 2 }, '0+5': { passed: 1 } }, 1, ['8-5']],
    ['green without it: look for its partner', 8, { '8': { failed: 2 }, '5': { passed: 1 }, '6': { failed: 2 }, '0+5': { passed: 1 }, '8-5': { passed: 1 } }, 1, ['2+5']],
    ['red without it: the red request may be further on, and prefix 6 two flakes: it runs a third time', 8, { '8': { failed: 2 }, '5': { passed: 1 }, '6': { failed: 2 }, '0+5': { passed: 1 }, '8-5': { failed: 1 } }, 1, ['6']],
    ['green on that third run: the search goes on above it', 8, { '8': { failed: 2 }, '5': { passed: 1 }, '6': { failed: 2, passed: 1 }, '0+5': { passed: 1 }, '8-5': { failed: 1 } }, 1, ['7']],
    ['red a third time with a red branch without it: look for its partner', 8, { '8': { failed: 2 }, '5': { passed: 1 }, '6': { failed: 3 }, '0+5': { passed: 1 }, '8-5': { failed: 1 } }, 1, ['2+5']],
    ['the partner found: the pair', 8, { '8': { failed: 2 }, '5': { passed: 1 }, '6': { failed: 2 }, '0+5': { passed: 1 }, '8-5': { passed: 1 }, '2+5': { passed: 1 }, '3+5': { failed: 1 } }, 1, 'pair'],
    ['every candidate with request 5 and fewer before it passed: its neighbour would be the partner on prefix 6\'s two runs alone; it runs a third time first', 8, { '8': { failed: 2 }, '5': { passed: 1 }, '6': { failed: 2 }, '0+5': { passed: 1 }, '8-5': { passed: 1 }, '2+5': { passed: 1 }, '3+5': { passed: 1 }, '4+5': { passed: 1 } }, 1, ['6']],
    ['red a third time: the neighbours are the pair', 8, { '8': { failed: 2 }, '5': { passed: 1 }, '6': { failed: 3 }, '0+5': { passed: 1 }, '8-5': { passed: 1 }, '2+5': { passed: 1 }, '3+5': { passed: 1 }, '4+5': { passed: 1 } }, 1, 'pair'],
    ['green on the third run: prefix 6 was two flakes, the search goes on above it', 8, { '8': { failed: 2 }, '5': { passed: 1 }, '6': { failed: 2, passed: 1 }, '0+5': { passed: 1 }, '8-5': { passed: 1 }, '2+5': { passed: 1 }, '3+5': { passed: 1 }, '4+5': { passed: 1 } }, 1, ['7']],
    ['the last request: the whole branch failed twice, no retest; the branch without it is the green prefix: its partner search', 4, { '4': { failed: 2 }, '3': { passed: 1 }, '0+3': { passed: 1 } }, 1, ['1+3']],
    ['a pair on a clean branch would rest on three runs (the whole branch twice, the pair once): the pair runs again', 4, { '4': { failed: 2 }, '3': { passed: 1 }, '0+3': { passed: 1 }, '1+3': { passed: 1 }, '2+3': { failed: 1 } }, 1, ['2+3']],
    ['the first request is red: master itself is the one run left', 8, { '8': { failed: 2 }, '1': { failed: 1 } }, 1, ['0']],
    ['master red once, the job known to flake: master runs again', 8, { '8': { failed: 2 }, '1': { failed: 1 }, '0': { failed: 1 } }, 1, ['0']],
    ['master red twice: nobody to blame', 8, { '8': { failed: 2 }, '1': { failed: 1 }, '0': { failed: 2 } }, 1, 'master-red'],
    ['master green, the first request red: the branch without it runs', 8, { '8': { failed: 2 }, '1': { failed: 1 }, '0': { passed: 1 } }, 1, ['8-0']],
    ['the first request, red without it too, its prefix (it alone) red three times: that one candidate runs again', 8, { '8': { failed: 2 }, '1': { failed: 3 }, '0': { passed: 1 }, '8-0': { failed: 1 } }, 1, ['1']],
    ['the first request, red four times: a culprit, and another red request comes later', 8, { '8': { failed: 2 }, '1': { failed: 4 }, '0': { passed: 1 }, '8-0': { failed: 1 } }, 1, 'culprit'],
    ['a red prefix below a green one is a flake: the green wins', 8, { '8': { failed: 2 }, '2': { failed: 1 }, '4': { passed: 1 } }, 1, ['6']],
    ['one request in the branch: master is the one run', 1, { '1': { failed: 2 } }, 1, ['0']],
    ['one request, master green, its branch red twice: it runs again (a push of one request is rarely red: two flakes are likelier)', 1, { '1': { failed: 2 }, '0': { passed: 1 } }, 1, ['1']],
    ['one request, red on four runs: the culprit (without it is master)', 1, { '1': { failed: 4 }, '0': { passed: 1 } }, 1, 'culprit'],
  ];
  for (const [name, n, table, capacity, want] of cases) {
    it(name, () => expect(keys(step(n, table, capacity))).toEqual(want));
  }

  it('names the culprit and the pair', () => {
    expect(step(8, { '8': { failed: 2 }, '5': { passed: 1 }, '6': { failed: 1 }, '0+5': { failed: 1 }, '8-5': { passed: 1 } })).toEqual({ type: 'culprit', index: 5, rest: 'passed' });
    expect(step(8, { '8': { failed: 2 }, '5': { passed: 1 }, '6': { failed: 2 }, '0+5': { failed: 2 }, '8-5': { failed: 1 } })).toEqual({ type: 'culprit', index: 5, rest: 'failed' });
    expect(step(8, { '8': { failed: 2 }, '5': { passed: 1 }, '6': { failed: 2 }, '0+5': { passed: 1 }, '8-5': { passed: 1 }, '2+5': { passed: 1 }, '3+5': { failed: 1 } })).toEqual({ type: 'pair', index: 5, partner: 2, rest: 'passed' });
    // Red without request 5: the pair's own candidate must fail twice as well (its first failure may be a flake the partner search stopped on).
    expect(keys(step(8, { '8': { failed: 2 }, '5': { passed: 1 }, '6': { failed: 3 }, '0+5': { passed: 1 }, '8-5': { failed: 1 }, '2+5': { passed: 1 }, '3+5': { failed: 1 } }))).toEqual(['3+5']);
    expect(step(8, { '8': { failed: 2 }, '5': { passed: 1 }, '6': { failed: 3 }, '0+5': { passed: 1 }, '8-5': { failed: 1 }, '2+5': { passed: 1 }, '3+5': { failed: 2 } })).toEqual({ type: 'pair', index: 5, partner: 2, rest: 'failed' });
    // Neighbours with a red branch without the later one: their one candidate, prefix 6, fails four times.
    const neighboursRedWithout = { '8': { failed: 2 }, '5': { passed: 1 }, '6': { failed: 3 }, '0+5': { passed: 1 }, '8-5': { failed: 1 }, '2+5': { passed: 1 }, '3+5': { passed: 1 }, '4+5': { passed: 1 } };
    expect(keys(step(8, neighboursRedWithout))).toEqual(['6']);
    expect(step(8, { ...neighboursRedWithout, '6': { failed: 4 } })).toEqual({ type: 'pair', index: 5, partner: 4, rest: 'failed' });
    expect(step(8, { '8': { failed: 2 }, '4': { failed: 1 }, '1': { failed: 1 }, '0': { passed: 1 }, '8-0': { passed: 1 } })).toEqual({ type: 'culprit', index: 0, rest: 'passed' });
    // Without the red prefix 4 of the way down, only three runs hold request 0: its prefix runs again.
    expect(keys(step(8, { '8': { failed: 2 }, '1': { failed: 1 }, '0': { passed: 1 }, '8-0': { passed: 1 } }))).toEqual(['1']);
    // A job trusted on one run (it never flaked) names the neighbours on the two runs it has.
    const neighbours = { '8': { failed: 2 }, '5': { passed: 1 }, '6': { failed: 2 }, '0+5': { passed: 1 }, '2+5': { passed: 1 }, '3+5': { passed: 1 }, '4+5': { passed: 1 } };
    expect(nextStep({ n: 8, known: knownFrom(neighbours), capacity: 1, flaky: false })).toEqual({ type: 'pair', index: 5, partner: 4, rest: null });
  });

  it('candidates: {k, plus: k} is the prefix k + 1; members in merge order', () => {
    expect(candidateKey({ k: 3, plus: 3 })).toBe('4');
    expect(members({ k: 2, plus: 5 })).toEqual([0, 1, 5]);
    expect(members({ k: 0 })).toEqual([]);
    expect(members({ k: 5, without: 2 })).toEqual([0, 1, 3, 4]);
    expect(candidateKey({ k: 5, without: 4 })).toBe('4');
    for (const c of [{ k: 3 }, { k: 2, plus: 5 }, { k: 8, without: 3 }]) expect(parseCandidateKey(candidateKey(c))).toEqual(c);
  });

  it('progress: the suspects left as the search narrows', () => {
    const known = knownFrom({ '40': { failed: 2 }, '20': { failed: 1 }, '10': { passed: 1 } });
    expect(progress({ n: 40, known })).toEqual({ suspects: 10, phase: 'prefix' });
  });
});

describe('a long gap, with the share of culprits measured: strides, then halving', () => {
  const at = (n: number, t: Table, spacing?: number, capacity = 1) => keys(nextStep({ n, known: knownFrom(t), capacity, ...(spacing !== undefined && { spacing }) }));
  it('probes as near a stride above the longest green prefix as the bound allows, while the gap is over two strides', () => {
    // 200 suspects: halving needs 8 runs; a probe x up keeps both outcomes within 7 more for x in [72, 128].
    expect(at(200, { '200': { failed: 2 } }, 32)).toEqual(['72']);
    expect(at(200, { '200': { failed: 2 } })).toEqual(['100']);
    // 300: x in [44, 256], the stride 32 moved up to 44; green there, 256 left: only the middle keeps the bound.
    expect(at(300, { '300': { failed: 2 } }, 32)).toEqual(['44']);
    expect(at(300, { '300': { failed: 2 }, '44': { passed: 1 } }, 32)).toEqual(['172']);
    // Red there: 44 suspects, under two strides: halved.
    expect(at(300, { '300': { failed: 2 }, '44': { failed: 1 } }, 32)).toEqual(['22']);
    // Room for more than one run: the splits as before.
    expect(at(300, { '300': { failed: 2 } }, 32, 2)).toEqual(['150', '75']);
  });

  it('names the culprit at every position of 1..300 requests with the stride, within ⌈log2 N⌉ + 1 runs', () => {
    for (let n = 1; n <= 300; n += n < 70 ? 1 : 13) {
      for (let c = 0; c < n; c += n < 70 ? 1 : 5) {
        const out = run(n, (m) => m.includes(c), 1, new Set(), false, 32);
        expect(out.step, `n=${n} culprit=${c}`).toEqual({ type: 'culprit', index: c, rest: null });
        expect(out.runs, `n=${n} culprit=${c}`).toBeLessThanOrEqual(Math.ceil(Math.log2(n)) + 1);
      }
    }
  });

  const shares: readonly [string, CulpritShare, number | undefined][] = [
    ['fewer than 5 culprits: unknown', { requests: 1000, culprits: 4 }, undefined],
    ['fewer than 200 requests: unknown', { requests: 150, culprits: 10 }, undefined],
    ['3% of requests: a stride of 32', { requests: 1000, culprits: 30 }, 32],
    ['10%: 8', { requests: 500, culprits: 50 }, 8],
    ['half of them: 1', { requests: 200, culprits: 100 }, 1],
  ];
  for (const [name, share, want] of shares) it(`culpritSpacing: ${name}`, () => expect(culpritSpacing(share)).toBe(want));
});

describe('flakesEnough: whether no one is blamed on one red run', () => {
  const cases: readonly [string, FlakeRecord, boolean][] = [
    ['never flaked: trusted', { runs: 0, failed: 0 }, false],
    ['never flaked in 500 runs: trusted', { runs: 500, failed: 0 }, false],
    ['flaked once in its first 99 runs on green trees: guarded (too few runs to trust a rate)', { runs: 99, failed: 1 }, true],
    ['1 flake in 100 runs (1%): trusted', { runs: 100, failed: 1 }, false],
    ['2% measured: trusted', { runs: 1000, failed: 20 }, false],
    ['2.5% measured: guarded', { runs: 1000, failed: 25 }, true],
    ['10% measured: guarded', { runs: 300, failed: 30 }, true],
    ['0.4% over the last 1,000 runs, but 4 of the newest 100 (a new flaky test): guarded', { runs: 1000, failed: 4, recent: { runs: 100, failed: 4 } }, true],
    ['3 of the newest 100, 1% over 1,000 (a 2% job on a bad day): trusted', { runs: 1000, failed: 10, recent: { runs: 100, failed: 3 } }, false],
    ['3% over the last 1,000, the newest 100 lucky (1 flake): guarded', { runs: 1000, failed: 30, recent: { runs: 100, failed: 1 } }, true],
    ['1% over both: trusted', { runs: 1000, failed: 10, recent: { runs: 100, failed: 1 } }, false],
  ];
  for (const [name, record, want] of cases) it(name, () => expect(flakesEnough(record)).toBe(want));
});

describe('recentFlakes: the newest runs, newest push first', () => {
  const push = (runs: number, failed: number): FlakeRecord => ({ runs, failed });
  it('sums pushes until 1,000 runs, and notes the first 100 or more of them; older pushes are not read', () => {
    let read = 0;
    function* pushes() {
      for (const p of [push(60, 3), push(60, 0), ...Array.from({ length: 30 }, () => push(100, 0))]) {
        read++;
        yield p;
      }
    }
    expect(recentFlakes(pushes())).toEqual({ runs: 1020, failed: 3, recent: { runs: 120, failed: 3 } });
    expect(read).toBe(11);
  });
  it('under 100 runs in all: no recent window, the whole of it', () => {
    expect(recentFlakes([push(40, 1), push(30, 0)])).toEqual({ runs: 70, failed: 1 });
  });
});

/** Runs the search to its end against a CI that is red when `red(members)`; flaky runs fail on the listed run numbers. */
function run(n: number, red: (m: readonly number[]) => boolean, capacity = 1, flakyRuns: ReadonlySet<number> = new Set(), flaky = true, spacing?: number) {
  const results = new Map<string, Known>([[`${n}`, { passed: 0, failed: 2, pending: false }]]);
  let runs = 0;
  const tested: string[] = [];
  for (let rounds = 0; rounds < 200; rounds++) {
    const s = nextStep({ n, known: (k) => results.get(k), capacity, flaky, ...(spacing !== undefined && { spacing }) });
    if (s.type !== 'test') return { step: s, runs, rounds, tested };
    // Every candidate of a step runs at once, then their results come in.
    for (const c of s.candidates as Candidate[]) {
      runs++;
      tested.push(candidateKey(c));
      const failed = red(members(c)) || flakyRuns.has(runs);
      const was = results.get(candidateKey(c)) ?? { passed: 0, failed: 0, pending: false };
      results.set(candidateKey(c), { ...was, passed: was.passed + (failed ? 0 : 1), failed: was.failed + (failed ? 1 : 0) });
    }
  }
  throw new Error('the search did not end');
}

describe('the search against a scripted CI', () => {
  it('names every culprit of branches of 1..64 requests in at most ⌈log2 N⌉ + 1 runs when the job never flaked', () => {
    for (let n = 1; n <= 64; n++) {
      for (let c = 0; c < n; c++) {
        const out = run(n, (m) => m.includes(c), 1, new Set(), false);
        expect(out.step, `n=${n} culprit=${c}`).toEqual({ type: 'culprit', index: c, rest: null });
        expect(out.runs, `n=${n} culprit=${c}`).toBeLessThanOrEqual(Math.ceil(Math.log2(n)) + 1);
      }
    }
  });

  it('of a job that flakes, in the same runs and then the branch without it (the new deploy branch\'s test); the last request runs alone twice', () => {
    for (let n = 2; n <= 64; n++) {
      for (let c = 0; c < n; c++) {
        const out = run(n, (m) => m.includes(c));
        expect(out.step, `n=${n} culprit=${c}`).toEqual({ type: 'culprit', index: c, rest: 'passed' });
        const rest = candidateKey({ k: n, without: c });
        const naming = out.tested.filter((k) => k !== rest);
        // The last request's prefix is the whole branch: without that second run alone, a clean branch
        // whose build and retry flaked would be blamed on one flake more (every prefix passes on it). Of
        // two requests, the first has the same three runs only (the branch twice, prefix 1 once).
        expect(naming.length, `n=${n} culprit=${c}`).toBeLessThanOrEqual(Math.ceil(Math.log2(n)) + (c === n - 1 || n === 2 ? 2 : 1));
        // The last request's "without it" is a prefix the search already ran green; any other's runs once.
        if (c !== n - 1) expect(out.tested.filter((k) => k === rest), `n=${n} culprit=${c}`).toHaveLength(1);
      }
    }
    // One request: master, then its branch twice more (four red runs, as any blame needs).
    expect(run(1, (m) => m.includes(0))).toMatchObject({ step: { type: 'culprit', index: 0, rest: 'passed' }, runs: 3 });
  });

  it('a clean branch whose build and retry flaked blames nobody on one flake more', () => {
    // Nothing is red; the whole branch's two runs were flakes. Every prefix passes, so the search ends on
    // the last request; one flake of its run alone must not be enough (the simulation saw it happen).
    for (const n of [2, 8, 40, 64]) {
      for (let flake = 1; flake <= Math.ceil(Math.log2(n)) + 3; flake++) {
        const out = run(n, () => false, 1, new Set([flake]));
        expect(out.step.type, `n=${n} flake on run ${flake}`).toBe('green');
      }
    }
  });

  it('two red requests: the first is named (red without it too), the second is what the next search finds', () => {
    const out = run(16, (m) => m.includes(4) || m.includes(11));
    expect(out.step).toEqual({ type: 'culprit', index: 4, rest: 'failed' });
  });

  it('an innocent request is not blamed on two flaky runs (its prefix and its run alone)', () => {
    // Culprit 30 of 40. Find which runs of the search test an innocent's prefix and the innocent alone, and flake both.
    let blamed = 0;
    for (let a = 1; a <= 12; a++) {
      for (let b = a + 1; b <= 12; b++) {
        const out = run(40, (m) => m.includes(30), 1, new Set([a, b]));
        if (out.step.type === 'culprit' && out.step.index !== 30) blamed++;
      }
    }
    expect(blamed).toBe(0);
  });

  it('names both requests of a pair that is red only together', () => {
    for (const [n, a, b] of [[40, 3, 17], [8, 0, 7], [2, 0, 1], [33, 31, 32]] as const) {
      const out = run(n, (m) => m.includes(a) && m.includes(b));
      expect(out.step, `n=${n} pair ${a}+${b}`).toEqual({ type: 'pair', index: b, partner: a, rest: 'passed' });
    }
  });

  it('a red master blames nobody', () => {
    expect(run(16, () => true).step).toEqual({ type: 'master-red' });
  });

  it('a flaky failure inside the search does not blame an innocent request', () => {
    // Culprit 30 of 40; every run's first attempt at each of several points flakes in turn.
    for (const flake of [1, 2, 3, 4, 5]) {
      const out = run(40, (m) => m.includes(30), 1, new Set([flake]));
      expect(out.step, `flake on run ${flake}`).toMatchObject({ type: 'culprit', index: 30 });
    }
  });

  it('with room for three runs at once it takes fewer rounds, and still names the culprit', () => {
    let rounds1 = 0;
    let rounds3 = 0;
    for (let c = 0; c < 40; c++) {
      const serial = run(40, (m) => m.includes(c), 1);
      const wide = run(40, (m) => m.includes(c), 3);
      expect(wide.step).toMatchObject({ type: 'culprit', index: c });
      rounds1 += serial.rounds;
      rounds3 += wide.rounds;
    }
    expect(rounds3).toBeLessThan(rounds1);
  });
});
