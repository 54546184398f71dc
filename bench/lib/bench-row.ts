// One row of the benchmark table: a figure, its baseline measured in the same run, the ratio, the target.
export interface BenchRow {
  figure: string;
  value: number;
  unit: string;
  baselineName: string;
  baseline: number | null;
  ratio: number | null;
  target: string;
  pass: boolean;
}

export const median = (xs: readonly number[]): number => percentile(xs, 50);

export function percentile(xs: readonly number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i]!;
}

export const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;
