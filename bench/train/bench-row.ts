// One measured figure of a benchmark, as every bench module's `run()` reports it (to move to a shared bench lib later).

export interface BenchRow {
  /** What was measured, e.g. "deploy rebuild, 50 requests". */
  figure: string;
  value: number;
  unit: string;
  /** What the value is compared with; '' when there is no baseline. */
  baselineName: string;
  baseline: number | null;
  /** value / baseline, or the speed-up when the target says so; null without a baseline. */
  ratio: number | null;
  /** The target in words, e.g. "ratio ≤ 1.3". */
  target: string;
  pass: boolean;
}

/** Median of a list of numbers (the list must not be empty). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Prints rows as an aligned table: for running a bench module on its own. */
export function printRows(rows: readonly BenchRow[]): void {
  for (const r of rows) {
    const ratio = r.ratio === null ? '' : ` ratio ${r.ratio.toFixed(2)}`;
    const base = r.baseline === null ? '' : ` vs ${r.baselineName} ${r.baseline.toFixed(1)} ${r.unit}`;
    console.log(`${r.pass ? 'PASS' : 'FAIL'}  ${r.figure}: ${r.value.toFixed(1)} ${r.unit}${base}${ratio}  (target ${r.target})`);
  }
}

/** True when `moduleUrl` is the script node was started with (`npx tsx bench/train/x.ts`). */
export function isMain(moduleUrl: string): boolean {
  const arg = process.argv[1];
  if (!arg) return false;
  const strip = (p: string) => p.replace(/\.(ts|js)$/, '');
  return strip(new URL(moduleUrl).pathname) === strip(arg.startsWith('/') ? arg : `${process.cwd()}/${arg}`);
}
