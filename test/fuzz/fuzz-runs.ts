// How many runs each fuzz property gets. `npm test` keeps the defaults small (the whole folder stays
// well under a minute on two cores); `bench/fuzz-long.ts` sets FUZZ_RUNS to scale every property up
// together, and FUZZ_SEED to replay a run that failed.

/** The runs a property does by default in `npm test` is `base`; FUZZ_RUNS=N makes a base-200 property do N. */
export function runs(base: number): number {
  const wanted = Number(process.env.FUZZ_RUNS);
  if (!Number.isFinite(wanted) || wanted <= 0) return base;
  return Math.max(base, Math.round((base * wanted) / 200));
}

/** A vitest timeout that grows with the runs: `msPerRun` is a generous per-run budget. */
export const timeoutFor = (base: number, msPerRun: number, floorMs = 30_000): number => Math.max(floorMs, runs(base) * msPerRun * 2);

/** Shared fast-check parameters: the seed to replay, when given. */
export function params(base: number): { numRuns: number; seed?: number } {
  const seed = Number(process.env.FUZZ_SEED);
  return { numRuns: runs(base), ...(process.env.FUZZ_SEED && Number.isInteger(seed) && { seed }) };
}
