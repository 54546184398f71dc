// The yardstick of the culprit search (bench/simulation/noisy-search.ts): both searches name the culprit
// without flakes in the runs a halving needs, and with flakes the Bayesian one trades runs for wrong blames.
import { describe, expect, it } from 'vitest';
import { bayesSearch, noisySearchTable, pushmanagerSearch } from '../../bench/simulation/noisy-search.js';

const never = () => 0.5;

describe('the noisy-search yardstick', () => {
  it('without flakes both name every culprit; the Bayesian search halves, in at most ⌈log2 n⌉ runs', () => {
    for (const n of [1, 2, 7, 16, 33]) {
      for (let c = 0; c < n; c++) {
        const b = bayesSearch(n, c, 0, 0.01, never);
        expect(b.right, `n=${n} c=${c}`).toBe(true);
        expect(b.runs, `n=${n} c=${c}`).toBeLessThanOrEqual(Math.ceil(Math.log2(n)));
        expect(pushmanagerSearch(n, c, 0, never).right, `n=${n} c=${c}`).toBe(true);
      }
    }
  });

  it('with 10% flakes a lower δ costs the Bayesian search runs and saves wrong blames', () => {
    const [row] = noisySearchTable({ flakeRate: 0.1, sizes: [40], trials: 3000, seed: 7, deltas: [0.2, 0.01] });
    const [, loose, strict] = row!.cells;
    expect(strict!.runs).toBeGreaterThan(loose!.runs);
    expect(strict!.wrong).toBeLessThan(loose!.wrong);
    // Pushmanager's own search, run through the same table, names someone wrong far less than a search
    // that stops at 80% confidence.
    expect(row!.cells[0]!.wrong).toBeLessThan(loose!.wrong);
    // Each flake is priced against the same searches on a CI that never flakes: a positive number of runs.
    for (const c of row!.cells) expect(c.extraPerFlake, c.strategy).toBeGreaterThan(0);
    // With no flakes nobody is wrongly named, and there is no flake to price.
    const [calm] = noisySearchTable({ flakeRate: 0, sizes: [40], trials: 200, seed: 7, deltas: [0.01] });
    for (const c of calm!.cells) expect(c, c.strategy).toMatchObject({ wrong: 0, extraPerFlake: NaN });
  });
});
